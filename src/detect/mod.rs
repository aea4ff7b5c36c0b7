//! Detection: what a page offers as a feed when nobody has written selectors
//! for it. In order of preference: the feeds it advertises
//! ([`advertised`]), the items of its structured data ([`structured`]:
//! JSON-LD, microdata, h-entry), and the repeated blocks of its markup
//! ([`blocks`]).
//!
//! Pure: it reads one page's HTML and fetches nothing (checking advertised
//! feeds is the caller's). It proposes; `extract` reads items with what it
//! proposes, so a proposal yields exactly what `preview` would.

pub mod advertised;
pub mod blocks;
pub mod structured;

use scraper::{Html, Selector};
use url::Url;

use crate::config::{Css, FieldRule, FieldRules, SelectRules};
use crate::extract::{self, RawItem};
use crate::import::toml_string;
use crate::interstitial::Interstitial;

pub use advertised::AdvertisedFeed;

/// How the items were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    JsonLd,
    Microdata,
    Microformats,
    Markup,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::JsonLd => "JSON-LD structured data",
            Method::Microdata => "microdata",
            Method::Microformats => "h-entry microformats",
            Method::Markup => "repeated blocks of the markup",
        })
    }
}

/// One field of a proposal: a selector inside the item (or the item itself),
/// and the attribute to read instead of the text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProposedField {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub css: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attr: Option<String>,
    /// A chrono pattern, for numeric dates (`%d/%m/%Y`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl ProposedField {
    pub fn css(css: &str) -> ProposedField {
        ProposedField { css: Some(css.to_string()), attr: None, format: None }
    }

    pub fn css_attr(css: &str, attr: &str) -> ProposedField {
        ProposedField { css: Some(css.to_string()), attr: Some(attr.to_string()), format: None }
    }

    pub fn itself() -> ProposedField {
        ProposedField { css: None, attr: None, format: None }
    }

    pub fn attr_of_itself(attr: &str) -> ProposedField {
        ProposedField { css: None, attr: Some(attr.to_string()), format: None }
    }

    /// The TOML value: a plain selector string, or an inline table.
    fn toml(&self) -> String {
        if let (Some(css), None, None) = (&self.css, &self.attr, &self.format) {
            return toml_string(css);
        }
        let keys = [("css", &self.css), ("attr", &self.attr), ("format", &self.format)];
        let pairs: Vec<String> = keys
            .iter()
            .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key} = {}", toml_string(v))))
            .collect();
        if pairs.is_empty() { "{}".to_string() } else { format!("{{ {} }}", pairs.join(", ")) }
    }

    fn compile(&self) -> Option<FieldRule> {
        let css = match &self.css {
            Some(text) => Some(Css { selector: Selector::parse(text).ok()?, text: text.clone() }),
            None => None,
        };
        Some(FieldRule { attr: self.attr.clone(), format: self.format.clone(), ..FieldRule::of(css) })
    }
}

/// A `[source.select]` table proposed for a page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProposedRules {
    pub item: String,
    pub title: ProposedField,
    pub link: ProposedField,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<ProposedField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<ProposedField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<ProposedField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ProposedField>,
}

impl ProposedRules {
    pub fn new(item: &str, title: ProposedField, link: ProposedField) -> ProposedRules {
        ProposedRules { item: item.to_string(), title, link, date: None, location: None, summary: None, image: None }
    }

    /// The rules as `extract` takes them; `None` if a selector does not compile.
    pub fn compile(&self) -> Option<SelectRules> {
        let item = Css { selector: Selector::parse(&self.item).ok()?, text: self.item.clone() };
        let optional = |field: &Option<ProposedField>| match field {
            Some(field) => field.compile().map(Some),
            None => Some(None),
        };
        let fields = FieldRules {
            title: Some(self.title.compile()?),
            link: Some(self.link.compile()?),
            date: optional(&self.date)?,
            location: optional(&self.location)?,
            summary: optional(&self.summary)?,
            image: optional(&self.image)?,
            ..FieldRules::default()
        };
        Some(SelectRules { item, fields })
    }

    /// The `[source.select]` table as TOML lines.
    pub fn toml(&self) -> String {
        let mut out = format!("[source.select]\nitem = {}\n", toml_string(&self.item));
        let fields = [
            ("title", Some(&self.title)),
            ("link", Some(&self.link)),
            ("date", self.date.as_ref()),
            ("location", self.location.as_ref()),
            ("summary", self.summary.as_ref()),
            ("image", self.image.as_ref()),
        ];
        for (name, field) in fields {
            if let Some(field) = field {
                out.push_str(&format!("{name} = {}\n", field.toml()));
            }
        }
        out
    }
}

/// What was found on the page besides its advertised feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Selectors that read the items (microdata, h-entry or markup).
    Selectors { method: Method, rules: Box<ProposedRules> },
    /// Items read from JSON-LD, which no selector can reach: the source uses `select = "auto"`.
    JsonLd,
}

impl Found {
    /// The choice in one line, for the warning when a later run chooses otherwise.
    pub fn describe(&self) -> String {
        match self {
            Found::Selectors { rules, .. } => rules.toml().lines().skip(1).collect::<Vec<_>>().join("; "),
            Found::JsonLd => "JSON-LD structured data".to_string(),
        }
    }
}

/// Everything detection saw on one page: the feeds it advertises, and its
/// items or why there are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The page's `<title>` (or `og:site_name`), for naming a source.
    pub title: Option<String>,
    pub feeds: Vec<AdvertisedFeed>,
    pub items: Result<Detected, DetectError>,
}

/// The items found and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub found: Found,
    pub items: Vec<RawItem>,
}

/// Why detection found no items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    #[error("{url} served {what} instead of its content")]
    NotContent { what: Interstitial, url: Url },
    #[error("no list of items was found on {url}{}", advertising(*.feeds))]
    NothingFound { url: Url, feeds: usize },
}

fn advertising(feeds: usize) -> String {
    match feeds {
        0 => String::new(),
        1 => " (it advertises a feed: use it with `kind = \"feed\"`)".to_string(),
        n => format!(" (it advertises {n} feeds: use one with `kind = \"feed\"`)"),
    }
}

/// Structured data must give at least this many items to be taken as the page's list.
const MIN_STRUCTURED_ITEMS: usize = 2;

/// Detects the feeds and items of `html`, the page at `page_url`, reading at most `max_items`.
pub fn detect(html: &str, page_url: &Url, max_items: usize) -> Detection {
    let document = crate::parse::document(html).html;
    let base = extract::document_base(&document, page_url);
    let feeds = advertised::find(&document, &base);
    let items = detect_items(&document, &base, max_items, feeds.len());
    Detection { title: page_title(&document), feeds, items }
}

/// The items of an already parsed page (for `select = "auto"`), links resolved against `base`.
pub fn items_in(document: &Html, base: &Url, max_items: usize) -> Result<Detected, DetectError> {
    detect_items(document, base, max_items, advertised::find(document, base).len())
}

static TITLE: std::sync::LazyLock<Selector> =
    std::sync::LazyLock::new(|| Selector::parse("title, meta[property='og:site_name']").expect("valid"));

fn page_title(document: &Html) -> Option<String> {
    document
        .select(&TITLE)
        .map(|element| match element.value().attr("content") {
            Some(content) => crate::text::clean_text(content),
            None => crate::text::element_text(element),
        })
        .find(|title| !title.is_empty())
}

fn detect_items(document: &Html, base: &Url, max_items: usize, feeds: usize) -> Result<Detected, DetectError> {
    let mut from_json_ld = structured::json_ld(document, base);
    if from_json_ld.len() >= MIN_STRUCTURED_ITEMS {
        from_json_ld.truncate(max_items);
        return Ok(Detected { found: Found::JsonLd, items: from_json_ld });
    }
    // A challenge or login page can hold a few links that look like a list.
    if let Some(what) = crate::interstitial::recognise(document) {
        return Err(DetectError::NotContent { what, url: base.clone() });
    }
    let proposals =
        [(Method::Microdata, structured::microdata(document)), (Method::Microformats, structured::h_entries(document))];
    let proposal = proposals
        .into_iter()
        .find_map(|(method, rules)| rules.map(|rules| (method, rules)))
        .or_else(|| blocks::propose(document, base).map(|rules| (Method::Markup, rules)));
    if let Some((method, rules)) = proposal
        && let Some(compiled) = rules.compile()
    {
        let items = extract::items_of(document, base, &compiled, max_items);
        if !items.is_empty() {
            return Ok(Detected { found: Found::Selectors { method, rules: Box::new(rules) }, items });
        }
    }
    Err(DetectError::NothingFound { url: base.clone(), feeds })
}
