//! WebSub publishing: after a run changed some feeds, tells the configured hub
//! (`[site] websub_hub`) which feed URLs changed, so subscribers hear of new
//! items at once instead of at their next poll.
//!
//! One `hub.mode=publish` POST per changed feed URL (the form PubSubHubbub 0.4
//! hubs take), retried a few times; a hub that stays down is logged and never
//! fails the run. The feeds name the hub themselves (`publish`); this module
//! does not subscribe, verify intents or serve callbacks: that is the hub's job.

use std::time::Duration;

use url::Url;

use crate::publish::FEED_FORMATS;

/// Attempts per feed URL, and the wait before the second (doubled after).
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// What the hub answered, per feed URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HubReport {
    /// Feed URLs the hub accepted.
    pub pinged: usize,
    /// Feed URLs it did not accept after every attempt, with the last error.
    pub failed: Vec<String>,
}

/// The public URLs of the files of feeds `ids`, under `base_url`.
pub fn topics(base_url: &Url, ids: &[String]) -> Vec<String> {
    ids.iter()
        .flat_map(|id| {
            FEED_FORMATS.iter().filter_map(move |format| base_url.join(&format!("{id}/{}", format.file)).ok())
        })
        .map(String::from)
        .collect()
}

/// Tells `hub` that each of `topics` changed.
pub async fn announce(client: &reqwest::Client, hub: &Url, topics: &[String]) -> HubReport {
    let mut report = HubReport::default();
    for topic in topics {
        match ping(client, hub, topic).await {
            Ok(()) => {
                tracing::info!(hub = %hub, topic = %topic, "WebSub hub told of a change");
                report.pinged += 1;
            }
            Err(error) => {
                tracing::warn!(hub = %hub, topic = %topic, "WebSub hub not told of a change: {error}");
                report.failed.push(format!("{topic}: {error}"));
            }
        }
    }
    report
}

/// One publish ping, tried [`ATTEMPTS`] times: the error of the last attempt.
async fn ping(client: &reqwest::Client, hub: &Url, topic: &str) -> Result<(), String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("hub.mode", "publish")
        .append_pair("hub.url", topic)
        .finish();
    let request = || {
        client
            .post(hub.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.clone())
    };
    super::send_with_retries(request, "hub", ATTEMPTS, FIRST_BACKOFF).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_every_file_of_each_changed_feed() {
        let base = Url::parse("https://feeds.example.org/coe/").unwrap();
        let topics = topics(&base, &["octopus".to_owned()]);
        assert_eq!(
            topics,
            [
                "https://feeds.example.org/coe/octopus/rss.xml",
                "https://feeds.example.org/coe/octopus/atom.xml",
                "https://feeds.example.org/coe/octopus/feed.json",
                "https://feeds.example.org/coe/octopus/new.xml",
            ]
        );
    }
}
