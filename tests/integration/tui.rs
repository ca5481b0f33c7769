//! Render tests of the TUI: the real loop (`Tui`) on ratatui's `TestBackend` at fixed
//! sizes, driven with keys, asserting on the drawn buffer. Runs are real: TigerBeetle and
//! SQLite start for real in a temporary data directory, and every test checks that no
//! process of its run is left and that TigerBeetle's data file is gone afterwards (the
//! fixture's `Drop` stops everything even when an assertion fails first).

use crate::support::{BINARY, MOVE_TIMEOUT, START_TIMEOUT, assert_no_run_left, columns};
use crate::support::{project_file, run_slot};
use cabaret::tui::theme::Theme;
use cabaret::tui::{Mode, Start, Tui, TuiOptions};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use std::path::PathBuf;
use std::time::Duration;

/// A bound on the `n` presses that take a step through its hold points.
const PRESS_COUNT_MAX: usize = 16;

fn crash_scenario() -> cabaret::domain::scenario::Scenario {
    cabaret::domain::scenario::load(&project_file("scenarios/02-crash-between-writes.toml"))
        .expect("the crash scenario loads")
}

/// A TUI on a test backend, with its own data directory. Field order matters: the TUI
/// (and its run) is dropped before the directory is deleted.
struct Fixture {
    tui: Tui<TestBackend>,
    data: tempfile::TempDir,
}

impl Fixture {
    fn new(start: Start, width: u16, height: u16, theme: Theme) -> Fixture {
        let data = tempfile::tempdir().expect("a temporary directory");
        let mut options =
            TuiOptions::new(start, data.path().to_path_buf()).expect("options for the TUI");
        options.executable = PathBuf::from(BINARY);
        options.theme = theme;
        let terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
        let tui = Tui::new(terminal, options).expect("the TUI starts");
        Fixture { tui, data }
    }

    fn screen(&self) -> String {
        screen_text(self.tui.terminal().backend())
    }

    fn press(&mut self, code: KeyCode) {
        self.tui.press(code);
    }

    /// Pumps events until the app is idle and running (or `timeout`), then draws.
    fn settle(&mut self, timeout: Duration) {
        let settled = self
            .tui
            .pump_until(timeout, |app| app.is_idle() && app.is_running())
            .expect("drawing works");
        assert!(settled, "the run did not settle:\n{}", self.screen());
    }

    /// Presses `n` until the current step has run to its end (nothing held).
    fn finish_step(&mut self) {
        for _press in 0..PRESS_COUNT_MAX {
            self.press(KeyCode::Char('n'));
            self.settle(MOVE_TIMEOUT);
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

    /// Quits like a user, then checks that nothing of the run is left behind.
    fn quit_and_check_clean(mut self) {
        self.tui.press(KeyCode::Char('q'));
        let done = self
            .tui
            .pump_until(Duration::from_secs(20), |_| false)
            .expect("drawing works");
        assert!(!done);
        assert!(self.tui.is_done(), "quitting did not end the loop");
        assert_no_run_left(self.data.path());
    }
}

/// The backend's buffer as text, one line per row.
fn screen_text(backend: &TestBackend) -> String {
    let buffer = backend.buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

/// Goal: the picker lists every scenario file with its title and summary, says why a
/// broken file cannot be played, and moves the selection with the arrow keys.
/// Method: a folder with a copy of the crash scenario and a file with a TOML error.
#[test]
fn picker_lists_scenarios_with_title_summary_and_errors() {
    let folder = tempfile::tempdir().expect("a temporary directory");
    let scenario = crash_scenario();
    std::fs::copy(
        project_file("scenarios/02-crash-between-writes.toml"),
        folder.path().join("02-crash.toml"),
    )
    .expect("copying the scenario");
    std::fs::write(folder.path().join("03-broken.toml"), "title = \n").expect("a broken file");
    std::fs::write(folder.path().join("notes.txt"), "not a scenario").expect("a text file");
    let mut fixture = Fixture::new(
        Start::Picker(folder.path().to_path_buf()),
        100,
        30,
        Theme::high_contrast(),
    );
    let listed = fixture
        .tui
        .pump_until(START_TIMEOUT, |app| app.picker_entries().is_some())
        .expect("drawing works");
    assert!(listed, "the files were not listed:\n{}", fixture.screen());
    assert_eq!(fixture.tui.app().picker_entries().map(<[_]>::len), Some(2));
    let screen = fixture.screen();
    assert!(screen.contains("Consistency Cabaret"), "{screen}");
    assert!(screen.contains("Pick a scenario"), "{screen}");
    assert!(
        screen.contains(&format!("▶  {} ", scenario.title)),
        "{screen}"
    );
    assert!(screen.contains(&scenario.summary), "{screen}");
    assert!(screen.contains("02-crash.toml · 3 lanes"), "{screen}");
    assert!(screen.contains("03-broken.toml"), "{screen}");
    assert!(screen.contains("cannot be played: "), "{screen}");
    assert!(
        screen.contains("03-broken.toml:1:"),
        "the error names file, line and column"
    );
    assert!(!screen.contains("notes.txt"), "{screen}");
    fixture.press(KeyCode::Down);
    fixture.tui.draw().expect("drawing works");
    let screen = fixture.screen();
    assert!(screen.contains("▶  03-broken.toml "), "{screen}");
    assert!(
        !screen.contains(&format!("▶  {} ", scenario.title)),
        "{screen}"
    );
    // Opening a broken file says why instead of starting anything.
    fixture.press(KeyCode::Enter);
    fixture.tui.draw().expect("drawing works");
    assert_eq!(fixture.tui.app().mode, Mode::Picker);
    assert!(fixture.screen().contains("could not be opened"));
    fixture.quit_and_check_clean();
}

/// Goal: the first frame comes while TigerBeetle is still starting and says so, with the
/// wait's time; once ready, the scenario before any step shows every lane's stores, the
/// question and its right answer, and no violation.
#[test]
fn scenario_before_any_step() {
    let _slot = run_slot();
    let scenario = crash_scenario();
    let mut fixture = Fixture::new(
        Start::Scenario(Box::new(scenario.clone())),
        120,
        40,
        Theme::high_contrast(),
    );
    fixture.tui.draw().expect("drawing works");
    let first = fixture.screen();
    assert!(first.contains("TigerBeetle starting"), "{first}");
    assert!(first.contains("starting its worker…"), "{first}");
    assert!(
        first.contains(&strip_to_width(&scenario.summary, 60)),
        "{first}"
    );
    // A wait that lasts shows what it waits for and for how long (TigerBeetle takes a
    // second or more to start; a wait under 150 ms shows nothing, to avoid flicker).
    let waiting = fixture
        .tui
        .pump_until(START_TIMEOUT, |app| {
            app.waiting.as_ref().is_some_and(|waiting| {
                app.now.saturating_duration_since(waiting.since) >= Duration::from_millis(300)
            })
        })
        .expect("drawing works");
    assert!(waiting);
    let screen = fixture.screen();
    let wait = fixture.tui.app().waiting.clone().expect("a wait");
    assert!(
        screen.contains(&format!("waiting for {}… ", wait.what)),
        "{screen}"
    );
    let timeout = cabaret::tui::strings::seconds(wait.timeout);
    assert!(screen.contains(&format!(" s of {timeout}")), "{screen}");

    fixture.settle(START_TIMEOUT);
    let screen = fixture.screen();
    let step_count = scenario.steps.len();
    assert!(
        screen.contains(&format!("step 0 of {step_count}")),
        "{screen}"
    );
    assert!(screen.contains("TigerBeetle ready"), "{screen}");
    assert!(screen.contains("seed 42"), "{screen}");
    assert!(screen.contains("Before the first step"), "{screen}");
    for title in ["record first", "read reference", "write last, read first"] {
        assert!(screen.contains(title), "{title} missing:\n{screen}");
    }
    assert_eq!(screen.matches("no request yet").count(), 3, "{screen}");
    assert_eq!(
        screen.matches("alice: nothing written").count(),
        3,
        "{screen}"
    );
    assert_eq!(screen.matches("Does alice exist?").count(), 3, "{screen}");
    assert_eq!(
        screen
            .matches("answers absent · truth absent ✓ right")
            .count(),
        3,
        "{screen}"
    );
    assert_eq!(screen.matches("✓ no property broken").count(), 3);
    assert!(!screen.contains("BROKEN"), "{screen}");
    assert!(!screen.contains("WRONG"), "{screen}");
    fixture.quit_and_check_clean();
}

/// The first `width` characters of `text`, cut at a space (narration wraps at spaces).
fn strip_to_width(text: &str, width: usize) -> String {
    let cut: String = text.chars().take(width).collect();
    match cut.rfind(' ') {
        Some(space) => cut[..space].to_string(),
        None => cut,
    }
}

/// Goal: the headline. After a crash between the writes, each lane shows what its
/// stores hold and its answer against the truth: record-first and read-reference wrong,
/// write-last-read-first right, each violation in words with its severity; at the end,
/// the verdicts. Method: the crash scenario at 120×40 (three lanes of 40 columns),
/// stepped with `n` through every hold point, then `e` to the end.
#[test]
fn crash_between_the_writes_shows_answers_violations_and_verdicts() {
    let _slot = run_slot();
    let mut fixture = Fixture::new(
        Start::Scenario(Box::new(crash_scenario())),
        120,
        40,
        Theme::high_contrast(),
    );
    fixture.settle(START_TIMEOUT);
    fixture.press(KeyCode::Char('n'));
    fixture.settle(MOVE_TIMEOUT);
    let held = fixture.screen();
    assert!(held.contains("held at before-first-write"), "{held}");
    assert!(held.contains("Held mid-step"), "{held}");
    fixture.finish_step();
    let screen = fixture.screen();
    assert!(screen.contains("step 1 of "), "{screen}");
    assert_three_lanes_after_the_crash(&screen);

    // The help overlay covers the scenario, and any key closes it.
    fixture.press(KeyCode::Char('?'));
    fixture.tui.draw().expect("drawing works");
    assert!(fixture.screen().contains("crash the held workers now"));
    fixture.press(KeyCode::Char('x'));
    fixture.tui.draw().expect("drawing works");
    assert!(!fixture.screen().contains("crash the held workers now"));

    fixture.press(KeyCode::Char('e'));
    let finished = fixture
        .tui
        .pump_until(MOVE_TIMEOUT * 4, |app| {
            app.is_idle() && app.summary().is_some()
        })
        .expect("drawing works");
    assert!(finished, "the run did not end:\n{}", fixture.screen());
    let screen = fixture.screen();
    assert!(screen.contains("finished"), "{screen}");
    assert!(
        screen.contains(
            "Verdicts: record-first BROKEN  read-reference BROKEN  write-last-read-first kept"
        ),
        "{screen}"
    );
    assert!(screen.contains("Every expectation held"), "{screen}");
    assert!(columns(&screen, 0, 40).contains(" BROKEN ┐"));
    assert!(columns(&screen, 80, 40).contains(" kept ┐"));
    fixture.quit_and_check_clean();
}

/// The crash step's screen at 120×40, one lane per 40 columns: every lane crashed between
/// the writes; record-first and read-reference answer wrong, each with its broken
/// properties; write-last-read-first answers right with a warning only.
fn assert_three_lanes_after_the_crash(screen: &str) {
    let record_first = columns(screen, 0, 40);
    let read_reference = columns(screen, 40, 40);
    let write_last = columns(screen, 80, 40);
    for lane in [&record_first, &read_reference, &write_last] {
        assert!(lane.contains("crashed at between-writes"), "{lane}");
        assert!(
            lane.contains("X alice: crashed between the writes"),
            "{lane}"
        );
    }
    assert!(
        record_first.contains("TigerBeetle: created"),
        "{record_first}"
    );
    assert!(record_first.contains("answers absent · truth exists ✗ WRONG"));
    assert!(
        record_first.contains("BROKEN wrong-answer"),
        "{record_first}"
    );
    assert!(
        record_first.contains("BROKEN untraceable-account"),
        "{record_first}"
    );
    assert!(
        read_reference.contains("SQLite: created"),
        "{read_reference}"
    );
    assert!(read_reference.contains("answers exists · truth absent ✗ WRONG"));
    assert!(
        read_reference.contains("BROKEN wrong-answer"),
        "{read_reference}"
    );
    assert!(read_reference.contains("BROKEN orphan-reference"));
    assert!(write_last.contains("answers absent · truth absent ✓ right"));
    assert!(
        write_last.contains("warning orphan-reference"),
        "{write_last}"
    );
    assert!(!write_last.contains("BROKEN"), "{write_last}");
    assert!(!write_last.contains("WRONG"), "{write_last}");
}

/// Goal: every move pressed by hand acts on the real stores, shows on screen, and is
/// recorded in the run's transcript like a scripted one; `h` heals the faults.
/// Method: 80×24 (two lanes shown): lock SQLite, pause TigerBeetle, heal, kill it, heal
/// (a real restart from its data file); crash-now with nothing held is refused, then
/// crashes held workers; restart, recover, reset; Tab moves the lanes. One run carries
/// the moves from one to the next, in the helpers below, each named for what it checks.
#[test]
fn faults_by_hand_show_and_are_recorded() {
    let _slot = run_slot();
    let mut fixture = Fixture::new(
        Start::Scenario(Box::new(crash_scenario())),
        80,
        24,
        Theme::no_color(),
    );
    fixture.settle(START_TIMEOUT);
    assert_two_lanes_fit_with_the_key_list_and_tab(&mut fixture);

    fixture.press(KeyCode::Char('c'));
    fixture.tui.draw().expect("drawing works");
    assert!(
        fixture.screen().contains("Nothing is held"),
        "{}",
        fixture.screen()
    );

    fail_and_heal_each_store_by_hand(&mut fixture);
    let transcript = fixture
        .data
        .path()
        .join("02-crash-between-writes/transcript.txt");
    let text = std::fs::read_to_string(&transcript).expect("the transcript");
    assert_eq!(text.matches("\nBy hand ").count(), 6, "{text}");
    assert!(
        text.contains("fail: TigerBeetle paused (SIGSTOP)"),
        "{text}"
    );
    assert!(text.contains("TigerBeetle killed (SIGKILL)"), "{text}");

    crash_restart_and_recover_by_hand(&mut fixture);

    // Reset: fresh stores, a new TigerBeetle, the timeline empty again.
    fixture.press(KeyCode::Char('R'));
    fixture.settle(START_TIMEOUT);
    let screen = fixture.screen();
    assert!(screen.contains("step 0 of"), "{screen}");
    assert_eq!(screen.matches("no request yet").count(), 2, "{screen}");
    assert!(!screen.contains("by hand"), "{screen}");
    fixture.quit_and_check_clean();
}

/// At 80×24, two lanes fit: the one that reads SQLite beside the one that reads
/// TigerBeetle first; the whole key list fits over the scenario, Esc closes it, and Tab
/// brings the third lane.
fn assert_two_lanes_fit_with_the_key_list_and_tab(fixture: &mut Fixture) {
    let screen = fixture.screen();
    assert!(screen.contains("read reference"), "{screen}");
    assert!(screen.contains("write last, read first"), "{screen}");
    assert!(!screen.contains("record first"), "{screen}");
    // At the smallest size the whole key list fits over the scenario.
    fixture.press(KeyCode::Char('?'));
    fixture.tui.draw().expect("drawing works");
    let screen = fixture.screen();
    assert!(screen.contains("next: move one hold point on"), "{screen}");
    assert!(
        screen.contains("quit (stops every worker and TigerBeetle)"),
        "{screen}"
    );
    assert!(screen.contains("Timeline: + went through"), "{screen}");
    assert!(screen.contains("Transcript of this run: "), "{screen}");
    fixture.press(KeyCode::Esc);
    assert_eq!(fixture.tui.app().mode, Mode::Scenario);
    fixture.press(KeyCode::Tab);
    fixture.tui.draw().expect("drawing works");
    let screen = fixture.screen();
    assert!(screen.contains("record first"), "{screen}");
    assert!(!screen.contains("read reference"), "{screen}");
}

/// Locks SQLite, pauses TigerBeetle, heals both, kills TigerBeetle and heals it again (a
/// restart from its data file), checking the screen after each move: six moves by hand.
fn fail_and_heal_each_store_by_hand(fixture: &mut Fixture) {
    fixture.press(KeyCode::Char('s'));
    fixture.settle(MOVE_TIMEOUT);
    let screen = fixture.screen();
    assert!(
        screen.contains("by hand: SQLite's write lock is"),
        "{screen}"
    );
    fixture.press(KeyCode::Char('p'));
    fixture.settle(MOVE_TIMEOUT);
    let screen = fixture.screen();
    assert!(screen.contains("TigerBeetle paused"), "{screen}");
    assert!(
        screen.contains("no answer"),
        "a paused TigerBeetle does not answer:\n{screen}"
    );
    fixture.press(KeyCode::Char('h'));
    fixture.settle(MOVE_TIMEOUT);
    let screen = fixture.screen();
    assert!(screen.contains("TigerBeetle ready"), "{screen}");
    assert!(screen.contains("TigerBeetle resumed"), "{screen}");
    assert!(screen.contains("     released"), "{screen}");
    fixture.press(KeyCode::Char('k'));
    fixture.settle(MOVE_TIMEOUT);
    assert!(
        fixture.screen().contains("TigerBeetle down"),
        "{}",
        fixture.screen()
    );
    fixture.press(KeyCode::Char('h'));
    fixture.settle(START_TIMEOUT);
    let screen = fixture.screen();
    assert!(screen.contains("TigerBeetle ready"), "{screen}");
    assert!(screen.contains("from its data file"), "{screen}");
}

/// Crash now: the workers die where they hold (before the first write), not where the
/// scenario would have crashed them; then restart them and run recovery.
fn crash_restart_and_recover_by_hand(fixture: &mut Fixture) {
    fixture.press(KeyCode::Char('n'));
    fixture.settle(MOVE_TIMEOUT);
    assert!(fixture.screen().contains("held at before-first-write"));
    fixture.press(KeyCode::Char('c'));
    fixture.settle(MOVE_TIMEOUT);
    let screen = fixture.screen();
    assert_eq!(
        screen.matches("crashed at before-first-write").count(),
        2,
        "{screen}"
    );
    fixture.press(KeyCode::Char('r'));
    fixture.settle(MOVE_TIMEOUT);
    let screen = fixture.screen();
    assert!(
        screen.contains("By hand: restart crashed workers"),
        "{screen}"
    );
    assert!(screen.contains("worker restarted"), "{screen}");
    assert_eq!(screen.matches("worker  running").count(), 2, "{screen}");
    fixture.press(KeyCode::Char('v'));
    fixture.settle(MOVE_TIMEOUT);
    assert!(fixture.screen().contains("By hand: run recovery"));
}

/// Goal: the key list opens over the picker with every group of keys, and any key
/// closes it; `g` draws the grid of four there too, a lane in each corner. Method: the
/// picker at the smallest supported size, 80×24.
#[test]
fn help_overlay_lists_every_key() {
    let mut fixture = Fixture::new(
        Start::Picker(project_file("scenarios")),
        80,
        24,
        Theme::high_contrast(),
    );
    fixture.press(KeyCode::Char('?'));
    fixture.tui.draw().expect("drawing works");
    let screen = fixture.screen();
    for text in [
        " Keys ",
        "Scenario list",
        "Stepping",
        "next: move one hold point on",
        "Faults, by hand",
        "crash the held workers now",
        "fail SQLite",
        "fail TigerBeetle: p pauses it (SIGSTOP)",
        "k kills it (SIGKILL)",
        "heal: release SQLite",
        "restart crashed workers",
        "this list · quit",
        "the grid of four: write order × read source",
        "Timeline: + went through",
        "any key closes this list",
    ] {
        assert!(screen.contains(text), "{text} missing:\n{screen}");
    }
    fixture.press(KeyCode::Char('z'));
    fixture.tui.draw().expect("drawing works");
    assert_eq!(fixture.tui.app().mode, Mode::Picker);
    assert!(!fixture.screen().contains("any key closes this list"));
    // `g` draws the grid of four over the picker too: a lane in each corner.
    fixture.press(KeyCode::Char('g'));
    fixture.tui.draw().expect("drawing works");
    let screen = fixture.screen();
    for lane in [
        "record-first ",
        "record-first-read-record",
        "read-reference",
        "write-last-read-first",
    ] {
        assert!(screen.contains(lane), "{lane} missing:\n{screen}");
    }
    fixture.press(KeyCode::Char('z'));
    assert_eq!(fixture.tui.app().mode, Mode::Picker);
    fixture.quit_and_check_clean();
}

/// Goal: a terminal below 80×24 gets a clear message, not a broken layout, and the
/// screen comes back when it grows (live resize). Method: a 60×20 test backend, then
/// resized to 80×24.
#[test]
fn too_small_terminal_says_so_and_recovers_on_resize() {
    let mut fixture = Fixture::new(
        Start::Picker(project_file("scenarios")),
        60,
        20,
        Theme::high_contrast(),
    );
    fixture.tui.draw().expect("drawing works");
    let screen = fixture.screen();
    assert!(screen.contains("The terminal is 60×20."), "{screen}");
    assert!(screen.contains("needs at least 80×24"), "{screen}");
    assert!(!screen.contains("Pick a scenario"), "{screen}");
    fixture.tui.terminal_mut().backend_mut().resize(80, 24);
    fixture.tui.draw().expect("drawing works");
    let screen = fixture.screen();
    assert!(screen.contains("Pick a scenario"), "{screen}");
    assert!(!screen.contains("needs at least"), "{screen}");
    fixture.quit_and_check_clean();
}

/// Goal: NO_COLOR's fallback draws no color at all, while the default theme does.
#[test]
fn no_color_theme_draws_no_color() {
    let colors = |theme: Theme| {
        let mut fixture = Fixture::new(Start::Picker(project_file("scenarios")), 80, 24, theme);
        fixture.tui.draw().expect("drawing works");
        let buffer = fixture.tui.terminal().backend().buffer().clone();
        fixture.quit_and_check_clean();
        buffer
            .content()
            .iter()
            .filter(|cell| cell.fg != Color::Reset || cell.bg != Color::Reset)
            .count()
    };
    assert_eq!(colors(Theme::no_color()), 0);
    assert!(colors(Theme::high_contrast()) > 0);
}

/// Goal: Ctrl-C quits from anywhere, as `q` does.
#[test]
fn control_c_quits() {
    let mut fixture = Fixture::new(
        Start::Picker(project_file("scenarios")),
        80,
        24,
        Theme::high_contrast(),
    );
    fixture
        .tui
        .press_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    let done = fixture
        .tui
        .pump_until(Duration::from_secs(20), |_| false)
        .expect("drawing works");
    assert!(!done);
    assert!(fixture.tui.is_done());
}
