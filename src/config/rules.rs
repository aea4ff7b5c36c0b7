//! Config stage: the extraction rules of a source (`[source.select]`,
//! `[source.detail]`, `[source.paginate]`) as compiled selectors and regexes.
//!
//! Parsing only; applying the rules to a page is `extract`'s job.

use regex::Regex;
use scraper::Selector;

use super::reader::{Diagnostics, Table, Value};
use toml::de::DeValue;

/// A compiled CSS selector and the text it came from (for messages).
#[derive(Debug, Clone)]
pub struct Css {
    pub selector: Selector,
    pub text: String,
}

/// How one field is taken from an item element.
#[derive(Debug, Clone)]
pub struct FieldRule {
    /// `None`: the item element itself.
    pub css: Option<Css>,
    /// Take this attribute instead of the text (`href`, `datetime`, `src`).
    pub attr: Option<String>,
    /// Applied to the text: group 1 when the regex has a group, else the whole match.
    pub regex: Option<Regex>,
    /// A chrono pattern for dates (`%d/%m/%Y`).
    pub format: Option<String>,
    /// `"auto"` (article pages only): the field comes from the page's main
    /// content as `octofeed article` finds it, not from a selector.
    pub auto: bool,
}

impl FieldRule {
    /// A rule that reads `css`'s text (or the item itself when `None`).
    pub fn of(css: Option<Css>) -> FieldRule {
        FieldRule { css, attr: None, regex: None, format: None, auto: false }
    }
}

/// The `[source.select]` of an html source: hand-written rules, or `"auto"`:
/// the page's items as `octofeed detect` finds them, at every run.
#[derive(Debug, Clone)]
pub enum Selection {
    Rules(Box<SelectRules>),
    Auto,
}

/// The optional fields every rule set may name; `title` and `link` are required
/// in `[source.select]` only.
#[derive(Debug, Clone, Default)]
pub struct FieldRules {
    pub title: Option<FieldRule>,
    pub link: Option<FieldRule>,
    pub date: Option<FieldRule>,
    pub location: Option<FieldRule>,
    pub summary: Option<FieldRule>,
    pub content: Option<FieldRule>,
    pub author: Option<FieldRule>,
    pub category: Option<FieldRule>,
    pub image: Option<FieldRule>,
    pub enclosure: Option<FieldRule>,
}

impl FieldRule {
    /// The rule as the config wrote it, for fingerprints: `css|attr|regex|format|auto`.
    fn written(&self) -> String {
        let css = self.css.as_ref().map_or("", |css| css.text.as_str());
        let regex = self.regex.as_ref().map_or("", Regex::as_str);
        let (attr, format) = (self.attr.as_deref().unwrap_or(""), self.format.as_deref().unwrap_or(""));
        format!("{css}|{attr}|{regex}|{format}|{}", self.auto)
    }
}

impl FieldRules {
    /// The rules as the config wrote them, one `name=rule` line per field set,
    /// for fingerprints: the same text whatever version of the selector crate
    /// compiled them.
    pub fn written(&self) -> String {
        self.named().map(|(name, rule)| format!("{name}={}\n", rule.written())).collect()
    }

    /// Every rule that is set.
    pub fn fields(&self) -> impl Iterator<Item = &FieldRule> {
        self.named().map(|(_, rule)| rule)
    }

    /// Every rule that is set, with its field's name.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, &FieldRule)> {
        [
            ("title", &self.title),
            ("link", &self.link),
            ("date", &self.date),
            ("location", &self.location),
            ("summary", &self.summary),
            ("content", &self.content),
            ("author", &self.author),
            ("category", &self.category),
            ("image", &self.image),
            ("enclosure", &self.enclosure),
        ]
        .into_iter()
        .filter_map(|(name, rule)| Some((name, rule.as_ref()?)))
    }
}

/// `[source.select]`: one item per match of `item`.
#[derive(Debug, Clone)]
pub struct SelectRules {
    pub item: Css,
    pub fields: FieldRules,
}

/// `[source.paginate]`.
#[derive(Debug, Clone)]
pub struct Paginate {
    pub next: Css,
    pub max_pages: usize,
}

pub fn css(text: &str, value: Value, what: &str, diag: &mut Diagnostics) -> Option<Css> {
    match Selector::parse(text) {
        Ok(selector) => Some(Css { selector, text: text.to_string() }),
        Err(error) => {
            // scraper words some errors as its own bug; its variant name says more.
            let reason = match error.to_string() {
                message if message.contains("report this") => format!("{error:?}"),
                message => message,
            };
            diag.error(value.span(), format!("bad CSS selector `{text}` in `{what}`: {reason}"));
            None
        }
    }
}

/// Reads the field rules of a `select` or `detail` table (not `item`); only
/// `detail` fields may be `"auto"`.
pub fn field_rules(table: &mut Table, allow_auto: bool, diag: &mut Diagnostics) -> FieldRules {
    let mut field = |key: &'static str| {
        let value = table.get(key)?;
        field_rule(value, &format!("{}.{key}", table.name), allow_auto, diag)
    };
    FieldRules {
        title: field("title"),
        link: field("link"),
        date: field("date"),
        location: field("location"),
        summary: field("summary"),
        content: field("content"),
        author: field("author"),
        category: field("category"),
        image: field("image"),
        enclosure: field("enclosure"),
    }
}

/// A field is a selector string, or a table `{ css, attr, regex, format }`.
fn field_rule(value: Value, name: &str, allow_auto: bool, diag: &mut Diagnostics) -> Option<FieldRule> {
    match value.get_ref() {
        DeValue::String(text) if text == "auto" => {
            if !allow_auto {
                diag.error(value.span(), format!("`{name}` cannot be \"auto\": only `[source.detail]` fields can (`select = \"auto\"` detects a whole listing)"));
                return None;
            }
            Some(FieldRule { auto: true, ..FieldRule::of(None) })
        }
        DeValue::String(text) => Some(FieldRule::of(Some(css(text, value, name, diag)?))),
        DeValue::Table(_) => {
            let mut table = Table::from_value(value, name.to_string(), diag)?;
            let rule = field_table(&mut table, diag);
            table.finish(diag);
            rule
        }
        other => {
            let found = other.type_str();
            diag.error(value.span(), format!("`{name}` must be a selector or a table, found {found}"));
            None
        }
    }
}

fn field_table(table: &mut Table, diag: &mut Diagnostics) -> Option<FieldRule> {
    let name = table.name.clone();
    let css_value = table.get("css");
    let css = match (css_value, table.string("css", diag)) {
        (Some(value), Some(text)) => Some(css(text.get_ref(), value, &name, diag)?),
        _ => None,
    };
    let regex = match table.get("regex") {
        Some(value) => {
            let text = table.string("regex", diag)?;
            match Regex::new(text.get_ref()) {
                Ok(regex) => Some(regex),
                Err(error) => {
                    diag.error(value.span(), format!("bad regex in `{name}.regex`: {error}"));
                    return None;
                }
            }
        }
        None => None,
    };
    let attr = table.string("attr", diag).map(|attr| attr.into_inner());
    let format = table.string("format", diag).map(|format| format.into_inner());
    Some(FieldRule { css, attr, regex, format, auto: false })
}

/// `[source.select]`: requires `item`, `title` and `link`.
pub fn select_rules(mut table: Table, diag: &mut Diagnostics) -> Option<SelectRules> {
    let name = table.name.clone();
    let item = match (table.get("item"), table.string("item", diag)) {
        (Some(value), Some(text)) => css(text.get_ref(), value, &format!("{name}.item"), diag),
        _ => {
            diag.error(table.span(), format!("`{name}` needs an `item` selector"));
            None
        }
    };
    let fields = field_rules(&mut table, false, diag);
    for (present, key) in [(fields.title.is_some(), "title"), (fields.link.is_some(), "link")] {
        if !present && !table.contains(key) {
            diag.error(table.span(), format!("`{name}` needs a `{key}` selector"));
        }
    }
    table.finish(diag);
    Some(SelectRules { item: item?, fields })
}

/// `[source.detail]`: the same fields as `select`, none required, no `item`.
pub fn detail_rules(mut table: Table, diag: &mut Diagnostics) -> FieldRules {
    let fields = field_rules(&mut table, true, diag);
    table.finish(diag);
    fields
}

/// `[source.paginate]`: `next` (required) and `max_pages` (default 3).
pub fn paginate(mut table: Table, diag: &mut Diagnostics) -> Option<Paginate> {
    let name = table.name.clone();
    let next = match (table.get("next"), table.string("next", diag)) {
        (Some(value), Some(text)) => css(text.get_ref(), value, &format!("{name}.next"), diag),
        _ => {
            diag.error(table.span(), format!("`{name}` needs a `next` selector"));
            None
        }
    };
    let max_pages = table.bounded("max_pages", super::bounds::MAX_PAGES, diag).unwrap_or(3) as usize;
    table.finish(diag);
    Some(Paginate { next: next?, max_pages })
}
