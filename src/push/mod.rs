//! Push stage: after a run has published, tells others what is new instead of
//! waiting to be polled. `websub` pings the configured hub with the URLs of the
//! feeds that changed; `webhook` queues each new item for each `[[webhook]]`
//! in the store and POSTs it, signed, until the receiver accepts it.
//!
//! Nothing here can fail a run or hold up publishing: every error is logged and
//! reported, and undelivered items wait in the store for the next run.

pub mod webhook;
pub mod websub;

use std::time::Duration;

/// How long one push request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client push requests go through. Its addresses come from the
/// config, so the fetcher's rule against private addresses does not apply.
pub fn client(user_agent: &str) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder().user_agent(user_agent).timeout(REQUEST_TIMEOUT).build()
}

/// Sends what `request` builds up to `attempts` times, waiting `backoff`
/// (doubled each time) between tries: `Ok` once `who` answers 2xx, else the
/// last error ("the hub answered HTTP 500", "cannot reach the receiver: …").
async fn send_with_retries(
    request: impl Fn() -> reqwest::RequestBuilder,
    who: &str,
    attempts: u32,
    mut backoff: Duration,
) -> Result<(), String> {
    let mut last_error = String::new();
    for attempt in 1..=attempts {
        match request().send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => last_error = format!("the {who} answered HTTP {}", response.status()),
            Err(error) => last_error = format!("cannot reach the {who}: {}", error_chain(&error)),
        }
        if attempt < attempts {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    Err(last_error)
}

/// An error with its causes, on one line ("error sending request: connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let line = next.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        cause = next.source();
    }
    text
}
