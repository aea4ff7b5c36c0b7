//! Benchmark: parse and extract time of hostile page shapes, each at two sizes a
//! factor of ten apart, so the ratio of the two times shows whether the work is
//! linear in the page's size (a ratio near 10) or worse (html5ever alone is
//! quadratic in nesting depth: 100 times slower for ten times the depth).
//!
//! Shapes: elements nested N deep, a flat list of N items, N megabytes of text,
//! and, as the baseline, an ordinary listing page of the same order of size.
//! Each is run through `parse::document` and a listing extraction with a
//! selector. Run with `cargo bench --bench hostile_parse`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use octofeed::config::Config;
use octofeed::config::SourceKind;
use octofeed::extract::extract_listing;
use url::Url;

fn nested(depth: usize) -> String {
    format!(
        "<html><body>{}<li class=n><a href=/x>x</a></li>{}</body></html>",
        "<div>".repeat(depth),
        "</div>".repeat(depth)
    )
}

fn flat_items(count: usize) -> String {
    let items: String = (0..count).map(|n| format!("<li class=n><a href=/{n}>item {n}</a></li>")).collect();
    format!("<html><body><ul>{items}</ul></body></html>")
}

fn text_megabytes(megabytes: usize) -> String {
    let paragraph = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(18);
    let paragraphs = megabytes * 1024 * 1024 / paragraph.len();
    format!(
        "<html><body><ul><li class=n><a href=/x>x</a></li></ul><p>{}</p></body></html>",
        paragraph.repeat(paragraphs)
    )
}

fn ordinary(items: usize) -> String {
    let items: String = (0..items)
        .map(|n| {
            format!(
                "<li class=n><article><h3><a href=/news/{n}>News item {n}</a></h3>\
                 <p class=date>24 November 2022</p><p>A summary of some length for item {n}, as pages give.</p></article></li>"
            )
        })
        .collect();
    format!("<html><head><title>News</title></head><body><nav><a href=/>Home</a></nav><ul>{items}</ul></body></html>")
}

fn rules() -> octofeed::config::Selection {
    let text = "[site]\ntitle = \"b\"\n[[source]]\nid = \"b\"\nurl = \"https://example.org/\"\nmax_items_per_page = 1000000\n\
                [source.select]\nitem = \"li.n\"\ntitle = \"a\"\nlink = \"a\"\n";
    let config = Config::parse(std::path::Path::new("/bench/octofeed.toml"), text).expect("a valid config");
    match &config.sources[0].kind {
        SourceKind::Html(rules) => rules.select.clone(),
        SourceKind::Feed => unreachable!("an html source"),
    }
}

/// A shape's name, how to make a page of it of a given size, and the two sizes.
type Shape = (&'static str, fn(usize) -> String, [usize; 2]);

fn shapes(c: &mut Criterion) {
    let base = Url::parse("https://example.org/").expect("a URL");
    let select = rules();
    let cases: [Shape; 4] = [
        ("nesting_depth", nested, [10_000, 100_000]),
        ("flat_items", flat_items, [100_000, 1_000_000]),
        ("text_megabytes", text_megabytes, [5, 50]),
        ("ordinary_listing_items", ordinary, [2_000, 20_000]),
    ];
    for (name, make, sizes) in cases {
        let mut group = c.benchmark_group(name);
        group.sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(1));
        for size in sizes {
            let page = make(size);
            group.bench_with_input(BenchmarkId::from_parameter(size), &page, |b, page| {
                b.iter(|| {
                    let listing = extract_listing(black_box(page), &base, &select, None, 1_000_000);
                    black_box(listing.map(|listing| listing.items.len()))
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, shapes);
criterion_main!(benches);
