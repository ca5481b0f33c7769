//! Where a run keeps its files: the one place that names them. A data folder holds the
//! program's log and one folder per run; a run's folder holds its manifest, its
//! transcript, TigerBeetle's files and one folder per lane.
//!
//! ```text
//! <data-dir>/cabaret.log                    the program's log (and the C client's warnings)
//! <data-dir>/.deleting-<pid>-<n>.tigerbeetle a data file being deleted in the background
//! <data-dir>/<run>/run.json                 the manifest `cabaret check` reads
//! <data-dir>/<run>/transcript.txt           the TUI's transcript of the run
//! <data-dir>/<run>/history.jsonl             the lab's history: ids drawn, operations, results
//! <data-dir>/<run>/record/                  TigerBeetle: data files, pid files, server.log
//! <data-dir>/<run>/lanes/<lane>/reference/reference.sqlite   the lane's reference store
//! <data-dir>/<run>/lanes/<lane>/journal.sqlite               the durable lanes' journal
//! <data-dir>/<run>/lanes/<lane>/worker.log, worker-<n>.pid   the lane's worker processes
//! ```

use crate::domain::lane::Lane;
use crate::domain::scenario::Scenario;
use crate::stores::supervisor;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The data folder: every run's folder, and the program's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The program's log: tracing output and the TigerBeetle client's warnings.
    pub fn log(&self) -> PathBuf {
        self.root.join("cabaret.log")
    }

    /// The folder of a scenario's run (named after the scenario's file).
    pub fn run_for(&self, scenario: &Scenario) -> RunLayout {
        self.run_named(&scenario.slug())
    }

    /// The folder of a run named `name` (`explore`, `storm`).
    pub fn run_named(&self, name: &str) -> RunLayout {
        RunLayout::new(self.root.join(name))
    }

    /// Where a data file is moved to be deleted by a process of its own: the name
    /// carries the owner's pid, so a later session knows an abandoned one.
    pub fn trash_file(&self, owner_pid: u32, count: u64) -> PathBuf {
        self.root.join(format!(
            "{TRASH_PREFIX}{owner_pid}-{count}.{DATA_FILE_EXTENSION}"
        ))
    }

    /// The data files that an earlier session moved aside to delete, with the pid of the
    /// session that did.
    pub fn trash_files(&self) -> Vec<(PathBuf, Option<u32>)> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let rest = name.strip_prefix(TRASH_PREFIX)?;
                let owner = rest.split('-').next().and_then(|pid| pid.parse().ok());
                Some((entry.path(), owner))
            })
            .collect()
    }
}

const TRASH_PREFIX: &str = ".deleting-";
/// The extension of TigerBeetle's data files.
pub const DATA_FILE_EXTENSION: &str = "tigerbeetle";

/// One run's folder.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunLayout {
    root: PathBuf,
}

impl RunLayout {
    pub fn new(root: impl Into<PathBuf>) -> RunLayout {
        RunLayout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The manifest `cabaret check` reads: the run's title and each lane's ledger.
    pub fn manifest(&self) -> PathBuf {
        self.root.join("run.json")
    }

    /// The TUI's transcript of the run.
    pub fn transcript(&self) -> PathBuf {
        self.root.join("transcript.txt")
    }

    /// The lab's history of the run (`engine/history.rs`): one JSON object a line.
    pub fn history(&self) -> PathBuf {
        self.root.join("history.jsonl")
    }

    /// TigerBeetle's folder: data files, pid files and the server's log.
    pub fn record_dir(&self) -> PathBuf {
        self.root.join("record")
    }

    /// The data file of replica `replica_index`.
    pub fn replica_data_file(&self, replica_index: usize) -> PathBuf {
        self.record_dir()
            .join(supervisor::data_file_name(replica_index))
    }

    /// The pid file of replica `replica_index`.
    pub fn replica_pid_file(&self, replica_index: usize) -> PathBuf {
        self.record_dir()
            .join(supervisor::pid_file_name(replica_index))
    }

    /// The files of `lane` in this run.
    pub fn lane(&self, lane: Lane) -> LaneFiles {
        LaneFiles {
            directory: self.root.join("lanes").join(lane.name()),
        }
    }

    /// A run kept inside this one's folder (explore's cases).
    pub fn nested(&self, name: &str) -> RunLayout {
        RunLayout::new(self.root.join(name))
    }

    /// Ends what an earlier run in this folder left running (workers, TigerBeetle) and
    /// empties the folder: every run starts from fresh stores.
    pub fn reset(&self) -> std::io::Result<()> {
        self.sweep_processes();
        if self.root.exists() {
            std::fs::remove_dir_all(&self.root)?;
        }
        std::fs::create_dir_all(&self.root)
    }

    /// Ends the workers and TigerBeetle servers that an earlier run in this folder left
    /// behind, by their pid files.
    pub fn sweep_processes(&self) {
        for lane in Lane::ALL {
            self.lane(lane).sweep_workers();
        }
        for replica_index in 0..supervisor::REPLICA_COUNT_MAX {
            crate::stores::process::sweep_pid_file(
                &self.replica_pid_file(replica_index),
                "tigerbeetle",
            );
        }
    }

    pub fn write_manifest(&self, manifest: &Manifest) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(manifest).map_err(std::io::Error::other)?;
        std::fs::write(self.manifest(), text)
    }

    pub fn read_manifest(&self) -> Result<Manifest, String> {
        let path = self.manifest();
        let text = std::fs::read_to_string(&path).map_err(|error| {
            format!(
                "{}: {error} (is this a run's data directory?)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))
    }
}

/// The manifest a run writes into its folder (`run.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub title: String,
    pub lanes: Vec<(Lane, u32)>,
}

/// One lane's files in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneFiles {
    directory: PathBuf,
}

impl LaneFiles {
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The reference store's folder: a folder of its own, so that making SQLite read-only
    /// leaves the durable lane's journal (its own system) untouched.
    pub fn reference_dir(&self) -> PathBuf {
        self.directory.join("reference")
    }

    pub fn reference(&self) -> PathBuf {
        self.reference_dir().join("reference.sqlite")
    }

    /// The durable lanes' journal, beside (not inside) the reference store's folder.
    pub fn journal(&self) -> PathBuf {
        self.directory.join("journal.sqlite")
    }

    /// The lane's workers' log (their stderr, with the C client's warnings).
    pub fn worker_log(&self) -> PathBuf {
        self.directory.join("worker.log")
    }

    /// The pid file of the lane's worker number `incarnation`.
    pub fn worker_pid_file(&self, incarnation: u32) -> PathBuf {
        self.directory
            .join(format!("{WORKER_PID_PREFIX}{incarnation}.pid"))
    }

    /// Kills workers of an earlier run that outlived their controller.
    pub fn sweep_workers(&self) {
        let Ok(entries) = std::fs::read_dir(&self.directory) else {
            return;
        };
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(WORKER_PID_PREFIX)
            {
                crate::stores::process::sweep_pid_file(&entry.path(), "worker");
            }
        }
    }
}

const WORKER_PID_PREFIX: &str = "worker-";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_of_a_run_is_inside_its_folder() {
        let run = DataDir::new("/data").run_named("02-crash");
        let lane = run.lane(Lane::Durable);
        for path in [
            run.manifest(),
            run.transcript(),
            run.replica_data_file(2),
            run.replica_pid_file(0),
            lane.reference(),
            lane.journal(),
            lane.worker_log(),
            lane.worker_pid_file(3),
        ] {
            assert!(path.starts_with("/data/02-crash"), "{}", path.display());
        }
        assert_eq!(
            lane.reference(),
            Path::new("/data/02-crash/lanes/durable/reference/reference.sqlite")
        );
        assert!(!lane.journal().starts_with(lane.reference_dir()));
        assert_eq!(
            run.replica_data_file(0),
            Path::new("/data/02-crash/record/0_0.tigerbeetle")
        );
    }

    #[test]
    fn trash_files_carry_their_owner() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let data_dir = DataDir::new(folder.path());
        let trash = data_dir.trash_file(4242, 7);
        std::fs::write(&trash, b"").expect("a trash file");
        std::fs::write(folder.path().join("keep.txt"), b"").expect("another file");
        assert_eq!(data_dir.trash_files(), vec![(trash, Some(4242))]);
    }
}
