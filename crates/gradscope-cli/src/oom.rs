//! The process's allocator: the system's, except that running out of memory ends the command
//! with a clean error naming what was being built, instead of Rust's abort (exit 134).
//!
//! The memory estimate ([`gradscope::memory`]) refuses a run before it allocates; this is the
//! net under it, for what the estimate does not see or a `--max-memory` set above what the
//! machine has. A failed allocation is reported on stderr with the size asked for and the
//! command's current stage ([`stage`]), and the process exits with status 1. Allocations that
//! have a fallback (`try_reserve`) end the same way: the command cannot go on without that
//! memory either.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// The system allocator with the out-of-memory report.
pub struct Guarded;

/// What the command is doing, for the report (a leaked `&'static str`; null before any).
static STAGE: AtomicPtr<&'static str> = AtomicPtr::new(std::ptr::null_mut());
/// Set while the report is written (an allocation failing inside it aborts).
static REPORTING: AtomicBool = AtomicBool::new(false);

/// Names what the command builds from now on, e.g. `loading the data and building the model
/// of run.toml`.
pub fn stage(what: impl Into<String>) {
    let text: &'static str = Box::leak(what.into().into_boxed_str());
    STAGE.store(Box::into_raw(Box::new(text)), Ordering::SeqCst);
}

#[cold]
fn out_of_memory(layout: Layout) -> ! {
    if REPORTING.swap(true, Ordering::SeqCst) {
        std::process::abort();
    }
    let stage = STAGE.load(Ordering::SeqCst);
    // SAFETY: STAGE only ever holds pointers from `Box::into_raw` that are never freed.
    let stage: &str = if stage.is_null() {
        "starting"
    } else {
        unsafe { *stage }
    };
    let bytes = layout.size() as f64;
    let (v, unit) = if bytes >= (1u64 << 30) as f64 {
        (bytes / (1u64 << 30) as f64, "GiB")
    } else {
        (bytes / (1u64 << 20) as f64, "MiB")
    };
    // No allocation below: core formatting into the unbuffered stderr.
    let _ = writeln!(
        std::io::stderr(),
        "error: out of memory while {stage}: {v:.1} {unit} could not be allocated; use smaller \
         sizes, or check --max-memory against the memory this machine has (see \
         docs/reliability.md)"
    );
    std::process::exit(1)
}

// SAFETY: every call is forwarded to `System` unchanged; a null result is reported and the
// process exits instead of returning it.
unsafe impl GlobalAlloc for Guarded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            out_of_memory(layout);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            out_of_memory(layout);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            // SAFETY: the layout of the block asked for (size checked by the caller).
            out_of_memory(unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) });
        }
        p
    }
}
