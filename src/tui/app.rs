//! The TUI's state, and how keys and the runner's events change it. The app never does
//! I/O: what it wants of the runner it queues as requests, which the loop sends.

use super::messages::{Request, RunnerEvent};
use super::picker::PickerEntry;
use super::strings;
use super::theme::Theme;
use crate::domain::scenario::{Fault, Scenario};
use crate::engine::Waiting;
use crate::engine::report::{RunSummary, StepReport, TimelineEntry};
use crate::stores::supervisor::ServerState;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A bound on the timeline lines kept per lane (the screen shows the latest).
const TIMELINE_LINES_MAX: usize = 500;
/// How long a message stays on the status line.
const MESSAGE_DURATION: Duration = Duration::from_secs(8);
/// The autoplay paces `+` and `-` step through.
const PACES_MS: [u64; 9] = [500, 1000, 1500, 2000, 3000, 4000, 5000, 8000, 10_000];
pub const DEFAULT_PACE: Duration = Duration::from_secs(2);

/// Which screen is up, and what covers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Picker,
    Scenario,
    /// The key list, over the screen it was opened from.
    Help {
        over: Screen,
    },
    /// The grid of four (write order × read source), over the screen it was opened from.
    Grid {
        over: Screen,
    },
    /// Waiting for the runner to stop every process.
    Quitting,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Picker,
    Scenario,
}

/// How the TUI opens.
#[derive(Clone, Debug)]
pub enum Start {
    /// The picker over the scenario files of this folder.
    Picker(PathBuf),
    /// One scenario, already loaded and valid.
    Scenario(Box<Scenario>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MessageKind {
    Info,
    Problem,
}

#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub(crate) text: String,
    pub(crate) kind: MessageKind,
    pub(crate) at: Instant,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Autoplay {
    pub(crate) on: bool,
    pub(crate) pace: Duration,
    /// When the last result appeared: the next move comes a pace later.
    pub(crate) last_move: Instant,
    /// Quits a pace after the verdicts show (`play --tui --then-quit`, for recording
    /// every scenario unattended).
    pub(crate) then_quit: bool,
}

/// The picker's files and the selected one.
#[derive(Debug)]
pub(crate) struct Picker {
    pub(crate) folder: PathBuf,
    pub(crate) entries: Option<Result<Vec<PickerEntry>, String>>,
    pub(crate) selected: usize,
}

/// Where a run is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RunState {
    /// TigerBeetle and the workers are starting.
    Starting,
    Running,
    Failed(String),
}

/// One line of a lane's timeline, kept across steps.
#[derive(Clone, Debug)]
pub(crate) struct TimelineLine {
    pub(crate) step_number: usize,
    pub(crate) manual: bool,
    pub(crate) entry: TimelineEntry,
}

/// The narration panel's title and text.
#[derive(Clone, Debug)]
pub(crate) struct Narration {
    pub(crate) title: String,
    pub(crate) text: String,
}

/// The open scenario and everything its run has shown so far.
#[derive(Debug)]
pub(crate) struct Stage {
    pub(crate) scenario: Scenario,
    pub(crate) state: RunState,
    pub(crate) seed: Option<u64>,
    pub(crate) server: ServerState,
    /// Each replica's state, for a cluster.
    pub(crate) replicas: Vec<ServerState>,
    pub(crate) report: Option<StepReport>,
    /// The last report of the previous step: the lanes' pictures mark what differs.
    pub(crate) baseline: Option<StepReport>,
    /// Set when the state shown was rebuilt by replaying the run (a step back), until
    /// the next move.
    pub(crate) replayed: bool,
    pub(crate) timelines: Vec<Vec<TimelineLine>>,
    pub(crate) narration: Narration,
    pub(crate) holding: bool,
    pub(crate) finished: bool,
    pub(crate) summary: Option<RunSummary>,
    /// Expectations of the scenario that steps did not meet.
    pub(crate) failures: Vec<String>,
    pub(crate) transcript: Option<PathBuf>,
}

impl Stage {
    fn new(scenario: Scenario) -> Self {
        let lane_count = scenario.lanes.len();
        Stage {
            narration: Narration {
                title: strings::NARRATION_BEFORE.to_string(),
                text: scenario.summary.clone(),
            },
            seed: None,
            state: RunState::Starting,
            server: ServerState::Starting,
            replicas: Vec::new(),
            report: None,
            baseline: None,
            replayed: false,
            timelines: vec![Vec::new(); lane_count],
            holding: false,
            finished: false,
            summary: None,
            failures: Vec::new(),
            transcript: None,
            scenario,
        }
    }

    fn apply(&mut self, report: StepReport, holding: bool, finished: bool) {
        self.state = RunState::Running;
        self.server = report.server;
        self.replicas = report.replicas.clone();
        self.holding = holding;
        self.finished = finished;
        for (timeline, lane) in self.timelines.iter_mut().zip(&report.lanes) {
            timeline.extend(lane.events.iter().map(|entry| TimelineLine {
                step_number: report.step_number,
                manual: report.manual,
                entry: entry.clone(),
            }));
            let excess = timeline.len().saturating_sub(TIMELINE_LINES_MAX);
            timeline.drain(..excess);
        }
        if report.manual {
            self.narration.title = format!("{}: {}", strings::NARRATION_BY_HAND, report.action);
        } else if report.step_number > 0 {
            self.narration = Narration {
                title: strings::narration_title(
                    report.step_number,
                    report.step_count,
                    &report.action,
                ),
                text: report.narration.clone(),
            };
        }
        self.failures.extend(report.failures.iter().cloned());
        self.replayed = false;
        if let Some(previous) = self.report.take() {
            // Hold points of one step all compare with the end of the step before.
            if previous.step_number < report.step_number {
                self.baseline = Some(previous);
            }
        }
        self.report = Some(report);
    }

    /// The last step run to its end (0 before any).
    pub(crate) fn steps_done(&self) -> usize {
        match &self.report {
            Some(report) if report.complete => report.step_number,
            Some(report) => report.step_number.saturating_sub(1),
            None => 0,
        }
    }

    /// The step a step back returns to: the one before, or the end of the one before
    /// the step held in progress.
    fn step_back_target(&self) -> Option<usize> {
        match &self.report {
            Some(report) if !report.complete => Some(self.steps_done()),
            _ => self.steps_done().checked_sub(1),
        }
    }
}

/// The whole state of the TUI.
#[derive(Debug)]
pub struct App {
    pub mode: Mode,
    pub(crate) theme: Theme,
    pub(crate) picker: Picker,
    pub(crate) stage: Option<Stage>,
    pub waiting: Option<Waiting>,
    pub(crate) message: Option<Message>,
    pub(crate) autoplay: Autoplay,
    /// The first lane shown; Tab moves it on.
    pub(crate) lane_offset: usize,
    /// The time drawing uses (set by the loop), so drawing itself reads no clock.
    pub now: Instant,
    /// The screen's width at the last draw, to know how many lanes fit.
    pub(crate) screen_width: u16,
    /// The screen's height at the last draw: on a screen too small to show the run,
    /// only `q`, `?` and a resize act (nothing moves out of sight).
    pub(crate) screen_height: u16,
    /// Requests sent to the runner and not answered `Idle` yet: what each does, and
    /// when it was sent (the status line shows the oldest while it lasts).
    in_flight: VecDeque<(&'static str, Instant)>,
    outbox: Vec<Request>,
    runner_stopped: bool,
}

impl App {
    pub(crate) fn new(
        start: Start,
        theme: Theme,
        autoplay: Option<Duration>,
        now: Instant,
    ) -> Self {
        let mut app = App {
            mode: Mode::Picker,
            theme,
            picker: Picker {
                folder: super::picker::default_folder(),
                entries: None,
                selected: 0,
            },
            stage: None,
            waiting: None,
            message: None,
            autoplay: Autoplay {
                on: autoplay.is_some(),
                pace: autoplay.unwrap_or(DEFAULT_PACE),
                last_move: now,
                then_quit: false,
            },
            lane_offset: 0,
            now,
            screen_width: strings::MIN_WIDTH,
            screen_height: strings::MIN_HEIGHT,
            in_flight: VecDeque::new(),
            outbox: Vec::new(),
            runner_stopped: false,
        };
        match start {
            Start::Picker(folder) => {
                app.picker.folder = folder.clone();
                app.request(Request::List(folder));
            }
            Start::Scenario(scenario) => app.open(*scenario),
        }
        app
    }

    /// The requests to send to the runner now.
    pub(crate) fn take_requests(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.outbox)
    }

    /// Whether requests wait to be sent.
    pub(crate) fn has_requests(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// A request could not be sent: the runner is gone.
    pub(crate) fn request_lost(&mut self) {
        self.in_flight.pop_back();
        self.runner_stopped = true;
        self.say(strings::MESSAGE_STOPPED, MessageKind::Problem);
    }

    pub fn is_idle(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// What the runner is doing now, and since when.
    pub(crate) fn busy_with(&self) -> Option<(&'static str, Instant)> {
        self.in_flight.front().copied()
    }

    /// Whether the runner has stopped (after a quit, or because it ended).
    pub(crate) fn runner_stopped(&self) -> bool {
        self.runner_stopped
    }

    pub(crate) fn is_quitting(&self) -> bool {
        self.mode == Mode::Quitting
    }

    /// Whether a run is up and showing its stores.
    pub fn is_running(&self) -> bool {
        self.stage
            .as_ref()
            .is_some_and(|stage| stage.state == RunState::Running)
    }

    pub fn last_report(&self) -> Option<&StepReport> {
        self.stage.as_ref()?.report.as_ref()
    }

    pub fn summary(&self) -> Option<&RunSummary> {
        self.stage.as_ref()?.summary.as_ref()
    }

    pub fn picker_entries(&self) -> Option<&[PickerEntry]> {
        match &self.picker.entries {
            Some(Ok(entries)) => Some(entries),
            _ => None,
        }
    }

    fn request(&mut self, request: Request) {
        self.in_flight
            .push_back((strings::request(&request), self.now));
        self.outbox.push(request);
    }

    fn say(&mut self, text: &str, kind: MessageKind) {
        self.message = Some(Message {
            text: text.to_string(),
            kind,
            at: self.now,
        });
    }

    /// Whether the screen shows something that changes with time alone: a wait or a
    /// move in progress (their time counts up), a message (it expires), autoplay.
    pub(crate) fn is_animating(&self) -> bool {
        self.waiting.is_some()
            || !self.in_flight.is_empty()
            || self.current_message().is_some()
            || self.autoplay.on
            || self.autoplay.then_quit
    }

    /// The message to show now, if it has not expired.
    pub(crate) fn current_message(&self) -> Option<&Message> {
        self.message
            .as_ref()
            .filter(|message| self.now.saturating_duration_since(message.at) < MESSAGE_DURATION)
    }

    fn open(&mut self, scenario: Scenario) {
        self.mode = Mode::Scenario;
        self.lane_offset = first_lane_shown(&scenario.lanes);
        self.stage = Some(Stage::new(scenario.clone()));
        self.request(Request::Open(Box::new(scenario)));
    }

    /// Starts quitting: the runner stops every process; the loop ends when it has.
    pub(crate) fn quit(&mut self) {
        if self.mode != Mode::Quitting {
            self.mode = Mode::Quitting;
            self.request(Request::Quit);
        }
    }

    /// Time passed: expire messages, and let autoplay move.
    pub(crate) fn tick(&mut self, now: Instant) {
        self.now = now;
        let verdicts_shown = self.autoplay.then_quit
            && self.summary().is_some()
            && self.is_idle()
            && now.saturating_duration_since(self.autoplay.last_move) >= self.autoplay.pace;
        if verdicts_shown {
            self.quit();
            return;
        }
        let ready = self.autoplay.on
            && !self.screen_too_small()
            && self.mode == Mode::Scenario
            && self.is_idle()
            && self.is_running()
            && self.stage.as_ref().is_some_and(|stage| !stage.finished)
            && now.saturating_duration_since(self.autoplay.last_move) >= self.autoplay.pace;
        if ready {
            self.autoplay.last_move = now;
            self.request(Request::Advance);
        }
    }

    /// Whether the last draw showed the "too small" screen instead of the run.
    pub(crate) fn screen_too_small(&self) -> bool {
        self.screen_width < strings::MIN_WIDTH || self.screen_height < strings::MIN_HEIGHT
    }

    pub(crate) fn handle_key(&mut self, key: KeyEvent) {
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        if control && matches!(key.code, KeyCode::Char('c')) {
            self.quit();
            return;
        }
        let unseen = !matches!(key.code, KeyCode::Char('q' | '?'));
        let overlay = matches!(self.mode, Mode::Help { .. } | Mode::Grid { .. });
        if self.screen_too_small() && unseen && !overlay {
            // Nothing may happen out of sight: the screen says to enlarge the window.
            return;
        }
        match self.mode {
            Mode::Picker => self.picker_key(key.code),
            Mode::Scenario => self.scenario_key(key.code),
            Mode::Help { over } | Mode::Grid { over } => {
                self.mode = match over {
                    Screen::Picker => Mode::Picker,
                    Screen::Scenario => Mode::Scenario,
                }
            }
            Mode::Quitting => {}
        }
    }

    fn picker_key(&mut self, code: KeyCode) {
        let count = self.picker_entries().map_or(0, <[PickerEntry]>::len);
        match code {
            KeyCode::Up | KeyCode::Char('k') => {
                self.picker.selected = self.picker.selected.saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.picker.selected = (self.picker.selected + 1).min(count.saturating_sub(1))
            }
            KeyCode::Home => self.picker.selected = 0,
            KeyCode::End => self.picker.selected = count.saturating_sub(1),
            KeyCode::Enter | KeyCode::Right => self.open_selected(),
            KeyCode::Char('?') => {
                self.mode = Mode::Help {
                    over: Screen::Picker,
                }
            }
            KeyCode::Char('g') => {
                self.mode = Mode::Grid {
                    over: Screen::Picker,
                }
            }
            KeyCode::Char('q') | KeyCode::Esc => self.quit(),
            _ => {}
        }
    }

    fn open_selected(&mut self) {
        let Some(entry) = self
            .picker_entries()
            .and_then(|entries| entries.get(self.picker.selected))
        else {
            return;
        };
        match &entry.scenario {
            Ok(scenario) => {
                let scenario = (**scenario).clone();
                self.open(scenario);
            }
            Err(error) => {
                let text = format!("{}: {error}", strings::FAILED_TO_OPEN);
                self.say(&text, MessageKind::Problem);
            }
        }
    }

    fn scenario_key(&mut self, code: KeyCode) {
        match code {
            KeyCode::Char('n') | KeyCode::Right | KeyCode::Enter => self.move_run(Request::Advance),
            KeyCode::Char('e') => self.move_run(Request::ToEnd),
            KeyCode::Char('c') => self.crash_now(),
            KeyCode::Char('s') => self.move_run(Request::Fail(Fault::ReferenceLocked)),
            KeyCode::Char('p') => self.move_run(Request::Fail(Fault::RecordPaused)),
            KeyCode::Char('k') => self.move_run(Request::Fail(Fault::RecordKilled)),
            KeyCode::Char('h') => self.move_run(Request::Heal),
            KeyCode::Char('r') => self.move_run(Request::Restart),
            KeyCode::Char('v') => self.move_run(Request::Recover),
            KeyCode::Char('R') => self.reset(),
            KeyCode::Char('b') | KeyCode::Left | KeyCode::Backspace => self.step_back(),
            KeyCode::Char(digit @ '0'..='9') => {
                self.jump_to(digit.to_digit(10).map_or(0, |step| step as usize))
            }
            KeyCode::Char('t') => self.switch_theme(),
            KeyCode::Char('a' | ' ') => self.toggle_autoplay(),
            KeyCode::Char('+' | '=') => self.change_pace(-1),
            KeyCode::Char('-' | '_') => self.change_pace(1),
            KeyCode::Tab | KeyCode::Char('l') => self.cycle_lanes(1),
            KeyCode::BackTab | KeyCode::Char('L') => self.cycle_lanes(-1),
            KeyCode::Char('?') => {
                self.mode = Mode::Help {
                    over: Screen::Scenario,
                }
            }
            KeyCode::Char('g') => {
                self.mode = Mode::Grid {
                    over: Screen::Scenario,
                }
            }
            KeyCode::Esc => self.back_to_picker(),
            KeyCode::Char('q') => self.quit(),
            _ => {}
        }
    }

    /// Sends a move of the run, if the run can take one now.
    fn move_run(&mut self, request: Request) {
        if !self.is_running() {
            self.say(strings::MESSAGE_NOT_STARTED, MessageKind::Problem);
        } else if !self.is_idle() {
            self.say(strings::MESSAGE_BUSY, MessageKind::Problem);
        } else if self.stage.as_ref().is_some_and(|stage| stage.finished)
            && matches!(request, Request::Advance | Request::ToEnd)
        {
            self.say(strings::MESSAGE_FINISHED, MessageKind::Info);
        } else {
            self.message = None;
            self.request(request);
        }
    }

    fn crash_now(&mut self) {
        if self.stage.as_ref().is_some_and(|stage| !stage.holding) && self.is_running() {
            self.say(strings::MESSAGE_NOT_HELD, MessageKind::Problem);
            return;
        }
        self.move_run(Request::CrashNow);
    }

    fn reset(&mut self) {
        let Some(stage) = self.stage.as_ref() else {
            return;
        };
        let scenario = stage.scenario.clone();
        self.stage = Some(Stage::new(scenario));
        self.waiting = None;
        self.message = None;
        self.request(Request::Reset);
    }

    fn step_back(&mut self) {
        let target = self.stage.as_ref().map(Stage::step_back_target);
        match target {
            Some(Some(step)) => self.jump_to(step),
            Some(None) => self.say(strings::MESSAGE_AT_START, MessageKind::Info),
            None => {}
        }
    }

    /// Shows the state after step `step`: forward it steps on; behind, the session
    /// replays the run from the start (same seed, fresh stores).
    fn jump_to(&mut self, step: usize) {
        let Some(stage) = self.stage.as_ref() else {
            return;
        };
        let count = stage.scenario.steps.len();
        if step > count {
            self.say(&strings::no_such_step(step, count), MessageKind::Problem);
            return;
        }
        // Autoplay would walk on from the state the presenter went back to see.
        self.autoplay.on = false;
        self.move_run(Request::JumpTo(step));
    }

    fn switch_theme(&mut self) {
        if !self.theme.color {
            self.say(strings::MESSAGE_NO_THEME, MessageKind::Info);
            return;
        }
        self.theme = self.theme.toggled();
        self.say(strings::theme_switched(self.theme.light), MessageKind::Info);
    }

    fn back_to_picker(&mut self) {
        self.stage = None;
        self.waiting = None;
        self.message = None;
        self.mode = Mode::Picker;
        self.request(Request::Close);
        if self.picker_entries().is_none() {
            self.request(Request::List(self.picker.folder.clone()));
        }
    }

    fn toggle_autoplay(&mut self) {
        self.autoplay.on = !self.autoplay.on;
        self.autoplay.last_move = self.now;
        let text = strings::autoplay_toggled(self.autoplay.on, self.autoplay.pace);
        self.say(&text, MessageKind::Info);
    }

    /// Moves the pace one notch: -1 faster, +1 slower.
    fn change_pace(&mut self, direction: isize) {
        let current_ms = self.autoplay.pace.as_millis() as u64;
        let index = PACES_MS
            .iter()
            .position(|&pace| pace >= current_ms)
            .unwrap_or(PACES_MS.len() - 1);
        let index = index
            .saturating_add_signed(direction)
            .min(PACES_MS.len() - 1);
        self.autoplay.pace = Duration::from_millis(PACES_MS[index]);
        let text = strings::pace_changed(self.autoplay.pace);
        self.say(&text, MessageKind::Info);
    }

    fn cycle_lanes(&mut self, direction: isize) {
        let Some(stage) = self.stage.as_ref() else {
            return;
        };
        let count = stage.scenario.lanes.len();
        if count <= lanes_that_fit(self.screen_width) {
            self.say(strings::MESSAGE_ONE_LANE_SET, MessageKind::Info);
            return;
        }
        self.lane_offset =
            (self.lane_offset as isize + direction).rem_euclid(count as isize) as usize;
    }

    /// Takes in what the runner reports.
    pub(crate) fn handle_runner(&mut self, event: RunnerEvent) {
        match event {
            RunnerEvent::Listed(entries) => {
                let count = entries.as_ref().map_or(0, Vec::len);
                self.picker.selected = self.picker.selected.min(count.saturating_sub(1));
                self.picker.entries = Some(entries);
            }
            RunnerEvent::Opened(scenario) => {
                // A reset or an open: the stage starts over, with nothing shown yet.
                if self.mode != Mode::Quitting {
                    self.stage = Some(Stage::new(*scenario));
                }
            }
            RunnerEvent::Waiting(waiting) => self.waiting = waiting,
            RunnerEvent::Started { seed, transcript } => {
                if let Some(stage) = self.stage.as_mut() {
                    stage.seed = Some(seed);
                    stage.transcript = Some(transcript);
                }
            }
            RunnerEvent::StartFailed(error) => {
                if let Some(stage) = self.stage.as_mut() {
                    stage.state = RunState::Failed(error);
                    stage.server = ServerState::Down;
                }
                self.autoplay.on = false;
            }
            RunnerEvent::Report {
                report,
                holding,
                finished,
            } => self.take_report(*report, holding, finished),
            RunnerEvent::Summary(summary) => self.take_summary(*summary),
            RunnerEvent::Replayed { step, elapsed } => {
                if let Some(stage) = self.stage.as_mut() {
                    stage.replayed = true;
                }
                self.say(&strings::replayed(step, elapsed), MessageKind::Info);
            }
            RunnerEvent::Refused(refused) => {
                self.say(&strings::refused(&refused), MessageKind::Problem)
            }
            RunnerEvent::Idle => {
                self.in_flight.pop_front();
                self.autoplay.last_move = self.now;
            }
            RunnerEvent::Closed => {}
            RunnerEvent::Stopped => {
                self.runner_stopped = true;
                self.in_flight.clear();
            }
        }
    }

    fn take_report(&mut self, report: StepReport, holding: bool, finished: bool) {
        let Some(stage) = self.stage.as_mut() else {
            return;
        };
        stage.apply(report, holding, finished);
    }

    fn take_summary(&mut self, summary: RunSummary) {
        let Some(stage) = self.stage.as_mut() else {
            return;
        };
        let first_time = stage.summary.is_none();
        stage.summary = Some(summary);
        if first_time && self.autoplay.on {
            // Nothing is left to play: autoplay stops on the verdicts.
            self.autoplay.on = false;
        }
    }
}

/// The first lane shown when not every lane fits: the lane before the first that reads
/// TigerBeetle first, so that a screen of two shows a lane that can answer wrong beside
/// one that cannot (Tab shows the others).
pub(crate) fn first_lane_shown(lanes: &[crate::domain::lane::Lane]) -> usize {
    lanes
        .iter()
        .position(|lane| lane.reads_record())
        .map_or(0, |index| index.saturating_sub(1))
}

/// The width from which three lanes stand side by side (33 columns each: their
/// pictures and the badges WRONG and RIGHT still fit big).
const THREE_LANES_FROM: u16 = crate::faces::doctor::THREE_LANES_WIDTH;

/// How many lanes fit side by side on a screen this wide: three from 100 columns.
pub(crate) fn lanes_that_fit(width: u16) -> usize {
    if width >= THREE_LANES_FROM { 3 } else { 2 }
}
