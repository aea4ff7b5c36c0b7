//! Fetch stage: page bytes → text, choosing the character encoding as a browser
//! would; it does not parse HTML beyond scanning for a `<meta>` charset.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252, X_USER_DEFINED};

/// How far into the body a `<meta>` charset is looked for.
const META_SCAN_BYTES: usize = 1024;

/// Decodes a page body. The encoding is, in order: a byte order mark (UTF-8,
/// UTF-16LE/BE), the `charset` of the `Content-Type` header, a `<meta charset>` or
/// `<meta http-equiv="Content-Type" content="…; charset=…">` in the first 1024
/// bytes, else UTF-8. The BOM comes first, as in the WHATWG encoding sniffing
/// algorithm: a page whose BOM contradicts its header is decoded by its BOM, which
/// is what its bytes are. Labels follow WHATWG, so `iso-8859-1` means windows-1252,
/// as in browsers. Invalid bytes become U+FFFD; decoding never fails. A leading BOM
/// is not part of the text. Valid UTF-8 is borrowed, not copied: a page is not held twice.
pub fn decode_html<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    decode_with_bom_first(bytes, |bytes| declared_encoding(bytes, content_type))
}

/// Decodes `bytes` by their byte order mark when they have one (which is then
/// not part of the text), else by the encoding `declared` finds in them.
/// Invalid bytes become U+FFFD. Shared by pages and feeds, which differ only in
/// where they declare their encoding.
pub fn decode_with_bom_first<'a>(bytes: &'a [u8], declared: impl FnOnce(&[u8]) -> &'static Encoding) -> Cow<'a, str> {
    let (encoding, body) = match Encoding::for_bom(bytes) {
        Some((encoding, bom_length)) => (encoding, &bytes[bom_length..]),
        None => (declared(bytes), bytes),
    };
    let (text, _had_errors) = encoding.decode_without_bom_handling(body);
    text
}

/// The encoding the header or a meta tag declares, UTF-8 when neither does,
/// or when the body is valid UTF-8 with characters beyond ASCII whatever the
/// declaration says: a page saved or served as UTF-8 under a stale legacy label
/// (`gb2312`, `windows-1252`) is common, while legacy text that happens to be
/// valid multi-byte UTF-8 is not.
fn declared_encoding(bytes: &[u8], content_type: Option<&str>) -> &'static Encoding {
    let declared = content_type
        .and_then(header_charset)
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .or_else(|| meta_charset(bytes))
        .unwrap_or(UTF_8);
    if declared != UTF_8 && declared.is_ascii_compatible() && !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    declared
}

/// The `charset` parameter of a `Content-Type` value, without quotes.
fn header_charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        let value = value.trim().trim_matches(['"', '\'']);
        name.trim().eq_ignore_ascii_case("charset").then_some(value)
    })
}

/// The charset of the first `<meta>` tag that declares one in the body's head.
/// As in browsers, a meta tag cannot select UTF-16 (the bytes being scanned are
/// ASCII-compatible, so it must be wrong) and `x-user-defined` means windows-1252.
fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = bytes[..bytes.len().min(META_SCAN_BYTES)].to_ascii_lowercase();
    let mut rest = head.as_slice();
    while let Some(start) = find(rest, b"<meta") {
        let tag = &rest[start..];
        let end = tag.iter().position(|&byte| byte == b'>').unwrap_or(tag.len());
        if let Some(encoding) = tag_charset(&tag[..end]) {
            return Some(browser_meta_encoding(encoding));
        }
        rest = &tag[end..];
    }
    None
}

/// The value after `charset=` inside one tag (attribute or `content` parameter).
fn tag_charset(tag: &[u8]) -> Option<&'static Encoding> {
    let after_name = &tag[find(tag, b"charset")? + b"charset".len()..];
    let after_equals = after_name.trim_ascii_start().strip_prefix(b"=")?;
    let value = skip_quotes(after_equals.trim_ascii_start());
    let end = value
        .iter()
        .position(|&byte| matches!(byte, b'"' | b'\'' | b';' | b'/' | b'>') || byte.is_ascii_whitespace())
        .unwrap_or(value.len());
    Encoding::for_label(&value[..end])
}

fn browser_meta_encoding(encoding: &'static Encoding) -> &'static Encoding {
    if encoding == UTF_16LE || encoding == UTF_16BE {
        UTF_8
    } else if encoding == X_USER_DEFINED {
        WINDOWS_1252
    } else {
        encoding
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// `bytes` without the quotes that may open an attribute value.
fn skip_quotes(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&byte| byte != b'"' && byte != b'\'').unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATIN1_CAFE: &[u8] = b"caf\xe9";

    fn html_with_head(head: &str, body: &[u8]) -> Vec<u8> {
        let mut page = format!("<!doctype html><html><head>{head}</head><body>").into_bytes();
        page.extend_from_slice(body);
        page.extend_from_slice(b"</body></html>");
        page
    }

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let bom: &[u8] = if big_endian { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] };
        let units =
            text.encode_utf16().flat_map(|unit| if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        bom.iter().copied().chain(units).collect()
    }

    #[test]
    fn iso_8859_1_from_the_header() {
        let text = decode_html(LATIN1_CAFE, Some("text/html; charset=ISO-8859-1"));
        assert_eq!(text, "café");
    }

    #[test]
    fn utf8_bytes_under_a_stale_legacy_label_are_read_as_utf8() {
        let head = r#"<meta http-equiv="Content-Type" content="text/html; charset=gb2312">"#;
        let page = html_with_head(head, "腾讯新闻 café".as_bytes());
        assert!(decode_html(&page, None).contains("<body>腾讯新闻 café</body>"));
        assert!(decode_html("naïve".as_bytes(), Some("text/html; charset=windows-1252")).contains("naïve"));
        // The GB2312 bytes of 你好 are not valid UTF-8: they keep their label.
        let legacy = html_with_head(head, b"\xc4\xe3\xba\xc3");
        assert_eq!(decode_html(&legacy, None).matches('\u{fffd}').count(), 0);
        assert!(decode_html(&legacy, None).contains("你好"));
    }

    #[test]
    fn quoted_header_charset() {
        let text = decode_html(LATIN1_CAFE, Some("text/html;charset=\"iso-8859-1\""));
        assert_eq!(text, "café");
    }

    #[test]
    fn iso_8859_1_from_meta_http_equiv() {
        let head = r#"<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">"#;
        let text = decode_html(&html_with_head(head, LATIN1_CAFE), Some("text/html")).into_owned();
        assert!(text.contains("<body>café</body>"), "{text}");
    }

    #[test]
    fn iso_8859_1_from_meta_charset() {
        let head = r#"<title>x</title><META CHARSET = 'latin1' />"#;
        let text = decode_html(&html_with_head(head, LATIN1_CAFE), None).into_owned();
        assert!(text.contains("<body>café</body>"), "{text}");
    }

    #[test]
    fn meta_beyond_the_first_kilobyte_is_ignored() {
        let head = format!("<!-- {} --><meta charset=iso-8859-1>", "x".repeat(1100));
        let text = decode_html(&html_with_head(&head, LATIN1_CAFE), None).into_owned();
        assert!(text.contains("caf\u{FFFD}"), "{text}");
    }

    #[test]
    fn header_wins_over_meta() {
        let page = html_with_head("<meta charset=\"iso-8859-1\">", "café".as_bytes());
        let text = decode_html(&page, Some("text/html; charset=utf-8"));
        assert!(text.contains("<body>café</body>"), "{text}");
    }

    #[test]
    fn meta_cannot_select_utf16() {
        let page = html_with_head("<meta charset=\"utf-16\">", "café".as_bytes());
        assert!(decode_html(&page, None).contains("<body>café</body>"));
    }

    #[test]
    fn windows_1252_curly_quotes() {
        let bytes = b"\x93quoted\x94 \x96 it\x92s";
        let text = decode_html(bytes, Some("text/html; charset=windows-1252"));
        assert_eq!(text, "\u{201C}quoted\u{201D} \u{2013} it\u{2019}s");
        // iso-8859-1 is windows-1252 on the web, so the same bytes give the same text.
        assert_eq!(decode_html(bytes, Some("text/html; charset=iso-8859-1")), text);
    }

    #[test]
    fn utf16le_with_bom() {
        let text = decode_html(&utf16("<p>café €</p>", false), None).into_owned();
        assert_eq!(text, "<p>café €</p>");
    }

    #[test]
    fn utf16be_with_bom() {
        let text = decode_html(&utf16("<p>café €</p>", true), Some("text/html")).into_owned();
        assert_eq!(text, "<p>café €</p>");
    }

    #[test]
    fn bom_wins_over_a_contradicting_header() {
        let text = decode_html(&utf16("<p>café</p>", false), Some("text/html; charset=iso-8859-1")).into_owned();
        assert_eq!(text, "<p>café</p>");
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let text = decode_html(b"\xEF\xBB\xBF<p>caf\xC3\xA9</p>", Some("text/html; charset=utf-8"));
        assert_eq!(text, "<p>café</p>");
    }

    #[test]
    fn utf8_without_any_declaration() {
        assert_eq!(decode_html("<p>café</p>".as_bytes(), None), "<p>café</p>");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        let text = decode_html(b"ok \xFF\xFE\xC3 end", Some("text/html; charset=utf-8"));
        assert!(text.starts_with("ok "), "{text}");
        assert!(text.ends_with(" end"), "{text}");
        assert!(text.contains('\u{FFFD}'), "{text}");
    }

    #[test]
    fn unknown_labels_fall_back_to_utf8() {
        let text = decode_html("café".as_bytes(), Some("text/html; charset=klingon"));
        assert_eq!(text, "café");
    }
}
