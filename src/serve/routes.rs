//! Serve: which paths exist and how each is answered. Only the files `publish`
//! writes are served (`index.html`, `feeds.opml`, and each source's and
//! channel's feed files), never arbitrary paths; plus `/healthz` and `/metrics`.
//!
//! A feed file is sent from memory ([`super::files`]) with a strong ETag per
//! encoding, `Last-Modified`, `Vary: Accept-Encoding`, gzip when the client
//! accepts it, and `304` when the client's copy is current.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::ServeState;
use super::files::ServedFile;
use crate::config::Config;
use crate::feeds::{channel_refresh_every, site_refresh_every};
use crate::publish;

/// The HTTP routes: health, metrics, and the published files (looked up in
/// the table [`ServeState::new`] builds, so a request costs no search).
pub fn router(state: ServeState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(get(published_file))
        .with_state(state)
}

/// How a published path is served: its file under the output folder, its
/// content type, and its `Cache-Control` header (`max-age` = how often the
/// feed is refreshed, as its RSS `<ttl>` says).
#[derive(Clone)]
pub(super) struct PublishedPath {
    file: String,
    content_type: &'static str,
    cache_control: HeaderValue,
}

/// Every path that serves a published file: `/` and `/index.html`,
/// `/feeds.opml`, and each source's and channel's feed files.
pub(super) fn published_paths(config: &Config) -> HashMap<String, PublishedPath> {
    let cache_control = |every: Option<Duration>| {
        HeaderValue::from_str(&publish::cache_control(every)).expect("digits are header-safe")
    };
    let listing = cache_control(site_refresh_every(config));
    let path = |file: &str, content_type, cache_control: &HeaderValue| PublishedPath {
        file: file.to_owned(),
        content_type,
        cache_control: cache_control.clone(),
    };
    let mut paths: HashMap<String, PublishedPath> = publish::SITE_FILES
        .iter()
        .map(|site| (format!("/{}", site.file), path(site.file, site.content_type, &listing)))
        .collect();
    // The site's root is its index page.
    let index = paths[&format!("/{}", publish::INDEX_FILE)].clone();
    paths.insert("/".to_owned(), index);
    let sources = config.sources.iter().map(|source| (&source.id, Some(source.interval)));
    let channels = config.channels.iter().map(|channel| (&channel.id, channel_refresh_every(config, channel)));
    for (id, every) in sources.chain(channels) {
        let cache = cache_control(every);
        for format in &publish::FEED_FORMATS {
            let file = format!("{id}/{}", format.file);
            paths.insert(format!("/{file}"), path(&file, format.content_type, &cache));
        }
    }
    paths
}

async fn published_file(State(state): State<ServeState>, uri: Uri, headers: HeaderMap) -> Response {
    match state.paths.get(uri.path()) {
        Some(path) => send_file(&state, path, &headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A published file with validators, gzipped when the client accepts it; `304`
/// when the client's copy is current.
fn send_file(state: &ServeState, path: &PublishedPath, headers: &HeaderMap) -> Response {
    let Some(file) = state.files.get(&path.file) else {
        return (StatusCode::NOT_FOUND, "not published yet\n").into_response();
    };
    let gzip = file.gzip.as_ref().filter(|_| accepts_gzip(headers));
    let etag = if gzip.is_some() { &file.etag_gzip } else { &file.etag };
    let mut response = if is_fresh(headers, &file, file.modified) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = gzip.unwrap_or(&file.identity).clone();
        let mut response = body.into_response();
        let response_headers = response.headers_mut();
        response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(path.content_type));
        if gzip.is_some() {
            response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    };
    let response_headers = response.headers_mut();
    response_headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response_headers.insert(header::CACHE_CONTROL, path.cache_control.clone());
    response_headers.insert(header::ETAG, etag.clone());
    response_headers.insert(header::LAST_MODIFIED, file.last_modified.clone());
    response
}

/// Whether `Accept-Encoding` names gzip (or `*`) without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(accepted) = headers.get(header::ACCEPT_ENCODING).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    accepted.split(',').any(|coding| {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let quality = parts
            .find_map(|param| param.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        (name.eq_ignore_ascii_case("gzip") || name == "*") && quality > 0.0
    })
}

/// RFC 9110: `If-None-Match` decides when present (either encoding's tag
/// matches, weakly); else `If-Modified-Since`.
fn is_fresh(headers: &HeaderMap, file: &ServedFile, modified: SystemTime) -> bool {
    if let Some(tags) = headers.get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok()) {
        return tags
            .split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == file.etag || tag == file.etag_gzip || tag == "*");
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
    let mut sources = Vec::new();
    for source in &state.config.sources {
        match state.runner.health(&source.id) {
            Ok(health) => sources.push(SourceHealth { id: &source.id, health }),
            Err(error) => {
                return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response();
            }
        }
    }
    axum::Json(serde_json::json!({ "status": "ok", "sources": sources })).into_response()
}

async fn metrics(State(state): State<ServeState>) -> Response {
    let mut text = String::new();
    let families = [
        ("octofeed_source_items", "gauge", "Items stored for the source."),
        ("octofeed_source_consecutive_failures", "gauge", "Failed refreshes in a row."),
        ("octofeed_source_last_success_timestamp_seconds", "gauge", "Unix time of the last successful refresh."),
    ];
    let mut rows: Vec<(&str, [i64; 3])> = Vec::new();
    for source in &state.config.sources {
        let Ok(health) = state.runner.health(&source.id) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn gzip_is_sent_only_when_accepted_with_a_positive_quality() {
        assert!(accepts_gzip(&accept("gzip, deflate, br")));
        assert!(accepts_gzip(&accept("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&accept("*")));
        assert!(!accepts_gzip(&accept("gzip;q=0")));
        assert!(!accepts_gzip(&accept("gzip; q=0.0, identity")));
        assert!(!accepts_gzip(&accept("br")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
