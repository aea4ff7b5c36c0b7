//! Shared by the history, failure, crash, concurrency and items tests: a
//! config over saved pages in a temp folder, the `octofeed` binary, and the
//! published files read back.

#![allow(dead_code, reason = "each test crate uses its own part of the kit")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use chrono::{DateTime, TimeZone, Utc};

/// The Octopus Activities selectors (fixtures/README.md).
pub const OCTOPUS_SELECT: &str = r#"[source.select]
item = ".portlet-asset-publisher div:has(> h3 a[href*='/-/'])"
title = "h3"
link = "a[href*='/-/']"
date = { css = "h3 + *", regex = '^(?:\p{L}+\s+)?(\d{1,2}(?:\s+\p{L}+)?(?:\s*[-–]\s*\d{1,2})?\s+\p{L}+\s+\d{4})' }
location = { css = "h3 + *", regex = '^(?:\p{L}+\s+)?\d{1,2}(?:\s+\p{L}+)?(?:\s*[-–]\s*\d{1,2})?\s+\p{L}+\s+\d{4}\s+(.+)$' }
summary = "h3 ~ :nth-last-child(2)"
"#;

pub const JUNE: &str = "coe/octopus-2022-06.html";
pub const DECEMBER: &str = "coe/octopus-2022-12.html";
pub const REDESIGNED: &str = "wild/redesigned.html";

/// A fixture's path in the repository.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// Copies a fixture over `<dir>/<page>`, the file a `file:` source reads.
pub fn serve_page(dir: &Path, page: &str, fixture_name: &str) {
    std::fs::copy(fixture(fixture_name), dir.join(page)).expect("a fixture copied");
}

/// One `[[source]]` reading `url` with the Octopus selectors, plus extra keys.
pub fn octopus_source(id: &str, url: &str, extra: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\ntitle = \"{id}\"\nurl = \"{url}\"\n\
         page_url = \"https://www.coe.int/en/web/cybercrime/octopus-project\"\n{extra}\n{OCTOPUS_SELECT}\n"
    )
}

/// Writes `<dir>/octofeed.toml`: a store and output folder in `dir`, no
/// robots.txt, no retries, no delay between requests, then `sources`.
pub fn write_config(dir: &Path, site_extra: &str, sources: &[String]) -> PathBuf {
    write_config_publishing_to(dir, &format!("output_dir = \"public\"\n{site_extra}"), sources)
}

/// [`write_config`] with `output_lines` (the output keys, then any other
/// `[site]` keys and tables) in place of the output folder.
pub fn write_config_publishing_to(dir: &Path, output_lines: &str, sources: &[String]) -> PathBuf {
    let text = format!(
        "[site]\ntitle = \"History test\"\nbase_url = \"http://localhost:8080/\"\n\
         store = \"data/octofeed.db\"\nretries = 0\nhost_delay = \"0s\"\n{output_lines}\n\n\
         [defaults]\nrobots = false\ntimezone = \"Europe/Paris\"\n\n{}",
        sources.join("\n")
    );
    let path = dir.join("octofeed.toml");
    std::fs::write(&path, text).expect("a config written");
    path
}

/// A fixed clock: 2023-01-`day` at `hour`:00 UTC.
pub fn clock(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 1, day, hour, 0, 0).single().expect("a valid time")
}

/// Runs the `octofeed` binary with `--now` set to `now`.
pub fn octofeed(config: &Path, now: DateTime<Utc>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_octofeed"));
    command.args(args).arg("-c").arg(config).arg("--now").arg(now.to_rfc3339());
    command.output().expect("octofeed ran")
}

/// `octofeed run --json`: the exit code and the report.
pub fn run_json(config: &Path, now: DateTime<Utc>) -> (i32, serde_json::Value) {
    let output = octofeed(config, now, &["run", "--json"]);
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!("no JSON report ({error}); stderr: {}", String::from_utf8_lossy(&output.stderr))
    });
    (output.status.code().expect("an exit code"), report)
}

/// The report of one source in a `run --json` report.
pub fn source_report<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    let sources = report["sources"].as_array().expect("a source list");
    sources.iter().find(|source| source["id"] == id).expect("the source's report")
}

/// A published file read back with feed-rs.
pub fn parse_feed(path: &Path) -> feed_rs::model::Feed {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    feed_rs::parser::parse(&bytes[..]).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// What a file is, to tell a rewrite from an untouched file: its bytes, its
/// mtime and its inode (an atomic rewrite always makes a new inode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub bytes: Vec<u8>,
    pub modified: SystemTime,
    pub inode: u64,
}

/// Every file under `folder`, by path relative to it.
pub fn files_under(folder: &Path) -> BTreeMap<PathBuf, FileState> {
    use std::os::unix::fs::MetadataExt;
    let mut files = BTreeMap::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("a readable folder") {
            let path = entry.expect("a folder entry").path();
            let metadata = std::fs::metadata(&path).expect("metadata");
            if metadata.is_dir() {
                pending.push(path);
            } else {
                let state = FileState {
                    bytes: std::fs::read(&path).expect("a readable file"),
                    modified: metadata.modified().expect("an mtime"),
                    inode: metadata.ino(),
                };
                files.insert(path.strip_prefix(folder).expect("inside the folder").to_path_buf(), state);
            }
        }
    }
    files
}

/// Every `<entry>…</entry>` of an Atom document, by its `<id>`.
pub fn atom_entries(atom: &str) -> BTreeMap<String, String> {
    atom.split("<entry>")
        .skip(1)
        .map(|rest| {
            let entry = rest.split("</entry>").next().expect("a closed entry");
            let id = entry.split("<id>").nth(1).and_then(|tail| tail.split("</id>").next()).expect("an entry id");
            (id.to_string(), entry.to_string())
        })
        .collect()
}

/// The environment variable that names a PostgreSQL database the tests may
/// make scratch schemas in (`.ci/run` starts one and sets it).
pub const POSTGRES_VAR: &str = "OCTOFEED_TEST_POSTGRES";

/// A new, empty store on one engine: a SQLite file in a temporary folder, or
/// a schema of its own in the test PostgreSQL (dropped with it).
pub struct Engine {
    pub name: &'static str,
    pub location: octofeed::store::Location,
    /// The folder the test may use (the SQLite file is in it).
    pub dir: tempfile::TempDir,
    schema: Option<PgSchema>,
}

impl Engine {
    /// The store opened for writing.
    pub fn open(&self) -> Box<dyn octofeed::store::Store> {
        let unusable = octofeed::store::Unusable::Refuse;
        octofeed::store::open(&self.location, std::time::Duration::ZERO, unusable)
            .unwrap_or_else(|error| panic!("{}: the store opens: {error}", self.name))
    }

    /// The store opened for reading only.
    pub fn read_only(&self) -> Box<dyn octofeed::store::Store> {
        octofeed::store::open_read_only(&self.location)
            .unwrap_or_else(|error| panic!("{}: the store opens: {error}", self.name))
    }

    /// `[site] store = "…"` for a config whose folder is `dir`.
    pub fn config_value(&self) -> String {
        match (&self.location, &self.schema) {
            (_, Some(schema)) => schema.url.clone(),
            (octofeed::store::Location::File(path), None) => path.display().to_string(),
            (octofeed::store::Location::Postgres(url), None) => url.clone(),
        }
    }
}

/// A scratch schema in the test PostgreSQL; its URL sets `search_path` to it.
struct PgSchema {
    admin: String,
    name: String,
    url: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// SQLite always; PostgreSQL too when [`POSTGRES_VAR`] names a server. Without
/// it the PostgreSQL half is skipped with a message, or fails when
/// `OCTOFEED_REQUIRE_POSTGRES=1` (as in CI), so it never passes silently.
pub fn engines() -> Vec<Engine> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("data").join("octofeed.db");
    let mut engines =
        vec![Engine { name: "sqlite", location: octofeed::store::Location::File(path), dir, schema: None }];
    match std::env::var(POSTGRES_VAR) {
        Ok(admin) => engines.push(postgres_engine(&admin)),
        Err(_) if std::env::var_os("OCTOFEED_REQUIRE_POSTGRES").is_some_and(|value| value == "1") => {
            panic!("OCTOFEED_REQUIRE_POSTGRES=1 but {POSTGRES_VAR} names no PostgreSQL")
        }
        Err(_) => eprintln!("PostgreSQL half skipped: set {POSTGRES_VAR}=postgres://… to run it"),
    }
    engines
}

/// Only the PostgreSQL engine, when there is one (see [`engines`]).
pub fn postgres_engine_if_any() -> Option<Engine> {
    engines().into_iter().find(|engine| engine.name == "postgres")
}

fn postgres_engine(admin: &str) -> Engine {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |time| time.subsec_nanos());
    let name = format!("t{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut client = postgres::Client::connect(admin, postgres::NoTls)
        .unwrap_or_else(|error| panic!("{POSTGRES_VAR}={admin}: cannot connect: {error}"));
    client.batch_execute(&format!("CREATE SCHEMA {name}")).expect("a scratch schema");
    let separator = if admin.contains('?') { '&' } else { '?' };
    let url = format!("{admin}{separator}options=-csearch_path%3D{name}");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let location = octofeed::store::Location::Postgres(url.clone());
    Engine { name: "postgres", location, dir, schema: Some(PgSchema { admin: admin.to_owned(), name, url }) }
}

/// Runs `test` on each of [`engines`]; a failure names the engine it failed on.
pub fn each_engine(test: impl Fn(&Engine)) {
    struct NameOnPanic(&'static str);
    impl Drop for NameOnPanic {
        fn drop(&mut self) {
            if std::thread::panicking() {
                eprintln!("(failed on the {} store)", self.0);
            }
        }
    }
    for engine in engines() {
        let _name = NameOnPanic(engine.name);
        test(&engine);
    }
}
