//! Items found in the markup: the repeated blocks of a listing page that each
//! hold one primary article link, and the selectors that read them.
//!
//! Candidates are groups of sibling elements of one shape (tag and shared
//! classes) that hold links. Each group gets a selector path, every element
//! that path matches is scored as one item (a title-like link, a heading, a
//! date, a summary), and navigation, footers, tag clouds, pagers and share
//! links score low by what they are and what they say. The best group's field
//! selectors are then found inside its items.
//!
//! Pure: it reads a parsed page. It proposes selectors; `extract` applies them.

use std::collections::HashMap;
use std::sync::LazyLock;

use ego_tree::NodeId;
use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::{ProposedField, ProposedRules};
use crate::text::element_text;

/// Elements of a page past this many are not looked at (a hostile page's tail).
const MAX_ELEMENTS: usize = 200_000;
/// An item is a small block: groups whose elements are larger are containers, not items.
const MAX_ITEM_ELEMENTS: usize = 3_000;
/// Groups kept after the cheap first scoring, to be scored on what their selector matches.
const SHORTLIST: usize = 12;
/// Elements of one group, or of one selector's matches, that are scored: a
/// longer list is judged by its first ones.
const MAX_SCORED: usize = 1_000;
/// How many ancestors a selector path names above the item at most.
const MAX_PATH: usize = 4;

static ANCHORS: LazyLock<Selector> = LazyLock::new(|| Selector::parse("a[href]").expect("valid"));
static HEADINGS: LazyLock<Selector> = LazyLock::new(|| Selector::parse("h1, h2, h3, h4, h5, h6").expect("valid"));
static TIME: LazyLock<Selector> = LazyLock::new(|| Selector::parse("time").expect("valid"));
static IMAGE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("img").expect("valid"));
static PARAGRAPH: LazyLock<Selector> = LazyLock::new(|| Selector::parse("p").expect("valid"));

/// Class and id words of blocks that are not a page's items.
static NOT_ITEMS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(^|[-_ ])(nav|navbar|navigation|menu|menubar|footer|breadcrumbs?|pager|pagination|paging|tags?|tagcloud|share|sharing|social|sidebar|widget|related|comments?|skip|header|masthead|banner|toolbar|language|lang|login|cookie|subnav|dropdown|megamenu|topbar|utility)([-_ ]|$)",
    )
    .expect("valid regex")
});
/// Link texts that lead on, not to an article.
static READ_ON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\W*(read more|more|continue reading|continue|full story|details|weiterlesen|mehr|lire la suite|en savoir plus|leer más|ver más|leggi tutto|next|previous|prev|older|newer|\d+|»|«|›|‹)\W*$",
    )
    .expect("valid regex")
});
/// Classes that say an element's state or position, not its kind.
static STATE_CLASS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(odd|even|first|last|active|current|selected|open|closed|hidden|visible|clearfix|is-.*|has-.*|js-.*)$",
    )
    .expect("valid regex")
});
/// A numeric date (`20/04/2016`, `05.03.2024`, `20/04/16`): day and month in
/// an order only the page's other dates can tell.
static NUMERIC_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,2})([./-])(\d{1,2})([./-])(\d{4}|\d{2})\b").expect("valid regex"));
static IDENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z][A-Za-z_-]*$").expect("valid regex"));

/// The best group of repeated blocks on `document`, as selectors, or `None`
/// when no group looks like a list of articles.
pub fn propose(document: &Html, page_url: &Url) -> Option<ProposedRules> {
    let sizes = subtree_sizes(document);
    let mut groups = sibling_groups(document, &sizes, page_url);
    groups.sort_by(|a, b| b.cheap_score.total_cmp(&a.cheap_score));
    groups.truncate(SHORTLIST);
    let mut scored: HashMap<String, (f64, Vec<ElementRef>)> = HashMap::new();
    for group in &groups {
        let path = selector_path(document, group, page_url);
        if scored.contains_key(&path) {
            continue;
        }
        let Ok(selector) = Selector::parse(&path) else { continue };
        let items: Vec<ElementRef> = document.select(&selector).take(MAX_SCORED).collect();
        let score = score_items(&items, page_url);
        tracing::debug!("detect: {} items at `{path}` score {score:.1}", items.len());
        scored.insert(path, (score, items));
    }
    demote_nested(&mut scored, page_url);
    let (path, (score, items)) = scored.into_iter().max_by(|a, b| a.1.0.total_cmp(&b.1.0).then(b.0.cmp(&a.0)))?;
    if score < MIN_SCORE {
        return None;
    }
    fields(&path, &items, page_url)
}

/// Scores down every group whose items are parts of another group's items,
/// several to one, while that group's own links lie outside them: the
/// paragraphs of posts, links in their text, a post's tags. (A wrapper whose
/// links are all in the inner items is the other way round: the inner group
/// is the list.)
fn demote_nested(scored: &mut HashMap<String, (f64, Vec<ElementRef>)>, page_url: &Url) {
    let outer_sets: Vec<(String, Vec<ElementRef>)> =
        scored.iter().map(|(path, (_, items))| (path.clone(), items.clone())).collect();
    for (path, (score, items)) in scored.iter_mut() {
        let inner: std::collections::HashSet<NodeId> = items.iter().map(|item| item.id()).collect();
        let is_part = outer_sets.iter().any(|(outer_path, outer)| {
            if outer_path == path || items.len() <= outer.len() {
                return false;
            }
            let outer_ids: std::collections::HashSet<NodeId> = outer.iter().map(|item| item.id()).collect();
            let inside = items.iter().filter(|item| item.ancestors().any(|a| outer_ids.contains(&a.id()))).count();
            let own_links = outer
                .iter()
                .filter_map(|item| primary_link(*item, page_url))
                .filter(|link| !link.ancestors().chain(std::iter::once(**link)).any(|a| inner.contains(&a.id())))
                .count();
            inside * 5 >= items.len() * 4 && own_links * 5 >= outer.len() * 4
        });
        if is_part {
            *score *= 0.1;
        }
    }
}

/// Below this a group is no listing: two short links, a lone pair of blocks.
const MIN_SCORE: f64 = 2.5;

/// Sibling elements of one shape under one parent.
struct Group<'a> {
    parent: ElementRef<'a>,
    /// `tag.class…` of the siblings.
    shape: String,
    cheap_score: f64,
}

/// Element count of every element's subtree.
fn subtree_sizes(document: &Html) -> HashMap<NodeId, usize> {
    let mut sizes = HashMap::new();
    for node in document.tree.root().descendants().take(MAX_ELEMENTS).collect::<Vec<_>>().into_iter().rev() {
        if node.value().is_element() {
            let inner: usize = node.children().filter_map(|child| sizes.get(&child.id()).copied()).sum();
            sizes.insert(node.id(), inner + 1);
        }
    }
    sizes
}

/// Every group of at least two link-holding siblings of one shape, with a
/// first score from their links alone.
fn sibling_groups<'a>(document: &'a Html, sizes: &HashMap<NodeId, usize>, page_url: &Url) -> Vec<Group<'a>> {
    let mut groups = Vec::new();
    for parent in document.root_element().descendants().take(MAX_ELEMENTS).filter_map(ElementRef::wrap) {
        let mut by_tag: HashMap<&str, Vec<ElementRef>> = HashMap::new();
        for child in parent.children().filter_map(ElementRef::wrap).take(MAX_SCORED) {
            if sizes.get(&child.id()).is_some_and(|&size| size <= MAX_ITEM_ELEMENTS) && !is_chrome(child) {
                by_tag.entry(child.value().name()).or_default().push(child);
            }
        }
        for (tag, children) in by_tag {
            // Table cells are parts of rows; rows are the items.
            if children.len() < 2
                || matches!(tag, "script" | "style" | "option" | "br" | "head" | "meta" | "link" | "td" | "th")
            {
                continue;
            }
            let holders: Vec<ElementRef> =
                children.into_iter().filter(|child| primary_link(*child, page_url).is_some()).collect();
            if holders.len() < 2 {
                continue;
            }
            let (shape, members) = shape_of(tag, &holders);
            let cheap_score = score_items(&members, page_url);
            groups.push(Group { parent, shape, cheap_score });
        }
    }
    groups
}

/// The shape of a group: its tag and the classes most of its members share,
/// and the members that have them.
fn shape_of<'a>(tag: &str, holders: &[ElementRef<'a>]) -> (String, Vec<ElementRef<'a>>) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for holder in holders {
        for class in stable_classes(*holder) {
            *counts.entry(class).or_default() += 1;
        }
    }
    // The most shared class, if three quarters of the holders have it.
    let top = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(class, count)| (*class, *count));
    let Some(class) = top.filter(|(_, count)| *count * 4 >= holders.len() * 3 && *count >= 2).map(|(class, _)| class)
    else {
        return (tag.to_string(), holders.to_vec());
    };
    let members: Vec<ElementRef> =
        holders.iter().copied().filter(|holder| stable_classes(*holder).any(|c| c == class)).collect();
    let mut shared: Vec<&str> = stable_classes(members[0]).collect();
    shared.retain(|candidate| members.iter().all(|m| stable_classes(*m).any(|c| c == *candidate)));
    shared.truncate(2);
    (format!("{tag}{}", shared.iter().map(|c| format!(".{c}")).collect::<String>()), members)
}

/// Classes that name what an element is: valid identifiers without digits,
/// not a state (`odd`, `active`).
fn stable_classes<'a>(element: ElementRef<'a>) -> impl Iterator<Item = &'a str> {
    element.value().classes().filter(|class| IDENT.is_match(class) && !STATE_CLASS.is_match(class))
}

fn stable_id<'a>(element: ElementRef<'a>) -> Option<&'a str> {
    element.value().id().filter(|id| IDENT.is_match(id))
}

/// `tag.class.class` (at most two classes) of one element.
fn signature(element: ElementRef) -> String {
    let classes: String = stable_classes(element).take(2).map(|c| format!(".{c}")).collect();
    format!("{}{classes}", element.value().name())
}

/// The selector of a group's items: the shape under its parent, and as many
/// ancestors above (up to one with an id) as it takes to match nothing that
/// reads worse than the group; failing that, the parent told apart by the
/// element before it or by its position.
fn selector_path(document: &Html, group: &Group, page_url: &Url) -> String {
    let parent = match stable_id(group.parent) {
        Some(id) => format!("#{id}"),
        None => signature(group.parent),
    };
    let mut path = format!("{parent} > {}", group.shape);
    let mut ancestor = group.parent;
    for _ in 0..MAX_PATH {
        if stable_id(ancestor).is_some() || !too_broad(document, &path, group, page_url) {
            return path;
        }
        let Some(up) = ancestor.parent().and_then(ElementRef::wrap) else { break };
        if matches!(up.value().name(), "body" | "html") {
            break;
        }
        ancestor = up;
        path = match stable_id(up) {
            Some(id) => format!("#{id} > {path}"),
            None => format!("{} > {path}", signature(up)),
        };
    }
    if !too_broad(document, &path, group, page_url) {
        return path;
    }
    let shape = &group.shape;
    let before = group.parent.prev_siblings().find_map(ElementRef::wrap).map(|previous| match stable_id(previous) {
        Some(id) => format!("#{id} + {parent} > {shape}"),
        None => format!("{} + {parent} > {shape}", signature(previous)),
    });
    let tag = group.parent.value().name();
    let position =
        group.parent.prev_siblings().filter_map(ElementRef::wrap).filter(|s| s.value().name() == tag).count() + 1;
    let nth = format!("{parent}:nth-of-type({position}) > {shape}");
    before.into_iter().chain([nth]).find(|refined| !too_broad(document, refined, group, page_url)).unwrap_or(path)
}

/// Whether `path` also matches elements outside the group's parent that read
/// worse than the group's own (navigation beside a list of the same shape).
/// Sibling lists of the same quality (a list split in columns) may share it.
fn too_broad(document: &Html, path: &str, group: &Group, page_url: &Url) -> bool {
    let Ok(selector) = Selector::parse(path) else { return true };
    let (own, others): (Vec<ElementRef>, Vec<ElementRef>) = document
        .select(&selector)
        .take(MAX_SCORED)
        .partition(|element| element.parent().is_some_and(|parent| parent.id() == group.parent.id()));
    if others.is_empty() {
        return false;
    }
    // A bare `ul > li` is a weak likeness: it may not gather many more lists than its own.
    if !path.contains('.') && others.len() > 2 * own.len() {
        return true;
    }
    let mean = |items: &[ElementRef]| score_items(items, page_url) / items.len().max(1) as f64;
    others.len() < 2 || mean(&others) < 0.6 * mean(&own)
}

/// Page furniture by tag, role, class or id: navigation, headers, footers, asides.
fn is_chrome(element: ElementRef) -> bool {
    let value = element.value();
    matches!(value.name(), "nav" | "footer" | "aside" | "header" | "form" | "select")
        || value.attr("role").is_some_and(|role| matches!(role, "navigation" | "banner" | "contentinfo" | "menu"))
        || value.id().is_some_and(names_furniture)
        || value.classes().any(names_furniture)
}

/// Whether a class or id names page furniture; camelCase words count as
/// separate words (`listMenu` is a menu).
fn names_furniture(name: &str) -> bool {
    let mut words = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            words.push('-');
        }
        previous_lower = c.is_ascii_lowercase();
        words.push(c);
    }
    NOT_ITEMS.is_match(&words)
}

/// The link an item is about: the first link in a heading, else the link with
/// the longest text that does not just lead on ("read more", page numbers).
fn primary_link<'a>(item: ElementRef<'a>, page_url: &Url) -> Option<ElementRef<'a>> {
    let candidates = std::iter::once(item).filter(|e| e.value().name() == "a").chain(item.select(&ANCHORS));
    let mut best: Option<(ElementRef, usize)> = None;
    for anchor in candidates {
        if !leads_elsewhere(anchor, page_url) {
            continue;
        }
        let text = element_text(anchor);
        if READ_ON.is_match(&text) {
            continue;
        }
        let in_heading =
            anchor.ancestors().take_while(|a| a.id() != item.id()).filter_map(ElementRef::wrap).any(is_heading)
                || anchor.select(&HEADINGS).next().is_some();
        let weight = text.chars().count() + if in_heading { 1_000 } else { 0 };
        if weight > 0 && best.is_none_or(|(_, w)| weight > w) {
            best = Some((anchor, weight));
        }
    }
    best.map(|(anchor, _)| anchor).or_else(|| {
        // Only a "read more" link: the item's link still.
        item.select(&ANCHORS).find(|a| leads_elsewhere(*a, page_url))
    })
}

/// The item's heading: itself when it is one, else its first heading.
fn heading_of(item: ElementRef) -> Option<ElementRef> {
    if is_heading(item) { Some(item) } else { item.select(&HEADINGS).next() }
}

fn is_heading(element: ElementRef) -> bool {
    matches!(element.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// Whether `anchor` leads to another web page (not this page, an anchor on it, a script, mail).
fn leads_elsewhere(anchor: ElementRef, page_url: &Url) -> bool {
    let Some(href) = anchor.value().attr("href").map(str::trim) else { return false };
    if href.is_empty() || href.starts_with('#') {
        return false;
    }
    let Ok(mut url) = page_url.join(href) else { return false };
    if !crate::hygiene::is_web_url(&url) {
        return false;
    }
    url.set_fragment(None);
    let mut page = page_url.clone();
    page.set_fragment(None);
    url != page
}

/// How much a set of elements looks like a page's list of articles: each
/// element with a link scores by its title and what else it holds; the sum is
/// scaled down for repeated links and for blocks inside page furniture.
fn score_items(items: &[ElementRef], page_url: &Url) -> f64 {
    if items.len() < 2 {
        return 0.0;
    }
    let mut total = 0.0;
    let mut links = std::collections::HashSet::new();
    let mut title_words = Vec::new();
    for item in items {
        let Some(link) = primary_link(*item, page_url) else { continue };
        links.insert(link.value().attr("href").unwrap_or_default().trim());
        let title = element_text(link);
        let words = title.split_whitespace().count();
        title_words.push(words);
        let text_chars = element_text(*item).chars().count();
        let mut score = 1.0;
        if (3..=30).contains(&words) {
            score += 1.0;
        }
        if item.select(&HEADINGS).next().is_some() || is_heading(*item) {
            score += 0.7;
        }
        if has_date(*item) {
            score += 1.2;
        }
        if text_chars > title.chars().count() + 40 {
            score += 0.4;
        }
        if item.select(&IMAGE).next().is_some() {
            score += 0.2;
        }
        if crate::dates::parse_date(&title, None, chrono_tz::UTC).is_some() && words <= 4 {
            // "December 2021": an archive link, not an article.
            score *= 0.2;
        }
        total += score;
    }
    if title_words.is_empty() {
        return 0.0;
    }
    title_words.sort_unstable();
    let median_words = title_words[title_words.len() / 2];
    if median_words < 2 {
        total *= 0.25;
    }
    let distinct = links.len() as f64 / title_words.len() as f64;
    total *= distinct * distinct;
    let in_furniture = items.iter().filter(|item| item.ancestors().filter_map(ElementRef::wrap).any(is_chrome)).count();
    total *= 1.0 - 0.8 * in_furniture as f64 / items.len() as f64;
    total
}

/// Whether an item holds a `<time>` or a short text that reads as a date.
fn has_date(item: ElementRef) -> bool {
    item.select(&TIME).next().is_some() || date_element(item).is_some() || numeric_date_element(item).is_some()
}

/// A numeric date's parts: first number, second number, separator, year digits.
type NumericDate = (u32, u32, char, usize);

/// The smallest element of `item` whose own text holds a numeric date, and the date's parts.
fn numeric_date_element(item: ElementRef) -> Option<(ElementRef, NumericDate)> {
    item.descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| !matches!(e.value().name(), "a" | "script" | "style"))
        .find_map(|element| {
            let own: String = element.children().filter_map(|c| c.value().as_text().map(|t| t.to_string())).collect();
            if own.trim().chars().count() > 60 {
                return None;
            }
            let found = NUMERIC_DATE.captures(&own)?;
            let (separator, other) = (&found[2], &found[4]);
            if separator != other {
                return None;
            }
            let number = |group: usize| found[group].parse::<u32>().ok();
            let parts = (number(1)?, number(3)?, separator.chars().next()?, found[5].len());
            Some((element, parts))
        })
}

/// The chrono format of a page's numeric dates: day first unless a second
/// number over 12 says month first; `None` when they disagree.
fn numeric_format(dates: &[NumericDate]) -> Option<String> {
    let (_, _, separator, year_digits) = *dates.first()?;
    if dates.iter().any(|d| d.2 != separator || d.3 != year_digits) {
        return None;
    }
    let year = if year_digits == 4 { "%Y" } else { "%y" };
    let day_first = dates.iter().any(|d| d.0 > 12);
    let month_first = dates.iter().any(|d| d.1 > 12);
    match (day_first, month_first) {
        (true, true) => None,
        (false, true) => Some(format!("%m{separator}%d{separator}{year}")),
        _ => Some(format!("%d{separator}%m{separator}{year}")),
    }
}

/// The smallest element of `item` whose own text is a date.
fn date_element(item: ElementRef) -> Option<ElementRef> {
    item.descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| !matches!(e.value().name(), "a" | "script" | "style"))
        .find(|element| {
            let own: String = element.children().filter_map(|c| c.value().as_text().map(|t| t.to_string())).collect();
            let own = own.trim();
            (6..=60).contains(&own.chars().count()) && crate::dates::parse_date(own, None, chrono_tz::UTC).is_some()
        })
}

/// The field selectors of the chosen items: the relative path that reaches
/// each item's primary link, heading, date, summary and image in most items.
fn fields(path: &str, items: &[ElementRef], page_url: &Url) -> Option<ProposedRules> {
    let links: Vec<(ElementRef, ElementRef)> =
        items.iter().filter_map(|item| primary_link(*item, page_url).map(|link| (*item, link))).collect();
    // `None` inside: the items are the links (or headings) themselves.
    let link_path = common_path(&links)?;
    let headings: Vec<(ElementRef, ElementRef)> =
        items.iter().filter_map(|item| heading_of(*item).map(|h| (*item, h))).collect();
    let heading_path = (headings.len() * 2 >= items.len()).then(|| common_path(&headings)).flatten();
    let title = match (heading_path, &link_path) {
        (Some(Some(heading)), _) => ProposedField::css(&heading),
        (None, Some(link)) => ProposedField::css(link),
        (Some(None), _) | (None, None) => ProposedField::itself(),
    };
    let link = match &link_path {
        Some(css) => ProposedField::css(css),
        None => ProposedField::attr_of_itself("href"),
    };
    // Items without a link (a table's header row) are left out by the selector itself.
    let path = if links.len() < items.len() && items.iter().all(|item| item.value().name() != "a") {
        format!("{path}:has(a[href])")
    } else {
        path.to_string()
    };
    let mut rules = ProposedRules::new(&path, title, link);
    let times: Vec<(ElementRef, ElementRef)> =
        items.iter().filter_map(|item| item.select(&TIME).next().map(|t| (*item, t))).collect();
    let dates: Vec<(ElementRef, ElementRef)> = if times.len() * 2 >= items.len() {
        times
    } else {
        items.iter().filter_map(|item| date_element(*item).map(|d| (*item, d))).collect()
    };
    if dates.len() * 2 >= items.len() {
        // A date in the item's own text: the whole text is read, its first date taken.
        rules.date =
            common_path(&dates).map(|css| css.map_or_else(ProposedField::itself, |css| ProposedField::css(&css)));
    } else {
        let numeric: Vec<(ElementRef, ElementRef, NumericDate)> = items
            .iter()
            .filter_map(|item| numeric_date_element(*item).map(|(element, parts)| (*item, element, parts)))
            .collect();
        let format = numeric_format(&numeric.iter().map(|found| found.2).collect::<Vec<_>>());
        let pairs: Vec<(ElementRef, ElementRef)> = numeric.iter().map(|found| (found.0, found.1)).collect();
        if numeric.len() * 2 >= items.len()
            && let Some(format) = format
            && let Some(css) = common_path(&pairs)
        {
            let mut field = css.map_or_else(ProposedField::itself, |css| ProposedField::css(&css));
            field.format = Some(format);
            rules.date = Some(field);
        }
    }
    let places: Vec<(ElementRef, ElementRef)> = items
        .iter()
        .filter_map(|item| {
            item.descendants()
                .filter_map(ElementRef::wrap)
                .filter(|element| names_a_place(*element) && !element_text(*element).is_empty())
                // The innermost: `p.date-place` holds the date too, its `span.place` only the place.
                .find(|element| !element.descendants().skip(1).filter_map(ElementRef::wrap).any(names_a_place))
                .map(|place| (*item, place))
        })
        .collect();
    if places.len() * 2 >= items.len()
        && let Some(Some(css)) = common_path(&places)
    {
        rules.location = Some(ProposedField::css(&css));
    }
    let summaries: Vec<(ElementRef, ElementRef)> = items
        .iter()
        .filter_map(|item| {
            item.select(&PARAGRAPH)
                .filter(|p| p.select(&HEADINGS).next().is_none())
                .max_by_key(|p| element_text(*p).chars().count())
                .filter(|p| element_text(*p).chars().count() >= 40)
                .map(|p| (*item, p))
        })
        .collect();
    if summaries.len() * 2 >= items.len()
        && let Some(Some(css)) = common_path(&summaries)
    {
        rules.summary = Some(ProposedField::css(&css));
    }
    let images: Vec<(ElementRef, ElementRef)> =
        items.iter().filter_map(|item| item.select(&IMAGE).next().map(|i| (*item, i))).collect();
    if images.len() * 2 >= items.len()
        && let Some(Some(css)) = common_path(&images)
    {
        rules.image = Some(ProposedField::css(&css));
    }
    Some(rules)
}

/// Whether an element's class or microdata property names a place (`place`,
/// `location`, `venue`, `lieu`, `ort`…): an event's where.
fn names_a_place(element: ElementRef) -> bool {
    let value = element.value();
    value.attr("itemprop").is_some_and(|prop| prop == "location")
        || value.classes().any(|class| PLACE_CLASS.is_match(class))
}

static PLACE_CLASS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|[-_])(place|location|venue|city|where|lieu|ort|lugar|luogo)([-_]|$)").expect("valid regex")
});

/// The shortest relative selector that, inside most items, first matches the
/// element found there: `Some(None)` when the elements are the items themselves.
fn common_path(found: &[(ElementRef, ElementRef)]) -> Option<Option<String>> {
    if found.is_empty() {
        return None;
    }
    if found.iter().filter(|(item, target)| item.id() == target.id()).count() * 2 > found.len() {
        return Some(None);
    }
    let mut tried: HashMap<String, usize> = HashMap::new();
    for (item, target) in found {
        for css in relative_selectors(*item, *target) {
            *tried.entry(css).or_default() += 0;
        }
    }
    let mut candidates: Vec<String> = tried.into_keys().collect();
    candidates.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
    let mut best: Option<(String, usize)> = None;
    for css in candidates {
        let Ok(selector) = Selector::parse(&css) else { continue };
        let hits = found
            .iter()
            .filter(|(item, target)| item.select(&selector).next().is_some_and(|e| e.id() == target.id()))
            .count();
        if best.as_ref().is_none_or(|(_, best_hits)| hits > *best_hits) {
            best = Some((css, hits));
        }
        if hits == found.len() {
            break;
        }
    }
    best.filter(|(_, hits)| hits * 5 >= found.len() * 4 || *hits * 2 >= found.len()).map(|(css, _)| Some(css))
}

/// Selectors for `target` relative to `item`, from the shortest (its own
/// signature) to the full child path.
fn relative_selectors(item: ElementRef, target: ElementRef) -> Vec<String> {
    let mut chain = vec![signature(target)];
    let mut out = vec![signature(target), target.value().name().to_string()];
    for ancestor in target.ancestors().filter_map(ElementRef::wrap) {
        if ancestor.id() == item.id() {
            break;
        }
        chain.insert(0, signature(ancestor));
        out.push(format!("{} {}", signature(ancestor), signature(target)));
        out.push(chain.join(" > "));
        if chain.len() > MAX_PATH {
            break;
        }
    }
    out
}
