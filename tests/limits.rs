//! Values that must not lie: config numbers and durations that would panic or
//! spin `run` and `serve` are refused by `check` with file and line, a store
//! file that holds no database is refused instead of silently starting a new
//! history, and `run --json` reports even when publishing fails. The fuzz test
//! mutates a working config 1,000 times (fixed seed) and runs `check` and `run`
//! on every mutant: none may panic.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{fixed_now, fixture_url};
use octofeed::config::{Config, LoadOptions};
use octofeed::run::{RunOptions, Runner};

fn octofeed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_octofeed")).args(args).output().expect("the binary runs")
}

/// A working config over two saved fixtures (a page and a feed) and a channel.
fn base_config() -> String {
    format!(
        r#"[site]
title = "Limits"
output_dir = "public"
store = "data/octofeed.db"
concurrency = 4
per_host = 2
host_delay = "0s"
max_body = "2MiB"
retries = 1
lock_timeout = "1s"

[defaults]
interval = "6h"
max_items = 50
timeout = "10s"
timezone = "Europe/Paris"

[[source]]
id = "page"
url = "{page}"
page_url = "https://news.example.org/"
max_items_per_page = 100
[source.select]
item = "ul.news > li.news-item"
title = "h3"
link = "h3 a"
date = ".date"
summary = ".summary"
[source.paginate]
next = "a.next"
max_pages = 2

[[source]]
id = "feed"
url = "{feed}"
kind = "feed"

[[channel]]
id = "all"
sources = ["page", "feed"]
include = ["a"]
max_items = 20
"#,
        page = fixture_url("wild/edge-cases.html"),
        feed = fixture_url("feeds/rss2/basic.xml"),
    )
}

fn check(dir: &Path, text: &str, extra: &[&str]) -> Output {
    let path = dir.join("octofeed.toml");
    std::fs::write(&path, text).expect("config written");
    let mut args = vec!["check", "-c", path.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    octofeed(&args)
}

#[test]
fn check_refuses_numbers_that_would_panic_run_with_file_and_line() {
    let dir = tempfile::tempdir().expect("a folder");
    let cases = [
        ("concurrency = 4", "concurrency = 9223372036854775807", "concurrency` must be between 1 and 1024"),
        ("interval = \"6h\"", "interval = \"100000000y\"", "interval` must be between"),
        ("interval = \"6h\"", "interval = \"0s\"", "--force"),
        ("per_host = 2", "per_host = 0", "per_host` must be between 1 and 64"),
        ("retries = 1", "retries = 1000", "retries` must be between 0 and 10"),
        ("max_items = 50", "max_items = 0", "max_items` must be between 1 and 100000"),
        ("timeout = \"10s\"", "timeout = \"0s\"", "timeout` must be between"),
        ("max_body = \"2MiB\"", "max_body = \"999999PiB\"", "max_body` must be between"),
        ("max_pages = 2", "max_pages = 100000", "max_pages` must be between 1 and 100"),
        ("lock_timeout = \"1s\"", "lock_timeout = \"1000y\"", "lock_timeout` must be between"),
    ];
    for (good, bad, expected) in cases {
        let text = base_config().replacen(good, bad, 1);
        let line = text.lines().position(|line| line == bad).expect("the bad line") + 1;
        let output = check(dir.path(), &text, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains(expected), "{bad}: {stderr}");
        assert!(stderr.contains(&format!("octofeed.toml:{line}:")), "{bad} is on line {line}: {stderr}");
    }
}

#[test]
fn force_allows_an_interval_under_a_minute_but_not_zero() {
    let dir = tempfile::tempdir().expect("a folder");
    let thirty = base_config().replacen("interval = \"6h\"", "interval = \"30s\"", 1);
    assert_eq!(check(dir.path(), &thirty, &[]).status.code(), Some(2));
    assert_eq!(check(dir.path(), &thirty, &["--force"]).status.code(), Some(0));
    let zero = base_config().replacen("interval = \"6h\"", "interval = \"0s\"", 1);
    assert_eq!(check(dir.path(), &zero, &["--force"]).status.code(), Some(2));
}

#[test]
fn a_config_that_is_not_utf8_is_an_error_naming_its_line() {
    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join("octofeed.toml");
    let mut bytes = b"[site]\ntitle = \"ok\"\nuser_agent = \"caf".to_vec();
    bytes.extend_from_slice(&[0xE9, b'"', b'\n']);
    std::fs::write(&path, bytes).expect("config written");
    let output = octofeed(&["check", "-c", path.to_str().expect("utf-8 path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("octofeed.toml:3:18: the config is not valid UTF-8"), "{stderr}");
}

#[test]
fn an_empty_store_file_is_refused_and_run_init_starts_afresh() {
    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join("octofeed.toml");
    std::fs::write(&path, base_config()).expect("config written");
    std::fs::create_dir_all(dir.path().join("data")).expect("data folder");
    let store = dir.path().join("data/octofeed.db");
    std::fs::write(&store, b"").expect("an empty store file");
    let config = path.to_str().expect("utf-8 path");
    let refused = octofeed(&["run", "-c", config]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is unusable: the file is empty") && stderr.contains("--init"), "{stderr}");
    assert_eq!(std::fs::metadata(&store).expect("still there").len(), 0, "the file is left as it is");
    assert!(!dir.path().join("public").exists(), "nothing was published");

    let fresh = octofeed(&["run", "-c", config, "--init"]);
    assert_eq!(fresh.status.code(), Some(0), "{}", String::from_utf8_lossy(&fresh.stderr));
    assert!(dir.path().join("public/page/rss.xml").exists());
}

#[test]
fn run_json_prints_its_report_when_publishing_fails() {
    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join("octofeed.toml");
    std::fs::write(&path, base_config()).expect("config written");
    // A file where the output folder should be: nothing can be published.
    std::fs::write(dir.path().join("public"), b"not a folder").expect("a blocking file");
    let output = octofeed(&["run", "-c", path.to_str().expect("utf-8 path"), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("no JSON report ({error}): {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(report["sources"].as_array().expect("sources").len(), 2);
    assert!(report["publish_error"].as_str().is_some_and(|error| error.contains("public")), "{report}");
}

/// Values a mutant may put anywhere: extremes, wrong types, hostile URLs.
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "65535",
    "4294967296",
    "9223372036854775807",
    "1e309",
    "true",
    "[]",
    "{}",
    "\"\"",
    "\"0s\"",
    "\"1ns\"",
    "\"59s\"",
    "\"100000000y\"",
    "\"18446744073709551615s\"",
    "\"1KiB\"",
    "\"999999PiB\"",
    "\"Europe/Nowhere\"",
    "\"re:(\"",
    "\"[\"",
    "\"::\"",
    "\"file:/dev/zero\"",
    "\"file:/nonexistent/page.html\"",
    "\"http://127.0.0.1:1/\"",
    "\"javascript:alert(1)\"",
    "\"feed\"",
    "\"html\"",
    "[\"page\", \"page\"]",
    "{ css = \"h3\", regex = \"(\" }",
    "{ css = \"h3\", format = \"%Q\" }",
];

/// Values at the edges of what `check` accepts, so many mutants get as far as `run`.
const EDGES: &[&str] = &[
    "1",
    "2",
    "64",
    "1024",
    "100000",
    "1000000",
    "false",
    "\"0s\"",
    "\"1s\"",
    "\"1m\"",
    "\"1h\"",
    "\"366d\"",
    "\"1KiB\"",
    "\"1GiB\"",
    "\"UTC\"",
    "\"Pacific/Kiritimati\"",
    "\"h3\"",
    "\"*\"",
    "\":root\"",
];

/// Keys a mutant may add to `[site]`, `[defaults]` or a table.
const KEYS: &[&str] = &[
    "concurrency",
    "per_host",
    "host_delay",
    "max_body",
    "retries",
    "lock_timeout",
    "interval",
    "max_items",
    "timeout",
    "max_items_per_page",
    "max_pages",
    "timezone",
    "allow_private",
    "robots",
    "url",
    "page_url",
    "kind",
    "date",
];

/// One mutation of `text`: a value replaced, a key added, a line dropped or repeated.
fn mutate(text: &str, rng: &mut fastrand::Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for _ in 0..rng.usize(1..=2) {
        let at = rng.usize(..lines.len());
        let pool = if rng.u8(..3) == 0 { VALUES } else { EDGES };
        let value = pool[rng.usize(..pool.len())];
        match rng.u8(..10) {
            0..=5 => {
                let keyed: Vec<usize> = (0..lines.len()).filter(|&line| lines[line].contains(" = ")).collect();
                let at = keyed[rng.usize(..keyed.len())];
                let key = lines[at].split(" = ").next().unwrap_or_default().to_owned();
                lines[at] = format!("{key} = {value}");
            }
            6 | 7 => lines.insert(at, format!("{} = {value}", KEYS[rng.usize(..KEYS.len())])),
            8 => {
                lines.remove(at);
            }
            _ => {
                let copy = lines[at].clone();
                lines.insert(at, copy);
            }
        }
    }
    lines.join("\n")
}

#[test]
fn a_thousand_mutated_configs_never_panic_check_or_run() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let mut rng = fastrand::Rng::with_seed(0x0c70_f33d);
    let (mut accepted, mut panics) = (0, Vec::new());
    for case in 0..1_000 {
        let dir = tempfile::tempdir().expect("a folder");
        let text = mutate(&base_config(), &mut rng);
        let path = dir.path().join("octofeed.toml");
        let options = LoadOptions { force: rng.bool() };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let Ok(config) = Config::parse_with(&path, &text, options) else {
                return false;
            };
            let run = RunOptions { only: Vec::new(), now: fixed_now() };
            // A run may fail (a refused URL, a missing page); it must not panic.
            let _ = runtime.block_on(async { Runner::open(&config)?.run(&config, &run, |_| {}).await });
            true
        }));
        match outcome {
            Ok(ran) => accepted += usize::from(ran),
            Err(_) => panics.push(format!("case {case}:\n{text}")),
        }
    }
    assert!(panics.is_empty(), "{} of 1,000 mutated configs panicked; first:\n{}", panics.len(), panics[0]);
    assert!(accepted >= 100, "only {accepted} mutants passed check: the mutations are too coarse to test run");
}
