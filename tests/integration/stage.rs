//! The stage: a step back shows the screen first shown at that step (real stores, the same
//! seed); a recording (`--record`) read back through a terminal emulator shows the final
//! verdicts; `cabaret doctor`'s failing checks each say what is wrong and what to do.

use cabaret::tui::theme::Theme;
use cabaret::tui::{Start, Tui, TuiOptions};
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::run_slot;
use crate::support::{assert_no_run_left, project_file};

/// Bounds one move of the run, a replay or a start included (TigerBeetle formats and
/// starts, one worker per lane).
const MOVE_TIMEOUT: Duration = Duration::from_secs(60);
/// A bound on the `n` presses that take a step through its hold points.
const PRESS_COUNT_MAX: usize = 16;
/// Bounds a whole autoplayed scenario in tmux, and a doctor run.
const PLAY_TIMEOUT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(100);
/// The rows above the narration at 100×30: the header and the status line, which say
/// that the state was replayed (everything below must be the same).
const HEADER_ROWS: u16 = 2;

fn crash_scenario() -> cabaret::domain::scenario::Scenario {
    cabaret::domain::scenario::load(&project_file("scenarios/02-crash-between-writes.toml"))
        .expect("the crash scenario loads")
}

/// A TUI on a test backend with its own data directory (dropped after the TUI).
struct Fixture {
    tui: Tui<TestBackend>,
    data: tempfile::TempDir,
}

/// One drawn cell: its symbol and its colors and modifiers.
type Cell = (String, ratatui::style::Style);

impl Fixture {
    fn new(width: u16, height: u16) -> Fixture {
        let data = tempfile::tempdir().expect("a temporary directory");
        let start = Start::Scenario(Box::new(crash_scenario()));
        let mut options =
            TuiOptions::new(start, data.path().to_path_buf()).expect("options for the TUI");
        options.executable = PathBuf::from(env!("CARGO_BIN_EXE_cabaret"));
        options.theme = Theme::high_contrast();
        let terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
        let tui = Tui::new(terminal, options).expect("the TUI starts");
        Fixture { tui, data }
    }

    fn settle(&mut self) {
        let settled = self
            .tui
            .pump_until(MOVE_TIMEOUT, |app| app.is_idle() && app.is_running())
            .expect("drawing works");
        assert!(settled, "the run did not settle:\n{}", self.text());
    }

    fn press(&mut self, code: KeyCode) {
        self.tui.press(code);
        self.settle();
    }

    /// Presses `n` until the step in progress has run to its end.
    fn finish_step(&mut self) {
        for _press in 0..PRESS_COUNT_MAX {
            self.press(KeyCode::Char('n'));
            let held = self
                .tui
                .app()
                .last_report()
                .is_some_and(|report| !report.complete);
            if !held {
                return;
            }
        }
        panic!("the step did not end in {PRESS_COUNT_MAX} presses");
    }

    fn text(&self) -> String {
        let buffer = self.tui.terminal().backend().buffer();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    /// Every cell below the header, symbol and style, row by row.
    fn below_header(&self) -> Vec<Vec<Cell>> {
        let buffer = self.tui.terminal().backend().buffer();
        (HEADER_ROWS..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| {
                        let cell = &buffer[(x, y)];
                        (cell.symbol().to_string(), cell.style())
                    })
                    .collect()
            })
            .collect()
    }

    fn quit_and_check_clean(mut self) {
        self.tui.press(KeyCode::Char('q'));
        let _ = self
            .tui
            .pump_until(Duration::from_secs(20), |_| false)
            .expect("drawing works");
        assert!(self.tui.is_done(), "quitting did not end the loop");
        assert_no_run_left(self.data.path());
    }
}

/// The first differing row, for a readable failure.
fn first_difference(first: &[Vec<Cell>], again: &[Vec<Cell>]) -> String {
    let row_text = |row: &[Cell]| row.iter().map(|cell| cell.0.as_str()).collect::<String>();
    first
        .iter()
        .zip(again)
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(index, (a, b))| {
            format!(
                "row {}:\nfirst: {}\nagain: {}",
                index + usize::from(HEADER_ROWS),
                row_text(a),
                row_text(b)
            )
        })
        .unwrap_or_default()
}

/// The screen after a step back (b) equals the screen first shown at that step, and so
/// does a jump forward again with a digit; the header says the state was replayed.
#[test]
fn a_step_back_shows_the_screen_first_shown_at_that_step() {
    let _slot = run_slot();
    let mut fixture = Fixture::new(100, 30);
    fixture.settle();
    let mut first = vec![fixture.below_header()];
    for _step in 0..3 {
        fixture.finish_step();
        first.push(fixture.below_header());
    }
    // Back from step 3 to step 2: a replay on fresh stores.
    fixture.press(KeyCode::Char('b'));
    let header = fixture.text();
    assert!(
        header
            .lines()
            .next()
            .unwrap()
            .contains("step 2 of 4 · replayed"),
        "{header}"
    );
    assert!(
        header.contains("Replayed to step 2: fresh stores, same seed"),
        "{header}"
    );
    let again = fixture.below_header();
    assert!(first[2] == again, "{}", first_difference(&first[2], &again));
    // A digit jumps back further (replay), then forward again (steps on).
    fixture.press(KeyCode::Char('1'));
    let again = fixture.below_header();
    assert!(first[1] == again, "{}", first_difference(&first[1], &again));
    fixture.press(KeyCode::Char('3'));
    let again = fixture.below_header();
    assert!(first[3] == again, "{}", first_difference(&first[3], &again));
    assert!(!fixture.text().lines().next().unwrap().contains("replayed"));
    fixture.quit_and_check_clean();
}

/// A tmux server with one window, for the tests that need a real terminal.
struct Tmux {
    socket: String,
    data: tempfile::TempDir,
}

impl Tmux {
    fn start(name: &str, width: u16, height: u16, command: &str) -> Tmux {
        let data = tempfile::tempdir().expect("a temporary directory");
        let tmux = Tmux {
            socket: format!("cabaret-stage-{}-{name}", std::process::id()),
            data,
        };
        let command = command.replace("{data}", &tmux.data.path().display().to_string());
        let done = tmux.data.path().join("exited");
        let shell = format!("{command}; echo $? > {}; sleep 60", done.display());
        tmux.tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "stage",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "-c",
            env!("CARGO_MANIFEST_DIR"),
            "-e",
            "TERM=xterm-256color",
            &shell,
        ]);
        tmux
    }

    fn tmux(&self, arguments: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(arguments)
            .output()
            .expect("tmux runs (is it installed? bin/setup --with-test-tools)");
        assert!(
            output.status.success(),
            "tmux {arguments:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "stage"])
    }

    /// Waits for the command to end; returns its exit code.
    fn wait_exit(&self) -> i32 {
        let file = self.data.path().join("exited");
        let deadline = Instant::now() + PLAY_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(&file) {
                if let Ok(code) = text.trim().parse() {
                    return code;
                }
            }
            std::thread::sleep(POLL);
        }
        panic!("the command did not end:\n{}", self.screen());
    }
}

impl Tmux {
    /// Ends the tmux server (its window waits with `sleep` after the command), so that
    /// what is left of the run can be checked apart from the window that ran it.
    fn end(&self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.end();
    }
}

/// Replays an asciicast v2 file through a terminal emulator; returns its header and
/// the final screen.
fn replay(path: &Path) -> (serde_json::Value, String) {
    let text = std::fs::read_to_string(path).expect("the recording exists");
    let mut lines = text.lines();
    let header: serde_json::Value =
        serde_json::from_str(lines.next().expect("a header line")).expect("a JSON header");
    let rows = header["height"].as_u64().expect("a height") as u16;
    let columns = header["width"].as_u64().expect("a width") as u16;
    let mut parser = vt100::Parser::new(rows, columns, 0);
    let mut last_time = 0.0;
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line).expect("one event a line");
        let time = event[0].as_f64().expect("a time");
        assert!(time >= last_time, "times go forward: {line}");
        last_time = time;
        let data = event[2].as_str().expect("the event's text");
        match event[1].as_str() {
            Some("o") => parser.process(data.as_bytes()),
            Some("r") => {
                let (columns, rows) = data.split_once('x').expect("COLSxROWS");
                parser.set_size(
                    rows.parse().expect("rows"),
                    columns.parse().expect("columns"),
                );
            }
            other => panic!("an event of an unknown kind {other:?}: {line}"),
        }
    }
    (header, parser.screen().contents())
}

/// `play --tui --record` writes what the terminal showed: replayed through a terminal
/// emulator, the recording ends on the scenario's verdicts. With `--then-quit` (as
/// `bin/record-talk` plays every scenario) the TUI ends by itself after them.
#[test]
fn a_recording_replays_to_the_final_verdicts() {
    let _slot = run_slot();
    let cast = "{data}/talk.cast";
    let command = format!(
        "{} play --tui --pace 300ms --then-quit --data-dir {{data}}/runs --record {cast} scenarios/02-crash-between-writes.toml",
        env!("CARGO_BIN_EXE_cabaret")
    );
    let tmux = Tmux::start("record", 100, 30, &command);
    assert_eq!(tmux.wait_exit(), 0, "{}", tmux.screen());
    let (header, screen) = replay(&tmux.data.path().join("talk.cast"));
    assert_eq!(header["version"], 2);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(100), Some(30))
    );
    assert!(
        screen.contains(
            "Verdicts: record-first BROKEN  read-reference BROKEN  write-last-read-first kept"
        ),
        "{screen}"
    );
    assert!(screen.contains("step 4 of 4 · finished"), "{screen}");
    tmux.end();
    assert_no_run_left(tmux.data.path());
}

/// Runs `cabaret doctor` with no controlling terminal (a new session), as a script would.
fn doctor_off_terminal(arguments: &[&str], tigerbeetle: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cabaret"));
    command
        .arg("doctor")
        .args(arguments)
        .env("CABARET_TIGERBEETLE", tigerbeetle)
        .stdin(Stdio::null());
    // SAFETY: setsid is async-signal-safe; it leaves the terminal of the test run.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    command.output().expect("cabaret runs")
}

fn line_of<'a>(text: &'a str, check: &str) -> &'a str {
    text.lines()
        .find(|line| line.split_whitespace().nth(1) == Some(check))
        .unwrap_or_else(|| panic!("no `{check}` line in:\n{text}"))
}

#[test]
fn doctor_says_a_missing_binary_and_a_missing_terminal_and_what_to_do() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let missing = data.path().join("no-such-tigerbeetle");
    let output = doctor_off_terminal(
        &["--data-dir", &data.path().display().to_string()],
        &missing,
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let binary = line_of(&text, "tigerbeetle");
    assert!(binary.starts_with("FAIL"), "{binary}");
    assert!(
        binary.contains("is missing: run bin/setup to build it"),
        "{binary}"
    );
    let terminal = line_of(&text, "terminal");
    assert!(terminal.starts_with("FAIL"), "{terminal}");
    assert!(terminal.contains("run `cabaret doctor` in the terminal you will present from"));
    // Nothing is started without a binary.
    assert!(line_of(&text, "server").contains("not tried: fix the checks above first"));
    assert!(
        text.contains("fix the FAIL lines above before the talk"),
        "{text}"
    );
    for passing in ["disk", "memory", "ports"] {
        assert!(line_of(&text, passing).starts_with("ok"), "{text}");
    }
}

/// Too little disk: a 64 MB file system (tmpfs; mounting one needs root).
#[test]
fn doctor_says_too_little_disk_and_what_to_do() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
        .arg(data.path())
        .status()
        .is_ok_and(|status| status.success());
    if !mounted {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let output = doctor_off_terminal(
        &[
            "--data-dir",
            &data.path().join("runs").display().to_string(),
        ],
        &project_file("bin/tigerbeetle"),
    );
    let _ = Command::new("umount").arg(data.path()).status();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let disk = line_of(&text, "disk");
    assert!(disk.starts_with("FAIL"), "{disk}");
    assert!(disk.contains("0.1 GB free where"), "{disk}");
    assert!(
        disk.contains("free some space or pass --data-dir on a larger disk"),
        "{disk}"
    );
    assert!(line_of(&text, "server").contains("not tried"));
}

/// Too small a terminal: the real one, 70×20 in tmux; the server and one scenario still
/// run, each with its line.
#[test]
fn doctor_says_a_terminal_is_too_small_and_what_to_do() {
    let _slot = run_slot();
    let command = format!(
        "{} doctor --data-dir {{data}}/runs scenarios/01-happy-path.toml > {{data}}/doctor.txt",
        env!("CARGO_BIN_EXE_cabaret")
    );
    let tmux = Tmux::start("doctor", 70, 20, &command);
    assert_eq!(tmux.wait_exit(), 1);
    let text = std::fs::read_to_string(tmux.data.path().join("doctor.txt")).expect("the output");
    let terminal = line_of(&text, "terminal");
    assert!(terminal.starts_with("FAIL"), "{terminal}");
    assert!(
        terminal.contains("70×20 is too small: the TUI needs 80×24"),
        "{terminal}"
    );
    assert!(terminal.contains("enlarge the window or make the font smaller"));
    assert!(line_of(&text, "tigerbeetle").contains("0.16.78"), "{text}");
    assert!(line_of(&text, "server").starts_with("ok"), "{text}");
    let scenario = line_of(&text, "scenario");
    assert!(
        scenario.starts_with("ok") && scenario.contains("01-happy-path.toml green in"),
        "{text}"
    );
    tmux.end();
    assert_no_run_left(tmux.data.path());
}

/// Benchmark, not a test (run with `-- --ignored --nocapture`): the time of a step back
/// from the last step, key to the replayed screen settled, for the crash scenario and
/// the scenarios with the most steps. A replay runs every step again at the stores'
/// speed, the bounded waits of paused or killed servers included.
#[test]
#[ignore = "a benchmark: prints numbers, asserts only that it measured"]
fn benchmark_step_back_from_the_last_step() {
    const ROUNDS: usize = 3;
    let _slot = run_slot();
    for file in [
        "scenarios/02-crash-between-writes.toml",
        "scenarios/14-reservation-expires.toml",
        "scenarios/16-cluster-majority.toml",
    ] {
        let scenario = cabaret::domain::scenario::load(&project_file(file)).expect("it loads");
        let steps = scenario.steps.len();
        let data = tempfile::tempdir().expect("a temporary directory");
        let mut options = TuiOptions::new(Start::Scenario(Box::new(scenario)), data.path().into())
            .expect("options for the TUI");
        options.executable = PathBuf::from(env!("CARGO_BIN_EXE_cabaret"));
        let terminal = Terminal::new(TestBackend::new(120, 40)).expect("a test terminal");
        let mut fixture = Fixture {
            tui: Tui::new(terminal, options).expect("the TUI starts"),
            data,
        };
        fixture.settle();
        let mut seconds = Vec::new();
        for _round in 0..ROUNDS {
            fixture.press(KeyCode::Char('e'));
            assert_eq!(
                fixture.tui.app().last_report().map(|r| r.step_number),
                Some(steps)
            );
            let started = Instant::now();
            fixture.press(KeyCode::Char('b'));
            seconds.push(started.elapsed().as_secs_f64());
            assert!(fixture.text().contains("replayed"), "{}", fixture.text());
        }
        println!("step back from step {steps} of {file}: {seconds:.2?} s");
        fixture.quit_and_check_clean();
    }
}

/// A recording that cannot be written stops before the screen changes: one sentence, exit 2.
#[test]
fn a_recording_into_a_missing_folder_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_cabaret"))
        .args(["--record", "/no/such/folder/talk.cast"])
        .arg(project_file("scenarios/02-crash-between-writes.toml"))
        .stdin(Stdio::null())
        .output()
        .expect("cabaret runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "cabaret: --record /no/such/folder/talk.cast: the folder /no/such/folder does not exist\n"
    );
}
