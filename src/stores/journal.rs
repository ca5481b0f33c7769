//! The durable lane's journal: its own SQLite file (apart from the reference store, as a
//! durable-execution engine's promise store is its own system) that checkpoints each step
//! of a request and its classified result, so a restarted worker resumes where it stopped.

use crate::domain::stored::{JournalEntry, JournalState};
use rusqlite::{Connection, OptionalExtension, params};

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a journal write waits for SQLite's write lock: longer than the reference
/// store's, since the journal is the durable lane's own and is never locked by a fault.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
#[error("journal {path}: {source}")]
pub struct JournalError {
    path: PathBuf,
    #[source]
    source: rusqlite::Error,
}

pub(crate) struct Journal {
    path: PathBuf,
    connection: Connection,
}

impl Journal {
    pub(crate) fn open(path: &Path) -> Result<Self, JournalError> {
        let wrap = |source| JournalError {
            path: path.to_path_buf(),
            source,
        };
        let connection =
            crate::stores::sqlite::open_for_writing(path, BUSY_TIMEOUT).map_err(wrap)?;
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS requests (
                    user TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    guid TEXT NOT NULL,
                    state TEXT NOT NULL,
                    alert TEXT,
                    owner INTEGER
                )",
            )
            .map_err(wrap)?;
        Ok(Journal {
            path: path.to_path_buf(),
            connection,
        })
    }

    /// Opens an existing journal for reading only (the controller's observations).
    pub(crate) fn open_read_only(path: &Path) -> Result<Self, JournalError> {
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection =
            Connection::open_with_flags(path, flags).map_err(|source| JournalError {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Journal {
            path: path.to_path_buf(),
            connection,
        })
    }

    fn wrap(&self, source: rusqlite::Error) -> JournalError {
        JournalError {
            path: self.path.clone(),
            source,
        }
    }

    /// `begin` and `claim` in one transaction, for a request this worker makes: the new
    /// entry is owned by `owner` from its first write. Returns whether this call made it
    /// (false: the user already had one, which is left as it was).
    pub(crate) fn begin_owned(
        &self,
        user: &str,
        name: &str,
        guid: &str,
        owner: u32,
    ) -> Result<bool, JournalError> {
        self.connection
            .execute(
                "INSERT INTO requests (user, name, guid, state, owner) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (user) DO NOTHING",
                params![user, name, guid, JournalState::IdGenerated.name(), owner],
            )
            .map(|changed| changed == 1)
            .map_err(|error| self.wrap(error))
    }

    /// [`begin_owned`](Self::begin_owned) for several requests `(user, name, guid)` in
    /// one transaction (group commit): returns, per request, whether this call made its
    /// entry.
    pub(crate) fn begin_owned_batch(
        &self,
        requests: &[(&str, &str, &str)],
        owner: u32,
    ) -> Result<Vec<bool>, JournalError> {
        self.in_transaction(|transaction| {
            let mut began = Vec::with_capacity(requests.len());
            for (user, name, guid) in requests {
                let changed = transaction.execute(
                    "INSERT INTO requests (user, name, guid, state, owner) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (user) DO NOTHING",
                    params![user, name, guid, JournalState::IdGenerated.name(), owner],
                )?;
                began.push(changed == 1);
            }
            Ok(began)
        })
    }

    /// [`checkpoint`](Self::checkpoint) for several users in one transaction.
    pub(crate) fn checkpoint_batch(
        &self,
        users: &[&str],
        state: JournalState,
    ) -> Result<(), JournalError> {
        self.in_transaction(|transaction| set_states(transaction, users, state))
    }

    /// The end of a batch, in one transaction: the `completed` requests are marked
    /// completed and every request of the batch is given up by `owner` (each as
    /// [`complete`](Self::complete) then [`release`](Self::release) would).
    pub(crate) fn end_batch(
        &self,
        completed: &[&str],
        released: &[&str],
        owner: u32,
    ) -> Result<(), JournalError> {
        self.in_transaction(|transaction| {
            // Completed even if another process took it over: both stores hold it.
            set_states(transaction, completed, JournalState::Completed)?;
            for user in released {
                transaction.execute(
                    "UPDATE requests SET owner = NULL WHERE user = ?1 AND owner = ?2",
                    params![user, owner],
                )?;
            }
            Ok(())
        })
    }

    /// Runs `body` in one transaction, committed if it succeeds (rolled back on drop
    /// otherwise); its error is said with the journal's path.
    fn in_transaction<T>(
        &self,
        body: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, JournalError> {
        let run = || {
            let transaction = self.connection.unchecked_transaction()?;
            let value = body(&transaction)?;
            transaction.commit()?;
            Ok(value)
        };
        run().map_err(|error| self.wrap(error))
    }

    /// Marks the request completed and gives it up, in one transaction, if `owner` owns
    /// it; returns whether it did.
    pub(crate) fn complete(&self, user: &str, owner: u32) -> Result<bool, JournalError> {
        self.connection
            .execute(
                "UPDATE requests SET state = ?2, owner = NULL WHERE user = ?1 AND owner = ?3",
                params![user, JournalState::Completed.name(), owner],
            )
            .map(|changed| changed == 1)
            .map_err(|error| self.wrap(error))
    }

    /// Replaces the id of a journaled request: only the regenerated-id lane does this.
    pub(crate) fn replace_guid(&self, user: &str, guid: &str) -> Result<(), JournalError> {
        self.connection
            .execute(
                "UPDATE requests SET guid = ?2, state = ?3 WHERE user = ?1",
                params![user, guid, JournalState::IdGenerated.name()],
            )
            .map(drop)
            .map_err(|error| self.wrap(error))
    }

    pub(crate) fn checkpoint(&self, user: &str, state: JournalState) -> Result<(), JournalError> {
        self.connection
            .execute(
                "UPDATE requests SET state = ?2 WHERE user = ?1",
                params![user, state.name()],
            )
            .map(drop)
            .map_err(|error| self.wrap(error))
    }

    /// The process (pid) running the user's request right now, if any. A request is owned
    /// while a worker runs it, so that another worker can tell a request in progress from
    /// one abandoned by a crash (whose owner no longer exists).
    pub(crate) fn owner(&self, user: &str) -> Result<Option<u32>, JournalError> {
        self.connection
            .query_row(
                "SELECT owner FROM requests WHERE user = ?1",
                params![user],
                |row| row.get::<_, Option<u32>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|error| self.wrap(error))
    }

    /// Takes the user's request over for `owner` if it is still owned by `expected`
    /// (compare and set, so two workers cannot both take it); returns whether it did.
    pub(crate) fn claim(
        &self,
        user: &str,
        expected: Option<u32>,
        owner: u32,
    ) -> Result<bool, JournalError> {
        self.connection
            .execute(
                "UPDATE requests SET owner = ?3 WHERE user = ?1 AND owner IS ?2",
                params![user, expected, owner],
            )
            .map(|changed| changed == 1)
            .map_err(|error| self.wrap(error))
    }

    /// Gives the user's request up (its run ended, whatever the result).
    pub(crate) fn release(&self, user: &str, owner: u32) -> Result<(), JournalError> {
        self.connection
            .execute(
                "UPDATE requests SET owner = NULL WHERE user = ?1 AND owner = ?2",
                params![user, owner],
            )
            .map(drop)
            .map_err(|error| self.wrap(error))
    }

    pub(crate) fn stop(&self, user: &str, alert: &str) -> Result<(), JournalError> {
        self.connection
            .execute(
                "UPDATE requests SET state = ?2, alert = ?3 WHERE user = ?1",
                params![user, JournalState::Stopped.name(), alert],
            )
            .map(drop)
            .map_err(|error| self.wrap(error))
    }

    pub(crate) fn entry(&self, user: &str) -> Result<Option<JournalEntry>, JournalError> {
        self.connection
            .query_row(
                "SELECT user, name, guid, state, alert FROM requests WHERE user = ?1",
                params![user],
                entry_from_row,
            )
            .optional()
            .map_err(|error| self.wrap(error))
    }

    /// Every entry, ordered by user.
    pub(crate) fn entries(&self) -> Result<Vec<JournalEntry>, JournalError> {
        let mut statement = self
            .connection
            .prepare("SELECT user, name, guid, state, alert FROM requests ORDER BY user")
            .map_err(|error| self.wrap(error))?;
        statement
            .query_map([], entry_from_row)
            .and_then(Iterator::collect)
            .map_err(|error| self.wrap(error))
    }
}

fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<JournalEntry> {
    let state: String = row.get(3)?;
    let state: JournalState = state.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown journal state `{state}`").into(),
        )
    })?;
    Ok(JournalEntry {
        user: row.get(0)?,
        name: row.get(1)?,
        guid: row.get(2)?,
        state,
        alert: row.get(4)?,
    })
}

/// Sets the state of each of `users`' requests, inside `transaction`.
fn set_states(
    transaction: &rusqlite::Transaction<'_>,
    users: &[&str],
    state: JournalState,
) -> rusqlite::Result<()> {
    for user in users {
        transaction.execute(
            "UPDATE requests SET state = ?2 WHERE user = ?1",
            params![user, state.name()],
        )?;
    }
    Ok(())
}
