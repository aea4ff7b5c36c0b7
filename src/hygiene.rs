//! Item hygiene: the last word on an item before it is stored and again before it
//! is published. Pages and feeds are written by strangers, so every URL an item
//! carries must be one a reader may safely follow (`http(s)`), its texts have a
//! length a feed reader can show, and its title carries no bidirectional override
//! that would make it read as something else.
//!
//! Pure. It does not sanitize content HTML (that is `text::sanitize_html`, which
//! checks every URL inside the HTML after making it absolute).

use url::Url;

use crate::model::Item;

/// Longest title kept, in characters; a longer one is cut with "…".
pub const MAX_TITLE_CHARS: usize = 1_000;
/// Longest summary kept, in characters.
pub const MAX_SUMMARY_CHARS: usize = 20_000;
/// Longest content HTML kept, in bytes (cut only between tags, see `cap_html`).
pub const MAX_CONTENT_BYTES: usize = 1_000_000;
/// Longest location, author or category kept, in characters.
pub const MAX_LABEL_CHARS: usize = 300;
/// Most authors or categories kept for one item.
pub const MAX_LABELS: usize = 50;

/// Whether `url` may be published: an absolute `http(s)` URL with a host.
pub fn is_web_url(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.has_host()
}

/// Whether the text `url` parses as a URL that [`is_web_url`] accepts.
pub fn is_web_url_text(url: &str) -> bool {
    Url::parse(url).is_ok_and(|url| is_web_url(&url))
}

/// `candidate` when it may serve as a base for resolving a page's links: a
/// `<base href>` or `xml:base` that is not `http(s)` (such as `javascript:`) is ignored.
pub fn web_base(candidate: Url) -> Option<Url> {
    is_web_url(&candidate).then_some(candidate)
}

/// Makes `item` fit to store and publish: drops every URL that is not
/// `http(s)` (link, image, attachments), caps its texts, and takes bidirectional
/// controls out of its title. Returns a warning for each thing it dropped or cut.
pub fn clean_item(item: &mut Item) -> Vec<String> {
    // What was dropped or cut; each is prefixed with the (final) title at the end,
    // so a clean item costs no copy of its title.
    let mut dropped: Vec<String> = Vec::new();
    let mut note = |message: String| dropped.push(message);
    if !item.link.is_empty() && !is_web_url_text(&item.link) {
        note(format!("link \"{}\" dropped: only http(s) URLs are published", shorten(&item.link)));
        item.link.clear();
    }
    if let Some(image) = item.image.take() {
        if is_web_url_text(&image) {
            item.image = Some(image);
        } else {
            note(format!("image \"{}\" dropped: only http(s) URLs are published", shorten(&image)));
        }
    }
    item.enclosures.retain(|enclosure| {
        let keep = is_web_url_text(&enclosure.url);
        if !keep {
            note(format!("attachment \"{}\" dropped: only http(s) URLs are published", shorten(&enclosure.url)));
        }
        keep
    });
    remove_bidi_controls(&mut item.title);
    if item.title.chars().nth(MAX_TITLE_CHARS).is_some() {
        item.title = cap_chars(&item.title, MAX_TITLE_CHARS);
        note(format!("title cut to {MAX_TITLE_CHARS} characters"));
    }
    if let Some(summary) = item.summary.as_mut().filter(|summary| summary.chars().nth(MAX_SUMMARY_CHARS).is_some()) {
        *summary = cap_chars(summary, MAX_SUMMARY_CHARS);
        note(format!("summary cut to {MAX_SUMMARY_CHARS} characters"));
    }
    if let Some(content) = item.content.as_mut().filter(|content| content.len() > MAX_CONTENT_BYTES) {
        *content = cap_html(content, MAX_CONTENT_BYTES);
        note(format!("content cut to {MAX_CONTENT_BYTES} bytes"));
    }
    let labels = item.location.iter_mut().chain(item.authors.iter_mut().take(MAX_LABELS));
    for label in labels.chain(item.categories.iter_mut().take(MAX_LABELS)) {
        remove_bidi_controls(label);
        if label.chars().nth(MAX_LABEL_CHARS).is_some() {
            *label = cap_chars(label, MAX_LABEL_CHARS);
        }
    }
    item.authors.truncate(MAX_LABELS);
    item.categories.truncate(MAX_LABELS);
    if dropped.is_empty() {
        return dropped;
    }
    let title = shorten(&item.title);
    dropped.into_iter().map(|message| format!("\"{title}\": {message}")).collect()
}

/// `item` as [`clean_item`] leaves it, for items stored before these rules.
pub fn cleaned(mut item: Item) -> Item {
    clean_item(&mut item);
    item
}

/// The bidirectional embedding, override and isolate controls
/// (U+202A–U+202E, U+2066–U+2069), which can make a title display reversed.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Takes the bidirectional controls out of `text`; no copy when it has none.
fn remove_bidi_controls(text: &mut String) {
    if text.contains(is_bidi_control) {
        text.retain(|c| !is_bidi_control(c));
    }
}

/// `text` cut to at most `max` characters, ending in "…" when cut.
pub fn cap_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            let kept: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{}…", kept.trim_end())
        }
    }
}

/// HTML cut to at most `max` bytes at the last tag boundary before it, so no
/// tag or entity is split (unclosed elements are closed by any HTML reader).
fn cap_html(html: &str, max: usize) -> String {
    let mut end = max.min(html.len());
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let cut = html[..end].rfind('<').unwrap_or(end);
    html[..cut].to_owned()
}

/// A URL or title short enough for a warning line.
fn shorten(text: &str) -> String {
    cap_chars(text, 80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Enclosure;

    fn item() -> Item {
        Item { guid: "g".into(), link: "https://example.org/a".into(), title: "Title".into(), ..Item::default() }
    }

    #[test]
    fn only_http_urls_survive_in_every_field() {
        let mut item = Item {
            link: "javascript:alert(1)".into(),
            image: Some("data:image/png;base64,AAAA".into()),
            enclosures: vec![
                Enclosure {
                    url: "javascript:alert(2)".into(),
                    mime_type: "audio/mpeg".into(),
                    length: None,
                    title: None,
                },
                Enclosure {
                    url: "file:///etc/passwd".into(),
                    mime_type: "text/plain".into(),
                    length: None,
                    title: None,
                },
                Enclosure {
                    url: "https://example.org/a.mp3".into(),
                    mime_type: "audio/mpeg".into(),
                    length: None,
                    title: None,
                },
            ],
            ..item()
        };
        let warnings = clean_item(&mut item);
        assert_eq!(item.link, "");
        assert_eq!(item.image, None);
        assert_eq!(item.enclosures.len(), 1);
        assert_eq!(item.enclosures[0].url, "https://example.org/a.mp3");
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("javascript:alert(1)")), "{warnings:?}");
    }

    #[test]
    fn a_huge_title_is_cut_and_bidi_overrides_are_removed() {
        let mut item = Item { title: format!("\u{202E}gnp.exe\u{2066}{}", "x".repeat(10_000_000)), ..item() };
        let warnings = clean_item(&mut item);
        assert_eq!(item.title.chars().count(), MAX_TITLE_CHARS);
        assert!(item.title.starts_with("gnp.exex") && item.title.ends_with('…'), "{}", &item.title[..20]);
        assert!(!item.title.contains('\u{202E}') && !item.title.contains('\u{2066}'));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn long_content_is_cut_between_tags() {
        let mut item = Item { content: Some("<p>é</p>".repeat(MAX_CONTENT_BYTES)), ..item() };
        clean_item(&mut item);
        let content = item.content.unwrap();
        assert!(content.len() <= MAX_CONTENT_BYTES);
        assert!(content.ends_with("</p>"), "{}", &content[content.len() - 10..]);
    }

    #[test]
    fn non_web_bases_are_ignored() {
        assert!(web_base(Url::parse("javascript://%0Aalert(1)//").unwrap()).is_none());
        assert!(web_base(Url::parse("data:text/html,x").unwrap()).is_none());
        assert!(web_base(Url::parse("https://example.org/").unwrap()).is_some());
    }

    #[test]
    fn a_clean_item_is_left_as_it_is() {
        let mut clean = item();
        assert!(clean_item(&mut clean).is_empty());
        assert_eq!(clean, item());
    }
}
