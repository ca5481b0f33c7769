//! Snapshots of the TUI drawn from hand-built reports (no TigerBeetle, no worker): the
//! app's state is pure, so a report built by hand, fed through `App::handle_runner`, and
//! drawn on ratatui's `TestBackend` shows exactly what a run would show. The reports are
//! those of `scenarios/02-crash-between-writes.toml` with seed 42, as `cabaret play`
//! printed them. Review a changed screen with `cargo insta review`.

use super::app::{App, Start};
use super::messages::RunnerEvent;
use super::theme::Theme;
use crate::domain::ids::id_of;
use crate::domain::lane::{HoldPoint, Lane};
use crate::domain::outcome::CallerOutcome;
use crate::domain::scenario::{self, Scenario};
use crate::domain::stored::{RecordAccount, ReferenceRow};
use crate::domain::verdict::{Answer, Severity, Verdict, Violation, ViolationKind};
use crate::engine::report::{
    LaneReport, LaneSummary, RunSummary, StepReport, TimelineEntry, TimelineKind, UserView,
    WorkerState,
};
use crate::stores::supervisor::ServerState;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The sizes every screen is drawn at: the presenter's terminal, a smaller one that
/// still shows three lanes, and the smallest one.
const SIZES: [(u16, u16); 3] = [(120, 40), (100, 30), (80, 24)];

/// The ids the lanes drew with seed 42 (`cabaret play` prints their first 8 digits).
const RECORD_FIRST_FIRST_ID: &str = "00000001-0000-4000-8000-000048ce17dc";
const RECORD_FIRST_SECOND_ID: &str = "00000002-0000-4000-8000-0000f491d1fe";
const READ_REFERENCE_ID: &str = "00000003-0000-4000-8000-0000ad2c6cd7";
const WRITE_LAST_ID: &str = "00000004-0000-4000-8000-0000b2f020d6";

pub(crate) fn crash_scenario() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/02-crash-between-writes.toml");
    scenario::load(&path).expect("scenario 02 loads")
}

fn event(kind: TimelineKind, text: &str) -> TimelineEntry {
    TimelineEntry {
        user: "alice".to_string(),
        kind,
        text: text.to_string(),
        store: None,
    }
}

fn held(text: &str) -> TimelineEntry {
    event(TimelineKind::Hold, &format!("held {text}"))
}

fn row(guid: &str) -> ReferenceRow {
    ReferenceRow {
        uuid: "alice".to_string(),
        guid: guid.to_string(),
        name: "Alice".to_string(),
    }
}

fn account(guid: &str) -> RecordAccount {
    RecordAccount {
        id: id_of(guid).expect("a guid"),
        ledger: 1,
        code: 1,
        // Scenario 02's lanes declare no user tag: `user_data_128` is 0.
        user_key: 0,
        debits_posted: 0,
        credits_posted: 0,
        debits_pending: 0,
        credits_pending: 0,
        closed: false,
    }
}

fn alice(reference: Option<&str>, record: &[&str], answer: Answer) -> UserView {
    UserView {
        user: "alice".to_string(),
        reference: reference.map(row),
        record: Some(record.iter().map(|guid| account(guid)).collect()),
        journal: None,
        outbox: None,
        answer,
        truth: if record.is_empty() {
            Answer::Absent
        } else {
            Answer::Exists
        },
        outcome: None,
    }
}

fn violation(kind: ViolationKind, severity: Severity, detail: &str) -> Violation {
    Violation {
        kind,
        severity,
        user: Some("alice".to_string()),
        detail: detail.to_string(),
    }
}

fn wrong_answer(answer: &str, truth: &str) -> Violation {
    violation(
        ViolationKind::WrongAnswer,
        Severity::Error,
        &format!("answers \"alice {answer}\" but TigerBeetle says {truth}"),
    )
}

fn untraceable() -> Violation {
    violation(
        ViolationKind::UntraceableAccount,
        Severity::Error,
        "TigerBeetle account 48ce17dc has no SQLite row: the system cannot tell whose account this is; the lab knows it was drawn for alice",
    )
}

fn orphan(severity: Severity) -> Violation {
    violation(
        ViolationKind::OrphanReference,
        severity,
        "SQLite row for alice points to no TigerBeetle account",
    )
}

fn unfinished() -> Violation {
    violation(
        ViolationKind::UnfinishedRequest,
        Severity::Warning,
        "alice's request never ended, and nothing will resume it",
    )
}

fn lane(lane: Lane, worker: WorkerState, events: Vec<TimelineEntry>) -> LaneReport {
    LaneReport {
        lane,
        worker,
        events,
        outcome: None,
        outcomes: Vec::new(),
        users: Vec::new(),
        violations: Vec::new(),
        undetermined: Vec::new(),
        answered_by: None,
    }
}

fn step(number: usize, action: &str, complete: bool, lanes: Vec<LaneReport>) -> StepReport {
    let scenario = crash_scenario();
    let narration = match number {
        0 => scenario.summary.clone(),
        _ => scenario.steps[number - 1].narration.clone(),
    };
    StepReport {
        step_number: number,
        step_count: scenario.steps.len(),
        action: action.to_string(),
        user: (number > 0).then(|| "alice".to_string()),
        narration,
        manual: false,
        complete,
        server: ServerState::Ready,
        replicas: vec![ServerState::Ready],
        lanes,
        failures: Vec::new(),
        record_exit: None,
    }
}

/// The state before any step: every lane running, nothing written.
pub(crate) fn before_any_step() -> StepReport {
    let lanes = crash_scenario()
        .lanes
        .iter()
        .map(|&name| {
            let mut report = lane(name, WorkerState::Idle, Vec::new());
            report.users = vec![alice(None, &[], Answer::Absent)];
            report
        })
        .collect();
    step(0, "start", true, lanes)
}

/// Step 1 held mid-way: record-first waits on TigerBeetle's answer, the other two hold
/// before their first write.
pub(crate) fn held_step() -> StepReport {
    let mut record_first = lane(
        Lane::RecordFirst,
        WorkerState::Held(HoldPoint::RecordInFlight),
        vec![
            held("before the first write"),
            held("while the TigerBeetle request is in flight"),
        ],
    );
    record_first.users = vec![alice(None, &[], Answer::Absent)];
    let others = [Lane::ReadReference, Lane::WriteLastReadFirst].map(|name| {
        let mut report = lane(
            name,
            WorkerState::Held(HoldPoint::BeforeFirstWrite),
            vec![held("before the first write")],
        );
        report.users = vec![alice(None, &[], Answer::Absent)];
        report
    });
    let [read_reference, write_last] = others;
    step(
        1,
        "create alice, crash between the writes",
        false,
        vec![record_first, read_reference, write_last],
    )
}

/// Step 1 ended: each worker killed between its writes. Record-first left an account no
/// row owns; the other two left a row that points to no account.
pub(crate) fn crashed_between_writes() -> StepReport {
    let crashed = WorkerState::Crashed(HoldPoint::BetweenWrites);
    let mut record_first = lane(
        Lane::RecordFirst,
        crashed.clone(),
        vec![
            held("before the first write"),
            held("while the TigerBeetle request is in flight"),
            event(TimelineKind::Progress, "TigerBeetle: created (id 48ce17dc)"),
            event(TimelineKind::Crash, "crashed between the writes (SIGKILL)"),
        ],
    );
    record_first.outcome = Some(CallerOutcome::Crashed);
    record_first.users = vec![alice(None, &[RECORD_FIRST_FIRST_ID], Answer::Absent)];
    record_first.violations = vec![
        wrong_answer("absent", "exists"),
        untraceable(),
        unfinished(),
    ];
    let sqlite_first = |name: Lane, guid: &str, answer: Answer, severity: Severity| {
        let mut report = lane(
            name,
            crashed.clone(),
            vec![
                held("before the first write"),
                event(
                    TimelineKind::Progress,
                    &format!(
                        "SQLite: created (id {})",
                        crate::domain::ids::short_id(guid)
                    ),
                ),
                event(TimelineKind::Crash, "crashed between the writes (SIGKILL)"),
            ],
        );
        report.outcome = Some(CallerOutcome::Crashed);
        report.users = vec![alice(Some(guid), &[], answer)];
        report.violations = vec![orphan(severity), unfinished()];
        report
    };
    let mut read_reference = sqlite_first(
        Lane::ReadReference,
        READ_REFERENCE_ID,
        Answer::Exists,
        Severity::Error,
    );
    read_reference
        .violations
        .insert(0, wrong_answer("exists", "absent"));
    let write_last = sqlite_first(
        Lane::WriteLastReadFirst,
        WRITE_LAST_ID,
        Answer::Absent,
        Severity::Warning,
    );
    step(
        1,
        "create alice, crash between the writes",
        true,
        vec![record_first, read_reference, write_last],
    )
}

/// Step 4, the retry: record-first has two accounts for alice, the others are whole.
pub(crate) fn last_step() -> StepReport {
    let mut record_first = lane(
        Lane::RecordFirst,
        WorkerState::Idle,
        vec![
            event(TimelineKind::Progress, "TigerBeetle: created (id f491d1fe)"),
            event(TimelineKind::Progress, "SQLite: created (id f491d1fe)"),
            event(TimelineKind::Progress, "answered created"),
        ],
    );
    record_first.outcome = Some(CallerOutcome::Created);
    record_first.outcomes = vec![CallerOutcome::Created];
    record_first.users = vec![alice(
        Some(RECORD_FIRST_SECOND_ID),
        &[RECORD_FIRST_FIRST_ID, RECORD_FIRST_SECOND_ID],
        Answer::Exists,
    )];
    record_first.violations = vec![
        untraceable(),
        violation(
            ViolationKind::DuplicateAccount,
            Severity::Error,
            "2 TigerBeetle accounts for one user (alice)",
        ),
    ];
    let whole = |name: Lane, guid: &str| {
        let mut report = lane(
            name,
            WorkerState::Idle,
            vec![
                event(
                    TimelineKind::Progress,
                    &format!(
                        "SQLite: exists-same (id {})",
                        crate::domain::ids::short_id(guid)
                    ),
                ),
                event(
                    TimelineKind::Progress,
                    &format!(
                        "TigerBeetle: created (id {})",
                        crate::domain::ids::short_id(guid)
                    ),
                ),
                event(TimelineKind::Progress, "answered created"),
            ],
        );
        report.outcome = Some(CallerOutcome::Created);
        report.outcomes = vec![CallerOutcome::Created];
        report.users = vec![alice(Some(guid), &[guid], Answer::Exists)];
        report
    };
    step(
        4,
        "create alice",
        true,
        vec![
            record_first,
            whole(Lane::ReadReference, READ_REFERENCE_ID),
            whole(Lane::WriteLastReadFirst, WRITE_LAST_ID),
        ],
    )
}

pub(crate) fn summary() -> RunSummary {
    let verdict = |lane: Lane, verdict: &str, seen: Vec<(ViolationKind, Severity)>| LaneSummary {
        lane,
        verdict: verdict.parse::<Verdict>().expect("a verdict"),
        seen,
        undetermined_steps: 0,
    };
    RunSummary {
        title: "Crash between the writes".to_string(),
        seed: 42,
        lanes: vec![
            verdict(
                Lane::RecordFirst,
                "broken",
                vec![
                    (ViolationKind::WrongAnswer, Severity::Error),
                    (ViolationKind::UntraceableAccount, Severity::Error),
                    (ViolationKind::DuplicateAccount, Severity::Error),
                ],
            ),
            verdict(
                Lane::ReadReference,
                "broken",
                vec![
                    (ViolationKind::WrongAnswer, Severity::Error),
                    (ViolationKind::OrphanReference, Severity::Error),
                ],
            ),
            verdict(
                Lane::WriteLastReadFirst,
                "kept",
                vec![(ViolationKind::OrphanReference, Severity::Warning)],
            ),
        ],
        failures: Vec::new(),
        passed: true,
        undetermined_steps: 0,
    }
}

/// An app with scenario 02 open and started, at a fixed instant (drawing reads no clock).
pub(crate) fn opened_app(theme: Theme) -> App {
    let now = Instant::now();
    let scenario = crash_scenario();
    let mut app = App::new(
        Start::Scenario(Box::new(scenario.clone())),
        theme,
        None,
        now,
    );
    let _ = app.take_requests();
    app.handle_runner(RunnerEvent::Opened(Box::new(scenario)));
    app.handle_runner(RunnerEvent::Started {
        seed: 42,
        transcript: PathBuf::from("cabaret-data/02-crash-between-writes/transcript.txt"),
    });
    app
}

pub(crate) fn report(app: &mut App, report: StepReport, holding: bool) {
    let finished = report.step_number == report.step_count && report.complete;
    app.handle_runner(RunnerEvent::Report {
        report: Box::new(report),
        holding,
        finished,
    });
    app.handle_runner(RunnerEvent::Idle);
}

pub(crate) fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// The app after every step of scenario 02, with its verdicts.
pub(crate) fn finished_app(theme: Theme) -> App {
    let mut app = opened_app(theme);
    report(&mut app, before_any_step(), false);
    report(&mut app, crashed_between_writes(), false);
    report(&mut app, last_step(), false);
    app.handle_runner(RunnerEvent::Summary(Box::new(summary())));
    app
}

/// The screen as text, one line per row.
pub(crate) fn draw(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    app.screen_width = width;
    terminal
        .draw(|frame| frame.render_widget(&*app, frame.area()))
        .expect("drawing");
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..height {
        for x in 0..width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

/// Draws `app` at every size and compares each screen with its snapshot.
fn assert_screens(name: &str, mut app: impl FnMut() -> App) {
    for (width, height) in SIZES {
        let screen = draw(&mut app(), width, height);
        insta::assert_snapshot!(format!("{name}_{width}x{height}"), screen);
    }
}

#[test]
fn picker() {
    assert_screens("picker", || {
        let folder = PathBuf::from("scenarios");
        let mut app = App::new(
            Start::Picker(folder.clone()),
            Theme::high_contrast(),
            None,
            Instant::now(),
        );
        let _ = app.take_requests();
        app.handle_runner(RunnerEvent::Listed(super::picker::list(&folder)));
        app.handle_runner(RunnerEvent::Idle);
        press(&mut app, KeyCode::Down);
        app
    });
}

#[test]
fn before_the_first_step() {
    assert_screens("before_any_step", || {
        let mut app = opened_app(Theme::high_contrast());
        report(&mut app, before_any_step(), false);
        app
    });
}

#[test]
fn held_mid_step() {
    assert_screens("held", || {
        let mut app = opened_app(Theme::high_contrast());
        report(&mut app, before_any_step(), false);
        report(&mut app, held_step(), true);
        app
    });
}

#[test]
fn crash_between_the_writes() {
    assert_screens("crash_between_writes", || {
        let mut app = opened_app(Theme::high_contrast());
        report(&mut app, before_any_step(), false);
        report(&mut app, crashed_between_writes(), false);
        app
    });
}

#[test]
fn final_verdicts() {
    assert_screens("final_verdicts", || finished_app(Theme::high_contrast()));
}

#[test]
fn final_verdicts_without_color() {
    assert_screens(
        "final_verdicts_no_color",
        || finished_app(Theme::no_color()),
    );
}

/// Money that moved: a deposit into write-last-read-first's account since the step
/// before (its balance is reversed as changed), in the light theme.
#[test]
fn money_moved_in_the_light_theme() {
    assert_screens("money_moved_light", || {
        let mut app = opened_app(Theme::light());
        let mut before = last_step();
        before.step_number = 3;
        before.narration = crash_scenario().steps[2].narration.clone();
        report(&mut app, before_any_step(), false);
        report(&mut app, before, false);
        let mut after = last_step();
        for lane in &mut after.lanes {
            lane.events.clear();
        }
        let write_last = after
            .lanes
            .iter_mut()
            .find(|lane| lane.lane == Lane::WriteLastReadFirst)
            .expect("the lane");
        for user in &mut write_last.users {
            for account in user.record.iter_mut().flatten() {
                account.credits_posted = 100;
            }
        }
        report(&mut app, after, false);
        app
    });
}

/// Badges without color: the block is reversed, the symbol and the word say it.
#[test]
fn crash_between_the_writes_without_color() {
    assert_screens("crash_between_writes_no_color", || {
        let mut app = opened_app(Theme::no_color());
        report(&mut app, before_any_step(), false);
        report(&mut app, crashed_between_writes(), false);
        app
    });
}

#[test]
fn help_over_the_scenario() {
    assert_screens("help", || {
        let mut app = opened_app(Theme::high_contrast());
        report(&mut app, before_any_step(), false);
        press(&mut app, KeyCode::Char('?'));
        app
    });
}

/// The grid of four on `g`: each corner names its lane and what it gets right or wrong,
/// legible at every size (76 columns inside the popup at 80), and any key closes it.
#[test]
fn grid_of_four_over_the_scenario() {
    assert_screens("grid", || {
        let mut app = opened_app(Theme::high_contrast());
        report(&mut app, before_any_step(), false);
        press(&mut app, KeyCode::Char('g'));
        app
    });
    let mut app = opened_app(Theme::high_contrast());
    report(&mut app, before_any_step(), false);
    press(&mut app, KeyCode::Char('g'));
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(app.mode, super::app::Mode::Scenario);
}

/// Benchmark, not a test (`cargo test --lib benchmark_drawing -- --ignored --nocapture`):
/// the time to build and draw one frame of the verdicts at 120×40 on a test backend.
#[test]
#[ignore = "a benchmark: prints numbers, asserts only that it measured"]
fn benchmark_drawing() {
    const FRAMES: usize = 500;
    let mut app = finished_app(Theme::high_contrast());
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("a test terminal");
    let mut samples: Vec<f64> = (0..FRAMES)
        .map(|_frame| {
            let started = Instant::now();
            // A fresh buffer each time: the whole frame is drawn and diffed.
            terminal.clear().expect("clearing");
            terminal
                .draw(|frame| frame.render_widget(&app, frame.area()))
                .expect("drawing");
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    app.screen_width = 120;
    samples.sort_by(f64::total_cmp);
    let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction) as usize];
    println!(
        "one 120x40 frame of the verdicts: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// What a step back and a digit ask the session for, from the state shown.
#[test]
fn a_step_back_asks_for_the_state_after_the_step_before() {
    use super::messages::Request;
    let asked = |app: &mut App, code: KeyCode| {
        press(app, code);
        let requests = app.take_requests();
        app.handle_runner(RunnerEvent::Idle);
        match requests.as_slice() {
            [Request::JumpTo(step)] => Some(*step),
            _ => None,
        }
    };
    let mut app = opened_app(Theme::high_contrast());
    report(&mut app, before_any_step(), false);
    // Before any step there is nothing to go back to.
    assert_eq!(asked(&mut app, KeyCode::Char('b')), None);
    assert!(app.current_message().is_some());
    // Held in step 1: back is the state before it.
    report(&mut app, held_step(), true);
    assert_eq!(asked(&mut app, KeyCode::Left), Some(0));
    // Step 1 done: back is step 0; a digit names the step; past the end is refused.
    report(&mut app, crashed_between_writes(), false);
    assert_eq!(asked(&mut app, KeyCode::Char('b')), Some(0));
    assert_eq!(asked(&mut app, KeyCode::Char('3')), Some(3));
    assert_eq!(asked(&mut app, KeyCode::Char('9')), None);
    let message = app.current_message().map(|message| message.text.clone());
    assert_eq!(
        message.as_deref(),
        Some("There is no step 9: this scenario has 4 steps.")
    );
    // The replayed state says so in the header, until the next move.
    app.handle_runner(RunnerEvent::Replayed {
        step: 1,
        elapsed: std::time::Duration::from_millis(1500),
    });
    assert!(
        draw(&mut app, 100, 30)
            .lines()
            .next()
            .unwrap()
            .contains("step 1 of 4 · replayed")
    );
    report(&mut app, last_step(), false);
    assert!(
        !draw(&mut app, 100, 30)
            .lines()
            .next()
            .unwrap()
            .contains("replayed")
    );
}

#[test]
fn the_theme_key_switches_between_dark_and_light() {
    let mut app = opened_app(Theme::high_contrast());
    press(&mut app, KeyCode::Char('t'));
    assert!(app.theme.light);
    press(&mut app, KeyCode::Char('t'));
    assert!(!app.theme.light);
    let mut app = opened_app(Theme::no_color());
    press(&mut app, KeyCode::Char('t'));
    assert_eq!(app.theme, Theme::no_color());
}

/// The colors the text snapshots do not show: the light theme's white background, and
/// each badge's block (red for wrong, green for right) in both themes.
#[test]
fn badges_and_backgrounds_have_their_colors() {
    use ratatui::style::Color;
    for (theme, background) in [
        (Theme::high_contrast(), Color::Black),
        (Theme::light(), Color::White),
    ] {
        let mut app = opened_app(theme);
        report(&mut app, before_any_step(), false);
        report(&mut app, crashed_between_writes(), false);
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("a test terminal");
        terminal
            .draw(|frame| frame.render_widget(&app, frame.area()))
            .expect("drawing");
        let buffer = terminal.backend().buffer();
        assert_eq!(buffer[(99, 0)].bg, background);
        // The badges' first row, inside each lane's border (three lanes of 33).
        let badge = |lane: u16| buffer[(lane * 33 + 2, 7)].bg;
        assert_eq!(badge(0), Color::Red, "record first answers wrong");
        assert_eq!(badge(1), Color::Red, "read reference answers wrong");
        assert_eq!(
            badge(2),
            Color::Green,
            "write last, read first answers right"
        );
    }
}
