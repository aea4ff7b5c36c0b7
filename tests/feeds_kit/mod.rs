//! Helpers shared by integration tests: a config in a temporary folder, the
//! `octofeed` binary run over it, and small feeds written on the fly.
#![allow(dead_code, reason = "each test crate uses a different part of these helpers")]

use std::path::PathBuf;
use std::process::{Command, Output};

use tempfile::TempDir;

/// The `[site]` table of every test config: no delays, no retries, robots off.
pub const SITE: &str = r#"
[site]
title = "Aggregator test"
base_url = "https://feeds.example.org/"
output_dir = "public"
store = "data/octofeed.db"
host_delay = "0ms"
retries = 0

[defaults]
robots = false
"#;

/// A folder holding one config, its store and its output.
pub struct Workspace {
    pub dir: TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace { dir: TempDir::new().expect("a temporary folder") }
    }

    /// Writes `octofeed.toml`: [`SITE`] followed by `body`.
    pub fn config(&self, body: &str) -> PathBuf {
        let path = self.config_path();
        std::fs::write(&path, format!("{SITE}\n{body}")).expect("config written");
        path
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("octofeed.toml")
    }

    /// `octofeed ARGS -c octofeed.toml --now NOW`.
    pub fn octofeed(&self, args: &[&str], now: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_octofeed"))
            .args(args)
            .arg("-c")
            .arg(self.config_path())
            .args(["--now", now])
            .output()
            .expect("octofeed runs")
    }

    /// `octofeed run` at `now`; returns the exit code, stdout and stderr.
    pub fn run(&self, now: &str) -> (i32, String, String) {
        let output = self.octofeed(&["run"], now);
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
    }

    /// A published file, relative to the output folder.
    pub fn published(&self, file: &str) -> String {
        let path = self.dir.path().join("public").join(file);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }
}

/// One entry of a test feed.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub title: &'a str,
    pub link: &'a str,
    /// RFC 3339.
    pub date: &'a str,
    pub summary: &'a str,
}

/// An RSS 2.0 document with these entries.
pub fn rss(title: &str, entries: &[Entry]) -> String {
    let items: String = entries
        .iter()
        .map(|entry| {
            let date = chrono::DateTime::parse_from_rfc3339(entry.date).expect("RFC 3339 date").to_rfc2822();
            format!(
                "<item><title>{}</title><link>{}</link><guid>{}</guid><pubDate>{date}</pubDate><description>{}</description></item>\n",
                escape(entry.title),
                escape(entry.link),
                escape(entry.link),
                escape(entry.summary)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>{}</title><link>https://example.org/</link>\
         <description>test</description>\n{items}</channel></rss>\n",
        escape(title)
    )
}

/// An Atom 1.0 document with these entries.
pub fn atom(title: &str, entries: &[Entry]) -> String {
    let items: String = entries
        .iter()
        .map(|entry| {
            format!(
                "<entry><title>{}</title><id>{}</id><link href=\"{}\"/><updated>{}</updated><summary>{}</summary></entry>\n",
                escape(entry.title),
                escape(entry.link),
                escape(entry.link),
                entry.date,
                escape(entry.summary)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{}</title><id>urn:test</id>\
         <updated>2022-12-01T00:00:00Z</updated>\n{items}</feed>\n",
        escape(title)
    )
}

/// A JSON Feed 1.1 document with these entries.
pub fn json_feed(title: &str, entries: &[Entry]) -> String {
    let items: Vec<serde_json::Value> = entries
        .iter()
        .map(|entry| {
            serde_json::json!({"id": entry.link, "url": entry.link, "title": entry.title, "summary": entry.summary,
                "date_published": entry.date, "content_html": format!("<p>{}</p>", escape(entry.summary))})
        })
        .collect();
    serde_json::json!({"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}).to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
