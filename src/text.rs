//! Text cleaning shared by extraction and feed ingestion: the plain text of an
//! HTML element with sensible spaces, whitespace collapsed, characters that
//! XML 1.0 forbids removed, and content HTML sanitized with absolute links.
//!
//! Pure; no selectors (that is `extract`) and no XML writing (that is `publish`).

use std::borrow::Cow;
use std::sync::LazyLock;

use ego_tree::iter::Edge;
use scraper::{ElementRef, Node, Selector};
use url::Url;

/// Elements after which a reader sees a break, so their texts must not run together.
const BREAKING: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

/// The visible text of `element`: text nodes in order, a space where a block
/// or `<br>` separates them, scripts and styles skipped, whitespace collapsed.
pub fn element_text(element: ElementRef) -> String {
    let mut raw = String::new();
    let mut skipping = 0usize;
    for edge in element.traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(tag) if is_hidden(tag.name()) => skipping += 1,
                Node::Element(tag) if BREAKING.contains(&tag.name()) => raw.push(' '),
                Node::Text(text) if skipping == 0 => raw.push_str(text),
                _ => {}
            },
            Edge::Close(node) => match node.value() {
                Node::Element(tag) if is_hidden(tag.name()) => skipping = skipping.saturating_sub(1),
                Node::Element(tag) if BREAKING.contains(&tag.name()) => raw.push(' '),
                _ => {}
            },
        }
    }
    clean_text(&raw)
}

fn is_hidden(tag: &str) -> bool {
    matches!(tag, "script" | "style" | "template" | "noscript")
}

/// Collapses every run of whitespace (including non-breaking spaces) into one
/// space, trims, and drops characters XML 1.0 forbids.
pub fn clean_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if is_xml_char(c) && !c.is_control() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Lower case with the accents of Latin letters taken off ("Févr" → "fevr",
/// "Straße" → "strasse"): how `dates` compares month names and how imported
/// titles become ids.
pub fn fold_accents(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        let base = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
            'ñ' | 'ń' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
            'ý' | 'ÿ' => 'y',
            'ś' | 'š' => 's',
            'ź' | 'ż' | 'ž' => 'z',
            'ł' => 'l',
            'ß' => {
                out.push_str("ss");
                continue;
            }
            other => other,
        };
        out.push(base);
    }
    out
}

/// `text` cut to at most `max` characters at a word boundary, with `…` when cut.
pub fn truncate_words(text: &str, max: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return text.to_owned();
    };
    let head = &text[..cut];
    let head = head.rsplit_once(' ').map_or(head, |(words, _)| words);
    format!("{}…", head.trim_end_matches([' ', ',', ';', ':', '.']))
}

/// Whether XML 1.0 allows `c` in a document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Sanitizes content HTML: no scripts, styles or event handlers; relative links
/// and image sources made absolute against `base`, and every URL, checked after
/// that, `http(s)` or `mailto:` (anything else is removed); forbidden XML
/// characters dropped. Empty when nothing visible remains.
/// Lazy images keep their real address (see `unlazy_images`).
pub fn sanitize_html(html: &str, base: &Url) -> String {
    let cleaned = ammonia::Builder::default()
        .add_tags(MATHML_TAGS)
        .add_tag_attributes("math", ["display"])
        .url_schemes(std::collections::HashSet::from(["http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::Custom(Box::new(WebLinks(base.clone()))))
        .link_rel(Some("noopener noreferrer"))
        .clean(&unlazy_images(&crate::parse::flattened(html)))
        .to_string();
    let cleaned: String = cleaned.chars().filter(|&c| is_xml_char(c)).collect();
    cleaned.trim().to_string()
}

/// MathML Core's presentation elements. Kept, because ammonia removes an
/// element of the MathML namespace that is not allowed together with its
/// text: a formula would vanish from the article instead of showing as text.
const MATHML_TAGS: [&str; 27] = [
    "math",
    "mrow",
    "mi",
    "mn",
    "mo",
    "ms",
    "mspace",
    "mtext",
    "msub",
    "msup",
    "msubsup",
    "munder",
    "mover",
    "munderover",
    "mfrac",
    "msqrt",
    "mroot",
    "mstyle",
    "mpadded",
    "mphantom",
    "merror",
    "mtable",
    "mtr",
    "mtd",
    "mmultiscripts",
    "mprescripts",
    "semantics",
];

/// Makes a relative URL absolute against the base it holds, and keeps it only
/// when the result is `http(s)`: a base such as `javascript://` yields nothing.
struct WebLinks(Url);

impl ammonia::UrlRelativeEvaluate<'static> for WebLinks {
    fn evaluate<'a>(&self, relative: &'a str) -> Option<Cow<'a, str>> {
        let url = self.0.join(relative).ok()?;
        crate::hygiene::is_web_url(&url).then(|| Cow::Owned(url.to_string()))
    }
}

/// Whether an image `src` only holds a lazy image's place: empty, or a `data:` URI.
pub fn is_placeholder_src(src: &str) -> bool {
    let src = src.trim();
    src.is_empty() || src.get(..5).is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
}

static LAZY_IMAGE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("img[data-src]").expect("valid selector"));

/// `html` with each lazy image (a placeholder `src`, the real address in `data-src`)
/// rewritten as a plain `<img src>`: sanitizing drops `data-*` attributes and
/// `data:` URIs, so without this the image would lose its address. The HTML is
/// re-serialized only when it has such an image.
fn unlazy_images(html: &str) -> Cow<'_, str> {
    if !html.contains("data-src") {
        return Cow::Borrowed(html);
    }
    let fragment = crate::parse::fragment(html);
    let lazy: Vec<(String, String)> = fragment
        .select(&LAZY_IMAGE)
        .filter(|img| img.value().attr("src").is_none_or(is_placeholder_src))
        .map(|img| (img.html(), eager_img(img)))
        .collect();
    if lazy.is_empty() {
        return Cow::Borrowed(html);
    }
    // Both strings come from the same serializer, so each lazy tag is found verbatim;
    // identical tags get identical replacements.
    let mut out = fragment.root_element().inner_html();
    for (tag, eager) in lazy {
        out = out.replace(&tag, &eager);
    }
    Cow::Owned(out)
}

/// An `<img>` tag with `data-src` as its `src` and its other attributes kept.
fn eager_img(img: ElementRef) -> String {
    let mut tag = String::from("<img");
    let src = img.value().attr("data-src").unwrap_or_default();
    let others = img.value().attrs().filter(|(name, _)| !matches!(*name, "src" | "data-src"));
    for (name, value) in std::iter::once(("src", src)).chain(others) {
        let value = value.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;");
        tag.push_str(&format!(" {name}=\"{value}\""));
    }
    tag.push('>');
    tag
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    fn text_of(html: &str) -> String {
        let document = Html::parse_fragment(html);
        let selector = Selector::parse("body, html").unwrap();
        let root = document.select(&selector).next().unwrap();
        element_text(root)
    }

    #[test]
    fn blocks_and_breaks_separate_words_and_inline_tags_do_not() {
        assert_eq!(text_of("<p>24 November 2022<br>Strasbourg</p><p>Next</p>"), "24 November 2022 Strasbourg Next");
        assert_eq!(text_of("<span>Cyber</span><b>crime</b>"), "Cybercrime");
    }

    #[test]
    fn scripts_and_styles_are_not_text() {
        assert_eq!(text_of("<div>Hello<script>alert(1)</script><style>p{}</style> world</div>"), "Hello world");
    }

    #[test]
    fn whitespace_collapses_and_entities_are_decoded_once() {
        assert_eq!(text_of("<h3>\n   Octopus\u{a0}&amp;\t&amp;amp; co\n </h3>"), "Octopus & &amp; co");
    }

    #[test]
    fn formulas_keep_their_mathml_and_lose_their_scripts() {
        let base = Url::parse("https://example.org/").expect("a URL");
        let html = r#"<p>When <math display="block"><mi>a</mi><mo>≠</mo><mn>0</mn><annotation-xml><svg onload="x()"></svg></annotation-xml></math>, solve it.</p>"#;
        let clean = sanitize_html(html, &base);
        assert!(clean.contains(r#"<math display="block"><mi>a</mi><mo>≠</mo><mn>0</mn>"#), "{clean}");
        assert!(!clean.contains("svg") && !clean.contains("onload"), "{clean}");
    }

    #[test]
    fn characters_xml_forbids_are_dropped() {
        assert_eq!(clean_text("a\u{1}b\u{2}c\u{fffe}d\u{7f}"), "abcd");
        assert_eq!(clean_text("a\u{b}b"), "a b", "a vertical tab is whitespace");
        assert!(!is_xml_char('\u{0}'));
        assert!(is_xml_char('€') && is_xml_char('\u{1F600}'));
    }

    #[test]
    fn sanitizing_removes_scripts_handlers_and_javascript_urls_and_absolutizes_links() {
        let base = Url::parse("https://www.coe.int/en/web/cybercrime/-/article").unwrap();
        let html = r#"<p onclick="x()">Read <a href="/en/web/cybercrime/doc">this</a> <a href="javascript:alert(1)">bad</a>
            <img src="img/a.png"></p><script>alert(1)</script>"#;
        let clean = sanitize_html(html, &base);
        assert!(!clean.contains("onclick") && !clean.contains("script") && !clean.contains("javascript"), "{clean}");
        assert!(clean.contains(r#"href="https://www.coe.int/en/web/cybercrime/doc""#), "{clean}");
        assert!(clean.contains(r#"src="https://www.coe.int/en/web/cybercrime/-/img/a.png""#), "{clean}");
    }

    #[test]
    fn a_javascript_base_cannot_smuggle_a_script_url_into_content() {
        let base = Url::parse("javascript://%0Aalert(1)//").unwrap();
        let clean =
            sanitize_html(r#"<p><a href="x">link</a> <img src="y.png"> <a href="mailto:a@b.org">m</a></p>"#, &base);
        assert!(!clean.contains("javascript"), "{clean}");
        assert!(clean.contains("mailto:a@b.org"), "{clean}");
        let clean = sanitize_html(
            r#"<a href="data:text/html,x">d</a><a href="vbscript:x">v</a>"#,
            &Url::parse("https://e.org/").unwrap(),
        );
        assert!(!clean.contains("data:") && !clean.contains("vbscript"), "{clean}");
    }

    #[test]
    fn lazy_image_in_content_keeps_its_data_src_address() {
        let base = Url::parse("https://www.coe.int/en/web/cybercrime/-/article").unwrap();
        let html = r#"<p><img alt="Workshop" data-src="/documents/a.png?x=1&amp;y=2" src="data:image/gif;base64,R0lG"></p>
            <p><img data-src="/documents/b.png" src=""><img src="/documents/c.png" data-src="/documents/d.png"></p>"#;
        let clean = sanitize_html(html, &base);
        assert!(clean.contains(r#"src="https://www.coe.int/documents/a.png?x=1&amp;y=2""#), "{clean}");
        assert!(clean.contains(r#"alt="Workshop""#), "{clean}");
        assert!(clean.contains(r#"src="https://www.coe.int/documents/b.png""#), "{clean}");
        assert!(clean.contains(r#"src="https://www.coe.int/documents/c.png""#), "a real src wins: {clean}");
        assert!(!clean.contains("data:") && !clean.contains("d.png"), "{clean}");
    }
}
