//! Store stage: the history of every item ever seen, each source's fetch state
//! and health, what each feed was last published from, and the webhooks'
//! deliveries, behind one interface ([`Store`]) with two engines: the embedded
//! SQLite file ([`sqlite`], the default) and a shared PostgreSQL ([`postgres`]).
//!
//! Plain storage: it never reads the clock (times are passed in) and knows
//! nothing of HTTP or feed formats. Both engines keep the same schema, the same
//! time encoding (fixed-width RFC 3339 text, so text order is time order and
//! nanoseconds round-trip) and the same rules, which `tests/store.rs` runs on each.
//!
//! The interface is synchronous. Async code calls it only through
//! [`crate::refresh::blocking`] (SQLite's calls block the thread; the PostgreSQL
//! client runs its own small runtime), never while holding a lock across an await.
//!
//! Publication bookkeeping: every [`Store::apply`] that changes anything a feed
//! shows bumps a per-source change counter. [`Store::mark_published`] records,
//! for a feed (a source's or a channel's), a fingerprint of its feed-level
//! settings and the counters of the sources it was built from;
//! [`Store::needs_publish`] compares both with the present. So a channel is
//! dirty when any of its sources changed, without `apply` knowing channels.

mod columns;
pub mod migrate;
pub mod postgres;
pub mod sqlite;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{Item, StoredItem};

/// Where the store lives: `[site] store`, a file path or a `postgres://` URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// The embedded SQLite database at this path.
    File(PathBuf),
    /// A PostgreSQL database, as a libpq connection URL.
    Postgres(String),
}

impl Location {
    /// Reads `[site] store`: a `postgres://` (or `postgresql://`) URL, else a
    /// path resolved against `folder`. Any other `scheme://` is refused, so a
    /// URL of an engine octofeed does not speak is never taken as a file name.
    pub fn parse(text: &str, folder: &Path) -> Result<Location, String> {
        let scheme = text.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => Ok(Location::Postgres(text.to_owned())),
            Some(scheme)
                if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)) =>
            {
                Err(format!("`{scheme}://` stores are not supported: give a file path or a postgres:// URL"))
            }
            _ => Ok(Location::File(folder.join(text))),
        }
    }

    /// The SQLite file, for what only a file store has (its lock, `--init`).
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::File(path) => Some(path),
            Location::Postgres(_) => None,
        }
    }
}

/// The path, or the URL without its password: what messages name.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&postgres::redacted(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

/// Why the store cannot do what was asked. `store` is the store's place as
/// [`Location`]'s `Display` gives it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store's lock.
    #[error("another run is using the store at {store} (waited {}); try again when it has finished", humantime::format_duration(*waited))]
    Busy { store: String, waited: Duration },
    /// A read-only open found no database.
    #[error("the store {store} does not exist yet: `octofeed run` creates it")]
    Missing { store: String },
    /// The database was written by a newer octofeed.
    #[error(
        "the store at {store} has schema version {found}, newer than this octofeed knows ({known}): use a newer octofeed"
    )]
    TooNew { store: String, found: usize, known: usize },
    /// A read-only open found a database that needs migrating first.
    #[error(
        "the store at {store} has schema version {found}, older than this octofeed's ({known}): `octofeed run` upgrades it"
    )]
    Outdated { store: String, found: usize, known: usize },
    /// The lock file or the store's folder cannot be created or used.
    #[error("cannot use {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The store file exists but holds no usable database; nothing was changed.
    #[error(
        "the store {store} is unusable: {reason}; it was left as it is (restore it from a backup, or run `octofeed run --init` to move it aside and start a new store)"
    )]
    Unusable { store: String, reason: String },
    /// The engine cannot open the database (not a database, no permission, no server...).
    #[error("cannot open the store at {store}: {source}")]
    Open { store: String, source: EngineError },
    /// A query failed.
    #[error("store error: {0}")]
    Query(#[from] EngineError),
}

/// An error of the engine under the store (SQLite or PostgreSQL), kept as its
/// message and source chain without naming the engine's types outside its module.
#[derive(Debug)]
pub struct EngineError(Box<dyn std::error::Error + Send + Sync>);

impl EngineError {
    fn new(error: impl std::error::Error + Send + Sync + 'static) -> EngineError {
        EngineError(Box::new(error))
    }
}

/// The error and its causes: the PostgreSQL client says only "db error" and
/// keeps the server's message as its source.
impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

impl std::error::Error for EngineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// A shared store behind the mutex a run's tasks share. A panic while it was
/// held leaves the database consistent (its transactions roll back), so a
/// poisoned lock is taken as it is.
pub type Shared = std::sync::Mutex<Box<dyn Store>>;

/// The store behind a [`Shared`] mutex.
pub fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Box<dyn Store>> {
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What [`open`] does with a store file that holds no usable database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Fail with [`StoreError::Unusable`] and leave the file as it is.
    Refuse,
    /// Move it aside (`<name>.unusable-<time>`) and start a new store (`run --init`).
    StartAfresh,
}

/// Opens the store at `location` for writing, creating and migrating it to the
/// newest schema. A file store waits up to `lock_timeout` for another run to
/// release it, then fails with [`StoreError::Busy`]; PostgreSQL needs no such
/// lock (its transactions keep concurrent writers apart).
pub fn open(location: &Location, lock_timeout: Duration, unusable: Unusable) -> Result<Box<dyn Store>, StoreError> {
    Ok(match location {
        Location::File(path) => Box::new(sqlite::SqliteStore::open_with(path, lock_timeout, unusable)?),
        Location::Postgres(url) => Box::new(postgres::PgStore::open(url)?),
    })
}

/// Opens an existing store for reading only (listing commands, `serve`'s
/// health pages): no lock, no migration, nothing created. Works while a run writes.
pub fn open_read_only(location: &Location) -> Result<Box<dyn Store>, StoreError> {
    Ok(match location {
        Location::File(path) => Box::new(sqlite::SqliteStore::open_read_only(path)?),
        Location::Postgres(url) => Box::new(postgres::PgStore::open_read_only(url)?),
    })
}

/// A source's conditional-request validators and the hash of the last page read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchState {
    /// The `ETag` of the last successful response.
    pub etag: Option<String>,
    /// The `Last-Modified` of the last successful response.
    pub last_modified: Option<String>,
    /// A hash of the last body read, to skip extraction when it is the same.
    pub body_hash: Option<String>,
}

/// A source's health, as `run --json` and `/healthz` show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// When the source last refreshed without error.
    pub last_success: Option<DateTime<Utc>>,
    /// The last error, kept after later successes (see `consecutive_failures`).
    pub last_error: Option<String>,
    /// When `last_error` happened.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Items stored for the source.
    pub item_count: u64,
}

/// An item as a refresh saw it, with a hash of what the listing page said
/// about it (so an article page is fetched again only when that changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The item, normalized, with its guid.
    pub item: Item,
    /// A hash of the item's entry on the listing page, stored with the item.
    pub listing_hash: String,
}

/// What one refresh did to a source's items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Distinct items on the page.
    pub seen: usize,
    /// Items first seen now.
    pub new: usize,
    /// Items whose title, summary, content or date text changed.
    pub updated: usize,
}

/// What one observed item did to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// First seen now.
    New,
    /// Its title, summary, content or date text changed: `updated` moved.
    Updated,
    /// Another field changed (link, date, image...): stored, `updated` kept.
    Refreshed,
    /// Nothing a feed shows changed.
    Same,
}

impl Change {
    /// Whether the feeds showing the item must be written again.
    fn shows(self) -> bool {
        self != Change::Same
    }
}

impl ApplyStats {
    fn count(&mut self, change: Change) {
        self.seen += 1;
        match change {
            Change::New => self.new += 1,
            Change::Updated => self.updated += 1,
            Change::Refreshed | Change::Same => {}
        }
    }
}

/// A delivery waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelivery {
    pub feed_id: String,
    pub guid: String,
    /// The JSON to POST.
    pub body: String,
    /// Attempts so far (in earlier runs too).
    pub attempts: u32,
}

/// An item stored after a webhook's mark: its id (the next mark) and the item.
pub type NewItem = (i64, StoredItem);

/// What refresh, run, serve and the commands need of a store. Each method is
/// one short transaction or query; none reads the clock.
pub trait Store: Deliveries + Send {
    /// Lets other processes write between two runs of a long-lived process
    /// (`serve`); [`Store::take_lock`] takes it back before the next one.
    /// Nothing to do where the engine keeps writers apart itself.
    fn release_lock(&mut self);

    /// Takes the store's lock again after [`Store::release_lock`], waiting up
    /// to `timeout`; does nothing when it is held (or the store is read-only).
    fn take_lock(&mut self, timeout: Duration) -> Result<(), StoreError>;

    /// The validators and body hash recorded by the source's last success.
    fn fetch_state(&self, source_id: &str) -> Result<FetchState, StoreError>;

    /// Records one refresh in one transaction: every observed item is inserted
    /// (with `position` = its place among `observed`) or brought up to date,
    /// the fetch state and a success are recorded, and the source's feeds are
    /// marked dirty when anything they show changed. An existing item keeps its
    /// guid, first-seen time and position; its `updated` time moves only when
    /// its title, summary, content or date text changed (other fields are
    /// refreshed without it). Items absent from `observed` stay: history.
    /// Repeated guids in `observed`: the first wins.
    fn apply(
        &mut self,
        source_id: &str,
        observed: &[Observed],
        fetch: &FetchState,
        now: DateTime<Utc>,
    ) -> Result<ApplyStats, StoreError>;

    /// Items that moved to a new address keep their identity: an observed item
    /// whose guid is new, but whose title and date text match exactly one stored
    /// item of the source that is not on the page any more, takes that item's
    /// guid (its new link is stored as a change of link). This is what a site's
    /// move to https, to new slugs or to a new path prefix looks like. An undated
    /// item needs more than its title: the last segment of its link (its slug)
    /// must be the stored one's too. Returns how many items were given back their guid.
    fn keep_moved_identities(&self, source_id: &str, observed: &mut [Observed]) -> Result<usize, StoreError> {
        let on_page: HashSet<String> = observed.iter().map(|entry| entry.item.guid.clone()).collect();
        let mut adopted: HashSet<String> = HashSet::new();
        let mut moved = 0;
        for entry in observed.iter_mut() {
            if self.stored_item(source_id, &entry.item.guid)?.is_some() {
                continue;
            }
            let date_text = entry.item.date_text.as_deref();
            let slug = last_segment(&entry.item.link);
            let candidates: Vec<String> = self
                .titled(source_id, &entry.item.title, date_text)?
                .into_iter()
                .filter(|(guid, link)| {
                    !on_page.contains(guid)
                        && !adopted.contains(guid)
                        && (date_text.is_some() || slug.is_some_and(|slug| last_segment(link) == Some(slug)))
                })
                .map(|(guid, _)| guid)
                .collect();
            if let [old] = candidates.as_slice() {
                adopted.insert(old.clone());
                entry.item.guid = old.clone();
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// The (guid, link) of the source's stored items with this title and date
    /// text (`None`: undated items).
    fn titled(
        &self,
        source_id: &str,
        title: &str,
        date_text: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Records what detection chose for `source_id` and returns what it chose before.
    fn swap_detected(&mut self, source_id: &str, choice: &str) -> Result<Option<String>, StoreError>;

    /// A success with nothing to extract (304, or the same body as last time):
    /// records the fetch state and the success only.
    fn record_unchanged(&mut self, source_id: &str, fetch: &FetchState, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// A failed refresh: counts it; the source's items and fetch state stay as they were.
    fn record_failure(&mut self, source_id: &str, error: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// The source's health; all empty for a source never refreshed.
    fn health(&self, source_id: &str) -> Result<Health, StoreError>;

    /// The source's items, newest first: by date (else first-seen time), then
    /// page position, then guid; at most `limit`.
    fn items(&self, source_id: &str, limit: Option<usize>) -> Result<Vec<StoredItem>, StoreError>;

    /// The items of several sources in one list, ordered as [`Store::items`]
    /// (then by source id), at most `limit`.
    fn items_of_sources(&self, source_ids: &[&str], limit: Option<usize>) -> Result<Vec<StoredItem>, StoreError>;

    /// The items of several sources newest first by their newsletter date
    /// ([`StoredItem::announced`]), at most `limit`.
    fn announced_items(&self, source_ids: &[&str], limit: Option<usize>) -> Result<Vec<StoredItem>, StoreError>;

    /// The stored item with this guid and its listing hash, to decide whether
    /// its article page must be fetched again.
    fn stored_item(&self, source_id: &str, guid: &str) -> Result<Option<(StoredItem, String)>, StoreError>;

    /// Whether a feed must be written again: it was never published, or its
    /// settings' `fingerprint` differs from the one recorded, or its sources
    /// (`source_ids`, in the caller's order) changed since it was written.
    fn needs_publish(&self, feed_id: &str, fingerprint: &str, source_ids: &[&str]) -> Result<bool, StoreError>;

    /// Records that a feed was written with `fingerprint` from the present state of `source_ids`.
    fn mark_published(&mut self, feed_id: &str, fingerprint: &str, source_ids: &[&str]) -> Result<(), StoreError>;
}

/// Webhook bookkeeping: which items each webhook has been given (a mark per
/// webhook and feed), and each delivery with its attempts, so a crash or a
/// receiver that is down loses no item and a delivered item is never sent again.
/// Bodies are made by the caller (`push::webhook`).
pub trait Deliveries {
    /// The newest item id a webhook has been given for a feed; `None` before its first run.
    fn webhook_mark(&self, webhook: &str, feed_id: &str) -> Result<Option<i64>, StoreError>;

    /// The newest item id of these sources (0 when they have none).
    fn newest_item_id(&self, source_ids: &[&str]) -> Result<i64, StoreError>;

    /// The items of these sources stored after item `mark`, oldest first.
    fn items_after(&self, source_ids: &[&str], mark: i64) -> Result<Vec<NewItem>, StoreError>;

    /// In one transaction: queues `bodies` (guid, JSON, item id) for the webhook
    /// and feed (a guid queued before is left as it is) and moves the mark to `mark`.
    fn queue_deliveries(
        &mut self,
        webhook: &str,
        feed_id: &str,
        bodies: &[(String, String, i64)],
        mark: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The webhook's deliveries not yet made whose next attempt is due at `now`, in queue order.
    fn due_deliveries(&self, webhook: &str, now: DateTime<Utc>) -> Result<Vec<PendingDelivery>, StoreError>;

    /// How many of the webhook's deliveries are not made yet.
    fn pending_deliveries(&self, webhook: &str) -> Result<usize, StoreError>;

    /// Records a delivery the receiver accepted: it is never sent again.
    fn delivery_made(&mut self, webhook: &str, feed_id: &str, guid: &str, now: DateTime<Utc>)
    -> Result<(), StoreError>;

    /// Records failed attempts at a delivery and when to try it next.
    fn delivery_failed(
        &mut self,
        webhook: &str,
        ids: (&str, &str),
        attempts: u32,
        error: &str,
        next_attempt: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Holds back every delivery of the webhook not yet made until at least
    /// `until`: a receiver that failed is not tried again item by item.
    fn defer_deliveries(&mut self, webhook: &str, until: DateTime<Utc>) -> Result<(), StoreError>;
}

/// The last non-empty path segment of a URL: an article's slug.
fn last_segment(link: &str) -> Option<&str> {
    let path = link.split(['?', '#']).next()?;
    path.trim_end_matches('/').rsplit('/').next().filter(|segment| !segment.is_empty() && !segment.contains(':'))
}

/// How the newsletter feed dates an item inserted now (see `StoredItem::announced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Announce {
    /// The source's first run that stores items: by its page date (never later than now).
    ByDate,
    /// Any later run: when it was first seen, now.
    WhenSeen,
}
