//! Parse stage: HTML text becomes a `scraper` document in time linear in its
//! size, whatever its shape. html5ever's tree builder searches the stack of open
//! elements for most tags, so a page nested 100,000 levels deep takes minutes;
//! selector matching walks ancestors too. Between html5ever's tokenizer and its
//! tree builder, `DepthCap` drops start tags that would open an element deeper
//! than [`MAX_DEPTH`]: their text and children stay, attached to the deepest
//! element kept, so a hostile page is flattened, never refused.
//!
//! It only parses; `extract` reads the tree and `text` cleans what comes out.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};

use html5ever::TokenizerResult;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};
use html5ever::tree_builder::{TreeBuilder, TreeBuilderOpts, TreeSink};
use html5ever::{LocalName, local_name};
use scraper::{Html, HtmlTreeSink};

/// The deepest element nesting a parsed page keeps; real pages stay far below it.
pub const MAX_DEPTH: usize = 512;

/// A parsed document, and how many elements were flattened to keep it within [`MAX_DEPTH`].
pub struct Parsed {
    pub html: Html,
    pub flattened: usize,
}

impl Parsed {
    /// A warning for the run report when the page was flattened.
    pub fn warning(&self, what: &str) -> Option<String> {
        (self.flattened > 0).then(|| {
            format!(
                "{what} nests elements deeper than {MAX_DEPTH} levels: {} were flattened into their parents",
                self.flattened
            )
        })
    }
}

/// Parses a whole HTML document with its depth capped.
pub fn document(text: &str) -> Parsed {
    let sink = DepthCap::new(TreeBuilder::new(HtmlTreeSink::new(Html::new_document()), TreeBuilderOpts::default()));
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(text));
    // The tokenizer pauses at scripts and encoding declarations; go on to the end.
    while !matches!(tokenizer.feed(&input), TokenizerResult::Done) {}
    tokenizer.end();
    let flattened = tokenizer.sink.dropped.get();
    Parsed { html: tokenizer.sink.inner.sink.finish(), flattened }
}

/// Parses an HTML fragment (content HTML, a title with markup). One that could
/// nest deeper than [`MAX_DEPTH`] is first flattened through [`document`].
pub fn fragment(text: &str) -> Html {
    Html::parse_fragment(&flattened(text))
}

/// `text` itself when its tags cannot nest deeper than [`MAX_DEPTH`], else the
/// body of its depth-capped parse, serialized again: what ammonia and
/// fragment parsing, which cannot take a cap, are given.
pub fn flattened(text: &str) -> Cow<'_, str> {
    if !may_nest_deeper(text, MAX_DEPTH) {
        return Cow::Borrowed(text);
    }
    let parsed = document(text);
    let body = parsed
        .html
        .root_element()
        .children()
        .filter_map(scraper::ElementRef::wrap)
        .find(|e| e.value().name() == "body");
    Cow::Owned(body.map(|body| body.inner_html()).unwrap_or_default())
}

/// `text` itself when its tags cannot nest deeper than [`MAX_DEPTH`], else
/// the whole depth-capped document serialized again: for readers that parse
/// pages themselves (the article extractor).
pub fn flattened_document(text: &str) -> Cow<'_, str> {
    if !may_nest_deeper(text, MAX_DEPTH) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(document(text).html.root_element().html())
}

/// A cheap upper bound: whether counting every start tag of a non-void element
/// as one level deeper, and every end tag as one level up, ever passes `max`.
/// One scan of the bytes, no allocation: the streaming extractor asks it of every page.
pub fn may_nest_deeper(text: &str, max: usize) -> bool {
    let bytes = text.as_bytes();
    let (mut depth, mut index) = (0usize, 0usize);
    while let Some(offset) = bytes[index..].iter().position(|&b| b == b'<') {
        index += offset + 1;
        match bytes.get(index) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(byte) if byte.is_ascii_alphabetic() => {
                let name_end =
                    bytes[index..].iter().position(|b| !b.is_ascii_alphanumeric()).map_or(bytes.len(), |p| index + p);
                if !is_void_name(&bytes[index..name_end]) {
                    depth += 1;
                    if depth > max {
                        return true;
                    }
                }
            }
            _ => {}
        }
    }
    false
}

/// Whether the tag name `name` (any case) is a void element's.
fn is_void_name(name: &[u8]) -> bool {
    const VOID: [&[u8]; 15] = [
        b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta", b"source", b"track",
        b"wbr", b"param", b"keygen",
    ];
    name.len() <= 6 && VOID.iter().any(|void| void.eq_ignore_ascii_case(name))
}

/// A token sink in front of the tree builder that keeps a shadow stack of the
/// open elements (closing what HTML closes implicitly: `<li>`, `<p>`, table
/// cells...) and drops start tags past [`MAX_DEPTH`].
struct DepthCap<Sink> {
    inner: Sink,
    open: RefCell<Vec<LocalName>>,
    dropped: Cell<usize>,
}

impl<Sink> DepthCap<Sink> {
    fn new(inner: Sink) -> Self {
        DepthCap { inner, open: RefCell::new(Vec::new()), dropped: Cell::new(0) }
    }

    /// Whether the start tag `name` may reach the tree builder.
    fn admit(&self, name: &LocalName) -> bool {
        let mut open = self.open.borrow_mut();
        close_implied(&mut open, name);
        if open.len() >= MAX_DEPTH {
            self.dropped.set(self.dropped.get() + 1);
            return false;
        }
        open.push(name.clone());
        true
    }

    fn close(&self, name: &LocalName) {
        let mut open = self.open.borrow_mut();
        if let Some(position) = open.iter().rposition(|open| open == name) {
            open.truncate(position);
        }
    }
}

impl<Sink: TokenSink> TokenSink for DepthCap<Sink> {
    type Handle = Sink::Handle;

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<Self::Handle> {
        if let Token::TagToken(tag) = &token {
            match tag.kind {
                TagKind::StartTag if tag.self_closing || is_void(&tag.name) => {}
                TagKind::StartTag => {
                    if !self.admit(&tag.name) {
                        return TokenSinkResult::Continue;
                    }
                }
                TagKind::EndTag => self.close(&tag.name),
            }
        }
        self.inner.process_token(token, line_number)
    }

    fn end(&self) {
        self.inner.end();
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.inner.adjusted_current_node_present_but_not_in_html_namespace()
    }
}

/// Elements that never have children.
fn is_void(name: &LocalName) -> bool {
    is_void_name(name.as_bytes())
}

/// Pops what the start tag `name` closes implicitly, as HTML's optional end tags
/// say: a new `<li>` ends the open one, a block ends an open `<p>`, a cell ends a cell.
fn close_implied(open: &mut Vec<LocalName>, name: &LocalName) {
    let (targets, scope): (&[LocalName], &[LocalName]) = match *name {
        local_name!("li") => (&[local_name!("li")], &[local_name!("ul"), local_name!("ol"), local_name!("menu")]),
        local_name!("dd") | local_name!("dt") => (&[local_name!("dd"), local_name!("dt")], &[local_name!("dl")]),
        local_name!("tr") => (&[local_name!("tr"), local_name!("td"), local_name!("th")], &[local_name!("table")]),
        local_name!("td") | local_name!("th") => {
            (&[local_name!("td"), local_name!("th")], &[local_name!("tr"), local_name!("table")])
        }
        local_name!("option") => (&[local_name!("option")], &[local_name!("select")]),
        _ if closes_p(name) => {
            (&[local_name!("p")], &[local_name!("button"), local_name!("table"), local_name!("td"), local_name!("th")])
        }
        _ => return,
    };
    for position in (0..open.len()).rev() {
        if scope.contains(&open[position]) {
            return;
        }
        if targets.contains(&open[position]) {
            open.truncate(position);
            return;
        }
    }
}

/// Start tags that close an open `<p>`.
fn closes_p(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("address")
            | local_name!("article")
            | local_name!("aside")
            | local_name!("blockquote")
            | local_name!("div")
            | local_name!("dl")
            | local_name!("fieldset")
            | local_name!("figure")
            | local_name!("footer")
            | local_name!("form")
            | local_name!("h1")
            | local_name!("h2")
            | local_name!("h3")
            | local_name!("h4")
            | local_name!("h5")
            | local_name!("h6")
            | local_name!("header")
            | local_name!("main")
            | local_name!("nav")
            | local_name!("ol")
            | local_name!("p")
            | local_name!("pre")
            | local_name!("section")
            | local_name!("table")
            | local_name!("ul")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Selector;

    fn depth_of_deepest(html: &Html) -> usize {
        html.tree.nodes().map(|node| node.ancestors().count()).max().unwrap_or(0)
    }

    #[test]
    fn an_ordinary_page_parses_exactly_as_scraper_parses_it() {
        let page = r#"<html><head><meta charset="utf-8"><title>T</title><script>var a = "<b>";</script></head><body><ul><li>one<li>two<p>para<div>block</div></ul>
            <table><tr><td>a<td>b<tr><td>c</table><dl><dt>x<dd>y</dl><p>unclosed<p>again<br><img src=a.png></body></html>"#;
        let capped = document(page);
        assert_eq!(capped.flattened, 0);
        assert_eq!(capped.html.root_element().html(), Html::parse_document(page).root_element().html());
    }

    #[test]
    fn every_saved_page_parses_exactly_as_scraper_parses_it() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut pages = 0;
        for folder in ["coe", "wild"] {
            for entry in std::fs::read_dir(root.join(folder)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|ext| ext == "html") {
                    let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                    let capped = document(&text);
                    assert_eq!(capped.flattened, 0, "{}", path.display());
                    let expected = Html::parse_document(&text).root_element().html();
                    assert!(capped.html.root_element().html() == expected, "{} parses differently", path.display());
                    pages += 1;
                }
            }
        }
        assert!(pages >= 10, "only {pages} saved pages found");
    }

    #[test]
    fn unclosed_list_items_and_paragraphs_are_not_counted_as_nesting() {
        let items: String = (0..5_000).map(|n| format!("<li><a href=/{n}>item {n}</a><p>text")).collect();
        let parsed = document(&format!("<ul>{items}</ul>"));
        assert_eq!(parsed.flattened, 0, "a long list of unclosed <li> is flat");
        assert_eq!(parsed.html.select(&Selector::parse("li").unwrap()).count(), 5_000);
    }

    #[test]
    fn deep_nesting_is_flattened_and_its_text_kept() {
        let depth = 20_000;
        let page = format!("{}deep text{}", "<div>".repeat(depth), "</div>".repeat(depth));
        let parsed = document(&page);
        assert!(parsed.flattened >= depth - MAX_DEPTH, "{}", parsed.flattened);
        assert!(depth_of_deepest(&parsed.html) <= MAX_DEPTH + 8);
        assert!(parsed.html.root_element().text().any(|text| text.contains("deep text")));
        assert!(parsed.warning("the page").unwrap().contains("512"));
    }

    #[test]
    fn fragments_that_could_nest_deeply_are_flattened_first() {
        let shallow = "<p>a</p><p>b</p>";
        assert!(matches!(flattened(shallow), Cow::Borrowed(_)));
        let deep = format!("{}x{}", "<span>".repeat(2_000), "</span>".repeat(2_000));
        let flat = flattened(&deep);
        assert!(flat.matches("<span>").count() <= MAX_DEPTH, "{}", flat.matches("<span>").count());
        assert!(flat.contains('x'));
        assert!(!may_nest_deeper(&"<br><img src=x><p>".repeat(1_000).replace("<p>", "<p></p>"), MAX_DEPTH));
    }
}
