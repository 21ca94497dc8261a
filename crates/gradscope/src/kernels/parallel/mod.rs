//! Splitting work over the cores, for pieces large enough to pay for it.
//!
//! Each function hands contiguous chunks to a chunk-level kernel, so the kernel's inner loop
//! stays vectorized; below [`MIN_CHUNK`] elements per chunk everything runs on the calling
//! thread. Results do not depend on the split: every element is computed by the same code.

mod join;

pub use join::{available, join, set_single_threaded};

/// Fewest elements per parallel chunk.
pub const MIN_CHUNK: usize = 1 << 15;

fn split(len: usize) -> Option<usize> {
    (len >= 2 * MIN_CHUNK && available()).then_some(len / 2)
}

/// y = f(x) chunk by chunk (`x` and `y` of equal length).
pub fn map<A: Sync, B: Send>(x: &[A], y: &mut [B], f: &(impl Fn(&[A], &mut [B]) + Sync)) {
    match split(y.len()) {
        Some(mid) => {
            let (x0, x1) = x.split_at(mid);
            let (y0, y1) = y.split_at_mut(mid);
            join(|| map(x0, y0, f), || map(x1, y1, f));
        }
        None => f(x, y),
    }
}

/// y = f(a, b) chunk by chunk (all of equal length).
pub fn map2<A: Sync, B: Sync, C: Send>(
    a: &[A],
    b: &[B],
    y: &mut [C],
    f: &(impl Fn(&[A], &[B], &mut [C]) + Sync),
) {
    match split(y.len()) {
        Some(mid) => {
            let (a0, a1) = a.split_at(mid);
            let (b0, b1) = b.split_at(mid);
            let (y0, y1) = y.split_at_mut(mid);
            join(|| map2(a0, b0, y0, f), || map2(a1, b1, y1, f));
        }
        None => f(a, b, y),
    }
}

/// Splits a buffer that may be empty (an unused optimizer state) at `mid`.
fn split_opt<T>(v: &mut [T], mid: usize) -> (&mut [T], &mut [T]) {
    if v.is_empty() {
        (&mut [], &mut [])
    } else {
        v.split_at_mut(mid)
    }
}

/// An in-place update f(θ, g, s₀, s₁, s₂) chunk by chunk; each state buffer is either empty
/// or as long as θ.
pub fn update<T: Send + Sync>(
    theta: &mut [T],
    grad: &[T],
    s0: &mut [T],
    s1: &mut [T],
    s2: &mut [T],
    f: &(impl Fn(&mut [T], &[T], &mut [T], &mut [T], &mut [T]) + Sync),
) {
    match split(theta.len()) {
        Some(mid) => {
            let (t0, t1) = theta.split_at_mut(mid);
            let (g0, g1) = grad.split_at(mid);
            let (a0, a1) = split_opt(s0, mid);
            let (b0, b1) = split_opt(s1, mid);
            let (c0, c1) = split_opt(s2, mid);
            join(
                || update(t0, g0, a0, b0, c0, f),
                || update(t1, g1, a1, b1, c1, f),
            );
        }
        None => f(theta, grad, s0, s1, s2),
    }
}
