//! What the test modules share: the binary under test, the one run slot that keeps the
//! heavy tests apart, the time bounds of a run, the `play` invocation, a screen's columns,
//! and how to find the processes and data files a run may have left behind.

pub mod terminal;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The `cabaret` binary that Cargo built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_cabaret");

/// Bounds a run's start (TigerBeetle formats and starts, then one worker per lane).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Bounds one move of a run, and a quit (stopping TigerBeetle, deleting its data file).
pub const MOVE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a wait sleeps before it looks again.
pub const POLL: Duration = Duration::from_millis(100);
/// How often a wait for a process to end looks again.
const PROCESS_POLL: Duration = Duration::from_millis(20);

/// The one slot for heavy tests, for the whole crate. A test that starts a TigerBeetle,
/// its own or through the binary (about 1.5 GB and 3 s each, plus a worker per lane),
/// takes it first and holds it to its end: at most one such test runs at a time, beside
/// tests that start none (bad input, SQLite alone, the picker, the layering scan). When
/// the tests were five crates, the two TUI crates held a slot each and the three others
/// none, so a crate could run as many heavy tests at once as it had test threads. One at
/// a time keeps the timed bounds (a paused server answering within its timeout, a TUI
/// settling) far from the load of a 2-core machine.
static RUN_SLOT: Mutex<()> = Mutex::new(());

/// Takes the run slot. A test that failed while holding it does not block the others.
pub fn run_slot() -> MutexGuard<'static, ()> {
    RUN_SLOT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Bytes a process wrote, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A file of the project, by its path from the project's root.
pub fn project_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Runs the binary with `arguments` and no input, to its end.
pub fn cabaret(arguments: &[&str]) -> Output {
    Command::new(BINARY)
        .args(arguments)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// `cabaret play OPTIONS… FILE… --data-dir DATA_DIR`, with no input, not yet started.
pub fn play_command(options: &[&str], files: &[impl AsRef<Path>], data_dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .arg("play")
        .args(options)
        .args(files.iter().map(AsRef::as_ref))
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::null());
    command
}

/// Plays `files` (see `play_command`) to the end.
pub fn play(options: &[&str], files: &[impl AsRef<Path>], data_dir: &Path) -> Output {
    play_command(options, files, data_dir)
        .output()
        .expect("the binary runs")
}

/// The text of the columns `first..first + width` of every row: one lane's panel.
pub fn columns(screen: &str, first: usize, width: usize) -> String {
    screen
        .lines()
        .map(|line| line.chars().skip(first).take(width).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A process found by its command line.
#[derive(Debug)]
pub struct Process {
    pub pid: u32,
    pub command_line: String,
}

/// The processes whose command line names `path`: TigerBeetle names its data file, a
/// worker its lane's folder, the TUI and `play` their data directory.
pub fn processes_mentioning(path: &Path) -> Vec<Process> {
    let marker = path.to_string_lossy().into_owned();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        let Ok(command_line) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let command_line = String::from_utf8_lossy(&command_line).replace('\0', " ");
        if command_line.contains(&marker) {
            found.push(Process { pid, command_line });
        }
    }
    found
}

/// Waits up to `timeout` for every process of `pids` to be gone; returns those still
/// there at the end (none, when all went in time).
pub fn wait_until_gone(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let deadline = Instant::now() + timeout;
    loop {
        let alive: Vec<u32> = pids
            .iter()
            .copied()
            .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
            .collect();
        if alive.is_empty() || Instant::now() >= deadline {
            return alive;
        }
        std::thread::sleep(PROCESS_POLL);
    }
}

/// Every TigerBeetle data file under `directory` (those of a run, and those moved aside
/// to be deleted).
pub fn tigerbeetle_data_files(directory: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    for _directory_index in 0..10_000 {
        let Some(directory) = pending.pop() else {
            break;
        };
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "tigerbeetle")
            {
                found.push(path);
            }
        }
    }
    found
}

/// Checks that nothing of the run kept in `data` is left: no process names it (waiting
/// up to `MOVE_TIMEOUT`, since data files are deleted by a process of their own after a
/// run ends), and no TigerBeetle data file is under it.
pub fn assert_no_run_left(data: &Path) {
    let deadline = Instant::now() + MOVE_TIMEOUT;
    while !processes_mentioning(data).is_empty() && Instant::now() < deadline {
        std::thread::sleep(POLL);
    }
    let processes = processes_mentioning(data);
    assert!(processes.is_empty(), "processes left: {processes:?}");
    let files = tigerbeetle_data_files(data);
    assert!(files.is_empty(), "TigerBeetle data files left: {files:?}");
}
