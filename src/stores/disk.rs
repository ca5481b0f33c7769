//! The disk under a run: how much room is left on it, and a log writer that never
//! panics when the disk is full. A full disk must be said out loud, in one line on the
//! terminal; a failed log write is remembered here and the run stops on it.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

/// The size of one TigerBeetle data file as `tigerbeetle format --development` makes it
/// (1.06298828125 GiB, measured with 0.16.78).
pub(crate) const DATA_FILE_BYTES: u64 = 1_141_374_976;
/// Room a run needs besides its data files: SQLite stores, journals, logs, transcript.
pub(crate) const RUN_MARGIN_BYTES: u64 = 64 * 1024 * 1024;
/// Below this much free space the run stops: the next SQLite or log write may fail.
pub(crate) const FREE_BYTES_MIN: u64 = 4 * 1024 * 1024;

/// Below this many free inodes the run stops: SQLite needs one for each journal it makes.
pub(crate) const FREE_INODES_MIN: u64 = 4;

/// The bytes free for an unprivileged writer on the filesystem holding `path`.
pub(crate) fn free_bytes(path: &Path) -> io::Result<u64> {
    let stats = statvfs(path)?;
    // The fields are u64 here, not on every platform.
    #[allow(clippy::useless_conversion)]
    let (blocks, block_size) = (u64::from(stats.f_bavail), u64::from(stats.f_frsize));
    Ok(blocks.saturating_mul(block_size))
}

/// The inodes (files) free on the filesystem holding `path`; `None` on a filesystem
/// with no fixed number of them (it reports 0 in all).
pub(crate) fn free_inodes(path: &Path) -> io::Result<Option<u64>> {
    let stats = statvfs(path)?;
    #[allow(clippy::useless_conversion)]
    let (total, free) = (u64::from(stats.f_files), u64::from(stats.f_favail));
    Ok((total > 0).then_some(free))
}

fn statvfs(path: &Path) -> io::Result<libc::statvfs> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"))?;
    // SAFETY: statvfs writes into the zeroed struct it is given; the name is NUL-ended.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(name.as_ptr(), &mut stats) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(stats)
}

/// A size for people: `1.1 GB`, `64.0 MB`, `12 KB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const KB: f64 = 1000.0;
    let value = bytes as f64;
    if value >= KB * KB * KB {
        format!("{:.1} GB", value / (KB * KB * KB))
    } else if value >= KB * KB {
        format!("{:.1} MB", value / (KB * KB))
    } else {
        format!("{} KB", bytes / 1000)
    }
}

/// The first log write that failed, as one sentence.
static LOG_FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// The first log write that failed, if one did.
pub(crate) fn log_failure() -> Option<String> {
    LOG_FAILURE.lock().ok().and_then(|failure| failure.clone())
}

/// Writes to fd 2 (the program's log once stderr is redirected) and never fails: a
/// failed write is remembered (see [`log_failure`]) instead of being reported on the
/// same full file, which is how a full disk used to end in a silent panic.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        if let Err(error) = io::stderr().write_all(buffer) {
            if let Ok(mut failure) = LOG_FAILURE.lock() {
                failure.get_or_insert_with(|| format!("writing the log failed: {error}"));
            }
        }
        Ok(buffer.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_bytes(DATA_FILE_BYTES), "1.1 GB");
        assert_eq!(human_bytes(64 * 1024 * 1024), "67.1 MB");
        assert_eq!(human_bytes(12_345), "12 KB");
    }

    #[test]
    fn a_folder_has_some_free_space_and_a_missing_one_is_an_error() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        assert!(free_bytes(folder.path()).expect("statvfs") > 0);
        assert!(free_bytes(&folder.path().join("missing")).is_err());
    }
}
