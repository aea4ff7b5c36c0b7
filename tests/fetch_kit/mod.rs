//! Test support shared by the integration tests: a config written to a temporary
//! folder, a run through the library, and the published files read back. It
//! serves nothing itself: each test mounts its own pages on a local mock server.

#![allow(dead_code, reason = "each test crate uses a different part of these helpers")]

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use octofeed::config::Config;
use octofeed::run::{RunOptions, RunReport, SourceReport, Status, run};
use tempfile::TempDir;

/// A config in its own temporary folder; the store and `public/` live beside it.
pub struct Site {
    pub dir: TempDir,
    pub config: Config,
}

impl Site {
    /// Writes `toml` as `octofeed.toml` in a new folder and loads it.
    pub fn new(toml: &str) -> Site {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("octofeed.toml");
        std::fs::write(&path, toml).expect("config written");
        let config = Config::load(&path).unwrap_or_else(|errors| panic!("bad test config: {errors}\n{toml}"));
        Site { dir, config }
    }

    /// The config file's path, for the binary.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("octofeed.toml")
    }

    /// One run over every source, at `now`.
    pub async fn run_at(&self, now: DateTime<Utc>) -> RunReport {
        let options = RunOptions { only: Vec::new(), now };
        run(&self.config, &options, |_| {}).await.expect("the run itself works")
    }

    /// One run over every source, now.
    pub async fn run(&self) -> RunReport {
        self.run_at(Utc::now()).await
    }

    /// A published file, as text.
    pub fn published(&self, file: &str) -> String {
        let path = self.dir.path().join("public").join(file);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }

    /// A source's JSON Feed, parsed.
    pub fn json_feed(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(&self.published(&format!("{id}/feed.json"))).expect("valid JSON Feed")
    }

    /// The titles of a source's JSON Feed, in feed order.
    pub fn titles(&self, id: &str) -> Vec<String> {
        let feed = self.json_feed(id);
        let items = feed["items"].as_array().expect("items").iter();
        items.map(|item| item["title"].as_str().expect("title").to_owned()).collect()
    }
}

/// The `[site]` table of a test config: no pause between requests, `extra` lines added.
pub fn site_table(extra: &str) -> String {
    format!(
        "[site]\ntitle = \"Test feeds\"\nbase_url = \"https://feeds.example.org/\"\n\
         output_dir = \"public\"\nstore = \"data/octofeed.db\"\nhost_delay = \"0s\"\n{extra}\n"
    )
}

/// An html source reading [`listing`] pages, `extra` lines added to its table.
pub fn listing_source(id: &str, url: &str, extra: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nurl = \"{url}\"\n{extra}\n\
         [source.select]\nitem = \"li.news\"\ntitle = \"h3\"\nlink = \"h3 a\"\nsummary = \".summary\"\n"
    )
}

/// A small listing page: one `li.news` per `(title, href)`, undated, with a summary.
pub fn listing(entries: &[(&str, &str)]) -> String {
    let items: String = entries
        .iter()
        .map(|(title, href)| {
            format!(
                "<li class=\"news\"><h3><a href=\"{href}\">{title}</a></h3><p class=\"summary\">About {title}.</p></li>"
            )
        })
        .collect();
    format!("<!doctype html><html><head><title>News</title></head><body><ul>{items}</ul></body></html>")
}

/// The report of source `id`.
pub fn report<'r>(report: &'r RunReport, id: &str) -> &'r SourceReport {
    report.sources.iter().find(|source| source.id == id).unwrap_or_else(|| panic!("no report for {id}"))
}

/// The error of a source that must have failed.
pub fn failure(report: &RunReport, id: &str) -> String {
    let source = self::report(report, id);
    assert_eq!(source.status, Status::Failed, "{source:?}");
    source.error.clone().expect("a failed source has an error")
}
