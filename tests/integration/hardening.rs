//! Hardening (issue 12): faults from outside are seen and healed, no verdict on an unknown
//! truth, hostile text stays text, the TUI only where it can be seen, clear words, a
//! fuzzed loader, and nothing of a run listens beyond loopback. Everything goes through
//! the real binary, real TigerBeetle and SQLite, and a real terminal (tmux) where a
//! terminal is the point. Each test has its own data directory (deleted with it), and a
//! fixture's `Drop` kills whatever of its run is still alive.

use proptest::prelude::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::run_slot;
use crate::support::terminal::{HEIGHT, Terminal, WIDTH, kill_everything_of};
use crate::support::{columns, processes_mentioning, tigerbeetle_data_files};
use std::time::{Duration, Instant};

/// Bounds the start of a run (TigerBeetle, then one worker per lane).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Bounds one move, a heal (a restart of TigerBeetle), and the quit.
const MOVE_TIMEOUT: Duration = Duration::from_secs(40);
/// Bounds a whole headless run.
const PLAY_TIMEOUT: Duration = Duration::from_secs(120);
/// How soon a death from outside must be on screen: the runner looks every 250 ms.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(100);
/// A bound on the `n` presses that take a step through its hold points.
const PRESS_COUNT_MAX: usize = 12;

fn cabaret() -> &'static str {
    crate::support::BINARY
}

fn scenario(name: &str) -> PathBuf {
    crate::support::project_file(&format!("scenarios/{name}"))
}

/// The children of `parent` that are zombies (exited, never reaped).
fn zombie_children(parent: u32) -> Vec<u32> {
    let mut zombies = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return zombies;
    };
    for entry in entries.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // After the command's closing parenthesis: state, then the parent's pid.
        let Some((_, after)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.len() > 1 && fields[0] == "Z" && fields[1] == parent.to_string() {
            if let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse().ok())
            {
                zombies.push(pid);
            }
        }
    }
    zombies
}

/// The pid of the one process of the run whose command line holds every word; a lane's
/// reader (`--reader`) only when a word asks for it.
fn process_with(directory: &Path, words: &[&str]) -> Option<u32> {
    let readers = words.contains(&"--reader");
    processes_mentioning(directory)
        .into_iter()
        .filter(|process| readers || !process.command_line.contains("--reader"))
        .find(|process| words.iter().all(|word| process.command_line.contains(word)))
        .map(|process| process.pid)
}

fn wait_until<T>(what: &str, timeout: Duration, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// What this file's tests ask of the shared terminal.
impl Terminal {
    /// Presses `n` until `until` holds (a bounded number of times, a second apart).
    fn press_until(&self, what: &str, until: impl Fn(&str) -> bool) {
        for _press in 0..PRESS_COUNT_MAX {
            self.press("n");
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                if until(&self.screen()) {
                    return;
                }
                std::thread::sleep(POLL);
            }
        }
        panic!("{what} never showed:\n{}", self.screen());
    }

    /// Opens `file` in the TUI, the shell printing its exit status after.
    fn open(&self, file: &str) -> String {
        self.type_line(&format!(
            "{} --data-dir {} {}; echo exit=$?",
            cabaret(),
            self.data().display(),
            scenario(file).display()
        ));
        self.wait_for("the run to be ready", START_TIMEOUT, |screen| {
            screen.contains("TigerBeetle ready") && screen.contains("step 0 of")
        })
    }

    /// The TUI's own process.
    fn tui_pid(&self) -> u32 {
        wait_until("the TUI's process", START_TIMEOUT, || {
            processes_mentioning(self.data())
                .into_iter()
                .find(|process| {
                    process.command_line.starts_with(cabaret())
                        && process.command_line.contains("--data-dir")
                })
                .map(|process| process.pid)
        })
    }

    /// Quits with `q` and checks that the exit status is 0 and nothing is left.
    fn quit_cleanly(&self) {
        self.press("q");
        self.wait_for("the TUI to end", MOVE_TIMEOUT, |screen| {
            screen.contains("exit=0")
        });
        wait_until("every process of the run to end", MOVE_TIMEOUT, || {
            processes_mentioning(self.data()).is_empty().then_some(())
        });
        let files = tigerbeetle_data_files(self.data());
        assert!(files.is_empty(), "TigerBeetle data files left: {files:?}");
    }
}

/// Whether the shell printed `label` followed by a status (the typed command line holds
/// `label$?`, which does not count).
fn exit_shown(screen: &str, label: &str) -> bool {
    screen.match_indices(label).any(|(index, _)| {
        screen[index + label.len()..]
            .chars()
            .next()
            .is_some_and(|character| character.is_ascii_digit())
    })
}

fn kill(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Goal: the Done-when, as a new user would try it from another terminal. Method: the
/// real TUI on the crash scenario; `kill -9` of its TigerBeetle from outside. The header
/// says it died and how, within seconds, and the dead server is reaped (no zombie); `h`
/// brings it back; the scenario then runs to its end with every expectation met; `q`
/// leaves nothing behind.
#[test]
fn tigerbeetle_killed_from_outside_is_seen_and_healed_on_screen() {
    let _slot = run_slot();
    let terminal = Terminal::start("record-killed");
    terminal.open("02-crash-between-writes.toml");
    let tui = terminal.tui_pid();
    let server = process_with(terminal.data(), &["tigerbeetle", "start"]).expect("TigerBeetle");
    kill(server, "-KILL");
    let screen = terminal.wait_for("the death on screen", NOTICE_TIMEOUT, |screen| {
        screen.contains("TigerBeetle died (killed by SIGKILL)")
    });
    assert!(
        screen.contains("By hand: TigerBeetle died without being told to")
            && screen.contains("being told to (killed by SIGKILL)"),
        "the lanes say what died and how:\n{screen}"
    );
    assert!(
        screen.contains("? undetermined: a store did not answer"),
        "nothing is judged on an unknown truth:\n{screen}"
    );
    assert!(!screen.contains("no property broken"), "{screen}");
    assert_eq!(zombie_children(tui), Vec::<u32>::new(), "a zombie is left");
    terminal.press("h");
    terminal.wait_for("TigerBeetle back", MOVE_TIMEOUT, |screen| {
        screen.contains("TigerBeetle ready") && screen.contains("heal TigerBeetle")
    });
    terminal.press("e");
    let screen = terminal.wait_for("the scenario's end", MOVE_TIMEOUT, |screen| {
        screen.contains("finished") && screen.contains("Verdicts:")
    });
    assert!(screen.contains("Every expectation held."), "{screen}");
    assert!(screen.contains("write-last-read-first kept"), "{screen}");
    terminal.quit_cleanly();
}

/// Goal: a worker killed from outside is said at once, reaped, and `r` restarts it.
/// Method: the real TUI; `kill -9` of the write-last-read-first worker before the first
/// step; the lane says "died (killed by SIGKILL)" with no zombie; `r` gives it a new
/// process; the scenario runs to its end with every expectation met.
#[test]
fn a_worker_killed_from_outside_is_seen_and_restarted() {
    let _slot = run_slot();
    let terminal = Terminal::start("worker-killed");
    terminal.open("02-crash-between-writes.toml");
    let tui = terminal.tui_pid();
    let worker = process_with(
        terminal.data(),
        &["worker", "--lane write-last-read-first "],
    )
    .expect("the write-last-read-first worker");
    kill(worker, "-KILL");
    let screen = terminal.wait_for("the death on screen", NOTICE_TIMEOUT, |screen| {
        screen.contains("died (killed by SIGKILL)")
    });
    let lane = columns(&screen, 80, 40);
    assert!(lane.contains("died (killed by SIGKILL)"), "{screen}");
    assert!(
        columns(&screen, 0, 40).contains("worker  running"),
        "{screen}"
    );
    assert_eq!(zombie_children(tui), Vec::<u32>::new(), "a zombie is left");
    terminal.press("r");
    let screen = terminal.wait_for("the new worker", MOVE_TIMEOUT, |screen| {
        columns(screen, 80, 40).contains("worker restarted")
    });
    assert!(
        columns(&screen, 80, 40).contains("worker  running"),
        "{screen}"
    );
    let restarted = process_with(
        terminal.data(),
        &["worker", "--lane write-last-read-first "],
    );
    assert!(restarted.is_some_and(|pid| pid != worker), "no new worker");
    terminal.press("e");
    let screen = terminal.wait_for("the scenario's end", MOVE_TIMEOUT, |screen| {
        screen.contains("finished") && screen.contains("Verdicts:")
    });
    assert!(screen.contains("Every expectation held."), "{screen}");
    terminal.quit_cleanly();
}

/// Goal: `r` acts at any time, mid-step too. Method: the durable-recovery scenario held
/// mid-recovery (step 2's restart holds the durable lane between the writes); the durable
/// worker is killed from outside there; `r` gives the lane a new worker whose recovery
/// runs to its end at once (TigerBeetle creates the account with the journal's id) while
/// the step stays open; the scenario then ends with every expectation met.
#[test]
fn a_worker_killed_mid_step_is_restarted_and_recovers_at_once() {
    let _slot = run_slot();
    let terminal = Terminal::start("mid-step");
    terminal.open("11-durable-recovery.toml");
    terminal.press_until("the crash of step 1", |screen| {
        screen.contains("step 1 of") && screen.matches("crashed at between-writes").count() == 2
    });
    terminal.press_until("the recovery held", |screen| {
        screen.contains("step 2 of") && columns(screen, 60, 60).contains("held at between-writes")
    });
    let worker =
        process_with(terminal.data(), &["worker", "--lane durable "]).expect("the durable worker");
    kill(worker, "-KILL");
    terminal.wait_for("the death on screen", NOTICE_TIMEOUT, |screen| {
        columns(screen, 60, 60).contains("died (killed by SIGKILL)")
    });
    terminal.press("r");
    let screen = terminal.wait_for("the recovery's end", MOVE_TIMEOUT, |screen| {
        columns(screen, 60, 60).contains("by hand: alice: answered created")
    });
    assert!(
        columns(&screen, 60, 60).contains("by hand: alice: TigerBeetle: created"),
        "{screen}"
    );
    terminal.press("e");
    let screen = terminal.wait_for("the scenario's end", MOVE_TIMEOUT, |screen| {
        screen.contains("finished") && screen.contains("Verdicts:")
    });
    assert!(screen.contains("Every expectation held."), "{screen}");
    terminal.quit_cleanly();
}

/// A scenario file of the test's own, in `directory`.
fn write_scenario(directory: &Path, name: &str, text: &str) -> PathBuf {
    let path = directory.join(name);
    std::fs::write(&path, text).expect("the scenario is written");
    path
}

const KILLED_DURING_A_WAIT: &str = r#"
title = "TigerBeetle dies from outside"
seed = 7
lanes = ["record-first", "write-last-read-first"]

[[step]]
do = "create"
user = "alice"
narration = "Alice's account is created in both stores."

[[step]]
do = "wait"
seconds = 5
narration = "Meanwhile someone kills TigerBeetle from another terminal."

[[step]]
do = "read"
user = "alice"
narration = "Nobody can say what TigerBeetle holds now."

[expect.write-last-read-first]
verdict = "kept"
"#;

/// Plays `file` headless with `--json`; kills TigerBeetle from outside once the first
/// step's lines are out. Returns the JSON lines and the exit status.
fn play_killing_the_server(data: &Path, file: &Path) -> (Vec<serde_json::Value>, i32) {
    let mut child = Command::new(cabaret())
        .args(["play", "--json", "--data-dir"])
        .arg(data)
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cabaret play starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    let mut killed = false;
    let deadline = Instant::now() + PLAY_TIMEOUT;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line of JSON");
        let value: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        if !killed && value["step"] == 1 {
            let server = process_with(data, &["tigerbeetle", "start"]).expect("TigerBeetle");
            kill(server, "-KILL");
            killed = true;
        }
        lines.push(value);
        assert!(Instant::now() < deadline, "the run took too long");
    }
    let status = child.wait().expect("cabaret play ends");
    assert!(killed, "the run never reached its first step");
    (lines, status.code().unwrap_or(-1))
}

/// Goal: a headless run reports a server killed from outside in its JSON, and gives no
/// verdict on the truth it could not read. Method: `play --json` of a scenario whose
/// TigerBeetle is killed during a wait, with nothing healing it; the steps after say how
/// it died and which properties are undetermined; the lane expected "kept" is
/// "undetermined" instead, so the run exits 1.
#[test]
fn headless_play_reports_a_killed_server_and_judges_nothing_it_cannot_read() {
    let _slot = run_slot();
    let data = tempfile::tempdir().expect("a data directory");
    let file = write_scenario(data.path(), "killed.toml", KILLED_DURING_A_WAIT);
    let (lines, code) = play_killing_the_server(&data.path().join("runs"), &file);
    kill_everything_of(data.path());
    assert_eq!(code, 1, "an expectation is not met");
    let read_step: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|line| line["type"] == "step" && line["step"] == 3)
        .collect();
    assert_eq!(read_step.len(), 2, "{lines:?}");
    for lane in &read_step {
        assert_eq!(
            lane["record_exit"], "TigerBeetle died (killed by SIGKILL)",
            "{lane}"
        );
        assert_eq!(lane["server"], "down", "{lane}");
        assert_eq!(lane["truth"], "unknown", "{lane}");
        let undetermined = lane["undetermined"].as_array().expect("a list");
        assert!(
            undetermined.contains(&serde_json::json!("correct answer")),
            "{lane}"
        );
    }
    let died_said = lines.iter().any(|line| {
        line["events"].as_array().is_some_and(|events| {
            events.iter().any(|event| {
                event["text"]
                    .as_str()
                    .is_some_and(|text| text.contains("died without being told to"))
            })
        })
    });
    assert!(died_said, "no step said the server died: {lines:?}");
    let summary = lines.last().expect("a summary");
    assert_eq!(summary["type"], "summary");
    assert!(
        summary["undetermined_steps"].as_u64() >= Some(1),
        "{summary}"
    );
    for lane in summary["lanes"].as_array().expect("lanes") {
        assert_eq!(lane["verdict"], "undetermined", "{summary}");
    }
    let failures = summary["failures"].to_string();
    assert!(
        failures.contains("expected kept, got undetermined"),
        "{failures}"
    );
    let files = tigerbeetle_data_files(data.path());
    assert!(files.is_empty(), "data files left: {files:?}");
}

/// Goal: once the stores answer again, a later read proves the lane. Method: the same
/// kill during a wait, then the scenario's own `heal` restarts TigerBeetle and a read
/// follows: the verdicts are "kept" again and the run exits 0, while the summary still
/// counts the undetermined steps.
#[test]
fn a_later_read_of_the_stores_proves_a_lane_kept() {
    let _slot = run_slot();
    let data = tempfile::tempdir().expect("a data directory");
    let healed = format!(
        "{}\n{}",
        KILLED_DURING_A_WAIT.replace("[expect.write-last-read-first]\nverdict = \"kept\"\n", ""),
        r#"
[[step]]
do = "heal"
store = "tigerbeetle"
narration = "TigerBeetle restarts from its data file."

[[step]]
do = "read"
user = "alice"
narration = "Both stores answer again."

[step.expect.write-last-read-first]
answer = "exists"

[expect.write-last-read-first]
verdict = "kept"
"#
    );
    assert_eq!(healed.matches("[expect.").count(), 1, "{healed}");
    let file = write_scenario(data.path(), "healed.toml", &healed);
    let (lines, code) = play_killing_the_server(&data.path().join("runs"), &file);
    kill_everything_of(data.path());
    let summary = lines.last().expect("a summary");
    assert_eq!(code, 0, "{summary}");
    assert!(
        summary["undetermined_steps"].as_u64() >= Some(1),
        "{summary}"
    );
    for lane in summary["lanes"].as_array().expect("lanes") {
        assert_eq!(lane["verdict"], "kept", "{summary}");
    }
}

/// Goal: hostile text in a scenario is bad input with file:line:column, and nothing
/// starts. Method: files whose user id, name, title or narration hold controls, or
/// whose id is empty or too long; each exits 2 with one line naming the place, no raw
/// control byte reaches stderr, and no data directory is made.
#[test]
fn hostile_ids_and_names_are_bad_input_with_line_and_column() {
    let directory = tempfile::tempdir().expect("a directory");
    let long_id = "a".repeat(65);
    let cases: [(&str, String, &str); 7] = [
        (
            "escape",
            r#"user = "a\u001b[2Jb""#.to_string(),
            ":6:8: the user id holds",
        ),
        (
            "newline",
            r#"user = "new\nline""#.to_string(),
            ":6:8: the user id holds",
        ),
        (
            "empty",
            r#"user = """#.to_string(),
            ":6:8: the user id is empty",
        ),
        (
            "long",
            format!(r#"user = "{long_id}""#),
            ":6:8: the user id is 65 characters",
        ),
        (
            "nul",
            "user = \"a\\u0000b\"".to_string(),
            ":6:8: the user id holds",
        ),
        (
            "name",
            "user = \"alice\"\nname = \"A\\u001b]0;PWNED\\u0007\"".to_string(),
            ":7:8: the name holds",
        ),
        (
            "bidi",
            "user = \"evil\\u202etxt\"".to_string(),
            ":6:8: the user id holds",
        ),
    ];
    for (name, user_line, expected) in cases {
        let text = format!(
            "title = \"Hostile\"\nseed = 1\nlanes = [\"durable\"]\n[[step]]\ndo = \"create\"\n{user_line}\nnarration = \"n\"\n"
        );
        let file = write_scenario(directory.path(), &format!("{name}.toml"), &text);
        let data = directory.path().join(format!("data-{name}"));
        let output = crate::support::cabaret(&[
            "play",
            "--data-dir",
            &data.to_string_lossy(),
            &file.to_string_lossy(),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(
            !stderr
                .trim_end()
                .chars()
                .any(|character| character.is_control()),
            "{name}: a raw control reached stderr: {stderr:?}"
        );
        assert!(!data.exists(), "{name}: a data directory was made");
    }
}

/// Goal: the title and the narration are checked too. Method: a title with an escape
/// sequence, a narration with an OSC 52 (clipboard) sequence: each exits 2 at its place.
#[test]
fn hostile_titles_and_narrations_are_bad_input() {
    let directory = tempfile::tempdir().expect("a directory");
    for (name, text, expected) in [
        (
            "title",
            "title = \"T\\u001b[31m\"\nseed = 1\nlanes = [\"durable\"]\n[[step]]\ndo = \"read\"\nuser = \"a\"\nnarration = \"n\"\n",
            ":1:9: the title holds",
        ),
        (
            "narration",
            "title = \"T\"\nseed = 1\nlanes = [\"durable\"]\n[[step]]\ndo = \"read\"\nuser = \"a\"\nnarration = \"x\\u001b]52;c;AAAA\\u0007\"\n",
            ":7:13: the narration holds",
        ),
    ] {
        let file = write_scenario(directory.path(), &format!("{name}.toml"), text);
        let output = crate::support::cabaret(&["play", &file.to_string_lossy()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
}

/// Goal: clear words. Method: the binary's own answers to a missing data directory, each
/// bad storm value, and a crash point a `create` never passes (none of them starts
/// anything); each gets its own sentence and exit 2.
#[test]
fn each_bad_value_gets_its_own_sentence() {
    let missing = crate::support::cabaret(&["check", "--data-dir", "/nonexistent/cabaret"]);
    let text = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{text}");
    assert!(
        text.contains("the data directory /nonexistent/cabaret is missing"),
        "{text}"
    );
    let directory = tempfile::tempdir().expect("a directory");
    let data = directory.path().join("storm");
    let data = data.to_string_lossy();
    for (arguments, expected) in [
        (
            vec!["--requests", "0"],
            "--requests 0 is out of range: it must be 1 to",
        ),
        (
            vec!["--crash-rate", "2"],
            "--crash-rate 2 is out of range: it must be a chance from 0 to 1",
        ),
        (
            vec!["--fault-rate", "nan"],
            "--fault-rate NaN is out of range: it must be a chance from 0 to 1",
        ),
        (
            vec!["--crash-rate=-0.1"],
            "--crash-rate -0.1 is out of range: it must be a chance from 0 to 1",
        ),
    ] {
        let mut all = vec!["storm", "--data-dir", &data];
        all.extend(arguments.iter().copied());
        let output = crate::support::cabaret(&all);
        let text = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{arguments:?}: {text}");
        assert!(text.contains(expected), "{arguments:?}: {text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }
    let file = write_scenario(
        directory.path(),
        "crash.toml",
        "title = \"T\"\nseed = 1\nlanes = [\"durable\"]\n[[step]]\ndo = \"create\"\nuser = \"a\"\ncrash = \"betwen-writes\"\nnarration = \"n\"\n",
    );
    let output = crate::support::cabaret(&["play", &file.to_string_lossy()]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains(":7:9: unknown crash point `betwen-writes`"),
        "{text}"
    );
    assert!(text.contains("between-writes"), "{text}");
    assert!(
        !text.contains("before-post"),
        "a create never holds before the post: {text}"
    );
}

/// Goal: the TUI runs only where it can be seen. Method: stdout a pipe (no terminal
/// needed), then in tmux: stdin from /dev/null, `TERM=dumb`, and a data directory that
/// cannot be made. Each says one line and exits 2 (1 for the directory, which names its
/// path); none starts TigerBeetle.
#[test]
fn the_tui_refuses_where_nobody_can_see_it() {
    let directory = tempfile::tempdir().expect("a directory");
    let data = directory.path().join("data");
    let happy = scenario("01-happy-path.toml");
    let output = Command::new(cabaret())
        .arg("--data-dir")
        .arg(&data)
        .arg(&happy)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("cabaret runs");
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("stdout is not one; use `cabaret play FILE`"),
        "{text}"
    );
    assert!(output.stdout.is_empty(), "escape codes went to the file");
    assert!(!data.exists(), "the TUI started a run");

    let terminal = Terminal::start("unseen");
    let data = terminal.data().join("data");
    let happy = happy.display();
    terminal.type_line(&format!(
        "clear; {} --data-dir {} {happy} < /dev/null; echo stdin-exit=$?",
        cabaret(),
        data.display()
    ));
    let screen = terminal.wait_for("the refusal", MOVE_TIMEOUT, |screen| {
        exit_shown(screen, "stdin-exit=")
    });
    assert!(screen.contains("stdin is not one"), "{screen}");
    assert!(screen.contains("stdin-exit=2"), "{screen}");
    terminal.type_line(&format!(
        "clear; TERM=dumb {} --data-dir {} {happy}; echo dumb-exit=$?",
        cabaret(),
        data.display()
    ));
    let screen = terminal.wait_for("the refusal", MOVE_TIMEOUT, |screen| {
        exit_shown(screen, "dumb-exit=")
    });
    assert!(screen.contains("TERM=dumb cannot draw the TUI"), "{screen}");
    assert!(screen.contains("dumb-exit=2"), "{screen}");
    assert!(!data.exists(), "the TUI started a run");
    terminal.type_line(&format!(
        "clear; {} --data-dir /proc/cabaret-nope {happy}; echo dir-exit=$?",
        cabaret()
    ));
    let screen = terminal.wait_for("the refusal", MOVE_TIMEOUT, |screen| {
        exit_shown(screen, "dir-exit=")
    });
    assert!(
        screen.contains("the data folder /proc/cabaret-nope is not writable"),
        "{screen}"
    );
}

/// Goal: on the too-small screen nothing moves out of sight, and signals end the TUI
/// with 128 + the signal. Method: the picker (no run needed) and then a run in tmux:
/// shrunk to 20×10, three `n` presses do nothing (back at 120×40 the run is still at step
/// 0); `q` quits at 20×10. Then SIGTERM and SIGHUP to the picker exit 143 and 129.
#[test]
fn the_too_small_screen_obeys_only_q_and_signals_give_128_plus() {
    let _slot = run_slot();
    let terminal = Terminal::start("small");
    terminal.open("01-happy-path.toml");
    terminal.resize(20, 10);
    terminal.wait_for("the too-small screen", MOVE_TIMEOUT, |screen| {
        screen.contains("20×10")
    });
    for _press in 0..3 {
        terminal.press("n");
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(2));
    terminal.resize(WIDTH, HEIGHT);
    let screen = terminal.wait_for("the run again", MOVE_TIMEOUT, |screen| {
        screen.contains("step 0 of")
    });
    assert!(
        !screen.contains("step 1 of"),
        "a step ran unseen:\n{screen}"
    );
    terminal.resize(20, 10);
    terminal.wait_for("the too-small screen", MOVE_TIMEOUT, |screen| {
        screen.contains("20×10")
    });
    terminal.quit_cleanly();
    terminal.resize(WIDTH, HEIGHT);

    for (signal, code) in [("-TERM", 143), ("-HUP", 129)] {
        terminal.type_line(&format!(
            "clear; {} --data-dir {}; echo signal-exit=$?",
            cabaret(),
            terminal.data().display()
        ));
        let tui = terminal.tui_pid();
        terminal.wait_for("the picker", MOVE_TIMEOUT, |screen| {
            screen.contains("Happy path")
        });
        kill(tui, signal);
        let screen = terminal.wait_for("the exit", MOVE_TIMEOUT, |screen| {
            exit_shown(screen, "signal-exit=")
        });
        assert!(
            screen.contains(&format!("signal-exit={code}")),
            "{signal}: {screen}"
        );
    }
}

/// The sockets (by inode) that `pid` holds open.
fn socket_inodes(pid: u32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            target
                .strip_prefix("socket:[")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::to_string)
        })
        .collect()
}

/// Every listening TCP socket and bound UDP socket of `pid` that is not on loopback,
/// read from /proc/<pid>/net/{tcp,tcp6,udp,udp6} by the process's own socket inodes.
fn sockets_beyond_loopback(pid: u32) -> (usize, Vec<String>) {
    let inodes = socket_inodes(pid);
    let mut listening = 0;
    let mut beyond = Vec::new();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || !inodes.iter().any(|inode| inode == fields[9]) {
                continue;
            }
            let (local, state) = (fields[1], fields[3]);
            // TCP state 0A is LISTEN; a UDP socket listens once bound (state 07).
            let listens = if table.starts_with("tcp") {
                state == "0A"
            } else {
                state == "07"
            };
            if !listens {
                continue;
            }
            listening += 1;
            let address = local.split(':').next().unwrap_or_default();
            let loopback = address == "0100007F" || address == "00000000000000000000000001000000";
            if !loopback {
                beyond.push(format!("{table} {local} (pid {pid})"));
            }
        }
    }
    (listening, beyond)
}

const LISTENING: &str = r#"
title = "Listening"
seed = 3
lanes = ["write-last-read-first", "durable"]

[[step]]
do = "create"
user = "alice"
narration = "One account."

[[step]]
do = "wait"
seconds = 4
narration = "The test reads every socket of the run meanwhile."
"#;

/// Goal: the security notes are true: nothing of a run listens beyond 127.0.0.1, and its
/// data files are readable by their owner only. Method: a real headless run; during its
/// wait, every listening socket of cabaret, TigerBeetle and each worker is found through
/// the process's own socket inodes in /proc/<pid>/net; after it (`--keep-data`), every
/// file of the run has no group or other permission bits. The data directory is deleted.
#[test]
fn nothing_listens_beyond_loopback_and_files_are_the_owners() {
    use std::os::unix::fs::PermissionsExt;
    let _slot = run_slot();
    let data = tempfile::tempdir().expect("a data directory");
    let file = write_scenario(data.path(), "listening.toml", LISTENING);
    let runs = data.path().join("runs");
    let mut child = Command::new(cabaret())
        .args(["play", "--keep-data", "--data-dir"])
        .arg(&runs)
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cabaret play starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let deadline = Instant::now() + PLAY_TIMEOUT;
    let mut line = String::new();
    while !line.starts_with("Step 1/") {
        line.clear();
        let read = reader.read_line(&mut line).expect("the transcript");
        assert!(read > 0 && Instant::now() < deadline, "no first step");
    }
    let mut pids: Vec<u32> = processes_mentioning(&runs)
        .into_iter()
        .map(|process| process.pid)
        .collect();
    pids.push(child.id());
    assert!(
        pids.len() >= 4,
        "cabaret, TigerBeetle and two workers: {pids:?}"
    );
    let mut listening = 0;
    let mut beyond = Vec::new();
    for pid in pids {
        let (count, found) = sockets_beyond_loopback(pid);
        listening += count;
        beyond.extend(found);
    }
    std::io::copy(&mut reader, &mut std::io::sink()).expect("the rest of the transcript");
    let status = child.wait().expect("cabaret play ends");
    kill_everything_of(data.path());
    assert!(
        listening >= 1,
        "TigerBeetle's listening socket was not found"
    );
    assert!(beyond.is_empty(), "sockets beyond loopback: {beyond:?}");
    assert!(status.success(), "the run failed");
    let mut pending = vec![runs.clone()];
    let mut checked = 0;
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory)
            .expect("the run's folder")
            .flatten()
        {
            let path = entry.path();
            let mode = entry.metadata().expect("metadata").permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", path.display());
            checked += 1;
            if path.is_dir() {
                pending.push(path);
            }
        }
    }
    assert!(checked > 5, "only {checked} files checked");
    assert_eq!(tigerbeetle_data_files(&runs).len(), 1, "the kept data file");
}

/// Goal: a port another process takes between the supervisor choosing it and TigerBeetle
/// binding it costs a retry on new ports, not the run. Method: the real server prepared
/// (which chooses its port), that port then bound and held by this test, then the start.
#[test]
fn a_port_taken_before_tigerbeetle_binds_it_is_retried_on_a_new_one() {
    use cabaret::stores::supervisor::{RecordServer, ServerState, default_binary};
    let _slot = run_slot();
    let folder = tempfile::tempdir().expect("a temporary folder");
    let record = folder.path().join("record");
    let mut server =
        RecordServer::prepare(&record, &default_binary()).expect("bin/tigerbeetle formats");
    let chosen = server.address();
    let taken = std::net::TcpListener::bind(chosen.as_str()).expect("the chosen port is free");
    server.start().expect("the start retries on new ports");
    assert_eq!(server.state(), ServerState::Ready);
    assert_ne!(server.address(), chosen, "a new port was chosen");
    let log = std::fs::read_to_string(record.join("server.log")).expect("the server's log");
    assert!(
        log.contains("AddressInUse"),
        "the first start met the taken port: {log}"
    );
    drop(taken);
    server.destroy().expect("the server stops and its files go");
    assert!(tigerbeetle_data_files(folder.path()).is_empty());
}

/// Sets up a network namespace of its own whose loopback port range is one port, which
/// a listener holds, then runs `cabaret` with `arguments` in it. Returns `None` where
/// the machine does not let this process make a network namespace.
fn cabaret_with_no_free_port(arguments: &str) -> Option<std::process::Output> {
    let allowed = Command::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|status| status.success());
    if !allowed {
        return None;
    }
    let holder = "import socket, time\n\
        s = socket.socket(); s.bind(('127.0.0.1', 40000)); s.listen()\n\
        print('held', flush=True); time.sleep(60)";
    let script = format!(
        "ip link set lo up && echo '40000 40000' > /proc/sys/net/ipv4/ip_local_port_range \
         || exit 99\n\
         python3 -c \"{holder}\" > holder.out & holder=$!\n\
         for _ in $(seq 100); do grep -q held holder.out && break; sleep 0.1; done\n\
         grep -q held holder.out || {{ kill $holder; exit 98; }}\n\
         {} {arguments}; status=$?; kill $holder; exit $status",
        cabaret()
    );
    let folder = tempfile::tempdir().expect("a temporary folder");
    let output = Command::new("unshare")
        .args(["--net", "bash", "-c", &script])
        .current_dir(folder.path())
        .stdin(Stdio::null())
        .output()
        .expect("unshare runs");
    assert_ne!(
        output.status.code(),
        Some(99),
        "the namespace's loopback set up"
    );
    assert_ne!(
        output.status.code(),
        Some(98),
        "the holder bound port 40000"
    );
    Some(output)
}

/// Goal: with every loopback port in use, a run says so in one line and starts nothing.
/// Method: a network namespace whose port range is the one port a listener holds.
#[test]
fn an_exhausted_loopback_port_range_is_one_line_and_starts_nothing() {
    let _slot = run_slot();
    let data = tempfile::tempdir().expect("a temporary folder");
    let arguments = format!(
        "play --data-dir {} {}",
        data.path().display(),
        scenario("01-happy-path.toml").display()
    );
    let Some(output) = cabaret_with_no_free_port(&arguments) else {
        eprintln!("skipped: this machine does not allow a network namespace (unshare --net)");
        return;
    };
    let stderr = crate::support::text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no free loopback port on 127.0.0.1 (the port range may be exhausted)"),
        "{stderr}"
    );
    crate::support::assert_no_run_left(data.path());
}

/// A scenario that loads: the seed of the mutations below.
const VALID: &str = r#"title = "Fuzz seed"
seed = 1
lanes = ["record-first", "durable"]

[[step]]
do = "create"
user = "alice"
crash = "between-writes"
narration = "Alice signs up."

[step.expect.durable]
outcome = "crashed"

[[step]]
do = "fail"
store = "tigerbeetle"
how = "pause"
narration = "Paused."

[[step]]
do = "reserve"
user = "alice"
amount = 5
timeout = 2
narration = "A reservation."

[expect.durable]
verdict = "kept"
"#;

/// Every rejection names a place inside the text: line 1 or more, at most one past the
/// last line, column 1 or more.
fn assert_rejection_has_a_place(text: &str) {
    let path = Path::new("fuzz.toml");
    if let Err(error) = cabaret::domain::scenario::parse(path, text) {
        let line_count = text.split('\n').count();
        assert!(error.line >= 1 && error.line <= line_count + 1, "{error}");
        assert!(error.column >= 1, "{error}");
        assert!(!error.message.is_empty(), "{error}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("fuzz.toml:{}:{}: ", error.line, error.column)),
            "{error}"
        );
    }
}

proptest! {
    // Bounded to a few seconds: a few hundred cases of each kind.
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Goal: no input panics the loader, and every rejection has a line and column.
    /// Method: arbitrary text.
    #[test]
    fn the_loader_never_panics_on_any_text(text in "\\PC{0,200}") {
        assert_rejection_has_a_place(&text);
    }

    /// Method: a valid scenario with a slice replaced by arbitrary text (often still
    /// TOML, so the validation behind the parser is reached).
    #[test]
    fn the_loader_never_panics_on_a_mutated_scenario(
        start in 0..VALID.len(),
        length in 0usize..24,
        insert in "[\\PC\\n\\[\\]=\"'#]{0,24}",
    ) {
        let start = (0..=start).rev().find(|index| VALID.is_char_boundary(*index)).unwrap_or(0);
        let end = (start + length).min(VALID.len());
        let end = (end..=VALID.len()).find(|index| VALID.is_char_boundary(*index)).unwrap_or(VALID.len());
        let text = format!("{}{insert}{}", &VALID[..start], &VALID[end..]);
        assert_rejection_has_a_place(&text);
    }

    /// Method: values of every key drawn at random, so type and range checks are hit.
    #[test]
    fn the_loader_never_panics_on_random_values(
        seed in "-?[0-9]{0,25}(\\.[0-9]+)?|\"x\"|nan|inf",
        user in "\\PC{0,80}",
        seconds in "-?[0-9]{0,5}(\\.[0-9]{0,3})?|nan|-inf",
        amount in "-?[0-9]{0,22}",
        replicas in "[0-9]{0,3}",
    ) {
        let text = format!(
            "title = \"T\"\nseed = {seed}\nreplicas = {replicas}\nlanes = [\"durable\"]\n[[step]]\ndo = \"create\"\nuser = {user:?}\nnarration = \"n\"\n[[step]]\ndo = \"wait\"\nseconds = {seconds}\nnarration = \"n\"\n[[step]]\ndo = \"deposit\"\nuser = \"a\"\namount = {amount}\nnarration = \"n\"\n"
        );
        assert_rejection_has_a_place(&text);
    }
}
