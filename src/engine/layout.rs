//! Where a run keeps its files: the one place that names them. A data folder holds the
//! program's log and one folder per run; a run's folder holds its manifest, its
//! transcript, TigerBeetle's files and one folder per lane.
//!
//! ```text
//! <data-dir>/cabaret.log                    the program's log (and the C client's warnings)
//! <data-dir>/.cabaret.lock                  one run per data folder (flock), holder's pid
//! <data-dir>/<run>/.cabaret-run             the marker: this folder is a run of cabaret
//! <data-dir>/.deleting-<pid>-<n>.tigerbeetle a data file being deleted in the background
//! <data-dir>/<run>/run.json                 the manifest `cabaret check` reads
//! <data-dir>/<run>/transcript.txt           the TUI's transcript of the run
//! <data-dir>/<run>/history.jsonl             the lab's history: ids drawn, operations, results
//! <data-dir>/<run>/record/                  TigerBeetle: data files, pid files, server.log
//! <data-dir>/<run>/lanes/<lane>/reference/reference.sqlite   the lane's reference store
//! <data-dir>/<run>/lanes/<lane>/journal.sqlite               the durable lanes' journal
//! <data-dir>/<run>/lanes/<lane>/worker.log, worker-<n>.pid   the lane's worker processes
//! <data-dir>/bench/raw.sqlite               `cabaret bench`: raw SQLite inserts
//! ```
//!
//! Nothing else is ever deleted: a run's folder is emptied only if it carries the marker
//! (or is empty) and lies below the data folder, checked on the canonical paths.

use crate::domain::lane::Lane;
use crate::domain::scenario::Scenario;
use crate::stores::{disk, process, supervisor};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The file that marks a folder as a run of this program; it holds the run's state.
pub(crate) const RUN_MARKER: &str = ".cabaret-run";
/// The data folder's lock file (an flock, released by the kernel when its holder dies).
const LOCK_FILE: &str = ".cabaret.lock";
/// A bound on the length of a run folder's name, in bytes.
const RUN_NAME_BYTES_MAX: usize = 100;
/// The longest path SQLite opens (`MAX_PATHNAME` of its unix VFS), in bytes.
const SQLITE_PATH_BYTES_MAX: usize = 512;
/// What SQLite appends to a database's path for its side files (`-journal`, `-wal`).
const SQLITE_SUFFIX_BYTES_MAX: usize = "-journal".len();
/// How deep below a run's folder its data files may lie (explore keeps cases nested).
const DATA_FILE_DEPTH_MAX: usize = 4;

/// Why a run's folder or the data folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error(
        "{file}: the file's name gives no name for its run folder (rename it, for example to scenario.toml)"
    )]
    NoRunName { file: PathBuf },
    #[error(
        "{path} is in the way: no run of cabaret made it ({RUN_MARKER} is missing), so nothing in it is touched; move it away or pick another --data-dir"
    )]
    NotOurs { path: PathBuf },
    #[error("{path} is not below the data folder {data_dir}: nothing in it is touched")]
    Outside { path: PathBuf, data_dir: PathBuf },
    #[error(
        "the data folder {path} is in use by another cabaret run (pid {pid}): wait for it to end, or pick another --data-dir"
    )]
    InUse { path: PathBuf, pid: String },
    #[error("the data folder {path} is not writable: {source}")]
    NotWritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the data folder's path is too long for SQLite: {path} has {length} bytes, SQLite opens at most {SQLITE_PATH_BYTES_MAX}; pick a shorter --data-dir"
    )]
    PathTooLong { path: PathBuf, length: usize },
    #[error("the disk holding {path} is full ({free} free): the run stops here")]
    DiskFull { path: PathBuf, free: String },
    #[error("{failure} (the log is {path}): the run stops here")]
    LogFailed { failure: String, path: PathBuf },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LayoutError {
    /// Whether the error is about the user's input (a file name, a folder in the way):
    /// exit 2, nothing started.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            LayoutError::NoRunName { .. }
                | LayoutError::NotOurs { .. }
                | LayoutError::Outside { .. }
                | LayoutError::PathTooLong { .. }
        )
    }
}

fn layout_io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LayoutError {
    let path = path.to_path_buf();
    move |source| LayoutError::Io {
        action,
        path,
        source,
    }
}

/// A run folder's name from a scenario file's stem: letters, digits, `-`, `_` and `.`
/// are kept, anything else (separators, control characters, blanks) becomes `_`, and
/// leading dots are dropped, so no `.`, `..`, hidden or empty name can come out. `None`
/// when nothing is left.
pub(crate) fn run_name(stem: &str) -> Option<String> {
    let mapped: String = stem
        .chars()
        .map(|character| {
            if character.is_alphanumeric() || matches!(character, '-' | '_' | '.') {
                character
            } else {
                '_'
            }
        })
        .collect();
    let mut name = mapped.trim_start_matches('.').to_string();
    while name.len() > RUN_NAME_BYTES_MAX {
        name.pop();
    }
    (!name.is_empty()).then_some(name)
}

/// What a run's marker says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Running in process `pid` (or killed there, if no process holds the data folder).
    Running { pid: u32 },
    /// Ended, and its data files removed.
    Finished,
    /// Ended with its data files kept (`--keep-data`).
    Kept,
}

impl RunState {
    fn text(&self) -> String {
        match self {
            RunState::Running { pid } => format!("running {pid}\n"),
            RunState::Finished => "finished\n".to_string(),
            RunState::Kept => "kept\n".to_string(),
        }
    }

    fn parse(text: &str) -> Option<RunState> {
        let mut words = text.split_whitespace();
        match (words.next()?, words.next()) {
            ("running", Some(pid)) => pid.parse().ok().map(|pid| RunState::Running { pid }),
            ("finished", None) => Some(RunState::Finished),
            ("kept", None) => Some(RunState::Kept),
            _ => None,
        }
    }
}

/// The data folder's lock, held for the program's life (the kernel drops it on death).
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

/// What the start of a program found and removed of runs that were killed.
#[derive(Debug, Default)]
pub(crate) struct Swept {
    pub(crate) folders: Vec<PathBuf>,
    pub(crate) bytes: u64,
}

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

    /// The folder of a scenario's run, named after the scenario's file (see [`run_name`]).
    pub fn run_for(&self, scenario: &Scenario) -> Result<RunLayout, LayoutError> {
        let name = run_name(&scenario.slug()).ok_or_else(|| LayoutError::NoRunName {
            file: scenario.path.clone(),
        })?;
        Ok(self.run_named(&name))
    }

    /// The folder of a run named `name` (`explore`, `storm`).
    pub fn run_named(&self, name: &str) -> RunLayout {
        RunLayout {
            root: self.root.join(name),
            data_root: self.root.clone(),
        }
    }

    /// Takes the data folder for this process: creates it, checks that it is writable,
    /// and takes its lock, or says which process holds it. Nothing is touched otherwise.
    pub(crate) fn lock(&self) -> Result<DataDirLock, LayoutError> {
        let root = &self.root;
        std::fs::create_dir_all(root).map_err(|source| not_writable(root, source))?;
        let probe = root.join(format!(".cabaret-probe-{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(|source| not_writable(root, source))?;
        let _ = std::fs::remove_file(&probe);
        let path = root.join(LOCK_FILE);
        let mut file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| not_writable(root, source))?;
        if !process::try_lock_exclusive(&file).map_err(layout_io("locking", &path))? {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let pid = holder.trim();
            return Err(LayoutError::InUse {
                path: root.clone(),
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid.into()
                },
            });
        }
        file.set_len(0)
            .and_then(|()| write!(file, "{}", std::process::id()))
            .map_err(layout_io("writing", &path))?;
        Ok(DataDirLock { _file: file })
    }

    /// Removes what runs killed before they could clean up left behind: the data files of
    /// every run whose marker still says running (the lock proves its process is gone),
    /// and data files moved aside for deletion by a session that is gone. Call it with
    /// the lock held.
    pub(crate) fn sweep_killed_runs(&self) -> Swept {
        let mut swept = Swept::default();
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return swept;
        };
        for entry in entries.flatten() {
            let layout = self.run_named(&entry.file_name().to_string_lossy());
            if !matches!(layout.state(), Some(RunState::Running { .. })) {
                continue;
            }
            layout.sweep_processes();
            let bytes = layout.remove_data_files();
            let _ = layout.mark(&RunState::Finished);
            if bytes > 0 {
                swept.folders.push(layout.root.clone());
                swept.bytes += bytes;
            }
        }
        for (file, owner) in self.trash_files() {
            if owner.is_some_and(|pid| pid != std::process::id() && !process::is_alive(pid)) {
                let bytes = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
                if std::fs::remove_file(&file).is_ok() {
                    swept.bytes += bytes;
                }
            }
        }
        swept
    }

    /// The runs this process is running now (their markers name its pid).
    pub(crate) fn own_running_runs(&self) -> Vec<RunLayout> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let own = RunState::Running {
            pid: std::process::id(),
        };
        entries
            .flatten()
            .map(|entry| self.run_named(&entry.file_name().to_string_lossy()))
            .filter(|layout| layout.state().as_ref() == Some(&own))
            .collect()
    }

    /// Where a data file is moved to be deleted by a process of its own: the name
    /// carries the owner's pid, so a later session knows an abandoned one.
    pub(crate) fn trash_file(&self, owner_pid: u32, count: u64) -> PathBuf {
        self.root.join(format!(
            "{TRASH_PREFIX}{owner_pid}-{count}.{DATA_FILE_EXTENSION}"
        ))
    }

    /// The data files that an earlier session moved aside to delete, with the pid of the
    /// session that did.
    pub(crate) fn trash_files(&self) -> Vec<(PathBuf, Option<u32>)> {
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
pub(crate) const DATA_FILE_EXTENSION: &str = "tigerbeetle";

fn not_writable(path: &Path, source: std::io::Error) -> LayoutError {
    LayoutError::NotWritable {
        path: path.to_path_buf(),
        source,
    }
}

/// One run's folder, and the data folder it lies in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunLayout {
    root: PathBuf,
    data_root: PathBuf,
}

impl RunLayout {
    /// A run's folder on its own (`check`): its data folder is its parent.
    pub(crate) fn new(root: impl Into<PathBuf>) -> RunLayout {
        let root = root.into();
        let data_root = root
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.clone());
        RunLayout { root, data_root }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The manifest `cabaret check` reads: the run's title and each lane's ledger.
    pub(crate) fn manifest(&self) -> PathBuf {
        self.root.join("run.json")
    }

    /// The TUI's transcript of the run.
    pub(crate) fn transcript(&self) -> PathBuf {
        self.root.join("transcript.txt")
    }

    /// The lab's history of the run (`engine/history.rs`): one JSON object a line.
    pub(crate) fn history(&self) -> PathBuf {
        self.root.join("history.jsonl")
    }

    /// TigerBeetle's folder: data files, pid files and the server's log.
    pub(crate) fn record_dir(&self) -> PathBuf {
        self.root.join("record")
    }

    /// The data file of replica `replica_index`.
    pub(crate) fn replica_data_file(&self, replica_index: usize) -> PathBuf {
        self.record_dir()
            .join(supervisor::data_file_name(replica_index))
    }

    /// The pid file of replica `replica_index`.
    pub(crate) fn replica_pid_file(&self, replica_index: usize) -> PathBuf {
        self.record_dir()
            .join(supervisor::pid_file_name(replica_index))
    }

    /// The files of `lane` in this run.
    pub(crate) fn lane(&self, lane: Lane) -> LaneFiles {
        LaneFiles {
            directory: self.root.join("lanes").join(lane.name()),
        }
    }

    /// A SQLite file of the bench's own, for raw inserts (no lane's).
    pub(crate) fn raw_sqlite(&self) -> PathBuf {
        self.root.join("raw.sqlite")
    }

    /// A run kept inside this one's folder (explore's cases).
    pub(crate) fn nested(&self, name: &str) -> RunLayout {
        RunLayout {
            root: self.root.join(name),
            data_root: self.data_root.clone(),
        }
    }

    /// Whether this folder may be emptied: it does not exist, or it is a real folder
    /// (not a link) strictly below the data folder, and either empty or marked as a run.
    pub fn check_ours(&self) -> Result<(), LayoutError> {
        let Ok(metadata) = std::fs::symlink_metadata(&self.root) else {
            return Ok(());
        };
        let not_ours = || LayoutError::NotOurs {
            path: self.root.clone(),
        };
        if !metadata.is_dir() {
            return Err(not_ours());
        }
        let canonical = self
            .root
            .canonicalize()
            .map_err(layout_io("resolving", &self.root))?;
        let data_root = self
            .data_root
            .canonicalize()
            .map_err(layout_io("resolving", &self.data_root))?;
        if canonical == data_root || !canonical.starts_with(&data_root) {
            return Err(LayoutError::Outside {
                path: self.root.clone(),
                data_dir: self.data_root.clone(),
            });
        }
        let empty = std::fs::read_dir(&self.root)
            .map_err(layout_io("reading", &self.root))?
            .next()
            .is_none();
        let marked = std::fs::symlink_metadata(self.marker()).is_ok_and(|marker| marker.is_file());
        if empty || marked {
            Ok(())
        } else {
            Err(not_ours())
        }
    }

    /// Whether SQLite can open every store of the run: the longest path (a lane's
    /// reference store, with SQLite's suffix) fits its limit.
    pub fn check_paths(&self) -> Result<(), LayoutError> {
        let longest = Lane::ALL
            .iter()
            .max_by_key(|lane| lane.name().len())
            .map(|lane| self.lane(*lane).reference())
            .unwrap_or_else(|| self.root.clone());
        let absolute = std::path::absolute(&longest).unwrap_or(longest);
        let length = absolute.as_os_str().len() + SQLITE_SUFFIX_BYTES_MAX;
        if length > SQLITE_PATH_BYTES_MAX {
            return Err(LayoutError::PathTooLong {
                path: absolute,
                length,
            });
        }
        Ok(())
    }

    /// Ends what an earlier run in this folder left running (workers, TigerBeetle) and
    /// empties the folder: every run starts from fresh stores. Only a folder that
    /// [`Self::check_ours`] allows is emptied; the new one is marked as running here.
    pub(crate) fn reset(&self) -> Result<(), LayoutError> {
        self.check_paths()?;
        self.check_ours()?;
        self.sweep_processes();
        if self.root.exists() {
            std::fs::remove_dir_all(&self.root).map_err(layout_io("emptying", &self.root))?;
        }
        std::fs::create_dir_all(&self.root).map_err(layout_io("creating", &self.root))?;
        self.mark(&RunState::Running {
            pid: std::process::id(),
        })
        .map_err(layout_io("marking", &self.root))
    }

    /// The marker that makes this folder a run of cabaret.
    pub(crate) fn marker(&self) -> PathBuf {
        self.root.join(RUN_MARKER)
    }

    /// Writes the run's state into its marker.
    pub(crate) fn mark(&self, state: &RunState) -> std::io::Result<()> {
        std::fs::write(self.marker(), state.text())
    }

    /// The run's state, if the folder carries a marker.
    pub(crate) fn state(&self) -> Option<RunState> {
        let text = std::fs::read_to_string(self.marker()).ok()?;
        RunState::parse(&text)
    }

    /// Deletes every TigerBeetle data file of the run (nested runs included); returns
    /// the bytes freed.
    pub(crate) fn remove_data_files(&self) -> u64 {
        let mut freed = 0;
        let mut pending = vec![(self.root.clone(), 0)];
        while let Some((folder, depth)) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                let path = entry.path();
                if kind.is_dir() && depth < DATA_FILE_DEPTH_MAX {
                    pending.push((path, depth + 1));
                } else if kind.is_file()
                    && path
                        .extension()
                        .is_some_and(|extension| extension == DATA_FILE_EXTENSION)
                {
                    let bytes = entry.metadata().map(|metadata| metadata.len()).unwrap_or(0);
                    if std::fs::remove_file(&path).is_ok() {
                        freed += bytes;
                    }
                }
            }
        }
        freed
    }

    /// Ends the run's record: its data files are removed unless `keep_data`, and the
    /// marker says so.
    pub(crate) fn finish(&self, keep_data: bool) -> std::io::Result<()> {
        if keep_data {
            return self.mark(&RunState::Kept);
        }
        self.remove_data_files();
        self.mark(&RunState::Finished)
    }

    /// Whether the run may go on writing: the log has not failed, and the disk holding
    /// the folder has room left.
    pub(crate) fn check_room(&self) -> Result<(), LayoutError> {
        if let Some(failure) = disk::log_failure() {
            return Err(LayoutError::LogFailed {
                failure,
                path: self.data_root.join("cabaret.log"),
            });
        }
        let full = |free: String| LayoutError::DiskFull {
            path: self.root.clone(),
            free,
        };
        if let Ok(free) = disk::free_bytes(&self.root) {
            if free < disk::FREE_BYTES_MIN {
                return Err(full(disk::human_bytes(free)));
            }
        }
        if let Ok(Some(inodes)) = disk::free_inodes(&self.root) {
            if inodes < disk::FREE_INODES_MIN {
                return Err(full(format!("{inodes} inodes")));
            }
        }
        Ok(())
    }

    /// Ends the workers and TigerBeetle servers that an earlier run in this folder left
    /// behind, by their pid files.
    pub(crate) fn sweep_processes(&self) {
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

    pub(crate) fn write_manifest(&self, manifest: &Manifest) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(manifest).map_err(std::io::Error::other)?;
        std::fs::write(self.manifest(), text)
    }

    pub(crate) fn read_manifest(&self) -> Result<Manifest, String> {
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
pub(crate) struct Manifest {
    pub(crate) title: String,
    pub(crate) lanes: Vec<(Lane, u32)>,
}

/// One lane's files in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LaneFiles {
    directory: PathBuf,
}

impl LaneFiles {
    pub(crate) fn directory(&self) -> &Path {
        &self.directory
    }

    /// The reference store's folder: a folder of its own, so that making SQLite read-only
    /// leaves the durable lane's journal (its own system) untouched.
    pub(crate) fn reference_dir(&self) -> PathBuf {
        self.directory.join("reference")
    }

    pub(crate) fn reference(&self) -> PathBuf {
        self.reference_dir().join("reference.sqlite")
    }

    /// The durable lanes' journal, beside (not inside) the reference store's folder.
    pub(crate) fn journal(&self) -> PathBuf {
        self.directory.join("journal.sqlite")
    }

    /// The lane's workers' log (their stderr, with the C client's warnings).
    pub(crate) fn worker_log(&self) -> PathBuf {
        self.directory.join("worker.log")
    }

    /// The pid file of the lane's worker number `incarnation`.
    pub(crate) fn worker_pid_file(&self, incarnation: u32) -> PathBuf {
        self.directory
            .join(format!("{WORKER_PID_PREFIX}{incarnation}.pid"))
    }

    /// The pid file of the lane's reader (swept with the workers').
    pub(crate) fn reader_pid_file(&self) -> PathBuf {
        self.directory
            .join(format!("{WORKER_PID_PREFIX}reader.pid"))
    }

    /// Kills workers of an earlier run that outlived their controller.
    pub(crate) fn sweep_workers(&self) {
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
    fn run_names_never_escape_the_data_folder() {
        assert_eq!(
            run_name("02-crash-between-writes").as_deref(),
            Some("02-crash-between-writes")
        );
        for stem in ["", ".", "..", "...", "\u{0}"] {
            assert_ne!(run_name(stem).as_deref(), Some("."), "{stem:?}");
        }
        assert_eq!(run_name(".."), None);
        assert_eq!(run_name("."), None);
        assert_eq!(run_name(""), None);
        assert_eq!(run_name("..hidden").as_deref(), Some("hidden"));
        assert_eq!(run_name("a/b\u{1b}[2J c").as_deref(), Some("a_b__2J_c"));
        assert_eq!(run_name("..\u{0}").as_deref(), Some("_"));
        assert!(run_name(&"x".repeat(500)).is_some_and(|name| name.len() <= RUN_NAME_BYTES_MAX));
    }

    #[test]
    fn only_an_empty_or_marked_folder_below_the_data_folder_is_emptied() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let data_dir = DataDir::new(folder.path().join("data"));
        std::fs::create_dir_all(data_dir.root()).expect("the data folder");
        let run = data_dir.run_named("run");
        run.reset().expect("a new folder is ours");
        assert_eq!(
            run.state(),
            Some(RunState::Running {
                pid: std::process::id()
            })
        );
        std::fs::write(run.root().join("file"), b"").expect("a file of the run");
        run.reset().expect("a marked folder is ours");
        assert!(!run.root().join("file").exists());

        let theirs = data_dir.run_named("theirs");
        std::fs::create_dir_all(theirs.root()).expect("a folder");
        std::fs::write(theirs.root().join("precious"), b"").expect("a file");
        assert!(matches!(theirs.reset(), Err(LayoutError::NotOurs { .. })));
        assert!(theirs.root().join("precious").exists());

        let link = data_dir.run_named("link");
        std::os::unix::fs::symlink(theirs.root(), link.root()).expect("a link");
        assert!(matches!(link.reset(), Err(LayoutError::NotOurs { .. })));
        assert!(theirs.root().join("precious").exists());

        let parent = data_dir.run_named("..");
        std::fs::write(parent.root().join(RUN_MARKER), b"finished\n").expect("a marker");
        assert!(matches!(parent.reset(), Err(LayoutError::Outside { .. })));
    }

    #[test]
    fn a_killed_run_is_swept_and_a_finished_one_is_not() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let data_dir = DataDir::new(folder.path());
        let killed = data_dir.run_named("killed");
        killed.reset().expect("a run folder");
        std::fs::create_dir_all(killed.record_dir()).expect("its record folder");
        std::fs::write(killed.replica_data_file(0), vec![0; 1000]).expect("a data file");
        killed
            .mark(&RunState::Running { pid: u32::MAX })
            .expect("marked as a run that was killed");
        let kept = data_dir.run_named("kept");
        kept.reset().expect("a run folder");
        std::fs::create_dir_all(kept.record_dir()).expect("its record folder");
        std::fs::write(kept.replica_data_file(0), vec![0; 10]).expect("a data file");
        kept.finish(true).expect("kept");
        let swept = data_dir.sweep_killed_runs();
        assert_eq!(swept.bytes, 1000);
        assert_eq!(swept.folders, vec![killed.root().to_path_buf()]);
        assert!(!killed.replica_data_file(0).exists());
        assert!(kept.replica_data_file(0).exists());
        assert_eq!(killed.state(), Some(RunState::Finished));
    }

    #[test]
    fn a_second_lock_on_one_data_folder_names_the_holder() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let data_dir = DataDir::new(folder.path());
        let _held = data_dir.lock().expect("the first lock");
        match data_dir.lock() {
            Err(LayoutError::InUse { pid, .. }) => assert_eq!(pid, std::process::id().to_string()),
            other => panic!("expected in use, got {other:?}"),
        }
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
