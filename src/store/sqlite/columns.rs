//! SQLite engine: how the shared column values ([`crate::store::columns`]) are
//! bound to and read from SQLite rows. No queries here.

use rusqlite::Row;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::de::DeserializeOwned;

use crate::model::{Item, StoredItem};
use crate::store::columns::from_json;
pub use crate::store::columns::{ItemRow, STORED_COLUMNS, SqlTime};

impl ToSql for SqlTime {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.text()))
    }
}

impl FromSql for SqlTime {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        SqlTime::parse(value.as_str()?).map_err(FromSqlError::other)
    }
}

/// A JSON text column read as `T`.
struct Json<T>(T);

impl<T: DeserializeOwned> FromSql for Json<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        from_json(value.as_str()?).map(Json).map_err(FromSqlError::other)
    }
}

/// Reads an item's own columns from the columns of the same names.
pub fn read_item_row(row: &Row) -> rusqlite::Result<ItemRow> {
    Ok(ItemRow {
        title: row.get("title")?,
        summary: row.get("summary")?,
        content: row.get("content")?,
        date_text: row.get("date_text")?,
        link: row.get("link")?,
        date: row.get("date")?,
        revised: row.get("revised")?,
        location: row.get("location")?,
        authors: row.get("authors")?,
        categories: row.get("categories")?,
        image: row.get("image")?,
        enclosures: row.get("enclosures")?,
    })
}

/// The named parameters `:title`, `:summary`, ... `:enclosures` of `row`.
pub fn item_params(row: &ItemRow) -> [(&'static str, &dyn ToSql); 12] {
    [
        (":title", &row.title),
        (":summary", &row.summary),
        (":content", &row.content),
        (":date_text", &row.date_text),
        (":link", &row.link),
        (":date", &row.date),
        (":revised", &row.revised),
        (":location", &row.location),
        (":authors", &row.authors),
        (":categories", &row.categories),
        (":image", &row.image),
        (":enclosures", &row.enclosures),
    ]
}

/// How many columns [`STORED_COLUMNS`] selects: a query that selects more puts them after.
pub const STORED_COLUMNS_LEN: usize = 19;

/// Reads a row selected with [`STORED_COLUMNS`] first: the stored item and its listing hash.
/// Columns are read by position, in `STORED_COLUMNS`' order: by name, rusqlite compares
/// the name with every column's on every read (3% of a 500-source run's CPU).
pub fn read_stored(row: &Row) -> rusqlite::Result<(StoredItem, String)> {
    let item = Item {
        guid: row.get(1)?,
        link: row.get(2)?,
        title: row.get(3)?,
        summary: row.get(4)?,
        content: row.get(5)?,
        published: row.get::<_, Option<SqlTime>>(6)?.map(|time| time.0),
        revised: row.get::<_, Option<SqlTime>>(7)?.map(|time| time.0),
        date_text: row.get(8)?,
        location: row.get(9)?,
        authors: row.get::<_, Json<_>>(10)?.0,
        categories: row.get::<_, Json<_>>(11)?.0,
        image: row.get(12)?,
        enclosures: row.get::<_, Json<_>>(13)?.0,
    };
    let stored = StoredItem {
        source_id: row.get(0)?,
        item,
        first_seen: row.get::<_, SqlTime>(14)?.0,
        updated: row.get::<_, SqlTime>(15)?.0,
        position: row.get(16)?,
        announced: row.get::<_, SqlTime>(17)?.0,
    };
    Ok((stored, row.get(STORED_COLUMNS_LEN - 1)?))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a valid time").with_timezone(&Utc)
    }

    #[test]
    fn time_text_sorts_like_time() {
        let times = [
            "0001-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2022-11-24T00:00:00.5Z",
            "2022-11-24T00:00:01Z",
            "9999-01-01T00:00:00Z",
        ];
        let conn = rusqlite::Connection::open_in_memory().expect("in-memory database");
        for pair in times.windows(2) {
            let (earlier, later) = (SqlTime::new(at(pair[0])), SqlTime::new(at(pair[1])));
            let in_order: bool = conn.query_row("SELECT ?1 < ?2", (earlier, later), |row| row.get(0)).expect("a row");
            assert!(in_order, "{} sorts before {}", pair[0], pair[1]);
        }
    }
}
