//! SQLite engine: tells a store file that holds a database from one that does not (empty,
//! cut short, or some other file), before SQLite would quietly take an empty file
//! as a new store and the history would start again from nothing.
//!
//! It reads only the file's first 100 bytes (SQLite's header); it does not check
//! the pages themselves (`PRAGMA integrity_check` does that, and costs a full read).
//! A new store is made beside its place and renamed into it once its schema is
//! written ([`create`]), so a run killed while creating it never leaves an empty
//! file that the next run would have to refuse.

use std::io::Read;
use std::path::{Path, PathBuf};

/// What a store's header says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No file yet: a new store may be created.
    Absent,
    /// A SQLite database of plausible length.
    Database,
    /// A file that is no usable database; the reason says why.
    Unusable(String),
}

const HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Looks at the file at `path`.
pub fn inspect(path: &Path) -> std::io::Result<Verdict> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Verdict::Absent),
        Err(error) => return Err(error),
    };
    let length = file.metadata()?.len();
    if length == 0 {
        return Ok(Verdict::Unusable("the file is empty".into()));
    }
    let mut header = [0u8; 100];
    let read = file.read(&mut header)?;
    if read < header.len() || &header[..16] != HEADER {
        return Ok(Verdict::Unusable("the file is not a SQLite database".into()));
    }
    // Bytes 16-17: page size (1 means 65536); 28-31: the size in pages, valid
    // when bytes 92-95 equal the change counter in bytes 24-27.
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        size => u64::from(size),
    };
    let pages = u64::from(u32::from_be_bytes([header[28], header[29], header[30], header[31]]));
    let size_is_valid = header[24..28] == header[92..96];
    let has_wal = wal_path(path).exists();
    if size_is_valid && !has_wal && length < pages * page_size {
        let expected = pages * page_size;
        return Ok(Verdict::Unusable(format!("the file is cut short ({length} of {expected} bytes)")));
    }
    Ok(Verdict::Database)
}

/// Why a new store could not be made.
#[derive(Debug)]
pub enum CreateError {
    Io(std::io::Error),
    Sql(rusqlite::Error),
}

/// Makes a new store at `path`: a database at `<name>.new` (any left by a killed
/// run is replaced) prepared by `schema`, closed, then renamed to `path`.
pub fn create(
    path: &Path,
    schema: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<()>,
) -> Result<(), CreateError> {
    let new = with_suffix(path, ".new");
    for leftover in [new.clone(), with_suffix(&new, "-journal"), with_suffix(&new, "-wal"), with_suffix(&new, "-shm")] {
        match std::fs::remove_file(&leftover) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(CreateError::Io(error)),
            _ => {}
        }
    }
    let mut conn = rusqlite::Connection::open(&new).map_err(CreateError::Sql)?;
    schema(&mut conn).map_err(CreateError::Sql)?;
    conn.close().map_err(|(_, error)| CreateError::Sql(error))?;
    std::fs::File::open(&new).and_then(|file| file.sync_all()).map_err(CreateError::Io)?;
    std::fs::rename(&new, path).map_err(CreateError::Io)
}

/// Moves an unusable store (and its `-wal`/`-shm` files) aside as
/// `<name>.unusable-<suffix>`, so a new one can start without losing the old bytes.
pub fn move_aside(path: &Path, suffix: &str) -> std::io::Result<PathBuf> {
    let aside = with_suffix(path, &format!(".unusable-{suffix}"));
    std::fs::rename(path, &aside)?;
    for companion in ["-wal", "-shm"] {
        let file = with_suffix(path, companion);
        if file.exists() {
            std::fs::rename(&file, with_suffix(&aside, companion))?;
        }
    }
    Ok(aside)
}

fn wal_path(path: &Path) -> PathBuf {
    with_suffix(path, "-wal")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_empty_foreign_and_cut_short_files_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("octofeed.db");
        assert_eq!(inspect(&path).unwrap(), Verdict::Absent);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(inspect(&path).unwrap(), Verdict::Unusable("the file is empty".into()));
        std::fs::write(&path, b"<html>not a database</html>".repeat(10)).unwrap();
        assert!(matches!(inspect(&path).unwrap(), Verdict::Unusable(reason) if reason.contains("not a SQLite")));

        std::fs::remove_file(&path).unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x TEXT); INSERT INTO t VALUES (randomblob(20000));").unwrap();
        drop(conn);
        assert_eq!(inspect(&path).unwrap(), Verdict::Database);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(matches!(inspect(&path).unwrap(), Verdict::Unusable(reason) if reason.contains("cut short")));
    }

    #[test]
    fn a_new_store_appears_whole_and_replaces_a_killed_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("octofeed.db");
        std::fs::write(dir.path().join("octofeed.db.new"), b"").unwrap();
        create(&path, |conn| conn.execute_batch("CREATE TABLE t (x TEXT);")).unwrap();
        assert_eq!(inspect(&path).unwrap(), Verdict::Database);
        assert!(!dir.path().join("octofeed.db.new").exists());
        let failed = create(&dir.path().join("other.db"), |conn| conn.execute_batch("NOT SQL"));
        assert!(matches!(failed, Err(CreateError::Sql(_))));
        assert!(!dir.path().join("other.db").exists(), "a failed creation leaves no store behind");
    }

    #[test]
    fn moving_aside_keeps_the_bytes_and_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("octofeed.db");
        std::fs::write(&path, b"old").unwrap();
        std::fs::write(dir.path().join("octofeed.db-wal"), b"wal").unwrap();
        let aside = move_aside(&path, "1").unwrap();
        assert!(!path.exists());
        assert_eq!(std::fs::read(&aside).unwrap(), b"old");
        assert_eq!(std::fs::read(dir.path().join("octofeed.db.unusable-1-wal")).unwrap(), b"wal");
    }
}
