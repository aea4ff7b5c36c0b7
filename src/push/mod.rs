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
