//! The streaming extractor against the whole page's tree: over every saved page
//! of `fixtures/` and every listing page of `../shared/corpus` (when it is
//! there), with the selectors detection proposes and with selectors written by
//! hand (the offline config's, and a set for the corpus pages written here),
//! both ways must give the same listing, compared field by field; and enough
//! of them must really take the stream for the comparison to mean something.

use std::path::{Path, PathBuf};

use octofeed::config::{Config, Css, SelectRules, Selection, SourceKind};
use octofeed::detect::{self, Found};
use octofeed::extract::{self, Listing, RawItem, stream};
use url::Url;

/// How the pages were read, over the whole test.
#[derive(Default, Debug)]
struct Tally {
    streamed: usize,
    /// The rules need the tree (`route` said so).
    whole_page: usize,
    /// The rules stream, but this page could not be (`extract` said why).
    fell_back: usize,
    items: usize,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read_page(path: &Path) -> String {
    octofeed::fetch::decode_html(&std::fs::read(path).expect("a saved page"), None).into_owned()
}

/// The first field in which two items differ, as `field: left ≠ right`.
fn first_difference(streamed: &RawItem, whole: &RawItem) -> Option<String> {
    let (left, right) = (serde_json::to_value(streamed).unwrap(), serde_json::to_value(whole).unwrap());
    let (left, right) = (left.as_object().unwrap(), right.as_object().unwrap());
    left.iter().find(|(field, value)| right.get(*field) != Some(*value)).map(|(field, value)| {
        format!("{field}: streamed {value} ≠ whole page {}", right.get(field).unwrap_or(&serde_json::Value::Null))
    })
}

fn assert_same(what: &str, streamed: &Listing, whole: &Listing) {
    assert_eq!(streamed.items.len(), whole.items.len(), "{what}: item counts differ");
    for (index, (left, right)) in streamed.items.iter().zip(&whole.items).enumerate() {
        if let Some(difference) = first_difference(left, right) {
            panic!("{what}: item {index} differs in {difference}");
        }
    }
    assert_eq!(streamed.next_page, whole.next_page, "{what}: next page");
    assert_eq!(streamed.warnings, whole.warnings, "{what}: warnings");
}

/// Reads `html` both ways, with room for every item and with room for three.
fn compare(tally: &mut Tally, what: &str, html: &str, url: &Url, rules: &SelectRules, next: Option<&Css>) {
    for max_items in [1_000, 3] {
        let select = Selection::Rules(Box::new(rules.clone()));
        let whole = extract::extract_listing_from_tree(html, url, &select, next, max_items);
        let chosen = extract::extract_listing(html, url, &select, next, max_items);
        match (&chosen, &whole) {
            (Ok(chosen), Ok(whole)) => assert_same(what, chosen, whole),
            (Err(chosen), Err(whole)) => assert_eq!(chosen, whole, "{what}: errors differ"),
            _ => panic!("{what}: streamed {chosen:?}, whole page {whole:?}"),
        }
        if max_items < 1_000 {
            continue;
        }
        match stream::route(rules, next) {
            stream::Route::WholePage(_) => tally.whole_page += 1,
            stream::Route::Stream(plan) => match stream::extract(html, url, &plan, rules, max_items) {
                Ok(streamed) => {
                    tally.streamed += 1;
                    tally.items += streamed.items.len();
                    assert_same(
                        what,
                        &Listing {
                            items: streamed.items,
                            next_page: streamed.next_page,
                            warnings: vec![],
                            detected: None,
                        },
                        whole.as_ref().unwrap(),
                    );
                }
                Err(why) => {
                    tally.fell_back += 1;
                    eprintln!("{what}: fell back to the whole page: {why}");
                }
            },
        }
    }
}

/// Compares the selectors detection proposes for the page, if it proposes any.
fn compare_detected(tally: &mut Tally, what: &str, html: &str, url: &Url) {
    if let Ok(detected) = detect::detect(html, url, 1_000).items
        && let Found::Selectors { rules, .. } = detected.found
    {
        let rules = rules.compile().expect("detected rules compile");
        compare(tally, &format!("{what} (detected `{}`)", rules.item.text), html, url, &rules, None);
    }
}

fn html_files(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            html_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "html") {
            found.push(path);
        }
    }
}

#[test]
fn every_fixture_page_reads_the_same_streamed_as_from_the_whole_tree() {
    let mut tally = Tally::default();
    let mut pages = Vec::new();
    html_files(&root().join("fixtures"), &mut pages);
    pages.sort();
    assert!(pages.len() >= 20, "only {} saved pages", pages.len());
    let url = Url::parse("https://listing.example.org/news/").unwrap();
    for page in &pages {
        compare_detected(&mut tally, &page.display().to_string(), &read_page(page), &url);
    }
    // The offline config's sources: selectors written by hand for the saved pages.
    let config = Config::load(&root().join("config/offline.toml")).expect("the offline config loads");
    for source in &config.sources {
        let SourceKind::Html(rules) = &source.kind else { continue };
        let Selection::Rules(select) = &rules.select else { continue };
        let path = source.url.to_file_path().expect("offline sources are saved pages");
        let next = rules.paginate.as_ref().map(|paginate| &paginate.next);
        let base = source.listing_base(&source.url);
        compare(&mut tally, &source.id, &read_page(&path), &base, select, next);
    }
    eprintln!("fixtures: {tally:?}");
    assert!(tally.streamed >= 15, "too few pages took the stream: {tally:?}");
    assert!(tally.items >= 150, "too few items compared: {tally:?}");
}

/// Selectors for the corpus pages, written by hand from the pages' markup
/// (detection's are compared too): broader or narrower than detection's, with
/// `:has()`, sibling and pseudo-class fields, so every route is taken.
const CORPUS_RULES: &[(&str, &str)] = &[
    ("cityscrapers-il_liquor_control", "item = \"ul.dynamic li\"\ntitle = \"a\"\nlink = \"a\""),
    ("feedless-jon-bo-posts", "item = \".posts .post\"\ntitle = \"h1\"\nlink = \"a\"\ndate = \"span\""),
    ("html2rss-page_1", "item = \"ul.items li.item\"\ntitle = \"h3\"\nlink = \"h3 a, a\""),
    (
        "rssproxy-derstandard_at",
        "item = \"section article\"\ntitle = \"h1\"\nlink = \"a\"\nsummary = \"p.teaser-subtitle\"",
    ),
    (
        "rssproxy-schneier_com",
        "item = \"#content article\"\ntitle = \"h2 a\"\nlink = \"h2 > a\"\nsummary = \"blockquote p:first-child\"",
    ),
    ("statement-bill_nelson_press", "item = \".view-content .views-row\"\ntitle = \"h3\"\nlink = \"h3 a\""),
    (
        "statement-keating_press",
        "item = \"table tbody tr:has(a)\"\ntitle = \"td a\"\nlink = \"a\"\ndate = \"td.list-date\"",
    ),
    ("statement-cowan_press", "item = \"table.table tr\"\ntitle = \"a\"\nlink = \"a\"\ndate = \"td:first-child\""),
    ("feedless-lukesmith-xyz", "item = \"#articles + ul > li\"\ntitle = \"a\"\nlink = \"a\"\ndate = \"time\""),
    (
        "rssproxy-nature_com",
        "item = \"article\"\ntitle = \"h3 a\"\nlink = \"a[itemprop=url]\"\ndate = { css = \"time\", attr = \"datetime\" }",
    ),
    ("feedless-fool-com", "item = \"div.list-content > a\"\ntitle = \"h4\"\nlink = { attr = \"href\" }"),
    ("rssproxy-gohugo_io", "item = \"section div.ba\"\ntitle = \"h1 + p, h1\"\nlink = \"a\""),
    ("statement-vitter_press", "item = \"table.table tr + tr\"\ntitle = \"a\"\nlink = \"a\""),
    (
        "html2rss-apple_support_security_releases",
        "item = \"tr:has(td)\"\ntitle = \"td:first-child\"\nlink = \"a\"\ndate = \"td:last-child\"",
    ),
];

#[test]
fn every_corpus_listing_reads_the_same_streamed_as_from_the_whole_tree() {
    let corpus = root().join("../shared/corpus/listings");
    if !corpus.is_dir() {
        eprintln!("skipped: no corpus at {}", corpus.display());
        return;
    }
    let mut tally = Tally::default();
    let mut names: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            path.join("page.html").is_file().then(|| path.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 15, "only {} corpus pages", names.len());
    let page_url = |name: &str| -> Url {
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(corpus.join(name).join("expected.json")).unwrap()).unwrap();
        Url::parse(expected["page_url"].as_str().unwrap()).unwrap()
    };
    for name in &names {
        let html = read_page(&corpus.join(name).join("page.html"));
        compare_detected(&mut tally, name, &html, &page_url(name));
    }
    let detected = tally.streamed;
    for (name, rules) in CORPUS_RULES {
        let path = corpus.join(name).join("page.html");
        let toml = format!(
            "[site]\ntitle = \"corpus\"\nbase_url = \"https://feeds.example.org/\"\n[[source]]\nid = \"page\"\nurl = \"file:{}\"\n[source.select]\n{rules}\n",
            path.display()
        );
        let config = Config::parse(&root().join("corpus.toml"), &toml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let SourceKind::Html(html_rules) = &config.sources[0].kind else { unreachable!() };
        let Selection::Rules(select) = &html_rules.select else { unreachable!() };
        let (html, url) = (read_page(&path), page_url(name));
        let whole = extract::extract_listing_from_tree(&html, &url, &html_rules.select, None, 1_000);
        assert!(
            whole.is_ok_and(|listing| !listing.items.is_empty()),
            "{name}: the hand-written `{rules}` finds nothing"
        );
        compare(&mut tally, &format!("{name} (by hand `{}`)", select.item.text), &html, &url, select, None);
    }
    eprintln!("corpus: {tally:?}");
    assert!(detected >= 10, "too few detected selectors took the stream: {tally:?}");
    assert!(tally.streamed >= detected + 8, "too few hand-written selectors took the stream: {tally:?}");
    assert!(tally.whole_page >= 2, "the whole-page route was never compared: {tally:?}");
}
