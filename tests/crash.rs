//! Crash safety: `octofeed run` killed (SIGKILL) at random points, over and
//! over. After every kill the store opens, passes `PRAGMA integrity_check`,
//! has lost no committed item, and every published file is a complete feed.

mod store_kit;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use octofeed::store::sqlite::SqliteStore;
use store_kit::*;

const SOURCES: [&str; 4] = ["alpha", "beta", "gamma", "delta"];
const RUNS: u64 = 36;
const MAX_DELAY_MS: u64 = 150;

/// xorshift64: a fixed seed gives the same kill points on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn write_site(dir: &Path) -> std::path::PathBuf {
    let mut sources: Vec<String> =
        SOURCES.iter().map(|id| octopus_source(id, &format!("file:{id}.html"), "")).collect();
    sources.push(
        "[[channel]]\nid = \"all\"\ntitle = \"All\"\nsources = [\"alpha\", \"beta\", \"gamma\", \"delta\"]\n".into(),
    );
    write_config(dir, "lock_timeout = \"5s\"", &sources)
}

/// Every run has work: each page flips between the two snapshots.
fn flip_pages(dir: &Path, run: u64) {
    for (index, id) in SOURCES.iter().enumerate() {
        let page = if (run + index as u64).is_multiple_of(2) { JUNE } else { DECEMBER };
        serve_page(dir, &format!("{id}.html"), page);
    }
}

/// The store's (source, guid) pairs, after checking that it opens and is intact.
fn check_store(db: &Path) -> BTreeSet<(String, String)> {
    let store = SqliteStore::open(db, Duration::from_secs(5)).expect("the store opens after a kill");
    drop(store);
    let conn = rusqlite::Connection::open(db).expect("sqlite opens the store");
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).expect("a check");
    assert_eq!(integrity, "ok");
    let mut statement = conn.prepare("SELECT source_id, guid FROM items").expect("a query");
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).expect("rows");
    rows.collect::<Result<_, _>>().expect("readable rows")
}

/// Every published file is whole: feeds parse, the index and the OPML are closed.
/// Returns how many published files there are.
fn check_published(public: &Path) -> usize {
    if !public.exists() {
        return 0;
    }
    let mut count = 0;
    for (relative, state) in files_under(public) {
        let name = relative.file_name().and_then(|name| name.to_str()).expect("a file name");
        if name.starts_with(".octofeed-") {
            eprintln!("left behind by a killed write: {}", relative.display());
            continue; // never a published name
        }
        count += 1;
        let text = String::from_utf8(state.bytes).expect("UTF-8");
        match name {
            "index.html" => assert!(text.ends_with("</html>\n"), "{} is cut short", relative.display()),
            "feeds.opml" => assert!(text.trim_end().ends_with("</opml>"), "{} is cut short", relative.display()),
            _ => {
                feed_rs::parser::parse(text.as_bytes())
                    .unwrap_or_else(|error| panic!("{} is not a whole feed: {error}", relative.display()));
            }
        }
    }
    count
}

#[test]
fn killed_runs_never_corrupt_the_store_or_the_published_files() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = write_site(dir.path());
    let db = dir.path().join("data/octofeed.db");
    let mut rng = Rng(0x5eed_0c70_feed_2022);
    let mut committed = BTreeSet::new();
    let mut killed_mid_run = 0;
    for run in 0..RUNS {
        flip_pages(dir.path(), run);
        let now = clock(1, 0) + chrono::Duration::hours(run as i64);
        let mut child = Command::new(env!("CARGO_BIN_EXE_octofeed"))
            .args(["run", "-c"])
            .arg(&config)
            .args(["--now", &now.to_rfc3339()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("octofeed started");
        std::thread::sleep(Duration::from_millis(rng.next() % (MAX_DELAY_MS + 1)));
        if child.try_wait().expect("a status").is_none() {
            killed_mid_run += 1;
        }
        let _ = child.kill(); // SIGKILL; an error only means it had already exited
        child.wait().expect("the child reaped");

        let now_stored = if db.exists() { check_store(&db) } else { BTreeSet::new() };
        let lost: Vec<_> = committed.difference(&now_stored).collect();
        assert!(lost.is_empty(), "run {run}: committed items lost: {lost:?}");
        committed = now_stored;
        check_published(&dir.path().join("public"));
    }
    eprintln!("{killed_mid_run} of {RUNS} runs killed mid-way");
    assert!(killed_mid_run >= RUNS / 4, "runs were killed mid-way ({killed_mid_run} of {RUNS})");

    // Two whole runs, one per snapshot, whatever the kills let through before.
    for run in [RUNS, RUNS + 1] {
        flip_pages(dir.path(), run);
        let (code, report) = run_json(&config, clock(3, run as u32 % 24));
        assert_eq!(code, 0, "{report}");
    }
    assert_eq!(check_store(&db).len(), 4 * 26, "every source has the union of both snapshots");
    assert_eq!(check_published(&dir.path().join("public")), 5 * 4 + 2, "five feeds, the index and the OPML");
}
