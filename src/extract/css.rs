//! The shape of a CSS selector, read from its text without matching anything:
//! its comma-separated parts, each part's compound selectors and the
//! combinators between them, and which compounds look beyond the element they
//! match (pseudo-classes, which can look at siblings or up the tree).
//!
//! `stream` uses it to decide what a streaming pass can match and what needs a
//! tree. It does not validate: the selectors were parsed by `scraper` when the
//! config was read, so the text is known to be a selector.

/// How two compounds of a selector relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combinator {
    /// `a b`
    Descendant,
    /// `a > b`
    Child,
    /// `a + b`
    NextSibling,
    /// `a ~ b`
    LaterSibling,
}

impl Combinator {
    /// Whether it relates siblings (`+`, `~`) rather than an element and its ancestors.
    pub fn is_sibling(self) -> bool {
        matches!(self, Combinator::NextSibling | Combinator::LaterSibling)
    }

    fn text(self) -> &'static str {
        match self {
            Combinator::Descendant => " ",
            Combinator::Child => " > ",
            Combinator::NextSibling => " + ",
            Combinator::LaterSibling => " ~ ",
        }
    }
}

/// One comma-separated part of a selector: `compounds[i]` and `compounds[i + 1]`
/// are joined by `combinators[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complex<'a> {
    pub compounds: Vec<&'a str>,
    pub combinators: Vec<Combinator>,
}

impl Complex<'_> {
    /// The compound that names the matched element itself.
    pub fn last(&self) -> &str {
        self.compounds.last().copied().unwrap_or_default()
    }

    /// The selector text from compound `from` (at least 1) on, what comes
    /// before it written as `:scope`: `a > b c` from 1 is `:scope > b c`.
    pub fn scoped_from(&self, from: usize) -> String {
        let mut text = String::from(":scope");
        for (index, compound) in self.compounds.iter().enumerate().skip(from) {
            text.push_str(self.combinators[index - 1].text());
            text.push_str(compound);
        }
        text
    }
}

fn end_compound<'a>(selector: &'a str, current: &mut Complex<'a>, start: &mut Option<usize>, end: usize) {
    if let Some(begin) = start.take() {
        current.compounds.push(&selector[begin..end]);
    }
}

/// The comma-separated parts of `selector`.
pub fn parts(selector: &str) -> Vec<Complex<'_>> {
    let mut parts = Vec::new();
    let mut current = Complex { compounds: Vec::new(), combinators: Vec::new() };
    let mut pending: Option<Combinator> = None;
    let mut compound_start: Option<usize> = None;
    let mut scanner = Scanner::default();
    let bytes = selector.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        let top_level = scanner.at_top_level(byte);
        let combinator = match byte {
            _ if !top_level => None,
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => Some(Combinator::Descendant),
            b'>' => Some(Combinator::Child),
            b'+' => Some(Combinator::NextSibling),
            b'~' => Some(Combinator::LaterSibling),
            _ => None,
        };
        match (byte, combinator) {
            (b',', _) if top_level => {
                end_compound(selector, &mut current, &mut compound_start, index);
                pending = None;
                parts.push(std::mem::replace(&mut current, Complex { compounds: Vec::new(), combinators: Vec::new() }));
            }
            (_, Some(combinator)) => {
                end_compound(selector, &mut current, &mut compound_start, index);
                // Whitespace around `>`, `+` and `~` does not make a descendant combinator.
                if pending.is_none_or(|seen| seen == Combinator::Descendant) && !current.compounds.is_empty() {
                    pending = Some(combinator);
                }
            }
            _ => {
                if compound_start.is_none() {
                    if let Some(combinator) = pending.take() {
                        current.combinators.push(combinator);
                    }
                    compound_start = Some(index);
                }
            }
        }
    }
    end_compound(selector, &mut current, &mut compound_start, bytes.len());
    parts.push(current);
    parts
}

/// Whether `compound` names only what its element carries: tag, id, classes,
/// attributes. No pseudo-class, no namespace.
pub fn is_plain(compound: &str) -> bool {
    let mut scanner = Scanner::default();
    compound.bytes().all(|byte| !(scanner.at_top_level(byte) && matches!(byte, b':' | b'|' | b'&')))
}

/// Whether `compound` could match an element HTML's parser adds without a tag
/// in the page (`<tbody>` around a table's rows, `<html>`, `<head>`, `<body>`,
/// `<colgroup>`), which a stream never sees: it names one of those, or `*`.
pub fn may_match_implied(compound: &str) -> bool {
    let name_end = compound.find(['.', '#', '[', ':']).unwrap_or(compound.len());
    let name = compound[..name_end].trim();
    name == "*"
        || ["html", "head", "body", "tbody", "colgroup"].iter().any(|implied| implied.eq_ignore_ascii_case(name))
}

/// Whether `compound`, matching an element inside an item, can be decided
/// within that element's parent: its pseudo-classes look at siblings or
/// downward (`:first-child`, `:has(> a)`, `:not(.x)`), never at ancestors
/// (`:root`, `:not(.a .b)`).
pub fn looks_only_around(compound: &str) -> bool {
    let mut scanner = Scanner::default();
    let bytes = compound.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if scanner.at_top_level(byte) && byte == b':' {
            let name_start = index + 1 + usize::from(bytes.get(index + 1) == Some(&b':'));
            let name_end = bytes[name_start..]
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))
                .map_or(bytes.len(), |p| name_start + p);
            let name = compound[name_start..name_end].to_ascii_lowercase();
            if matches!(name.as_str(), "root" | "scope" | "host") {
                return false;
            }
            if bytes.get(name_end) == Some(&b'(') {
                let close = matching_paren(bytes, name_end);
                let argument = &compound[name_end + 1..close.min(bytes.len())];
                let relational = argument.bytes().any(|b| matches!(b, b' ' | b'>' | b'+' | b'~'));
                if relational && name != "has" {
                    return false;
                }
                for byte in &bytes[index..close.min(bytes.len())] {
                    scanner.at_top_level(*byte);
                }
                index = close;
                continue;
            }
        }
        index += 1;
    }
    true
}

/// The index of the `)` that closes the `(` at `open`.
fn matching_paren(bytes: &[u8], open: usize) -> usize {
    let mut scanner = Scanner::default();
    for (offset, &byte) in bytes[open..].iter().enumerate() {
        scanner.at_top_level(byte);
        if offset > 0 && byte == b')' && scanner.depth == 0 && scanner.quote.is_none() {
            return open + offset;
        }
    }
    bytes.len()
}

/// Tracks brackets, parentheses, quotes and escapes, one byte at a time.
#[derive(Default)]
struct Scanner {
    depth: usize,
    quote: Option<u8>,
    escaped: bool,
}

impl Scanner {
    /// Takes the next byte; true when it stands outside brackets, parentheses and strings.
    fn at_top_level(&mut self, byte: u8) -> bool {
        if self.escaped {
            self.escaped = false;
            return false;
        }
        if byte == b'\\' {
            self.escaped = true;
            return false;
        }
        if let Some(quote) = self.quote {
            if byte == quote {
                self.quote = None;
            }
            return false;
        }
        match byte {
            b'"' | b'\'' => {
                self.quote = Some(byte);
                false
            }
            b'[' | b'(' => {
                self.depth += 1;
                false
            }
            b']' | b')' => {
                self.depth = self.depth.saturating_sub(1);
                false
            }
            _ => self.depth == 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Combinator::*;

    fn shape(selector: &str) -> Vec<(Vec<&str>, Vec<Combinator>)> {
        parts(selector).into_iter().map(|part| (part.compounds, part.combinators)).collect()
    }

    #[test]
    fn compounds_and_combinators_are_split_outside_brackets_and_strings() {
        assert_eq!(shape("div.a  >  p b"), vec![(vec!["div.a", "p", "b"], vec![Child, Descendant])]);
        assert_eq!(shape(r#"a[title="x > y, z"] + b"#), vec![(vec![r#"a[title="x > y, z"]"#, "b"], vec![NextSibling])]);
        assert_eq!(shape("tr:has(td > a), li"), vec![(vec!["tr:has(td > a)"], vec![]), (vec!["li"], vec![])]);
        assert_eq!(shape("#articles ~ ul>li"), vec![(vec!["#articles", "ul", "li"], vec![LaterSibling, Child])]);
        assert_eq!(shape(r"a\ b c"), vec![(vec![r"a\ b", "c"], vec![Descendant])]);
        assert_eq!(shape("[itemtype='x y'] a"), vec![(vec!["[itemtype='x y']", "a"], vec![Descendant])]);
    }

    #[test]
    fn plain_compounds_have_no_pseudo_class() {
        assert!(is_plain("div.element[data-x='a:b']"));
        assert!(is_plain("#main"));
        assert!(!is_plain("li:first-child"));
        assert!(!is_plain("tr:has(a)"));
        assert!(!is_plain("svg|a"));
    }

    #[test]
    fn compounds_that_may_match_elements_without_tags_are_told_apart() {
        assert!(may_match_implied("tbody"));
        assert!(may_match_implied("TBODY.rows"));
        assert!(may_match_implied("*"));
        assert!(!may_match_implied("tr"));
        assert!(!may_match_implied(".body"));
        assert!(!may_match_implied("tbodyx"));
    }

    #[test]
    fn pseudo_classes_that_look_up_the_tree_are_told_apart() {
        assert!(looks_only_around("a:first-child"));
        assert!(looks_only_around("div:has(> a[href])"));
        assert!(looks_only_around("p:not(.ad)"));
        assert!(!looks_only_around(":root"));
        assert!(!looks_only_around("p:not(.ad p)"));
        assert!(!looks_only_around("a:is(nav a)"));
    }

    #[test]
    fn the_tail_of_a_selector_is_rewritten_against_scope() {
        let part = parts("table.x > tbody tr:has(a)").remove(0);
        assert_eq!(part.scoped_from(1), ":scope > tbody tr:has(a)");
        assert_eq!(part.scoped_from(2), ":scope tr:has(a)");
        assert_eq!(parts("ul li + li ~ p").remove(0).scoped_from(1), ":scope li + li ~ p");
    }
}
