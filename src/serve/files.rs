//! Serve: the published files held in memory, each with its bytes, a gzip copy,
//! strong ETags (one per encoding) and its modification time, computed once per
//! publication rather than once per request.
//!
//! An entry is checked against the output's [`Stamp`] of the file before it is
//! used again (one `stat` for a folder; for a bucket, one `HEAD` at most every
//! [`Output::recheck_after`]), so a file rewritten by this process's scheduler,
//! an `octofeed run` beside it or a worker elsewhere is picked up. When the
//! output cannot be asked (a bucket that does not answer), the copy in memory
//! is served. It reads only the names the routes hand it; which names exist
//! is the routes' business.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};

use axum::body::Bytes;
use axum::http::HeaderValue;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use crate::identity::hex;
use crate::output::{Object, Output, Stamp};

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
    /// The output's stamp of the bytes held.
    stamp: Stamp,
}

/// A file held in memory, and when its stamp was last compared with the output's.
struct Cached {
    file: Arc<ServedFile>,
    checked: Instant,
}

/// The files of the output, loaded on first request and reloaded when they change.
pub struct PublishedFiles {
    output: Arc<dyn Output>,
    cache: RwLock<HashMap<String, Cached>>,
}

impl PublishedFiles {
    pub fn new(output: Arc<dyn Output>) -> PublishedFiles {
        PublishedFiles { output, cache: RwLock::default() }
    }

    /// The file named `name` (one the routes allow), as published now; `None` when it is not there.
    pub fn get(&self, name: &str) -> Option<Arc<ServedFile>> {
        let held = self.read_cache().get(name).map(|cached| (Arc::clone(&cached.file), cached.checked));
        if let Some((file, checked)) = &held
            && checked.elapsed() < self.output.recheck_after()
        {
            return Some(Arc::clone(file));
        }
        let stamp = match self.output.stamp(name) {
            Ok(stamp) => stamp?,
            Err(error) => {
                tracing::warn!("serving the copy in memory of {name}: {error}");
                return held.map(|(file, _)| file);
            }
        };
        if let Some((file, _)) = held.filter(|(file, _)| file.stamp == stamp) {
            // Where every request asks anyway (a folder), the hit stays on the read lock.
            if !self.output.recheck_after().is_zero() {
                self.remember(name, Arc::clone(&file));
            }
            return Some(file);
        }
        match self.output.read(name) {
            Ok(object) => {
                let file = Arc::new(ServedFile::new(object?));
                self.remember(name, Arc::clone(&file));
                Some(file)
            }
            Err(error) => {
                tracing::warn!("serving the copy in memory of {name}: {error}");
                self.read_cache().get(name).map(|cached| Arc::clone(&cached.file))
            }
        }
    }

    fn remember(&self, name: &str, file: Arc<ServedFile>) {
        let mut cache = self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.insert(name.to_owned(), Cached { file, checked: Instant::now() });
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Cached>> {
        self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ServedFile {
    fn new(Object { bytes, stamp }: Object) -> ServedFile {
        let tag = hex(&Sha256::digest(&bytes))[..20].to_owned();
        let gzip = gzip(&bytes).filter(|compressed| compressed.len() < bytes.len()).map(Bytes::from);
        let header = |text: String| HeaderValue::from_str(&text).expect("hex digits and a date are header-safe");
        ServedFile {
            identity: Bytes::from(bytes),
            gzip,
            etag: header(format!("\"{tag}\"")),
            etag_gzip: header(format!("\"{tag}-gz\"")),
            modified: stamp.modified,
            last_modified: header(httpdate::fmt_http_date(stamp.modified)),
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
        let output = crate::output::folder::Folder::new(dir.path().to_path_buf());
        let files = PublishedFiles::new(Arc::new(output));
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
