//! The `octofeed` binary: parses the command line, starts logging, runs the
//! command on a Tokio runtime and turns its outcome into the exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use octofeed::cli::Cli;
use octofeed::commands;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    init_logging(cli.verbose);
    if cli.command.prints_for_a_pipe() {
        die_quietly_on_a_closed_pipe();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(commands::FAILED);
        }
    };
    ExitCode::from(runtime.block_on(commands::execute(cli)))
}

/// Commands whose output goes to `head` or `less` end as other Unix tools do
/// when the reader stops reading: by SIGPIPE, silently, not by a panic in
/// `println!` (Rust ignores SIGPIPE by default). Sockets are unaffected: Rust
/// sends on them with MSG_NOSIGNAL.
fn die_quietly_on_a_closed_pipe() {
    // SAFETY: called at startup, before any other thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// glibc gives threads that allocate arenas of their own (up to eight per
/// core) and keeps their memory: with the page-parsing and feed-writing threads
/// of a big run that is a fifth of the peak. One arena keeps a 500-source run
/// under 40 MiB (measured with benches/vs-rsspls/run.sh: 45 MiB → 39 MiB) at no cost in time
/// on a 2-core machine. `MALLOC_ARENA_MAX` in the environment still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first thing in main, before any other thread exists;
        // mallopt only tunes the allocator and M_ARENA_MAX is a valid parameter.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Logs go to stderr: errors only by default (cron mails stay short), debug with -v, trace with -vv, or as RUST_LOG says.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "error",
        1 => "octofeed=debug,warn",
        _ => "octofeed=trace,info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colours only on a terminal: cron mails and log files get plain text.
    let ansi = std::io::stderr().is_terminal();
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
}
