//! Two-way fork-join on a dedicated helper thread that spins briefly before sleeping.
//!
//! A training step hands dozens of sub-millisecond halves of work to the second core; a
//! general pool that puts its threads to sleep between them pays a wake-up each time. Here the
//! helper spins for [`SPIN`] after each job, so back-to-back joins cost a few hundred
//! nanoseconds, then parks until the next job. One job is in flight at a time: a join issued
//! while the helper is busy (or from the helper itself) runs both halves on the calling thread.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long the helper spins for new work after finishing a job before it parks.
const SPIN: Duration = Duration::from_micros(200);

/// A type-erased job living on the submitter's stack.
struct Job {
    /// Runs the job; called with a pointer to this very `Job`, which must be the `job` field
    /// of a live `StackJob` of the closure type `run` was instantiated for (see
    /// [`run_stack_job`]).
    run: unsafe fn(*const Job),
    /// 0 = pending, 1 = done, 2 = panicked.
    state: AtomicU8,
    panic: UnsafeCell<Option<Box<dyn std::any::Any + Send>>>,
}

/// The job with its closure.
#[repr(C)]
struct StackJob<F> {
    job: Job,
    f: UnsafeCell<Option<F>>,
}

/// Runs the closure of the `StackJob<F>` whose `job` field `job` points to, and records
/// how it ended in `state` (1 done, 2 panicked, the panic kept in `panic`).
///
/// # Safety
/// `job` must point to the `job` field of a live `StackJob<F>` (with this very F) that
/// stays alive until `state` leaves 0, and this must be the only call for that job: the
/// closure and the panic slot are accessed without synchronization.
unsafe fn run_stack_job<F: FnOnce()>(job: *const Job) {
    // SAFETY: `job` is the first field of a `#[repr(C)]` StackJob<F> (so the cast keeps the
    // address and the type) that outlives the run: the submitter waits for `state` to leave
    // 0 before returning (the function's contract).
    let sj = unsafe { &*(job as *const StackJob<F>) };
    // SAFETY: this is the only call for this job (the contract), so nothing else reads or
    // writes `f` while it is taken.
    let f = unsafe { (*sj.f.get()).take() }.expect("job runs once");
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => sj.job.state.store(1, Ordering::Release),
        Err(p) => {
            // SAFETY: the submitter reads `panic` only after seeing `state` = 2, stored
            // below with Release ordering; until then this call is its only user.
            unsafe { *sj.job.panic.get() = Some(p) };
            sj.job.state.store(2, Ordering::Release);
        }
    }
}

struct Helper {
    slot: AtomicPtr<Job>,
    sleeping: AtomicBool,
    thread: Thread,
}

fn helper() -> Option<&'static Helper> {
    static HELPER: OnceLock<Option<&'static Helper>> = OnceLock::new();
    *HELPER.get_or_init(|| {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let disabled = std::env::var("GRADSCOPE_THREADS").is_ok_and(|v| v.trim() == "1");
        if cores < 2 || disabled {
            return None;
        }
        let (tx, rx) = std::sync::mpsc::channel::<&'static Helper>();
        thread::Builder::new()
            .name("gradscope-helper".into())
            .spawn(move || {
                let h: &'static Helper = Box::leak(Box::new(Helper {
                    slot: AtomicPtr::new(std::ptr::null_mut()),
                    sleeping: AtomicBool::new(false),
                    thread: thread::current(),
                }));
                IS_HELPER.with(|c| c.set(true));
                tx.send(h).expect("receiver waits");
                work(h)
            })
            .ok()?;
        rx.recv().ok()
    })
}

thread_local! {
    static IS_HELPER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn work(h: &'static Helper) -> ! {
    let mut idle_since = Instant::now();
    let mut spins = 0u32;
    loop {
        let p = h.slot.swap(std::ptr::null_mut(), Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: a non-null slot points to the `job` field of a pending StackJob whose
            // submitter waits for it (it only retracts a job by swapping the slot back to
            // null, which this swap has prevented), and `run` was instantiated for its
            // closure type; the swap hands the job to this thread alone.
            unsafe { ((*p).run)(p) };
            idle_since = Instant::now();
            continue;
        }
        spins = spins.wrapping_add(1);
        // Reading the clock costs more than a spin: look at it every 256 spins.
        if !spins.is_multiple_of(256) || idle_since.elapsed() < SPIN {
            std::hint::spin_loop();
            continue;
        }
        h.sleeping.store(true, Ordering::SeqCst);
        if h.slot.load(Ordering::SeqCst).is_null() {
            thread::park_timeout(Duration::from_millis(100));
        }
        h.sleeping.store(false, Ordering::SeqCst);
        idle_since = Instant::now();
    }
}

/// Set by [`set_single_threaded`]: every [`join`] runs both halves on the calling thread.
static SINGLE_THREADED: AtomicBool = AtomicBool::new(false);

/// From now on, in this whole process, run every [`join`] on the calling thread (`true`) or
/// let it use the helper again (`false`). What `GRADSCOPE_THREADS=1` does at start-up, for a
/// program that runs several trainings on threads of its own (`gradscope sweep`): each then
/// keeps to its own core, and no result depends on whether a second core was free (the
/// recurrent layers' batch split sums the bias gradients per half, see `batch_split.rs`).
pub fn set_single_threaded(on: bool) {
    SINGLE_THREADED.store(on, Ordering::SeqCst);
}

/// True when [`join`] can run its halves on two cores.
pub fn available() -> bool {
    !SINGLE_THREADED.load(Ordering::Relaxed) && helper().is_some()
}

/// Runs `a` and `b`, `b` possibly on the helper thread; returns when both are done. A panic
/// in either is propagated.
pub fn join<A: FnOnce() + Send, B: FnOnce() + Send>(a: A, b: B) {
    if SINGLE_THREADED.load(Ordering::Relaxed) {
        a();
        b();
        return;
    }
    let Some(h) = helper() else {
        a();
        b();
        return;
    };
    if IS_HELPER.with(|c| c.get()) {
        a();
        b();
        return;
    }
    let job = StackJob {
        job: Job {
            run: run_stack_job::<B>,
            state: AtomicU8::new(0),
            panic: UnsafeCell::new(None),
        },
        f: UnsafeCell::new(Some(b)),
    };
    let ptr = &job.job as *const Job as *mut Job;
    if h.slot
        .compare_exchange(
            std::ptr::null_mut(),
            ptr,
            Ordering::AcqRel,
            Ordering::Relaxed,
        )
        .is_err()
    {
        // The helper has a job already (another thread's join): run both here.
        a();
        // SAFETY: `ptr` is the `job` field of `job`, a StackJob<B> on this stack that outlives
        // the call; the job was never published, so this is its only run.
        unsafe { run_stack_job::<B>(ptr) };
    } else {
        if h.sleeping.load(Ordering::SeqCst) {
            h.thread.unpark();
        }
        let ra = catch_unwind(AssertUnwindSafe(a));
        // Take the job back if the helper has not started it.
        if h.slot
            .compare_exchange(
                ptr,
                std::ptr::null_mut(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            // SAFETY: `ptr` is the `job` field of `job`, a StackJob<B> on this stack that
            // outlives the call; it was retracted from the slot before the helper took it, so
            // it runs exactly once, here.
            unsafe { run_stack_job::<B>(ptr) };
        }
        while job.job.state.load(Ordering::Acquire) == 0 {
            std::hint::spin_loop();
        }
        if let Err(p) = ra {
            resume_unwind(p);
        }
    }
    if job.job.state.load(Ordering::Acquire) == 2 {
        // SAFETY: the job is finished (`state` = 2, loaded with Acquire after the runner's
        // Release store), so its runner no longer touches `panic`.
        if let Some(p) = unsafe { (*job.job.panic.get()).take() } {
            resume_unwind(p);
        }
    }
}

// SAFETY: Helper's fields are atomics and a `Thread` handle; the raw job pointer in `slot`
// is only dereferenced by the thread that swapped it out, while its submitter waits.
unsafe impl Send for Helper {}
// SAFETY: as for Send: all shared access goes through the atomics.
unsafe impl Sync for Helper {}
