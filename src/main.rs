//! The `octofeed` binary: parses the command line, starts logging, runs the
//! command on a Tokio runtime and turns its outcome into the exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use octofeed::cli::Cli;
use octofeed::commands;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(commands::FAILED);
        }
    };
    ExitCode::from(runtime.block_on(commands::execute(cli)))
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
