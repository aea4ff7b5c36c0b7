//! Fetch stage: per-origin politeness — a limit on requests in flight, spacing
//! between request starts, and the origin's cached robots.txt; it sends nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};
use tokio::time::Instant;
use url::{Origin, Url};

use super::robots::RobotsRules;

/// Every origin (scheme, host and port) seen in this run, created on first use.
pub(super) struct Hosts {
    map: Mutex<HashMap<Origin, Arc<Host>>>,
    per_host: usize,
    delay: Duration,
}

/// One origin's limits and robots.txt.
pub(super) struct Host {
    slots: Semaphore,
    delay: Duration,
    /// When the next request to this origin may start.
    next_start: Mutex<Instant>,
    /// The origin's robots.txt, fetched by the first fetch that needs it.
    pub(super) robots: OnceCell<RobotsRules>,
}

impl Hosts {
    pub(super) fn new(per_host: usize, delay: Duration) -> Hosts {
        Hosts { map: Mutex::new(HashMap::new()), per_host, delay }
    }

    /// The state of `url`'s origin.
    pub(super) fn get(&self, url: &Url) -> Arc<Host> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let host = map.entry(url.origin()).or_insert_with(|| Arc::new(Host::new(self.per_host, self.delay)));
        Arc::clone(host)
    }
}

impl Host {
    fn new(per_host: usize, delay: Duration) -> Host {
        Host { slots: Semaphore::new(per_host), delay, next_start: Mutex::new(Instant::now()), robots: OnceCell::new() }
    }

    /// Waits for one of the origin's `per_host` slots; it is freed when dropped.
    pub(super) async fn acquire(&self) -> SemaphorePermit<'_> {
        self.slots.acquire().await.expect("a host semaphore is never closed")
    }

    /// Waits until a request to this origin may start: at least `delay` after the
    /// previous start. Each caller reserves its own start time, so callers waiting
    /// together are spaced out too.
    pub(super) async fn wait_turn(&self) {
        let start = {
            let mut next = self.next_start.lock().unwrap_or_else(PoisonError::into_inner);
            let start = (*next).max(Instant::now());
            *next = start + self.delay;
            start
        };
        tokio::time::sleep_until(start).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn one_state_per_origin() {
        let hosts = Hosts::new(2, Duration::ZERO);
        let a = hosts.get(&url("https://example.org/a"));
        let b = hosts.get(&url("https://example.org/b?x=1"));
        let other_port = hosts.get(&url("https://example.org:8443/a"));
        let other_scheme = hosts.get(&url("http://example.org/a"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other_port));
        assert!(!Arc::ptr_eq(&a, &other_scheme));
    }

    #[tokio::test(start_paused = true)]
    async fn starts_are_spaced_by_the_delay() {
        let host = Arc::new(Host::new(4, Duration::from_millis(500)));
        let begin = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..3 {
            let host = Arc::clone(&host);
            tasks.spawn(async move {
                host.wait_turn().await;
                Instant::now() - begin
            });
        }
        let mut starts = tasks.join_all().await;
        starts.sort();
        let millis: Vec<u128> = starts.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, vec![0, 500, 1000]);
    }

    #[tokio::test(start_paused = true)]
    async fn no_wait_after_a_quiet_period() {
        let host = Host::new(1, Duration::from_millis(500));
        host.wait_turn().await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = Instant::now();
        host.wait_turn().await;
        assert_eq!(Instant::now(), before);
    }

    #[tokio::test]
    async fn slots_limit_requests_in_flight() {
        let host = Host::new(2, Duration::ZERO);
        let first = host.acquire().await;
        let _second = host.acquire().await;
        assert!(host.slots.try_acquire().is_err());
        drop(first);
        assert!(host.slots.try_acquire().is_ok());
    }
}
