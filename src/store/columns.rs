//! Store: how model values become column values and back. No queries here.
//!
//! Times are RFC 3339 text in UTC with nine fractional digits
//! (`2022-11-24T00:00:00.000000000Z`): fixed width, so SQL text order is time
//! order, and nanoseconds round-trip exactly. Authors, categories and
//! enclosures are JSON text: they are always read and written with their item,
//! never searched in SQL, and keep their order, so one row per item keeps the
//! publish query a single index walk with no joins.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use rusqlite::Row;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::de::DeserializeOwned;

use crate::model::{Item, StoredItem};

/// The columns [`read_stored`] expects, in its order.
pub const STORED_COLUMNS: &str = "source_id, guid, link, title, summary, content, date, revised, date_text, \
     location, authors, categories, image, enclosures, first_seen, updated, position, coalesce(announced, first_seen) AS announced, listing_hash";

/// A time as the store writes it. RFC 3339 has four-digit years only, so
/// times outside years 0000-9999 are clamped to that range (and a leap
/// second to the end of its second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlTime(pub DateTime<Utc>);

impl SqlTime {
    /// The storable time nearest to `time`.
    pub fn new(time: DateTime<Utc>) -> SqlTime {
        let first = NaiveDate::from_ymd_opt(0, 1, 1).and_then(|day| day.and_hms_opt(0, 0, 0));
        let last = NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|day| day.and_hms_nano_opt(23, 59, 59, 999_999_999));
        let (first, last) = (first.expect("year 0 is a date"), last.expect("year 9999 is a date"));
        let time = time.clamp(first.and_utc(), last.and_utc());
        SqlTime(time.with_nanosecond(time.nanosecond().min(999_999_999)).unwrap_or(time))
    }
}

impl ToSql for SqlTime {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()))
    }
}

impl FromSql for SqlTime {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        let time = DateTime::parse_from_rfc3339(text).map_err(FromSqlError::other)?;
        Ok(SqlTime(time.with_timezone(&Utc)))
    }
}

/// A JSON text column read as `T`.
struct Json<T>(T);

impl<T: DeserializeOwned> FromSql for Json<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        serde_json::from_str(value.as_str()?).map(Json).map_err(FromSqlError::other)
    }
}

fn to_json(value: &impl serde::Serialize) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))
}

/// An item's own columns (all but its source, guid and the store's times),
/// as the row holds them: comparing two of these compares what is stored.
#[derive(Debug, PartialEq, Eq)]
pub struct ItemRow {
    pub title: String,
    pub summary: Option<String>,
    pub content: Option<String>,
    pub date_text: Option<String>,
    pub link: String,
    pub date: Option<SqlTime>,
    pub revised: Option<SqlTime>,
    pub location: Option<String>,
    pub authors: String,
    pub categories: String,
    pub image: Option<String>,
    pub enclosures: String,
}

impl ItemRow {
    /// The columns of `item`.
    pub fn of(item: &Item) -> rusqlite::Result<ItemRow> {
        Ok(ItemRow {
            title: item.title.clone(),
            summary: item.summary.clone(),
            content: item.content.clone(),
            date_text: item.date_text.clone(),
            link: item.link.clone(),
            date: item.published.map(SqlTime::new),
            revised: item.revised.map(SqlTime::new),
            location: item.location.clone(),
            authors: to_json(&item.authors)?,
            categories: to_json(&item.categories)?,
            image: item.image.clone(),
            enclosures: to_json(&item.enclosures)?,
        })
    }

    /// Reads the columns of the same names.
    pub fn read(row: &Row) -> rusqlite::Result<ItemRow> {
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

    /// Whether a field that makes an item "updated" differs: title, summary,
    /// content or date text.
    pub fn differs_visibly(&self, other: &ItemRow) -> bool {
        (&self.title, &self.summary, &self.content, &self.date_text)
            != (&other.title, &other.summary, &other.content, &other.date_text)
    }

    /// The named parameters `:title`, `:summary`, ... `:enclosures`.
    pub fn params(&self) -> [(&'static str, &dyn ToSql); 12] {
        [
            (":title", &self.title),
            (":summary", &self.summary),
            (":content", &self.content),
            (":date_text", &self.date_text),
            (":link", &self.link),
            (":date", &self.date),
            (":revised", &self.revised),
            (":location", &self.location),
            (":authors", &self.authors),
            (":categories", &self.categories),
            (":image", &self.image),
            (":enclosures", &self.enclosures),
        ]
    }
}

/// Reads a row selected with [`STORED_COLUMNS`]: the stored item and its listing hash.
pub fn read_stored(row: &Row) -> rusqlite::Result<(StoredItem, String)> {
    let item = Item {
        guid: row.get("guid")?,
        link: row.get("link")?,
        title: row.get("title")?,
        summary: row.get("summary")?,
        content: row.get("content")?,
        published: row.get::<_, Option<SqlTime>>("date")?.map(|time| time.0),
        revised: row.get::<_, Option<SqlTime>>("revised")?.map(|time| time.0),
        date_text: row.get("date_text")?,
        location: row.get("location")?,
        authors: row.get::<_, Json<_>>("authors")?.0,
        categories: row.get::<_, Json<_>>("categories")?.0,
        image: row.get("image")?,
        enclosures: row.get::<_, Json<_>>("enclosures")?.0,
    };
    let stored = StoredItem {
        source_id: row.get("source_id")?,
        item,
        first_seen: row.get::<_, SqlTime>("first_seen")?.0,
        updated: row.get::<_, SqlTime>("updated")?.0,
        position: row.get("position")?,
        announced: row.get::<_, SqlTime>("announced")?.0,
    };
    Ok((stored, row.get("listing_hash")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(time: DateTime<Utc>) -> DateTime<Utc> {
        let conn = rusqlite::Connection::open_in_memory().expect("in-memory database");
        conn.query_row("SELECT ?1", [SqlTime::new(time)], |row| row.get::<_, SqlTime>(0)).expect("a time").0
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a valid time").with_timezone(&Utc)
    }

    #[test]
    fn times_round_trip_to_the_nanosecond() {
        for text in [
            "2022-11-24T00:00:00Z",
            "2026-03-01T12:34:56.123456789Z",
            "0000-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999999Z",
        ] {
            assert_eq!(round_trip(at(text)), at(text), "{text}");
        }
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

    #[test]
    fn times_outside_four_digit_years_are_clamped() {
        let far = at("9999-12-31T23:59:59.999999999Z") + chrono::Duration::days(400);
        assert_eq!(round_trip(far), at("9999-12-31T23:59:59.999999999Z"));
        let before = at("0000-01-01T00:00:00Z") - chrono::Duration::days(1);
        assert_eq!(round_trip(before), at("0000-01-01T00:00:00Z"));
    }

    #[test]
    fn only_title_summary_content_and_date_text_differ_visibly() {
        let item = Item { title: "A".into(), ..Item::default() };
        let row = ItemRow::of(&item).expect("columns");
        let linked = ItemRow::of(&Item { link: "https://example.org/".into(), ..item.clone() }).expect("columns");
        let dated = ItemRow::of(&Item { date_text: Some("May 2022".into()), ..item }).expect("columns");
        assert!(!row.differs_visibly(&linked));
        assert_ne!(row, linked);
        assert!(row.differs_visibly(&dated));
    }
}
