//! Workers on a shared store: the scheduler `octofeed worker` runs, and
//! `octofeed serve` when `[site] store` is PostgreSQL. Any number of them, on
//! any number of machines, share the sources through leases in the database
//! (`store::postgres::leases`): a worker claims the sources that are due and
//! that nobody holds, refreshes them and publishes their feeds, renews its
//! leases while it works and gives them back, each due again an `interval`
//! after its claim. A worker that dies loses its leases when they expire
//! (`[site] lease`), and the next worker to look takes its sources. After each
//! batch, and when idle, a worker tries the site's lease, which falls due at
//! most every [`SITE_AT_MOST_EVERY`]: whoever gets it publishes the channels,
//! the index and the OPML that changed.
//!
//! It decides who refreshes what and when; how a source is refreshed and
//! published is `run`'s business, and where leases live is the store's.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::config::Config;
use crate::refresh::blocking;
use crate::run::{RunError, RunOptions, Runner, Status};
use crate::store::postgres::leases::{Leases, SITE};

/// The longest a worker sleeps before it looks again: how soon it takes over
/// the sources of a worker whose leases expired.
const LOOK_AT_LEAST_EVERY: Duration = Duration::from_secs(1);

/// How often the channels, index and OPML are looked at, at most: building
/// the index reads every source's newest items, which after every batch of a
/// few sources would cost more than the refreshes (quadratic in the sources).
pub const SITE_AT_MOST_EVERY: Duration = Duration::from_secs(10);

/// One worker: its name in the leases, its runner and its connection to the leases.
pub struct Worker {
    name: String,
    runner: Arc<Runner>,
    leases: Leases,
}

impl Worker {
    /// A worker on the PostgreSQL store at `url`: a runner whose fetcher claims
    /// each origin's slots in the database, and a connection for the leases.
    pub fn open(config: &Config, url: &str) -> Result<Worker, RunError> {
        let host_limits = Arc::new(Leases::connect(url)?);
        let runner = Arc::new(Runner::open_worker(config, host_limits)?);
        Worker::with_runner(config, url, runner)
    }

    /// A worker around an existing runner (`serve` shares it with its HTTP side).
    pub fn with_runner(config: &Config, url: &str, runner: Arc<Runner>) -> Result<Worker, RunError> {
        let leases = Leases::connect(url)?;
        let mut names: Vec<&str> = config.sources.iter().map(|source| source.id.as_str()).collect();
        names.push(SITE);
        leases.register(&names)?;
        Ok(Worker { name: worker_name(), runner, leases })
    }

    /// The runner, for the HTTP side of `serve`.
    pub fn runner(&self) -> &Arc<Runner> {
        &self.runner
    }

    /// Claims, refreshes and publishes until `stop` turns true; the batch in
    /// progress is finished (and its leases given back) first.
    pub async fn work(&self, config: &Config, mut stop: watch::Receiver<bool>) {
        let names: Vec<&str> = config.sources.iter().map(|source| source.id.as_str()).collect();
        let most = config.site.concurrency.max(1) * 2;
        while !*stop.borrow() {
            let claimed = blocking(|| self.leases.claim_due(&self.name, &names, config.site.lease, most));
            let pause = match claimed {
                Ok(claimed) if !claimed.is_empty() => {
                    self.refresh_claimed(config, claimed).await;
                    self.publish_site_if_free(config);
                    Duration::ZERO
                }
                Ok(_) => {
                    // The last batch's changes reach the channels and index when the site falls due.
                    self.publish_site_if_free(config);
                    blocking(|| self.leases.next_due_in(&names))
                        .ok()
                        .flatten()
                        .map_or(LOOK_AT_LEAST_EVERY, |due| due.min(LOOK_AT_LEAST_EVERY))
                }
                Err(error) => {
                    tracing::error!("cannot claim sources: {error}");
                    LOOK_AT_LEAST_EVERY
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.wait_for(|stop| *stop) => return,
                }
            }
        }
    }

    /// Refreshes and publishes `claimed`, renewing their leases meanwhile,
    /// then gives each back (due again an interval after it was claimed).
    async fn refresh_claimed(&self, config: &Config, claimed: Vec<String>) {
        let lease = config.site.lease;
        let options = RunOptions { only: claimed, now: Utc::now() };
        let held: Vec<&str> = options.only.iter().map(String::as_str).collect();
        let renewing = async {
            let mut every = tokio::time::interval(lease / 3);
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(error) = blocking(|| self.leases.renew(&self.name, &held, lease)) {
                    tracing::warn!("cannot renew the leases of {held:?}: {error}");
                }
            }
        };
        let outcome = tokio::select! {
            outcome = self.runner.run_claimed(config, &options) => outcome,
            () = renewing => unreachable!("renewing never ends"),
        };
        match outcome {
            Ok(report) => {
                for source in report.sources.iter().filter(|source| source.status == Status::Failed) {
                    tracing::warn!("{}", source.error.as_deref().unwrap_or("failed"));
                }
            }
            Err(error) => tracing::error!("refresh failed: {error}"),
        }
        for id in &options.only {
            let every = config.source(id).map(|source| source.interval);
            if let Err(error) = blocking(|| self.leases.release(&self.name, id, every)) {
                tracing::warn!("cannot give back the lease of {id} (it expires by itself): {error}");
            }
        }
    }

    /// Publishes the channels, index and OPML if they are due and no other worker is doing so.
    fn publish_site_if_free(&self, config: &Config) {
        let claimed = blocking(|| self.leases.claim_due(&self.name, &[SITE], config.site.lease, 1));
        if !matches!(claimed.as_deref(), Ok([_])) {
            return;
        }
        if let Err(error) = self.runner.publish_site(config, Utc::now()) {
            tracing::error!("cannot publish the channels and index: {error}");
        }
        if let Err(error) = blocking(|| self.leases.release(&self.name, SITE, Some(SITE_AT_MOST_EVERY))) {
            tracing::warn!("cannot give back the site's lease (it expires by itself): {error}");
        }
    }
}

/// `host:pid`: unique among running workers, and says where one runs.
fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    format!("{}:{}", if host.is_empty() { "localhost" } else { host }, std::process::id())
}
