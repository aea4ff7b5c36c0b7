//! Publishing over whole runs of the offline config (fixtures read through
//! `file:///` URLs, a fixed clock): every file parsed back with feed-rs,
//! snapshots of three representative feeds, deterministic bytes, no rewrites
//! of unchanged output, atomic writes.
//!
//! No network: the mock-server runs are in tests/http.rs.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed};
use octofeed::config::Config;
use octofeed::run::Status;

use common::{extract_source, files_under, fixed_now, fixture_text, offline_config_in, parse_feed, run_once};

/// The files of each feed: its three formats and its newsletter feed (which, on a
/// first run, shows the same dates as the others).
const FORMATS: [&str; 4] = ["rss.xml", "atom.xml", "feed.json", "new.xml"];

/// What a reader takes from an entry: guid, title, link, published time.
type Seen = (String, String, String, DateTime<Utc>);

fn seen(entry: &Entry) -> Seen {
    let title = entry.title.as_ref().map(|title| title.content.clone()).unwrap_or_default();
    let link = entry.links.first().map(|link| link.href.clone()).unwrap_or_default();
    let published = entry.published.expect("every entry has a publication date");
    (entry.id.clone(), title, link, published)
}

fn seen_sorted(feed: &Feed) -> Vec<Seen> {
    let mut entries: Vec<Seen> = feed.entries.iter().map(seen).collect();
    entries.sort();
    entries
}

/// Every source's items as extraction gives them, in the form a reader sees them.
fn expected_by_source(config: &Config) -> BTreeMap<String, Vec<Seen>> {
    let fixture = |url: &url::Url| {
        let path = url.to_file_path().expect("a file: source");
        let name = path.strip_prefix(Path::new(common::ROOT).join("fixtures")).expect("under fixtures/");
        fixture_text(name.to_str().expect("utf-8 path"))
    };
    config
        .sources
        .iter()
        .map(|source| {
            let (_, found) = extract_source(config, &source.id, &fixture(&source.url));
            let mut entries: Vec<Seen> = found
                .items
                .into_iter()
                // No date lies in the future: an item dated after the run's clock is dated by it.
                .map(|item| {
                    (
                        item.guid,
                        item.title,
                        item.link,
                        item.published.map_or_else(fixed_now, |date| date.min(fixed_now())),
                    )
                })
                .collect();
            entries.sort();
            (source.id.clone(), entries)
        })
        .collect()
}

#[tokio::test]
async fn every_published_file_parses_back_with_what_extraction_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, config) = offline_config_in(dir.path());
    let report = run_once(&config).await;
    assert!(report.sources.iter().all(|source| source.status == Status::Ok), "{:?}", report.sources);
    let public = dir.path().join("public");
    let expected = expected_by_source(&config);
    for (id, entries) in &expected {
        assert!(!entries.is_empty(), "{id}");
        for format in FORMATS {
            let feed = parse_feed(&public.join(id).join(format));
            assert_eq!(&seen_sorted(&feed), entries, "{id}/{format}");
        }
    }
    let channel = &config.channels[0];
    let all: Vec<Seen> = channel.sources.iter().flat_map(|id| expected[id].clone()).collect();
    let rss = seen_sorted(&parse_feed(&public.join(&channel.id).join("rss.xml")));
    assert!(rss.len() > expected["octopus"].len() && rss.len() <= all.len(), "{} of {}", rss.len(), all.len());
    assert!(rss.iter().all(|entry| all.contains(entry)), "every channel entry comes from one of its sources");
    for format in ["atom.xml", "feed.json"] {
        assert_eq!(seen_sorted(&parse_feed(&public.join(&channel.id).join(format))), rss, "{}/{format}", channel.id);
    }
}

#[tokio::test]
async fn enclosures_survive_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, config) = offline_config_in(dir.path());
    run_once(&config).await;
    let folder = dir.path().join("public/octopus-resources");
    // feed-rs reads Atom rel="enclosure" links and JSON attachments as typed links, RSS enclosures as media.
    let media_of = |format: &str| -> usize {
        let feed = parse_feed(&folder.join(format));
        let typed_links = feed.entries.iter().flat_map(|entry| &entry.links).filter(|link| link.media_type.is_some());
        let media = feed.entries.iter().flat_map(|entry| &entry.media).flat_map(|media| &media.content);
        typed_links.count() + media.count()
    };
    assert_eq!(media_of("atom.xml"), 25, "Atom: one rel=enclosure link per file");
    assert_eq!(media_of("feed.json"), 25, "JSON Feed: one attachment per file");
    assert_eq!(media_of("rss.xml"), 14, "RSS: the first file of each of the 14 items");
}

#[tokio::test]
async fn snapshots_of_representative_feeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, config) = offline_config_in(dir.path());
    run_once(&config).await;
    for id in ["octopus", "octopus-resources", "coe-cybercrime"] {
        for format in FORMATS {
            let text = std::fs::read_to_string(dir.path().join("public").join(id).join(format)).expect("published");
            insta::assert_snapshot!(format!("{id}__{format}"), text);
        }
    }
}

fn read_all(public: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(public)
        .into_iter()
        .map(|name| (name.clone(), std::fs::read(public.join(name)).expect("read")))
        .collect()
}

#[tokio::test]
async fn two_runs_on_the_same_input_give_the_same_bytes() {
    let (first, second) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    for dir in [&first, &second] {
        let (_, config) = offline_config_in(dir.path());
        run_once(&config).await;
    }
    let (a, b) = (read_all(&first.path().join("public")), read_all(&second.path().join("public")));
    assert_eq!(a.len(), 10 * 4 + 2, "four files per feed, index.html and feeds.opml");
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{} differs between the runs", name.display());
    }
}

#[tokio::test]
async fn a_second_run_over_unchanged_input_rewrites_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, config) = offline_config_in(dir.path());
    let public = dir.path().join("public");
    let first = run_once(&config).await;
    assert_eq!(first.files_written, 10 * 4 + 2);
    let modified =
        |name: &PathBuf| std::fs::metadata(public.join(name)).and_then(|meta| meta.modified()).expect("mtime");
    let before: Vec<_> = files_under(&public).iter().map(|name| (name.clone(), modified(name))).collect();
    let bytes = read_all(&public);
    let second = run_once(&config).await;
    assert_eq!(second.files_written, 0);
    assert!(second.sources.iter().all(|source| source.status == Status::Unchanged), "{:?}", second.sources);
    let after: Vec<_> = files_under(&public).iter().map(|name| (name.clone(), modified(name))).collect();
    assert_eq!(before, after, "same files, same mtimes");
    assert!(read_all(&public) == bytes);
}

#[tokio::test]
async fn the_output_folder_holds_only_published_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, config) = offline_config_in(dir.path());
    run_once(&config).await;
    for name in files_under(&dir.path().join("public")) {
        let text = name.to_string_lossy();
        let file = name.file_name().and_then(|file| file.to_str()).unwrap_or_default();
        let known = ["index.html", "feeds.opml"].contains(&text.as_ref())
            || (name.components().count() == 2 && FORMATS.contains(&file));
        assert!(known, "unexpected file {text} (a temp file left behind?)");
    }
}

#[test]
fn a_changed_file_is_replaced_by_rename_not_rewritten_in_place() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("feed/rss.xml");
    assert!(octofeed::output::folder::write_file_if_changed(&path, b"first").expect("write"));
    let inode = std::fs::metadata(&path).expect("metadata").ino();
    assert!(!octofeed::output::folder::write_file_if_changed(&path, b"first").expect("write"), "same bytes: no write");
    assert_eq!(std::fs::metadata(&path).expect("metadata").ino(), inode);
    assert!(octofeed::output::folder::write_file_if_changed(&path, b"second").expect("write"));
    assert_ne!(std::fs::metadata(&path).expect("metadata").ino(), inode, "a new file renamed over the old one");
    assert_eq!(std::fs::read(&path).expect("read"), b"second");
    assert_eq!(files_under(dir.path()), [PathBuf::from("feed/rss.xml")], "no temp file left");
}
