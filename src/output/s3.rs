//! The S3 output (`[site] output = "s3://BUCKET/PREFIX"`, `[site.s3]`): each
//! file is one object under the prefix, uploaded with its `Content-Type`,
//! `Cache-Control` and the SHA-256 of its bytes (`x-amz-meta-sha256`), and only
//! when that hash or those headers differ from the object's (one `HEAD` first).
//! A `PUT` replaces an object whole, so readers never see half of one.
//!
//! Talks to S3 or any S3-compatible server through the `object_store` crate;
//! credentials come from the environment as AWS tools read them
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, ...).
//! `object_store` is async and runs here on a small runtime of its own, so the
//! [`Output`] calls stay synchronous like the rest of publishing.

use std::fmt;
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, AttributeValue, Attributes, BackoffConfig, ClientOptions, GetOptions, ObjectStore, ObjectStoreExt,
    PutOptions, PutPayload, RetryConfig,
};
use sha2::{Digest, Sha256};
use url::Url;

use super::{Headers, Object, Output, OutputError, Stamp};
use crate::identity::hex;
use crate::runtime::off_runtime;

/// `s3://BUCKET/PREFIX` and the `[site.s3]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Folder inside the bucket, without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
    /// An S3-compatible server's address; AWS's own when `None`.
    pub endpoint: Option<Url>,
    /// The bucket's region; `AWS_REGION`, else `us-east-1`, when `None`.
    pub region: Option<String>,
}

impl S3Location {
    /// Reads `s3://BUCKET` or `s3://BUCKET/PREFIX`; says what is wrong otherwise.
    pub fn parse(text: &str) -> Result<S3Location, String> {
        let rest = text.strip_prefix("s3://").ok_or_else(|| format!("\"{text}\" is not an s3:// address"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid_bucket {
            return Err(format!(
                "\"{bucket}\" is not a bucket name (3 to 63 lowercase letters, digits, `-` and `.`) in \"{text}\""
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|segment| segment == "." || segment == "..") || prefix.contains("//") {
            return Err(format!("the prefix \"{prefix}\" of \"{text}\" has an empty, `.` or `..` segment"));
        }
        Ok(S3Location { bucket: bucket.to_owned(), prefix: prefix.to_owned(), endpoint: None, region: None })
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)?;
        if let Some(endpoint) = &self.endpoint {
            write!(f, " at {endpoint}")?;
        }
        Ok(())
    }
}

/// The user metadata key holding the SHA-256 of an object's bytes.
const HASH_KEY: &str = "sha256";

/// How long a request may take, and how often a failed one is tried again:
/// a dead endpoint fails a publish within a minute instead of object_store's
/// default three minutes of retries.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RETRIES: usize = 2;
const RETRY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long `serve` answers from its copy before asking the bucket again.
const RECHECK_AFTER: Duration = Duration::from_secs(2);

/// A bucket and prefix holding the published files.
pub struct S3 {
    client: AmazonS3,
    location: S3Location,
    /// Runs object_store's futures; `None` only while being dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl S3 {
    /// Builds the client; nothing is sent until the first call.
    pub fn open(location: &S3Location) -> Result<S3, OutputError> {
        let setup_error = |source| OutputError::S3Setup { location: location.to_string(), source };
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_client_options(
                ClientOptions::new().with_timeout(REQUEST_TIMEOUT).with_connect_timeout(CONNECT_TIMEOUT),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: RETRIES,
                retry_timeout: RETRY_TIMEOUT,
            });
        if let Some(region) = &location.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &location.endpoint {
            let endpoint = endpoint.as_str().trim_end_matches('/');
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let client = builder.build().map_err(setup_error)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("octofeed-s3")
            .enable_all()
            .build()
            .map_err(|error| setup_error(object_store::Error::Generic { store: "S3", source: Box::new(error) }))?;
        Ok(S3 { client, location: location.clone(), runtime: Some(runtime) })
    }

    fn path(&self, name: &str) -> ObjectPath {
        if self.location.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.location.prefix))
        }
    }

    /// `s3://bucket/key`, for messages.
    fn object(&self, name: &str) -> String {
        format!("s3://{}/{}", self.location.bucket, self.path(name))
    }

    fn block_on<T: Send>(&self, work: impl Future<Output = T> + Send) -> T {
        let runtime = self.runtime.as_ref().expect("the runtime is there until the output is dropped");
        off_runtime(|| runtime.block_on(work))
    }

    fn failed(&self, operation: &'static str, name: &str) -> impl FnOnce(object_store::Error) -> OutputError {
        let object = self.object(name);
        move |source| OutputError::S3 { operation, object, source }
    }

    /// The object's attributes and stamp from one `HEAD`; `None` when there is none.
    fn head(&self, name: &str) -> Result<Option<(Attributes, Stamp)>, OutputError> {
        let path = self.path(name);
        let options = GetOptions { head: true, ..GetOptions::default() };
        match self.block_on(self.client.get_opts(&path, options)) {
            Ok(result) => Ok(Some((result.attributes, stamp_of(&result.meta)))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.failed("look up", name)(error)),
        }
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        // Dropping a runtime blocks; shutting it down in the background never does.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn stamp_of(meta: &object_store::ObjectMeta) -> Stamp {
    let version = meta.e_tag.clone().unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified.to_rfc3339()));
    Stamp { version, modified: SystemTime::from(meta.last_modified) }
}

fn attribute<'a>(attributes: &'a Attributes, key: &Attribute) -> Option<&'a str> {
    attributes.get(key).map(AttributeValue::as_ref)
}

impl Output for S3 {
    fn write_if_changed(&self, name: &str, bytes: &[u8], headers: Headers<'_>) -> Result<bool, OutputError> {
        let hash = hex(&Sha256::digest(bytes));
        let hash_key = Attribute::Metadata(HASH_KEY.into());
        if let Some((attributes, _)) = self.head(name)? {
            let unchanged = attribute(&attributes, &hash_key) == Some(hash.as_str())
                && attribute(&attributes, &Attribute::ContentType) == Some(headers.content_type)
                && attribute(&attributes, &Attribute::CacheControl) == Some(headers.cache_control);
            if unchanged {
                return Ok(false);
            }
        }
        let attributes = Attributes::from_iter([
            (Attribute::ContentType, AttributeValue::from(headers.content_type.to_owned())),
            (Attribute::CacheControl, AttributeValue::from(headers.cache_control.to_owned())),
            (hash_key, AttributeValue::from(hash)),
        ]);
        let options = PutOptions { attributes, ..PutOptions::default() };
        let payload = PutPayload::from(bytes.to_vec());
        self.block_on(self.client.put_opts(&self.path(name), payload, options)).map_err(self.failed("upload", name))?;
        Ok(true)
    }

    fn stamp(&self, name: &str) -> Result<Option<Stamp>, OutputError> {
        Ok(self.head(name)?.map(|(_, stamp)| stamp))
    }

    fn read(&self, name: &str) -> Result<Option<Object>, OutputError> {
        let path = self.path(name);
        let read = async {
            let result = self.client.get(&path).await?;
            let stamp = stamp_of(&result.meta);
            let bytes = result.bytes().await?;
            Ok::<_, object_store::Error>(Object { bytes: bytes.to_vec(), stamp })
        };
        match self.block_on(read) {
            Ok(object) => Ok(Some(object)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.failed("download", name)(error)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, OutputError> {
        let folder = prefix.rsplit_once('/').map_or("", |(folder, _)| folder);
        let listed = self.path(folder);
        let root = if self.location.prefix.is_empty() { String::new() } else { format!("{}/", self.location.prefix) };
        let objects = self.block_on(self.client.list(Some(&listed)).try_collect::<Vec<_>>()).map_err(|source| {
            let object = format!("s3://{}/{root}{prefix}", self.location.bucket);
            OutputError::S3 { operation: "list", object, source }
        })?;
        let mut names: Vec<String> = objects
            .into_iter()
            .filter_map(|meta| meta.location.as_ref().strip_prefix(&root).map(str::to_owned))
            .filter(|name| name.starts_with(prefix))
            .collect();
        names.sort();
        Ok(names)
    }

    fn recheck_after(&self) -> Duration {
        RECHECK_AFTER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_with_their_prefix() {
        let location = S3Location::parse("s3://octofeed-public/feeds/coe/").unwrap();
        assert_eq!((location.bucket.as_str(), location.prefix.as_str()), ("octofeed-public", "feeds/coe"));
        assert_eq!(S3Location::parse("s3://octofeed-public").unwrap().prefix, "");
        assert_eq!(location.to_string(), "s3://octofeed-public/feeds/coe");
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        for (text, says) in [
            ("s3://Upper/x", "not a bucket name"),
            ("s3://ab", "not a bucket name"),
            ("s3://bucket/a/../b", "`..`"),
            ("s3://bucket/a//b", "empty"),
            ("gs://bucket", "not an s3:// address"),
        ] {
            let error = S3Location::parse(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
