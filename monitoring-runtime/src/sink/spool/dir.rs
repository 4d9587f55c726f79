//! The spool directory: created private, locked for one monitor at a time.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;

/// `path` and its missing parents, created `0700` (Unix).
pub(super) fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Options that create a file `0600` (Unix).
pub(super) fn private_file() -> std::fs::OpenOptions {
    let mut options = File::options();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// The spool directory, locked for this process.
#[derive(Debug)]
pub(crate) struct SpoolDir {
    pub(super) path: PathBuf,
    pub(super) max_bytes: u64,
    lock: File,
}

impl SpoolDir {
    /// Creates (if needed) and locks `path`; an error if another monitor holds it.
    pub(crate) fn open(path: &Path, max_bytes: u64) -> Result<Arc<SpoolDir>, Error> {
        let io = |source| Error::Spool {
            path: path.to_owned(),
            source,
        };
        create_private_dir(path).map_err(io)?;
        let lock = private_file()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.join("LOCK"))
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::SpoolLocked {
                    path: path.to_owned(),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        Ok(Arc::new(SpoolDir {
            path: path.to_owned(),
            max_bytes,
            lock,
        }))
    }

    /// Lets another monitor open the directory (this one has shut down).
    pub(super) fn release(&self) {
        let _ = self.lock.unlock();
    }
}
