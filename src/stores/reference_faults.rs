//! The faults made on the reference store for real: SQLite's write lock taken and held by
//! the controller, and the store's folder made read-only.

use crate::stores::reference::{ReferenceError, ReferenceStore};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// A write lock on a reference store held by the controller: the "SQLite fails" fault.
/// While it is held, every other connection's write fails with "database is locked".
pub struct ReferenceLock {
    connection: Connection,
}

impl ReferenceLock {
    /// Takes SQLite's write lock on the file at `path` (BEGIN IMMEDIATE) and keeps it.
    pub fn acquire(path: &Path) -> Result<Self, ReferenceError> {
        Ok(ReferenceLock {
            connection: ReferenceStore::open(path)?.into_locked_connection()?,
        })
    }

    /// Releases the lock (rolling back the empty transaction).
    pub fn release(self) {
        // The transaction is empty: a failed rollback leaves nothing behind, and closing
        // the connection releases the lock in any case.
        let _ = self.connection.execute_batch("ROLLBACK");
    }
}

/// The reference store's folder made read-only: the "SQLite read-only" fault. SQLite (in
/// rollback-journal mode) must create a journal file beside the database before it writes,
/// so every write then fails, while reads go on. As root, permissions do not stop writes,
/// so the folder is also marked immutable (FS_IMMUTABLE_FL), which stops root too.
pub(crate) struct ReferenceReadOnly {
    directory: PathBuf,
    mode: u32,
    immutable: bool,
}

const FS_IOC_GETFLAGS: libc::c_ulong = 0x8008_6601;
const FS_IOC_SETFLAGS: libc::c_ulong = 0x4008_6602;
const FS_IMMUTABLE_FL: libc::c_long = 0x10;

fn set_immutable(directory: &Path, immutable: bool) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let folder = std::fs::File::open(directory)?;
    let mut flags: libc::c_long = 0;
    // SAFETY: the ioctls read and write one long through a valid pointer on an open fd.
    unsafe {
        if libc::ioctl(folder.as_raw_fd(), FS_IOC_GETFLAGS, &mut flags) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if immutable {
            flags |= FS_IMMUTABLE_FL;
        } else {
            flags &= !FS_IMMUTABLE_FL;
        }
        if libc::ioctl(folder.as_raw_fd(), FS_IOC_SETFLAGS, &flags) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

impl ReferenceReadOnly {
    /// Makes `directory` (the folder of a reference store) read-only.
    pub(crate) fn apply(directory: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(directory)?.permissions().mode();
        std::fs::set_permissions(directory, std::fs::Permissions::from_mode(mode & 0o555))?;
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let mut fault = ReferenceReadOnly {
            directory: directory.to_path_buf(),
            mode,
            immutable: false,
        };
        if root {
            set_immutable(directory, true).map_err(|error| {
                std::io::Error::new(
                    error.kind(),
                    format!("as root, only an immutable folder stops SQLite, and the file system refused: {error}"),
                )
            })?;
            fault.immutable = true;
        }
        Ok(fault)
    }

    /// Makes the folder writable again.
    pub(crate) fn release(mut self) -> std::io::Result<()> {
        self.restore()
    }

    fn restore(&mut self) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            set_immutable(&self.directory, false)?;
            self.immutable = false;
        }
        std::fs::set_permissions(&self.directory, std::fs::Permissions::from_mode(self.mode))
    }
}

impl Drop for ReferenceReadOnly {
    fn drop(&mut self) {
        // A read-only folder must never outlive the run: it could not even be deleted.
        let _ = self.restore();
    }
}
