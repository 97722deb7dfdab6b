use std::process::ExitCode;

/// mimalloc: the runner and the simulator make and free millions of small values (rows,
/// strings, records); glibc's allocator spent a third of `cadence run`'s time on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Like other Unix tools, stop quietly when the reader of our output goes away
    // (`cadence simulate ... | head`), instead of failing on every write.
    #[cfg(unix)]
    // SAFETY: restoring the default action of a signal at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    cadence::cli::main()
}
