//! Serve: the long-running mode. A scheduler refreshes each source on its own
//! interval (the same `Runner::run` as `octofeed run`), and an HTTP server
//! hands out the published files the way feed readers like: right
//! `Content-Type`, `ETag`, `Last-Modified`, `304`s and gzip.
//!
//! It serves only the files `publish` writes, never arbitrary paths.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::identity::{hash_parts, hex};
use crate::run::{RunOptions, Runner, Status};

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct ServeState {
    pub config: Arc<Config>,
    pub runner: Arc<Runner>,
}

/// `octofeed serve`: binds `listen`, serves until SIGINT/SIGTERM, returns the exit code.
pub async fn serve_command(config: Config, listen: &str) -> u8 {
    let runner = match Runner::open_long_lived(&config) {
        Ok(runner) => Arc::new(runner),
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
    eprintln!("serving {} on http://{address}/", config.site.output_dir.display());
    let state = ServeState { config: Arc::new(config), runner };
    match serve(listener, state, shutdown).await {
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
    let (stop_tx, stop_rx) = watch::channel(false);
    let scheduler = tokio::spawn(schedule(state.clone(), stop_rx.clone()));
    let mut server_stop = stop_rx;
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(async move {
        let _ = server_stop.wait_for(|stop| *stop).await;
    });
    let server = tokio::spawn(async move { server.await });
    shutdown.await;
    let _ = stop_tx.send(true);
    if let Err(error) = scheduler.await {
        tracing::error!("scheduler ended abnormally: {error}");
    }
    server.await.map_err(std::io::Error::other)?
}

/// The HTTP routes.
pub fn router(state: ServeState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/{file}", get(top_file))
        .route("/{id}/{file}", get(feed_file))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
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

async fn index(State(state): State<ServeState>, headers: HeaderMap) -> Response {
    send_file(&state, "index.html", &headers).await
}

async fn top_file(State(state): State<ServeState>, UrlPath(file): UrlPath<String>, headers: HeaderMap) -> Response {
    match file.as_str() {
        "index.html" | "feeds.opml" => send_file(&state, &file, &headers).await,
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn feed_file(
    State(state): State<ServeState>,
    UrlPath((id, file)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let known = state.config.sources.iter().any(|source| source.id == id)
        || state.config.channels.iter().any(|channel| channel.id == id);
    if !known || !matches!(file.as_str(), "rss.xml" | "atom.xml" | "feed.json") {
        return StatusCode::NOT_FOUND.into_response();
    }
    send_file(&state, &format!("{id}/{file}"), &headers).await
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('/').next().unwrap_or(path) {
        "rss.xml" => "application/rss+xml; charset=utf-8",
        "atom.xml" => "application/atom+xml; charset=utf-8",
        "feed.json" => "application/feed+json; charset=utf-8",
        "feeds.opml" => "text/x-opml; charset=utf-8",
        _ => "text/html; charset=utf-8",
    }
}

/// A published file with validators; `304` when the client's copy is current.
async fn send_file(state: &ServeState, relative: &str, headers: &HeaderMap) -> Response {
    let path = state.config.site.output_dir.join(relative);
    let (bytes, modified) = match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let modified = tokio::fs::metadata(&path).await.and_then(|meta| meta.modified()).ok();
            (bytes, modified.unwrap_or(SystemTime::UNIX_EPOCH))
        }
        Err(_) => return (StatusCode::NOT_FOUND, "not published yet\n").into_response(),
    };
    let etag = format!("\"{}\"", &hex(&hash_parts(&[&String::from_utf8_lossy(&bytes)]))[..20]);
    let last_modified = httpdate::fmt_http_date(modified);
    let validators = [
        (header::ETAG, etag.clone()),
        (header::LAST_MODIFIED, last_modified),
        (header::CACHE_CONTROL, "public, max-age=300".to_string()),
    ];
    let mut response = if is_fresh(headers, &etag, modified) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = bytes.into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(relative)));
        response
    };
    for (name, value) in validators {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// RFC 9110: `If-None-Match` decides when present; else `If-Modified-Since`.
fn is_fresh(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(tags) = headers.get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok()) {
        return tags.split(',').map(|tag| tag.trim().trim_start_matches("W/")).any(|tag| tag == etag || tag == "*");
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| httpdate::parse_http_date(text).ok());
    let modified_secs = modified.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    since
        .and_then(|since| since.duration_since(SystemTime::UNIX_EPOCH).ok())
        .is_some_and(|since| modified_secs <= since.as_secs())
}

async fn healthz(State(state): State<ServeState>) -> Response {
    /// One source's line: its id and its stored health.
    #[derive(serde::Serialize)]
    struct SourceHealth<'a> {
        id: &'a str,
        #[serde(flatten)]
        health: crate::store::Health,
    }
    let store = state.runner.store();
    let mut sources = Vec::new();
    for source in &state.config.sources {
        match store.health(&source.id) {
            Ok(health) => sources.push(SourceHealth { id: &source.id, health }),
            Err(error) => {
                return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response();
            }
        }
    }
    axum::Json(serde_json::json!({ "status": "ok", "sources": sources })).into_response()
}

async fn metrics(State(state): State<ServeState>) -> Response {
    let store = state.runner.store();
    let mut text = String::new();
    let families = [
        ("octofeed_source_items", "gauge", "Items stored for the source."),
        ("octofeed_source_consecutive_failures", "gauge", "Failed refreshes in a row."),
        ("octofeed_source_last_success_timestamp_seconds", "gauge", "Unix time of the last successful refresh."),
    ];
    let mut rows: Vec<(&str, [i64; 3])> = Vec::new();
    for source in &state.config.sources {
        let Ok(health) = store.health(&source.id) else {
            continue;
        };
        let last = health.last_success.map_or(0, |time| time.timestamp());
        let values = [health.item_count as i64, i64::from(health.consecutive_failures), last];
        rows.push((source.id.as_str(), values));
    }
    for (column, (name, kind, help)) in families.iter().enumerate() {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (id, values) in &rows {
            text.push_str(&format!("{name}{{source=\"{id}\"}} {}\n", values[column]));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}
