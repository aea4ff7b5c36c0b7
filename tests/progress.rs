//! `octofeed run` for people and for cron: a progress bar on a terminal (run under
//! a pseudo-terminal with `script` from util-linux), plain per-source lines and
//! errors otherwise, and `tracing` logs with `-v` or `RUST_LOG`.

mod fetch_kit;

use std::process::{Command, Output};
use std::time::Duration;

use fetch_kit::{Site, listing, listing_source, site_table};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A site with a slow source that works and a source that answers 404.
async fn site(server: &MockServer) -> Site {
    let page = listing(&[("Octopus Conference", "/news/octopus"), ("Budapest Convention day", "/news/bcd")]);
    let slow = ResponseTemplate::new(200).set_body_string(page).set_delay(Duration::from_millis(600));
    Mock::given(path("/news")).respond_with(slow).mount(server).await;
    Mock::given(path("/gone")).respond_with(ResponseTemplate::new(404)).mount(server).await;
    let sources = format!(
        "{}{}",
        listing_source("news", &format!("{}/news", server.uri()), "robots = false"),
        listing_source("gone", &format!("{}/gone", server.uri()), "robots = false")
    );
    Site::new(&format!("{}{sources}", site_table("")))
}

/// Runs the binary off the test's runtime, so the mock server keeps answering.
async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("the command runs")).await.unwrap()
}

fn octofeed(site: &Site, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_octofeed"));
    command.arg("run").arg("-c").arg(site.config_path()).args(extra).env_remove("RUST_LOG");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn without_a_terminal_only_source_lines_and_errors() {
    let server = MockServer::start().await;
    let site = site(&server).await;
    let out = output(octofeed(&site, &[])).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines.iter().any(|line| line.starts_with("ok") && line.contains("news") && line.contains("2 items")));
    assert!(lines.iter().any(|line| line.starts_with("failed") && line.contains("404")));
    for output in [&stdout, &stderr] {
        assert!(!output.contains('\u{1b}'), "escape codes: {output:?}");
        assert!(!output.contains("sources,"), "a progress bar: {output:?}");
    }
    assert!(!stderr.contains("DEBUG"), "{stderr}");
}

#[tokio::test]
async fn verbose_turns_on_debug_logs() {
    let server = MockServer::start().await;
    let site = site(&server).await;
    let out = output(octofeed(&site, &["-v"])).await;
    let stderr = text(&out.stderr);
    let fetched = |line: &str| line.contains("DEBUG") && line.contains("fetched") && line.contains("/news");
    assert!(stderr.lines().any(|line| fetched(line) && line.contains("status=200")), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes without a terminal: {stderr:?}");
}

#[tokio::test]
async fn rust_log_turns_on_debug_logs() {
    let server = MockServer::start().await;
    let site = site(&server).await;
    let mut command = octofeed(&site, &[]);
    command.env("RUST_LOG", "octofeed=debug");
    let stderr = text(&output(command).await.stderr);
    assert!(stderr.lines().any(|line| line.contains("DEBUG") && line.contains("status=404")), "{stderr}");
}

#[tokio::test]
async fn on_a_terminal_a_progress_bar_counts_sources_items_and_errors() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let server = MockServer::start().await;
    let site = site(&server).await;
    let run = format!("{} run -c {}", env!("CARGO_BIN_EXE_octofeed"), site.config_path().display());
    let mut command = Command::new("script");
    command.args(["-qfec", &run, "/dev/null"]).env_remove("RUST_LOG").env("TERM", "xterm");
    let out = output(command).await;
    let terminal = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{terminal}");
    assert!(terminal.contains("0/2 sources, 0 items, 0 errors"), "{terminal:?}");
    assert!(terminal.contains("1/2 sources, 0 items, 1 error"), "{terminal:?}");
    assert!(terminal.contains('\u{1b}'), "no terminal control codes: {terminal:?}");
    assert!(terminal.lines().any(|line| line.contains("ok") && line.contains("2 items found")), "{terminal:?}");
}
