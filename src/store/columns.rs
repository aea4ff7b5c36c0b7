//! Store: how model values become column values, for both engines. No queries here.
//!
//! Times are RFC 3339 text in UTC with nine fractional digits
//! (`2022-11-24T00:00:00.000000000Z`): fixed width, so text order is time
//! order in SQLite and PostgreSQL alike (under the `C` collation octofeed's
//! PostgreSQL columns use), and nanoseconds round-trip exactly. Authors,
//! categories and enclosures are JSON text: they are always read and written
//! with their item, never searched in SQL, and keep their order, so one row per
//! item keeps the publish query a single index walk with no joins.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde::de::DeserializeOwned;

use super::{Change, EngineError};
use crate::model::Item;

/// The columns a stored item is read from, in this order.
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

    /// The column text.
    pub fn text(&self) -> String {
        self.0.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
    }

    /// Reads a column's text.
    pub fn parse(text: &str) -> Result<SqlTime, chrono::ParseError> {
        Ok(SqlTime(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc)))
    }
}

/// A JSON text column's value.
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(text)
}

fn to_json(value: &impl serde::Serialize) -> Result<String, EngineError> {
    serde_json::to_string(value).map_err(EngineError::new)
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
    pub fn of(item: &Item) -> Result<ItemRow, EngineError> {
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

    /// What storing `self` over the stored `old` does: `Updated` when a field
    /// that makes an item "updated" differs (title, summary, content or date
    /// text), `Refreshed` when only another one does.
    pub fn change_from(&self, old: &ItemRow) -> Change {
        if (&self.title, &self.summary, &self.content, &self.date_text)
            != (&old.title, &old.summary, &old.content, &old.date_text)
        {
            Change::Updated
        } else if self != old {
            Change::Refreshed
        } else {
            Change::Same
        }
    }
}

/// Source change counters as the `published` table records them: JSON `[[id, changes], ...]`.
pub fn changes_json(counters: &[(&&str, i64)]) -> String {
    serde_json::to_string(counters).expect("ids and numbers always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_outside_four_digit_years_are_clamped() {
        let at = |text| DateTime::parse_from_rfc3339(text).expect("a valid time").with_timezone(&Utc);
        let far = at("9999-12-31T23:59:59.999999999Z") + chrono::Duration::days(400);
        assert_eq!(SqlTime::new(far).text(), "9999-12-31T23:59:59.999999999Z");
        let before = at("0000-01-01T00:00:00Z") - chrono::Duration::days(1);
        assert_eq!(SqlTime::new(before).text(), "0000-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn only_title_summary_content_and_date_text_make_an_update() {
        let item = Item { title: "A".into(), ..Item::default() };
        let row = ItemRow::of(&item).expect("columns");
        let linked = ItemRow::of(&Item { link: "https://example.org/".into(), ..item.clone() }).expect("columns");
        let dated = ItemRow::of(&Item { date_text: Some("May 2022".into()), ..item }).expect("columns");
        assert_eq!(linked.change_from(&row), Change::Refreshed);
        assert_eq!(dated.change_from(&row), Change::Updated);
        assert_eq!(row.change_from(&row), Change::Same);
    }
}
