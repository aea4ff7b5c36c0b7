//! History across runs: the older Octopus page, then the newer one. The feed
//! keeps the union with stable guids and dates, an undated item keeps its
//! first-seen time, `max_items` cuts the feed and not the store, and an edited
//! item gets a new `updated` time while unchanged entries keep their bytes.

mod store_kit;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use octofeed::store::Store;
use octofeed::store::sqlite::SqliteStore;
use store_kit::*;

const EDITED: &str = "https://www.coe.int/en/web/cybercrime/-/12-13-may-international-conference-and-opening-for-signature-of-the-2nd-additional-protocol-to-the-convention-on-cybercrime";
const UNDATED_TITLE: &str = "Octopus Project: call for experts on cybercrime and electronic evidence";
const DROPPED: [&str; 4] = [
    "Cybercrime@Octopus: final report of the 2014-2020 project published",
    "Octopus Conference 2019: key messages and presentations now online",
    "Cybercrime@Octopus: workshop on data protection and cybercrime in Latin America",
    "Cybercrime@Octopus: advisory mission to Tonga",
];

/// A folder with one `octopus` source reading `octopus.html`, first the June page.
fn octopus_site(extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    serve_page(dir.path(), "octopus.html", JUNE);
    let config = write_config(dir.path(), "", &[octopus_source("octopus", "file:octopus.html", extra)]);
    (dir, config)
}

/// guid → published, from every format of the `octopus` feed (they must agree).
fn published_by_guid(dir: &Path) -> Vec<(String, DateTime<Utc>)> {
    let folder = dir.join("public/octopus");
    let lists: Vec<Vec<(String, DateTime<Utc>)>> = ["atom.xml", "rss.xml", "feed.json"]
        .iter()
        .map(|file| {
            let feed = parse_feed(&folder.join(file));
            feed.entries.iter().map(|entry| (entry.id.clone(), entry.published.expect("a published date"))).collect()
        })
        .collect();
    assert_eq!(lists[0], lists[1], "atom and rss agree");
    assert_eq!(lists[0], lists[2], "atom and json agree");
    lists[0].clone()
}

#[test]
fn the_feed_keeps_the_union_of_both_snapshots_with_stable_guids_and_dates() {
    let (dir, config) = octopus_site("max_items = 100");
    let (code, report) = run_json(&config, clock(1, 8));
    assert_eq!(code, 0, "{report}");
    assert_eq!(source_report(&report, "octopus")["items_new"], 18);
    let june = published_by_guid(dir.path());
    assert_eq!(june.len(), 18);

    serve_page(dir.path(), "octopus.html", DECEMBER);
    let (code, report) = run_json(&config, clock(2, 8));
    assert_eq!(code, 0, "{report}");
    let december = source_report(&report, "octopus");
    assert_eq!((december["items_seen"].as_u64(), december["items_new"].as_u64()), (Some(22), Some(8)));
    let union = published_by_guid(dir.path());
    assert_eq!(union.len(), 26, "18 from June + 8 new in December");
    let guids: HashSet<&str> = union.iter().map(|(guid, _)| guid.as_str()).collect();
    assert_eq!(guids.len(), 26, "each item once");
    assert!(union.windows(2).all(|pair| pair[0].1 >= pair[1].1), "newest first: {union:?}");
    let now: BTreeMap<&String, &DateTime<Utc>> = union.iter().map(|(guid, date)| (guid, date)).collect();
    for (guid, published) in &june {
        assert_eq!(now.get(guid), Some(&published), "{guid} kept its guid and date");
    }
    let titles: Vec<String> = parse_feed(&dir.path().join("public/octopus/atom.xml"))
        .entries
        .into_iter()
        .map(|entry| entry.title.expect("a title").content)
        .collect();
    for dropped in DROPPED {
        assert!(titles.iter().any(|title| title == dropped), "{dropped} left the page but stays in the feed");
    }
}

#[test]
fn an_undated_item_keeps_its_first_seen_time_forever() {
    let (dir, config) = octopus_site("");
    let pages = [(JUNE, clock(1, 8)), (DECEMBER, clock(2, 9)), (JUNE, clock(3, 10))];
    for (page, now) in pages {
        serve_page(dir.path(), "octopus.html", page);
        let (code, report) = run_json(&config, now);
        assert_eq!((code, source_report(&report, "octopus")["status"].as_str()), (0, Some("ok")), "{report}");
        let feed = parse_feed(&dir.path().join("public/octopus/atom.xml"));
        let undated: Vec<_> = feed
            .entries
            .iter()
            .filter(|entry| entry.title.as_ref().is_some_and(|title| title.content == UNDATED_TITLE))
            .collect();
        assert_eq!(undated.len(), 1);
        assert_eq!(undated[0].published, Some(clock(1, 8)), "run at {now}");
    }
    let listed = octofeed(&config, clock(4, 0), &["items", "octopus", "--limit", "100", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).expect("items as JSON");
    let row = rows.iter().find(|row| row["title"] == UNDATED_TITLE).expect("the undated item is stored");
    // `published` is written in the source's zone (Europe/Paris), the store's own times in UTC.
    assert_eq!(
        (row["first_seen"].as_str(), row["published"].as_str()),
        (Some("2023-01-01T08:00:00Z"), Some("2023-01-01T09:00:00+01:00"))
    );
}

#[test]
fn max_items_cuts_the_published_feed_never_the_store() {
    let (dir, config) = octopus_site("max_items = 10");
    run_json(&config, clock(1, 8));
    serve_page(dir.path(), "octopus.html", DECEMBER);
    let (code, _) = run_json(&config, clock(2, 8));
    assert_eq!(code, 0);
    for file in ["atom.xml", "rss.xml", "feed.json"] {
        assert_eq!(parse_feed(&dir.path().join("public/octopus").join(file)).entries.len(), 10, "{file}");
    }
    let listed = octofeed(&config, clock(3, 0), &["items", "octopus", "--limit", "1000", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).expect("items as JSON");
    assert_eq!(rows.len(), 26, "the store keeps every item ever seen");
    let stored = SqliteStore::open_read_only(&dir.path().join("data/octofeed.db")).expect("the store");
    assert_eq!(stored.items("octopus", None).expect("items").len(), 26);
    assert_eq!(stored.health("octopus").expect("health").item_count, 26);
}

#[test]
fn an_edited_item_gets_a_new_updated_time_and_unchanged_entries_keep_their_bytes() {
    let (dir, config) = octopus_site("");
    run_json(&config, clock(1, 8));
    let atom_before = std::fs::read_to_string(dir.path().join("public/octopus/atom.xml")).expect("atom");
    serve_page(dir.path(), "octopus.html", DECEMBER);
    let (_, report) = run_json(&config, clock(2, 8));
    assert_eq!(source_report(&report, "octopus")["items_updated"], 1);

    let atom = parse_feed(&dir.path().join("public/octopus/atom.xml"));
    let edited = atom.entries.iter().find(|entry| entry.id == EDITED).expect("the edited item");
    assert_eq!(edited.updated, Some(clock(2, 8)), "Atom <updated> moved to the second run");
    assert_eq!(
        edited.published.map(|date| date.date_naive().to_string()),
        Some("2022-05-05".to_string()),
        "the page's day"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("public/octopus/feed.json")).expect("feed.json"))
            .expect("JSON");
    let items = json["items"].as_array().expect("items");
    let edited_json = items.iter().find(|item| item["id"] == EDITED).expect("the edited item");
    assert_eq!(edited_json["date_modified"], "2023-01-02T09:00:00+01:00", "08:00 UTC, written in the source's zone");

    let atom_after = std::fs::read_to_string(dir.path().join("public/octopus/atom.xml")).expect("atom");
    let (before, after) = (atom_entries(&atom_before), atom_entries(&atom_after));
    let unchanged: Vec<&String> = before.keys().filter(|guid| *guid != EDITED).collect();
    assert_eq!(unchanged.len(), 17);
    for guid in unchanged {
        assert_eq!(before[guid], after[guid], "{guid}: an unchanged entry keeps its bytes");
    }
    assert_ne!(before[EDITED], after[EDITED]);
}
