//! Webhooks: each `[[webhook]]` gets one POST per new item of the feeds it
//! names: the item as a JSON Feed item with `_octofeed.feed_id`, signed with
//! HMAC-SHA256 of the body under its `secret`.
//!
//! Two steps, both after publishing. [`queue_new_items`] finds the items stored
//! since the webhook's mark and queues them in the store with the mark, in one
//! transaction; [`deliver`] sends what is due and records each outcome. So a
//! crash between the two, or a receiver that is down, loses nothing; an item
//! the receiver accepted is never sent again. The first run that sees a webhook
//! only sets its mark: a new webhook gets the items that come after it, not the
//! whole history. A receiver may still see an item twice if octofeed is killed
//! between its answer and the record of it: the `X-Octofeed-Delivery` header
//! (and the guid in the body) lets it drop the repeat.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::{Config, Webhook};
use crate::dedupe::dedupe;
use crate::feeds::{channel_keeps, feed_entry};
use crate::identity::{hash_parts, hex};
use crate::model::StoredItem;
use crate::publish::json::webhook_item;
use crate::refresh::with_store;
use crate::store::{NewItem, Store, StoreError};

/// The header carrying `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Octofeed-Signature-256";
/// The header carrying a delivery's stable id (the same on every retry).
pub const DELIVERY_HEADER: &str = "X-Octofeed-Delivery";
/// The header naming the feed the item is new in.
pub const FEED_HEADER: &str = "X-Octofeed-Feed";

/// Tries per delivery in one run, and the wait before the second (doubled after).
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between two runs' attempts at one delivery.
const MAX_RETRY_DELAY: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// How many of a channel's newest items new items are merged against.
const CHANNEL_WINDOW: usize = 1_000;

/// What the webhooks did in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WebhookReport {
    /// Deliveries the receivers accepted.
    pub delivered: usize,
    /// Deliveries still waiting (a receiver down or refusing), over every webhook.
    pub pending: usize,
    /// One line per webhook that failed this run.
    pub errors: Vec<String>,
}

/// A feed a webhook follows: its id, its sources, and its channel when it is one.
struct Followed<'c> {
    id: &'c str,
    sources: Vec<&'c str>,
    channel: Option<&'c crate::config::Channel>,
}

/// The feeds `webhook` follows: those it names, else every source's.
fn followed<'c>(config: &'c Config, webhook: &'c Webhook) -> Vec<Followed<'c>> {
    let source = |id: &'c str| Followed { id, sources: vec![id], channel: None };
    let mut feeds: Vec<Followed> = if webhook.sources.is_empty() && webhook.channels.is_empty() {
        config.sources.iter().map(|s| source(&s.id)).collect()
    } else {
        webhook.sources.iter().map(|id| source(id)).collect()
    };
    for channel in config.channels.iter().filter(|channel| webhook.channels.contains(&channel.id)) {
        let sources = channel.sources.iter().map(String::as_str).collect();
        feeds.push(Followed { id: &channel.id, sources, channel: Some(channel) });
    }
    feeds
}

/// Queues, for every webhook, the items stored since its mark; returns how many were queued.
pub fn queue_new_items(config: &Config, store: &mut dyn Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut queued = 0;
    for webhook in &config.webhooks {
        let key = webhook.url.as_str();
        for feed in followed(config, webhook) {
            let Some(mark) = store.webhook_mark(key, feed.id)? else {
                let newest = store.newest_item_id(&feed.sources)?;
                store.queue_deliveries(key, feed.id, &[], newest, now)?;
                continue;
            };
            let new = store.items_after(&feed.sources, mark)?;
            let Some(next_mark) = new.iter().map(|(id, _)| *id).max() else { continue };
            let shown = match feed.channel {
                Some(channel) => new_in_channel(store, channel, &feed.sources, new)?,
                None => new,
            };
            let bodies: Vec<(String, String, i64)> = shown
                .into_iter()
                .map(|(id, stored)| {
                    let guid = stored.item.guid.clone();
                    let entry = feed_entry(config, stored, feed.channel.is_some());
                    (guid, webhook_item(&entry, feed.id), id)
                })
                .collect();
            queued += bodies.len();
            store.queue_deliveries(key, feed.id, &bodies, next_mark, now)?;
        }
    }
    Ok(queued)
}

/// The new items a channel shows: those its filters keep that are not copies
/// of an item it already has (merged as the channel's feed merges them).
fn new_in_channel(
    store: &dyn Store,
    channel: &crate::config::Channel,
    sources: &[&str],
    new: Vec<NewItem>,
) -> Result<Vec<NewItem>, StoreError> {
    let new: Vec<NewItem> = new.into_iter().filter(|(_, stored)| channel_keeps(channel, &stored.item)).collect();
    let key = |stored: &StoredItem| (stored.source_id.clone(), stored.item.guid.clone());
    let fresh: HashSet<(String, String)> = new.iter().map(|(_, stored)| key(stored)).collect();
    let mut pool: Vec<StoredItem> = store
        .items_of_sources(sources, Some(CHANNEL_WINDOW))?
        .into_iter()
        .filter(|stored| channel_keeps(channel, &stored.item) && !fresh.contains(&key(stored)))
        .collect();
    pool.extend(new.iter().map(|(_, stored)| stored.clone()));
    let kept: HashSet<(String, String)> = dedupe(pool).iter().map(key).collect();
    Ok(new.into_iter().filter(|(_, stored)| kept.contains(&key(stored))).collect())
}

/// Sends every due delivery of every webhook. When a receiver fails after its
/// retries, all of that webhook's deliveries wait for a later run (a minute,
/// doubling with each failed run, up to an hour).
pub async fn deliver(
    client: &reqwest::Client,
    config: &Config,
    store: &crate::store::Shared,
    now: DateTime<Utc>,
) -> Result<WebhookReport, StoreError> {
    let mut report = WebhookReport::default();
    for webhook in &config.webhooks {
        let key = webhook.url.as_str();
        let due = with_store(store, |store| store.due_deliveries(key, now))?;
        for delivery in due {
            match send(client, webhook, &delivery.feed_id, &delivery.guid, &delivery.body).await {
                Ok(()) => {
                    with_store(store, |store| store.delivery_made(key, &delivery.feed_id, &delivery.guid, now))?;
                    report.delivered += 1;
                }
                Err(error) => {
                    let delay = retry_delay(delivery.attempts + ATTEMPTS);
                    let ids = (delivery.feed_id.as_str(), delivery.guid.as_str());
                    with_store(store, |store| {
                        store.delivery_failed(key, ids, ATTEMPTS, &error, now + delay)?;
                        store.defer_deliveries(key, now + delay)
                    })?;
                    tracing::warn!(webhook = %key, guid = %delivery.guid, "webhook delivery failed: {error}");
                    report.errors.push(format!("{key}: {error}"));
                    break;
                }
            }
        }
        report.pending += with_store(store, |store| store.pending_deliveries(key))?;
    }
    Ok(report)
}

/// The wait before a later run may try a delivery that has failed `attempts`
/// times ([`ATTEMPTS`] per run): a minute after the first failed run, doubling
/// with each, up to an hour.
fn retry_delay(attempts: u32) -> chrono::TimeDelta {
    let failed_runs = (attempts / ATTEMPTS).max(1);
    let minutes = 1_i64 << (failed_runs - 1).min(6);
    chrono::TimeDelta::minutes(minutes).min(MAX_RETRY_DELAY)
}

/// One delivery, tried up to [`ATTEMPTS`] times: the last error when none was accepted (2xx).
async fn send(
    client: &reqwest::Client,
    webhook: &Webhook,
    feed_id: &str,
    guid: &str,
    body: &str,
) -> Result<(), String> {
    let delivery_id = hex(&hash_parts(&[webhook.url.as_str(), feed_id, guid]));
    let signature = format!("sha256={}", sign(&webhook.secret, body.as_bytes()));
    let request = || {
        client
            .post(webhook.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .header(DELIVERY_HEADER, &delivery_id)
            .header(FEED_HEADER, feed_id)
            .body(body.to_owned())
    };
    super::send_with_retries(request, "receiver", ATTEMPTS, FIRST_BACKOFF).await
}

/// Lower-case hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retries_wait_longer_each_run_up_to_an_hour() {
        let delays: Vec<i64> = [3, 6, 9, 12, 30].into_iter().map(|n| retry_delay(n).num_minutes()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 60]);
    }
}
