//! Store faults, made for real: SQLite's write lock taken by the controller, SQLite's
//! folder made read-only, TigerBeetle (or one replica) paused with SIGSTOP or killed with
//! SIGKILL; and healing each. The faults own what they hold (the lock, the read-only
//! folders), so healing gives back exactly what was taken.

use super::EngineError;
use super::lanes::Lanes;
use super::observe::Observer;
use super::progress::Progress;
use crate::domain::scenario::{Fault, StoreName};
use crate::stores::reference_faults::{ReferenceLock, ReferenceReadOnly};
use crate::stores::supervisor::{self, RecordServer, ServerState};
use std::time::Duration;

/// How long a resumed TigerBeetle is given to apply the requests that queued up while it
/// was paused, before the stores are read (measured: they land within 250 ms).
const RESUME_SETTLE: Duration = Duration::from_millis(1000);

/// Why the engine will not make a move asked of it (the face says so in its words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("nothing is held: there is nothing to crash")]
    NothingHeld,
    #[error("nothing is failed: there is nothing to heal")]
    NothingToHeal,
    #[error("SQLite is already locked")]
    AlreadyLocked,
    #[error("TigerBeetle is not running")]
    RecordNotReady,
    #[error("no replica is running")]
    NoReplicaRunning,
    #[error("a request is in progress: step it to its end first")]
    RequestInProgress,
    #[error("the scenario has no step left")]
    NoStepLeft,
}

/// The store faults in force.
#[derive(Default)]
pub(crate) struct Faults {
    reference_locks: Vec<ReferenceLock>,
    reference_read_only: Vec<ReferenceReadOnly>,
}

impl Faults {
    /// Whether the controller holds SQLite's write lock (the "SQLite locked" fault).
    pub(crate) fn reference_locked(&self) -> bool {
        !self.reference_locks.is_empty()
    }

    /// Whether the reference stores' folders are read-only (the "SQLite read-only" fault).
    pub(crate) fn reference_read_only(&self) -> bool {
        !self.reference_read_only.is_empty()
    }

    /// Makes `fault` happen; returns the line every lane's timeline gets.
    pub(crate) fn apply(
        &mut self,
        fault: Fault,
        server: &mut RecordServer,
        lanes: &Lanes,
    ) -> Result<&'static str, EngineError> {
        tracing::info!(fault = fault.describe(), "fault applied");
        Ok(match fault {
            Fault::ReferenceLocked => {
                for lane_run in &lanes.runs {
                    let lock = ReferenceLock::acquire(&lane_run.files.reference())?;
                    self.reference_locks.push(lock);
                }
                "SQLite's write lock is taken by another writer"
            }
            Fault::ReferenceReadOnly => {
                for lane_run in &lanes.runs {
                    let fault = ReferenceReadOnly::apply(&lane_run.files.reference_dir()).map_err(
                        |source| EngineError::Io {
                            action: "making SQLite read-only".to_string(),
                            source,
                        },
                    )?;
                    self.reference_read_only.push(fault);
                }
                "SQLite's folder made read-only: writes fail"
            }
            Fault::RecordPaused => {
                server.pause()?;
                "TigerBeetle paused (SIGSTOP): its requests hang"
            }
            Fault::RecordKilled => {
                server.kill()?;
                "TigerBeetle killed (SIGKILL)"
            }
            Fault::ReplicaPaused(replica_index) => {
                server.pause_replica(replica_index)?;
                "one TigerBeetle replica paused (SIGSTOP)"
            }
            Fault::ReplicaKilled(replica_index) => {
                server.kill_replica(replica_index)?;
                "one TigerBeetle replica killed (SIGKILL)"
            }
        })
    }

    /// Gives SQLite back: releases the lock, makes the folders writable again. Returns
    /// the timeline's lines.
    pub(crate) fn heal_reference(&mut self) -> Result<Vec<&'static str>, EngineError> {
        let mut notes = Vec::new();
        if self.reference_locked() {
            for lock in self.reference_locks.drain(..) {
                lock.release();
            }
            notes.push("SQLite's write lock released");
        }
        if self.reference_read_only() {
            for fault in self.reference_read_only.drain(..) {
                fault.release().map_err(|source| EngineError::Io {
                    action: "making SQLite writable again".to_string(),
                    source,
                })?;
            }
            notes.push("SQLite's folder writable again");
        }
        Ok(notes)
    }

    /// Ends every fault on SQLite at the end of a run.
    pub(crate) fn clear(&mut self) {
        for lock in self.reference_locks.drain(..) {
            lock.release();
        }
        self.reference_read_only.clear();
    }

    /// The stores that are failed now, in the order `h` heals them.
    pub(crate) fn failed_stores(&self, server: &RecordServer) -> Vec<StoreName> {
        let mut stores = Vec::new();
        if self.reference_locked() || self.reference_read_only() {
            stores.push(StoreName::Reference);
        }
        let record_failed = std::iter::once(server.state())
            .chain(server.replica_states())
            .any(|state| matches!(state, ServerState::Paused | ServerState::Down));
        if record_failed {
            stores.push(StoreName::Record);
        }
        stores
    }

    /// The fault a key press makes now, or why it makes none. In a cluster, pausing or
    /// killing TigerBeetle takes down one more replica each time (the cluster answers
    /// while a majority runs).
    pub(crate) fn fault_for(&self, fault: Fault, server: &RecordServer) -> Result<Fault, Refusal> {
        let replicas = server.replica_states();
        match fault {
            Fault::RecordPaused | Fault::RecordKilled if replicas.len() > 1 => {
                let running = replicas
                    .iter()
                    .position(|state| *state == ServerState::Ready)
                    .ok_or(Refusal::NoReplicaRunning)?;
                Ok(match fault {
                    Fault::RecordPaused => Fault::ReplicaPaused(running),
                    _ => Fault::ReplicaKilled(running),
                })
            }
            Fault::ReferenceLocked if self.reference_locked() => Err(Refusal::AlreadyLocked),
            Fault::RecordPaused if server.state() != ServerState::Ready => {
                Err(Refusal::RecordNotReady)
            }
            Fault::RecordKilled
                if !matches!(server.state(), ServerState::Ready | ServerState::Paused) =>
            {
                Err(Refusal::RecordNotReady)
            }
            other => Ok(other),
        }
    }
}

/// Resumes paused replicas and restarts those that are down (from their data files).
/// Returns the timeline's lines.
pub(crate) fn heal_record(
    server: &mut RecordServer,
    observer: &mut Observer,
    probe_ledger: u32,
    progress: &mut Progress,
) -> Result<Vec<&'static str>, EngineError> {
    let mut notes = Vec::new();
    let states = server.replica_states();
    if states.contains(&ServerState::Paused) {
        server.resume()?;
        notes.push("TigerBeetle resumed (SIGCONT)");
        // The requests sent while it was paused are still on their way (their clients
        // retransmit them); let them land before anyone reads, so that what the step
        // shows after the resume is the same on every run.
        progress.during(
            "TigerBeetle to apply the requests queued while it was paused",
            RESUME_SETTLE,
            || std::thread::sleep(RESUME_SETTLE),
        );
        // The observer's own client may be new (it is replaced after a read that timed
        // out), and a new TigerBeetle client's first request waits out one request
        // timeout (about 600 ms: it registers before it has connected). Wait, bounded,
        // for its first answer, so that the step's read does not count that wait
        // against its own deadline. (Replicas that are down are waited for below.)
        if !states.contains(&ServerState::Down) {
            progress.during(
                "TigerBeetle's first answer after the resume",
                supervisor::START_TIMEOUT,
                || observer.wait_answering(probe_ledger, supervisor::START_TIMEOUT),
            )?;
        }
    }
    if states.contains(&ServerState::Down) {
        progress.during("TigerBeetle to restart", supervisor::START_TIMEOUT, || {
            server.start()
        })?;
        // The observer's client backed off while the server was away: a new one answers
        // as soon as the server does. Listening is not answering yet (the restarted
        // server replays its log first): wait, bounded, for its first answer, so that the
        // stores read after the heal are read from a server that answers.
        observer.renew()?;
        progress.during(
            "TigerBeetle's first answer after the restart",
            supervisor::START_TIMEOUT,
            || observer.wait_answering(probe_ledger, supervisor::START_TIMEOUT),
        )?;
        notes.push(
            "TigerBeetle restarted from its data file; each lane's application reads through a new client",
        );
    }
    Ok(notes)
}
