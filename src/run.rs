//! A whole run: refresh the chosen sources concurrently, then publish every
//! feed whose items or settings changed, then `index.html` and `feeds.opml`.
//!
//! Used by `octofeed run`; `serve` calls the same pieces on its schedule.
//! It prints nothing: the caller shows progress and the report.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::config::{Config, Source};
use crate::feeds::{
    channel_doc_from, channel_fingerprint, channel_newsletter_doc_from, site_refresh_every, source_doc,
    source_fingerprint, source_newsletter_doc,
};
use crate::fetch::{FetchError, FetchSettings, Fetcher, HostLimits};
use crate::model::FeedDoc;
use crate::output::{Headers, Output, OutputError};
use crate::publish;
use crate::publish::index::FeedListing;
use crate::push::webhook::{self, WebhookReport};
use crate::push::websub::{self, HubReport};
use crate::refresh::{Refresh, RefreshContext, blocking, failure_message, refresh};
use crate::store::{ApplyStats, Health, Store, StoreError, Unusable};

/// What the caller asks of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Refresh only these sources (all when empty). Feeds are still published as needed.
    pub only: Vec<String>,
    /// The run's clock: first-seen and update times.
    pub now: DateTime<Utc>,
}

/// The outcome of one source, as `run --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    pub id: String,
    pub status: Status,
    pub items_seen: usize,
    pub items_new: usize,
    pub items_updated: usize,
    pub error: Option<String>,
    pub warnings: Vec<String>,
    pub health: Health,
}

/// `ok`, `unchanged` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Unchanged,
    Failed,
}

/// Every source's outcome, in config order, how many files were written, and
/// why publishing stopped, if it did (the sources' outcomes stand all the same).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub sources: Vec<SourceReport>,
    pub files_written: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_error: Option<String>,
    /// What the WebSub hub was told, when `[site] websub_hub` is set and a feed changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub websub: Option<HubReport>,
    /// What the `[[webhook]]`s were sent and what still waits, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<WebhookReport>,
}

impl RunReport {
    /// Whether any source failed, or publishing did (exit code 1).
    pub fn any_failed(&self) -> bool {
        self.publish_error.is_some() || self.sources.iter().any(|source| source.status == Status::Failed)
    }
}

/// What stops a run as a whole (sources failing one by one do not).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fetcher(#[from] FetchError),
    #[error(transparent)]
    Publish(#[from] OutputError),
    #[error("cannot build the HTTP client for WebSub and webhooks: {0}")]
    PushClient(reqwest::Error),
    #[error("unknown source \"{0}\" (see `octofeed check` for the configured ids)")]
    UnknownSource(String),
}

/// The fetch settings a config asks for.
pub fn fetch_settings(config: &Config) -> FetchSettings {
    let site = &config.site;
    FetchSettings {
        user_agent: site.user_agent.clone(),
        concurrency: site.concurrency,
        per_host: site.per_host,
        host_delay: site.host_delay,
        max_body: site.max_body,
        retries: site.retries,
        allow_private: site.allow_private,
        ..FetchSettings::default()
    }
}

/// The store and the fetcher of a run, kept together so `serve` can run many times over one of each.
pub struct Runner {
    store: crate::store::Shared,
    /// A second, read-only connection for `/healthz` and `/metrics`, so they
    /// never wait behind a refresh or a publish holding `store`.
    health_reader: crate::store::Shared,
    /// Where feeds are published, and where `serve` reads them from.
    output: Arc<dyn Output>,
    fetcher: Fetcher,
    /// WebSub pings and webhook deliveries.
    push: reqwest::Client,
    /// One page parsed at a time per core (see [`RefreshContext::parse_slots`]).
    parse_slots: Semaphore,
    /// A long-lived runner (`serve`) publishes each source's feeds as soon as
    /// that source is done, and holds the store's lock only during a run.
    long_lived: bool,
    lock_timeout: std::time::Duration,
    /// Renders `fetch = "browser"` pages; its browser starts on first use and dies with the runner.
    browser: crate::browser::BrowserPool,
}

impl Runner {
    /// Opens the store (waiting up to `lock_timeout` for another run) and builds
    /// the fetcher; an unusable store file is refused.
    pub fn open(config: &Config) -> Result<Runner, RunError> {
        Runner::open_with(config, Unusable::Refuse)
    }

    /// [`Runner::open`], saying what to do with an unusable store file (`run --init`).
    pub fn open_with(config: &Config, unusable: Unusable) -> Result<Runner, RunError> {
        let store = crate::store::open(&config.site.store, config.site.lock_timeout, unusable)?;
        let health_reader = crate::store::open_read_only(&config.site.store)?;
        Ok(Runner {
            store: Mutex::new(store),
            health_reader: Mutex::new(health_reader),
            output: crate::output::open(&config.site.output)?,
            fetcher: Fetcher::new(fetch_settings(config))?,
            push: crate::push::client(&config.site.user_agent).map_err(RunError::PushClient)?,
            parse_slots: Semaphore::new(std::thread::available_parallelism().map_or(1, usize::from)),
            long_lived: false,
            lock_timeout: config.site.lock_timeout,
            browser: crate::browser::BrowserPool::new(config.site.browser.clone(), config.site.concurrency),
        })
    }

    /// A runner for `serve`: between two runs it lets go of the store's lock, so
    /// `octofeed run` can use the same store, and in a run it publishes each
    /// source's feeds as soon as that source is done, not after the slowest.
    pub fn open_long_lived(config: &Config) -> Result<Runner, RunError> {
        let mut runner = Runner::open(config)?;
        runner.long_lived = true;
        runner.store().release_lock();
        Ok(runner)
    }

    /// A long-lived runner for one of many workers on a shared store: each
    /// origin's request slots and turns are also claimed in `host_limits`,
    /// which every worker sees.
    pub fn open_worker(config: &Config, host_limits: Arc<dyn HostLimits>) -> Result<Runner, RunError> {
        let mut runner = Runner::open_long_lived(config)?;
        runner.fetcher = runner.fetcher.sharing_host_limits(host_limits);
        Ok(runner)
    }

    /// The store, locked for a short, synchronous use.
    pub fn store(&self) -> std::sync::MutexGuard<'_, Box<dyn Store>> {
        crate::store::lock(&self.store)
    }

    /// The output the runner publishes to.
    pub fn output(&self) -> Arc<dyn Output> {
        Arc::clone(&self.output)
    }

    /// A source's stored health, read on a connection of its own.
    pub fn health(&self, source_id: &str) -> Result<Health, StoreError> {
        crate::store::lock(&self.health_reader).health(source_id)
    }

    /// Refreshes the chosen sources, then publishes. `on_source` is called as each source ends.
    pub async fn run(
        &self,
        config: &Config,
        options: &RunOptions,
        mut on_source: impl FnMut(&SourceReport),
    ) -> Result<RunReport, RunError> {
        let chosen = chosen_sources(config, &options.only)?;
        self.store().take_lock(self.lock_timeout)?;
        let report = self.refresh_and_publish(config, options, &chosen, &mut on_source, SitePart::Publish).await;
        if self.long_lived {
            self.store().release_lock();
        }
        report
    }

    /// A worker's run over the sources it claimed (`options.only`): refreshes
    /// them and publishes their feeds; the channels, index and OPML are left to
    /// whichever worker claims them ([`Runner::publish_site`]).
    pub async fn run_claimed(&self, config: &Config, options: &RunOptions) -> Result<RunReport, RunError> {
        let chosen = chosen_sources(config, &options.only)?;
        self.refresh_and_publish(config, options, &chosen, &mut |_| {}, SitePart::Leave).await
    }

    /// Publishes the channels that changed, and the index and OPML when any
    /// feed changed since they were last written (see [`publish_site`]).
    pub fn publish_site(&self, config: &Config, now: DateTime<Utc>) -> Result<Published, RunError> {
        blocking(|| publish_site(config, &*self.output, &mut **self.store(), now))
    }

    async fn refresh_and_publish(
        &self,
        config: &Config,
        options: &RunOptions,
        chosen: &[&Source],
        on_source: &mut impl FnMut(&SourceReport),
        site: SitePart,
    ) -> Result<RunReport, RunError> {
        let ctx = RefreshContext {
            fetcher: &self.fetcher,
            store: &self.store,
            now: options.now,
            parse_slots: &self.parse_slots,
            browser: &self.browser,
        };
        let mut reports: Vec<SourceReport> = Vec::with_capacity(chosen.len());
        // `concurrency` refreshes at a time, each built as a slot frees (built up
        // front, a 500-source run held 7 MB of waiting futures). A loop, not a
        // stream `.map`, whose closure would not be general enough for `serve` to spawn.
        let mut waiting = chosen.iter();
        let mut refreshes = futures::stream::FuturesUnordered::new();
        for &source in waiting.by_ref().take(config.site.concurrency.max(1)) {
            refreshes.push(tagged_refresh(&ctx, source));
        }
        let mut publish_error = None;
        let mut changed_feeds: Vec<String> = Vec::new();
        while let Some((source, outcome)) = refreshes.next().await {
            if let Some(&next) = waiting.next() {
                refreshes.push(tagged_refresh(&ctx, next));
            }
            let health = blocking(|| self.store().health(&source.id))?;
            let report = source_report(source, outcome, health);
            if self.long_lived && report.status != Status::Failed {
                match blocking(|| publish_early(config, &*self.output, &mut **self.store(), source, options.now)) {
                    Ok(changed) => changed_feeds.extend(changed),
                    Err(error) => {
                        publish_error.get_or_insert(error.to_string());
                    }
                }
            }
            on_source(&report);
            reports.push(report);
        }
        drop(refreshes);
        let order: std::collections::HashMap<&str, usize> =
            config.sources.iter().enumerate().map(|(index, source)| (source.id.as_str(), index)).collect();
        reports.sort_by_key(|report| order.get(report.id.as_str()).copied());
        let failed: HashSet<&str> =
            reports.iter().filter(|report| report.status == Status::Failed).map(|report| report.id.as_str()).collect();
        let published = match site {
            SitePart::Publish => {
                blocking(|| publish_changed(config, &*self.output, &mut **self.store(), &failed, options.now))
            }
            SitePart::Leave => Ok(Published::default()),
        };
        let files_written = match published {
            Ok(published) => {
                changed_feeds.extend(published.feeds);
                published.files
            }
            Err(error) => {
                publish_error.get_or_insert(error.to_string());
                0
            }
        };
        let websub = self.announce(config, &changed_feeds).await;
        let webhooks = self.deliver(config, options.now).await;
        Ok(RunReport { sources: reports, files_written, publish_error, websub, webhooks })
    }

    /// Tells the WebSub hub, if any, of every feed this run rewrote.
    async fn announce(&self, config: &Config, changed_feeds: &[String]) -> Option<HubReport> {
        let (Some(hub), Some(base)) = (&config.site.websub_hub, &config.site.base_url) else { return None };
        if changed_feeds.is_empty() {
            return None;
        }
        Some(websub::announce(&self.push, hub, &websub::topics(base, changed_feeds)).await)
    }

    /// Queues this run's new items for the webhooks and sends what is due. A
    /// store error here is reported with the webhooks, never as a failed run:
    /// the items stay queued or findable after the mark for the next run.
    async fn deliver(&self, config: &Config, now: DateTime<Utc>) -> Option<WebhookReport> {
        if config.webhooks.is_empty() {
            return None;
        }
        let queued = blocking(|| webhook::queue_new_items(config, &mut **self.store(), now));
        let delivered = match queued {
            Ok(_) => webhook::deliver(&self.push, config, &self.store, now).await,
            Err(error) => Err(error),
        };
        Some(delivered.unwrap_or_else(|error| WebhookReport {
            errors: vec![format!("webhooks: {error}")],
            ..WebhookReport::default()
        }))
    }
}

/// One run over `config`: opens the store, refreshes, publishes, releases the store.
pub async fn run(
    config: &Config,
    options: &RunOptions,
    on_source: impl FnMut(&SourceReport),
) -> Result<RunReport, RunError> {
    Runner::open(config)?.run(config, options, on_source).await
}

async fn tagged_refresh<'a>(ctx: &RefreshContext<'_>, source: &'a Source) -> (&'a Source, Refresh) {
    (source, refresh(ctx, source).await)
}

fn chosen_sources<'c>(config: &'c Config, only: &[String]) -> Result<Vec<&'c Source>, RunError> {
    if only.is_empty() {
        return Ok(config.sources.iter().collect());
    }
    only.iter().map(|id| config.source(id).ok_or_else(|| RunError::UnknownSource(id.clone()))).collect()
}

fn source_report(source: &Source, outcome: Refresh, health: Health) -> SourceReport {
    let (status, stats, error, warnings) = match outcome {
        Refresh::Unchanged => (Status::Unchanged, ApplyStats::default(), None, Vec::new()),
        Refresh::Updated { stats, warnings } => (Status::Ok, stats, None, warnings),
        Refresh::Failed(error) => {
            (Status::Failed, ApplyStats::default(), Some(failure_message(source, &error)), Vec::new())
        }
    };
    SourceReport {
        id: source.id.clone(),
        status,
        items_seen: stats.seen,
        items_new: stats.new,
        items_updated: stats.updated,
        error,
        warnings,
        health,
    }
}

/// Whether a run publishes the channels, index and OPML after its sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SitePart {
    Publish,
    /// Another worker does (see [`Runner::run_claimed`]).
    Leave,
}

/// What [`publish_changed`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Files (re)written.
    pub files: usize,
    /// Ids of the feeds at least one file of which was rewritten.
    pub feeds: Vec<String>,
}

/// Publishes every feed whose items or settings changed (or whose files are
/// missing), except those of sources that failed in this run; then the index
/// and OPML when any feed was written or they are missing. `now` dates the
/// feeds that have no items yet (see [`Publication::new`]).
pub fn publish_changed(
    config: &Config,
    output: &dyn Output,
    store: &mut dyn Store,
    failed: &HashSet<&str>,
    now: DateTime<Utc>,
) -> Result<Published, RunError> {
    let mut batch = Batch::new(WRITERS, now, FeedFiles::listed(output)?);
    let sources = config.sources.iter().filter(|source| !failed.contains(source.id.as_str()));
    batch.add_sources(config, output, store, sources)?;
    add_changed_channels(config, output, store, &mut batch)?;
    batch.flush(output, store)?;
    if batch.any || batch.files.site_files_missing(output)? {
        batch.written += write_index_and_opml(config, output, store)?;
    }
    Ok(Published { files: batch.written, feeds: batch.changed })
}

/// The bookkeeping name of the index and OPML (ids are `[a-z0-9-]`: no feed has it).
const INDEX_RECORD: &str = "~index";

/// The site's part of a publication, which one worker on a shared store does
/// for all: the channels that changed, then the index and OPML when any feed
/// changed since they were last written (the store's change counters say so,
/// whichever worker refreshed the sources) or they are missing.
pub fn publish_site(
    config: &Config,
    output: &dyn Output,
    store: &mut dyn Store,
    now: DateTime<Utc>,
) -> Result<Published, RunError> {
    let mut batch = Batch::new(WRITERS, now, FeedFiles::PerFeed);
    add_changed_channels(config, output, store, &mut batch)?;
    batch.flush(output, store)?;
    let all: Vec<&str> = config.sources.iter().map(|source| source.id.as_str()).collect();
    let fingerprint = index_fingerprint(config);
    if batch.any || batch.files.site_files_missing(output)? || store.needs_publish(INDEX_RECORD, &fingerprint, &all)? {
        batch.written += write_index_and_opml(config, output, store)?;
        store.mark_published(INDEX_RECORD, &fingerprint, &all)?;
    }
    Ok(Published { files: batch.written, feeds: batch.changed })
}

/// What the index and OPML show of the config: the site and each feed's id and title.
fn index_fingerprint(config: &Config) -> String {
    let mut shown = vec![config.site.title.as_str()];
    shown.extend(config.sources.iter().flat_map(|source| [source.id.as_str(), source.title.as_str()]));
    shown.extend(config.channels.iter().flat_map(|channel| [channel.id.as_str(), channel.title.as_str()]));
    serde_json::to_string(&shown).expect("strings serialize")
}

/// Adds to `batch` every channel whose sources or settings changed (or whose files are missing).
fn add_changed_channels(
    config: &Config,
    output: &dyn Output,
    store: &mut dyn Store,
    batch: &mut Batch,
) -> Result<(), RunError> {
    for channel in &config.channels {
        let fingerprint = channel_fingerprint(config, channel);
        if needs_publish(store, output, &batch.files, &channel.id, &fingerprint, &channel.sources)? {
            let sources: Vec<&str> = channel.sources.iter().map(String::as_str).collect();
            let doc = channel_doc_from(config, channel, |limit| store.items_of_sources(&sources, limit))?;
            let newsletter =
                channel_newsletter_doc_from(config, channel, |limit| store.announced_items(&sources, limit))?;
            let publication = Publication::new(fingerprint, channel.sources.clone(), (doc, newsletter), batch.now);
            batch.add(output, store, publication)?;
        }
    }
    Ok(())
}

/// Publishes `source`'s feeds if they changed (or are missing), and a first
/// `index.html` and `feeds.opml` if there are none yet, so a server that has
/// just started serves something as soon as one source is done. Returns the
/// ids of the feeds it rewrote.
fn publish_early(
    config: &Config,
    output: &dyn Output,
    store: &mut dyn Store,
    source: &Source,
    now: DateTime<Utc>,
) -> Result<Vec<String>, RunError> {
    let mut batch = Batch::new(1, now, FeedFiles::PerFeed);
    batch.add_sources(config, output, store, std::iter::once(source))?;
    batch.flush(output, store)?;
    if batch.files.site_files_missing(output)? {
        write_index_and_opml(config, output, store)?;
    }
    Ok(batch.changed)
}

fn needs_publish(
    store: &dyn Store,
    output: &dyn Output,
    files: &FeedFiles,
    id: &str,
    fingerprint: &str,
    sources: &[String],
) -> Result<bool, RunError> {
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    Ok(store.needs_publish(id, fingerprint, &sources)? || !files.complete(output, id)?)
}

/// Feeds rendered and written at once, each on its own thread: a big run spends
/// most of its publishing time rendering and waiting for fsync, and both spread
/// over the threads.
const WRITERS: usize = 16;

/// A feed to publish, with what the store records once it is written.
struct Publication {
    id: String,
    fingerprint: String,
    sources: Vec<String>,
    /// What its files are uploaded with, where the output keeps headers.
    cache_control: String,
    /// The feed and its newsletter feed, rendered on the writer thread (rendering
    /// is most of publishing's CPU, and the main thread also serves the store).
    docs: (FeedDoc, FeedDoc),
}

impl Publication {
    /// A feed without items has no item time to be dated by: it is dated `now`,
    /// when it is published (and it is published again only when something changes).
    fn new(
        fingerprint: String,
        sources: Vec<String>,
        (mut doc, mut newsletter): (FeedDoc, FeedDoc),
        now: DateTime<Utc>,
    ) -> Publication {
        for doc in [&mut doc, &mut newsletter] {
            if doc.entries.is_empty() {
                doc.meta.updated = now;
            }
        }
        Publication {
            id: doc.meta.id.clone(),
            fingerprint,
            sources,
            cache_control: publish::cache_control(doc.meta.refresh_every),
            docs: (doc, newsletter),
        }
    }

    /// Renders the feed and writes its files; returns how many were written.
    fn render_and_write(&self, output: &dyn Output) -> Result<usize, OutputError> {
        let rendered = publish::render_feed(&self.docs.0, &self.docs.1);
        publish::write_feed(output, &self.id, &rendered, &self.cache_control)
    }
}

/// Feeds waiting to be written together, and what was written so far.
struct Batch {
    pending: Vec<Publication>,
    written: usize,
    /// Whether any feed was published (written or found unchanged after a settings change).
    any: bool,
    /// Feeds at least one file of which was rewritten.
    changed: Vec<String>,
    /// The run's clock, for feeds without items.
    now: DateTime<Utc>,
    /// Which feeds' files are all there (a missing one is published again).
    files: FeedFiles,
}

impl Batch {
    fn new(capacity: usize, now: DateTime<Utc>, files: FeedFiles) -> Batch {
        Batch { pending: Vec::with_capacity(capacity), written: 0, any: false, changed: Vec::new(), now, files }
    }

    /// Adds the feeds of `sources` that need publishing.
    fn add_sources<'c>(
        &mut self,
        config: &Config,
        output: &dyn Output,
        store: &mut dyn Store,
        sources: impl Iterator<Item = &'c Source>,
    ) -> Result<(), RunError> {
        for source in sources {
            let fingerprint = source_fingerprint(&config.site, source);
            let ids = vec![source.id.clone()];
            if needs_publish(store, output, &self.files, &source.id, &fingerprint, &ids)? {
                let doc = source_doc(&config.site, source, store.items(&source.id, Some(source.max_items))?);
                let newest = store.announced_items(&[source.id.as_str()], Some(source.max_items))?;
                let newsletter = source_newsletter_doc(&config.site, source, newest);
                self.add(output, store, Publication::new(fingerprint, ids, (doc, newsletter), self.now))?;
            }
        }
        Ok(())
    }

    fn add(&mut self, output: &dyn Output, store: &mut dyn Store, publication: Publication) -> Result<(), RunError> {
        self.pending.push(publication);
        if self.pending.len() >= WRITERS { self.flush(output, store) } else { Ok(()) }
    }

    /// Writes every pending feed in parallel, then records them as published.
    fn flush(&mut self, output: &dyn Output, store: &mut dyn Store) -> Result<(), RunError> {
        let results: Vec<Result<usize, OutputError>> = std::thread::scope(|scope| {
            let threads: Vec<_> =
                self.pending.iter().map(|feed| scope.spawn(|| feed.render_and_write(output))).collect();
            threads
                .into_iter()
                .map(|thread| thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        });
        for (feed, result) in self.pending.drain(..).zip(results) {
            let written = result?;
            self.written += written;
            self.any = true;
            if written > 0 {
                self.changed.push(feed.id.clone());
            }
            let sources: Vec<&str> = feed.sources.iter().map(String::as_str).collect();
            store.mark_published(&feed.id, &feed.fingerprint, &sources)?;
        }
        Ok(())
    }
}

/// Which feeds have every file in the output: asked feed by feed (one listing
/// of its folder each), or, for a pass over many feeds, answered from one
/// listing of the whole output (on a bucket: one request per 1,000 files
/// instead of one per feed).
enum FeedFiles {
    PerFeed,
    Listed(HashSet<String>),
}

impl FeedFiles {
    fn listed(output: &dyn Output) -> Result<FeedFiles, OutputError> {
        Ok(FeedFiles::Listed(output.list("")?.into_iter().collect()))
    }

    /// Whether every file of feed `id` is there (as of the listing, when there is one).
    fn complete(&self, output: &dyn Output, id: &str) -> Result<bool, OutputError> {
        let names = match self {
            FeedFiles::PerFeed => &output.list(&format!("{id}/"))?.into_iter().collect(),
            FeedFiles::Listed(names) => names,
        };
        Ok(publish::FEED_FORMATS.iter().all(|format| names.contains(&format!("{id}/{}", format.file))))
    }

    /// Whether `index.html` or `feeds.opml` is not in the output yet (a
    /// publication writes them last, so a listing taken before it still tells).
    fn site_files_missing(&self, output: &dyn Output) -> Result<bool, OutputError> {
        for site_file in &publish::SITE_FILES {
            let there = match self {
                FeedFiles::PerFeed => output.stamp(site_file.file)?.is_some(),
                FeedFiles::Listed(names) => names.contains(site_file.file),
            };
            if !there {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// How many newest items `index.html` shows per feed.
const INDEX_ITEMS: usize = 10;

fn write_index_and_opml(config: &Config, output: &dyn Output, store: &dyn Store) -> Result<usize, RunError> {
    let mut docs: Vec<(FeedDoc, bool)> = Vec::new();
    let files = FeedFiles::listed(output)?;
    for source in &config.sources {
        if files.complete(output, &source.id)? {
            docs.push((source_doc(&config.site, source, store.items(&source.id, Some(INDEX_ITEMS))?), false));
        }
    }
    for channel in &config.channels {
        let sources: Vec<&str> = channel.sources.iter().map(String::as_str).collect();
        let mut doc = channel_doc_from(config, channel, |limit| store.items_of_sources(&sources, limit))?;
        doc.entries.truncate(INDEX_ITEMS);
        docs.push((doc, true));
    }
    let listings: Vec<FeedListing> =
        docs.iter().map(|(doc, is_channel)| FeedListing { doc, is_channel: *is_channel }).collect();
    let [index, opml] = &publish::SITE_FILES;
    let cache_control = publish::cache_control(site_refresh_every(config));
    let mut written = 0;
    for (site_file, bytes) in [
        (index, publish::index::render(&config.site.title, &listings)),
        (opml, publish::opml::render(&config.site.title, &listings)),
    ] {
        let headers = Headers { content_type: site_file.content_type, cache_control: &cache_control };
        written += usize::from(output.write_if_changed(site_file.file, bytes.as_bytes(), headers)?);
    }
    Ok(written)
}
