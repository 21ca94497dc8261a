//! The grids of the theory (sweeps, the phase diagram, the critical curve) on [`THREADS`]
//! scoped threads, results in input order whatever the scheduling.

/// Threads used for a grid (the machine this runs on is shared: two, not all cores).
pub(crate) const THREADS: usize = 2;

/// `f` over `items` on up to [`THREADS`] scoped threads; the i-th result is `f(&items[i])`.
/// Items are dealt round-robin (thread t takes i ≡ t mod [`THREADS`]) so that expensive
/// neighbours, e.g. the cells near a phase boundary, are shared out.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = THREADS.min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    let parts: Vec<Vec<R>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    items
                        .iter()
                        .skip(t)
                        .step_by(threads)
                        .map(f)
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(part) => part,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    // Interleave back: item i is the (i / threads)-th result of thread i % threads.
    let mut iters: Vec<_> = parts.into_iter().map(Vec::into_iter).collect();
    (0..items.len())
        .map(|i| iters[i % threads].next().expect("one result per item"))
        .collect()
}
