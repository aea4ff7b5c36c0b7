//! Refresh stage: one pass for one source: fetch its page(s), extract and
//! normalize the items, follow article links for `[source.detail]`, and
//! record the result in the store as one transaction.
//!
//! Shared by `run` and `serve`. It publishes nothing: `run` decides which
//! feeds to rewrite once the store says what changed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::FutureExt;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use url::Url;

use crate::browser::RenderRequest;
use crate::config::{Css, FetchMode, HtmlRules, Selection, Source, SourceKind};
use crate::extract::{self, ExtractError, Listing, RawItem};
use crate::fetch::{FetchError, Fetched, Fetcher, Origin, Page, Request};
use crate::identity::{hash_parts, hex};
use crate::ingest::{FeedAddress, IngestError, ingest};
use crate::normalize::{merge_into, normalize};
use crate::store::{ApplyStats, FetchState, Observed, Store, StoreError};

/// How a source's refresh ended.
#[derive(Debug)]
pub enum Refresh {
    /// The server said 304, or the page is byte-identical to last time.
    Unchanged,
    /// The page was read and the store updated.
    Updated { stats: ApplyStats, warnings: Vec<String> },
    /// Nothing was stored; the source's items and feeds stay as they were.
    Failed(RefreshError),
}

/// Why a source failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Feed(#[from] IngestError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The refresh panicked: a bug, contained to this source.
    #[error("octofeed failed on this source: {reason}; the other sources were refreshed (please report this bug)")]
    Panicked { reason: String },
    /// Reading the page took longer than the source's whole time budget.
    #[error("reading {url} took longer than {after:?}; raise the source's `timeout` or point it at a smaller page")]
    TooSlow { url: Url, after: std::time::Duration },
}

/// What one refresh needs from its run.
pub struct RefreshContext<'a> {
    pub fetcher: &'a Fetcher,
    pub store: &'a crate::store::Shared,
    pub now: DateTime<Utc>,
    /// Pages parsed at once: parsing runs on blocking threads, one per core, so
    /// sources refreshed together use every core while only that many parsed
    /// pages are in memory.
    pub parse_slots: &'a Semaphore,
    /// The run's browser, for `fetch = "browser"` sources (started on first use).
    pub browser: &'a crate::browser::BrowserPool,
}

impl RefreshContext<'_> {
    /// Runs `work` on the store. SQLite calls block, so on a multi-threaded
    /// runtime this worker's other tasks move elsewhere meanwhile: one source's
    /// big transaction never stalls the fetches of the others.
    fn with_store<T>(&self, work: impl FnOnce(&mut dyn Store) -> T) -> T {
        with_store(self.store, work)
    }
}

/// Runs `work` on a shared store from async code, as [`blocking`] work.
pub fn with_store<T>(store: &crate::store::Shared, work: impl FnOnce(&mut dyn Store) -> T) -> T {
    blocking(|| work(&mut **crate::store::lock(store)))
}

/// Runs blocking `work` (SQLite, publishing) in place, telling a multi-threaded
/// Tokio runtime to hand this worker's other tasks to another thread first;
/// runs it plainly elsewhere (a current-thread runtime cannot hand them over).
pub fn blocking<T>(work: impl FnOnce() -> T) -> T {
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_threaded { tokio::task::block_in_place(work) } else { work() }
}

/// Refreshes `source`, recording success or failure in the store. A panic
/// anywhere in the refresh (a parser's bug on a strange page) fails this source
/// only: its stored items and feeds stay, and the other sources go on.
pub async fn refresh(ctx: &RefreshContext<'_>, source: &Source) -> Refresh {
    let outcome = contained(async {
        #[cfg(debug_assertions)]
        panic_if_a_test_asks(&source.id);
        match &source.kind {
            SourceKind::Html(rules) => refresh_html(ctx, source, rules).await,
            SourceKind::Feed => refresh_feed(ctx, source).await,
        }
    })
    .await;
    match outcome {
        Ok(refresh) => refresh,
        Err(error) => {
            let message = failure_message(source, &error);
            if let Err(store_error) = ctx.with_store(|store| store.record_failure(&source.id, &message, ctx.now)) {
                tracing::error!(source = %source.id, "cannot record the failure: {store_error}");
            }
            Refresh::Failed(error)
        }
    }
}

/// Debug builds only, for the tests: `OCTOFEED_TEST_PANIC=<source id>` makes
/// that source's refresh panic, so a whole `run` and `serve` can be shown to
/// contain it. Release builds have no such hook.
#[cfg(debug_assertions)]
fn panic_if_a_test_asks(source_id: &str) {
    if std::env::var("OCTOFEED_TEST_PANIC").is_ok_and(|id| id == source_id) {
        panic!("OCTOFEED_TEST_PANIC asked the refresh of {source_id} to panic");
    }
}

/// `work`'s outcome, or [`RefreshError::Panicked`] when it panics.
async fn contained<T>(work: impl Future<Output = Result<T, RefreshError>>) -> Result<T, RefreshError> {
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(panic) => {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            Err(RefreshError::Panicked { reason })
        }
    }
}

/// The error as health and the run report give it: naming the source's URL once (fetch
/// errors already name it; a store error or a saved page's address does not).
pub fn failure_message(source: &Source, error: &RefreshError) -> String {
    let text = error.to_string();
    if text.contains(source.url.as_str()) { text } else { format!("{}: {text}", source.url) }
}

async fn refresh_html(ctx: &RefreshContext<'_>, source: &Source, rules: &HtmlRules) -> Result<Refresh, RefreshError> {
    let Some((first, fetch_state)) = fetch_if_changed(ctx, source, &rules.written()).await? else {
        return Ok(Refresh::Unchanged);
    };
    let (raw_items, mut warnings) = read_listing(ctx, source, rules, first).await?;
    let (mut observed, article_pending) = observe(ctx, source, rules, raw_items, &mut warnings).await?;
    // A failed article is retried next run: the listing must then be read again.
    let fetch_state = if article_pending { FetchState::default() } else { fetch_state };
    let stats = apply_keeping_moved(ctx, source, &mut observed, &fetch_state, &mut warnings)?;
    Ok(Refresh::Updated { stats, warnings })
}

async fn refresh_feed(ctx: &RefreshContext<'_>, source: &Source) -> Result<Refresh, RefreshError> {
    let Some((page, fetch_state)) = fetch_if_changed(ctx, source, "").await? else {
        return Ok(Refresh::Unchanged);
    };
    let (id, max_items) = (source.id.clone(), source.max_items_per_page);
    let (feed_url, identity) = (source.listing_base(&page.url), source.home_page().clone());
    let (mut observed, mut warnings) = parse_off_thread(ctx, source, move || {
        let address = FeedAddress { feed_url: &feed_url, identity: &identity };
        let ingested = ingest(&page.bytes, address, &id, max_items)?;
        let observed: Vec<Observed> =
            ingested.items.into_iter().map(|item| Observed { listing_hash: listing_hash(&item), item }).collect();
        Ok::<_, IngestError>((observed, ingested.warnings))
    })
    .await??;
    let stats = apply_keeping_moved(ctx, source, &mut observed, &fetch_state, &mut warnings)?;
    Ok(Refresh::Updated { stats, warnings })
}

/// Stores what a refresh observed, in one transaction, after giving items that
/// moved to a new address their stored guids back (with a warning saying how many).
fn apply_keeping_moved(
    ctx: &RefreshContext<'_>,
    source: &Source,
    observed: &mut [Observed],
    fetch_state: &FetchState,
    warnings: &mut Vec<String>,
) -> Result<ApplyStats, RefreshError> {
    let (moved, stats) = ctx.with_store(|store| {
        let moved = store.keep_moved_identities(&source.id, observed)?;
        Ok::<_, StoreError>((moved, store.apply(&source.id, observed, fetch_state, ctx.now)?))
    })?;
    if moved > 0 {
        warnings.push(format!(
            "{}: {moved} items moved to new addresses (same title and date, or title and slug); they keep their guids, so none comes back as new",
            source.id
        ));
    }
    Ok(stats)
}

/// Fetches the source's page with the stored validators. A `304`, or a body
/// that hashes as last time (with the same `rules`), is recorded as an
/// unchanged success and gives `None`; otherwise the page and the fetch state
/// to store with what it yields.
async fn fetch_if_changed(
    ctx: &RefreshContext<'_>,
    source: &Source,
    rules: &str,
) -> Result<Option<(Page, FetchState)>, RefreshError> {
    let previous = ctx.with_store(|store| store.fetch_state(&source.id))?;
    let page = match fetch(ctx, source, &source.url, Origin::Config, Some(&previous), PageRole::Listing).await? {
        Fetched::NotModified => {
            ctx.with_store(|store| store.record_unchanged(&source.id, &previous, ctx.now))?;
            return Ok(None);
        }
        Fetched::Page(page) => page,
    };
    let state = FetchState {
        etag: page.etag.clone(),
        last_modified: page.last_modified.clone(),
        body_hash: Some(body_hash(&page.bytes, rules)),
    };
    if state.body_hash == previous.body_hash {
        ctx.with_store(|store| store.record_unchanged(&source.id, &state, ctx.now))?;
        return Ok(None);
    }
    Ok(Some((page, state)))
}

/// What a fetched page is to its source: a listing page (which a browser waits
/// on until items show) or an article page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageRole {
    Listing,
    Article,
}

/// Fetches a URL of `source`: its own `url` with the stored validators
/// (`previous`), or a URL one of its pages gave (a next page, an article);
/// through the browser when the source says `fetch = "browser"`.
async fn fetch(
    ctx: &RefreshContext<'_>,
    source: &Source,
    url: &Url,
    origin: Origin,
    previous: Option<&FetchState>,
    role: PageRole,
) -> Result<Fetched, FetchError> {
    let request = Request {
        url,
        etag: previous.and_then(|state| state.etag.as_deref()),
        last_modified: previous.and_then(|state| state.last_modified.as_deref()),
        timeout: source.timeout,
        robots: source.robots,
        origin,
    };
    let FetchMode::Browser(rules) = &source.fetch else {
        return ctx.fetcher.fetch(&request).await;
    };
    let default_wait_for = match (&source.kind, role) {
        (SourceKind::Html(html), PageRole::Listing) => match &html.select {
            Selection::Rules(select) => Some(select.item.text.as_str()),
            Selection::Auto => None,
        },
        _ => None,
    };
    let how = RenderRequest { url, rules, default_wait_for, user_agent: ctx.fetcher.user_agent() };
    ctx.fetcher.render(&request, ctx.browser, &how).await
}

/// The digest of an entry as its listing or feed gave it, from its JSON form
/// (stable across dependency upgrades, unlike its `Debug` text): when it is
/// unchanged, a stored article is reused.
fn listing_hash(entry: &impl serde::Serialize) -> String {
    let json = serde_json::to_string(entry).expect("an entry serializes");
    hex(&hash_parts(&[&json]))
}

/// The body hash also covers the rules, so a config change re-extracts an unchanged page.
fn body_hash(bytes: &[u8], rules: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    hasher.update([0u8]);
    hasher.update(rules.as_bytes());
    hex(&hasher.finalize())
}

/// The listing's raw items over every page of it, in page order. A later page
/// that fails is a warning: the pages before it still count.
async fn read_listing(
    ctx: &RefreshContext<'_>,
    source: &Source,
    rules: &HtmlRules,
    first: Page,
) -> Result<(Vec<RawItem>, Vec<String>), RefreshError> {
    let next_rule = rules.paginate.as_ref().map(|paginate| &paginate.next);
    let max_pages = rules.paginate.as_ref().map_or(1, |paginate| paginate.max_pages);
    let base = source.listing_base(&first.url);
    let listing = extract_listing(ctx, source, first, base.clone(), &rules.select, next_rule).await??;
    let mut items = listing.items;
    let mut warnings = listing.warnings;
    if let Some(choice) = &listing.detected {
        let previous = ctx.with_store(|store| store.swap_detected(&source.id, choice))?;
        if let Some(previous) = previous.filter(|previous| previous != choice) {
            warnings.push(format!(
                "{}: detection chose other selectors than last run: was `{previous}`, now `{choice}`",
                source.id
            ));
        }
    }
    let mut visited: HashSet<Url> = HashSet::from([source.url.clone(), base]);
    let mut next = listing.next_page;
    let mut pages = 1;
    while let Some(url) = next.take() {
        if pages >= max_pages || !visited.insert(url.clone()) {
            break;
        }
        pages += 1;
        // A saved page's next pages may be saved beside it; any other link is the page's word.
        let origin = if source.is_beside_saved_page(&url) { Origin::Config } else { Origin::Page };
        match fetch(ctx, source, &url, origin, None, PageRole::Listing).await {
            Ok(Fetched::Page(page)) => {
                let url = page.url.clone();
                match extract_listing(ctx, source, page, url, &rules.select, next_rule).await? {
                    Ok(listing) => {
                        items.extend(listing.items);
                        warnings.extend(listing.warnings);
                        next = listing.next_page;
                    }
                    Err(error) => warnings.push(format!("{}: page {pages}: {error}", source.id)),
                }
            }
            Ok(Fetched::NotModified) => {}
            Err(error) => warnings.push(format!("{}: page {pages}: {error}", source.id)),
        }
    }
    Ok((items, warnings))
}

/// Extracts a listing page on a blocking thread (waiting for a parse slot); the
/// page and its parsed tree are dropped there, as soon as the items are out.
async fn extract_listing(
    ctx: &RefreshContext<'_>,
    source: &Source,
    page: Page,
    base: Url,
    select: &Selection,
    next: Option<&Css>,
) -> Result<Result<Listing, ExtractError>, RefreshError> {
    let (select, next, max_items) = (select.clone(), next.cloned(), source.max_items_per_page);
    parse_off_thread(ctx, source, move || {
        extract::extract_listing(&page.text(), &base, &select, next.as_ref(), max_items)
    })
    .await
}

/// Runs `parse` on a blocking thread once a parse slot is free, within the
/// source's `timeout`: CPU work counts against a source's time as fetching
/// does. A parse past it fails the source (its thread finishes on its own,
/// bounded by the page-size and depth limits).
async fn parse_off_thread<T: Send + 'static>(
    ctx: &RefreshContext<'_>,
    source: &Source,
    parse: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RefreshError> {
    let _slot = ctx.parse_slots.acquire().await.expect("the parse semaphore is never closed");
    match tokio::time::timeout(source.timeout, tokio::task::spawn_blocking(parse)).await {
        Ok(Ok(parsed)) => Ok(parsed),
        Ok(Err(error)) => std::panic::resume_unwind(error.into_panic()),
        Err(_) => Err(RefreshError::TooSlow { url: source.url.clone(), after: source.timeout }),
    }
}

/// The listing hash stored for an item whose article could not be read: it
/// matches no listing entry, so the next run fetches that article again.
const ARTICLE_PENDING: &str = "article-pending";

/// Raw items become observed items: article pages fetched for new or changed
/// entries when `[source.detail]` is set, stored articles reused otherwise.
/// Also says whether an article failed (its item then has its listing fields).
async fn observe(
    ctx: &RefreshContext<'_>,
    source: &Source,
    rules: &HtmlRules,
    raw_items: Vec<RawItem>,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Observed>, bool), RefreshError> {
    let home = source.home_page();
    let mut observed: Vec<Observed> = Vec::with_capacity(raw_items.len());
    let mut index_of_guid: HashMap<String, usize> = HashMap::with_capacity(raw_items.len());
    let mut any_pending = false;
    for raw in raw_items {
        let mut listing_hash = listing_hash(&raw);
        let normalized = normalize(std::slice::from_ref(&raw), &source.id, home, source.timezone);
        warnings.extend(normalized.warnings);
        let Some(listed) = normalized.items.into_iter().next() else {
            continue;
        };
        // Two items on one page with the same guid are one item: the first, filled by the others.
        if let Some(&index) = index_of_guid.get(&listed.guid) {
            merge_into(&mut observed[index].item, listed);
            continue;
        }
        index_of_guid.insert(listed.guid.clone(), observed.len());
        let item = match (&rules.detail, raw.link.clone()) {
            (Some(detail), Some(link)) => {
                // The store is locked only for this look-up, never across the article fetch.
                let stored = ctx.with_store(|store| store.stored_item(&source.id, &listed.guid))?;
                match stored {
                    Some((stored, hash)) if hash == listing_hash => stored.item,
                    _ => match with_detail(ctx, source, detail, raw, &link, warnings).await {
                        Some(item) => item,
                        None => {
                            listing_hash = ARTICLE_PENDING.to_owned();
                            any_pending = true;
                            listed
                        }
                    },
                }
            }
            _ => listed,
        };
        observed.push(Observed { item, listing_hash });
    }
    Ok((observed, any_pending))
}

/// The item with its article page's fields laid over the listing's; `None`
/// (with a warning) when the article cannot be read. The page is dropped as
/// soon as its fields are extracted, on the parsing thread.
async fn with_detail(
    ctx: &RefreshContext<'_>,
    source: &Source,
    detail: &crate::config::FieldRules,
    raw: RawItem,
    link: &Url,
    warnings: &mut Vec<String>,
) -> Option<crate::model::Item> {
    let page = match fetch(ctx, source, link, Origin::Page, None, PageRole::Article).await {
        Ok(Fetched::Page(page)) => page,
        Ok(Fetched::NotModified) => return None,
        Err(error) => {
            warnings.push(format!("{}: article kept with its listing fields: {error}", source.id));
            return None;
        }
    };
    let detail = detail.clone();
    let article =
        match parse_off_thread(ctx, source, move || extract::extract_detail(&page.text(), &page.url, &detail)).await {
            Ok(article) => article,
            Err(error) => {
                warnings.push(format!("{}: article kept with its listing fields: {error}", source.id));
                return None;
            }
        };
    let merged = raw.overlaid_with(article);
    let normalized = normalize(&[merged], &source.id, source.home_page(), source.timezone);
    warnings.extend(normalized.warnings);
    normalized.items.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_a_refresh_is_a_failure_of_that_source_only() {
        let panicked = contained::<()>(async { panic!("a parser bug") }).await.unwrap_err();
        assert!(matches!(&panicked, RefreshError::Panicked { reason } if reason == "a parser bug"), "{panicked}");
        assert!(panicked.to_string().contains("the other sources were refreshed"), "{panicked}");
        let code = 7;
        let formatted = contained::<()>(async move { panic!("bug number {code}") }).await.unwrap_err();
        assert!(formatted.to_string().contains("bug number 7"), "{formatted}");
        assert_eq!(contained(async { Ok::<_, RefreshError>(5) }).await.unwrap(), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_on_a_parsing_thread_is_contained_too() {
        let outcome = contained::<()>(async {
            match tokio::task::spawn_blocking(|| panic!("deep in html5ever")).await {
                Ok(()) => Ok(()),
                Err(error) => std::panic::resume_unwind(error.into_panic()),
            }
        })
        .await;
        assert!(matches!(outcome, Err(RefreshError::Panicked { reason }) if reason.contains("html5ever")));
    }
}
