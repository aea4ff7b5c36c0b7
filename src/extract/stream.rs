//! Streaming listing extraction. One pass of `lol_html` over the page finds the
//! elements the source's `item` selector matches and keeps only where their
//! HTML lies (plus the first `<base href>` and the pagination link); a tree is
//! then built for each of those elements alone, and the field rules run in it
//! exactly as they do on the whole page's tree. A 200 KB listing with 30 items
//! builds trees for a few kilobytes instead of the whole page.
//!
//! Only part of a selector can be matched while streaming: `lol_html` knows an
//! element's ancestors, not its siblings or what follows. [`route`] reads the
//! rules and decides, per source, whether the stream can give the same items
//! as the whole page's tree:
//!
//! - the item selector's leading compounds must be plain (tag, id, classes,
//!   attributes) and joined by descendant or child combinators. They are what
//!   the stream matches (the *container*); the rest of the selector, if any, is
//!   matched inside each container's tree as `:scope > …`, so `tbody > tr:has(a)`
//!   streams `tbody` and finds its rows in the tree;
//! - each field selector may look around the element it picks but not above
//!   the item: its last compound's pseudo-classes must look at siblings or
//!   downward, and its other compounds must be plain. Those other compounds
//!   (the `h3` of `h3 a`) are streamed too, and an item that lies inside one of
//!   them sends the page to the whole tree, where they could match above it.
//!
//! Where a page is not what the stream can read exactly (an item nested in
//! another, an item closed by another element's end tag, elements nested past
//! [`crate::parse::MAX_DEPTH`], a page with no items at all), [`extract`] says
//! why and the caller falls back to the whole tree. `lol_html` closes an
//! element only at an end tag: where HTML would close one implicitly (an
//! unclosed `<p>` before a `<div>`), a plain compound could still match an
//! element the tree has closed; the fixture and corpus comparison in
//! `tests/streaming.rs` is what vouches for real pages.
//!
//! It does not fetch, decode or normalize: it reads the decoded page text.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use html5ever::{LocalName, QualName, ns};
use lol_html::html_content::Element;
use lol_html::{ElementContentHandlers, HandlerResult, HtmlRewriter, Selector as StreamSelector, Settings};
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::css::{self, Combinator};
use super::{RawItem, document_base, extract_fields, link_of};
use crate::config::{Css, SelectRules};

/// How a source's listing pages are read.
#[derive(Debug)]
pub enum Route {
    /// While the page streams, see [`Plan`].
    Stream(Plan),
    /// From the whole page's tree, for the reason given.
    WholePage(String),
}

impl Route {
    /// The route in one line, for `octofeed check -v`.
    pub fn describe(&self) -> String {
        match self {
            Route::Stream(plan) => match &plan.inside {
                None => format!("streamed: the stream picks the items (`{}`)", plan.container_text),
                Some(inside) => format!(
                    "streamed: the stream picks `{}`, the tree of each finds the items with `{}`",
                    plan.container_text, inside.text
                ),
            },
            Route::WholePage(why) => format!("whole page: {why}"),
        }
    }
}

/// What the stream matches, and what is matched in the trees it keeps.
#[derive(Debug)]
pub struct Plan {
    container: StreamSelector,
    container_text: String,
    /// The rest of the item selector, run in each container's tree; `None` when the containers are the items.
    inside: Option<Css>,
    /// The compounds of field selectors above the element they pick: no item may lie inside one.
    around: Vec<StreamSelector>,
    next: Option<StreamSelector>,
}

/// Decides how listing pages read with `rules` (and `next` for pagination) are extracted.
pub fn route(rules: &SelectRules, next: Option<&Css>) -> Route {
    match plan(rules, next) {
        Ok(plan) => Route::Stream(plan),
        Err(why) => Route::WholePage(why),
    }
}

fn plan(rules: &SelectRules, next: Option<&Css>) -> Result<Plan, String> {
    let item = &rules.item.text;
    let mut parts = css::parts(item);
    if parts.len() != 1 {
        return Err(format!("the item selector `{item}` is a list of selectors"));
    }
    let part = parts.remove(0);
    // The leading compounds the stream can match, and where the in-tree rest starts.
    let mut streamed = 0;
    while streamed < part.compounds.len()
        && css::is_plain(part.compounds[streamed])
        && !css::may_match_implied(part.compounds[streamed])
        && (streamed == 0 || !part.combinators[streamed - 1].is_sibling())
    {
        streamed += 1;
    }
    while streamed > 0 && streamed < part.compounds.len() && part.combinators[streamed - 1].is_sibling() {
        streamed -= 1;
    }
    if streamed == 0 {
        return Err(format!(
            "the item selector `{item}` starts with `{}`, which needs the page's tree",
            part.compounds[0]
        ));
    }
    let container_text = part.compounds[..streamed]
        .iter()
        .zip(std::iter::once(&Combinator::Descendant).chain(&part.combinators))
        .map(|(compound, combinator)| match combinator {
            Combinator::Child => format!("> {compound}"),
            _ => compound.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ");
    let inside = match (streamed < part.compounds.len()).then(|| part.scoped_from(streamed)) {
        None => None,
        Some(text) => match Selector::parse(&text) {
            Ok(selector) => Some(Css { selector, text }),
            Err(_) => return Err(format!("`{text}` is not a selector the tree can match")),
        },
    };
    let container = stream_selector(&container_text)?;
    let mut around = Vec::new();
    for (name, rule) in rules.fields.named() {
        let Some(field) = rule.css.as_ref() else { continue };
        for field_part in css::parts(&field.text) {
            let before_last = field_part.combinators.split_last().map_or(&[][..], |(_, before)| before);
            if before_last.iter().any(|combinator| combinator.is_sibling()) {
                return Err(format!("the {name} selector `{}` looks at siblings above what it picks", field.text));
            }
            if !css::looks_only_around(field_part.last()) {
                return Err(format!("the {name} selector `{}` looks up the tree", field.text));
            }
            let leading = &field_part.compounds[..field_part.compounds.len() - 1];
            let sibling_tail = field_part.combinators.last().is_some_and(|combinator| combinator.is_sibling());
            for (index, compound) in leading.iter().enumerate() {
                if !css::is_plain(compound) {
                    return Err(format!("the {name} selector `{}` has `{compound}` above what it picks", field.text));
                }
                // `a + b`: `a` is a sibling of what is picked, inside the item like it.
                if sibling_tail && index == leading.len() - 1 {
                    continue;
                }
                if css::may_match_implied(compound) {
                    return Err(format!(
                        "the {name} selector `{}` has `{compound}`, which may match an element the page has no tag for",
                        field.text
                    ));
                }
                around.push(stream_selector(compound)?);
            }
        }
    }
    let next = match next {
        None => None,
        Some(next) => {
            let plain = css::parts(&next.text).iter().all(|part| {
                part.compounds.iter().all(|c| css::is_plain(c) && !css::may_match_implied(c))
                    && !part.combinators.iter().any(|combinator| combinator.is_sibling())
            });
            if !plain {
                return Err(format!("the pagination selector `{}` needs the page's tree", next.text));
            }
            Some(stream_selector(&next.text)?)
        }
    };
    Ok(Plan { container, container_text, inside, around, next })
}

fn stream_selector(text: &str) -> Result<StreamSelector, String> {
    text.parse::<StreamSelector>().map_err(|error| format!("the stream cannot match `{text}` ({error})"))
}

/// What the stream gave: the items (at most `max_items`), how many the page has, and the next page.
#[derive(Debug)]
pub struct Streamed {
    pub items: Vec<RawItem>,
    pub found: usize,
    pub next_page: Option<Url>,
}

/// Where the stream found the elements it keeps, as byte ranges of the page.
#[derive(Default)]
struct Found {
    /// Each container's range and tag name, in page order.
    containers: Vec<(Range<usize>, String)>,
    /// The container whose end tag is awaited: where it starts and its name.
    open: Option<usize>,
    /// How many `around` elements are open.
    around_open: usize,
    base: Option<Range<usize>>,
    next: Option<Range<usize>>,
    next_open: bool,
}

type Shared = Rc<RefCell<Found>>;

/// Reads the listing `html` (at `page_url`) by `plan`, or says why the whole page's tree is needed.
pub fn extract(
    html: &str,
    page_url: &Url,
    plan: &Plan,
    rules: &SelectRules,
    max_items: usize,
) -> Result<Streamed, String> {
    if crate::parse::may_nest_deeper(html, crate::parse::MAX_DEPTH) {
        return Err(format!("the page may nest elements deeper than {} levels", crate::parse::MAX_DEPTH));
    }
    let found = find(html, plan)?;
    let found = Rc::try_unwrap(found).map_err(|_| "the stream kept its state".to_string())?.into_inner();
    let base = match &found.base {
        Some(range) => document_base(&fragment(&html[range.clone()], "body"), page_url),
        None => page_url.clone(),
    };
    let (mut items, mut count) = (Vec::new(), 0);
    for (range, name) in &found.containers {
        let context =
            context_of(name).ok_or_else(|| format!("an item is a <{name}>, which only the page's tree holds"))?;
        let tree = fragment(&html[range.clone()], context);
        let container = first_element(&tree)
            .filter(|element| element.value().name() == name)
            .ok_or_else(|| format!("a <{name}> item does not parse on its own as it does in the page"))?;
        let mut take = |element: ElementRef| {
            count += 1;
            if items.len() < max_items {
                items.push(extract_fields(element, &base, &rules.fields));
            }
        };
        match &plan.inside {
            None => take(container),
            Some(inside) => container.select(&inside.selector).for_each(&mut take),
        }
    }
    if count == 0 {
        return Err("no item was found while streaming".to_string());
    }
    let next_page = found.next.and_then(|range| {
        let tree = fragment(&html[range], "body");
        link_of(first_element(&tree)?, "href", &base)
    });
    Ok(Streamed { items, found: count, next_page })
}

/// The one pass over the page.
fn find(html: &str, plan: &Plan) -> Result<Shared, String> {
    let found: Shared = Rc::default();
    let mut handlers: Vec<(Cow<StreamSelector>, ElementContentHandlers)> = Vec::new();
    // Registered first: on an element that is both a container and an `around`
    // compound (`div.item` with a field `div.item h3`), the container is seen
    // before its own compound counts as open.
    let state = found.clone();
    handlers.push((
        Cow::Borrowed(&plan.container),
        ElementContentHandlers::default().element(move |element: &mut Element| container(&state, element)),
    ));
    for selector in &plan.around {
        let state = found.clone();
        handlers.push((
            Cow::Borrowed(selector),
            ElementContentHandlers::default().element(move |element: &mut Element| around(&state, element)),
        ));
    }
    let state = found.clone();
    handlers.push((
        Cow::Owned("base[href]".parse().expect("a valid selector")),
        ElementContentHandlers::default().element(move |element: &mut Element| {
            let mut found = state.borrow_mut();
            if found.base.is_none() {
                found.base = Some(element.source_location().bytes());
            }
            Ok(())
        }),
    ));
    if let Some(next) = &plan.next {
        let state = found.clone();
        handlers.push((
            Cow::Borrowed(next),
            ElementContentHandlers::default().element(move |element: &mut Element| next_link(&state, element)),
        ));
    }
    let settings = Settings { element_content_handlers: handlers, ..Settings::new() };
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    rewriter.write(html.as_bytes()).and_then(|()| rewriter.end()).map_err(|error| match error {
        lol_html::errors::RewritingError::ContentHandlerError(why) => why.to_string(),
        other => format!("the stream stopped: {other}"),
    })?;
    let open = found.borrow().open.is_some() || found.borrow().next_open;
    if open {
        return Err("an item or the pagination link has no end tag".to_string());
    }
    Ok(found)
}

fn container(state: &Shared, element: &mut Element) -> HandlerResult {
    let mut found = state.borrow_mut();
    if found.open.is_some() {
        return Err("an item lies inside another item".into());
    }
    if found.around_open > 0 {
        return Err("an item lies inside an element a field selector names above what it picks".into());
    }
    if element.namespace_uri() != "http://www.w3.org/1999/xhtml" {
        return Err("an item is an SVG or MathML element".into());
    }
    let start = element.source_location().bytes();
    let name = element.tag_name();
    let Some(end_handlers) = element.end_tag_handlers() else {
        found.containers.push((start, name));
        return Ok(());
    };
    found.open = Some(start.start);
    let state = state.clone();
    end_handlers.push(Box::new(move |end| {
        let mut found = state.borrow_mut();
        if end.name() != name {
            return Err(format!("a <{name}> item is closed by </{}>", end.name()).into());
        }
        let begin = found.open.take().expect("an open container");
        found.containers.push((begin..end.source_location().bytes().end, name));
        Ok(())
    }));
    Ok(())
}

fn around(state: &Shared, element: &mut Element) -> HandlerResult {
    if let Some(end_handlers) = element.end_tag_handlers() {
        state.borrow_mut().around_open += 1;
        let state = state.clone();
        end_handlers.push(Box::new(move |_| {
            state.borrow_mut().around_open -= 1;
            Ok(())
        }));
    }
    Ok(())
}

fn next_link(state: &Shared, element: &mut Element) -> HandlerResult {
    let mut found = state.borrow_mut();
    if found.next.is_some() || found.next_open {
        return Ok(());
    }
    let start = element.source_location().bytes();
    let Some(end_handlers) = element.end_tag_handlers() else {
        found.next = Some(start);
        return Ok(());
    };
    found.next_open = true;
    let state = state.clone();
    end_handlers.push(Box::new(move |end| {
        let mut found = state.borrow_mut();
        found.next_open = false;
        found.next = Some(start.start..end.source_location().bytes().end);
        Ok(())
    }));
    Ok(())
}

/// The element an element named `name` is parsed inside, as HTML's parser
/// needs it (a `<tr>` outside a table is dropped); `None` for the document's
/// own elements, which only the whole page has.
fn context_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "html" | "head" | "body" | "frameset" | "frame" => return None,
        "tr" => "tbody",
        "td" | "th" => "tr",
        "tbody" | "thead" | "tfoot" | "caption" | "colgroup" => "table",
        "col" => "colgroup",
        "option" | "optgroup" => "select",
        _ => "body",
    })
}

/// `text` parsed as the content of a `context` element.
fn fragment(text: &str, context: &str) -> Html {
    use html5ever::tendril::TendrilSink;
    let context = QualName::new(None, ns!(html), LocalName::from(context));
    let sink = scraper::HtmlTreeSink::new(Html::new_fragment());
    html5ever::driver::parse_fragment(sink, Default::default(), context, Vec::new(), false).one(text)
}

fn first_element(tree: &Html) -> Option<ElementRef<'_>> {
    tree.root_element().children().find_map(ElementRef::wrap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn rules(select: &str) -> SelectRules {
        let text = format!(
            "[site]\ntitle = \"t\"\nbase_url = \"https://feeds.example.org/\"\n[[source]]\nid = \"s\"\n\
             url = \"https://news.example.org/\"\n[source.select]\n{select}\n"
        );
        let config = Config::parse(std::path::Path::new("/t/octofeed.toml"), &text).expect("a valid config");
        match &config.sources[0].kind {
            crate::config::SourceKind::Html(html) => match &html.select {
                crate::config::Selection::Rules(rules) => (**rules).clone(),
                crate::config::Selection::Auto => unreachable!("rules are given"),
            },
            crate::config::SourceKind::Feed => unreachable!("an html source"),
        }
    }

    #[test]
    fn a_sibling_combinator_inside_the_item_selector_is_matched_in_the_container_tree() {
        let rules = rules("item = \"ul.news li + li\"\ntitle = \"a\"\nlink = \"a\"");
        let Route::Stream(plan) = route(&rules, None) else { panic!("{:?}", route(&rules, None)) };
        assert_eq!(plan.inside.as_ref().map(|inside| inside.text.as_str()), Some(":scope li + li"));
        let page =
            "<ul class=news><li><a href=/1>one</a></li><li><a href=/2>two</a></li><li><a href=/3>three</a></li></ul>";
        let url = Url::parse("https://news.example.org/").unwrap();
        let streamed = extract(page, &url, &plan, &rules, 10).expect("streams");
        let titles: Vec<_> = streamed.items.iter().map(|item| item.title.clone().unwrap()).collect();
        assert_eq!(titles, ["two", "three"]);
    }

    #[test]
    fn selectors_that_need_the_whole_tree_say_why() {
        let why = |select: &str| match route(&rules(&format!("{select}\nlink = \"a\"")), None) {
            Route::WholePage(why) => why,
            Route::Stream(plan) => panic!("{select} streams: {plan:?}"),
        };
        assert!(why("item = \"h2 + ul li\"\ntitle = \"a\"").contains("starts with `h2`"));
        assert!(why("item = \"tbody > tr\"\ntitle = \"a\"").contains("starts with `tbody`"));
        assert!(why("item = \"li\"\ntitle = \"h2 + p a\"").contains("siblings above"));
        assert!(why("item = \"li\"\ntitle = \"p:not(.x p)\"").contains("looks up the tree"));
        assert!(why("item = \"li\"\ntitle = \"body a\"").contains("no tag for"));
        assert!(why("item = \"li, article\"\ntitle = \"a\"").contains("list of selectors"));
    }
}
