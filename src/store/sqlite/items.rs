//! SQLite engine: the item history's SQL, one item at a time (writes) or one
//! ordered walk of the `items_newest` index (reads). No transactions here:
//! callers own them.

use rusqlite::{Connection, OptionalExtension, ToSql};

use super::columns::{ItemRow, STORED_COLUMNS, SqlTime, item_params, read_item_row, read_stored};
use crate::model::StoredItem;
use crate::store::{Announce, Change, Observed};

/// Inserts `observed` as first seen at `now` at `position`, or brings the
/// stored item up to date, keeping its first-seen time, position and
/// newsletter date.
pub fn upsert(
    conn: &Connection,
    source_id: &str,
    observed: &Observed,
    now: SqlTime,
    position: i64,
    announce: Announce,
) -> rusqlite::Result<Change> {
    let new = ItemRow::of(&observed.item).map_err(|error| rusqlite::Error::ToSqlConversionFailure(error.into()))?;
    let key: [(&str, &dyn ToSql); 2] = [(":source_id", &source_id), (":guid", &observed.item.guid)];
    let old = conn
        .prepare_cached(
            "SELECT title, summary, content, date_text, link, date, revised, location, authors, categories,
                 image, enclosures, listing_hash
             FROM items WHERE source_id = :source_id AND guid = :guid",
        )?
        .query_row(&key[..], |row| Ok((read_item_row(row)?, row.get::<_, String>("listing_hash")?)))
        .optional()?;
    let Some((old, old_hash)) = old else {
        insert(conn, &key, &new, observed, (now, position), announce)?;
        return Ok(Change::New);
    };
    let change = new.change_from(&old);
    if change.shows() || old_hash != observed.listing_hash {
        update(conn, &key, &new, observed, (change == Change::Updated).then_some(now))?;
    }
    Ok(change)
}

fn insert(
    conn: &Connection,
    key: &[(&str, &dyn ToSql)],
    row: &ItemRow,
    observed: &Observed,
    (now, position): (SqlTime, i64),
    announce: Announce,
) -> rusqlite::Result<()> {
    let by_date = announce == Announce::ByDate;
    let mut params: Vec<(&str, &dyn ToSql)> = key.to_vec();
    params.extend(item_params(row));
    params.extend([
        (":now", &now as &dyn ToSql),
        (":position", &position),
        (":listing_hash", &observed.listing_hash),
        (":by_date", &by_date),
    ]);
    conn.prepare_cached(
        "INSERT INTO items (source_id, guid, title, summary, content, date_text, link, date, revised, location,
             authors, categories, image, enclosures, first_seen, updated, position, listing_hash, published,
             announced)
         VALUES (:source_id, :guid, :title, :summary, :content, :date_text, :link, :date, :revised, :location,
             :authors, :categories, :image, :enclosures, :now, :now, :position, :listing_hash,
             min(coalesce(:date, :now), :now),
             CASE WHEN :by_date THEN min(coalesce(:date, :now), :now) ELSE :now END)",
    )?
    .execute(&params[..])?;
    Ok(())
}

/// Rewrites the item's own columns and listing hash; moves `updated` to `bump` when given.
fn update(
    conn: &Connection,
    key: &[(&str, &dyn ToSql)],
    row: &ItemRow,
    observed: &Observed,
    bump: Option<SqlTime>,
) -> rusqlite::Result<()> {
    let mut params: Vec<(&str, &dyn ToSql)> = key.to_vec();
    params.extend(item_params(row));
    params.extend([(":bump", &bump as &dyn ToSql), (":listing_hash", &observed.listing_hash)]);
    conn.prepare_cached(
        "UPDATE items SET title = :title, summary = :summary, content = :content, date_text = :date_text,
             link = :link, date = :date, revised = :revised, location = :location, authors = :authors,
             categories = :categories,
             image = :image, enclosures = :enclosures, listing_hash = :listing_hash,
             updated = coalesce(:bump, updated), published = min(coalesce(:date, first_seen), first_seen)
         WHERE source_id = :source_id AND guid = :guid",
    )?
    .execute(&params[..])?;
    Ok(())
}

/// The source's newest items, walking `items_newest` for that source only.
pub fn of_source(conn: &Connection, source_id: &str, limit: Option<usize>) -> rusqlite::Result<Vec<StoredItem>> {
    let sql = format!(
        "SELECT {STORED_COLUMNS} FROM items WHERE source_id = ?1
         ORDER BY published DESC, position ASC, guid ASC LIMIT ?2"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map((source_id, sql_limit(limit)), |row| Ok(read_stored(row)?.0))?;
    rows.collect()
}

/// Which time orders a walk over several sources' items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Newest {
    /// The main feeds' order: `published` (the `items_newest` index).
    Published,
    /// The newsletter feed's order: `announced` (the `items_announced` index).
    Announced,
}

/// The newest items of several sources: first the ids of the newest, from the
/// index alone (no item is read that is not returned), then those items.
pub fn of_sources(
    conn: &Connection,
    source_ids: &[&str],
    newest: Newest,
    limit: Option<usize>,
) -> rusqlite::Result<Vec<StoredItem>> {
    let order = match newest {
        Newest::Published => "published DESC, position ASC, guid ASC, source_id ASC",
        Newest::Announced => "announced DESC, position ASC, guid ASC, source_id ASC",
    };
    let sql = format!(
        "SELECT {STORED_COLUMNS} FROM items WHERE id IN (
             SELECT id FROM items WHERE source_id IN (SELECT value FROM json_each(?1)) ORDER BY {order} LIMIT ?2)
         ORDER BY {order}"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map((json_list(source_ids)?, sql_limit(limit)), |row| Ok(read_stored(row)?.0))?;
    rows.collect()
}

/// Source ids as the JSON array `json_each` walks.
pub fn json_list(source_ids: &[&str]) -> rusqlite::Result<String> {
    serde_json::to_string(source_ids).map_err(|error| rusqlite::Error::ToSqlConversionFailure(error.into()))
}

/// One stored item and its listing hash.
pub fn one(conn: &Connection, source_id: &str, guid: &str) -> rusqlite::Result<Option<(StoredItem, String)>> {
    let sql = format!("SELECT {STORED_COLUMNS} FROM items WHERE source_id = ?1 AND guid = ?2");
    conn.prepare_cached(&sql)?.query_row((source_id, guid), read_stored).optional()
}

/// The (guid, link) of the source's stored items with this title and date
/// text (`None`: undated items).
pub fn titled(
    conn: &Connection,
    source_id: &str,
    title: &str,
    date_text: Option<&str>,
) -> rusqlite::Result<Vec<(String, String)>> {
    let mut statement =
        conn.prepare_cached("SELECT guid, link FROM items WHERE source_id = ?1 AND title = ?2 AND date_text IS ?3")?;
    let rows = statement.query_map((source_id, title, date_text), |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// SQLite's `LIMIT`: -1 is none.
fn sql_limit(limit: Option<usize>) -> i64 {
    limit.map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX))
}
