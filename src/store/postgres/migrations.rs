//! PostgreSQL engine: the schema, as an append-only list of migrations tracked
//! in the `octofeed_schema` table. Never edit a migration that has shipped: add one.
//!
//! Migration 1 is the SQLite schema at its version 7, in PostgreSQL's words:
//! the same tables, columns and indexes, times as the same fixed-width text.
//! Text columns use the `C` collation, so `ORDER BY guid` and time text sort
//! byte by byte as in SQLite, whatever the database's locale.

/// Migration `n` (1-based) takes a database from version `n - 1` to `n`.
pub const MIGRATIONS: &[&str] = &[
    // 1: sources, items, publication bookkeeping and webhook deliveries.
    r#"CREATE TABLE sources (
        id                   TEXT COLLATE "C" PRIMARY KEY,
        etag                 TEXT,
        last_modified        TEXT,
        body_hash            TEXT,
        last_success         TEXT COLLATE "C",
        last_error           TEXT,
        last_error_at        TEXT COLLATE "C",
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        changes              BIGINT  NOT NULL DEFAULT 0,
        first_items_at       TEXT COLLATE "C",
        detected             TEXT
    );
    CREATE TABLE items (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source_id    TEXT COLLATE "C" NOT NULL REFERENCES sources (id),
        guid         TEXT COLLATE "C" NOT NULL,
        link         TEXT NOT NULL,
        title        TEXT COLLATE "C" NOT NULL,
        summary      TEXT,
        content      TEXT,
        date         TEXT COLLATE "C",
        date_text    TEXT COLLATE "C",
        location     TEXT,
        authors      TEXT NOT NULL,
        categories   TEXT NOT NULL,
        image        TEXT,
        enclosures   TEXT NOT NULL,
        first_seen   TEXT COLLATE "C" NOT NULL,
        updated      TEXT COLLATE "C" NOT NULL,
        position     BIGINT NOT NULL,
        listing_hash TEXT NOT NULL,
        published    TEXT COLLATE "C" NOT NULL,
        revised      TEXT COLLATE "C",
        announced    TEXT COLLATE "C",
        UNIQUE (source_id, guid)
    );
    CREATE INDEX items_newest ON items (source_id, published DESC, position, guid);
    CREATE INDEX items_by_title ON items (source_id, title);
    CREATE INDEX items_announced ON items (source_id, announced DESC, position, guid);
    CREATE TABLE published (
        feed_id         TEXT COLLATE "C" PRIMARY KEY,
        fingerprint     TEXT NOT NULL,
        sources_changes TEXT NOT NULL
    );
    CREATE TABLE webhook_marks (
        webhook   TEXT COLLATE "C" NOT NULL,
        feed_id   TEXT COLLATE "C" NOT NULL,
        last_item BIGINT NOT NULL,
        PRIMARY KEY (webhook, feed_id)
    );
    CREATE TABLE deliveries (
        webhook      TEXT COLLATE "C" NOT NULL,
        feed_id      TEXT COLLATE "C" NOT NULL,
        guid         TEXT COLLATE "C" NOT NULL,
        body         TEXT NOT NULL,
        queued       BIGINT NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT COLLATE "C" NOT NULL,
        delivered_at TEXT COLLATE "C",
        last_error   TEXT,
        PRIMARY KEY (webhook, feed_id, guid)
    );
    CREATE INDEX deliveries_pending ON deliveries (webhook, delivered_at, queued);"#,
    // 2: workers on many machines (see `leases.rs`). A lease names a source (or
    // `~site`, the channels and index); host slots and turns hold each origin's
    // requests in flight and the spacing of their starts across all workers.
    // These times are the database's clock (timestamptz): every worker reads
    // the same one, whatever its own.
    r#"CREATE TABLE leases (
        name          TEXT COLLATE "C" PRIMARY KEY,
        next_due      TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
        claimed_by    TEXT,
        claimed_at    TIMESTAMPTZ,
        claimed_until TIMESTAMPTZ
    );
    CREATE INDEX leases_due ON leases (next_due);
    CREATE TABLE host_slots (
        origin     TEXT COLLATE "C" NOT NULL,
        slot       INTEGER NOT NULL,
        busy_until TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
        PRIMARY KEY (origin, slot)
    );
    CREATE TABLE host_turns (
        origin     TEXT COLLATE "C" PRIMARY KEY,
        next_start TIMESTAMPTZ NOT NULL DEFAULT '-infinity'
    );"#,
];

/// Creates the version table when absent; the version is 0 until migration 1 runs.
pub const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS octofeed_schema (version INTEGER NOT NULL);
    INSERT INTO octofeed_schema (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM octofeed_schema)";

/// Any number on which every octofeed process agrees: the advisory lock that
/// keeps two workers from migrating one database at once.
pub const MIGRATION_LOCK: i64 = 0x6f63_746f_6665_6564; // "octofeed"
