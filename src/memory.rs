//! Gives freed heap memory back to the system after a burst of work.
//!
//! Importing a workspace (reading every file, building a document for each, storing them in one
//! batch) allocates tens of megabytes that are all freed when the batch is committed. glibc's
//! allocator keeps such memory in its arenas for reuse, so a peer that imported a thousand files
//! stayed that much larger for its whole life. After a large batch the core asks glibc to return
//! what is free; elsewhere this does nothing. Processes that host a peer also cap glibc's arenas
//! (one per thread by default, each keeping its own free memory) at start.

/// Batches with at least this many stored rows count as a burst.
pub const BURST_ROWS: usize = 256;

/// Returns free heap pages to the system (glibc's `malloc_trim`); a no-op on other platforms.
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: malloc_trim takes no pointers and is safe to call from any thread at any time.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Caps glibc's malloc arenas at two (the default is eight per core, one per thread that
/// allocates), so memory freed by one thread is reused by others instead of being kept per
/// thread. Call it first thing in `main`, before any thread starts; a no-op elsewhere.
pub fn compact_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_ARENA_MAX: std::os::raw::c_int = -8;
        extern "C" {
            fn mallopt(param: std::os::raw::c_int, value: std::os::raw::c_int) -> std::os::raw::c_int;
        }
        // SAFETY: mallopt takes two integers; called before other threads allocate.
        unsafe {
            mallopt(M_ARENA_MAX, 2);
        }
    }
}
