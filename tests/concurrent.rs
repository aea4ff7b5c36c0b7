//! Two runs on one store: the second waits `lock_timeout`, then exits 1 with
//! "another run is using the store", having fetched and written nothing.

mod store_kit;

use std::time::Duration;

use octofeed::store::Store;
use octofeed::store::sqlite::SqliteStore;
use store_kit::*;

#[test]
fn a_second_run_waits_then_gives_up_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("a temp dir");
    serve_page(dir.path(), "octopus.html", JUNE);
    let sources = [octopus_source("octopus", "file:octopus.html", "")];
    let config = write_config(dir.path(), "lock_timeout = \"1s\"", &sources);
    let db = dir.path().join("data/octofeed.db");

    // This test process is "the first run": it holds the store while the binary starts.
    let first = SqliteStore::open(&db, Duration::from_secs(1)).expect("the store");
    let output = octofeed(&config, clock(1, 8), &["run"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("another run is using the store"), "{stderr}");
    assert!(stderr.contains("waited 1s"), "{stderr}");
    assert!(!dir.path().join("public").exists(), "nothing was published");
    assert_eq!(first.items("octopus", None).expect("items").len(), 0, "nothing was stored");
    drop(first);

    let (code, report) = run_json(&config, clock(1, 9));
    assert_eq!(code, 0, "once the store is free, a run goes through: {report}");
    assert_eq!(source_report(&report, "octopus")["items_new"], 18);
}

#[test]
fn a_reader_does_not_block_a_run_and_sees_only_committed_items() {
    let dir = tempfile::tempdir().expect("a temp dir");
    serve_page(dir.path(), "octopus.html", JUNE);
    let config =
        write_config(dir.path(), "lock_timeout = \"1s\"", &[octopus_source("octopus", "file:octopus.html", "")]);
    run_json(&config, clock(1, 8));
    let reader = SqliteStore::open_read_only(&dir.path().join("data/octofeed.db")).expect("a reader");
    let before = reader.items("octopus", None).expect("items").len();
    serve_page(dir.path(), "octopus.html", DECEMBER);
    let (code, _) = run_json(&config, clock(2, 8));
    assert_eq!((before, code), (18, 0));
    assert_eq!(reader.items("octopus", None).expect("items").len(), 26);
}
