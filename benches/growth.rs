//! Growth benchmark: does per-source work stay flat as the store grows?
//!
//! Builds a large store (100,000 items across 500 sources) and a small one
//! (1,000 items across 5 sources) in the same process, times the same
//! operations on both, and prints each median with the large/small ratio.
//! Run with `cargo bench --bench growth`. Not a test: it asserts nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use octofeed::config::Config;
use octofeed::feeds::{source_doc, source_newsletter_doc};
use octofeed::model::Item;
use octofeed::publish;
use octofeed::run::{RunOptions, run};
use octofeed::store::{Observed, Store};

/// Items on each source's page; the rest of its history has left the page.
const ON_PAGE: usize = 30;

struct World {
    dir: tempfile::TempDir,
    config: Config,
    sources: usize,
}

fn day(days_ago: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().expect("a valid time") - chrono::Duration::days(days_ago)
}

/// A listing page of `ON_PAGE` items; `edition` changes the first title.
fn page(source: usize, edition: u32) -> String {
    let mut html = String::from("<html><body><ul>\n");
    for k in 0..ON_PAGE {
        let title = if k == 0 && edition > 0 { format!("Edition {edition}") } else { format!("Item {k}") };
        let date = day(k as i64).format("%d %B %Y");
        html.push_str(&format!(
            "<li class=\"item\"><h3><a href=\"/s{source}/item-{k}\">{title} of source {source}</a></h3>\
             <span class=\"date\">{date}</span><p class=\"summary\">Summary of item {k} of source {source}.</p></li>\n"
        ));
    }
    html.push_str("</ul></body></html>\n");
    html
}

fn page_path(dir: &Path, source: usize) -> PathBuf {
    dir.join(format!("pages/s{source}.html"))
}

fn write_world(dir: &Path, sources: usize) -> PathBuf {
    std::fs::create_dir_all(dir.join("pages")).expect("a pages folder");
    let mut config = String::from(
        "[site]\ntitle = \"Growth\"\noutput_dir = \"public\"\nstore = \"octofeed.db\"\nhost_delay = \"0s\"\n\
         [defaults]\nmax_items = 100\n",
    );
    for source in 0..sources {
        std::fs::write(page_path(dir, source), page(source, 0)).expect("a page");
        config.push_str(&format!(
            "[[source]]\nid = \"s{source}\"\nurl = \"file:pages/s{source}.html\"\n\
             page_url = \"https://example.org/s{source}/\"\n[source.select]\nitem = \"li.item\"\ntitle = \"h3\"\n\
             link = \"a\"\ndate = \".date\"\nsummary = \".summary\"\n"
        ));
    }
    let path = dir.join("octofeed.toml");
    std::fs::write(&path, config).expect("a config");
    path
}

/// Older items, off the page: what history adds to the store.
fn history(store: &mut dyn Store, source: usize, count: usize) {
    let observed: Vec<Observed> = (0..count)
        .map(|k| {
            let link = format!("https://example.org/s{source}/old-{k}");
            let item = Item {
                guid: link.clone(),
                link,
                title: format!("Old item {k} of source {source}"),
                summary: Some(format!("An older item, {k}, of source {source}.")),
                published: Some(day(100 + k as i64)),
                ..Item::default()
            };
            Observed { item, listing_hash: format!("old-{k}") }
        })
        .collect();
    store.apply(&format!("s{source}"), &observed, &Default::default(), day(0)).expect("history stored");
}

fn build(runtime: &tokio::runtime::Runtime, sources: usize, items: usize) -> World {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = Config::load(&write_world(dir.path(), sources)).expect("a valid config");
    {
        let mut store =
            octofeed::store::open(&config.site.store, Duration::from_secs(5), octofeed::store::Unusable::Refuse)
                .expect("a store");
        for source in 0..sources {
            history(&mut *store, source, items / sources - ON_PAGE);
        }
    }
    let report = runtime.block_on(run(&config, &options(day(0)), |_| {})).expect("a first run");
    assert!(!report.any_failed(), "the first run failed");
    World { dir, config, sources }
}

fn options(now: DateTime<Utc>) -> RunOptions {
    RunOptions { only: Vec::new(), now }
}

/// The median of `runs` timings of `work`.
fn median(runs: usize, mut work: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// (a) one source refreshed with its 30 items unchanged, its feed rendered and compared.
fn unchanged_source(world: &World) -> Duration {
    let mut store =
        octofeed::store::open(&world.config.site.store, Duration::from_secs(5), octofeed::store::Unusable::Refuse)
            .expect("the store");
    let source = &world.config.sources[world.sources / 2];
    let fetch = store.fetch_state(&source.id).expect("a fetch state");
    let observed: Vec<Observed> = store
        .items(&source.id, Some(ON_PAGE))
        .expect("items")
        .into_iter()
        .map(|stored| {
            let (_, listing_hash) = store.stored_item(&source.id, &stored.item.guid).expect("a row").expect("stored");
            Observed { item: stored.item, listing_hash }
        })
        .collect();
    let output = octofeed::output::open(&world.config.site.output).expect("the output");
    let cache_control = publish::cache_control(Some(source.interval));
    median(200, || {
        let stats = store.apply(&source.id, &observed, &fetch, day(0)).expect("apply");
        assert_eq!(stats.new + stats.updated, 0);
        let items = store.items(&source.id, Some(source.max_items)).expect("items");
        let doc = source_doc(&world.config.site, source, items);
        let newest = store.announced_items(&[source.id.as_str()], Some(source.max_items)).expect("items");
        let newsletter = source_newsletter_doc(&world.config.site, source, newest);
        let rendered = publish::render_feed(&doc, &newsletter);
        let written = publish::write_feed(&*output, &source.id, &rendered, &cache_control).expect("publish");
        assert_eq!(written, 0);
    })
}

/// (b) `Store::items(source, 100)`.
fn newest_items(world: &World) -> Duration {
    let store = octofeed::store::open_read_only(&world.config.site.store).expect("the store");
    let id = &world.config.sources[world.sources / 2].id;
    median(500, || assert_eq!(store.items(id, Some(100)).expect("items").len(), 100))
}

/// (d) what publishing a channel over every source loads: all their items.
fn channel_items(world: &World) -> Duration {
    let store = octofeed::store::open_read_only(&world.config.site.store).expect("the store");
    let ids: Vec<&str> = world.config.sources.iter().map(|source| source.id.as_str()).collect();
    median(5, || assert!(store.items_of_sources(&ids, None).expect("items").len() >= ids.len() * ON_PAGE))
}

/// (c) a whole run over every source: nothing changed, or one source's page changed.
fn whole_run(world: &World, runtime: &tokio::runtime::Runtime, one_changed: bool, runs: usize) -> Duration {
    let mut edition = 0;
    median(runs, || {
        if one_changed {
            edition += 1;
            std::fs::write(page_path(world.dir.path(), 0), page(0, edition)).expect("a page");
        }
        let report = runtime.block_on(run(&world.config, &options(day(0)), |_| {})).expect("a run");
        let changed = report.sources.iter().filter(|source| source.items_new + source.items_updated > 0).count();
        assert_eq!(changed, usize::from(one_changed));
    })
}

fn row(name: &str, large: Duration, small: Duration) {
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    println!("{name:<58} {:>12.3?} {:>12.3?} {ratio:>8.2}", large, small);
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let started = Instant::now();
    let large = build(&runtime, 500, 100_000);
    let small = build(&runtime, 5, 1_000);
    println!("stores built in {:.1?}", started.elapsed());
    println!("{:<58} {:>12} {:>12} {:>8}", "operation", "100k/500", "1k/5", "ratio");
    row(
        "(a) one source: apply 30 unchanged + render, compare feed",
        unchanged_source(&large),
        unchanged_source(&small),
    );
    row("(b) Store::items(source, 100)", newest_items(&large), newest_items(&small));
    let (large_still, small_still) = (whole_run(&large, &runtime, false, 5), whole_run(&small, &runtime, false, 21));
    let (large_one, small_one) = (whole_run(&large, &runtime, true, 5), whole_run(&small, &runtime, true, 21));
    row("(c) run, nothing changed", large_still, small_still);
    row("(c) run, one source changed", large_one, small_one);
    row("(c) run, nothing changed, per source", large_still / 500, small_still / 5);
    row("(c) run, one source changed, per source", large_one / 500, small_one / 5);
    row("(d) items of a channel over every source", channel_items(&large), channel_items(&small));
    row(
        "(c) cost of the one change (one changed - nothing changed)",
        large_one.saturating_sub(large_still),
        small_one.saturating_sub(small_still),
    );
}
