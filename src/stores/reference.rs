//! The system of reference: a SQLite file holding who owns which account
//! (`uuid` = the user's id, `guid` = the TigerBeetle account id, and a name), plus the
//! outbox table used by the outbox lane. Parameterized statements only.

use crate::domain::outcome::WriteOutcome;
use crate::domain::stored::{OutboxMessage, ReferenceRow};
use crate::stores::sqlite::{describe_sqlite_error, open_for_writing};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a write waits for SQLite's write lock before it fails with "database is locked".
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// A failure to open or read the reference store.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("SQLite {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// A connection to one reference store file.
pub struct ReferenceStore {
    path: PathBuf,
    connection: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    uuid TEXT PRIMARY KEY,
    guid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    guid TEXT PRIMARY KEY,
    uuid TEXT NOT NULL,
    name TEXT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0,
    attempt_count INTEGER NOT NULL DEFAULT 0
);
";

impl ReferenceStore {
    /// Opens (creating if needed) the store at `path`, with every option set explicitly.
    pub fn open(path: &Path) -> Result<Self, ReferenceError> {
        let wrap = |source| ReferenceError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let connection = open_for_writing(path, BUSY_TIMEOUT).map_err(wrap)?;
        connection.execute_batch(SCHEMA).map_err(wrap)?;
        Ok(ReferenceStore {
            path: path.to_path_buf(),
            connection,
        })
    }

    /// Opens an existing store for reading only (the controller's observations): no
    /// schema change, so it works while another connection holds the write lock.
    pub(crate) fn open_read_only(path: &Path) -> Result<Self, ReferenceError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection =
            Connection::open_with_flags(path, flags).map_err(|source| ReferenceError::Sqlite {
                path: path.to_path_buf(),
                source,
            })?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|source| ReferenceError::Sqlite {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(ReferenceStore {
            path: path.to_path_buf(),
            connection,
        })
    }

    /// Takes SQLite's write lock (BEGIN IMMEDIATE) and hands over the connection that
    /// holds it.
    pub(crate) fn into_locked_connection(self) -> Result<Connection, ReferenceError> {
        self.connection
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|error| self.wrap(error))?;
        Ok(self.connection)
    }

    fn wrap(&self, source: rusqlite::Error) -> ReferenceError {
        ReferenceError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Inserts the row and classifies the result. A locked or read-only database gives
    /// `Failed`: SQLite rolled the statement back, so nothing was written.
    pub fn insert(&self, row: &ReferenceRow) -> WriteOutcome {
        let inserted = self.connection.execute(
            "INSERT INTO accounts (uuid, guid, name) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![row.uuid, row.guid, row.name],
        );
        match inserted {
            Ok(1) => WriteOutcome::Created,
            Ok(_) => self.classify_existing(row),
            Err(error) => WriteOutcome::Failed(describe_sqlite_error(&error)),
        }
    }

    /// Inserts the row or overwrites the existing row of the same uuid. Only the
    /// id-regenerated-on-retry lane does this: it is the bug that lane demonstrates.
    pub(crate) fn upsert(&self, row: &ReferenceRow) -> WriteOutcome {
        let existing = match self.find_by_uuid(&row.uuid) {
            Ok(existing) => existing,
            Err(error) => return WriteOutcome::Failed(error.to_string()),
        };
        let written = self.connection.execute(
            "INSERT INTO accounts (uuid, guid, name) VALUES (?1, ?2, ?3)
             ON CONFLICT (uuid) DO UPDATE SET guid = excluded.guid, name = excluded.name",
            params![row.uuid, row.guid, row.name],
        );
        match (written, existing) {
            (Err(error), _) => WriteOutcome::Failed(describe_sqlite_error(&error)),
            (Ok(_), None) => WriteOutcome::Created,
            (Ok(_), Some(previous)) if previous == *row => WriteOutcome::ExistsSame,
            (Ok(_), Some(_)) => WriteOutcome::Created,
        }
    }

    /// Writes the row and its outbox message in one SQLite transaction: both or neither.
    pub fn insert_with_outbox(&mut self, row: &ReferenceRow) -> WriteOutcome {
        let transaction = match self.connection.transaction() {
            Ok(transaction) => transaction,
            Err(error) => return WriteOutcome::Failed(describe_sqlite_error(&error)),
        };
        let inserted = transaction.execute(
            "INSERT INTO accounts (uuid, guid, name) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![row.uuid, row.guid, row.name],
        );
        let inserted = match inserted {
            Ok(count) => count,
            Err(error) => return WriteOutcome::Failed(describe_sqlite_error(&error)),
        };
        if inserted == 0 {
            drop(transaction);
            return self.classify_existing(row);
        }
        let queued = transaction.execute(
            "INSERT INTO outbox (guid, uuid, name) VALUES (?1, ?2, ?3)",
            params![row.guid, row.uuid, row.name],
        );
        if let Err(error) = queued {
            return WriteOutcome::Failed(describe_sqlite_error(&error));
        }
        match transaction.commit() {
            Ok(()) => WriteOutcome::Created,
            Err(error) => WriteOutcome::Failed(describe_sqlite_error(&error)),
        }
    }

    /// Writes several rows in one SQLite transaction (group commit: one lock, one
    /// `fsync`), each as [`insert`](Self::insert), [`upsert`](Self::upsert) or
    /// [`insert_with_outbox`](Self::insert_with_outbox) would, and classifies each. A
    /// statement or the commit that fails rolls the whole transaction back: every row
    /// of the batch is then `Failed` (a locked file costs one busy timeout per batch).
    pub(crate) fn write_batch(&self, rows: &[ReferenceRow], mode: BatchWrite) -> Vec<WriteOutcome> {
        match self.write_batch_in_transaction(rows, mode) {
            Ok(outcomes) => outcomes,
            Err(error) => {
                let reason = describe_sqlite_error(&error);
                rows.iter()
                    .map(|_row| WriteOutcome::Failed(reason.clone()))
                    .collect()
            }
        }
    }

    fn write_batch_in_transaction(
        &self,
        rows: &[ReferenceRow],
        mode: BatchWrite,
    ) -> rusqlite::Result<Vec<WriteOutcome>> {
        // Unchecked: the classification below reads through `self` inside the transaction.
        let transaction = self.connection.unchecked_transaction()?;
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            let existing = match mode {
                BatchWrite::Upsert => {
                    self.find_by_uuid(&row.uuid).map_err(|error| match error {
                        ReferenceError::Sqlite { source, .. } => source,
                    })?
                }
                BatchWrite::Insert | BatchWrite::InsertWithOutbox => None,
            };
            let sql = match mode {
                BatchWrite::Upsert => {
                    "INSERT INTO accounts (uuid, guid, name) VALUES (?1, ?2, ?3)
                     ON CONFLICT (uuid) DO UPDATE SET guid = excluded.guid, name = excluded.name"
                }
                BatchWrite::Insert | BatchWrite::InsertWithOutbox => {
                    "INSERT INTO accounts (uuid, guid, name) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"
                }
            };
            let inserted = transaction.execute(sql, params![row.uuid, row.guid, row.name])?;
            let outcome = match (mode, existing) {
                (BatchWrite::Upsert, Some(previous)) if previous == *row => {
                    WriteOutcome::ExistsSame
                }
                (BatchWrite::Upsert, _) => WriteOutcome::Created,
                (_, _) if inserted == 0 => self.classify_existing(row),
                (BatchWrite::InsertWithOutbox, _) => {
                    transaction.execute(
                        "INSERT INTO outbox (guid, uuid, name) VALUES (?1, ?2, ?3)",
                        params![row.guid, row.uuid, row.name],
                    )?;
                    WriteOutcome::Created
                }
                (BatchWrite::Insert, _) => WriteOutcome::Created,
            };
            outcomes.push(outcome);
        }
        transaction.commit()?;
        Ok(outcomes)
    }

    fn classify_existing(&self, row: &ReferenceRow) -> WriteOutcome {
        let by_uuid = self.find_by_uuid(&row.uuid);
        let by_guid = self.find_by_guid(&row.guid);
        match (by_uuid, by_guid) {
            (Ok(Some(existing)), _) if existing == *row => WriteOutcome::ExistsSame,
            (Ok(_), Ok(_)) => WriteOutcome::ExistsDifferent,
            (Err(error), _) | (_, Err(error)) => WriteOutcome::Failed(error.to_string()),
        }
    }

    pub fn find_by_uuid(&self, uuid: &str) -> Result<Option<ReferenceRow>, ReferenceError> {
        self.find_one(
            "SELECT uuid, guid, name FROM accounts WHERE uuid = ?1",
            uuid,
        )
    }

    pub fn find_by_guid(&self, guid: &str) -> Result<Option<ReferenceRow>, ReferenceError> {
        self.find_one(
            "SELECT uuid, guid, name FROM accounts WHERE guid = ?1",
            guid,
        )
    }

    fn find_one(&self, sql: &str, key: &str) -> Result<Option<ReferenceRow>, ReferenceError> {
        self.connection
            .query_row(sql, params![key], row_from)
            .optional()
            .map_err(|error| self.wrap(error))
    }

    /// Every row, ordered by uuid, for display and for the checker.
    pub fn rows(&self) -> Result<Vec<ReferenceRow>, ReferenceError> {
        let mut statement = self
            .connection
            .prepare("SELECT uuid, guid, name FROM accounts ORDER BY uuid, guid")
            .map_err(|error| self.wrap(error))?;
        let rows = statement
            .query_map([], row_from)
            .and_then(Iterator::collect)
            .map_err(|error| self.wrap(error))?;
        Ok(rows)
    }

    /// Every outbox message, ordered by uuid.
    pub fn outbox(&self) -> Result<Vec<OutboxMessage>, ReferenceError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT uuid, guid, name, delivered, attempt_count FROM outbox ORDER BY uuid, guid",
            )
            .map_err(|error| self.wrap(error))?;
        let messages = statement
            .query_map([], |row| {
                Ok(OutboxMessage {
                    uuid: row.get(0)?,
                    guid: row.get(1)?,
                    name: row.get(2)?,
                    delivered: row.get(3)?,
                    attempt_count: row.get(4)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(|error| self.wrap(error))?;
        Ok(messages)
    }

    /// Deletes the user's row (and its outbox message): what restoring the file from a
    /// backup taken before the row was written does to it. Returns whether a row went.
    pub(crate) fn lose_row(&mut self, uuid: &str) -> Result<bool, ReferenceError> {
        let path = self.path.clone();
        let wrap = |source| ReferenceError::Sqlite {
            path: path.clone(),
            source,
        };
        let transaction = self.connection.transaction().map_err(wrap)?;
        let deleted = transaction
            .execute("DELETE FROM accounts WHERE uuid = ?1", params![uuid])
            .map_err(wrap)?;
        transaction
            .execute("DELETE FROM outbox WHERE uuid = ?1", params![uuid])
            .map_err(wrap)?;
        transaction.commit().map_err(wrap)?;
        Ok(deleted > 0)
    }

    /// Removes the row of a closed account (the `close` step): `created` when it went,
    /// `exists-same` when no such row was left (a retry), `failed` when SQLite refused.
    pub(crate) fn remove(&self, row: &ReferenceRow) -> WriteOutcome {
        let deleted = self.connection.execute(
            "DELETE FROM accounts WHERE uuid = ?1 AND guid = ?2",
            params![row.uuid, row.guid],
        );
        match deleted {
            Ok(0) => WriteOutcome::ExistsSame,
            Ok(_) => WriteOutcome::Created,
            Err(error) => WriteOutcome::Failed(describe_sqlite_error(&error)),
        }
    }

    /// Counts one delivery attempt of an outbox message, before the relay sends it.
    pub(crate) fn count_outbox_attempt(&self, guid: &str) -> Result<(), ReferenceError> {
        self.connection
            .execute(
                "UPDATE outbox SET attempt_count = attempt_count + 1 WHERE guid = ?1",
                params![guid],
            )
            .map(drop)
            .map_err(|error| self.wrap(error))
    }

    /// Counts a delivery attempt of each message (`attempt`) or marks each delivered, in
    /// one transaction for the batch.
    pub(crate) fn update_outbox_batch(
        &self,
        guids: &[&str],
        update: OutboxUpdate,
    ) -> Result<(), ReferenceError> {
        let sql = match update {
            OutboxUpdate::Attempt => {
                "UPDATE outbox SET attempt_count = attempt_count + 1 WHERE guid = ?1"
            }
            OutboxUpdate::Delivered => "UPDATE outbox SET delivered = 1 WHERE guid = ?1",
        };
        let run = || -> rusqlite::Result<()> {
            let transaction = self.connection.unchecked_transaction()?;
            for guid in guids {
                transaction.execute(sql, params![guid])?;
            }
            transaction.commit()
        };
        run().map_err(|error| self.wrap(error))
    }

    /// Marks an outbox message delivered, once TigerBeetle holds its account.
    pub fn mark_delivered(&self, guid: &str) -> Result<(), ReferenceError> {
        self.connection
            .execute(
                "UPDATE outbox SET delivered = 1 WHERE guid = ?1",
                params![guid],
            )
            .map(drop)
            .map_err(|error| self.wrap(error))
    }
}

/// How [`ReferenceStore::write_batch`] writes each row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BatchWrite {
    /// As [`ReferenceStore::insert`].
    Insert,
    /// As [`ReferenceStore::upsert`] (the regenerated-id lane's bug).
    Upsert,
    /// As [`ReferenceStore::insert_with_outbox`].
    InsertWithOutbox,
}

/// What [`ReferenceStore::update_outbox_batch`] does to each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutboxUpdate {
    Attempt,
    Delivered,
}

/// A row of `SELECT uuid, guid, name FROM accounts`.
fn row_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReferenceRow> {
    Ok(ReferenceRow {
        uuid: row.get(0)?,
        guid: row.get(1)?,
        name: row.get(2)?,
    })
}
