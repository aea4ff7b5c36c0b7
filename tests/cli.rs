//! The `octofeed` binary: `run` exit codes and `--json` shape, `preview` as a
//! table and as JSON, all over the fixtures (`file:` sources) with a fixed `--now`.
//!
//! No network; config loading and `check` are in tests/config.rs.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{ROOT, offline_config_in};

fn octofeed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_octofeed"))
        .arg("--now")
        .arg("2025-01-15T12:00:00Z")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn json_of(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn run_json_reports_every_source_and_exits_0_then_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, _) = offline_config_in(dir.path());
    let config = config.to_str().expect("utf-8 path");
    let first = octofeed(&["run", "-c", config, "--json"]);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let report = json_of(&first);
    let sources = report["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 9);
    for source in sources {
        for key in ["id", "status", "items_seen", "items_new", "items_updated", "error"] {
            assert!(source.get(key).is_some(), "{key} missing in {source}");
        }
        assert_eq!(source["status"], "ok");
        assert_eq!(source["items_new"], source["items_seen"]);
        assert!(source["error"].is_null());
    }
    assert_eq!(sources[0]["id"], "octopus");
    assert_eq!(sources[0]["items_seen"], 22);
    assert_eq!(report["files_written"], 10 * 4 + 2, "four files per feed, the index and the OPML");
    let second = json_of(&octofeed(&["run", "-c", config, "--json"]));
    assert!(second["sources"].as_array().expect("sources").iter().all(|source| source["status"] == "unchanged"));
    assert_eq!(second["files_written"], 0);
}

#[test]
fn run_exits_1_when_a_source_fails_and_prints_one_line_per_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = offline_config_in(dir.path());
    let text =
        std::fs::read_to_string(&path).expect("config").replace("coe/numeric-dates.html", "wild/redesigned.html");
    std::fs::write(&path, text).expect("write config");
    let output = octofeed(&["run", "-c", path.to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 9, "{stdout}");
    assert_eq!(lines.iter().filter(|line| line.starts_with("failed")).count(), 1, "{stdout}");
    assert!(lines.iter().any(|line| line.starts_with("ok") && line.contains("octopus ") && line.contains("22 items")));
    assert!(!dir.path().join("public/news-2016").exists(), "the failed source published nothing");
    assert!(dir.path().join("public/octopus/rss.xml").exists());
}

#[test]
fn run_exits_2_on_a_config_error_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = offline_config_in(dir.path());
    let text = std::fs::read_to_string(&path).expect("config").replace("[site]", "[site]\nunknown_key = 1");
    std::fs::write(&path, text).expect("write config");
    let output = octofeed(&["run", "-c", path.to_str().expect("utf-8 path"), "--json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown_key"));
    assert!(!dir.path().join("public").exists() && !dir.path().join("data").exists());
}

fn offline() -> String {
    Path::new(ROOT).join("config/offline.toml").to_string_lossy().into_owned()
}

#[test]
fn preview_prints_a_readable_table() {
    let output = octofeed(&["preview", "-c", &offline(), "octopus"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(header, ["#", "date", "title", "place", "link"]);
    let rows: Vec<&str> = lines.filter(|line| line.starts_with(|c: char| c.is_ascii_digit())).collect();
    let (footer, rows) = rows.split_last().expect("rows and a footer");
    assert_eq!(*footer, "22 items");
    assert_eq!(rows.len(), 22, "{stdout}");
    assert!(rows.iter().all(|row| row.chars().nth(3) == Some(' ')), "aligned columns");
    let undated = rows.iter().find(|row| row.contains("call for experts")).expect("the undated item");
    assert_eq!(undated.split_whitespace().nth(1), Some("-"), "{undated}");
    // "29-30 November 2022" on the page: the 29th in the source's zone (Europe/Paris), not the UTC 28th.
    assert!(rows[0].starts_with("1   2022-11-29 Pacific Islands"), "{}", rows[0]);
    assert!(rows[0].ends_with(
        "https://www.coe.int/en/web/cybercrime/-/pacific-islands-regional-workshop-on-the-second-additional-protocol"
    ));
}

#[test]
fn preview_json_is_the_extracted_items() {
    let output = octofeed(&["preview", "-c", &offline(), "news-table", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let items = json_of(&output);
    let items = items.as_array().expect("an array of items");
    assert_eq!(items.len(), 14);
    assert_eq!(items[0]["link"], "https://police-cyber.example.net/en/press/news.php?id=1042&lang=en");
    assert_eq!(items[0]["published"], "2024-03-05T10:00:00Z");
    assert!(items.iter().all(|item| item["title"].as_str().is_some_and(|title| !title.is_empty())));
}

#[test]
fn check_verbose_says_how_each_listing_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, _) = offline_config_in(dir.path());
    let quiet = octofeed(&["check", "-c", config.to_str().expect("utf-8 path")]);
    assert_eq!(String::from_utf8_lossy(&quiet.stdout).lines().count(), 1, "without -v, one line");
    let output = octofeed(&["check", "-v", "-c", config.to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = |id: &str| stdout.lines().find(|line| line.starts_with(&format!("{id}: "))).unwrap_or_default();
    assert_eq!(line("iproceeds"), "iproceeds: streamed: the stream picks the items (`div.asset-abstract`)");
    assert!(
        line("octopus").contains("picks `.portlet-asset-publisher`") && line("octopus").contains(":scope div:has(")
    );
    assert!(
        line("news-table").starts_with("news-table: whole page: the link selector `td:nth-child(2) a`"),
        "{stdout}"
    );
}
