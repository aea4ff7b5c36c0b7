//! Benchmark: `detect` on a 200 KB listing page and `article` on a 200 KB
//! article page (targets: under 50 ms and 20 ms, release build), each beside
//! the baseline of parsing the same page alone, so the report reads as a
//! ratio; then the hostile shapes detection and the article reader must
//! survive in bounded time (100,000 nested elements, 1,000,000 links, 50 MB of
//! text, a page of only scripts), measured once each.
//!
//! The pages are generated here, in the shape of the coe.int pages of
//! fixtures/coe/ (site navigation, Liferay portlets, a footer). Run with
//! `cargo bench --bench discover`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use url::Url;

const TARGET_BYTES: usize = 200 * 1024;

/// Site furniture every page has: navigation, breadcrumbs, a footer.
fn furniture() -> (String, String) {
    let menu: String =
        (0..60).map(|n| format!("<li><a href=\"/en/web/section-{n}\">Section {n} of the site</a></li>")).collect();
    let header = format!(
        "<header id=\"banner\"><nav class=\"navigation\"><ul class=\"nav\">{menu}</ul></nav></header>\
         <ul class=\"breadcrumbs\"><li><a href=\"/en\">Home</a></li><li><a href=\"/en/web/cybercrime\">Cybercrime</a></li></ul>"
    );
    let footer: String = (0..20).map(|n| format!("<a href=\"/en/web/footer-{n}\">Footer link {n}</a> ")).collect();
    (header, format!("<footer id=\"footer\">{footer}</footer>"))
}

/// A listing of Activities in the coe.int template, padded with items to about 200 KB.
fn listing_page() -> String {
    let (header, footer) = furniture();
    let summary = "The workshop brought together prosecutors, judges and investigators to discuss the \
                   practical application of the Second Additional Protocol on enhanced co-operation and \
                   disclosure of electronic evidence, with case studies and exercises drawn from recent ";
    let mut items = String::new();
    let mut n = 0;
    while items.len() + header.len() + footer.len() < TARGET_BYTES {
        items.push_str(&format!(
            "<div class=\"element clearfix\"><h3><a href=\"/en/web/cybercrime/-/activity-{n}\" title=\"Activity {n}\">\
             Regional workshop on electronic evidence number {n}</a></h3><p class=\"date-place\">\
             <span class=\"date\">{} November 2022</span> <span class=\"place\">Strasbourg, France</span></p>\
             <div class=\"abstract\">{summary}investigations.</div><div class=\"read-more\">\
             <a href=\"/en/web/cybercrime/-/activity-{n}\">Read More</a></div></div>",
            n % 28 + 1
        ));
        n += 1;
    }
    format!(
        "<!doctype html><html><head><title>Octopus Project</title></head><body>{header}<div id=\"column-1\">\
         <div class=\"portlet-asset-publisher\"><h2>Activities</h2>{items}</div></div>{footer}</body></html>"
    )
}

/// An article page padded with paragraphs to about 200 KB.
fn article_page() -> String {
    let (header, footer) = furniture();
    let paragraph = "<p>The Convention on Cybercrime of the Council of Europe, known as the Budapest Convention, \
                     is the only binding international instrument on this issue. It serves as a guideline for any \
                     country developing comprehensive national legislation against cybercrime and as a framework \
                     for international co-operation between State Parties.</p>";
    let mut body = String::new();
    while body.len() + header.len() + footer.len() < TARGET_BYTES {
        body.push_str(paragraph);
    }
    format!(
        "<!doctype html><html><head><title>Octopus Conference 2023</title>\
         <meta property=\"article:published_time\" content=\"2023-12-13T09:00:00+01:00\"></head><body>{header}\
         <div class=\"asset-full-content\"><h1>Octopus Conference 2023</h1><p>Bucharest, Romania 13-15 December 2023</p>\
         {body}</div><aside class=\"related\"><a href=\"/en/web/cybercrime/-/other\">Related news</a></aside>{footer}</body></html>"
    )
}

fn url() -> Url {
    Url::parse("https://www.coe.int/en/web/cybercrime/octopus-project").expect("a valid URL")
}

fn discover(c: &mut Criterion) {
    let listing = listing_page();
    let article = article_page();
    let page_url = url();
    let found = octofeed::detect::detect(&listing, &page_url, 5_000).items.expect("items on the listing");
    assert!(found.items.len() > 100, "the benchmark page is a listing");
    octofeed::article::read(&article, &page_url).expect("an article");

    let mut group = c.benchmark_group(format!("discover ({} KB pages)", listing.len() / 1024));
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("parse listing (baseline)", |b| b.iter(|| octofeed::parse::document(black_box(&listing))));
    group.bench_function("detect listing", |b| {
        b.iter(|| octofeed::detect::detect(black_box(&listing), &page_url, 5_000))
    });
    group.bench_function("parse article (baseline)", |b| b.iter(|| octofeed::parse::document(black_box(&article))));
    group.bench_function("article", |b| b.iter(|| octofeed::article::read(black_box(&article), &page_url)));
    group.finish();
}

/// The hostile shapes, timed once each (they are far too slow for many samples).
fn hostile(_: &mut Criterion) {
    let shapes = [
        (
            "100,000 nested elements",
            format!("<html><body>{}deep{}</body></html>", "<div>".repeat(100_000), "</div>".repeat(100_000)),
        ),
        (
            "1,000,000 links",
            format!(
                "<html><body><ul>{}</ul></body></html>",
                (0..1_000_000)
                    .map(|n| format!("<li><a href=\"/a/{n}\">Article number {n} of many</a></li>"))
                    .collect::<String>()
            ),
        ),
        (
            "50 MB of text",
            format!("<html><body><p>{}</p></body></html>", "lorem ipsum dolor sit amet ".repeat(50 * 1024 * 1024 / 27)),
        ),
        (
            "only scripts",
            format!(
                "<html><head>{}</head><body></body></html>",
                (0..100_000).map(|n| format!("<script>var x{n} = 1;</script>")).collect::<String>()
            ),
        ),
    ];
    let page_url = url();
    for (name, html) in &shapes {
        let started = Instant::now();
        let detected = octofeed::detect::detect(html, &page_url, 5_000).items.map(|found| found.items.len());
        let detect_time = started.elapsed();
        let started = Instant::now();
        let article = octofeed::article::read(html, &page_url).map(|article| article.text.len());
        let article_time = started.elapsed();
        println!(
            "hostile {name:<24} detect {:>8.1} ms ({}), article {:>8.1} ms ({})",
            detect_time.as_secs_f64() * 1e3,
            detected.map_or_else(|error| error.to_string(), |n| format!("{n} items")),
            article_time.as_secs_f64() * 1e3,
            article.map_or_else(|error| error.to_string(), |n| format!("{n} chars of text")),
        );
    }
}

criterion_group!(benches, discover, hostile);
criterion_main!(benches);
