//! Lower CPU priority for the threads that do resetd's heavy or deferrable work (argon2
//! hashing, the reset issuer, the outbox worker), so that the threads answering HTTP
//! requests get the CPU first when both want it. On an idle machine nothing changes; on a
//! busy one, a health check or a reset request is answered while hashes queue, instead
//! of waiting behind them.

/// The `nice` value of those threads: a nice-10 thread gets about a tenth of the CPU of a
/// nice-0 thread that competes with it.
pub const BACKGROUND_NICE: i32 = 10;

/// Gives the calling thread (only it, and the threads it starts afterwards) the
/// `BACKGROUND_NICE` priority, unless it is lower already. Lowering one's priority needs
/// no privilege; should the system refuse anyway, the thread keeps its priority.
pub fn lower_current_thread() {
    #[cfg(target_os = "linux")]
    {
        let nice = current_thread_nice().max(BACKGROUND_NICE);
        // SAFETY: setpriority has no memory effects. On Linux, PRIO_PROCESS with `who` = 0
        // names the calling thread, not the whole process (each thread is a task with its
        // own nice value; see the NOTES of setpriority(2)).
        let done = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
        if done != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "could not lower a background thread's priority"
            );
        }
    }
}

/// The calling thread's nice value.
#[cfg(target_os = "linux")]
pub(crate) fn current_thread_nice() -> i32 {
    // SAFETY: getpriority has no memory effects. (It answers -1 on error too, which is also
    // a valid nice value: at worst the thread then gets `BACKGROUND_NICE`.)
    unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn lowers_the_calling_thread_only() {
        let before = current_thread_nice();
        let lowered = std::thread::spawn(|| {
            lower_current_thread();
            let own = current_thread_nice();
            let child = std::thread::spawn(current_thread_nice)
                .join()
                .expect("child");
            (own, child)
        })
        .join()
        .expect("thread");
        assert_eq!(
            lowered,
            (BACKGROUND_NICE.max(before), BACKGROUND_NICE.max(before))
        );
        assert_eq!(
            current_thread_nice(),
            before,
            "the caller's thread is untouched"
        );
    }
}
