//! The lanes of a run and their worker processes: starting them, sending a request to
//! every lane, letting held requests go on, reading the workers' reports (bounded), and
//! the crash itself, SIGKILL at a hold point.

use super::EngineError;
use super::history::{Event as HistoryEvent, OperationType};
use super::layout::{LaneFiles, RunLayout};
use super::progress::Progress;
use super::report::{TimelineEntry, TimelineKind, WorkerState};
use super::worker_handle::{WorkerLaunch, WorkerProcess};
use crate::domain::lane::{HoldPoint, Lane, Recovery};
use crate::domain::outcome::{CallerOutcome, WriteOutcome};
use crate::domain::verdict::{Alert, LaneHistory};
use crate::worker::protocol::{Command, Report, RequestResult, Store, WorkerOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How long a worker may take to report anything: longer than a TigerBeetle request's
/// timeout, so a silent worker is a hung worker.
const REPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// A bound on the reports one worker sends between two hold points (a recovery round
/// reports a few lines per unfinished request).
const REPORT_COUNT_MAX: usize = 256;
/// The reader's place in the lane's id stream: one no worker reaches, and it draws none.
const READER_INCARNATION: u32 = u32::MAX;
/// A bound on the hold points a recovery run mid-step passes (a few per unfinished
/// request).
const RECOVERY_HOLD_COUNT_MAX: usize = 64;

/// One worker process of a lane (a lane has more than one while callers race).
pub(crate) struct WorkerSlot {
    pub(crate) process: Option<WorkerProcess>,
    /// A command was sent and the worker has not reported `idle` yet.
    busy: bool,
    pub(crate) held: Option<(String, HoldPoint)>,
    /// The operation the worker was last asked for (`create`, `reserve`, `close`,
    /// `post`): the history names what crashed or finished by it.
    function: &'static str,
}

impl WorkerSlot {
    /// Whether a command was sent and the worker has not reported `idle` yet.
    pub(crate) fn is_busy(&self) -> bool {
        self.busy
    }

    fn running(process: WorkerProcess) -> WorkerSlot {
        WorkerSlot {
            process: Some(process),
            busy: false,
            held: None,
            function: "create",
        }
    }
}

/// One lane of the run: its files, its ledger, its workers, and what happened in it
/// since the last report.
pub(crate) struct LaneRun {
    pub(crate) lane: Lane,
    pub(crate) files: LaneFiles,
    pub(crate) ledger: u32,
    pub(crate) slots: Vec<WorkerSlot>,
    /// The worker's state when no live worker says otherwise (crashed, down).
    pub(crate) state: WorkerState,
    incarnation: u32,
    pub(crate) history: LaneHistory,
    pub(crate) events: Vec<TimelineEntry>,
    /// How each user's request ended in this step, as its caller heard it.
    pub(crate) step_outcomes: BTreeMap<String, CallerOutcome>,
    /// What each caller (worker slot) heard in this step, by slot index.
    pub(crate) caller_outcomes: BTreeMap<usize, CallerOutcome>,
    /// The lab's history since it was last written to the history file.
    pub(crate) history_events: Vec<HistoryEvent>,
    /// A second process of the lane's application that answers "does X exist?" while
    /// the lane's worker cannot (crashed, held mid-request, or busy): started the first
    /// time it is needed and kept for the run, as a second instance of a service would
    /// be. It only ever reads.
    pub(crate) reader: Option<WorkerProcess>,
    /// TigerBeetle was killed and restarted since the lane's worker last took a client:
    /// its next read takes a new one.
    pub(crate) worker_client_stale: bool,
    /// The same for the lane's reader.
    pub(crate) reader_client_stale: bool,
}

impl LaneRun {
    fn note(&mut self, user: &str, kind: TimelineKind, text: &str) {
        self.events.push(entry(user, kind, text));
    }

    /// One line of the lab's history, done by the worker in `slot_index`.
    fn record(
        &mut self,
        slot_index: usize,
        kind: OperationType,
        function: &'static str,
        user: &str,
        value: String,
    ) {
        let process = self
            .slots
            .get(slot_index)
            .and_then(|slot| slot.process.as_ref())
            .map(WorkerProcess::pid);
        self.history_events.push(HistoryEvent {
            process,
            kind,
            function,
            user: user.to_string(),
            value,
            at: std::time::Instant::now(),
        });
    }
}

/// How this run's workers are started (a value apart from the lanes, so that a lane can
/// be given a new worker while the lanes are borrowed).
pub(crate) struct Launcher {
    pub(crate) executable: PathBuf,
    pub(crate) record_address: String,
    pub(crate) seed: u64,
    pub(crate) record_timeout: Duration,
}

impl Launcher {
    fn launch(&self, lane_run: &mut LaneRun) -> Result<WorkerProcess, EngineError> {
        let launch = self.launch_of(lane_run, lane_run.incarnation);
        lane_run.incarnation += 1;
        // Not waiting for `ready` here lets every lane's worker start at once; its
        // `ready` report is read (bounded) before anything it reports next.
        Ok(WorkerProcess::spawn(&launch)?)
    }

    /// Starts the lane's reader: the same application on the same files. It takes no
    /// incarnation, so the ids later workers draw do not depend on whether it started.
    fn launch_reader(&self, lane_run: &LaneRun) -> Result<WorkerProcess, EngineError> {
        let mut launch = self.launch_of(lane_run, READER_INCARNATION);
        launch.pid_file = lane_run.files.reader_pid_file();
        launch.options.reader = true;
        Ok(WorkerProcess::spawn(&launch)?)
    }

    fn launch_of(&self, lane_run: &LaneRun, incarnation: u32) -> WorkerLaunch {
        let files = &lane_run.files;
        WorkerLaunch {
            executable: self.executable.clone(),
            options: WorkerOptions {
                lane: lane_run.lane,
                reference: files.reference(),
                journal: files.journal(),
                log: files.worker_log(),
                record_address: self.record_address.clone(),
                ledger: lane_run.ledger,
                seed: self.seed,
                incarnation,
                record_timeout: self.record_timeout,
                reader: false,
            },
            pid_file: files.worker_pid_file(incarnation),
        }
    }

    /// Extra callers are extra worker processes of the same lane, on the same files.
    fn launch_callers(&self, lane_run: &mut LaneRun, callers: u32) -> Result<(), EngineError> {
        while lane_run.slots.len() < callers as usize {
            let process = self.launch(lane_run)?;
            lane_run.slots.push(WorkerSlot::running(process));
        }
        Ok(())
    }
}

/// Every lane of the run, side by side.
pub(crate) struct Lanes {
    pub(crate) runs: Vec<LaneRun>,
    launcher: Launcher,
    /// How many callers the current step's request has (more than one when they race).
    racing_callers: u32,
}

impl Lanes {
    /// Starts one worker per lane, each on its own ledger (`ledger_base` + the lane's
    /// index + 1, so several runs can share one server).
    pub(crate) fn start(
        layout: &RunLayout,
        lanes: &[Lane],
        ledger_base: u32,
        launcher: Launcher,
    ) -> Result<Lanes, EngineError> {
        let mut runs = Vec::with_capacity(lanes.len());
        for lane in lanes {
            let files = layout.lane(*lane);
            std::fs::create_dir_all(files.directory()).map_err(|source| EngineError::Io {
                action: format!("creating {}", files.directory().display()),
                source,
            })?;
            files.sweep_workers();
            let mut lane_run = LaneRun {
                lane: *lane,
                files,
                ledger: ledger_base + lane.index() + 1,
                slots: Vec::new(),
                state: WorkerState::Idle,
                incarnation: 0,
                history: LaneHistory::default(),
                events: Vec::new(),
                step_outcomes: BTreeMap::new(),
                caller_outcomes: BTreeMap::new(),
                history_events: Vec::new(),
                reader: None,
                worker_client_stale: false,
                reader_client_stale: false,
            };
            let process = launcher.launch(&mut lane_run)?;
            lane_run.slots.push(WorkerSlot::running(process));
            runs.push(lane_run);
        }
        Ok(Lanes {
            runs,
            launcher,
            racing_callers: 1,
        })
    }

    /// Waits (bounded) until every lane's first worker is ready: one that dies first
    /// stops the run with its cause, never as a lane's result.
    pub(crate) fn wait_started(&mut self) -> Result<(), EngineError> {
        for lane_run in &mut self.runs {
            if let Some(process) = lane_run
                .slots
                .first_mut()
                .and_then(|slot| slot.process.as_mut())
            {
                process.wait_started(REPORT_TIMEOUT)?;
            }
        }
        Ok(())
    }

    /// A new step begins: what callers heard in the last one is forgotten.
    pub(crate) fn begin_step(&mut self, callers: u32) {
        self.racing_callers = callers;
        for lane_run in &mut self.runs {
            lane_run.step_outcomes.clear();
            lane_run.caller_outcomes.clear();
        }
    }

    /// A line on every lane's timeline.
    pub(crate) fn note_all(&mut self, text: &str) {
        for lane_run in &mut self.runs {
            lane_run.note("", TimelineKind::Note, text);
        }
    }

    /// A crash line on every lane's timeline (a process of the run died).
    pub(crate) fn crash_all(&mut self, text: &str) {
        for lane_run in &mut self.runs {
            lane_run.note("", TimelineKind::Crash, text);
        }
    }

    /// Whether any worker holds at a hold point.
    pub(crate) fn any_held(&self) -> bool {
        self.runs
            .iter()
            .flat_map(|lane_run| &lane_run.slots)
            .any(|slot| slot.held.is_some())
    }

    /// Sends `command` to `callers` workers of every lane, lanes side by side but
    /// callers in turn: caller 1 reaches its first hold point before caller 2 starts (and
    /// `release` lets them go on in the same turn), so racing callers interleave the same
    /// way on every run and a replay is identical.
    pub(crate) fn send(
        &mut self,
        command: &Command,
        callers: u32,
        crash: Option<HoldPoint>,
        progress: &mut Progress,
    ) -> Result<(), EngineError> {
        for lane_run in &mut self.runs {
            self.launcher.launch_callers(lane_run, callers)?;
        }
        for slot_index in 0..callers as usize {
            for lane_run in &mut self.runs {
                send_to_slot(lane_run, slot_index, command);
            }
            self.collect_slots(slot_index, crash, progress);
        }
        Ok(())
    }

    /// TigerBeetle was killed and restarted: each lane's worker and reader take a new
    /// client for their next read (the old ones back off between resends while the
    /// server is away, up to about 10 s, longer than a read's deadline).
    pub(crate) fn mark_clients_stale(&mut self) {
        for lane_run in &mut self.runs {
            lane_run.worker_client_stale = true;
            lane_run.reader_client_stale = true;
        }
    }

    /// Gives every lane whose workers are all gone a new one; returns those lanes.
    pub(crate) fn restart_workers(&mut self) -> Result<Vec<Lane>, EngineError> {
        let mut restarted = Vec::new();
        for lane_run in &mut self.runs {
            lane_run.slots.retain(|slot| slot.process.is_some());
            lane_run.slots.truncate(1);
            if !lane_run.slots.is_empty() {
                continue;
            }
            let process = self.launcher.launch(lane_run)?;
            lane_run.slots.push(WorkerSlot::running(process));
            lane_run.state = WorkerState::Idle;
            lane_run.note("", TimelineKind::Note, "worker restarted (a new process)");
            restarted.push(lane_run.lane);
        }
        Ok(restarted)
    }

    /// Sends `recover` to the live workers of lanes with recovery (only `lanes`, if
    /// given); returns how many got it.
    pub(crate) fn send_recover(&mut self, lanes: Option<&[Lane]>) -> usize {
        let mut sent = 0;
        for lane_run in &mut self.runs {
            if lane_run.lane.recovery() == Recovery::None
                || lanes.is_some_and(|lanes| !lanes.contains(&lane_run.lane))
            {
                continue;
            }
            let Some(slot) = lane_run.slots.first_mut() else {
                continue;
            };
            let Some(process) = slot.process.as_mut() else {
                continue;
            };
            match process.send(&Command::Recover) {
                Ok(()) => {
                    slot.busy = true;
                    sent += 1;
                }
                Err(error) => lane_run.note("", TimelineKind::Trouble, &error.to_string()),
            }
        }
        sent
    }

    /// Runs the recovery of `lanes`, just restarted, while the other lanes' requests stay
    /// held mid-step: each restarted worker gets `recover`, and its own hold points are
    /// let go at once (nothing crashes it there), so its recovery ends before the step
    /// goes on.
    pub(crate) fn recover_now(&mut self, lanes: &[Lane], progress: &mut Progress) {
        if self.send_recover(Some(lanes)) == 0 {
            return;
        }
        for lane_run in self
            .runs
            .iter_mut()
            .filter(|lane_run| lanes.contains(&lane_run.lane))
        {
            for _hold_index in 0..RECOVERY_HOLD_COUNT_MAX {
                collect_slot(lane_run, 0, None, false, progress);
                let Some(slot) = lane_run.slots.first_mut() else {
                    break;
                };
                if slot.held.take().is_none() {
                    break;
                }
                let sent = slot
                    .process
                    .as_mut()
                    .map(|process| process.send(&Command::Go));
                if let Some(Err(error)) = sent {
                    lane_run.note("", TimelineKind::Trouble, &error.to_string());
                    break;
                }
            }
        }
    }

    /// Lets every held request go on to its next hold point: lanes side by side, callers
    /// of one lane in turn (caller 1 first), as `send` started them.
    pub(crate) fn release(&mut self, crash: Option<HoldPoint>, progress: &mut Progress) {
        for slot_index in 0..self.slot_count() {
            for lane_run in &mut self.runs {
                let Some(slot) = lane_run.slots.get_mut(slot_index) else {
                    continue;
                };
                if slot.held.take().is_none() {
                    continue;
                }
                let sent = slot
                    .process
                    .as_mut()
                    .map(|process| process.send(&Command::Go));
                if let Some(Err(error)) = sent {
                    lane_run.note("", TimelineKind::Trouble, &error.to_string());
                }
            }
            self.collect_slots(slot_index, crash, progress);
        }
    }

    /// Reads every busy worker's reports until it holds or is idle (bounded).
    pub(crate) fn collect(&mut self, crash: Option<HoldPoint>, progress: &mut Progress) {
        for slot_index in 0..self.slot_count() {
            self.collect_slots(slot_index, crash, progress);
        }
    }

    /// Crashes every held worker where it holds now (SIGKILL), by hand.
    pub(crate) fn crash_held(&mut self) {
        for lane_run in &mut self.runs {
            for slot_index in 0..lane_run.slots.len() {
                if let Some((user, point)) = lane_run.slots[slot_index].held.take() {
                    crash_slot(lane_run, slot_index, &user, point);
                }
            }
        }
    }

    /// Reaps every worker that exited without being told to (killed from outside, or
    /// crashed by itself): its lane says so at once, a request it held is unended, and
    /// `restart` gives the lane a new worker. Returns the lanes of those found.
    pub(crate) fn reap_exited(&mut self) -> Vec<Lane> {
        let mut found = Vec::new();
        for lane_run in &mut self.runs {
            // A reader that died is reaped and started again when next needed.
            if let Some(status) = lane_run
                .reader
                .as_mut()
                .and_then(WorkerProcess::exit_status)
            {
                let how = crate::stores::process::describe_exit(status);
                tracing::warn!(lane = %lane_run.lane, how = %how, "reader died");
                lane_run.reader = None;
            }
            for slot_index in 0..lane_run.slots.len() {
                let slot = &mut lane_run.slots[slot_index];
                let Some(status) = slot.process.as_mut().and_then(WorkerProcess::exit_status)
                else {
                    continue;
                };
                found.push(lane_run.lane);
                let how = crate::stores::process::describe_exit(status);
                tracing::warn!(lane = %lane_run.lane, how = %how, "worker died");
                slot.process = None;
                slot.busy = false;
                if let Some((user, _point)) = slot.held.take() {
                    lane_run
                        .step_outcomes
                        .insert(user.clone(), CallerOutcome::Crashed);
                    note_unended(&mut lane_run.history, &user);
                }
                lane_run.note(
                    "",
                    TimelineKind::Crash,
                    &format!("the worker died without being told to ({how})"),
                );
                lane_run.state = WorkerState::Died(how);
            }
        }
        found
    }

    /// Ends every worker and reader (SIGKILL; nothing of theirs is left to finish).
    pub(crate) fn stop(&mut self) {
        for lane_run in &mut self.runs {
            lane_run.slots.clear();
            lane_run.reader = None;
        }
    }

    /// The reader of lane `lane_index`, started now if it is not running; `true` with
    /// it when it was just started (its first answer waits for its start).
    pub(crate) fn reader(
        &mut self,
        lane_index: usize,
    ) -> Result<(&mut WorkerProcess, bool), EngineError> {
        let lane_run = &mut self.runs[lane_index];
        let gone = lane_run
            .reader
            .as_mut()
            .is_none_or(|reader| reader.exit_status().is_some());
        if gone {
            lane_run.reader = Some(self.launcher.launch_reader(lane_run)?);
        }
        let reader = lane_run.reader.as_mut().expect("a reader was just started");
        Ok((reader, gone))
    }

    /// The most worker processes any lane has (more than one while callers race).
    fn slot_count(&self) -> usize {
        self.runs
            .iter()
            .map(|lane_run| lane_run.slots.len())
            .max()
            .unwrap_or(0)
    }

    /// Reads the worker in slot `slot_index` of every lane until it holds or is idle.
    fn collect_slots(
        &mut self,
        slot_index: usize,
        crash: Option<HoldPoint>,
        progress: &mut Progress,
    ) {
        let racing = self.racing_callers > 1;
        for lane_run in &mut self.runs {
            if slot_index < lane_run.slots.len() {
                collect_slot(lane_run, slot_index, crash, racing, progress);
            }
        }
    }
}

/// Reads one worker's reports until it holds, is idle or is gone (bounded).
fn collect_slot(
    lane_run: &mut LaneRun,
    slot_index: usize,
    crash: Option<HoldPoint>,
    racing: bool,
    progress: &mut Progress,
) {
    for _report_index in 0..REPORT_COUNT_MAX {
        let slot = &mut lane_run.slots[slot_index];
        if !slot.busy || slot.held.is_some() {
            return;
        }
        let what = format!("the {} worker", lane_run.lane);
        let Some(process) = slot.process.as_mut() else {
            return;
        };
        let report = progress.during(what, REPORT_TIMEOUT, || process.next_report(REPORT_TIMEOUT));
        match report {
            Ok(report) => {
                let first_new = lane_run.events.len();
                handle_report(lane_run, slot_index, report, crash);
                // Racing callers share a lane's timeline: say whose line each is.
                if racing {
                    for event in &mut lane_run.events[first_new..] {
                        event.text = format!("caller {}: {}", slot_index + 1, event.text);
                    }
                }
            }
            Err(error) => {
                let slot = &mut lane_run.slots[slot_index];
                if let Some(process) = slot.process.take() {
                    process.kill();
                }
                slot.busy = false;
                lane_run.state = WorkerState::Down;
                lane_run.note(
                    "",
                    TimelineKind::Crash,
                    &format!("{error}: the worker was stopped"),
                );
                return;
            }
        }
    }
    lane_run.note(
        "",
        TimelineKind::Trouble,
        &format!("the worker sent more than {REPORT_COUNT_MAX} reports in a row"),
    );
}

pub(crate) fn entry(user: &str, kind: TimelineKind, text: &str) -> TimelineEntry {
    TimelineEntry {
        user: user.to_string(),
        kind,
        text: text.to_string(),
        store: None,
    }
}

/// Sends `command` to the lane's worker in slot `slot_index`, or notes why it could not.
fn send_to_slot(lane_run: &mut LaneRun, slot_index: usize, command: &Command) {
    let Some(slot) = lane_run.slots.get_mut(slot_index) else {
        return;
    };
    let Some(process) = slot.process.as_mut() else {
        lane_run.note(
            "",
            TimelineKind::Trouble,
            "the worker is down: the request was not accepted",
        );
        return;
    };
    match process.send(command) {
        Ok(()) => slot.busy = true,
        Err(error) => return lane_run.note("", TimelineKind::Trouble, &error.to_string()),
    }
    let (function, user, value) = match command {
        Command::Create { user, .. } => ("create", user, String::new()),
        Command::Reserve { user, amount, .. } => ("reserve", user, amount.to_string()),
        Command::Close { user } => ("close", user, String::new()),
        Command::Post { user } => ("post", user, String::new()),
        // A recovery resumes unfinished creates: the journal and the outbox hold no other.
        Command::Recover => {
            lane_run.slots[slot_index].function = "create";
            return;
        }
        Command::Read { .. } | Command::Go | Command::Free { .. } | Command::FreeBatch { .. } => {
            return;
        }
    };
    lane_run.slots[slot_index].function = function;
    lane_run.record(slot_index, OperationType::Invoke, function, user, value);
}

/// SIGKILL of the worker in `slot_index`, held at `point` in `user`'s request: the crash.
fn crash_slot(lane_run: &mut LaneRun, slot_index: usize, user: &str, point: HoldPoint) {
    let function = lane_run.slots[slot_index].function;
    lane_run.record(
        slot_index,
        OperationType::Info,
        function,
        user,
        format!("crashed {point}"),
    );
    let slot = &mut lane_run.slots[slot_index];
    if let Some(process) = slot.process.take() {
        tracing::info!(lane = %process.lane(), pid = process.pid(), point = point.name(), "worker killed");
        process.kill();
    }
    slot.busy = false;
    slot.held = None;
    lane_run.note(
        user,
        TimelineKind::Crash,
        &format!("crashed {} (SIGKILL)", point.describe()),
    );
    lane_run.state = WorkerState::Crashed(point);
    lane_run
        .caller_outcomes
        .insert(slot_index, CallerOutcome::Crashed);
    lane_run
        .step_outcomes
        .insert(user.to_string(), CallerOutcome::Crashed);
    note_unended(&mut lane_run.history, user);
}

fn handle_report(
    lane_run: &mut LaneRun,
    slot_index: usize,
    report: Report,
    crash: Option<HoldPoint>,
) {
    match report {
        Report::Hold { user, point } if crash == Some(point) => {
            crash_slot(lane_run, slot_index, &user, point)
        }
        Report::Hold { user, point } => {
            lane_run.note(
                &user,
                TimelineKind::Hold,
                &format!("held {}", point.describe()),
            );
            lane_run.slots[slot_index].held = Some((user, point));
        }
        Report::Drew { user, guid } => note_drawn(lane_run, slot_index, user, guid),
        Report::Wrote {
            user,
            store,
            guid,
            outcome,
        } => note_write(lane_run, slot_index, &user, store, &guid, &outcome),
        Report::Note { user, text } => lane_run.note(&user, TimelineKind::Note, &text),
        Report::Alert {
            user,
            violation,
            detail,
        } => {
            lane_run.note(
                &user,
                TimelineKind::Alert,
                &format!("ALERT {violation}: {detail}"),
            );
            lane_run.history.alerts.push(Alert {
                user,
                kind: violation,
                detail,
            });
        }
        Report::Finished { user, result } => {
            let kind = match &result {
                RequestResult::Created | RequestResult::Closed => OperationType::Ok,
                RequestResult::Failed(_) | RequestResult::Rejected(_) => OperationType::Fail,
                RequestResult::Pending | RequestResult::Unknown | RequestResult::Incomplete(_) => {
                    OperationType::Info
                }
            };
            let function = lane_run.slots[slot_index].function;
            lane_run.record(slot_index, kind, function, &user, result.name().to_string());
            lane_run
                .caller_outcomes
                .insert(slot_index, result.outcome());
            finish_request(lane_run, user, result)
        }
        Report::Idle => lane_run.slots[slot_index].busy = false,
        // Answers come from the lane's reader (`engine/readers.rs`), never from a writer.
        Report::Answered { .. } => {}
        Report::Ready { .. } => {}
        Report::Error { text } => {
            lane_run.note("", TimelineKind::Trouble, &format!("worker error: {text}"))
        }
    }
}

/// An id the worker drew for `user`, before writing with it: the lab's oracle.
fn note_drawn(lane_run: &mut LaneRun, slot_index: usize, user: String, guid: String) {
    if let Some(id) = crate::domain::ids::id_of(&guid) {
        lane_run.history.drawn.insert(id, user.clone());
    }
    lane_run.record(
        slot_index,
        OperationType::Ok,
        super::history::DRAW_ID,
        &user,
        guid,
    );
}

/// A write to a store: in the lab's history, and on the lane's timeline.
fn note_write(
    lane_run: &mut LaneRun,
    slot_index: usize,
    user: &str,
    store: Store,
    guid: &str,
    outcome: &WriteOutcome,
) {
    let function = match store {
        Store::Record => "write-tigerbeetle",
        Store::Reference | Store::Outbox | Store::Journal => "write-sqlite",
    };
    lane_run.record(
        slot_index,
        write_type(outcome),
        function,
        user,
        format!("{outcome} {guid}"),
    );
    let kind = if outcome.is_applied() {
        TimelineKind::Progress
    } else {
        TimelineKind::Trouble
    };
    let what = match store {
        Store::Outbox => "SQLite row + outbox message",
        other => other.name(),
    };
    let text = format!(
        "{what}: {outcome} (id {})",
        crate::domain::ids::short_id(guid)
    );
    lane_run.events.push(TimelineEntry {
        store: Some(store),
        ..entry(user, kind, &text)
    });
}

fn finish_request(lane_run: &mut LaneRun, user: String, result: RequestResult) {
    let kind = match result {
        RequestResult::Created | RequestResult::Closed => TimelineKind::Progress,
        RequestResult::Rejected(_) => TimelineKind::Alert,
        _ => TimelineKind::Trouble,
    };
    let text = match &result {
        RequestResult::Rejected(detail)
        | RequestResult::Failed(detail)
        | RequestResult::Incomplete(detail) => {
            format!("answered {}: {detail}", result.name())
        }
        other => format!("answered {}", other.name()),
    };
    lane_run.note(&user, kind, &text);
    if result.is_final() {
        lane_run
            .history
            .unended_requests
            .retain(|known| *known != user);
    } else if matches!(
        result,
        RequestResult::Unknown | RequestResult::Incomplete(_)
    ) {
        note_unended(&mut lane_run.history, &user);
    }
    lane_run.step_outcomes.insert(user, result.outcome());
}

/// A write's result as a history entry: applied, certainly not applied, or in doubt.
fn write_type(outcome: &WriteOutcome) -> OperationType {
    use crate::domain::outcome::WriteOutcome;
    match outcome {
        WriteOutcome::Created | WriteOutcome::ExistsSame => OperationType::Ok,
        WriteOutcome::ExistsDifferent | WriteOutcome::Failed(_) => OperationType::Fail,
        WriteOutcome::Unknown(_) => OperationType::Info,
    }
}

/// Remembers that `user`'s request has not ended (for eventual completion).
fn note_unended(history: &mut LaneHistory, user: &str) {
    if !history.unended_requests.iter().any(|known| known == user) {
        history.unended_requests.push(user.to_string());
    }
}
