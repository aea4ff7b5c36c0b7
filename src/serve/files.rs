//! Serve: the published files held in memory, each with its bytes, a gzip copy,
//! strong ETags (one per encoding) and its modification time, computed once per
//! publication rather than once per request.
//!
//! An entry is checked against the file's size and modification time on every
//! request (one `stat`), so a file rewritten by this process's scheduler or by an
//! `octofeed run` beside it is picked up at once. It reads only the paths the
//! routes hand it; which paths exist is the routes' business.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::http::HeaderValue;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use crate::identity::hex;

/// One published file as it is served, its headers ready to send.
#[derive(Debug)]
pub struct ServedFile {
    pub identity: Bytes,
    /// The gzip-compressed bytes, when compressing makes them smaller.
    pub gzip: Option<Bytes>,
    /// Strong ETag of the identity bytes (`"…"`).
    pub etag: HeaderValue,
    /// Strong ETag of the gzip bytes (`"…-gz"`), distinct as RFC 9110 asks.
    pub etag_gzip: HeaderValue,
    pub modified: SystemTime,
    /// `modified` as an HTTP date.
    pub last_modified: HeaderValue,
    /// What the file was read as: its length and modification time.
    stamp: (u64, SystemTime),
}

/// The files under the output folder, loaded on first request and reloaded when they change.
pub struct PublishedFiles {
    root: PathBuf,
    cache: RwLock<HashMap<String, Arc<ServedFile>>>,
}

impl PublishedFiles {
    pub fn new(root: PathBuf) -> PublishedFiles {
        PublishedFiles { root, cache: RwLock::default() }
    }

    /// The file at `relative` (a path the routes allow), as published now; `None` when it is not there.
    pub fn get(&self, relative: &str) -> Option<Arc<ServedFile>> {
        let path = self.root.join(relative);
        let metadata = std::fs::metadata(&path).ok()?;
        let stamp = (metadata.len(), metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH));
        if let Some(cached) = self.read_cache().get(relative).filter(|cached| cached.stamp == stamp) {
            return Some(Arc::clone(cached));
        }
        let bytes = std::fs::read(&path).ok()?;
        let file = Arc::new(ServedFile::new(bytes, stamp));
        let mut cache = self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.insert(relative.to_owned(), Arc::clone(&file));
        Some(file)
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<ServedFile>>> {
        self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ServedFile {
    fn new(bytes: Vec<u8>, stamp: (u64, SystemTime)) -> ServedFile {
        let tag = hex(&Sha256::digest(&bytes))[..20].to_owned();
        let gzip = gzip(&bytes).filter(|compressed| compressed.len() < bytes.len()).map(Bytes::from);
        let header = |text: String| HeaderValue::from_str(&text).expect("hex digits and a date are header-safe");
        ServedFile {
            identity: Bytes::from(bytes),
            gzip,
            etag: header(format!("\"{tag}\"")),
            etag_gzip: header(format!("\"{tag}-gz\"")),
            modified: stamp.1,
            last_modified: header(httpdate::fmt_http_date(stamp.1)),
            stamp,
        }
    }
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::default());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_loaded_once_and_reloaded_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let files = PublishedFiles::new(dir.path().to_path_buf());
        assert!(files.get("index.html").is_none());
        std::fs::write(dir.path().join("index.html"), "<p>one</p>".repeat(100)).unwrap();
        let first = files.get("index.html").unwrap();
        let again = files.get("index.html").unwrap();
        assert!(Arc::ptr_eq(&first, &again), "served from memory");
        assert!(first.gzip.as_ref().unwrap().len() < first.identity.len());
        assert_ne!(first.etag, first.etag_gzip);
        std::fs::write(dir.path().join("index.html"), "<p>two, longer</p>".repeat(100)).unwrap();
        let changed = files.get("index.html").unwrap();
        assert_ne!(changed.etag, first.etag);
        assert!(changed.identity.starts_with(b"<p>two"));
    }
}
