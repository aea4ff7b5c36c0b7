//! Store: the advisory lock that keeps two runs off one store. A run holds
//! `<db>.lock` for as long as it has the store open; the operating system
//! releases it when the process ends, even when it is killed.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::StoreError;

/// Held for the life of a writing [`super::Store`].
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

/// The lock file beside the database.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    db.with_file_name(name)
}

impl StoreLock {
    /// Takes the lock, retrying until `timeout` has passed.
    pub fn acquire(db: &Path, timeout: Duration) -> Result<StoreLock, StoreError> {
        let path = lock_path(db);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| StoreError::Io { path: path.clone(), error })?;
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StoreLock { _file: file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::Busy { path: db.to_path_buf(), waited: timeout });
                }
                Err(TryLockError::Error(error)) => return Err(StoreError::Io { path, error }),
            }
        }
    }
}
