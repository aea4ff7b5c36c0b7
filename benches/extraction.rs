//! Benchmark: extracting the items of one Liferay-like listing page of about
//! 200 KB (the shape of benches/vs-rsspls's pages: a long head, navigation, a
//! portlet of 30 activities, a footer), three ways:
//!
//! - `streamed`: `extract_listing`, which streams the page with lol_html and
//!   builds trees for the items only;
//! - `whole_tree`: `extract_listing_from_tree`, html5ever's tree of the whole page;
//! - `lol_html_pass`: lol_html alone over the page with the item selector and a
//!   handler that does nothing, the limit a streaming pass can reach.
//!
//! Run with `cargo bench --bench extraction`; the ratios of the three medians
//! are the figures (they are measured in the same run).

use std::borrow::Cow;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use octofeed::config::{Config, Selection, SourceKind};
use octofeed::extract::{extract_listing, extract_listing_from_tree};
use url::Url;

const ITEM: &str = ".portlet-asset-publisher div.element";

/// A page of about 200 KB with 30 items, deterministic.
fn page() -> String {
    let words = ["cybercrime", "convention", "octopus", "workshop", "training", "judges", "evidence", "council"];
    let phrase = |seed: usize, count: usize| -> String {
        (0..count).map(|k| words[(seed * 7 + k * 3) % words.len()]).collect::<Vec<_>>().join(" ")
    };
    let styles: String = (0..400).map(|n| format!(".rule-{n} {{ margin: {n}px; padding: 0 {n}px; }}\n")).collect();
    let navigation: String = (0..1_000)
        .map(|n| format!("<li class=\"nav-item\"><a href=\"/en/web/section-{n}\">{}</a></li>\n", phrase(n, 3)))
        .collect();
    let items: String = (0..30)
        .map(|n| {
            format!(
                "<div class=\"element clearfix\"><h3><a href=\"/en/web/cybercrime/-/item-{n}\" title=\"{title}\">{title}</a></h3>\
                 <p class=\"date-place\"><span class=\"date\">{day} November 2022</span> <span class=\"place\">Strasbourg, France</span></p>\
                 <div class=\"abstract\">{summary}...</div>\
                 <div class=\"read-more\"><a href=\"/en/web/cybercrime/-/item-{n}\">Read More</a></div></div>\n",
                title = phrase(n, 6),
                day = 1 + n % 28,
                summary = phrase(n, 40),
            )
        })
        .collect();
    let footer: String = (0..520).map(|n| format!("<p class=\"legal\">{}</p>\n", phrase(n, 12))).collect();
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Octopus</title><style>{styles}</style></head>\
         <body><header><ul class=\"nav\">{navigation}</ul></header><main>\
         <div class=\"portlet-boundary portlet-asset-publisher\"><section class=\"portlet\">{items}</section></div>\
         </main><footer>{footer}</footer></body></html>"
    )
}

fn selection() -> Selection {
    let text = format!(
        "[site]\ntitle = \"b\"\n[[source]]\nid = \"b\"\nurl = \"https://www.coe.int/en/web/cybercrime\"\n\
         [source.select]\nitem = \"{ITEM}\"\ntitle = \"h3\"\nlink = \"h3 a\"\ndate = \".date\"\nlocation = \".place\"\nsummary = \".abstract\"\n"
    );
    let config = Config::parse(std::path::Path::new("/bench/octofeed.toml"), &text).expect("a valid config");
    match &config.sources[0].kind {
        SourceKind::Html(rules) => rules.select.clone(),
        SourceKind::Feed => unreachable!("an html source"),
    }
}

fn lol_html_pass(page: &str) -> usize {
    let mut matched = 0;
    let handler = lol_html::ElementContentHandlers::default().element(|_: &mut lol_html::html_content::Element| {
        matched += 1;
        Ok(())
    });
    let selector: lol_html::Selector = ITEM.parse().expect("a selector lol_html reads");
    let settings = lol_html::Settings {
        element_content_handlers: vec![(Cow::Owned(selector), handler)],
        ..lol_html::Settings::new()
    };
    let mut rewriter = lol_html::HtmlRewriter::new(settings, |_: &[u8]| {});
    rewriter.write(page.as_bytes()).expect("the page streams");
    rewriter.end().expect("the page ends");
    matched
}

fn extraction(c: &mut Criterion) {
    let page = page();
    let url = Url::parse("https://www.coe.int/en/web/cybercrime").expect("a URL");
    let select = selection();
    let streamed = extract_listing(&page, &url, &select, None, 100).expect("items");
    let whole = extract_listing_from_tree(&page, &url, &select, None, 100).expect("items");
    assert_eq!(streamed, whole, "both ways read the same items");
    assert_eq!((streamed.items.len(), lol_html_pass(&page)), (30, 30));
    eprintln!("page: {} bytes, {} items", page.len(), streamed.items.len());

    let mut group = c.benchmark_group("extract_200kb_listing");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("streamed", |b| b.iter(|| extract_listing(black_box(&page), &url, &select, None, 100)));
    group.bench_function("whole_tree", |b| {
        b.iter(|| extract_listing_from_tree(black_box(&page), &url, &select, None, 100))
    });
    group.bench_function("lol_html_pass", |b| b.iter(|| lol_html_pass(black_box(&page))));
    group.finish();
}

criterion_group!(benches, extraction);
criterion_main!(benches);
