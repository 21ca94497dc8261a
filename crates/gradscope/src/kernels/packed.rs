//! Matrix multiply with a pre-packed right operand: C ← α·A·B + β·C where B was laid out
//! once ([`PackedB::pack`]) and is reused for many products.
//!
//! The recurrent time loop multiplies every step's hidden state by the same W_hhᵀ (and, in
//! backward, ∂L/∂gₕ by the same W_hh). A general GEMM (`matrixmultiply`) repacks B at every
//! call; here it is packed once per forward (backward) pass and each step only streams it.
//!
//! Layout: B (k×n) is cut into panels of `NR` columns (`NR` = 64 bytes: 16 f32 or 8 f64;
//! the last panel zero-padded); panel j holds row p's `NR` values at
//! `j·k·NR + p·NR`, contiguous. A micro-kernel computes an `MR`×`NR` tile of C (MR ≤ 6
//! rows of A for AVX2, 12 for AVX-512, read in place through A's strides) as
//! Σ_p a_{i,p}·b_{p,·}, one fused multiply-add per p in increasing p, in blocks of at most
//! [`KC`] values of p. Every element of C is thus computed the same way whichever rows or
//! columns it is grouped with, so the result does not depend on how the rows are split
//! (batch halves on two cores) or on the number of threads.
//!
//! Kernels ([`Isa`]): AVX-512F (one 512-bit vector per row of the tile), AVX2+FMA (two
//! 256-bit vectors per row), for f32 and f64, the widest the CPU has picked at run time with
//! `is_x86_feature_detected!`; otherwise a portable kernel (separate multiply and add). All
//! use the same layout, and the SIMD ones give the same bits (one FMA per p, same order).

use super::gemm::{MatMut, MatRef};
use crate::float::Float;

/// Most rows of a micro-tile (AVX2 and portable kernels).
const MR: usize = 6;
/// Most rows of a micro-tile of the AVX-512 kernels (32 vector registers).
const MR_512: usize = 12;

/// An instruction set a micro-kernel is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F (x86-64).
    Avx512,
    /// AVX2 and FMA (x86-64).
    Avx2,
    /// Plain Rust, any CPU.
    Portable,
}

impl Isa {
    /// The instruction sets this CPU runs, widest first (always ending with `Portable`).
    pub fn supported() -> Vec<Isa> {
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                v.push(Isa::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                v.push(Isa::Avx2);
            }
        }
        v.push(Isa::Portable);
        v
    }

    /// The widest instruction set this CPU runs (what [`gemm_packed`] uses).
    pub fn best() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }
}

/// Values of p per block: a panel's block (KC·NR values) stays in L1 while every row tile
/// of A passes over it.
pub const KC: usize = 256;
/// Below this many multiply-adds a product runs on one thread.
const PARALLEL_MIN_WORK: usize = super::gemm::PARALLEL_MIN_WORK;

/// Panel width for T: 64 bytes (16 f32, 8 f64).
const fn nr<T>() -> usize {
    64 / std::mem::size_of::<T>()
}

/// A k×n matrix B packed into panels of `NR` columns for [`gemm_packed`]; the buffer is
/// kept between packs (no allocation once it has grown to the largest shape).
#[derive(Clone, Debug, Default)]
pub struct PackedB<T> {
    buf: Vec<T>,
    /// Index in `buf` of the first value (the panels start on a 64-byte boundary).
    start: usize,
    k: usize,
    n: usize,
}

impl<T: Float> PackedB<T> {
    /// An empty (0×0) packed matrix.
    pub fn new() -> Self {
        PackedB {
            buf: Vec::new(),
            start: 0,
            k: 0,
            n: 0,
        }
    }

    /// Packs B (k×n, any strides): panel j, row p, lane c ← B[p, j·NR + c] (0 past n).
    pub fn pack(&mut self, b: MatRef<'_, T>) {
        let (k, n) = (b.rows(), b.cols());
        let nr = nr::<T>();
        let panels = n.div_ceil(nr);
        let len = panels * k * nr;
        self.buf.clear();
        self.buf.resize(len + nr, T::ZERO);
        self.start = self.buf.as_ptr().align_offset(64).min(nr);
        self.k = k;
        self.n = n;
        let dst = &mut self.buf[self.start..self.start + len];
        let (data, rs, cs) = b.raw();
        for (j, panel) in dst.chunks_exact_mut((k * nr).max(1)).enumerate() {
            let cols = nr.min(n - j * nr);
            for (p, row) in panel.chunks_exact_mut(nr).enumerate() {
                let base = p * rs + j * nr * cs;
                if cs == 1 {
                    row[..cols].copy_from_slice(&data[base..base + cols]);
                } else {
                    for (c, v) in row[..cols].iter_mut().enumerate() {
                        *v = data[base + c * cs];
                    }
                }
            }
        }
    }

    /// Rows k of B.
    pub fn rows(&self) -> usize {
        self.k
    }

    /// Columns n of B.
    pub fn cols(&self) -> usize {
        self.n
    }

    /// The packed panels (`⌈n/NR⌉·k·NR` values).
    fn panels(&self) -> &[T] {
        let nr = nr::<T>();
        &self.buf[self.start..self.start + self.n.div_ceil(nr) * self.k * nr]
    }
}

/// C ← α·A·B + β·C with B packed (A m×k, C m×n; β = 0 ignores C's old contents, even NaN);
/// the two column halves on two cores when the product is large.
///
/// Panics if the shapes do not agree.
pub fn gemm_packed<T: Float>(
    alpha: T,
    a: MatRef<'_, T>,
    b: &PackedB<T>,
    beta: T,
    c: MatMut<'_, T>,
) {
    let (m, k, n) = (a.rows(), b.k, b.n);
    let panels = n.div_ceil(nr::<T>());
    if panels >= 2 && m * k * n >= PARALLEL_MIN_WORK && super::parallel::available() {
        check_shapes(&a, b, &c);
        let (cp, rsc) = (SendPtr(c.into_raw().0), n);
        let half = panels / 2;
        let kernel = Kernel::for_isa(Isa::best());
        let run = |p0: usize, p1: usize| {
            let p = cp;
            // SAFETY: the shapes were checked; C is the caller's unique m×n row-major borrow,
            // and the two calls write the disjoint column ranges of panels [0, half) and
            // [half, panels), both joined before this function returns.
            unsafe { run_panels(alpha, a, b, beta, p.0, rsc, p0, p1, kernel) };
        };
        super::parallel::join(|| run(0, half), || run(half, panels));
    } else {
        gemm_packed_serial(alpha, a, b, beta, c);
    }
}

/// C ← α·A·B + β·C with B packed, on the calling thread.
///
/// Panics if the shapes do not agree.
pub fn gemm_packed_serial<T: Float>(
    alpha: T,
    a: MatRef<'_, T>,
    b: &PackedB<T>,
    beta: T,
    c: MatMut<'_, T>,
) {
    check_shapes(&a, b, &c);
    let panels = b.n.div_ceil(nr::<T>());
    let (cp, _) = c.into_raw();
    // SAFETY: the shapes were checked, C is the caller's unique m×n row-major borrow, and
    // `Isa::best` is supported by this CPU.
    unsafe {
        run_panels(
            alpha,
            a,
            b,
            beta,
            cp,
            b.n,
            0,
            panels,
            Kernel::for_isa(Isa::best()),
        )
    };
}

/// C ← α·A·B + β·C with B packed, on the calling thread, with the micro-kernel for `isa`
/// (for testing each kernel this CPU has against the others and against `matrixmultiply`).
///
/// Panics if the shapes do not agree or the CPU does not support `isa`.
pub fn gemm_packed_on<T: Float>(
    isa: Isa,
    alpha: T,
    a: MatRef<'_, T>,
    b: &PackedB<T>,
    beta: T,
    c: MatMut<'_, T>,
) {
    assert!(
        Isa::supported().contains(&isa),
        "gemm_packed_on: this CPU does not support {isa:?}"
    );
    check_shapes(&a, b, &c);
    let panels = b.n.div_ceil(nr::<T>());
    let (cp, _) = c.into_raw();
    // SAFETY: the shapes were checked, C is the caller's unique m×n row-major borrow, and
    // the CPU supports `isa` (just checked).
    unsafe { run_panels(alpha, a, b, beta, cp, b.n, 0, panels, Kernel::for_isa(isa)) };
}

fn check_shapes<T: Float>(a: &MatRef<'_, T>, b: &PackedB<T>, c: &MatMut<'_, T>) {
    assert_eq!(
        a.cols(),
        b.k,
        "gemm_packed: inner dimensions differ ({}×{} · {}×{})",
        a.rows(),
        a.cols(),
        b.k,
        b.n
    );
    assert_eq!(
        (a.rows(), b.n),
        (c.rows(), c.cols()),
        "gemm_packed: output is {}×{} but the product is {}×{}",
        c.rows(),
        c.cols(),
        a.rows(),
        b.n
    );
}

/// A raw pointer to C that may cross to the helper thread (the halves written are disjoint).
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
// SAFETY: used only by `gemm_packed` for two disjoint column ranges of one C that the
// caller borrows mutably and that outlive the join waiting for both.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as for Send: the two threads sharing it write disjoint elements only.
unsafe impl<T> Sync for SendPtr<T> {}

/// One micro-tile: C[0..mr, 0..nc] ← α·Σ_{p<kc} A[·, p]·Bpanel[p, ·] + β·C.
///
/// # Safety
/// `a` + i·rsa + p·csa is a readable value for i < mr, p < kc; `b` points to kc·NR readable
/// values; `c` + i·rsc + j is writable (and readable unless β = 0) for i < mr, j < nc ≤ NR;
/// 1 ≤ mr ≤ the kernel's most rows ([`MR`], [`MR_512`]); C does not overlap A or B.
type TileFn<T> =
    unsafe fn(usize, usize, usize, T, *const T, isize, isize, *const T, T, *mut T, isize);

/// Runs panels `[p0, p1)` of the product into C (row stride `rsc`, column stride 1) with the
/// micro-kernel `kernel`.
///
/// # Safety
/// The shapes agree (A m×k, B k×n); `c` is the start of a writable m×n row-major C with row
/// stride `rsc` ≥ n, not overlapping A or B, and no other thread accesses its columns of
/// panels [p0, p1) during the call; `kernel` runs on this CPU.
#[allow(clippy::too_many_arguments)]
unsafe fn run_panels<T: Float>(
    alpha: T,
    a: MatRef<'_, T>,
    b: &PackedB<T>,
    beta: T,
    c: *mut T,
    rsc: usize,
    p0: usize,
    p1: usize,
    kernel: Kernel<T>,
) {
    let (m, k, n) = (a.rows(), b.k, b.n);
    if m == 0 || n == 0 {
        return;
    }
    let nr = nr::<T>();
    if k == 0 {
        for i in 0..m {
            for j in p0 * nr..(p1 * nr).min(n) {
                // SAFETY: i < m, j < n: inside C (caller's contract).
                let v = unsafe { &mut *c.add(i * rsc + j) };
                *v = if beta == T::ZERO { T::ZERO } else { *v * beta };
            }
        }
        return;
    }
    let (ad, rsa, csa) = a.raw();
    let ap = ad.as_ptr();
    let bp = b.panels().as_ptr();
    // Row tiles of near-equal height ≤ max_rows (16 rows with AVX2: 6, 5, 5 rather than
    // 6, 6, 4; with AVX-512: 8, 8).
    let (tile, max_rows) = (kernel.tile, kernel.max_rows);
    let tiles = m.div_ceil(max_rows);
    let mut kb = 0;
    while kb < k {
        let kc = KC.min(k - kb);
        let beta_k = if kb == 0 { beta } else { T::ONE };
        for j in p0..p1 {
            let nc = nr.min(n - j * nr);
            let mut i0 = 0;
            for t in 0..tiles {
                let mr = (m - i0).div_ceil(tiles - t);
                // SAFETY: rows i0..i0+mr < m and columns kb..kb+kc ≤ k of A are inside its
                // checked view; panel j, rows kb..kb+kc of the packed B are inside its buffer;
                // rows i0..i0+mr, columns j·NR..j·NR+nc ≤ n of C are inside C (caller's
                // contract); mr ≤ max_rows since tiles = ⌈m/max_rows⌉; `tile` runs on this CPU.
                unsafe {
                    tile(
                        mr,
                        nc,
                        kc,
                        alpha,
                        ap.add(i0 * rsa + kb * csa),
                        rsa as isize,
                        csa as isize,
                        bp.add(j * k * nr + kb * nr),
                        beta_k,
                        c.add(i0 * rsc + j * nr),
                        rsc as isize,
                    )
                };
                i0 += mr;
            }
        }
        kb += kc;
    }
}

/// A micro-kernel and the most rows it takes.
#[derive(Clone, Copy)]
struct Kernel<T> {
    tile: TileFn<T>,
    max_rows: usize,
}

impl<T: Float> Kernel<T> {
    /// The micro-kernel for T and `isa` (the portable one where there is no other; the
    /// caller makes sure the CPU supports `isa`).
    fn for_isa(isa: Isa) -> Self {
        let portable = Kernel {
            tile: tile_portable::<T>,
            max_rows: MR,
        };
        #[cfg(target_arch = "x86_64")]
        {
            use std::any::TypeId;
            let simd = match isa {
                Isa::Avx512 => Some((
                    avx512::tile_f32 as TileFn<f32>,
                    avx512::tile_f64 as TileFn<f64>,
                    MR_512,
                )),
                Isa::Avx2 => Some((
                    avx2::tile_f32 as TileFn<f32>,
                    avx2::tile_f64 as TileFn<f64>,
                    MR,
                )),
                Isa::Portable => None,
            };
            if let Some((t32, t64, max_rows)) = simd {
                if TypeId::of::<T>() == TypeId::of::<f32>() {
                    // SAFETY: T is f32 (same TypeId), so the two function pointer types are
                    // the same type.
                    let tile = unsafe { std::mem::transmute::<TileFn<f32>, TileFn<T>>(t32) };
                    return Kernel { tile, max_rows };
                }
                if TypeId::of::<T>() == TypeId::of::<f64>() {
                    // SAFETY: T is f64 (same TypeId), so the two function pointer types are
                    // the same type.
                    let tile = unsafe { std::mem::transmute::<TileFn<f64>, TileFn<T>>(t64) };
                    return Kernel { tile, max_rows };
                }
            }
        }
        let _ = isa;
        portable
    }
}

/// The portable micro-kernel (see [`TileFn`] for the contract).
///
/// # Safety
/// As [`TileFn`].
#[allow(clippy::too_many_arguments)]
unsafe fn tile_portable<T: Float>(
    mr: usize,
    nc: usize,
    kc: usize,
    alpha: T,
    a: *const T,
    rsa: isize,
    csa: isize,
    b: *const T,
    beta: T,
    c: *mut T,
    rsc: isize,
) {
    const LANES: usize = 16;
    let nr = nr::<T>();
    let mut acc = [[T::ZERO; LANES]; MR];
    for p in 0..kc {
        // SAFETY: p < kc: row p of the panel block is readable (contract).
        let brow = unsafe { std::slice::from_raw_parts(b.add(p * nr), nr) };
        for (i, row) in acc.iter_mut().enumerate().take(mr) {
            // SAFETY: i < mr, p < kc: a readable value of A (contract).
            let av = unsafe { *a.offset(i as isize * rsa + p as isize * csa) };
            for (s, &bv) in row.iter_mut().zip(brow) {
                *s += av * bv;
            }
        }
    }
    for (i, row) in acc.iter().enumerate().take(mr) {
        for (j, &s) in row.iter().enumerate().take(nc) {
            // SAFETY: i < mr, j < nc: a writable value of C (contract).
            let v = unsafe { &mut *c.offset(i as isize * rsc + j as isize) };
            *v = combine(alpha, s, beta, *v);
        }
    }
}

/// α·s + β·c, with β = 0 ignoring c (even NaN) and α = 1, β = 1 exactly s + c.
#[inline(always)]
fn combine<T: Float>(alpha: T, s: T, beta: T, c: T) -> T {
    let s = if alpha == T::ONE { s } else { alpha * s };
    if beta == T::ZERO {
        s
    } else if beta == T::ONE {
        s + c
    } else {
        s + beta * c
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{combine, MR};
    use std::arch::x86_64::*;

    /// Defines `$tile` (AVX2+FMA, one type) from the `$tile_m::<M>` kernels of M rows.
    macro_rules! avx2_tile {
        ($t:ty, $vec:ty, $lanes:expr, $zero:ident, $load:ident, $store:ident, $bcast:ident,
         $fma:ident, $add:ident, $tile:ident, $tile_m:ident) => {
            /// An M×NR tile (NR = 2 vectors), see [`super::TileFn`].
            ///
            /// # Safety
            /// As [`super::TileFn`] with mr = M, and the CPU supports AVX2 and FMA.
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn $tile_m<const M: usize>(
                nc: usize,
                kc: usize,
                alpha: $t,
                a: *const $t,
                rsa: isize,
                csa: isize,
                b: *const $t,
                beta: $t,
                c: *mut $t,
                rsc: isize,
            ) {
                const L: usize = $lanes;
                let mut acc0 = [$zero(); M];
                let mut acc1 = [$zero(); M];
                let mut rows = [a; M];
                for (i, r) in rows.iter_mut().enumerate() {
                    // SAFETY: i < M = mr: the start of row i of the A block (contract).
                    *r = unsafe { a.offset(i as isize * rsa) };
                }
                for p in 0..kc {
                    // SAFETY: p < kc: row p of the panel block, 2·L values (contract).
                    let (b0, b1) =
                        unsafe { ($load(b.add(p * 2 * L)), $load(b.add(p * 2 * L + L))) };
                    let off = p as isize * csa;
                    for i in 0..M {
                        // SAFETY: i < mr, p < kc: a readable value of A (contract).
                        let av = unsafe { $bcast(&*rows[i].offset(off)) };
                        acc0[i] = $fma(av, b0, acc0[i]);
                        acc1[i] = $fma(av, b1, acc1[i]);
                    }
                }
                let fast = nc == 2 * L && alpha == 1.0 && (beta == 0.0 || beta == 1.0);
                for i in 0..M {
                    if fast {
                        // SAFETY: i < mr and nc = 2·L: the row's 2·L values of C are
                        // writable, and readable since β ≠ 0 when read (contract).
                        unsafe {
                            let row = c.offset(i as isize * rsc);
                            let (mut v0, mut v1) = (acc0[i], acc1[i]);
                            if beta == 1.0 {
                                v0 = $add(v0, $load(row));
                                v1 = $add(v1, $load(row.add(L)));
                            }
                            $store(row, v0);
                            $store(row.add(L), v1);
                        }
                        continue;
                    }
                    let mut s = [0.0 as $t; 2 * L];
                    // SAFETY: `s` holds 2·L values.
                    unsafe {
                        $store(s.as_mut_ptr(), acc0[i]);
                        $store(s.as_mut_ptr().add(L), acc1[i]);
                    }
                    for (j, &v) in s.iter().enumerate().take(nc) {
                        // SAFETY: i < mr, j < nc: a writable value of C (contract).
                        let cv = unsafe { &mut *c.offset(i as isize * rsc + j as isize) };
                        *cv = combine(alpha, v, beta, *cv);
                    }
                }
            }

            /// An mr×NR tile (1 ≤ mr ≤ MR), see [`super::TileFn`].
            ///
            /// # Safety
            /// As [`super::TileFn`]; only called after AVX2 and FMA were detected.
            #[allow(clippy::too_many_arguments)]
            pub(super) unsafe fn $tile(
                mr: usize,
                nc: usize,
                kc: usize,
                alpha: $t,
                a: *const $t,
                rsa: isize,
                csa: isize,
                b: *const $t,
                beta: $t,
                c: *mut $t,
                rsc: isize,
            ) {
                debug_assert!((1..=MR).contains(&mr));
                // SAFETY: the caller's contract with M = mr; `Kernel::for_isa` gives this
                // kernel only for `Isa::Avx2`, which its callers checked the CPU has.
                unsafe {
                    match mr {
                        1 => $tile_m::<1>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        2 => $tile_m::<2>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        3 => $tile_m::<3>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        4 => $tile_m::<4>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        5 => $tile_m::<5>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        _ => $tile_m::<6>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                    }
                }
            }
        };
    }

    avx2_tile!(
        f32,
        __m256,
        8,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_storeu_ps,
        _mm256_broadcast_ss,
        _mm256_fmadd_ps,
        _mm256_add_ps,
        tile_f32,
        tile_f32_m
    );
    avx2_tile!(
        f64,
        __m256d,
        4,
        _mm256_setzero_pd,
        _mm256_loadu_pd,
        _mm256_storeu_pd,
        _mm256_broadcast_sd,
        _mm256_fmadd_pd,
        _mm256_add_pd,
        tile_f64,
        tile_f64_m
    );
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{combine, MR_512};
    use std::arch::x86_64::*;

    /// Defines `$tile` (AVX-512F, one type) from the `$tile_m::<M>` kernels of M rows.
    macro_rules! avx512_tile {
        ($t:ty, $lanes:expr, $zero:ident, $load:ident, $store:ident, $set1:ident,
         $fma:ident, $add:ident, $tile:ident, $tile_m:ident) => {
            /// An M×NR tile (NR = 1 vector), see [`super::TileFn`].
            ///
            /// # Safety
            /// As [`super::TileFn`] with mr = M, and the CPU supports AVX-512F.
            #[target_feature(enable = "avx512f")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn $tile_m<const M: usize>(
                nc: usize,
                kc: usize,
                alpha: $t,
                a: *const $t,
                rsa: isize,
                csa: isize,
                b: *const $t,
                beta: $t,
                c: *mut $t,
                rsc: isize,
            ) {
                const L: usize = $lanes;
                let mut acc = [$zero(); M];
                let mut rows = [a; M];
                for (i, r) in rows.iter_mut().enumerate() {
                    // SAFETY: i < M = mr: the start of row i of the A block (contract).
                    *r = unsafe { a.offset(i as isize * rsa) };
                }
                for p in 0..kc {
                    // SAFETY: p < kc: row p of the panel block, L values (contract).
                    let bv = unsafe { $load(b.add(p * L)) };
                    let off = p as isize * csa;
                    for (s, row) in acc.iter_mut().zip(&rows) {
                        // SAFETY: a row < mr and p < kc: a readable value of A (contract).
                        let av = $set1(unsafe { *row.offset(off) });
                        *s = $fma(av, bv, *s);
                    }
                }
                let fast = nc == L && alpha == 1.0 && (beta == 0.0 || beta == 1.0);
                for (i, &v) in acc.iter().enumerate() {
                    if fast {
                        // SAFETY: i < mr and nc = L: the row's L values of C are writable,
                        // and readable since β ≠ 0 when read (contract).
                        unsafe {
                            let row = c.offset(i as isize * rsc);
                            let v = if beta == 1.0 { $add(v, $load(row)) } else { v };
                            $store(row, v);
                        }
                        continue;
                    }
                    let mut s = [0.0 as $t; L];
                    // SAFETY: `s` holds L values.
                    unsafe { $store(s.as_mut_ptr(), v) };
                    for (j, &x) in s.iter().enumerate().take(nc) {
                        // SAFETY: i < mr, j < nc: a writable value of C (contract).
                        let cv = unsafe { &mut *c.offset(i as isize * rsc + j as isize) };
                        *cv = combine(alpha, x, beta, *cv);
                    }
                }
            }

            /// An mr×NR tile (1 ≤ mr ≤ 12), see [`super::TileFn`].
            ///
            /// # Safety
            /// As [`super::TileFn`]; only called after AVX-512F was detected.
            #[allow(clippy::too_many_arguments)]
            pub(super) unsafe fn $tile(
                mr: usize,
                nc: usize,
                kc: usize,
                alpha: $t,
                a: *const $t,
                rsa: isize,
                csa: isize,
                b: *const $t,
                beta: $t,
                c: *mut $t,
                rsc: isize,
            ) {
                debug_assert!((1..=MR_512).contains(&mr));
                // SAFETY: the caller's contract with M = mr; `Kernel::for_isa` gives this
                // kernel only for `Isa::Avx512`, which its callers checked the CPU has.
                unsafe {
                    match mr {
                        1 => $tile_m::<1>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        2 => $tile_m::<2>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        3 => $tile_m::<3>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        4 => $tile_m::<4>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        5 => $tile_m::<5>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        6 => $tile_m::<6>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        7 => $tile_m::<7>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        8 => $tile_m::<8>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        9 => $tile_m::<9>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        10 => $tile_m::<10>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        11 => $tile_m::<11>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                        _ => $tile_m::<12>(nc, kc, alpha, a, rsa, csa, b, beta, c, rsc),
                    }
                }
            }
        };
    }

    avx512_tile!(
        f32,
        16,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_storeu_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_add_ps,
        tile_f32,
        tile_f32_m
    );
    avx512_tile!(
        f64,
        8,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_storeu_pd,
        _mm512_set1_pd,
        _mm512_fmadd_pd,
        _mm512_add_pd,
        tile_f64,
        tile_f64_m
    );
}
