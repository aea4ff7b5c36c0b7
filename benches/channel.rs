//! Benchmark: publishing a channel over 200 sources and 100,000 stored items,
//! against publishing one source's feed from the same store (the baseline).
//!
//! Each measures what `run::publish_changed` does for one feed: load the items
//! from the store, assemble the document and its newsletter document, render
//! RSS, Atom, JSON Feed and `new.xml`, write.
//! The "before" case loads every stored item, as `run` did before
//! `feeds::channel_doc_from`. Run with `cargo bench --bench channel`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use octofeed::config::Config;
use octofeed::feeds::{
    channel_doc, channel_doc_from, channel_newsletter_doc, channel_newsletter_doc_from, source_doc,
    source_newsletter_doc,
};
use octofeed::model::Item;
use octofeed::publish::{render_feed, write_feed};
use octofeed::store::{FetchState, Observed, Store};

const SOURCES: usize = 200;
const ITEMS_PER_SOURCE: usize = 500;

fn config(dir: &Path) -> Config {
    let mut text =
        String::from("[site]\ntitle = \"Bench\"\nbase_url = \"https://feeds.example.org/\"\nstore = \"bench.db\"\n\n");
    for n in 0..SOURCES {
        text.push_str(&format!(
            "[[source]]\nid = \"s{n}\"\nurl = \"https://s{n}.example.org/feed.xml\"\nkind = \"feed\"\n\n"
        ));
    }
    let ids: Vec<String> = (0..SOURCES).map(|n| format!("\"s{n}\"")).collect();
    text.push_str(&format!(
        "[[channel]]\nid = \"all\"\ntitle = \"All\"\nsources = [{}]\nexclude = [\"vacancy\"]\nmax_items = 200\n",
        ids.join(", ")
    ));
    let path = dir.join("octofeed.toml");
    std::fs::write(&path, &text).expect("config written");
    Config::parse(&path, &text).expect("bench config is valid")
}

fn item(source: usize, n: usize, published: DateTime<Utc>) -> Item {
    let link = format!("https://s{source}.example.org/news/{n}");
    Item {
        guid: link.clone(),
        link,
        title: format!("Item {n} of source {source}: a headline of ordinary length for a news item"),
        summary: Some("A summary of a couple of sentences, about the length feeds usually give. ".repeat(3)),
        content: Some(format!("<p>{}</p>", "Paragraph text of the article body, sanitized HTML. ".repeat(12))),
        published: Some(published),
        date_text: Some(published.to_rfc3339()),
        authors: vec!["Newsroom".into()],
        categories: vec!["cybercrime".into(), "e-evidence".into()],
        ..Item::default()
    }
}

fn fill(store: &mut dyn Store) {
    let now = Utc.with_ymd_and_hms(2022, 12, 1, 0, 0, 0).unwrap();
    for source in 0..SOURCES {
        let observed: Vec<Observed> = (0..ITEMS_PER_SOURCE)
            .map(|n| {
                let minutes = ((n * SOURCES + source) * 7 % 500_000) as i64;
                let published = now - chrono::Duration::minutes(minutes);
                Observed { item: item(source, n, published), listing_hash: format!("{source}-{n}") }
            })
            .collect();
        store.apply(&format!("s{source}"), &observed, &FetchState::default(), now).expect("items stored");
    }
}

fn publish(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let config = config(dir.path());
    let mut store =
        octofeed::store::open(&config.site.store, Duration::from_secs(5), octofeed::store::Unusable::Refuse)
            .expect("store opens");
    fill(&mut *store);
    let output = octofeed::output::folder::Folder::new(dir.path().join("public"));
    let cache_control = octofeed::publish::cache_control(None);
    let channel = &config.channels[0];
    let sources: Vec<&str> = channel.sources.iter().map(String::as_str).collect();
    let one = &config.sources[0];

    let mut group = c.benchmark_group("publish");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("one source (500 stored items)", |b| {
        b.iter(|| {
            let doc = source_doc(&config.site, one, store.items(&one.id, Some(one.max_items)).expect("items"));
            let newest = store.announced_items(&[one.id.as_str()], Some(one.max_items)).expect("items");
            let newsletter = source_newsletter_doc(&config.site, one, newest);
            black_box(write_feed(&output, &one.id, &render_feed(&doc, &newsletter), &cache_control).expect("written"))
        })
    });
    group.bench_function("channel, every stored item loaded (before)", |b| {
        b.iter(|| {
            let doc = channel_doc(&config, channel, store.items_of_sources(&sources, None).expect("items"));
            let all = store.announced_items(&sources, None).expect("items");
            let newsletter = channel_newsletter_doc(&config, channel, all);
            black_box(
                write_feed(&output, &channel.id, &render_feed(&doc, &newsletter), &cache_control).expect("written"),
            )
        })
    });
    group.bench_function("channel (200 sources, 100000 stored items)", |b| {
        b.iter(|| {
            let doc =
                channel_doc_from(&config, channel, |limit| store.items_of_sources(&sources, limit)).expect("items");
            let newsletter =
                channel_newsletter_doc_from(&config, channel, |limit| store.announced_items(&sources, limit))
                    .expect("items");
            black_box(
                write_feed(&output, &channel.id, &render_feed(&doc, &newsletter), &cache_control).expect("written"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, publish);
criterion_main!(benches);
