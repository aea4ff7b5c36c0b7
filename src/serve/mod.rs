//! Serve: the long-running mode. A scheduler refreshes each source on its own
//! interval (the same `Runner::run` as `octofeed run`, publishing each source's
//! feeds as soon as it is done), and an HTTP server hands out the published
//! files the way feed readers like: right `Content-Type`, `ETag`,
//! `Last-Modified`, `304`s and gzip, from memory. On a PostgreSQL store the
//! scheduler is a worker among others (`crate::work`), and `octofeed worker`
//! is that scheduler without the HTTP side.
//!
//! Where things are: `routes` says which paths exist and answers them;
//! `files` holds the published files in memory; `listen` is the
//! connection handling (timeouts, limits, shutdown).

mod files;
mod listen;
mod routes;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::run::{RunOptions, Runner, Status};
use crate::store::Location;
use crate::work::Worker;

pub use files::{PublishedFiles, ServedFile};
pub use listen::Limits;
pub use routes::router;

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct ServeState {
    pub config: Arc<Config>,
    pub runner: Arc<Runner>,
    pub files: Arc<PublishedFiles>,
    /// Request path → how it is served.
    paths: Arc<HashMap<String, routes::PublishedPath>>,
    /// On a shared store, the worker that refreshes (else the local scheduler does).
    worker: Option<Arc<Worker>>,
}

impl ServeState {
    /// The state of a server over the runner's output.
    pub fn new(config: Config, runner: Arc<Runner>) -> ServeState {
        let files = Arc::new(PublishedFiles::new(runner.output()));
        let paths = Arc::new(routes::published_paths(&config));
        ServeState { config: Arc::new(config), runner, files, paths, worker: None }
    }

    /// The state of a server whose refreshes are `worker`'s, one of many on a shared store.
    pub fn of_worker(config: Config, worker: Arc<Worker>) -> ServeState {
        let mut state = ServeState::new(config, Arc::clone(worker.runner()));
        state.worker = Some(worker);
        state
    }

    /// Opens what `serve` and `worker` need for `config`: a worker on a
    /// PostgreSQL store, else a long-lived runner on the SQLite file.
    fn open(config: Config) -> Result<ServeState, crate::run::RunError> {
        match &config.site.store {
            Location::Postgres(url) => {
                let worker = Arc::new(Worker::open(&config, url)?);
                Ok(ServeState::of_worker(config, worker))
            }
            Location::File(_) => {
                let runner = Arc::new(Runner::open_long_lived(&config)?);
                Ok(ServeState::new(config, runner))
            }
        }
    }

    /// Refreshes as this state's scheduler does until `stop` turns true.
    async fn refresh_until(self, stop: watch::Receiver<bool>) {
        match self.worker.clone() {
            Some(worker) => worker.work(&self.config, stop).await,
            None => schedule(self, stop).await,
        }
    }
}

/// `octofeed worker`: refreshes and publishes until SIGINT/SIGTERM, serving
/// nothing; returns the exit code. On a PostgreSQL store any number may run.
pub async fn worker_command(config: Config) -> u8 {
    let state = match ServeState::open(config) {
        Ok(state) => state,
        Err(error) => {
            eprintln!("error: {error}");
            return crate::commands::FAILED;
        }
    };
    let shutdown = match shutdown_signal() {
        Ok(shutdown) => shutdown,
        Err(error) => {
            eprintln!("error: cannot listen for signals: {error}");
            return crate::commands::FAILED;
        }
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let scheduler = tokio::spawn(state.refresh_until(stop_rx));
    shutdown.await;
    let _ = stop_tx.send(true);
    match scheduler.await {
        Ok(()) => crate::commands::OK,
        Err(error) => {
            eprintln!("error: the scheduler ended abnormally: {error}");
            crate::commands::FAILED
        }
    }
}

/// `octofeed serve`: binds `listen`, serves until SIGINT/SIGTERM, returns the exit code.
pub async fn serve_command(config: Config, listen: &str) -> u8 {
    let state = match ServeState::open(config) {
        Ok(state) => state,
        Err(error) => {
            eprintln!("error: {error}");
            return crate::commands::FAILED;
        }
    };
    let listener = match TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {listen}: {error}");
            return crate::commands::USAGE;
        }
    };
    let shutdown = match shutdown_signal() {
        Ok(shutdown) => shutdown,
        Err(error) => {
            eprintln!("error: cannot listen for signals: {error}");
            return crate::commands::FAILED;
        }
    };
    let address = listener.local_addr().map_or_else(|_| listen.to_string(), |address| address.to_string());
    eprintln!("serving {} on http://{address}/", state.config.site.output);
    match serve_with(listener, state, Limits::for_this_process(), shutdown).await {
        Ok(()) => crate::commands::OK,
        Err(error) => {
            eprintln!("error: {error}");
            crate::commands::FAILED
        }
    }
}

/// Runs the scheduler and the HTTP server until `shutdown` completes; then
/// lets the refresh in progress finish its writes and returns.
pub async fn serve(
    listener: TcpListener,
    state: ServeState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Limits::for_this_process(), shutdown).await
}

/// [`serve`] with the connection limits given.
pub async fn serve_with(
    listener: TcpListener,
    state: ServeState,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let scheduler = tokio::spawn(state.clone().refresh_until(stop_rx.clone()));
    let server = tokio::spawn(listen::serve_http(listener, router(state), limits, stop_rx));
    shutdown.await;
    let _ = stop_tx.send(true);
    if let Err(error) = scheduler.await {
        tracing::error!("scheduler ended abnormally: {error}");
    }
    server.await.map_err(std::io::Error::other)?
}

/// Refreshes due sources until told to stop; a refresh in progress is finished first.
async fn schedule(state: ServeState, mut stop: watch::Receiver<bool>) {
    let config = &state.config;
    let mut next_due: HashMap<&str, chrono::DateTime<Utc>> =
        config.sources.iter().map(|source| (source.id.as_str(), Utc::now())).collect();
    loop {
        let now = Utc::now();
        let due: Vec<String> = next_due.iter().filter(|(_, at)| **at <= now).map(|(id, _)| id.to_string()).collect();
        if !due.is_empty() {
            let options = RunOptions { only: due.clone(), now };
            match state.runner.run(config, &options, |_| {}).await {
                Ok(report) => {
                    for source in report.sources.iter().filter(|source| source.status == Status::Failed) {
                        tracing::warn!("{}", source.error.as_deref().unwrap_or("failed"));
                    }
                }
                Err(error) => tracing::error!("refresh failed: {error}"),
            }
            for source in config.sources.iter().filter(|source| due.contains(&source.id)) {
                let interval = chrono::Duration::from_std(source.interval).unwrap_or(chrono::Duration::hours(6));
                next_due.insert(source.id.as_str(), now + interval);
            }
        }
        let wake = next_due.values().min().copied().unwrap_or(now + chrono::Duration::hours(1));
        let sleep = (wake - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives right
/// after start-up is not lost.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
