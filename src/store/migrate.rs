//! Store: `octofeed migrate`, the copy of a SQLite store into PostgreSQL. Every
//! row of every table goes across as it is (item ids included, so webhook marks
//! keep pointing at the same items), in one PostgreSQL transaction that is
//! committed only when each table holds as many rows as in SQLite. It reads
//! the SQLite file without its lock and without changing it: stop the runs
//! that write it first, or the copy misses what they write after it began.

use std::path::Path;

use super::StoreError;
use super::postgres::PgStore;
use super::sqlite::SqliteStore;

/// A column's type in PostgreSQL (SQLite keeps whatever it was given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int4,
    Int8,
}

/// One value in transit.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// A table and its columns, as both schemas name them.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

use Kind::{Int4, Int8, Text};

/// Every table of the newest schema, parents before children.
pub const TABLES: &[Table] = &[
    Table {
        name: "sources",
        columns: &[
            ("id", Text),
            ("etag", Text),
            ("last_modified", Text),
            ("body_hash", Text),
            ("last_success", Text),
            ("last_error", Text),
            ("last_error_at", Text),
            ("consecutive_failures", Int4),
            ("changes", Int8),
            ("first_items_at", Text),
            ("detected", Text),
        ],
    },
    Table {
        name: "items",
        columns: &[
            ("id", Int8),
            ("source_id", Text),
            ("guid", Text),
            ("link", Text),
            ("title", Text),
            ("summary", Text),
            ("content", Text),
            ("date", Text),
            ("date_text", Text),
            ("location", Text),
            ("authors", Text),
            ("categories", Text),
            ("image", Text),
            ("enclosures", Text),
            ("first_seen", Text),
            ("updated", Text),
            ("position", Int8),
            ("listing_hash", Text),
            ("published", Text),
            ("revised", Text),
            ("announced", Text),
        ],
    },
    Table { name: "published", columns: &[("feed_id", Text), ("fingerprint", Text), ("sources_changes", Text)] },
    Table { name: "webhook_marks", columns: &[("webhook", Text), ("feed_id", Text), ("last_item", Int8)] },
    Table {
        name: "deliveries",
        columns: &[
            ("webhook", Text),
            ("feed_id", Text),
            ("guid", Text),
            ("body", Text),
            ("queued", Int8),
            ("attempts", Int4),
            ("next_attempt", Text),
            ("delivered_at", Text),
            ("last_error", Text),
        ],
    },
];

/// How many rows of a table were copied (and found in PostgreSQL after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub table: &'static str,
    pub rows: u64,
}

/// Why a copy did not happen. Nothing is left half-copied: the PostgreSQL
/// transaction is rolled back.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The target already holds a store's rows.
    #[error("{target} already holds {rows} rows in `{table}`: migrate only into an empty database (or schema)")]
    NotEmpty { target: String, table: &'static str, rows: u64 },
    /// The counts differ after the copy (a bug, or another writer).
    #[error("`{table}`: {copied} rows in SQLite but {found} in PostgreSQL after the copy; nothing was committed")]
    Mismatch { table: &'static str, copied: u64, found: u64 },
}

/// Rows of one table (its index in [`TABLES`]) on their way across.
pub type Batch = (usize, Vec<Vec<Value>>);

/// Rows per batch: enough to keep both sides busy, few enough to hold in memory.
pub const BATCH_ROWS: usize = 500;

/// Copies the SQLite store at `from` into the PostgreSQL database at `to`
/// (created and migrated to the newest schema first, and refused unless empty).
/// A thread reads SQLite while this one writes PostgreSQL; a bounded channel
/// between them holds a few batches at most.
pub fn sqlite_to_postgres(from: &Path, to: &str) -> Result<Vec<Copied>, MigrateError> {
    let source = SqliteStore::open_read_only(from)?;
    let expected = TABLES.iter().map(|table| source.count_rows(table)).collect::<Result<Vec<u64>, _>>()?;
    let target = PgStore::open(to)?;
    let (sender, batches) = std::sync::mpsc::sync_channel::<Batch>(4);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || source.send_rows(&sender));
        let copied = target.copy_in(batches, &expected, &super::postgres::redacted(to));
        let read = reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read?;
        copied
    })
}
