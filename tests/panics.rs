//! A panic in one source's refresh (a parser bug on a strange page) is that
//! source's failure only, in a whole `run` and under `serve`'s scheduler. The
//! panic is injected with `OCTOFEED_TEST_PANIC`, a hook of debug builds.

mod store_kit;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use store_kit::*;

/// Two sources over the June page: `octopus` and `news`.
fn two_sources(extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    serve_page(dir.path(), "octopus.html", JUNE);
    let sources =
        [octopus_source("octopus", "file:octopus.html", extra), octopus_source("news", "file:octopus.html", extra)];
    let config = write_config(dir.path(), "", &sources);
    (dir, config)
}

#[test]
fn a_panicking_source_fails_alone_and_the_run_exits_1() {
    let (dir, config) = two_sources("");
    let (code, report) = run_json(&config, clock(1, 8));
    assert_eq!(code, 0, "{report}");
    let news_feed = std::fs::read(dir.path().join("public/news/rss.xml")).expect("news published");

    serve_page(dir.path(), "octopus.html", DECEMBER);
    let output = Command::new(env!("CARGO_BIN_EXE_octofeed"))
        .args(["run", "--json", "-c"])
        .arg(&config)
        .args(["--now", &clock(2, 8).to_rfc3339()])
        .env("OCTOFEED_TEST_PANIC", "news")
        .output()
        .expect("octofeed ran");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON report after the panic");
    assert_eq!(output.status.code(), Some(1), "{report}");
    let news = source_report(&report, "news");
    assert_eq!(news["status"], "failed");
    let error = news["error"].as_str().expect("an error");
    assert!(error.contains("panic") && error.contains("OCTOFEED_TEST_PANIC"), "{error}");
    let octopus = source_report(&report, "octopus");
    assert_eq!((octopus["status"].as_str(), octopus["items_new"].as_u64()), (Some("ok"), Some(8)));
    let rss = std::fs::read_to_string(dir.path().join("public/octopus/rss.xml")).expect("octopus published");
    assert!(rss.contains("Pacific Islands"), "the other source is stored and published");
    let news_after = std::fs::read(dir.path().join("public/news/rss.xml")).expect("news still there");
    assert_eq!(news_after, news_feed, "the panicking source's last good feed is kept");
}

#[tokio::test]
async fn serves_scheduler_goes_on_after_a_panic_and_healthz_shows_it() {
    let (dir, config) = two_sources("interval = \"1s\"");
    let child = Command::new(env!("CARGO_BIN_EXE_octofeed"))
        .args(["serve", "--force", "--listen", "127.0.0.1:0", "-c"])
        .arg(&config)
        .env("OCTOFEED_TEST_PANIC", "news")
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve started");
    let mut child = Stopped(child);
    let mut stderr = BufReader::new(child.0.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("a first line");
    let word = line.split_whitespace().find(|word| word.starts_with("http://")).expect("the address");
    let base = word.trim_end_matches('/').to_owned();
    // Drain the rest of stderr so serve never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));

    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        let health: Option<serde_json::Value> = match reqwest::get(format!("{base}/healthz")).await {
            Ok(response) => response.text().await.ok().and_then(|text| serde_json::from_str(&text).ok()),
            Err(_) => None,
        };
        let failures = |health: &serde_json::Value| {
            let sources = health["sources"].as_array().cloned().unwrap_or_default();
            let news = sources.iter().find(|source| source["id"] == "news").cloned();
            news.and_then(|news| news["consecutive_failures"].as_u64()).unwrap_or(0)
        };
        match health {
            Some(health) if failures(&health) >= 3 => break health,
            _ if Instant::now() > deadline => panic!("the scheduler stopped after the panic"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let sources = health["sources"].as_array().expect("sources");
    let octopus = sources.iter().find(|source| source["id"] == "octopus").expect("octopus");
    assert_eq!(octopus["consecutive_failures"], 0, "{health}");
    assert_eq!(octopus["item_count"], 18, "{health}");
    let news = sources.iter().find(|source| source["id"] == "news").expect("news");
    assert!(news["last_error"].as_str().is_some_and(|error| error.contains("panic")), "{health}");
    let metrics = reqwest::get(format!("{base}/metrics")).await.expect("metrics").text().await.expect("text");
    let failures = metrics
        .lines()
        .find(|line| line.starts_with("octofeed_source_consecutive_failures{source=\"news\"}"))
        .and_then(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .expect("a failure gauge for news");
    assert!(failures >= 3, "{metrics}");
    assert!(dir.path().join("public/octopus/rss.xml").exists());

    Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().expect("kill");
    assert_eq!(child.0.wait().expect("serve ended").code(), Some(0));
}

/// A child process killed when the test ends, even by a failed assertion.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
