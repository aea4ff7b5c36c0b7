//! `octofeed items ID [--limit N] [--json]`: a source's stored history, newest first.

mod store_kit;

use store_kit::*;

fn site_with_history() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    serve_page(dir.path(), "octopus.html", JUNE);
    let config = write_config(dir.path(), "", &[octopus_source("octopus", "file:octopus.html", "max_items = 5")]);
    run_json(&config, clock(1, 8));
    serve_page(dir.path(), "octopus.html", DECEMBER);
    run_json(&config, clock(2, 8));
    (dir, config)
}

fn items_json(config: &std::path::Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["items", "octopus", "--json"];
    all.extend_from_slice(args);
    let output = octofeed(config, clock(3, 0), &all);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("a JSON list")
}

#[test]
fn json_lists_every_stored_item_newest_first_with_its_times() {
    let (_dir, config) = site_with_history();
    let rows = items_json(&config, &["--limit", "100"]);
    assert_eq!(rows.len(), 26, "all of history, not only the 5 the feed shows");
    let published: Vec<&str> = rows.iter().map(|row| row["published"].as_str().expect("published")).collect();
    assert!(published.windows(2).all(|pair| pair[0] >= pair[1]), "newest first: {published:?}");
    for key in ["guid", "published", "first_seen", "updated", "title"] {
        assert!(rows.iter().all(|row| row[key].is_string()), "every row has {key}");
    }
    let new_in_december = rows.iter().filter(|row| row["first_seen"] == "2023-01-02T08:00:00Z").count();
    assert_eq!(new_in_december, 8);
    let updated: Vec<&str> = rows
        .iter()
        .filter(|row| row["updated"] != row["first_seen"])
        .map(|row| row["title"].as_str().expect("a title"))
        .collect();
    assert_eq!(updated.len(), 1);
    assert!(updated[0].starts_with("12-13 May: International conference"), "{updated:?}");
}

#[test]
fn limit_keeps_the_newest() {
    let (_dir, config) = site_with_history();
    let all = items_json(&config, &["--limit", "100"]);
    let three = items_json(&config, &["--limit", "3"]);
    assert_eq!(three, all[..3]);
    assert_eq!(items_json(&config, &[]).len(), 20, "20 by default");
}

#[test]
fn the_table_shows_one_line_per_item_newest_first() {
    let (_dir, config) = site_with_history();
    let rows = items_json(&config, &["--limit", "4"]);
    let output = octofeed(&config, clock(3, 0), &["items", "octopus", "--limit", "4"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "a header and four items:\n{text}");
    for word in ["published", "first seen", "updated", "title", "guid"] {
        assert!(lines[0].contains(word), "header has {word}: {}", lines[0]);
    }
    for (line, row) in lines[1..].iter().zip(&rows) {
        assert!(line.ends_with(row["guid"].as_str().expect("a guid")), "{line}");
        let day = &row["published"].as_str().expect("a date")[..10];
        assert!(line.starts_with(day), "{line} starts with {day}");
    }
}

#[test]
fn an_unknown_source_or_a_missing_store_is_an_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = write_config(dir.path(), "", &[octopus_source("octopus", "file:octopus.html", "")]);
    let unknown = octofeed(&config, clock(1, 0), &["items", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown source \"nope\""));
    let missing = octofeed(&config, clock(1, 0), &["items", "octopus"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist yet"));
    assert!(!dir.path().join("data/octofeed.db").exists(), "listing creates no store");
}
