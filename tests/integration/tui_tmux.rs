//! End to end: the real `cabaret` binary in a real terminal (tmux), driven with
//! `send-keys` and read with `capture-pane`. Each test runs in its own tmux server and
//! data directory; the fixture's `Drop` kills the tmux server and any process of the run
//! still alive, so a failing test leaves nothing behind either.

use crate::support::terminal::Terminal;
use crate::support::{BINARY, MOVE_TIMEOUT, START_TIMEOUT, assert_no_run_left, columns};
use crate::support::{processes_mentioning, run_slot};
use std::process::Command;
use std::time::{Duration, Instant};

/// A bound on the `n` presses that take the crash step through its hold points.
const PRESS_COUNT_MAX: usize = 12;

/// What this file's tests ask of the shared terminal.
impl Terminal {
    /// Waits until the screen stops changing (the move's result is drawn).
    fn wait_still(&self) -> String {
        let mut previous = self.screen();
        let deadline = Instant::now() + MOVE_TIMEOUT;
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(300));
            let screen = self.screen();
            if screen == previous && !busy(&screen) {
                return screen;
            }
            previous = screen;
        }
        panic!("the screen never settled:\n{previous}");
    }

    fn cabaret(&self) -> String {
        format!("{BINARY} --data-dir {}", self.data().display())
    }
}

/// Whether the status line shows a move in progress (a spinner and its time).
fn busy(screen: &str) -> bool {
    ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
        .iter()
        .any(|frame| screen.contains(frame))
}

/// Checks the terminal after the TUI ended: the shell answers, the terminal modes are
/// the ones from before, nothing else was written on the screen, and no process of the
/// run and no TigerBeetle data file is left.
fn assert_restored_and_clean(terminal: &Terminal) {
    let after = terminal.data().join("stty-after");
    terminal.type_line(&format!(
        "stty -g > {}; echo usable-$((6 * 7))",
        after.display()
    ));
    let screen = terminal.wait_for("the shell to answer", MOVE_TIMEOUT, |screen| {
        screen.contains("usable-42")
    });
    assert!(
        !screen.contains("warning("),
        "stray output on screen:\n{screen}"
    );
    assert!(!screen.contains("panicked"), "{screen}");
    let before = std::fs::read_to_string(terminal.data().join("stty-before")).expect("stty before");
    let after = std::fs::read_to_string(after).expect("stty after");
    assert_eq!(before, after, "the terminal's modes were not restored");
    assert_no_run_left(terminal.data());
}

/// Saves the terminal's modes before the TUI starts, to compare after it ends.
fn remember_terminal_modes(terminal: &Terminal) {
    let before = terminal.data().join("stty-before");
    terminal.type_line(&format!("stty -g > {}", before.display()));
}

/// Opens the crash scenario in the TUI from the shell, and waits until its run is ready;
/// returns that first screen. The shell prints `exit=N` when the TUI ends.
fn open_crash_scenario(terminal: &Terminal) -> String {
    remember_terminal_modes(terminal);
    terminal.type_line(&format!(
        "{} scenarios/02-crash-between-writes.toml; echo exit=$?",
        terminal.cabaret()
    ));
    terminal.wait_for("the run to be ready", START_TIMEOUT, |screen| {
        screen.contains("TigerBeetle ready") && screen.contains("seed 42")
    })
}

/// A terminal named `name` whose TUI runs the crash scenario, held mid-step after one `n`
/// (workers held, TigerBeetle running): the state in which the signal tests end it.
fn crash_scenario_held_mid_step(name: &str) -> Terminal {
    let terminal = Terminal::start(name);
    open_crash_scenario(&terminal);
    terminal.press("n");
    terminal.wait_still();
    terminal
}

/// Quits the TUI with `q`, waits for it to end with exit code 0, and checks that the
/// terminal is restored and nothing of the run is left.
fn quit_and_check_clean(terminal: &Terminal) {
    terminal.press("q");
    terminal.wait_for("the TUI to end", MOVE_TIMEOUT, |screen| {
        screen.contains("exit=0")
    });
    assert_restored_and_clean(terminal);
}

/// Goal: the demo's headline, as a presenter sees it. The real binary opens the crash
/// scenario, `n` steps it through the crash between the writes, and the screen shows
/// write-last-read-first answering right beside two lanes answering wrong, with their
/// violations; `q` quits, the terminal is as before, and nothing is left running.
#[test]
fn crash_between_the_writes_end_to_end() {
    let _slot = run_slot();
    let terminal = Terminal::start("crash");
    let first = open_crash_scenario(&terminal);
    assert!(first.contains("step 0 of"), "{first}");
    let mut screen = first;
    for _press in 0..PRESS_COUNT_MAX {
        terminal.press("n");
        screen = terminal.wait_still();
        let crashed = screen.matches("crashed at between-writes").count() == 3;
        if crashed && !screen.contains("Held mid-step") {
            break;
        }
    }
    assert!(screen.contains("step 1 of"), "{screen}");
    let record_first = columns(&screen, 0, 40);
    let read_reference = columns(&screen, 40, 40);
    let write_last = columns(&screen, 80, 40);
    assert!(
        record_first.contains("answers absent · truth exists ✗ WRONG"),
        "{screen}"
    );
    assert!(record_first.contains("BROKEN wrong-answer"), "{screen}");
    assert!(
        record_first.contains("BROKEN untraceable-account"),
        "{screen}"
    );
    assert!(
        read_reference.contains("answers exists · truth absent ✗ WRONG"),
        "{screen}"
    );
    assert!(read_reference.contains("BROKEN wrong-answer"), "{screen}");
    assert!(
        read_reference.contains("BROKEN orphan-reference"),
        "{screen}"
    );
    assert!(
        write_last.contains("answers absent · truth absent ✓ right"),
        "{screen}"
    );
    assert!(write_last.contains("warning orphan-reference"), "{screen}");
    assert!(!write_last.contains("BROKEN"), "{screen}");
    quit_and_check_clean(&terminal);
}

/// Goal: SIGTERM (as from `kill` or a closing session) restores the terminal and stops
/// every worker and TigerBeetle, as `q` does.
#[test]
fn sigterm_restores_the_terminal_and_stops_every_process() {
    let _slot = run_slot();
    let terminal = crash_scenario_held_mid_step("sigterm");
    let controllers: Vec<u32> = processes_mentioning(terminal.data())
        .into_iter()
        .filter(|process| {
            process.command_line.starts_with(BINARY) && !process.command_line.contains(" worker ")
        })
        .map(|process| process.pid)
        .collect();
    assert_eq!(controllers.len(), 1, "one TUI process: {controllers:?}");
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(controllers[0].to_string())
        .status()
        .expect("kill runs");
    assert!(status.success());
    terminal.wait_for("the TUI to end", MOVE_TIMEOUT, |screen| {
        screen.contains("exit=")
    });
    assert_restored_and_clean(&terminal);
}

/// Goal: closing the terminal window (the TUI gets SIGHUP, its terminal is gone) still
/// stops every worker and TigerBeetle, deletes the data file, and ends the TUI itself.
/// Regression: the exit once hung on the input thread, spinning on the closed terminal.
#[test]
fn closing_the_window_stops_every_process() {
    let _slot = run_slot();
    let terminal = crash_scenario_held_mid_step("hangup");
    assert!(!processes_mentioning(terminal.data()).is_empty());
    terminal.tmux(&["kill-server"]);
    assert_no_run_left(terminal.data());
}

/// Goal: `play --tui --pace` steps by itself, space pauses and resumes, and the run ends
/// on its verdicts; its exit code says whether every expectation held.
#[test]
fn play_tui_autoplays_and_pauses_with_space() {
    let _slot = run_slot();
    let terminal = Terminal::start("autoplay");
    remember_terminal_modes(&terminal);
    terminal.type_line(&format!(
        "{} play --tui --pace 1s scenarios/02-crash-between-writes.toml; echo exit=$?",
        terminal.cabaret()
    ));
    let screen = terminal.wait_for("autoplay to move", START_TIMEOUT, |screen| {
        screen.contains("step 1 of")
    });
    assert!(screen.contains("autoplay ▶ every 1 s"), "{screen}");
    terminal.press("Space");
    terminal.wait_for("autoplay to pause", MOVE_TIMEOUT, |screen| {
        screen.contains("Autoplay paused")
    });
    let paused = terminal.wait_still();
    // Three paces: autoplay would have moved at least twice.
    std::thread::sleep(Duration::from_secs(3));
    let still = terminal.screen();
    assert_eq!(
        lane_rows(&paused),
        lane_rows(&still),
        "autoplay moved while paused"
    );
    assert!(!still.contains("Verdicts:"), "{still}");
    terminal.press("Space");
    let finished = terminal.wait_for("the run to end", MOVE_TIMEOUT * 2, |screen| {
        screen.contains("Verdicts:")
    });
    assert!(finished.contains("finished"), "{finished}");
    assert!(finished.contains("Every expectation held"), "{finished}");
    quit_and_check_clean(&terminal);
}

/// The rows of the lanes' panels (and the header's step), to tell whether the run moved.
fn lane_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|line| line.starts_with('│') || line.contains("seed 42"))
        .collect()
}

/// How many launches the first-frame benchmark takes.
const LAUNCH_COUNT: usize = 10;
/// A bound on the key presses of the latency benchmark.
const BENCHMARK_PRESS_COUNT_MAX: usize = 400;

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn summary(label: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    if samples.is_empty() {
        println!("{label}: no samples");
        return;
    }
    let over_target = samples.iter().filter(|sample| **sample > 50.0).count();
    println!(
        "{label}: n={} p50={:.1} ms p90={:.1} ms p99={:.1} ms max={:.1} ms; {over_target} over 50 ms",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.90),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    );
}

/// The value after `key` on the line starting with it.
fn timing_value(text: &str, key: &str) -> Option<u128> {
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
}

/// Benchmark, not a test (run with `-- --ignored --nocapture`): from launching the
/// binary to its first frame, while TigerBeetle is still starting. The shell writes the
/// wall clock just before it forks the binary; the binary, with `CABARET_TUI_TIMING`,
/// writes when its first frame was flushed and when the run became ready.
#[test]
#[ignore = "a benchmark: prints numbers, asserts only that it measured"]
fn benchmark_launch_to_first_frame() {
    let _slot = run_slot();
    let terminal = Terminal::start("bench-launch");
    remember_terminal_modes(&terminal);
    let mut first_frame_ms = Vec::new();
    let mut ready_ms = Vec::new();
    for launch in 0..LAUNCH_COUNT {
        let launched = terminal.data().join(format!("launched-{launch}"));
        let timing = terminal.data().join(format!("timing-{launch}"));
        terminal.type_line(&format!(
            "date +%s%N > {}; CABARET_TUI_TIMING={} {} scenarios/02-crash-between-writes.toml; echo done-{launch}",
            launched.display(),
            timing.display(),
            terminal.cabaret()
        ));
        terminal.wait_for("the run to be ready", START_TIMEOUT, |screen| {
            screen.contains("TigerBeetle ready")
        });
        terminal.press("q");
        terminal.wait_for("the TUI to end", MOVE_TIMEOUT, |screen| {
            screen.contains(&format!("done-{launch}"))
        });
        let launched_ns: u128 = std::fs::read_to_string(&launched)
            .expect("the launch time")
            .trim()
            .parse()
            .expect("nanoseconds");
        let text = std::fs::read_to_string(&timing).expect("the timings");
        let first_us = timing_value(&text, "first-frame-epoch-us").expect("a first frame");
        let ready_us = timing_value(&text, "run-started-epoch-us").expect("a ready run");
        assert!(
            first_us < ready_us,
            "the first frame came after the run was ready"
        );
        first_frame_ms.push((first_us * 1000 - launched_ns) as f64 / 1e6);
        ready_ms.push((ready_us * 1000 - launched_ns) as f64 / 1e6);
    }
    summary("launch to first frame", first_frame_ms);
    summary("launch to run ready (TigerBeetle and workers up)", ready_ms);
    assert_restored_and_clean(&terminal);
}

/// Benchmark, not a test: from a key press (read from the terminal) to the frame that
/// shows its result, for `n` through a scenario of many account creations; each press
/// releases the workers to their next hold point, so many include a loopback write to
/// TigerBeetle, and every one reads both stores for every lane.
#[test]
#[ignore = "a benchmark: prints numbers, asserts only that it measured"]
fn benchmark_key_to_frame() {
    let _slot = run_slot();
    let terminal = Terminal::start("bench-keys");
    remember_terminal_modes(&terminal);
    let scenario = terminal.data().join("many-creations.toml");
    let mut text = String::from(
        "title = \"Many creations\"\nsummary = \"One account after another.\"\nseed = 7\n\
         lanes = [\"record-first\", \"read-reference\", \"write-last-read-first\"]\n",
    );
    for user in 0..30 {
        text.push_str(&format!(
            "\n[[step]]\ndo = \"create\"\nuser = \"user{user:02}\"\nnarration = \"Another one.\"\n"
        ));
    }
    std::fs::write(&scenario, text).expect("the benchmark scenario");
    let timing = terminal.data().join("timing-keys");
    terminal.type_line(&format!(
        "CABARET_TUI_TIMING={} {} {}; echo done",
        timing.display(),
        terminal.cabaret(),
        scenario.display()
    ));
    terminal.wait_for("the run to be ready", START_TIMEOUT, |screen| {
        screen.contains("TigerBeetle ready") && screen.contains("Press n")
    });
    for _press in 0..BENCHMARK_PRESS_COUNT_MAX {
        terminal.press("n");
        std::thread::sleep(Duration::from_millis(250));
        if terminal.screen().contains("· finished") {
            break;
        }
    }
    terminal.press("q");
    terminal.wait_for("the TUI to end", MOVE_TIMEOUT, |screen| {
        screen.lines().any(|line| line == "done")
    });
    let text = std::fs::read_to_string(&timing).expect("the timings");
    let mut all = Vec::new();
    let mut writes = Vec::new();
    let mut drawing = Vec::new();
    for line in text.lines().filter(|line| line.starts_with("key n ")) {
        // key n latency-us N record-write|no-record-write report-to-frame-us M
        let fields: Vec<&str> = line.split_whitespace().collect();
        let milliseconds = |field: &str| field.parse::<f64>().expect("microseconds") / 1000.0;
        all.push(milliseconds(fields[3]));
        if fields[4] == "record-write" {
            writes.push(milliseconds(fields[3]));
        }
        drawing.push(milliseconds(fields[6]));
    }
    assert!(all.len() > 100, "too few samples: {}", all.len());
    summary("key n to its frame, every move", all);
    summary("key n to its frame, moves with a TigerBeetle write", writes);
    summary("of which the UI: report arrived to frame drawn", drawing);
    assert_restored_and_clean(&terminal);
}
