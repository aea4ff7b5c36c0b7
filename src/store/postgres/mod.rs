//! Store engine: a shared PostgreSQL database (`[site] store = "postgres://…"`),
//! through the `postgres` crate (the blocking face of tokio-postgres). Many
//! processes may write at once: each refresh is one transaction, and the rows
//! a refresh touches are its source's. What the methods do is said on
//! [`Store`]; this module says how PostgreSQL does it, with the same schema
//! and time encoding as SQLite (see `migrations.rs`).
//!
//! The client runs its own small runtime and blocks while it waits, so every
//! call here runs off the caller's async runtime (see `runtime::off_runtime`).

pub mod leases;
mod migrations;
mod session;

use std::collections::HashSet;
use std::sync::mpsc::Receiver;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres::{NoTls, Row};

use super::columns::{ItemRow, STORED_COLUMNS, SqlTime, changes_json, from_json};
use super::migrate::{Batch, Copied, Kind, MigrateError, TABLES, Table, Value};
use super::{
    Announce, ApplyStats, Change, Deliveries, EngineError, FetchState, Health, NewItem, Observed, PendingDelivery,
    Store, StoreError,
};
use crate::model::{Item, StoredItem};
use crate::runtime::off_runtime;
use migrations::{MIGRATION_LOCK, MIGRATIONS, VERSION_TABLE};
use session::{Connection, Prepared};

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> StoreError {
        StoreError::Query(EngineError::new(error))
    }
}

/// A PostgreSQL store: one connection, each statement prepared once on it.
pub struct PgStore {
    /// `None` only while it is being dropped.
    client: Mutex<Option<Connection>>,
}

/// The URL without its password, for messages.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "a postgres:// URL that cannot be read".to_owned(),
    }
}

impl PgStore {
    /// Connects to the database at `url` and brings its schema to the newest
    /// version (one migration at a time, under an advisory lock, so workers
    /// starting together migrate it once).
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let store = PgStore::connect(url)?;
        store.with(migrate)?;
        Ok(store)
    }

    /// Connects for reading only: the schema must exist and be this octofeed's.
    pub fn open_read_only(url: &str) -> Result<PgStore, StoreError> {
        let store = PgStore::connect(url)?;
        let version = store.with(|client| {
            client.batch_execute("SET default_transaction_read_only = on")?;
            let exists: bool = client.query_one("SELECT to_regclass('octofeed_schema') IS NOT NULL", &[])?.get(0);
            if !exists {
                return Ok(None);
            }
            Ok::<_, StoreError>(Some(schema_version(client)?))
        })?;
        let (known, store_name) = (MIGRATIONS.len(), redacted(url));
        match version {
            None => Err(StoreError::Missing { store: store_name }),
            Some(found) if found > known => Err(StoreError::TooNew { store: store_name, found, known }),
            Some(found) if found < known => Err(StoreError::Outdated { store: store_name, found, known }),
            Some(_) => Ok(store),
        }
    }

    fn connect(url: &str) -> Result<PgStore, StoreError> {
        let open_error = |source| StoreError::Open { store: redacted(url), source: EngineError::new(source) };
        let mut config: postgres::Config = url.parse().map_err(open_error)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("octofeed");
        }
        let client = off_runtime(|| config.connect(NoTls)).map_err(open_error)?;
        Ok(PgStore { client: Mutex::new(Some(Connection::new(client))) })
    }

    /// Runs `work` on the connection, off the async runtime.
    fn with<T: Send>(&self, work: impl FnOnce(&mut Connection) -> T + Send) -> T {
        off_runtime(|| work(self.client().as_mut().expect("the client is there until the store is dropped")))
    }

    fn client(&self) -> MutexGuard<'_, Option<Connection>> {
        self.client.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the batches `octofeed migrate` reads from SQLite, in one
    /// transaction that commits only if the database held no rows before and
    /// each table holds `expected` rows after; item ids are kept, and the id
    /// sequence goes on after the highest.
    pub(in crate::store) fn copy_in(
        &self,
        batches: Receiver<Batch>,
        expected: &[u64],
        target: &str,
    ) -> Result<Vec<Copied>, MigrateError> {
        self.with(move |client| {
            let mut tx = client.transaction().map_err(StoreError::from)?;
            for table in TABLES {
                let rows = count_rows(&mut tx, table.name)?;
                if rows > 0 {
                    return Err(MigrateError::NotEmpty { target: target.to_owned(), table: table.name, rows });
                }
            }
            let inserts = TABLES
                .iter()
                .map(|table| tx.statement(&insert_sql(table)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::from)?;
            for (index, rows) in batches {
                let table = &TABLES[index];
                for row in rows {
                    let params = transit_params(table, row);
                    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|param| &**param).collect();
                    tx.parts().0.execute(&inserts[index], &refs).map_err(StoreError::from)?;
                }
            }
            let mut copied = Vec::with_capacity(TABLES.len());
            for (table, &rows) in TABLES.iter().zip(expected) {
                let found = count_rows(&mut tx, table.name)?;
                if found != rows {
                    return Err(MigrateError::Mismatch { table: table.name, copied: rows, found });
                }
                copied.push(Copied { table: table.name, rows });
            }
            tx.batch_execute(
                "SELECT setval(pg_get_serial_sequence('items', 'id'), coalesce(max(id), 0) + 1, false) FROM items",
            )
            .map_err(StoreError::from)?;
            tx.commit().map_err(StoreError::from)?;
            Ok(copied)
        })
    }

    /// The change counters of `source_ids` as JSON `[[id, changes], ...]`, in
    /// their order: one query, however many sources (a channel or the index of thousands).
    fn changes_of(client: &mut impl Prepared, source_ids: &[&str]) -> Result<String, StoreError> {
        let rows = client.query("SELECT id, changes FROM sources WHERE id = ANY($1)", &[&source_ids])?;
        let changes: std::collections::HashMap<&str, i64> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
        let counters: Vec<(&&str, i64)> =
            source_ids.iter().map(|id| (id, changes.get(id).copied().unwrap_or(0))).collect();
        Ok(changes_json(&counters))
    }
}

/// The client's `Drop` closes the connection by blocking on its runtime, which
/// it must not do inside another one: it is dropped off the runtime too.
impl Drop for PgStore {
    fn drop(&mut self) {
        let client = self.client.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        off_runtime(move || drop(client));
    }
}

fn schema_version(client: &mut impl Prepared) -> Result<usize, StoreError> {
    let version: i32 = client.query_one("SELECT version FROM octofeed_schema", &[])?.get(0);
    Ok(usize::try_from(version).unwrap_or(0))
}

/// Applies the migrations after the database's version, all in one
/// transaction under [`MIGRATION_LOCK`]; a newer schema is refused.
fn migrate(client: &mut Connection) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(VERSION_TABLE)?;
    let found = schema_version(&mut tx)?;
    if found > MIGRATIONS.len() {
        let store = "the PostgreSQL store".to_owned();
        return Err(StoreError::TooNew { store, found, known: MIGRATIONS.len() });
    }
    for sql in &MIGRATIONS[found..] {
        tx.batch_execute(sql)?;
    }
    let version = i32::try_from(MIGRATIONS.len()).expect("a few migrations");
    tx.execute("UPDATE octofeed_schema SET version = $1", &[&version])?;
    tx.commit()?;
    Ok(())
}

fn count_rows(client: &mut impl Prepared, table: &str) -> Result<u64, StoreError> {
    let rows: i64 = client.query_one(&format!("SELECT count(*) FROM {table}"), &[])?.get(0);
    Ok(rows.unsigned_abs())
}

/// `INSERT INTO table (columns) VALUES ($1, ...)`; item ids are given, not generated.
fn insert_sql(table: &Table) -> String {
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let places: Vec<String> = (1..=names.len()).map(|place| format!("${place}")).collect();
    let overriding = if table.name == "items" { " OVERRIDING SYSTEM VALUE" } else { "" };
    format!("INSERT INTO {} ({}){overriding} VALUES ({})", table.name, names.join(", "), places.join(", "))
}

/// A migrated row's values as parameters of the columns' PostgreSQL types.
fn transit_params(table: &Table, row: Vec<Value>) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    let text = |value: &Value| match value {
        Value::Null => None,
        Value::Int(number) => Some(number.to_string()),
        Value::Text(text) => Some(text.clone()),
    };
    let number = |value: &Value| match value {
        Value::Int(number) => Some(*number),
        Value::Text(text) => text.parse().ok(),
        Value::Null => None,
    };
    table
        .columns
        .iter()
        .zip(&row)
        .map(|(&(_, kind), value)| -> Box<dyn postgres::types::ToSql + Sync> {
            match kind {
                Kind::Text => Box::new(text(value)),
                Kind::Int8 => Box::new(number(value)),
                Kind::Int4 => Box::new(number(value).map(|number| i32::try_from(number).unwrap_or(i32::MAX))),
            }
        })
        .collect()
}

/// A time parameter.
fn time(time: DateTime<Utc>) -> String {
    SqlTime::new(time).text()
}

/// A query's `LIMIT`: `NULL` is none.
fn limit(limit: Option<usize>) -> Option<i64> {
    limit.map(|limit| i64::try_from(limit).unwrap_or(i64::MAX))
}

fn read_time(row: &Row, column: &str) -> Result<DateTime<Utc>, StoreError> {
    Ok(SqlTime::parse(row.try_get::<_, &str>(column)?).map_err(EngineError::new)?.0)
}

fn read_optional_time(row: &Row, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    match row.try_get::<_, Option<&str>>(column)? {
        None => Ok(None),
        Some(text) => Ok(Some(SqlTime::parse(text).map_err(EngineError::new)?.0)),
    }
}

fn json<T: serde::de::DeserializeOwned>(row: &Row, column: &str) -> Result<T, StoreError> {
    Ok(from_json(row.try_get::<_, &str>(column)?).map_err(EngineError::new)?)
}

/// Reads a row selected with [`STORED_COLUMNS`]: the stored item and its listing hash.
fn read_stored(row: &Row) -> Result<(StoredItem, String), StoreError> {
    let item = Item {
        guid: row.try_get("guid")?,
        link: row.try_get("link")?,
        title: row.try_get("title")?,
        summary: row.try_get("summary")?,
        content: row.try_get("content")?,
        published: read_optional_time(row, "date")?,
        revised: read_optional_time(row, "revised")?,
        date_text: row.try_get("date_text")?,
        location: row.try_get("location")?,
        authors: json(row, "authors")?,
        categories: json(row, "categories")?,
        image: row.try_get("image")?,
        enclosures: json(row, "enclosures")?,
    };
    let stored = StoredItem {
        source_id: row.try_get("source_id")?,
        item,
        first_seen: read_time(row, "first_seen")?,
        updated: read_time(row, "updated")?,
        position: row.try_get("position")?,
        announced: read_time(row, "announced")?,
    };
    Ok((stored, row.try_get("listing_hash")?))
}

fn read_item_row(row: &Row) -> Result<ItemRow, StoreError> {
    let time = |column| -> Result<Option<SqlTime>, StoreError> { Ok(read_optional_time(row, column)?.map(SqlTime)) };
    Ok(ItemRow {
        title: row.try_get("title")?,
        summary: row.try_get("summary")?,
        content: row.try_get("content")?,
        date_text: row.try_get("date_text")?,
        link: row.try_get("link")?,
        date: time("date")?,
        revised: time("revised")?,
        location: row.try_get("location")?,
        authors: row.try_get("authors")?,
        categories: row.try_get("categories")?,
        image: row.try_get("image")?,
        enclosures: row.try_get("enclosures")?,
    })
}

fn stored_rows(rows: Vec<Row>) -> Result<Vec<StoredItem>, StoreError> {
    rows.iter().map(|row| Ok(read_stored(row)?.0)).collect()
}

/// Records a successful fetch: its state, its time, and no failure since.
fn record_success(
    client: &mut impl Prepared,
    source_id: &str,
    fetch: &FetchState,
    now: &str,
) -> Result<(), StoreError> {
    client.execute(
        "INSERT INTO sources (id, etag, last_modified, body_hash, last_success) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,
             body_hash = EXCLUDED.body_hash, last_success = EXCLUDED.last_success, consecutive_failures = 0",
        &[&source_id, &fetch.etag, &fetch.last_modified, &fetch.body_hash, &now],
    )?;
    Ok(())
}

/// Inserts `observed` as first seen at `now` at `position`, or brings the
/// stored item up to date, keeping its first-seen time, position and newsletter date.
fn upsert(
    client: &mut impl Prepared,
    source_id: &str,
    observed: &Observed,
    (now, position): (&str, i64),
    announce: Announce,
) -> Result<Change, StoreError> {
    let new = ItemRow::of(&observed.item)?;
    let guid = &observed.item.guid;
    let old = client.query_opt(
        "SELECT title, summary, content, date_text, link, date, revised, location, authors, categories,
             image, enclosures, listing_hash
         FROM items WHERE source_id = $1 AND guid = $2",
        &[&source_id, guid],
    )?;
    let (date, revised) = (new.date.map(|time| time.text()), new.revised.map(|time| time.text()));
    // $1 to $14, the same in the insert and the update.
    let row: [&(dyn postgres::types::ToSql + Sync); 14] = [
        &source_id,
        guid,
        &new.title,
        &new.summary,
        &new.content,
        &new.date_text,
        &new.link,
        &date,
        &revised,
        &new.location,
        &new.authors,
        &new.categories,
        &new.image,
        &new.enclosures,
    ];
    let Some(old) = old else {
        client.execute(
            "INSERT INTO items (source_id, guid, title, summary, content, date_text, link, date, revised, location,
                 authors, categories, image, enclosures, first_seen, updated, position, listing_hash, published,
                 announced)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17,
                 LEAST(COALESCE($8, $15), $15),
                 CASE WHEN $18 THEN LEAST(COALESCE($8, $15), $15) ELSE $15 END)",
            &[&row[..], &[&now, &position, &observed.listing_hash, &(announce == Announce::ByDate)]].concat(),
        )?;
        return Ok(Change::New);
    };
    let old_hash: String = old.try_get("listing_hash")?;
    let change = new.change_from(&read_item_row(&old)?);
    if change.shows() || old_hash != observed.listing_hash {
        let bump = (change == Change::Updated).then_some(now);
        client.execute(
            "UPDATE items SET title = $3, summary = $4, content = $5, date_text = $6, link = $7, date = $8,
                 revised = $9, location = $10, authors = $11, categories = $12, image = $13, enclosures = $14,
                 listing_hash = $15, updated = COALESCE($16, updated),
                 published = LEAST(COALESCE($8, first_seen), first_seen)
             WHERE source_id = $1 AND guid = $2",
            &[&row[..], &[&observed.listing_hash, &bump]].concat(),
        )?;
    }
    Ok(change)
}

/// Which time orders a walk over several sources' items.
fn of_sources(
    client: &mut Connection,
    source_ids: &[&str],
    order_by: &str,
    most: Option<usize>,
) -> Result<Vec<StoredItem>, StoreError> {
    let order = format!("{order_by} DESC, position ASC, guid ASC, source_id ASC");
    let sql = format!(
        "SELECT {STORED_COLUMNS} FROM items WHERE id IN (
             SELECT id FROM items WHERE source_id = ANY($1) ORDER BY {order} LIMIT $2)
         ORDER BY {order}"
    );
    stored_rows(client.query(&sql, &[&source_ids, &limit(most)])?)
}

impl Store for PgStore {
    fn release_lock(&mut self) {}

    fn take_lock(&mut self, _timeout: Duration) -> Result<(), StoreError> {
        Ok(())
    }

    fn fetch_state(&self, source_id: &str) -> Result<FetchState, StoreError> {
        self.with(|client| {
            let row =
                client.query_opt("SELECT etag, last_modified, body_hash FROM sources WHERE id = $1", &[&source_id])?;
            Ok(row.map_or_else(FetchState::default, |row| FetchState {
                etag: row.get(0),
                last_modified: row.get(1),
                body_hash: row.get(2),
            }))
        })
    }

    fn apply(
        &mut self,
        source_id: &str,
        observed: &[Observed],
        fetch: &FetchState,
        now: DateTime<Utc>,
    ) -> Result<ApplyStats, StoreError> {
        let now = time(now);
        self.with(|client| {
            let mut tx = client.transaction()?;
            let first_items_at: Option<String> = tx
                .query_opt("SELECT first_items_at FROM sources WHERE id = $1 FOR UPDATE", &[&source_id])?
                .and_then(|row| row.get(0));
            let announce = if first_items_at.is_none() { Announce::ByDate } else { Announce::WhenSeen };
            record_success(&mut tx, source_id, fetch, &now)?;
            if first_items_at.is_none() && !observed.is_empty() {
                tx.execute("UPDATE sources SET first_items_at = $2 WHERE id = $1", &[&source_id, &now])?;
            }
            let mut stats = ApplyStats::default();
            let mut shows_change = false;
            let mut guids = HashSet::new();
            for entry in observed.iter().filter(|entry| guids.insert(entry.item.guid.as_str())) {
                let change = upsert(&mut tx, source_id, entry, (&now, stats.seen as i64), announce)?;
                shows_change |= change.shows();
                stats.count(change);
            }
            if shows_change {
                tx.execute("UPDATE sources SET changes = changes + 1 WHERE id = $1", &[&source_id])?;
            }
            tx.commit()?;
            Ok(stats)
        })
    }

    fn titled(
        &self,
        source_id: &str,
        title: &str,
        date_text: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|client| {
            let rows = client.query(
                "SELECT guid, link FROM items WHERE source_id = $1 AND title = $2 AND date_text IS NOT DISTINCT FROM $3",
                &[&source_id, &title, &date_text],
            )?;
            Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
        })
    }

    fn swap_detected(&mut self, source_id: &str, choice: &str) -> Result<Option<String>, StoreError> {
        self.with(|client| {
            let mut tx = client.transaction()?;
            let previous: Option<String> = tx
                .query_opt("SELECT detected FROM sources WHERE id = $1 FOR UPDATE", &[&source_id])?
                .and_then(|row| row.get(0));
            tx.execute(
                "INSERT INTO sources (id, detected) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET detected = EXCLUDED.detected",
                &[&source_id, &choice],
            )?;
            tx.commit()?;
            Ok(previous)
        })
    }

    fn record_unchanged(&mut self, source_id: &str, fetch: &FetchState, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.with(|client| record_success(client, source_id, fetch, &time(now)))
    }

    fn record_failure(&mut self, source_id: &str, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.with(|client| {
            client.execute(
                "INSERT INTO sources (id, last_error, last_error_at, consecutive_failures) VALUES ($1, $2, $3, 1)
                 ON CONFLICT (id) DO UPDATE SET last_error = EXCLUDED.last_error,
                     last_error_at = EXCLUDED.last_error_at,
                     consecutive_failures = sources.consecutive_failures + 1",
                &[&source_id, &error, &time(now)],
            )?;
            Ok(())
        })
    }

    fn health(&self, source_id: &str) -> Result<Health, StoreError> {
        self.with(|client| {
            let row = client.query_opt(
                "SELECT last_success, last_error, last_error_at, consecutive_failures,
                     (SELECT count(*) FROM items WHERE source_id = sources.id) AS item_count
                 FROM sources WHERE id = $1",
                &[&source_id],
            )?;
            let Some(row) = row else { return Ok(Health::default()) };
            Ok(Health {
                last_success: read_optional_time(&row, "last_success")?,
                last_error: row.try_get("last_error")?,
                last_error_at: read_optional_time(&row, "last_error_at")?,
                consecutive_failures: row.try_get::<_, i32>("consecutive_failures")?.unsigned_abs(),
                item_count: row.try_get::<_, i64>("item_count")?.unsigned_abs(),
            })
        })
    }

    fn items(&self, source_id: &str, most: Option<usize>) -> Result<Vec<StoredItem>, StoreError> {
        self.with(|client| {
            let sql = format!(
                "SELECT {STORED_COLUMNS} FROM items WHERE source_id = $1
                 ORDER BY published DESC, position ASC, guid ASC LIMIT $2"
            );
            stored_rows(client.query(&sql, &[&source_id, &limit(most)])?)
        })
    }

    fn items_of_sources(&self, source_ids: &[&str], most: Option<usize>) -> Result<Vec<StoredItem>, StoreError> {
        self.with(|client| of_sources(client, source_ids, "published", most))
    }

    fn announced_items(&self, source_ids: &[&str], most: Option<usize>) -> Result<Vec<StoredItem>, StoreError> {
        self.with(|client| of_sources(client, source_ids, "announced", most))
    }

    fn stored_item(&self, source_id: &str, guid: &str) -> Result<Option<(StoredItem, String)>, StoreError> {
        self.with(|client| {
            let sql = format!("SELECT {STORED_COLUMNS} FROM items WHERE source_id = $1 AND guid = $2");
            client.query_opt(&sql, &[&source_id, &guid])?.as_ref().map(read_stored).transpose()
        })
    }

    fn needs_publish(&self, feed_id: &str, fingerprint: &str, source_ids: &[&str]) -> Result<bool, StoreError> {
        self.with(|client| {
            let recorded = client
                .query_opt("SELECT fingerprint, sources_changes FROM published WHERE feed_id = $1", &[&feed_id])?;
            Ok(match recorded {
                None => true,
                Some(row) => {
                    row.get::<_, &str>(0) != fingerprint
                        || row.get::<_, &str>(1) != PgStore::changes_of(client, source_ids)?
                }
            })
        })
    }

    fn mark_published(&mut self, feed_id: &str, fingerprint: &str, source_ids: &[&str]) -> Result<(), StoreError> {
        self.with(|client| {
            let changes = PgStore::changes_of(client, source_ids)?;
            client.execute(
                "INSERT INTO published (feed_id, fingerprint, sources_changes) VALUES ($1, $2, $3)
                 ON CONFLICT (feed_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
                     sources_changes = EXCLUDED.sources_changes",
                &[&feed_id, &fingerprint, &changes],
            )?;
            Ok(())
        })
    }
}

impl Deliveries for PgStore {
    fn webhook_mark(&self, webhook: &str, feed_id: &str) -> Result<Option<i64>, StoreError> {
        self.with(|client| {
            let row = client.query_opt(
                "SELECT last_item FROM webhook_marks WHERE webhook = $1 AND feed_id = $2",
                &[&webhook, &feed_id],
            )?;
            Ok(row.map(|row| row.get(0)))
        })
    }

    fn newest_item_id(&self, source_ids: &[&str]) -> Result<i64, StoreError> {
        self.with(|client| {
            let row =
                client.query_one("SELECT coalesce(max(id), 0) FROM items WHERE source_id = ANY($1)", &[&source_ids])?;
            Ok(row.get(0))
        })
    }

    fn items_after(&self, source_ids: &[&str], mark: i64) -> Result<Vec<NewItem>, StoreError> {
        self.with(|client| {
            let sql =
                format!("SELECT id, {STORED_COLUMNS} FROM items WHERE source_id = ANY($1) AND id > $2 ORDER BY id");
            let rows = client.query(&sql, &[&source_ids, &mark])?;
            rows.iter().map(|row| Ok((row.try_get("id")?, read_stored(row)?.0))).collect()
        })
    }

    fn queue_deliveries(
        &mut self,
        webhook: &str,
        feed_id: &str,
        bodies: &[(String, String, i64)],
        mark: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = time(now);
        self.with(|client| {
            let mut tx = client.transaction()?;
            for (guid, body, item_id) in bodies {
                tx.execute(
                    "INSERT INTO deliveries (webhook, feed_id, guid, body, queued, next_attempt)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    &[&webhook, &feed_id, guid, body, item_id, &now],
                )?;
            }
            tx.execute(
                "INSERT INTO webhook_marks (webhook, feed_id, last_item) VALUES ($1, $2, $3)
                 ON CONFLICT (webhook, feed_id) DO UPDATE
                     SET last_item = GREATEST(webhook_marks.last_item, EXCLUDED.last_item)",
                &[&webhook, &feed_id, &mark],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn due_deliveries(&self, webhook: &str, now: DateTime<Utc>) -> Result<Vec<PendingDelivery>, StoreError> {
        self.with(|client| {
            let rows = client.query(
                "SELECT feed_id, guid, body, attempts FROM deliveries
                 WHERE webhook = $1 AND delivered_at IS NULL AND next_attempt <= $2 ORDER BY queued, feed_id",
                &[&webhook, &time(now)],
            )?;
            rows.iter()
                .map(|row| {
                    Ok(PendingDelivery {
                        feed_id: row.try_get(0)?,
                        guid: row.try_get(1)?,
                        body: row.try_get(2)?,
                        attempts: row.try_get::<_, i32>(3)?.unsigned_abs(),
                    })
                })
                .collect()
        })
    }

    fn pending_deliveries(&self, webhook: &str) -> Result<usize, StoreError> {
        self.with(|client| {
            let row = client.query_one(
                "SELECT count(*) FROM deliveries WHERE webhook = $1 AND delivered_at IS NULL",
                &[&webhook],
            )?;
            Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }

    fn delivery_made(
        &mut self,
        webhook: &str,
        feed_id: &str,
        guid: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|client| {
            client.execute(
                "UPDATE deliveries SET delivered_at = $4, attempts = attempts + 1, last_error = NULL
                 WHERE webhook = $1 AND feed_id = $2 AND guid = $3",
                &[&webhook, &feed_id, &guid, &time(now)],
            )?;
            Ok(())
        })
    }

    fn delivery_failed(
        &mut self,
        webhook: &str,
        (feed_id, guid): (&str, &str),
        attempts: u32,
        error: &str,
        next_attempt: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        self.with(|client| {
            client.execute(
                "UPDATE deliveries SET attempts = attempts + $4, last_error = $5, next_attempt = $6
                 WHERE webhook = $1 AND feed_id = $2 AND guid = $3",
                &[&webhook, &feed_id, &guid, &attempts, &error, &time(next_attempt)],
            )?;
            Ok(())
        })
    }

    fn defer_deliveries(&mut self, webhook: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.with(|client| {
            client.execute(
                "UPDATE deliveries SET next_attempt = GREATEST(next_attempt, $2)
                 WHERE webhook = $1 AND delivered_at IS NULL",
                &[&webhook, &time(until)],
            )?;
            Ok(())
        })
    }
}
