//! Nothing lost that isn't ours: through the real binary, on the real stores. A run
//! deletes only what it made, says a full disk out loud, leaves no TigerBeetle data file
//! on any way out, owns and bounds every child, never gives a clean bill on partial data,
//! keeps one run per data folder, and holds `record-in-flight` only with the request on
//! the wire.

use crate::support::{processes_mentioning, text, tigerbeetle_data_files};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_cabaret");
/// A bound on any one run of the binary in these tests.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a signalled run may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the processes of a run that ended may take to be gone.
const GONE_TIMEOUT: Duration = Duration::from_secs(5);

/// One lane, one create, then a long wait: signals land during the wait.
const WAITING_SCENARIO: &str = r#"
title = "A long wait (test)"
summary = "A create, then a wait for signals to land in."
seed = 3
lanes = ["write-last-read-first"]

[[step]]
do = "create"
user = "alice"
narration = "Alice signs up."

[[step]]
do = "wait"
seconds = 20
narration = "A wait."
"#;

const HAPPY_SCENARIO: &str = r#"
title = "Happy (test)"
summary = "One create."
seed = 1
lanes = ["write-last-read-first"]

[[step]]
do = "create"
user = "alice"
narration = "Alice signs up."

[step.expect.write-last-read-first]
answer = "exists"
"#;

/// A worker crashed with its request on the wire while TigerBeetle is paused: the
/// request lands once TigerBeetle resumes, so record-first holds an untraceable account.
const IN_FLIGHT_SCENARIO: &str = r#"
title = "In flight while TigerBeetle is paused (test)"
summary = "A crash with the request on the wire."
seed = 9
lanes = ["record-first"]

[[step]]
do = "fail"
store = "tigerbeetle"
how = "pause"
narration = "TigerBeetle is paused."

[[step]]
do = "create"
user = "alice"
crash = "record-in-flight"
narration = "The worker dies with the request on the wire."

[[step]]
do = "heal"
store = "tigerbeetle"
narration = "TigerBeetle resumes."

[[step]]
do = "wait"
seconds = 1
narration = "The request lands."

[step.expect.record-first]
violations = ["untraceable-account"]
"#;

/// TigerBeetle paused while a create waits on it: the controller waits for reports.
const PAUSED_CREATE_SCENARIO: &str = r#"
title = "A create while TigerBeetle is paused (test)"
summary = "The controller waits for the workers' reports."
seed = 5
lanes = ["record-first", "write-last-read-first"]

[[step]]
do = "fail"
store = "tigerbeetle"
how = "pause"
narration = "TigerBeetle is paused."

[[step]]
do = "create"
user = "alice"
narration = "Alice signs up; TigerBeetle does not answer."

[step.expect.write-last-read-first]
outcome = "unknown"
answer = "unknown"

[[step]]
do = "heal"
store = "tigerbeetle"
narration = "TigerBeetle resumes."

[step.expect.write-last-read-first]
answer = "exists"
"#;

fn write_file(directory: &Path, name: &str, text: &str) -> PathBuf {
    let path = directory.join(name);
    std::fs::write(&path, text).expect("write a file");
    path
}

/// Runs the binary to its end, bounded by [`RUN_TIMEOUT`].
fn cabaret(arguments: &[&str], environment: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(BINARY);
    command
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in environment {
        command.env(name, value);
    }
    let child = command.spawn().expect("the binary starts");
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(RUN_TIMEOUT) {
        Ok(output) => output.expect("the binary's output"),
        Err(_) => {
            // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("cabaret {arguments:?} did not end within {RUN_TIMEOUT:?}");
        }
    }
}

fn exit_code(output: &Output) -> Option<i32> {
    output.status.code()
}

/// Starts `play` with stdout piped and waits until the transcript shows `marker`.
// The child is handed to the caller, who waits for it; on failure it is killed and reaped.
#[allow(clippy::zombie_processes)]
fn play_until(
    data_dir: &Path,
    scenario: &Path,
    marker: &str,
) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(BINARY)
        .arg("play")
        .arg("--data-dir")
        .arg(data_dir)
        .arg(scenario)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let deadline = Instant::now() + RUN_TIMEOUT;
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).expect("read the transcript");
        seen.push_str(&line);
        if line.contains(marker) {
            return (child, reader);
        }
        if read == 0 || Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run ended before `{marker}`: {seen}");
        }
    }
}

fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
}

fn wait_bounded(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the run") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the run did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        use std::io::Read;
        let _ = stderr.read_to_string(&mut text);
    }
    text
}

/// Waits until no process names `path` (TigerBeetle names its data file, workers their
/// lane's folder); panics with the ones left.
fn assert_no_process_left(path: &Path) {
    let deadline = Instant::now() + GONE_TIMEOUT;
    loop {
        let left = processes_mentioning(path);
        if left.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            for process in &left {
                // SAFETY: as above; these are the run's own leftovers, killed by pid.
                unsafe { libc::kill(process.pid as libc::pid_t, libc::SIGKILL) };
            }
            panic!("processes left behind: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A small filesystem for the full-disk tests: a tmpfs where the machine lets tests mount
/// one, else an ext2 image on a loop device; `None` (with the reason printed) where
/// neither is allowed.
struct SmallDisk {
    folder: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u64) -> Option<SmallDisk> {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let mount_point = folder.path().join("disk");
        std::fs::create_dir(&mount_point).expect("a mount point");
        let tmpfs = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&mount_point)
            .output();
        if tmpfs.as_ref().is_ok_and(|output| output.status.success()) {
            return Some(SmallDisk { folder });
        }
        let image = folder.path().join("disk.img");
        let made = Command::new("truncate")
            .arg(format!("-s{megabytes}M"))
            .arg(&image)
            .status()
            .is_ok_and(|status| status.success())
            && Command::new("mkfs.ext2")
                .args(["-q", "-F"])
                .arg(&image)
                .status()
                .is_ok_and(|status| status.success())
            && Command::new("mount")
                .args(["-o", "loop"])
                .arg(&image)
                .arg(&mount_point)
                .status()
                .is_ok_and(|status| status.success());
        if made {
            return Some(SmallDisk { folder });
        }
        let reason = tmpfs
            .map(|output| text(&output.stderr))
            .unwrap_or_else(|error| error.to_string());
        println!(
            "SKIPPED: this machine lets tests mount neither a tmpfs nor a loop device ({})",
            reason.trim()
        );
        None
    }

    fn path(&self) -> PathBuf {
        self.folder.path().join("disk")
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

/// Goal: a scenario file whose name gives no run-folder name (`...toml`, `..toml`)
/// deletes nothing: the files beside the data folder and inside it survive, and the run
/// exits 2 with one line naming the file. Method: a data folder `a/b` with a canary in
/// `a`, a sibling folder in `a`, and a file in `b`.
#[test]
fn dot_named_scenarios_delete_nothing_and_exit_2() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let parent = folder.path().join("a");
    let data_dir = parent.join("b");
    std::fs::create_dir_all(parent.join("sibling")).expect("folders");
    std::fs::create_dir_all(&data_dir).expect("the data folder");
    let survivors = [
        write_file(&parent, "canary.txt", "keep me"),
        write_file(&parent.join("sibling"), "precious.txt", "keep me"),
        write_file(&data_dir, "inside.txt", "keep me"),
    ];
    let scenarios = folder.path().join("scenarios");
    std::fs::create_dir(&scenarios).expect("a scenario folder");
    for name in ["...toml", "..toml"] {
        let scenario = write_file(&scenarios, name, HAPPY_SCENARIO);
        let output = cabaret(
            &[
                "play",
                "--data-dir",
                data_dir.to_str().expect("a path"),
                scenario.to_str().expect("a path"),
            ],
            &[],
        );
        let stderr = text(&output.stderr);
        assert_eq!(exit_code(&output), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
        assert!(stderr.contains(name), "{name}: the file is named: {stderr}");
        for survivor in &survivors {
            assert!(survivor.exists(), "{name} deleted {}", survivor.display());
        }
        assert!(tigerbeetle_data_files(folder.path()).is_empty());
    }
}

/// Goal: a run folder that no run of cabaret made is never emptied: one line naming it,
/// exit 2, nothing in it touched. Method: put a file where the scenario's run folder goes.
#[test]
fn a_folder_in_the_way_is_named_and_left_alone() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let data_dir = folder.path().join("data");
    let in_the_way = data_dir.join("happy");
    std::fs::create_dir_all(&in_the_way).expect("a folder in the way");
    let notes = write_file(&in_the_way, "notes.txt", "mine");
    let scenario = write_file(folder.path(), "happy.toml", HAPPY_SCENARIO);
    let output = cabaret(
        &[
            "play",
            "--data-dir",
            data_dir.to_str().expect("a path"),
            scenario.to_str().expect("a path"),
        ],
        &[],
    );
    let stderr = text(&output.stderr);
    assert_eq!(exit_code(&output), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&*in_the_way.to_string_lossy()), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&notes).expect("still there"),
        "mine"
    );
    assert!(!in_the_way.join("record").exists(), "nothing was started");
}

/// Goal: a disk too small for TigerBeetle's data file is said before formatting, in one
/// line that names the folder and the space found; no data file is left. Method: a
/// 64 MB filesystem.
#[test]
fn too_little_disk_is_said_before_format() {
    let Some(disk) = SmallDisk::mount(64) else {
        return;
    };
    let folder = tempfile::tempdir().expect("a temporary folder");
    let scenario = write_file(folder.path(), "happy.toml", HAPPY_SCENARIO);
    let data_dir = disk.path().join("data");
    let output = cabaret(
        &[
            "play",
            "--data-dir",
            data_dir.to_str().expect("a path"),
            scenario.to_str().expect("a path"),
        ],
        &[],
    );
    let stderr = text(&output.stderr);
    assert_eq!(exit_code(&output), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not enough free disk"), "{stderr}");
    assert!(stderr.contains(&*data_dir.to_string_lossy()), "{stderr}");
    assert!(stderr.contains("MB free"), "{stderr}");
    assert!(tigerbeetle_data_files(&disk.path()).is_empty());
}

/// Goal: a disk that fills during a run stops it with one clear line (never a panic,
/// never silence) and its data file removed. Method: a filesystem just big enough for
/// the run, filled by the test during a wait step.
#[test]
fn a_disk_that_fills_mid_run_stops_it_with_one_line() {
    let Some(disk) = SmallDisk::mount(1220) else {
        return;
    };
    let folder = tempfile::tempdir().expect("a temporary folder");
    let scenario = write_file(folder.path(), "fill.toml", WAITING_SCENARIO);
    let data_dir = disk.path().join("data");
    let (mut child, mut reader) = play_until(&data_dir, &scenario, "Step 1/2");
    let filler = disk.path().join("filler");
    let _ = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", filler.display()))
        .arg("bs=1M")
        .stderr(Stdio::null())
        .status();
    let mut rest = String::new();
    use std::io::Read;
    reader.read_to_string(&mut rest).expect("the transcript");
    let status = wait_bounded(&mut child, Duration::from_secs(40));
    let stderr = stderr_of(&mut child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("full") || stderr.contains("No space left"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(tigerbeetle_data_files(&disk.path()).is_empty());
    assert_no_process_left(&data_dir);
}

/// Goal: SIGINT, SIGTERM and SIGHUP during `play` remove the run's data file and exit
/// with 128 + the signal; nothing is left running. Method: signal a run during a wait.
#[test]
fn signals_during_play_leave_no_data_file() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let scenario = write_file(folder.path(), "waiting.toml", WAITING_SCENARIO);
    for (number, name) in [
        (libc::SIGINT, "SIGINT"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGHUP, "SIGHUP"),
    ] {
        let data_dir = folder.path().join(format!("data-{name}"));
        let (mut child, _reader) = play_until(&data_dir, &scenario, "Step 1/2");
        assert_eq!(
            tigerbeetle_data_files(&data_dir).len(),
            1,
            "the run has its data file"
        );
        signal(&child, number);
        let status = wait_bounded(&mut child, EXIT_TIMEOUT);
        let stderr = stderr_of(&mut child);
        assert_eq!(status.code(), Some(128 + number), "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: {stderr}");
        assert!(
            tigerbeetle_data_files(&data_dir).is_empty(),
            "{name} left {:?}",
            tigerbeetle_data_files(&data_dir)
        );
        assert_no_process_left(&data_dir);
    }
}

/// Goal: a closed stdout pipe (`| head`) ends the run with its data file removed.
/// Method: close the pipe during a wait; the next transcript line fails to write.
#[test]
fn a_closed_pipe_leaves_no_data_file() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let short_wait = WAITING_SCENARIO.replace("seconds = 20", "seconds = 2");
    let scenario = write_file(folder.path(), "waiting.toml", &short_wait);
    let data_dir = folder.path().join("data");
    let (mut child, reader) = play_until(&data_dir, &scenario, "Step 1/2");
    drop(reader);
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    let stderr = stderr_of(&mut child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Broken pipe"), "{stderr}");
    assert!(tigerbeetle_data_files(&data_dir).is_empty());
    assert_no_process_left(&data_dir);
}

/// Goal: a run killed with SIGKILL leaves its folder marked unfinished, and the next
/// start removes its data file and says how much it freed. Method: kill -9 during a
/// wait, then play another scenario in the same data folder.
#[test]
fn the_next_start_sweeps_what_a_killed_run_left() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let waiting = write_file(folder.path(), "waiting.toml", WAITING_SCENARIO);
    let happy = write_file(folder.path(), "happy.toml", HAPPY_SCENARIO);
    let data_dir = folder.path().join("data");
    let (mut child, _reader) = play_until(&data_dir, &waiting, "Step 1/2");
    signal(&child, libc::SIGKILL);
    wait_bounded(&mut child, EXIT_TIMEOUT);
    assert_no_process_left(&data_dir);
    let left = tigerbeetle_data_files(&data_dir);
    assert_eq!(left.len(), 1, "SIGKILL leaves the data file: {left:?}");
    let output = cabaret(
        &[
            "play",
            "--data-dir",
            data_dir.to_str().expect("a path"),
            happy.to_str().expect("a path"),
        ],
        &[],
    );
    let stderr = text(&output.stderr);
    assert_eq!(exit_code(&output), Some(0), "{stderr}");
    assert!(
        stderr.contains("removed 1.1 GB of TigerBeetle data"),
        "{stderr}"
    );
    assert!(stderr.contains("waiting"), "names the folder: {stderr}");
    assert!(tigerbeetle_data_files(&data_dir).is_empty());
}

/// Writes a stand-in `tigerbeetle` that answers `version` with `version` and runs
/// `format_body` for `format`; its process names its arguments, so a leftover is found.
fn fake_tigerbeetle(folder: &Path, version: &str, format_body: &str) -> PathBuf {
    let script = format!(
        "#!/bin/bash\nif [ \"$1\" = version ]; then echo 'TigerBeetle version {version}'; exit 0; fi\n\
         if [ \"$1\" = format ]; then {format_body}; fi\nexit 1\n"
    );
    let path = write_file(folder, "tigerbeetle", &script);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Goal: a `tigerbeetle` that hangs at `format` fails `play` within its timeout, and no
/// process is left. Method: a stand-in whose `format` sleeps for 300 s.
#[test]
fn a_hung_format_fails_within_its_timeout_and_leaves_nothing() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let fake = fake_tigerbeetle(
        folder.path(),
        "0.16.78+c3d9b09",
        "exec -a \"hung-format $*\" sleep 300",
    );
    let scenario = write_file(folder.path(), "happy.toml", HAPPY_SCENARIO);
    let data_dir = folder.path().join("data");
    let started = Instant::now();
    let output = cabaret(
        &[
            "play",
            "--data-dir",
            data_dir.to_str().expect("a path"),
            scenario.to_str().expect("a path"),
        ],
        &[("CABARET_TIGERBEETLE", &fake)],
    );
    let elapsed = started.elapsed();
    let stderr = text(&output.stderr);
    assert_eq!(exit_code(&output), Some(1), "{stderr}");
    assert!(stderr.contains("did not finish within 30 s"), "{stderr}");
    assert!(elapsed < Duration::from_secs(45), "took {elapsed:?}");
    assert_no_process_left(&data_dir);
    assert!(tigerbeetle_data_files(&data_dir).is_empty());
}

/// Goal: a `tigerbeetle` of another release than the client is refused in one line
/// before anything is formatted. Method: a stand-in that says 0.15.3.
#[test]
fn another_tigerbeetle_release_is_refused_first() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let fake = fake_tigerbeetle(folder.path(), "0.15.3+deadbeef", "touch \"$5\"");
    let scenario = write_file(folder.path(), "happy.toml", HAPPY_SCENARIO);
    let data_dir = folder.path().join("data");
    let output = cabaret(
        &[
            "play",
            "--data-dir",
            data_dir.to_str().expect("a path"),
            scenario.to_str().expect("a path"),
        ],
        &[("CABARET_TIGERBEETLE", &fake)],
    );
    let stderr = text(&output.stderr);
    assert_eq!(exit_code(&output), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("0.15.3+deadbeef"), "{stderr}");
    assert!(stderr.contains("0.16.78"), "{stderr}");
    assert!(tigerbeetle_data_files(&data_dir).is_empty());
}

/// Goal: `check` never gives a clean bill when a SQLite file cannot be read: the file
/// is named and the exit code is non-zero. Method: a kept run whose record-first
/// reference store is overwritten with bytes that are not a database.
#[test]
fn check_names_an_unreadable_store_and_fails() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let two_lanes = HAPPY_SCENARIO.replace(
        r#"lanes = ["write-last-read-first"]"#,
        r#"lanes = ["record-first", "write-last-read-first"]"#,
    );
    let scenario = write_file(folder.path(), "kept.toml", &two_lanes);
    let data_dir = folder.path().join("data");
    let played = cabaret(
        &[
            "play",
            "--keep-data",
            "--data-dir",
            data_dir.to_str().expect("a path"),
            scenario.to_str().expect("a path"),
        ],
        &[],
    );
    assert_eq!(exit_code(&played), Some(0), "{}", text(&played.stderr));
    let run = data_dir.join("kept");
    let reference = run.join("lanes/record-first/reference/reference.sqlite");
    std::fs::write(&reference, vec![0x5a_u8; 8192]).expect("corrupt the store");
    let output = cabaret(&["check", "--data-dir", run.to_str().expect("a path")], &[]);
    let stdout = text(&output.stdout);
    assert_eq!(
        exit_code(&output),
        Some(1),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(stdout.contains(&*reference.to_string_lossy()), "{stdout}");
    assert!(stdout.contains("UNKNOWN"), "{stdout}");
    // `check` only reads: the kept data file stays until the test removes it.
    for file in tigerbeetle_data_files(&data_dir) {
        std::fs::remove_file(file).expect("remove the kept data file");
    }
}

/// Goal: a data path too long for SQLite is refused in one line before anything starts.
/// Method: a data folder nested 600 bytes deep.
#[test]
fn a_data_path_too_long_for_sqlite_is_refused_first() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let scenario = write_file(folder.path(), "happy.toml", HAPPY_SCENARIO);
    let mut data_dir = folder.path().to_path_buf();
    for _level in 0..6 {
        data_dir.push("d".repeat(100));
    }
    let output = cabaret(
        &[
            "play",
            "--data-dir",
            data_dir.to_str().expect("a path"),
            scenario.to_str().expect("a path"),
        ],
        &[],
    );
    let stderr = text(&output.stderr);
    assert_eq!(exit_code(&output), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("too long for SQLite"), "{stderr}");
    assert!(
        !data_dir.join("happy").join("record").exists(),
        "nothing started"
    );
    assert_no_process_left(&data_dir);
}

/// Goal: a second run on the same data folder refuses at once, naming the folder and
/// the holder's pid, and the first run is untouched (it passes). Method: two `play`s.
#[test]
fn a_second_run_on_one_data_folder_refuses_at_once() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let short_wait = WAITING_SCENARIO.replace("seconds = 20", "seconds = 3");
    let waiting = write_file(folder.path(), "waiting.toml", &short_wait);
    let happy = write_file(folder.path(), "happy.toml", HAPPY_SCENARIO);
    let data_dir = folder.path().join("data");
    let (mut first, mut reader) = play_until(&data_dir, &waiting, "Step 1/2");
    let started = Instant::now();
    let second = cabaret(
        &[
            "play",
            "--data-dir",
            data_dir.to_str().expect("a path"),
            happy.to_str().expect("a path"),
        ],
        &[],
    );
    let stderr = text(&second.stderr);
    assert!(started.elapsed() < Duration::from_secs(2), "at once");
    assert_eq!(exit_code(&second), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&*data_dir.to_string_lossy()), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.id())), "{stderr}");
    let mut rest = String::new();
    use std::io::Read;
    reader
        .read_to_string(&mut rest)
        .expect("the first run's transcript");
    let status = wait_bounded(&mut first, RUN_TIMEOUT);
    assert!(
        status.success(),
        "the first run passes: {rest}{}",
        stderr_of(&mut first)
    );
    assert!(
        !data_dir.join("happy").exists(),
        "the second run started nothing"
    );
}

/// Goal: a controller stopped for 15 s mid-step (Ctrl-Z, a laptop lid) does not fail a
/// healthy run: a report already waiting is read before a worker is declared late.
/// Method: SIGSTOP the controller while its workers wait on a paused TigerBeetle.
#[test]
fn a_stopped_controller_does_not_fail_a_healthy_run() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let scenario = write_file(folder.path(), "paused.toml", PAUSED_CREATE_SCENARIO);
    let data_dir = folder.path().join("data");
    let (mut child, mut reader) = play_until(&data_dir, &scenario, "Step 1/3");
    signal(&child, libc::SIGSTOP);
    std::thread::sleep(Duration::from_secs(15));
    signal(&child, libc::SIGCONT);
    let mut rest = String::new();
    use std::io::Read;
    reader.read_to_string(&mut rest).expect("the transcript");
    let status = wait_bounded(&mut child, RUN_TIMEOUT);
    assert!(status.success(), "{rest}{}", stderr_of(&mut child));
    assert!(!rest.contains("did not report"), "{rest}");
    assert!(tigerbeetle_data_files(&data_dir).is_empty());
}

/// Goal: `record-in-flight` holds only once the create is on the wire: with TigerBeetle
/// paused, a worker crashed there leaves a request that lands on `heal`, every time.
/// Method: five runs of the crash; each expects record-first's untraceable account.
#[test]
fn an_in_flight_crash_lands_after_heal_every_time() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let scenario = write_file(folder.path(), "inflight.toml", IN_FLIGHT_SCENARIO);
    let data_dir = folder.path().join("data");
    for run_index in 1..=5 {
        let output = cabaret(
            &[
                "play",
                "--data-dir",
                data_dir.to_str().expect("a path"),
                scenario.to_str().expect("a path"),
            ],
            &[],
        );
        assert_eq!(
            exit_code(&output),
            Some(0),
            "run {run_index}: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
    }
    assert!(tigerbeetle_data_files(&data_dir).is_empty());
}

/// Goal: the smaller bad inputs are refused in one line with file, line and column, exit
/// 2, and nothing runs: a reservation's timeout of 0 (TigerBeetle's "no timeout"), an
/// empty user id, an out-of-range `u32` (the range is named), and a FIFO given as the
/// scenario (which used to hang). Method: play each; look for the data folder's runs.
#[test]
fn smaller_bad_inputs_are_refused_in_one_line() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let reserve = |timeout: &str| {
        format!(
            "{HAPPY_SCENARIO}\n[[step]]\ndo = \"reserve\"\nuser = \"alice\"\namount = 5\ntimeout = {timeout}\nnarration = \"A hold.\"\n"
        )
    };
    let cases = [
        (
            "timeout-zero.toml",
            reserve("0"),
            ":19:11: `timeout` must be at least 1",
        ),
        (
            "timeout-huge.toml",
            reserve("4294967296"),
            "at most 4294967295",
        ),
        (
            "empty-user.toml",
            HAPPY_SCENARIO.replace("user = \"alice\"", "user = \"\""),
            ":9:8: the user id is empty",
        ),
    ];
    let data_dir = folder.path().join("data");
    for (name, scenario, expected) in &cases {
        let path = write_file(folder.path(), name, scenario);
        let output = cabaret(
            &[
                "play",
                "--data-dir",
                data_dir.to_str().expect("a path"),
                path.to_str().expect("a path"),
            ],
            &[],
        );
        let stderr = text(&output.stderr);
        assert_eq!(exit_code(&output), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.contains(name) && stderr.contains(expected),
            "{name}: {stderr}"
        );
    }
    let fifo = folder.path().join("fifo.toml");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let output = cabaret(
        &[
            "play",
            "--data-dir",
            data_dir.to_str().expect("a path"),
            fifo.to_str().expect("a path"),
        ],
        &[],
    );
    let stderr = text(&output.stderr);
    assert_eq!(exit_code(&output), Some(2), "{stderr}");
    assert!(
        stderr.contains("fifo.toml:1:1: cannot read the file: it is not a regular file"),
        "{stderr}"
    );
    assert!(!data_dir.exists(), "nothing ran");
}

/// Goal: a setup failure stops the run with its cause in one line, never as a lane's
/// verdict, and leaves no data file: a worker that dies before its first report is "the
/// <lane> worker could not start: <its first error line>", exit 1. Method: runs on
/// filesystems with a few more inodes each time (a tmpfs with `nr_inodes`), so that setup
/// runs out of room at each of its steps in turn, the worker's SQLite store among them.
#[test]
fn a_setup_failure_is_one_line_with_its_cause() {
    /// From too few inodes for the data folder to enough for the whole run.
    const INODE_COUNTS: std::ops::RangeInclusive<u32> = 8..=20;
    let folder = tempfile::tempdir().expect("a temporary folder");
    let scenario = write_file(folder.path(), "one.toml", HAPPY_SCENARIO);
    let mut worker_failures = 0;
    for inodes in INODE_COUNTS {
        let mount_point = folder.path().join(format!("disk-{inodes}"));
        std::fs::create_dir(&mount_point).expect("a mount point");
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size=1300m,nr_inodes={inodes}"),
                "tmpfs",
            ])
            .arg(&mount_point)
            .output()
            .expect("mount runs");
        if !mounted.status.success() {
            println!(
                "SKIPPED: this machine lets tests mount no tmpfs ({})",
                text(&mounted.stderr).trim()
            );
            return;
        }
        let data_dir = mount_point.join("data");
        let output = cabaret(
            &[
                "play",
                "--data-dir",
                data_dir.to_str().expect("a path"),
                scenario.to_str().expect("a path"),
            ],
            &[],
        );
        let stderr = text(&output.stderr);
        let stdout = text(&output.stdout);
        let left = tigerbeetle_data_files(&mount_point);
        let _ = Command::new("umount").arg("-l").arg(&mount_point).status();
        assert!(left.is_empty(), "{inodes} inodes: left {left:?}");
        assert!(!stderr.contains("panicked"), "{inodes} inodes: {stderr}");
        if exit_code(&output) == Some(0) {
            continue;
        }
        assert_eq!(exit_code(&output), Some(1), "{inodes} inodes: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{inodes} inodes: {stderr}");
        assert!(
            !stdout.contains("EXPECTATION NOT MET"),
            "{inodes} inodes: {stdout}"
        );
        if stderr.contains("the write-last-read-first worker could not start: SQLite") {
            worker_failures += 1;
        }
    }
    assert!(worker_failures > 0, "no run failed at the worker's start");
}

/// Goal: environment faults are one clear line each, exit 1, with nothing started: a
/// data folder that is not writable, and a missing server binary. Method: a read-only
/// tmpfs as the data folder; `CABARET_TIGERBEETLE` naming a file that does not exist.
#[test]
fn environment_faults_are_one_line_each() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let scenario = write_file(folder.path(), "happy.toml", HAPPY_SCENARIO);
    let missing = folder.path().join("no-such-tigerbeetle");
    let data_dir = folder.path().join("data");
    let output = cabaret(
        &[
            "play",
            "--data-dir",
            data_dir.to_str().expect("a path"),
            scenario.to_str().expect("a path"),
        ],
        &[("CABARET_TIGERBEETLE", &missing)],
    );
    let stderr = text(&output.stderr);
    assert_eq!(exit_code(&output), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&*missing.to_string_lossy()) && stderr.contains("missing"),
        "{stderr}"
    );
    assert!(tigerbeetle_data_files(&data_dir).is_empty());

    let read_only = folder.path().join("read-only");
    std::fs::create_dir(&read_only).expect("a mount point");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
        .arg(&read_only)
        .output()
        .expect("mount runs");
    if !mounted.status.success() {
        println!(
            "SKIPPED the read-only case: this machine lets tests mount no tmpfs ({})",
            text(&mounted.stderr).trim()
        );
        return;
    }
    let output = cabaret(
        &[
            "play",
            "--data-dir",
            read_only.to_str().expect("a path"),
            scenario.to_str().expect("a path"),
        ],
        &[],
    );
    let _ = Command::new("umount").arg("-l").arg(&read_only).status();
    let stderr = text(&output.stderr);
    assert_eq!(exit_code(&output), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is not writable"), "{stderr}");
    assert!(stderr.contains(&*read_only.to_string_lossy()), "{stderr}");
}
