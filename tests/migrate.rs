//! `octofeed migrate`: a SQLite store written by real runs is copied into
//! PostgreSQL with every item, guid, date, health record and publication
//! record; a later run on PostgreSQL goes on where SQLite stopped (nothing new
//! twice, ids after the copied ones), and a second copy into the same database
//! is refused without touching it. Needs the test PostgreSQL (`store_kit::engines`).

mod store_kit;

use std::path::Path;

use octofeed::store::Store;
use octofeed::store::sqlite::SqliteStore;
use store_kit::*;

fn migrate(from: &Path, to: &str) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_octofeed"));
    command.args(["migrate", "--from"]).arg(from).args(["--to", to]).output().expect("octofeed ran")
}

/// Everything a source's feeds and health are made of, to compare two stores.
fn contents(store: &dyn Store, source: &str) -> String {
    let items = store.items(source, None).expect("items");
    format!(
        "{items:#?}\n{:?}\n{:?}\n{:?}",
        store.health(source).expect("health"),
        store.fetch_state(source).expect("fetch state"),
        store.newest_item_id(&[source]).expect("an id"),
    )
}

#[test]
fn a_sqlite_store_is_copied_whole_and_runs_go_on_on_postgres() {
    let Some(engine) = postgres_engine_if_any() else { return };
    let dir = engine.dir.path();
    serve_page(dir, "octopus.html", JUNE);
    let sources = [octopus_source("octopus", "file:octopus.html", ""), octopus_source("gone", "file:missing.html", "")];
    let config = write_config(dir, "", &sources);
    assert_eq!(run_json(&config, clock(1, 8)).0, 1, "gone fails: its health has an error to copy");
    serve_page(dir, "octopus.html", DECEMBER);
    assert_eq!(run_json(&config, clock(2, 8)).0, 1);
    let db = dir.join("data/octofeed.db");

    let output = migrate(&db, &engine.config_value());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let sqlite = SqliteStore::open_read_only(&db).expect("the SQLite store");
    let items = sqlite.items("octopus", None).expect("items").len();
    let counted = stdout.lines().find_map(|line| line.strip_prefix("items")).map(|rest| rest.split_whitespace().next());
    assert_eq!(counted, Some(Some(items.to_string().as_str())), "{stdout}");
    assert!(stdout.contains("counts verified") && !stdout.contains(":octofeed@"), "{stdout}");
    let postgres = engine.read_only();
    for source in ["octopus", "gone"] {
        assert_eq!(contents(&*postgres, source), contents(&sqlite, source), "{source}");
    }
    assert_eq!(postgres.health("gone").expect("health").consecutive_failures, 2);

    let again = migrate(&db, &engine.config_value());
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"), "{again:?}");
    assert_eq!(contents(&*postgres, "octopus"), contents(&sqlite, "octopus"), "a refused copy changes nothing");

    let on_sqlite = dir.join("sqlite.toml");
    std::fs::copy(&config, &on_sqlite).expect("the SQLite config kept");
    let on_postgres = write_config(dir, &format!("store = \"{}\"", engine.config_value()), &sources);
    let text = std::fs::read_to_string(&on_postgres).expect("the config");
    std::fs::write(&on_postgres, text.replacen("store = \"data/octofeed.db\"\n", "", 1)).expect("one store key");
    let items_of = |config: &Path| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_octofeed"));
        let output = command.args(["items", "octopus", "--json", "--limit", "100", "-c"]).arg(config).output();
        let output = output.expect("octofeed ran");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    assert_eq!(items_of(&on_postgres), items_of(&on_sqlite), "`octofeed items` reads both stores alike");
    let newest_before = postgres.newest_item_id(&["octopus"]).expect("an id");
    let (_, report) = run_json(&on_postgres, clock(3, 8));
    assert_eq!(source_report(&report, "octopus")["status"], "unchanged", "{report}");
    std::fs::copy(fixture(JUNE), dir.join("octopus.html")).expect("June again");
    let (_, report) = run_json(&on_postgres, clock(4, 8));
    assert_eq!(source_report(&report, "octopus")["items_new"], 0, "nothing comes back as new: {report}");
    assert_eq!(postgres.newest_item_id(&["octopus"]).expect("an id"), newest_before);
    assert_eq!(postgres.items("octopus", None).expect("items").len(), items);
}

#[test]
fn migrate_wants_a_postgres_url() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let output = migrate(&dir.path().join("octofeed.db"), "mysql://localhost/feeds");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--to must be a postgres:// URL"), "{output:?}");
}
