//! Config stage, low level: walks a parsed TOML document with spans, so every
//! problem can be reported with its file and line, all of them in one pass.
//!
//! It knows TOML shapes (string, integer, table, array), not octofeed's keys:
//! `config::load` says which keys exist and what they mean.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One problem in a config file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line; 0 when the problem is not tied to a place (an unreadable file).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            let (file, line, column) = (self.file.display(), self.line, self.column);
            write!(f, "{file}:{line}:{column}: {}", self.message)
        }
    }
}

/// Collects errors for one file and turns byte spans into lines.
pub struct Diagnostics<'t> {
    file: PathBuf,
    text: &'t str,
    errors: Vec<ConfigError>,
    /// `--force`: looser bounds where the config allows them.
    pub force: bool,
}

impl<'t> Diagnostics<'t> {
    pub fn new(file: &Path, text: &'t str) -> Self {
        Diagnostics { file: file.to_path_buf(), text, errors: Vec::new(), force: false }
    }

    /// The 1-based line and column of byte `offset`.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let start = offset.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let column = before.rfind('\n').map_or(start, |newline| start - newline - 1) + 1;
        (line, column)
    }

    /// Records `message` at the start of `span`.
    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = self.position(span.start);
        self.errors.push(ConfigError { file: self.file.clone(), line, column, message: message.into() });
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }
}

/// A TOML table being read: remembers which keys were asked for so the rest
/// can be reported as unknown.
pub struct Table<'a, 'i> {
    entries: &'a DeTable<'i>,
    span: Range<usize>,
    /// Dotted name for messages: `source "octopus".select`.
    pub name: String,
    used: BTreeSet<&'static str>,
}

/// A value with its span, as handed out by [`Table`].
pub type Value<'a, 'i> = &'a Spanned<DeValue<'i>>;

impl<'a, 'i> Table<'a, 'i> {
    pub fn new(entries: &'a DeTable<'i>, span: Range<usize>, name: impl Into<String>) -> Self {
        Table { entries, span, name: name.into(), used: BTreeSet::new() }
    }

    /// Reads a value that must be a table.
    pub fn from_value(value: Value<'a, 'i>, name: String, diag: &mut Diagnostics) -> Option<Self> {
        match value.get_ref() {
            DeValue::Table(entries) => Some(Table::new(entries, value.span(), name)),
            other => {
                let found = other.type_str();
                diag.error(value.span(), format!("`{name}` must be a table, found {found}"));
                None
            }
        }
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The raw value of `key`, marking the key as known.
    pub fn get(&mut self, key: &'static str) -> Option<Value<'a, 'i>> {
        self.used.insert(key);
        self.entries.get(key)
    }

    /// Whether the table has `key` (without marking it known).
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    pub fn string(&mut self, key: &'static str, diag: &mut Diagnostics) -> Option<Spanned<String>> {
        let value = self.get(key)?;
        match value.get_ref().as_str() {
            Some(text) => Some(Spanned::new(value.span(), text.to_string())),
            None => {
                self.wrong_type(key, value, "a string", diag);
                None
            }
        }
    }

    pub fn unsigned(&mut self, key: &'static str, diag: &mut Diagnostics) -> Option<u64> {
        let value = self.get(key)?;
        let parsed = value.get_ref().as_integer().and_then(|int| {
            let digits = int.as_str().replace('_', "");
            u64::from_str_radix(&digits, int.radix()).ok()
        });
        if parsed.is_none() {
            self.wrong_type(key, value, "a non-negative integer", diag);
        }
        parsed
    }

    /// A non-negative integer that must lie in `range`; outside it is an error naming the bounds.
    pub fn bounded(
        &mut self,
        key: &'static str,
        range: std::ops::RangeInclusive<u64>,
        diag: &mut Diagnostics,
    ) -> Option<u64> {
        let number = self.unsigned(key, diag)?;
        if range.contains(&number) {
            return Some(number);
        }
        let span = self.entries.get(key).map_or(self.span(), |value| value.span());
        let (name, low, high) = (&self.name, range.start(), range.end());
        diag.error(span, format!("`{name}.{key}` must be between {low} and {high}, found {number}"));
        None
    }

    pub fn boolean(&mut self, key: &'static str, diag: &mut Diagnostics) -> Option<bool> {
        let value = self.get(key)?;
        let parsed = value.get_ref().as_bool();
        if parsed.is_none() {
            self.wrong_type(key, value, "true or false", diag);
        }
        parsed
    }

    /// An array of strings; a single string is accepted as a one-element array.
    pub fn strings(&mut self, key: &'static str, diag: &mut Diagnostics) -> Option<Vec<Spanned<String>>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::String(text) => Some(vec![Spanned::new(value.span(), text.to_string())]),
            DeValue::Array(items) => {
                let mut strings = Vec::with_capacity(items.len());
                for item in items.iter() {
                    match item.get_ref().as_str() {
                        Some(text) => strings.push(Spanned::new(item.span(), text.to_string())),
                        None => diag.error(item.span(), format!("`{}.{key}` must hold strings", self.name)),
                    }
                }
                Some(strings)
            }
            _ => {
                self.wrong_type(key, value, "an array of strings", diag);
                None
            }
        }
    }

    pub fn table(&mut self, key: &'static str, diag: &mut Diagnostics) -> Option<Table<'a, 'i>> {
        let value = self.get(key)?;
        Table::from_value(value, format!("{}.{key}", self.name), diag)
    }

    /// Every element of an array of tables (`[[source]]`).
    pub fn tables(&mut self, key: &'static str, diag: &mut Diagnostics) -> Vec<Table<'a, 'i>> {
        let Some(value) = self.get(key) else {
            return Vec::new();
        };
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(key, value, "an array of tables ([[...]])", diag);
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| Table::from_value(item, format!("{key}[{index}]"), diag))
            .collect()
    }

    fn wrong_type(&self, key: &str, value: Value, expected: &str, diag: &mut Diagnostics) {
        let found = value.get_ref().type_str();
        diag.error(value.span(), format!("`{}.{key}` must be {expected}, found {found}", self.name));
    }

    /// Reports every key that was never asked for.
    pub fn finish(self, diag: &mut Diagnostics) {
        for (key, _) in self.entries.iter() {
            if !self.used.contains(key.get_ref().as_ref()) {
                let known = self.used.iter().copied().collect::<Vec<_>>().join(", ");
                diag.error(
                    key.span(),
                    format!("unknown key `{}` in `{}` (known keys: {known})", key.get_ref(), self.name),
                );
            }
        }
    }
}
