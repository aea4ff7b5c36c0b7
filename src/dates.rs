//! Dates stage (pure): reads an item's date text into a UTC time. It does no I/O, reads no clock,
//! and does not decide what an undated item gets (the caller uses the time it first saw the item).
//!
//! Without a format, the first date in the text is taken: RFC 3339 / ISO 8601 (`2022-11-24`,
//! `2022-11-24T10:30:00+01:00`), RFC 2822 (`Thu, 24 Nov 2022 10:30:00 GMT`), or a day, a month name
//! (English, French, Spanish, German, Italian) and a year in any order, optionally followed by a time
//! and zone. A day range gives its first day; a month and year alone give the month's first day.
//! Numeric dates such as `20/04/2016` are ambiguous, so they are read only with a format.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::format::{Parsed, StrftimeItems, parse_and_remainder};
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use regex::{Captures, Regex};

use crate::text::fold_accents;

/// Reads the first date in `text`. With `format` (a chrono strftime pattern such as "%d/%m/%Y" or
/// "%d %B %Y"), the date must match that pattern (found anywhere in the text); a format with a month
/// name (`%B`, `%b`) also accepts the month names this module knows when chrono's English names do
/// not match. Without it, the contract's recognised shapes are tried. A date without a time is 12:00
/// (noon) in `tz`, see [`DATE_ONLY`]; a date-time without an offset is read in `tz`; one with an offset keeps it. Returns None
/// when no date is found.
pub fn parse_date(text: &str, format: Option<&str>, tz: Tz) -> Option<DateTime<Utc>> {
    match format {
        Some(format) => parse_with_format(text, format, tz).or_else(|| {
            let names_months = ["%B", "%b", "%h"].iter().any(|spec| format.contains(spec));
            names_months.then(|| parse_free(text, tz)).flatten()
        }),
        None => parse_free(text, tz),
    }
}

// ---------------------------------------------------------------------------------------------
// With a format

/// Tries the format at every word start and punctuation mark of `text`, and keeps the first match.
fn parse_with_format(text: &str, format: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let mut previous: Option<char> = None;
    text.char_indices().find_map(|(at, c)| {
        let word_start = !previous.is_some_and(char::is_alphanumeric) || !c.is_alphanumeric();
        previous = Some(c);
        word_start.then(|| parse_format_at(&text[at..], format, tz)).flatten()
    })
}

/// Parses the beginning of `text` with `format`; whatever follows the match is ignored, unless
/// the match ends inside a word or number ("24 November 20221").
fn parse_format_at(text: &str, format: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let mut parsed = Parsed::new();
    let rest = parse_and_remainder(&mut parsed, text, StrftimeItems::new(format)).ok()?;
    let last = text[..text.len() - rest.len()].chars().next_back();
    if last.is_some_and(char::is_alphanumeric) && rest.starts_with(char::is_alphanumeric) {
        return None;
    }
    let date = parsed
        .to_naive_date()
        .or_else(|_| {
            parsed.set_day(1)?; // a format without a day ("%B %Y") names the month's first day
            parsed.to_naive_date()
        })
        .ok()
        .filter(|date| u32::try_from(date.year()).is_ok_and(|year| YEARS.contains(&year)))?;
    let time = parsed.to_naive_time().unwrap_or(DATE_ONLY);
    let offset = parsed.offset().and_then(FixedOffset::east_opt);
    to_utc(date.and_time(time), offset, tz)
}

/// The time a date without one is read at: noon in the source's time zone is
/// the same calendar day everywhere from UTC-11 to UTC+12, so every reader
/// shows the page's day (midnight in Paris is the day before in UTC).
pub const DATE_ONLY: NaiveTime = NaiveTime::from_hms_opt(12, 0, 0).expect("noon is a valid time");

/// Years this module accepts: four digits, which also keeps time zone arithmetic far from overflow.
const YEARS: std::ops::RangeInclusive<u32> = 1000..=9999;

// ---------------------------------------------------------------------------------------------
// Without a format

/// A date found in a text: where it starts and ends (bytes) and which day it names.
struct Found {
    start: usize,
    end: usize,
    date: NaiveDate,
}

/// The first full date (ISO or with a month name), else the first month and year.
fn parse_free(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let tokens = Tokens::new(text);
    let first = [find_iso(text), find_named(&tokens)].into_iter().flatten().min_by_key(|f| f.start);
    if let Some(found) = first {
        let clock = read_clock(&text[found.end..]);
        let time = clock.as_ref().map_or(DATE_ONLY, |clock| clock.time);
        let offset = clock.and_then(|clock| clock.offset);
        return to_utc(found.date.and_time(time), offset, tz);
    }
    let month = find_month_year(text, &tokens)?;
    to_utc(month.date.and_time(DATE_ONLY), None, tz)
}

static ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^0-9])([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[^0-9]|$)").expect("valid regex"));

/// The first `YYYY-MM-DD` that names a real day.
fn find_iso(text: &str) -> Option<Found> {
    ISO_DATE.captures_iter(text).find_map(|caps| {
        let number = |i: usize| caps.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        let date = ymd(number(1)?, number(2)?, number(3)?)?;
        let (start, end) = (caps.get(1)?.start(), caps.get(3)?.end());
        Some(Found { start, end, date })
    })
}

/// The day, when it exists and its year has four digits.
fn ymd(year: u32, month: u32, day: u32) -> Option<NaiveDate> {
    let year = i32::try_from(year).ok().filter(|_| YEARS.contains(&year))?;
    NaiveDate::from_ymd_opt(year, month, day)
}

// ---------------------------------------------------------------------------------------------
// Time of day after a date

/// A time of day read after a date, with the offset it was written with, if any.
struct Clock {
    time: NaiveTime,
    offset: Option<FixedOffset>,
}

static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?P<sep>T|\s*,?\s*(?:(?:at|à|um|alle)\s+)?)",
        r"(?P<h>[0-9]{1,2})[:hH](?P<m>[0-9]{2})(?::(?P<s>[0-9]{2})(?:[.,](?P<frac>[0-9]{1,9}))?)?",
        r"(?:\s*(?i:(?P<ampm>[ap])\.?m\b\.?))?",
        r"(?:\s*(?P<zone>Z|UTC|UT|GMT|[ECMP][SD]T|CES?T|EES?T|WES?T|BST)\b)?",
        r"(?:(?P<gap>\s*)(?P<sign>[+-])(?P<oh>[0-9]{2}):?(?P<om>[0-9]{2}))?",
    ))
    .expect("valid regex")
});

/// Reads a time such as `10:30`, `T10:30:00.5Z`, `, 3:30 pm` or `10:30:00 +0100` at the start of `rest`.
fn read_clock(rest: &str) -> Option<Clock> {
    let caps = CLOCK.captures(rest)?;
    let number = |name: &str| caps.name(name).and_then(|m| m.as_str().parse::<u32>().ok());
    let hour = number("h")?;
    let hour = match caps.name("ampm") {
        None => hour,
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some(half) => hour % 12 + 12 * u32::from(half.as_str().eq_ignore_ascii_case("p")),
    };
    let nanos = caps.name("frac").map_or(0, |m| {
        let digits = format!("{:0<9}", m.as_str());
        digits.parse().unwrap_or(0)
    });
    let time = NaiveTime::from_hms_nano_opt(hour, number("m")?, number("s").unwrap_or(0), nanos)?;
    Some(Clock { time, offset: clock_offset(&caps) })
}

/// The offset written after a time: a zone name, a numeric offset, or both ("GMT+01:00").
/// A bare numeric part right after `HH:MM` ("10:30-12:00") is a time range, not an offset.
fn clock_offset(caps: &Captures) -> Option<FixedOffset> {
    let named = caps.name("zone").map(|zone| zone_seconds(zone.as_str()));
    let numeric_allowed = named.is_some()
        || caps.name("s").is_some()
        || caps.name("sep").is_some_and(|sep| sep.as_str() == "T")
        || caps.name("gap").is_some_and(|gap| !gap.is_empty());
    let numeric = caps.name("sign").filter(|_| numeric_allowed).and_then(|sign| {
        let part = |name: &str| caps.name(name)?.as_str().parse::<i32>().ok();
        let (hours, minutes) = (part("oh")?, part("om")?);
        let sign = if sign.as_str() == "-" { -1 } else { 1 };
        (hours < 24 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
    });
    match (named, numeric) {
        (None, None) => None,
        (named, numeric) => FixedOffset::east_opt(named.unwrap_or(0) + numeric.unwrap_or(0)),
    }
}

/// Seconds east of UTC for the zone names RFC 2822 and common pages use.
fn zone_seconds(name: &str) -> i32 {
    let hours = match name {
        "EST" | "CDT" => -5,
        "EDT" => -4,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        "CET" | "BST" | "WEST" => 1,
        "CEST" | "EET" => 2,
        "EEST" => 3,
        _ => 0, // Z, UT, UTC, GMT, WET
    };
    hours * 3600
}

// ---------------------------------------------------------------------------------------------
// Time zones

/// The instant of a local date-time: with its own offset, else in `tz`. A local time that falls
/// in a daylight-saving gap moves to the first valid minute after it; an ambiguous one takes the
/// earlier instant.
fn to_utc(local: NaiveDateTime, offset: Option<FixedOffset>, tz: Tz) -> Option<DateTime<Utc>> {
    if let Some(offset) = offset {
        return Some(offset.from_local_datetime(&local).single()?.to_utc());
    }
    if let Some(instant) = tz.from_local_datetime(&local).earliest() {
        return Some(instant.to_utc());
    }
    let minute = local.with_second(0)?.with_nanosecond(0)?;
    (1..=MAX_GAP_MINUTES).find_map(|step| {
        let later = minute.checked_add_signed(TimeDelta::minutes(step))?;
        tz.from_local_datetime(&later).earliest().map(|instant| instant.to_utc())
    })
}

/// The longest daylight-saving gap to step over (Samoa skipped a whole day in 2011).
const MAX_GAP_MINUTES: i64 = 2 * 24 * 60;

// ---------------------------------------------------------------------------------------------
// Tokens

/// What a piece of text is, as far as dates go. Separators (spaces, `.`, `,`) and filler words
/// ("of", "de") are dropped; anything else that cannot be part of a date is a `Break`.
#[derive(Clone, Copy)]
enum Kind {
    /// 1 to 31, one or two digits, maybe with an ordinal suffix ("24th", "1er", "1º").
    Day(u32),
    /// Four digits.
    Year(u32),
    /// Any other number.
    Number,
    /// A month name.
    Month(u32),
    /// A range separator: a dash or a word such as "to", "au", "bis".
    Dash,
    /// Any other word or sign.
    Break,
}

/// The date-relevant pieces of a text, with the byte span each came from.
#[derive(Default)]
struct Tokens {
    kinds: Vec<Kind>,
    spans: Vec<(usize, usize)>,
}

impl Tokens {
    /// Splits `text` into runs of letters and digits and single signs, and classifies each.
    fn new(text: &str) -> Self {
        let mut tokens = Tokens::default();
        let mut run_start: Option<usize> = None;
        for (at, c) in text.char_indices().chain([(text.len(), ' ')]) {
            if c.is_alphanumeric() || c == '°' {
                run_start.get_or_insert(at);
                continue;
            }
            if let Some(start) = run_start.take() {
                tokens.push(classify_run(&text[start..at]), start, at);
            }
            tokens.push(classify_sign(c), at, at + c.len_utf8());
        }
        tokens
    }

    fn push(&mut self, kind: Option<Kind>, start: usize, end: usize) {
        if let Some(kind) = kind {
            self.kinds.push(kind);
            self.spans.push((start, end));
        }
    }
}

/// Words that join the two ends of a range, like a dash ("du 30 juin au 2 juillet").
const RANGE_WORDS: &[&str] = &["to", "au", "al", "bis", "and", "et", "y", "e", "und", "till"];
/// Words that may stand between a day, a month and a year ("24th of", "5 de mayo de 2022").
const FILLER_WORDS: &[&str] = &["of", "de", "del"];
/// Folded suffixes of ordinal days ("24th", "1er", "2ème", "1º", "1°").
const ORDINALS: &[&str] = &["st", "nd", "rd", "th", "er", "re", "ere", "e", "eme", "o", "º", "ª", "°"];
/// Month names that are also common words, when written in lower case.
const WEAK_MONTHS: [&str; 5] = ["may", "mar", "set", "ago", "gen"];

/// Classifies a character outside words: separators are dropped, dashes join ranges.
fn classify_sign(c: char) -> Option<Kind> {
    match c {
        '.' | ',' => None,
        c if c.is_whitespace() => None,
        '-' | '‐' | '‑' | '–' | '—' => Some(Kind::Dash),
        _ => Some(Kind::Break),
    }
}

/// Classifies a run of letters and digits; None for a filler word that is simply skipped.
fn classify_run(run: &str) -> Option<Kind> {
    let digits = run.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return classify_word(run);
    }
    let suffix = fold_accents(&run[digits..]);
    let ordinal = !suffix.is_empty();
    if ordinal && !ORDINALS.contains(&suffix.as_str()) {
        return Some(Kind::Break);
    }
    let value: u32 = run[..digits].parse().unwrap_or(u32::MAX);
    Some(match (digits, ordinal) {
        (1 | 2, _) if (1..=31).contains(&value) => Kind::Day(value),
        (4, false) if YEARS.contains(&value) => Kind::Year(value),
        _ => Kind::Number,
    })
}

/// Classifies a word: a month name, a range word, a filler word (None) or a `Break`.
fn classify_word(word: &str) -> Option<Kind> {
    if word.chars().count() > 12 {
        return Some(Kind::Break);
    }
    let folded = fold_accents(word);
    if FILLER_WORDS.contains(&folded.as_str()) {
        return None;
    }
    if RANGE_WORDS.contains(&folded.as_str()) {
        return Some(Kind::Dash);
    }
    Some(MONTHS.get(folded.as_str()).map_or(Kind::Break, |&month| Kind::Month(month)))
}

// ---------------------------------------------------------------------------------------------
// Month names: one entry per month, its spellings folded (lower case, no accents)

#[rustfmt::skip]
const ENGLISH: [&str; 12] = [
    "january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul",
    "august aug", "september sep sept", "october oct", "november nov", "december dec",
];
#[rustfmt::skip]
const FRENCH: [&str; 12] = [
    "janvier janv", "fevrier fevr fev", "mars mar", "avril avr", "mai", "juin", "juillet juil",
    "aout", "septembre sept", "octobre oct", "novembre nov", "decembre dec",
];
#[rustfmt::skip]
const SPANISH: [&str; 12] = [
    "enero ene", "febrero feb", "marzo mar", "abril abr", "mayo may", "junio jun", "julio jul",
    "agosto ago", "septiembre setiembre sep sept set", "octubre oct", "noviembre nov", "diciembre dic",
];
#[rustfmt::skip]
const GERMAN: [&str; 12] = [
    "januar jan janner", "februar feb", "marz maerz mrz", "april apr", "mai", "juni jun", "juli jul",
    "august aug", "september sep sept", "oktober okt", "november nov", "dezember dez",
];
#[rustfmt::skip]
const ITALIAN: [&str; 12] = [
    "gennaio gen", "febbraio feb", "marzo mar", "aprile apr", "maggio mag", "giugno giu", "luglio lug",
    "agosto ago", "settembre set sett", "ottobre ott", "novembre nov", "dicembre dic",
];

/// Every spelling of every language, to its month number.
static MONTHS: LazyLock<HashMap<&'static str, u32>> = LazyLock::new(|| {
    let mut months = HashMap::new();
    for language in [ENGLISH, FRENCH, SPANISH, GERMAN, ITALIAN] {
        for (number, names) in (1..).zip(language) {
            months.extend(names.split_whitespace().map(|name| (name, number)));
        }
    }
    months
});

// ---------------------------------------------------------------------------------------------
// Date shapes over tokens

/// The first day, month name and year in any order, or day range, among `tokens`.
fn find_named(tokens: &Tokens) -> Option<Found> {
    (0..tokens.kinds.len()).find_map(|i| {
        let rest = &tokens.kinds[i..];
        let (date, used) = day_first(rest).or_else(|| month_first(rest)).or_else(|| year_first(rest))?;
        Some(Found { start: tokens.spans[i].0, end: tokens.spans[i + used - 1].1, date })
    })
}

/// "24 November 2022", "22-23 July 2021", "30 June - 2 July 2021".
fn day_first(kinds: &[Kind]) -> Option<(NaiveDate, usize)> {
    use Kind::{Dash, Day, Month, Year};
    match *kinds {
        [Day(d), Month(m), Year(y), ..] => Some((ymd(y, m, d)?, 3)),
        [Day(d), Dash, Day(_), Month(m), Year(y), ..] => Some((ymd(y, m, d)?, 5)),
        [Day(d1), Month(m1), Dash, Day(d2), Month(m2), Year(y), ..] => Some((range_start(d1, m1, d2, m2, y)?, 6)),
        _ => None,
    }
}

/// "November 24, 2022", "July 22-23, 2021", "November 29 – December 1, 2022".
fn month_first(kinds: &[Kind]) -> Option<(NaiveDate, usize)> {
    use Kind::{Dash, Day, Month, Year};
    match *kinds {
        [Month(m), Day(d), Year(y), ..] => Some((ymd(y, m, d)?, 3)),
        [Month(m), Day(d), Dash, Day(_), Year(y), ..] => Some((ymd(y, m, d)?, 5)),
        [Month(m1), Day(d1), Dash, Month(m2), Day(d2), Year(y), ..] => Some((range_start(d1, m1, d2, m2, y)?, 6)),
        _ => None,
    }
}

/// "2022 November 24".
fn year_first(kinds: &[Kind]) -> Option<(NaiveDate, usize)> {
    match *kinds {
        [Kind::Year(y), Kind::Month(m), Kind::Day(d), ..] => Some((ymd(y, m, d)?, 3)),
        _ => None,
    }
}

/// The first day of a range whose year is written only at its end; a range that crosses
/// new year ("30 December - 2 January 2022") starts in the year before.
fn range_start(d1: u32, m1: u32, d2: u32, m2: u32, year: u32) -> Option<NaiveDate> {
    let crosses_new_year = (m1, d1) > (m2, d2);
    ymd(year.checked_sub(u32::from(crosses_new_year))?, m1, d1)
}

/// The first "November 2021" that is not part of a broken date such as "32 May 2022", nor
/// a common word written in lower case ("you may 2022").
fn find_month_year(text: &str, tokens: &Tokens) -> Option<Found> {
    let kinds = &tokens.kinds;
    (0..kinds.len()).find_map(|i| {
        let Kind::Month(month) = kinds[i] else {
            return None;
        };
        if WEAK_MONTHS.contains(&&text[tokens.spans[i].0..tokens.spans[i].1]) {
            return None;
        }
        let Some(&Kind::Year(year)) = kinds.get(i + 1) else {
            return None;
        };
        let after_number = i > 0 && matches!(kinds[i - 1], Kind::Day(_) | Kind::Number);
        if after_number {
            return None;
        }
        let date = ymd(year, month, 1)?;
        Some(Found { start: tokens.spans[i].0, end: tokens.spans[i + 1].1, date })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::Sao_Paulo, Europe::Paris, UTC};

    /// Asserts every row: text, time zone, expected UTC instant (RFC 3339) or None.
    fn check(rows: &[(&str, Tz, Option<&str>)], format: Option<&str>) {
        for &(text, tz, expected) in rows {
            let expected = expected.map(|e| DateTime::parse_from_rfc3339(e).expect("valid row").to_utc());
            assert_eq!(parse_date(text, format, tz), expected, "text {text:?}, format {format:?}, tz {tz}");
        }
    }

    #[test]
    fn a_date_without_a_time_is_noon_there_so_every_zone_shows_its_day() {
        let noon = parse_date("24 November 2022", None, Paris).expect("a date");
        for hours in -11..=12 {
            let zone = FixedOffset::east_opt(hours * 3600).expect("an offset");
            assert_eq!(noon.with_timezone(&zone).day(), 24, "at UTC{hours:+}");
        }
        let before = parse_date("24 November 2022", None, Tz::Pacific__Kiritimati).expect("a date");
        assert_eq!(before.with_timezone(&Tz::Pacific__Kiritimati).day(), 24);
    }

    #[test]
    fn reads_rfc3339_and_iso_8601() {
        check(
            &[
                ("2022-11-24T10:30:00+01:00", UTC, Some("2022-11-24T09:30:00Z")),
                ("2022-11-24T10:30:00Z", Paris, Some("2022-11-24T10:30:00Z")),
                ("2022-11-24T10:30+01:00", UTC, Some("2022-11-24T09:30:00Z")),
                ("2022-11-24 10:30", Paris, Some("2022-11-24T09:30:00Z")),
                ("2022-11-24 10:30", UTC, Some("2022-11-24T10:30:00Z")),
                ("2022-11-24", Paris, Some("2022-11-24T11:00:00Z")),
                ("2022-06-01", Paris, Some("2022-06-01T10:00:00Z")),
                ("2022-11-24", UTC, Some("2022-11-24T12:00:00Z")),
                ("Posted 2022-11-24T10:30:00.25-05:00 by admin", UTC, Some("2022-11-24T15:30:00.25Z")),
                ("updated: 2022-06-01, 08:00", UTC, Some("2022-06-01T08:00:00Z")),
                ("2022-11-24T25:00:00Z", UTC, Some("2022-11-24T12:00:00Z")),
                ("2022-13-45", UTC, None),
                ("12022-11-245", UTC, None),
            ],
            None,
        );
    }

    #[test]
    fn reads_rfc_2822_with_numeric_and_named_zones() {
        check(
            &[
                ("Thu, 24 Nov 2022 10:30:00 +0100", UTC, Some("2022-11-24T09:30:00Z")),
                ("Thu, 24 Nov 2022 10:30:00 GMT", Paris, Some("2022-11-24T10:30:00Z")),
                ("Thu, 24 Nov 2022 10:30:00 UTC", Paris, Some("2022-11-24T10:30:00Z")),
                ("Thu, 24 Nov 2022 10:30:00 UT", Paris, Some("2022-11-24T10:30:00Z")),
                ("Thu, 24 Nov 2022 10:30:00 EST", UTC, Some("2022-11-24T15:30:00Z")),
                ("Thu, 24 Nov 2022 10:30:00 EDT", UTC, Some("2022-11-24T14:30:00Z")),
                ("Thu, 24 Nov 2022 10:30:00 PST", UTC, Some("2022-11-24T18:30:00Z")),
                ("Thu, 24 Nov 2022 10:30:00 CET", UTC, Some("2022-11-24T09:30:00Z")),
                ("24 Nov 2022 10:30 -0800", UTC, Some("2022-11-24T18:30:00Z")),
                ("Thu, 24 Nov 2022 10:30:00", Paris, Some("2022-11-24T09:30:00Z")),
                ("Thu, 24 Nov 2022 10:30:00 GMT+01:00", UTC, Some("2022-11-24T09:30:00Z")),
            ],
            None,
        );
    }

    #[test]
    fn reads_day_month_name_year_in_five_languages() {
        let day = |text| (text, UTC, Some("2022-11-24T12:00:00Z"));
        check(
            &[
                day("24 November 2022"),
                day("November 24, 2022"),
                day("Nov 24th, 2022"),
                day("Nov. 24, 2022"),
                day("24th of November 2022"),
                day("24 NOVEMBRE 2022"),
                day("24 novembre 2022"),
                day("24. November 2022"),
                day("Thursday, 24 November 2022"),
                day("mercredi 24 novembre 2022"),
                day("2022 November 24"),
                day("24 noviembre 2022"),
                day("24 nov. 2022"),
                ("08 June 2017", UTC, Some("2017-06-08T12:00:00Z")),
                ("11 october 2021", UTC, Some("2021-10-11T12:00:00Z")),
                ("1er mars 2022", UTC, Some("2022-03-01T12:00:00Z")),
                ("5 de mayo de 2022", UTC, Some("2022-05-05T12:00:00Z")),
                ("7 de julio del 2023", UTC, Some("2023-07-07T12:00:00Z")),
                ("1º de mayo de 2022", UTC, Some("2022-05-01T12:00:00Z")),
                ("17 Septiembre 2024", UTC, Some("2024-09-17T12:00:00Z")),
                ("17 setiembre 2024", UTC, Some("2024-09-17T12:00:00Z")),
                ("3. März 2021", UTC, Some("2021-03-03T12:00:00Z")),
                ("3. Maerz 2021", UTC, Some("2021-03-03T12:00:00Z")),
                ("3. Marz 2021", UTC, Some("2021-03-03T12:00:00Z")),
                ("12. Okt. 2022", UTC, Some("2022-10-12T12:00:00Z")),
                ("2 giugno 2021", UTC, Some("2021-06-02T12:00:00Z")),
                ("1° giugno 2021", UTC, Some("2021-06-01T12:00:00Z")),
                ("5 ago 2022", UTC, Some("2022-08-05T12:00:00Z")),
                ("12 dic 2022", UTC, Some("2022-12-12T12:00:00Z")),
                ("Sept 5, 2022", UTC, Some("2022-09-05T12:00:00Z")),
                ("5 févr. 2022", UTC, Some("2022-02-05T12:00:00Z")),
                ("5 fevrier 2022", UTC, Some("2022-02-05T12:00:00Z")),
                ("15 janv 2022", UTC, Some("2022-01-15T12:00:00Z")),
                ("15 août 2022", UTC, Some("2022-08-15T12:00:00Z")),
                ("15 aout 2022", UTC, Some("2022-08-15T12:00:00Z")),
                ("3 déc. 2022", UTC, Some("2022-12-03T12:00:00Z")),
                ("3 decembre 2022", UTC, Some("2022-12-03T12:00:00Z")),
                ("29 February 2024", UTC, Some("2024-02-29T12:00:00Z")),
            ],
            None,
        );
    }

    #[test]
    fn reads_a_time_written_after_the_date() {
        check(
            &[
                ("24 November 2022, 15:45", UTC, Some("2022-11-24T15:45:00Z")),
                ("November 24, 2022 at 3:30 pm", UTC, Some("2022-11-24T15:30:00Z")),
                ("November 24, 2022 12:05 a.m.", UTC, Some("2022-11-24T00:05:00Z")),
                ("24 novembre 2022 à 10h30", Paris, Some("2022-11-24T09:30:00Z")),
                ("24 November 2022 12:00-14:00", UTC, Some("2022-11-24T12:00:00Z")),
                ("24 November 2022 10:30 Estrasburgo", UTC, Some("2022-11-24T10:30:00Z")),
                ("24 November 2022 13:30 pm", UTC, Some("2022-11-24T12:00:00Z")),
            ],
            None,
        );
    }

    #[test]
    fn reads_month_and_year_alone_as_the_first_day() {
        check(
            &[
                ("November 2021", UTC, Some("2021-11-01T12:00:00Z")),
                ("novembre 2021", UTC, Some("2021-11-01T12:00:00Z")),
                ("November 2021", Paris, Some("2021-11-01T11:00:00Z")),
                ("Project summary, August 2020 (.pdf)", UTC, Some("2020-08-01T12:00:00Z")),
                ("May 2021", UTC, Some("2021-05-01T12:00:00Z")),
                ("Mai 2019", UTC, Some("2019-05-01T12:00:00Z")),
                ("Report, March 2020, published 5 May 2022", UTC, Some("2022-05-05T12:00:00Z")),
                ("Annual report (June 2019), updated 2020-01-15", UTC, Some("2020-01-15T12:00:00Z")),
            ],
            None,
        );
    }

    #[test]
    fn reads_the_first_day_of_a_range() {
        check(
            &[
                ("22-23 July 2021", UTC, Some("2021-07-22T12:00:00Z")),
                ("29-30 November 2022", UTC, Some("2022-11-29T12:00:00Z")),
                ("22–23 July 2021", UTC, Some("2021-07-22T12:00:00Z")),
                ("22 and 23 July 2021", UTC, Some("2021-07-22T12:00:00Z")),
                ("30 June - 2 July 2021", UTC, Some("2021-06-30T12:00:00Z")),
                ("29 November – 1 December 2022", UTC, Some("2022-11-29T12:00:00Z")),
                ("30 December 2021 - 2 January 2022", UTC, Some("2021-12-30T12:00:00Z")),
                ("30 December - 2 January 2022", UTC, Some("2021-12-30T12:00:00Z")),
                ("12-13 May 2022", UTC, Some("2022-05-12T12:00:00Z")),
                ("July 22-23, 2021", UTC, Some("2021-07-22T12:00:00Z")),
                ("November 29 – December 1, 2022", UTC, Some("2022-11-29T12:00:00Z")),
                ("du 30 juin au 2 juillet 2021", UTC, Some("2021-06-30T12:00:00Z")),
                ("del 30 de junio al 2 de julio de 2022", UTC, Some("2022-06-30T12:00:00Z")),
                ("5 y 6 de mayo de 2022", UTC, Some("2022-05-05T12:00:00Z")),
                ("22-23 July 2021", Paris, Some("2021-07-22T10:00:00Z")),
            ],
            None,
        );
    }

    #[test]
    fn reads_the_first_date_inside_other_text() {
        check(
            &[
                ("24 November 2022 Strasbourg, France", UTC, Some("2022-11-24T12:00:00Z")),
                ("headline 17 March 2017 San José, Costa Rica", UTC, Some("2017-03-17T12:00:00Z")),
                ("Published on 5 May 2022", UTC, Some("2022-05-05T12:00:00Z")),
                ("Strasbourg, France 24 November 2022", UTC, Some("2022-11-24T12:00:00Z")),
                ("Estrasburgo 17 Septiembre 2024", UTC, Some("2024-09-17T12:00:00Z")),
                ("Webinar 3 May 2021, follow-up 5 June 2021", UTC, Some("2021-05-03T12:00:00Z")),
                ("1 January 2020, revised 2021-03-04", UTC, Some("2020-01-01T12:00:00Z")),
                ("revised 2021-03-04, first 1 January 2020", UTC, Some("2021-03-04T12:00:00Z")),
                ("24 November 2022 Strasbourg, France", Paris, Some("2022-11-24T11:00:00Z")),
                ("Published on 5 May 2022", Paris, Some("2022-05-05T10:00:00Z")),
            ],
            None,
        );
    }

    #[test]
    fn finds_no_date_where_there_is_none() {
        let none = |text| (text, UTC, None);
        check(
            &[
                none(""),
                none("12-13 May: International conference"),
                none("32 May 2022"),
                none("31 April 2022"),
                none("29 February 2023"),
                none("Budapest Convention"),
                none("you may want to read this"),
                none("you may 2022 read this"),
                none("20/04/2016"),
                none("04.05.2022"),
                none("2022"),
                none("November"),
                none("24 November"),
                none("Room 101, 10:30"),
                none("0900 November 24"),
            ],
            None,
        );
    }

    #[test]
    fn reads_numeric_and_named_dates_with_a_format() {
        check(&[("20/04/2016", Paris, Some("2016-04-20T10:00:00Z"))], Some("%d/%m/%Y"));
        check(&[("Date: 20/04/2016 - Paris", UTC, Some("2016-04-20T12:00:00Z"))], Some("%d/%m/%Y"));
        check(&[("120/04/2016", UTC, None)], Some("%d/%m/%Y"));
        check(&[("no date here", UTC, None)], Some("%d/%m/%Y"));
        check(&[("24 November 2022", UTC, None)], Some("%d/%m/%Y"));
        check(&[("04.05.2022", UTC, Some("2022-05-04T12:00:00Z"))], Some("%d.%m.%Y"));
        check(&[("04.05.2022", UTC, Some("2022-04-05T12:00:00Z"))], Some("%m.%d.%Y"));
        check(&[("20/04/2016 14:30", Paris, Some("2016-04-20T12:30:00Z"))], Some("%d/%m/%Y %H:%M"));
        check(&[("Le 24 November 2022", UTC, Some("2022-11-24T12:00:00Z"))], Some("%d %B %Y"));
        check(&[("le 24 novembre 2022", UTC, Some("2022-11-24T12:00:00Z"))], Some("%d %B %Y"));
        check(&[("24 November 20221", UTC, None)], Some("%d %B %Y"));
        check(&[("Issue of November 2021", UTC, Some("2021-11-01T12:00:00Z"))], Some("%B %Y"));
        let with_offset = "%Y-%m-%dT%H:%M:%S%z";
        check(&[("2022-11-24T10:30:00+0100", UTC, Some("2022-11-24T09:30:00Z"))], Some(with_offset));
        check(&[("24/11/2022", UTC, None)], Some("%Q %d"));
    }

    #[test]
    fn steps_over_daylight_saving_gaps_and_takes_the_earlier_of_ambiguous_times() {
        check(
            &[
                ("2022-03-27 02:30", Paris, Some("2022-03-27T01:00:00Z")),
                ("2022-10-30 02:30", Paris, Some("2022-10-30T00:30:00Z")),
                ("4 November 2018", Sao_Paulo, Some("2018-11-04T14:00:00Z")),
            ],
            None,
        );
    }

    #[test]
    fn never_panics_on_odd_text() {
        let long_dashes = "1-".repeat(5_000);
        let long_months = "Nov ".repeat(3_000);
        let long_letters = "a".repeat(10_000);
        let odd = [
            "",
            "0",
            "T",
            "\u{0}",
            "99999999999999999999999",
            "9999-99-99",
            "0000-00-00",
            "🎉🎉 24 🎉 🎉",
            "24 November 99999",
            "-",
            "–––",
            "1st",
            "31st of",
            "٣ مايو ٢٠٢٢",
            &long_dashes,
            &long_months,
            &long_letters,
        ];
        for text in odd {
            for format in [None, Some("%d/%m/%Y"), Some("%d %B %Y"), Some("%"), Some("")] {
                assert_eq!(parse_date(text, format, Paris), None, "text {text:?}, format {format:?}");
            }
        }
    }

    #[test]
    fn finds_a_date_at_the_end_of_a_long_text() {
        let text = format!("{} 24 novembre 2022 🎉", "mot ".repeat(2_500));
        let expected = DateTime::parse_from_rfc3339("2022-11-24T12:00:00Z").map(|d| d.to_utc()).ok();
        assert_eq!(parse_date(&text, None, UTC), expected);
    }
}
