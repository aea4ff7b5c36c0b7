//! Output: where published files go, and where `serve` reads them back from.
//!
//! [`Output`] is the one interface publishing and serving use: write a named
//! file only when its bytes change, read it with a [`Stamp`] that tells when it
//! changed, and list the names under a prefix. Names are `/`-separated paths
//! relative to the output's root (`octopus/rss.xml`, `index.html`). Two
//! implementations: [`folder::Folder`], a local folder written atomically (the
//! default, `[site] output_dir`), and [`s3::S3`], a bucket and prefix of S3 or an
//! S3-compatible server (`[site] output = "s3://BUCKET/PREFIX"`).
//!
//! It does not know which files a feed has or what they hold: that is the
//! format table in `publish` ([`crate::publish::FEED_FORMATS`]).

pub mod folder;
pub mod s3;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use thiserror::Error;

/// Where the config says to publish: a local folder, or an S3 bucket and prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputLocation {
    Folder(PathBuf),
    S3(s3::S3Location),
}

impl fmt::Display for OutputLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputLocation::Folder(path) => write!(f, "{}", path.display()),
            OutputLocation::S3(location) => write!(f, "{location}"),
        }
    }
}

/// What a published file was when it was last looked at: changes whenever its bytes do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// Opaque: a folder file's length and modification time, an object's ETag.
    pub version: String,
    /// When it was last written, for `Last-Modified`.
    pub modified: SystemTime,
}

/// What a file is sent with, by `serve` and by an object store's server.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    pub content_type: &'a str,
    pub cache_control: &'a str,
}

/// A published file's bytes, with the stamp they were read at.
#[derive(Debug, Clone)]
pub struct Object {
    pub bytes: Vec<u8>,
    pub stamp: Stamp,
}

/// The published files. Implementations are shared by the publisher's writer
/// threads and by serve's request handlers, and may be called from inside or
/// outside an async runtime.
pub trait Output: Send + Sync {
    /// Replaces `name` with `bytes` unless it already holds exactly those bytes
    /// (and, where the output keeps them, `headers`). A reader sees the old file
    /// or the new one, never a mix. Returns whether it wrote.
    fn write_if_changed(&self, name: &str, bytes: &[u8], headers: Headers<'_>) -> Result<bool, OutputError>;

    /// `name`'s stamp, or `None` when there is no such file.
    fn stamp(&self, name: &str) -> Result<Option<Stamp>, OutputError>;

    /// `name`'s bytes, or `None` when there is no such file.
    fn read(&self, name: &str) -> Result<Option<Object>, OutputError>;

    /// Every name under `prefix` (a folder, `octopus/`), temp files left out.
    fn list(&self, prefix: &str) -> Result<Vec<String>, OutputError>;

    /// How long `serve` may answer from a copy it read before asking for the
    /// stamp again: zero where asking is one `stat`, longer where it is a request.
    fn recheck_after(&self) -> Duration {
        Duration::ZERO
    }
}

/// Opens the output the config names. A bucket is not contacted until the first write or read.
pub fn open(location: &OutputLocation) -> Result<Arc<dyn Output>, OutputError> {
    Ok(match location {
        OutputLocation::Folder(root) => Arc::new(folder::Folder::new(root.clone())),
        OutputLocation::S3(location) => Arc::new(s3::S3::open(location)?),
    })
}

/// A failed write, read or listing, naming the file or object it was about.
#[derive(Debug, Error)]
pub enum OutputError {
    #[error("cannot create folder {path}: {source}; check the output_dir permissions")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}; check the output_dir permissions and free space")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot set up the S3 output {location}: {source}")]
    S3Setup { location: String, source: object_store::Error },
    #[error(
        "cannot {operation} {object}: {source}; check `[site.s3] endpoint`, the bucket, and \
         AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    )]
    S3 { operation: &'static str, object: String, source: object_store::Error },
}
