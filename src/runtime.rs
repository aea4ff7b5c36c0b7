//! Calling clients that run an async runtime of their own (the `postgres`
//! crate, the S3 output) from code that may itself be inside one.
//!
//! A runtime's `block_on` panics on a thread that is already driving async
//! tasks, so such calls go through [`off_runtime`]. It does not decide what is
//! async and what is not; the store and output interfaces are synchronous.

/// Runs blocking `work` where blocking is allowed: directly outside any async
/// runtime, in `block_in_place` on a multi-threaded one, and on a scoped thread
/// of its own from a single-threaded one (`serve`'s HTTP threads).
pub(crate) fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Err(_) => work(),
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(work),
        Ok(_) => std::thread::scope(|scope| scope.spawn(work).join())
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
    }
}
