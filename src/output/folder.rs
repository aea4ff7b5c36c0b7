//! The local folder output (`[site] output_dir`): each file replaced
//! atomically (temp file in the same folder, fsync, rename, folder fsync), and
//! only when its bytes change, so unchanged output keeps its modification time.
//!
//! Content types are not stored: serving a folder takes them from the format table.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{Headers, Object, Output, OutputError, Stamp};

/// A folder on this machine holding the published files.
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    pub fn new(root: PathBuf) -> Folder {
        Folder { root }
    }
}

impl Output for Folder {
    fn write_if_changed(&self, name: &str, bytes: &[u8], _headers: Headers<'_>) -> Result<bool, OutputError> {
        write_file_if_changed(&self.root.join(name), bytes)
    }

    fn stamp(&self, name: &str) -> Result<Option<Stamp>, OutputError> {
        let path = self.root.join(name);
        match fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => Ok(Some(stamp_of(&metadata))),
            Ok(_) => Ok(None),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(OutputError::Read { path, source }),
        }
    }

    fn read(&self, name: &str) -> Result<Option<Object>, OutputError> {
        let path = self.root.join(name);
        let read = || -> io::Result<Object> {
            let mut file = fs::File::open(&path)?;
            let stamp = stamp_of(&file.metadata()?);
            let mut bytes = Vec::new();
            io::Read::read_to_end(&mut file, &mut bytes)?;
            Ok(Object { bytes, stamp })
        };
        match read() {
            Ok(object) => Ok(Some(object)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(OutputError::Read { path, source }),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, OutputError> {
        let (folder, _) = prefix.rsplit_once('/').unwrap_or(("", prefix));
        let mut names = Vec::new();
        let start = if folder.is_empty() { self.root.clone() } else { self.root.join(folder) };
        let mut pending = vec![(start, folder.to_owned())];
        while let Some((path, relative)) = pending.pop() {
            let entries = match fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(OutputError::Read { path, source }),
            };
            for entry in entries.flatten() {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                let name = if relative.is_empty() { file_name.clone() } else { format!("{relative}/{file_name}") };
                match entry.file_type() {
                    Ok(kind) if kind.is_dir() => pending.push((entry.path(), name)),
                    Ok(kind) if kind.is_file() && !is_temp_file(&file_name) && name.starts_with(prefix) => {
                        names.push(name);
                    }
                    _ => {}
                }
            }
        }
        names.sort();
        Ok(names)
    }
}

/// A file's length and modification time, as a stamp.
fn stamp_of(metadata: &fs::Metadata) -> Stamp {
    let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let since_epoch = modified.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    Stamp { version: format!("{}-{}", metadata.len(), since_epoch.as_nanos()), modified }
}

/// Prefix and suffix of the temp files [`write_file_if_changed`] renames into place.
const TEMP_PREFIX: &str = ".octofeed-";
const TEMP_SUFFIX: &str = ".tmp";

/// A temp file older than this was left by a killed writer: no write takes
/// this long, so removing it cannot pull a file from under a live writer (a
/// worker on another machine sharing the folder, say).
const STALE_TEMP_AGE: Duration = Duration::from_secs(600);

fn is_temp_file(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
}

/// Removes temp files a killed writer left in `folder`. Best effort: a file
/// that cannot be removed only wastes space.
fn remove_stale_temp_files(folder: &Path) {
    let Ok(entries) = fs::read_dir(folder) else { return };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .is_ok_and(|modified| now.duration_since(modified).unwrap_or_default() > STALE_TEMP_AGE);
        if stale && is_temp_file(&entry.file_name().to_string_lossy()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Replaces `path` with `bytes` unless it already holds exactly those bytes.
///
/// The bytes go to a hidden temp file in the same folder, are fsync'd, then renamed
/// over `path` and the folder is fsync'd, so readers see the old file or the new
/// one, never a mix. Creates missing folders. Returns whether the file was written.
pub fn write_file_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, OutputError> {
    if fs::read(path).is_ok_and(|existing| existing == bytes) {
        return Ok(false);
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::create_dir_all(folder).map_err(|source| OutputError::CreateDir { path: folder.to_path_buf(), source })?;
    remove_stale_temp_files(folder);
    replace_atomically(folder, path, bytes)
        .map_err(|source| OutputError::Write { path: path.to_path_buf(), source })?;
    Ok(true)
}

/// Temp file + fsync + rename + folder fsync. The temp file is removed on failure.
fn replace_atomically(folder: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Published files are meant to be served: readable by all (umask still applies).
        builder.permissions(fs::Permissions::from_mode(0o644));
    }
    let mut temp = builder.tempfile_in(folder)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|error| error.error)?;
    #[cfg(unix)]
    fs::File::open(folder)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries_in(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn unchanged_bytes_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep/er/index.html");
        assert!(write_file_if_changed(&path, b"one").unwrap());
        let old = SystemTime::now() - Duration::from_secs(3600);
        fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();

        assert!(!write_file_if_changed(&path, b"one").unwrap());
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), old);

        assert!(write_file_if_changed(&path, b"two").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_ne!(fs::metadata(&path).unwrap().modified().unwrap(), old);
        assert_eq!(entries_in(path.parent().unwrap()), ["index.html"]);
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feeds.opml");
        write_file_if_changed(&path, b"<opml/>").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o044, 0o044, "mode {mode:o}");
    }

    #[test]
    fn a_failed_write_names_the_path_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        // A non-empty folder where the file should go: the rename must fail.
        fs::create_dir_all(path.join("x")).unwrap();
        let error = write_file_if_changed(&path, b"bytes").unwrap_err();
        assert!(error.to_string().contains("taken"), "{error}");
        assert_eq!(entries_in(dir.path()), ["taken"]);
    }

    #[test]
    fn a_write_removes_only_old_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".octofeed-Ab12Cd.tmp");
        fs::write(&stale, b"half a feed").unwrap();
        let old = SystemTime::now() - 2 * STALE_TEMP_AGE;
        fs::File::options().write(true).open(&stale).unwrap().set_modified(old).unwrap();
        let in_flight = dir.path().join(".octofeed-Ef34Gh.tmp");
        fs::write(&in_flight, b"another writer's").unwrap();
        let other = dir.path().join("notes.tmp");
        fs::write(&other, b"not ours").unwrap();
        assert!(write_file_if_changed(&dir.path().join("rss.xml"), b"<rss/>").unwrap());
        assert!(!stale.exists(), "the stale temp file is gone");
        assert!(in_flight.exists(), "a fresh temp file may be a live writer's");
        assert!(other.exists(), "files that are not ours stay");
    }

    #[test]
    fn stamps_reads_and_listings_see_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::new(dir.path().to_path_buf());
        assert_eq!(folder.stamp("octopus/rss.xml").unwrap(), None);
        assert!(folder.read("octopus/rss.xml").unwrap().is_none());
        assert!(folder.list("octopus/").unwrap().is_empty());

        let headers = Headers { content_type: "text/xml", cache_control: "no-cache" };
        assert!(folder.write_if_changed("octopus/rss.xml", b"<rss/>", headers).unwrap());
        assert!(folder.write_if_changed("octopus/atom.xml", b"<feed/>", headers).unwrap());
        assert!(folder.write_if_changed("octopus-2/rss.xml", b"<rss/>", headers).unwrap());
        assert!(folder.write_if_changed("index.html", b"<p>", headers).unwrap());
        fs::write(dir.path().join("octopus/.octofeed-x.tmp"), b"half").unwrap();

        assert_eq!(folder.list("octopus/").unwrap(), ["octopus/atom.xml", "octopus/rss.xml"]);
        assert_eq!(folder.list("").unwrap().len(), 4);
        let read = folder.read("octopus/rss.xml").unwrap().unwrap();
        assert_eq!(read.bytes, b"<rss/>");
        assert_eq!(Some(read.stamp.clone()), folder.stamp("octopus/rss.xml").unwrap());

        assert!(folder.write_if_changed("octopus/rss.xml", b"<rss version='2.0'/>", headers).unwrap());
        assert_ne!(folder.stamp("octopus/rss.xml").unwrap(), Some(read.stamp));
        assert!(folder.stamp("octopus").unwrap().is_none(), "a folder is not a file");
    }
}
