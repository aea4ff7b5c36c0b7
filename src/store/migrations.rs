//! Store: the schema, as an append-only list of migrations tracked by
//! `PRAGMA user_version`. Never edit a migration that has shipped: add one.

use rusqlite::{Connection, Transaction};

use super::StoreError;

/// Migration `n` (1-based) takes a database from version `n - 1` to `n`.
pub const MIGRATIONS: &[&str] = &[
    // 1: every item ever seen, per source. The whole item is kept as JSON; the
    // columns beside it are what queries sort and compare on.
    "CREATE TABLE items (
        source_id     TEXT    NOT NULL,
        guid          TEXT    NOT NULL,
        item_json     TEXT    NOT NULL,
        first_seen_ms INTEGER NOT NULL,
        updated_ms    INTEGER NOT NULL,
        sort_ms       INTEGER NOT NULL, -- the item's date, else first_seen_ms
        position      INTEGER NOT NULL, -- place on the page when first seen
        listing_hash  TEXT    NOT NULL,
        PRIMARY KEY (source_id, guid)
    ) WITHOUT ROWID;
    CREATE INDEX items_newest ON items (source_id, sort_ms DESC, position, guid);",
    // 2: per-source fetch state and health, and what each feed was last published from.
    "CREATE TABLE sources (
        id                   TEXT PRIMARY KEY NOT NULL,
        etag                 TEXT,
        last_modified        TEXT,
        body_hash            TEXT,
        last_success_ms      INTEGER,
        last_error           TEXT,
        last_error_ms        INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        item_count           INTEGER NOT NULL DEFAULT 0,
        changes              INTEGER NOT NULL DEFAULT 0 -- bumped by every refresh that changed items
    ) WITHOUT ROWID;
    CREATE TABLE published (
        feed_id     TEXT PRIMARY KEY NOT NULL,
        fingerprint TEXT NOT NULL,
        changes     TEXT NOT NULL -- the `changes` of its sources when it was written
    ) WITHOUT ROWID;",
];

/// Brings `conn` to the newest version, one transaction per migration.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_to(conn, MIGRATIONS.len())
}

/// Brings `conn` to version `target` (tests start from every earlier version).
pub fn migrate_to(conn: &mut Connection, target: usize) -> Result<(), StoreError> {
    let current = version(conn)?;
    if current > MIGRATIONS.len() {
        return Err(StoreError::TooNew { found: current, known: MIGRATIONS.len() });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().take(target).skip(current) {
        let tx = conn.transaction()?;
        apply(&tx, sql, index + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn apply(tx: &Transaction, sql: &str, version: usize) -> Result<(), StoreError> {
    tx.execute_batch(sql)?;
    tx.pragma_update(None, "user_version", version as i64)?;
    Ok(())
}

/// The schema version of `conn`.
pub fn version(conn: &Connection) -> Result<usize, StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    Ok(usize::try_from(version).unwrap_or(0))
}
