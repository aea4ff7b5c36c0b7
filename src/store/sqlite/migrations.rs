//! SQLite engine: the schema, as an append-only list of migrations tracked by
//! `PRAGMA user_version`. It runs no query of its own beyond that; never edit
//! a migration that has shipped: add one.

use rusqlite::Connection;

/// Migration `n` (1-based) takes a database from version `n - 1` to `n`.
///
/// Times are RFC 3339 text in UTC with nine fractional digits (see
/// `columns::SqlTime`): fixed width, so text order is time order.
pub const MIGRATIONS: &[&str] = &[
    // 1: what each source was last fetched with, its health, and every item it ever gave.
    "CREATE TABLE sources (
        id                   TEXT PRIMARY KEY NOT NULL,
        etag                 TEXT,
        last_modified        TEXT,
        body_hash            TEXT,
        last_success         TEXT,
        last_error           TEXT,
        last_error_at        TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE items (
        id           INTEGER PRIMARY KEY,
        source_id    TEXT    NOT NULL REFERENCES sources (id),
        guid         TEXT    NOT NULL,
        link         TEXT    NOT NULL,
        title        TEXT    NOT NULL,
        summary      TEXT,
        content      TEXT,
        date         TEXT,             -- the date the page gives, if any
        date_text    TEXT,
        location     TEXT,
        authors      TEXT    NOT NULL, -- JSON array of strings
        categories   TEXT    NOT NULL, -- JSON array of strings
        image        TEXT,
        enclosures   TEXT    NOT NULL, -- JSON array of enclosures
        first_seen   TEXT    NOT NULL,
        updated      TEXT    NOT NULL,
        position     INTEGER NOT NULL, -- place on the page when first seen
        listing_hash TEXT    NOT NULL,
        -- coalesce(date, first_seen), written by the store: a generated column would
        -- keep SQLite from reading it from `items_newest` alone.
        published    TEXT    NOT NULL,
        UNIQUE (source_id, guid)
    );
    CREATE INDEX items_newest ON items (source_id, published DESC, position, guid);",
    // 2: publication bookkeeping. Every refresh that changes a source's items bumps
    // its `changes`; a feed records the `changes` of its sources when it is written.
    "ALTER TABLE sources ADD COLUMN changes INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE published (
        feed_id         TEXT PRIMARY KEY NOT NULL,
        fingerprint     TEXT NOT NULL,
        sources_changes TEXT NOT NULL -- JSON [[source id, changes], ...] at publication
    ) WITHOUT ROWID;",
    // 3: the revision time a feed source gives for an item (Atom <updated>), shown as its updated time.
    "ALTER TABLE items ADD COLUMN revised TEXT;",
    // 4: finds a stored item by its title, for items that moved to a new address.
    "CREATE INDEX items_by_title ON items (source_id, title);",
    // 5: the newsletter feed's dates, and no date in the future. `first_items_at` is
    // the source's first run that stored items; `announced` is when the newsletter
    // feed dates an item, fixed at insert: its page date for items of that first run,
    // else the time it was first seen. `published` (the order of the main feeds)
    // is never later than `first_seen`: an event announced ahead is dated when seen.
    "ALTER TABLE sources ADD COLUMN first_items_at TEXT;
    UPDATE sources SET first_items_at = (SELECT min(first_seen) FROM items WHERE items.source_id = sources.id);
    UPDATE items SET published = min(published, first_seen);
    ALTER TABLE items ADD COLUMN announced TEXT;
    UPDATE items SET announced = CASE
        WHEN first_seen <= (SELECT first_items_at FROM sources WHERE sources.id = items.source_id) THEN published
        ELSE first_seen END;
    CREATE INDEX items_announced ON items (source_id, announced DESC, position, guid);",
    // 6: webhook deliveries. A webhook's mark is the newest item id it has been
    // given (ids only grow: items are never deleted); a delivery is one item for
    // one webhook and feed, kept after success so it is never sent twice.
    "CREATE TABLE webhook_marks (
        webhook   TEXT    NOT NULL,
        feed_id   TEXT    NOT NULL,
        last_item INTEGER NOT NULL,
        PRIMARY KEY (webhook, feed_id)
    ) WITHOUT ROWID;
    CREATE TABLE deliveries (
        webhook      TEXT    NOT NULL,
        feed_id      TEXT    NOT NULL,
        guid         TEXT    NOT NULL,
        body         TEXT    NOT NULL, -- the JSON POSTed, fixed when queued
        queued       INTEGER NOT NULL, -- the item's id: the order of sending
        attempts     INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT    NOT NULL,
        delivered_at TEXT,
        last_error   TEXT,
        PRIMARY KEY (webhook, feed_id, guid)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_pending ON deliveries (webhook, delivered_at, queued);",
    // 7: what `select = "auto"` chose on the source's page last time, so a
    // different choice is a warning.
    "ALTER TABLE sources ADD COLUMN detected TEXT;",
];

/// The schema version of `conn` (0 for a new database).
pub fn version(conn: &Connection) -> rusqlite::Result<usize> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    Ok(usize::try_from(version).unwrap_or(0))
}

/// Applies the migrations after the current version up to `target`, each in
/// its own transaction together with its new `user_version`.
pub fn migrate(conn: &mut Connection, target: usize) -> rusqlite::Result<()> {
    let current = version(conn)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().take(target).skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
