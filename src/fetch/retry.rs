//! Fetch stage: the timing of retries (deadline, backoff with full jitter,
//! `Retry-After`); it sends nothing itself.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use url::Url;

use super::FetchError;

/// The end of one fetch's time budget.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadline {
    at: Instant,
    total: Duration,
}

impl Deadline {
    /// A deadline `total` from now.
    pub(super) fn after(total: Duration) -> Deadline {
        Deadline { at: Instant::now() + total, total }
    }

    pub(super) fn at(&self) -> Instant {
        self.at
    }

    /// Time left, zero once passed.
    pub(super) fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// The error for a fetch of `url` that ran out of time.
    pub(super) fn expired(&self, url: &Url) -> FetchError {
        FetchError::Timeout { url: url.clone(), after: self.total }
    }
}

/// An attempt that failed, with the server's `Retry-After` if it sent one.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) error: FetchError,
    pub(super) retry_after: Option<Duration>,
}

impl From<FetchError> for Failure {
    fn from(error: FetchError) -> Self {
        Failure { error, retry_after: None }
    }
}

/// The wait before retry number `attempt + 1`: a random time between zero and
/// `base * 2^attempt`, never above `cap` ("full jitter").
pub(super) fn backoff(base: Duration, attempt: u32, cap: Duration) -> Duration {
    let ceiling = base.saturating_mul(1 << attempt.min(20)).min(cap);
    ceiling.mul_f64(random_fraction())
}

/// A random number in `[0, 1]`, from the standard library's per-process hash keys
/// (good enough for jitter, not for anything secret).
pub(super) fn random_fraction() -> f64 {
    let bits = RandomState::new().hash_one(Instant::now());
    bits as f64 / u64::MAX as f64
}

/// A `Retry-After` value: delay seconds or an HTTP date, relative to `now`.
/// A date in the past means "now"; anything unreadable is ignored.
pub(super) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    Some((date.with_timezone(&Utc) - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after("120", now()), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_as_http_date() {
        let later = parse_retry_after("Sun, 01 Mar 2026 12:01:30 GMT", now());
        assert_eq!(later, Some(Duration::from_secs(90)));
        let past = parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now());
        assert_eq!(past, Some(Duration::ZERO));
    }

    #[test]
    fn unreadable_retry_after_is_ignored() {
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-5", now()), None);
    }

    #[test]
    fn backoff_grows_exponentially_within_its_ceiling() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(60);
        for attempt in 0..5 {
            let ceiling = base * 2u32.pow(attempt);
            for _ in 0..50 {
                assert!(backoff(base, attempt, cap) <= ceiling);
            }
        }
        assert!(backoff(base, 40, cap) <= cap);
    }

    #[test]
    fn backoff_is_jittered() {
        let waits: Vec<Duration> =
            (0..20).map(|_| backoff(Duration::from_secs(1), 3, Duration::from_secs(60))).collect();
        assert!(waits.iter().any(|wait| *wait != waits[0]), "{waits:?}");
    }
}
