//! Feed ingestion (`kind = "feed"`): the corpus of fixtures/feeds/ and the
//! fields each format gives.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use octofeed::ingest::{Ingested, ingest};
use octofeed::model::Item;
use serde::Deserialize;
use url::Url;

#[derive(Debug, Deserialize)]
struct Case {
    file: String,
    url: String,
    readable: bool,
    items: usize,
    note: String,
}

fn feeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/feeds")
}

fn manifest() -> Vec<Case> {
    let text = std::fs::read_to_string(feeds_dir().join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest.json is valid")
}

/// Ingests a corpus file as if fetched from `https://wild.example.net/<name>/feed`.
fn read(file: &str) -> Ingested {
    let case = manifest().into_iter().find(|case| case.file == file).expect("file in manifest");
    let bytes = std::fs::read(feeds_dir().join(file)).expect("fixture");
    ingest(&bytes, &Url::parse(&case.url).unwrap(), "wild").unwrap_or_else(|error| panic!("{file}: {error}"))
}

fn only(file: &str) -> Item {
    let mut items = read(file).items;
    assert_eq!(items.len(), 1, "{file}");
    items.remove(0)
}

fn titles(file: &str) -> Vec<String> {
    read(file).items.into_iter().map(|item| item.title).collect()
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Checks one corpus file against its manifest line; returns what is wrong.
fn check(case: &Case) -> Option<String> {
    let bytes = std::fs::read(feeds_dir().join(&case.file)).expect("fixture");
    let url = Url::parse(&case.url).unwrap();
    match (ingest(&bytes, &url, "wild"), case.readable) {
        (Ok(out), true) => {
            if out.items.len() != case.items {
                return Some(format!("{} items, expected {}", out.items.len(), case.items));
            }
            out.items.iter().find_map(|item| bad_item(item).map(|why| format!("\"{}\": {why}", item.title)))
        }
        (Ok(out), false) => Some(format!("read ({} items) but expected to fail", out.items.len())),
        (Err(error), true) => Some(format!("failed: {error}")),
        (Err(error), false) => {
            let message = error.to_string();
            let names_url = message.starts_with(&case.url) && error.url == url;
            let names_problem = !error.reason.trim().is_empty();
            (!(names_url && names_problem)).then(|| format!("unclear error: {message}"))
        }
    }
}

fn bad_item(item: &Item) -> Option<&'static str> {
    let absolute = |link: &str| Url::parse(link).is_ok_and(|url| matches!(url.scheme(), "http" | "https"));
    if item.title.trim().is_empty() || item.title != item.title.trim() {
        Some("title empty or untrimmed")
    } else if !absolute(&item.link) {
        Some("link not absolute")
    } else if item.guid.is_empty() {
        Some("no guid")
    } else if item.enclosures.iter().any(|enclosure| !absolute(&enclosure.url))
        || item.image.as_deref().is_some_and(|image| !absolute(image))
    {
        Some("enclosure or image not absolute")
    } else if item.content.as_deref().is_some_and(|html| html.contains("<script") || html.contains("javascript:")) {
        Some("content not sanitized")
    } else {
        None
    }
}

#[test]
fn every_corpus_feed_is_read_or_refused_as_the_manifest_says() {
    let cases = manifest();
    assert!(cases.len() >= 100, "the corpus holds {} feeds", cases.len());
    let on_disk = walk(&feeds_dir());
    assert_eq!(on_disk.len(), cases.len(), "every fixture is in manifest.json and every manifest line has a file");
    let problems: Vec<String> = cases
        .iter()
        .filter_map(|case| check(case).map(|problem| format!("{} ({}): {problem}", case.file, case.note)))
        .collect();
    assert!(problems.is_empty(), "{} of {} feeds:\n{}", problems.len(), cases.len(), problems.join("\n"));
    let refused = cases.iter().filter(|case| !case.readable).count();
    assert!(refused >= 15, "the corpus has {refused} unreadable feeds");
}

/// Corpus files: everything under the folder but the generator and the manifest.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if !matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("generate.py" | "manifest.json" | "README.md")
        ) {
            files.push(path);
        }
    }
    files
}
