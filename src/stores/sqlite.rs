//! What every SQLite file of the demo shares: how it is opened for writing, and how its
//! errors are said.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// Opens (creating if needed) a SQLite file for writing, with every option set
/// explicitly: the busy timeout, a rollback journal (not WAL: a writer holding the lock
/// blocks other writers but not readers, and no -shm file is shared between processes)
/// and `synchronous = FULL` (a committed write survives a crash of the machine).
pub(crate) fn open_for_writing(
    path: &Path,
    busy_timeout: Duration,
) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(busy_timeout)?;
    connection.pragma_update(None, "journal_mode", "DELETE")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    Ok(connection)
}

/// One plain sentence for a SQLite error, keeping SQLite's own words ("database is locked").
pub(crate) fn describe_sqlite_error(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(failure, Some(message)) => {
            format!("{message} ({:?})", failure.code)
        }
        other => other.to_string(),
    }
}
