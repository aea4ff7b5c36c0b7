//! Shared helpers for the integration tests: fixture paths, the offline config
//! rewritten into a temporary folder, one source's extraction, and a fixed clock.
//!
//! Test support only: nothing here touches the network.

#![allow(dead_code, reason = "each test binary uses a different subset of these helpers")]

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use octofeed::config::{Config, SourceKind};
use octofeed::extract::extract_listing;
use octofeed::fetch::decode_html;
use octofeed::normalize::{Normalized, normalize};

/// The repository root.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The clock every pipeline test runs with.
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 15, 12, 0, 0).single().expect("a valid fixed time")
}

/// The absolute path of a file under `fixtures/`.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(ROOT).join("fixtures").join(name)
}

/// A fixture's bytes.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|error| panic!("cannot read fixture {name}: {error}"))
}

/// A fixture decoded as a browser would (its `<meta>` charset, else UTF-8).
pub fn fixture_text(name: &str) -> String {
    decode_html(&fixture_bytes(name), None).into_owned()
}

/// `config/offline.toml` as shipped.
pub fn offline_config() -> Config {
    let path = Path::new(ROOT).join("config/offline.toml");
    Config::load(&path).unwrap_or_else(|errors| panic!("config/offline.toml is invalid: {errors}"))
}

/// The text of `config/offline.toml` with its output and store inside `dir` and its
/// `file:` sources pointing at the fixtures by absolute `file:///` URLs.
pub fn offline_config_text(dir: &Path) -> String {
    let text = std::fs::read_to_string(Path::new(ROOT).join("config/offline.toml")).expect("config/offline.toml");
    let fixtures = url::Url::from_directory_path(Path::new(ROOT).join("fixtures")).expect("absolute fixtures folder");
    text.replace("\"../public-offline\"", &format!("{:?}", dir.join("public")))
        .replace("\"../data/offline.db\"", &format!("{:?}", dir.join("data/offline.db")))
        .replace("file:../fixtures/", fixtures.as_str())
}

/// Writes the rewritten offline config into `dir` and loads it from there.
pub fn offline_config_in(dir: &Path) -> (PathBuf, Config) {
    let path = dir.join("octofeed.toml");
    std::fs::write(&path, offline_config_text(dir)).expect("write the config");
    let config = Config::load(&path).unwrap_or_else(|errors| panic!("rewritten offline config is invalid: {errors}"));
    (path, config)
}

/// Parses a config written in a test, as if it were `/tests/octofeed.toml`.
pub fn parse_config(text: &str) -> Config {
    Config::parse(Path::new("/tests/octofeed.toml"), text)
        .unwrap_or_else(|errors| panic!("invalid test config: {errors}"))
}

/// Runs source `id`'s selectors over `html`, read as its page URL, and normalizes the result.
/// Returns the raw item count too.
pub fn extract_source(config: &Config, id: &str, html: &str) -> (usize, Normalized) {
    let source = config.source(id).unwrap_or_else(|| panic!("no source {id}"));
    let SourceKind::Html(rules) = &source.kind else { panic!("{id} is not an html source") };
    let listing = extract_listing(html, source.home_page(), &rules.select, None, source.max_items_per_page)
        .expect("items on the page");
    let raw = listing.items.len();
    (raw, normalize(&listing.items, &source.id, source.home_page(), source.timezone))
}

/// Every file under `dir`, as paths relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).expect("readable folder") {
            let path = entry.expect("folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path.strip_prefix(dir).expect("inside dir").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The absolute `file:///` URL of a fixture.
pub fn fixture_url(name: &str) -> url::Url {
    url::Url::from_file_path(fixture_path(name)).expect("absolute fixture path")
}

/// One whole run (fetch, extract, store, publish) over `config` with the fixed clock.
pub async fn run_once(config: &Config) -> octofeed::run::RunReport {
    let options = octofeed::run::RunOptions { only: vec![], now: fixed_now() };
    octofeed::run::run(config, &options, |_| {}).await.expect("the run completes")
}

/// The config for the edge-cases page, read from its fixture, publishing into `dir`.
pub fn edge_cases_config(dir: &Path) -> Config {
    let text = format!(
        r#"
[site]
title = "Edge cases"
base_url = "https://feeds.example.org/"
output_dir = "public"
store = "data/octofeed.db"

[[source]]
id = "edge"
url = "{url}"
page_url = "https://news.example.org/cybercrime/"
timezone = "Europe/Paris"

[source.select]
item = "ul.news > li.news-item"
title = "h3"
link = "h3 a"
date = ".date"
summary = ".summary"
"#,
        url = fixture_url("wild/edge-cases.html")
    );
    Config::parse(&dir.join("octofeed.toml"), &text).unwrap_or_else(|errors| panic!("invalid edge config: {errors}"))
}

/// A published feed file parsed back with feed-rs.
pub fn parse_feed(path: &Path) -> feed_rs::model::Feed {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    feed_rs::parser::parse(bytes.as_slice())
        .unwrap_or_else(|error| panic!("feed-rs cannot parse {}: {error}", path.display()))
}
