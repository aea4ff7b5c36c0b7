//! SQLite engine: the advisory lock that keeps two runs off one store. It guards the
//! database only by convention (SQLite itself never sees it): a writing
//! [`super::SqliteStore`] holds `<db>.lock` for as long as it is open, and the
//! operating system releases it when the process ends, even when it is killed.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::store::StoreError;

/// How long to sleep between two tries.
const RETRY_EVERY: Duration = Duration::from_millis(25);

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

/// The lock file beside the database: `<db>.lock`.
fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    db.with_file_name(name)
}

impl StoreLock {
    /// Takes the lock of the store at `db`, retrying until `timeout` has passed;
    /// then fails with [`StoreError::Busy`].
    pub fn acquire(db: &Path, timeout: Duration) -> Result<StoreLock, StoreError> {
        let path = lock_path(db);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StoreError::Io { path: path.clone(), source })?;
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StoreLock { _file: file }),
                Err(TryLockError::WouldBlock) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(StoreError::Busy { store: db.display().to_string(), waited: timeout });
                    }
                    std::thread::sleep(left.min(RETRY_EVERY));
                }
                Err(TryLockError::Error(source)) => return Err(StoreError::Io { path, source }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_sits_beside_the_database() {
        assert_eq!(lock_path(Path::new("data/octofeed.db")), Path::new("data/octofeed.db.lock"));
        assert_eq!(lock_path(Path::new("octofeed.db")), Path::new("octofeed.db.lock"));
    }
}
