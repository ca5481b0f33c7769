//! The engine: runs a scenario's steps in every lane at once, on the real stores. It
//! starts TigerBeetle and one worker process per lane, applies faults for real (SIGKILL of
//! a worker at a hold point, SQLite's write lock taken, TigerBeetle paused or killed), and
//! after every step reads both stores and judges each lane. It is synchronous: every wait
//! is bounded, and a face (TUI, player) runs it on its own thread.

mod expect;
pub mod observe;
pub mod report;
pub mod worker_handle;

use crate::domain::ids::CODE_BANK;
use crate::domain::lane::{HoldPoint, Lane, Recovery};
use crate::domain::scenario::{Action, Fault, Scenario, StoreName};
use crate::domain::verdict::{Alert, LaneHistory, Severity, ViolationKind};
use crate::engine::report::{
    LaneSummary, RunSummary, StepReport, TimelineEntry, TimelineKind, WorkerState,
};
use crate::engine::worker_handle::{WorkerLaunch, WorkerProcess};
use crate::stores::record::{AccountSpec, RecordStore, TransferSpec};
use crate::stores::reference::ReferenceLock;
use crate::stores::supervisor::{RecordServer, ServerState, SupervisorError};
use crate::worker::protocol::{Command, Report, RequestResult, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a worker may take to report anything: longer than a TigerBeetle request's
/// timeout, so a silent worker is a hung worker.
const REPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// A bound on the hold points one step passes through.
const HOLD_COUNT_MAX: usize = 64;
/// How long a resumed TigerBeetle is given to apply the requests that queued up while it
/// was paused, before the stores are read (measured: they land within 250 ms).
const RESUME_SETTLE: Duration = Duration::from_millis(1000);

/// A failure that stops a run (as opposed to a store fault, which is shown).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    #[error(transparent)]
    Worker(#[from] crate::engine::worker_handle::WorkerError),
    #[error(transparent)]
    Record(#[from] crate::stores::record::RecordError),
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// What a run is started with.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The run's data directory: every file of the run lives inside it.
    pub data_dir: PathBuf,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    pub tigerbeetle: PathBuf,
    /// The executable that runs workers (`cabaret worker`).
    pub executable: PathBuf,
    /// A worker's TigerBeetle request timeout: past it, the outcome is unknown.
    pub record_timeout: Duration,
    /// The controller's timeout when it reads TigerBeetle after a step.
    pub observe_timeout: Duration,
    /// Added to every lane's ledger, so several runs can share one server.
    pub ledger_base: u32,
}

impl RunOptions {
    pub fn new(data_dir: PathBuf) -> Result<Self, EngineError> {
        let executable = std::env::current_exe().map_err(|source| EngineError::Io {
            action: "finding the cabaret executable".to_string(),
            source,
        })?;
        Ok(RunOptions {
            data_dir,
            seed: None,
            tigerbeetle: crate::stores::supervisor::default_binary(),
            executable,
            record_timeout: Duration::from_millis(2000),
            observe_timeout: Duration::from_millis(1000),
            ledger_base: 0,
        })
    }
}

/// A wait the engine is in, for the face to show ("waiting for TigerBeetle… 1.4 s of 3 s").
#[derive(Clone, Debug)]
pub struct Waiting {
    pub what: String,
    pub since: Instant,
    pub timeout: Duration,
}

/// Receives the engine's waits as they begin and end.
pub type ProgressSink = Box<dyn FnMut(Option<Waiting>) + Send>;

/// One worker process of a lane (a lane has more than one while callers race).
struct WorkerSlot {
    process: Option<WorkerProcess>,
    /// A command was sent and the worker has not reported `idle` yet.
    busy: bool,
    held: Option<(String, HoldPoint)>,
}

struct LaneRun {
    lane: Lane,
    directory: PathBuf,
    ledger: u32,
    slots: Vec<WorkerSlot>,
    state: WorkerState,
    incarnation: u32,
    history: LaneHistory,
    events: Vec<TimelineEntry>,
    step_outcomes: BTreeMap<String, String>,
    /// What each caller (worker slot) heard in this step, by slot index.
    caller_outcomes: BTreeMap<usize, String>,
}

/// A request in progress across the lanes, held at a hold point (the TUI steps it).
struct InProgress {
    step: Option<usize>,
    action: Action,
    crash: Option<HoldPoint>,
}

pub struct Run {
    scenario: Scenario,
    seed: u64,
    options: RunOptions,
    server: RecordServer,
    record: RecordStore,
    runtime: tokio::runtime::Runtime,
    lanes: Vec<LaneRun>,
    users: Vec<String>,
    next_step: usize,
    in_progress: Option<InProgress>,
    /// How many callers the current step's request has (more than one when they race).
    racing_callers: u32,
    reference_locks: Vec<ReferenceLock>,
    /// Set while `step` runs a step through its hold points unobserved.
    quiet_holds: bool,
    reference_read_only: Vec<crate::stores::reference::ReferenceReadOnly>,
    random: ChaCha8Rng,
    progress: Option<ProgressSink>,
    seen: BTreeMap<Lane, BTreeMap<ViolationKind, Severity>>,
    failures: Vec<String>,
}

impl Run {
    /// Prepares the data directory, starts TigerBeetle (or takes `server`, already
    /// started, to share it) and one worker per lane. Bounded by the start timeouts.
    pub fn start(
        scenario: Scenario,
        options: RunOptions,
        server: Option<RecordServer>,
        progress: Option<ProgressSink>,
    ) -> Result<Run, EngineError> {
        let io = |action: &str| {
            let action = action.to_string();
            move |source| EngineError::Io { action, source }
        };
        std::fs::create_dir_all(&options.data_dir).map_err(io("creating the data directory"))?;
        let mut progress = progress;
        let server = match server {
            Some(server) => server,
            None => start_server(&options, scenario.replicas, &mut progress)?,
        };
        let record = RecordStore::connect(&server.address(), options.observe_timeout)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(io("starting the engine's runtime"))?;
        let seed = options.seed.unwrap_or(scenario.seed);
        let users = scenario.users();
        let mut run = Run {
            seed,
            users,
            lanes: Vec::new(),
            server,
            record,
            runtime,
            next_step: 0,
            in_progress: None,
            racing_callers: 1,
            reference_locks: Vec::new(),
            quiet_holds: false,
            reference_read_only: Vec::new(),
            random: ChaCha8Rng::seed_from_u64(seed),
            progress,
            seen: BTreeMap::new(),
            failures: Vec::new(),
            options,
            scenario,
        };
        for lane in run.scenario.lanes.clone() {
            let lane_run = run.start_lane(lane)?;
            run.lanes.push(lane_run);
        }
        run.create_bank_accounts()?;
        let manifest = crate::faces::check::Manifest {
            title: run.scenario.title.clone(),
            lanes: run
                .lanes
                .iter()
                .map(|lane_run| (lane_run.lane, lane_run.ledger))
                .collect(),
        };
        crate::faces::check::write_manifest(&run.options.data_dir, &manifest)
            .map_err(io("writing run.json"))?;
        Ok(run)
    }

    fn start_lane(&mut self, lane: Lane) -> Result<LaneRun, EngineError> {
        let directory = self.options.data_dir.join("lanes").join(lane.name());
        std::fs::create_dir_all(&directory).map_err(|source| EngineError::Io {
            action: format!("creating {}", directory.display()),
            source,
        })?;
        crate::engine::worker_handle::sweep_workers(&directory);
        let mut lane_run = LaneRun {
            lane,
            directory,
            ledger: self.options.ledger_base + lane.index() + 1,
            slots: Vec::new(),
            state: WorkerState::Idle,
            incarnation: 0,
            history: LaneHistory::default(),
            events: Vec::new(),
            step_outcomes: BTreeMap::new(),
            caller_outcomes: BTreeMap::new(),
        };
        let process = self.launcher().launch(&mut lane_run)?;
        lane_run.slots.push(WorkerSlot {
            process: Some(process),
            busy: false,
            held: None,
        });
        Ok(lane_run)
    }

    /// What every worker of this run is started with.
    fn launcher(&self) -> Launcher {
        Launcher {
            executable: self.options.executable.clone(),
            record_address: self.server.address(),
            seed: self.seed,
            record_timeout: self.options.record_timeout,
        }
    }

    /// Creates the bank's account on every lane's ledger: the first requests of the run,
    /// so they also wait (bounded) for a fresh cluster to elect its primary. Retrying is
    /// safe: the ids are fixed, and a retry that finds the account gets exists-same.
    fn create_bank_accounts(&mut self) -> Result<(), EngineError> {
        let timeout = crate::stores::supervisor::START_TIMEOUT;
        self.wait_begins("TigerBeetle's first answer".to_string(), timeout);
        let deadline = Instant::now() + timeout;
        let mut result = Ok(());
        for lane_run in &self.lanes {
            let spec = AccountSpec {
                id: crate::domain::ids::bank_account_id(lane_run.ledger),
                ledger: lane_run.ledger,
                code: CODE_BANK,
                user_key: 0,
            };
            let outcome = loop {
                let outcome = self.runtime.block_on(self.record.create_account(spec));
                let retry = matches!(outcome, crate::domain::outcome::WriteOutcome::Unknown(_));
                if !retry || Instant::now() >= deadline {
                    break outcome;
                }
            };
            if !outcome.is_applied() {
                result = Err(EngineError::Other(format!(
                    "creating the bank's account on ledger {}: {outcome}",
                    lane_run.ledger
                )));
                break;
            }
        }
        self.wait_ends();
        result
    }

    fn wait_begins(&mut self, what: String, timeout: Duration) {
        if let Some(progress) = self.progress.as_mut() {
            progress(Some(Waiting {
                what,
                since: Instant::now(),
                timeout,
            }));
        }
    }

    fn wait_ends(&mut self) {
        if let Some(progress) = self.progress.as_mut() {
            progress(None);
        }
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn server_state(&self) -> ServerState {
        self.server.state()
    }

    /// Each TigerBeetle replica's state (one entry unless the run is a cluster).
    pub fn replica_states(&self) -> Vec<ServerState> {
        self.server.replica_states()
    }

    /// Whether the controller holds SQLite's write lock (the "SQLite locked" fault).
    pub fn reference_locked(&self) -> bool {
        !self.reference_locks.is_empty()
    }

    /// Whether the reference stores' folders are read-only (the "SQLite read-only" fault).
    pub fn reference_read_only(&self) -> bool {
        !self.reference_read_only.is_empty()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.options.data_dir
    }

    /// Whether every scripted step has run to its end.
    pub fn is_finished(&self) -> bool {
        self.next_step >= self.scenario.steps.len() && self.in_progress.is_none()
    }

    /// Whether a request is held mid-step.
    pub fn is_holding(&self) -> bool {
        self.in_progress.is_some()
    }

    /// The state before any step (or now, between steps): stores read for real.
    pub fn snapshot(&mut self) -> StepReport {
        let (number, action, narration) = (
            self.next_step,
            "start".to_string(),
            self.scenario.summary.clone(),
        );
        self.report(number, action, None, narration, false, true)
    }

    /// Runs the next scripted step to its end.
    pub fn step(&mut self) -> Result<StepReport, EngineError> {
        // The hold points in between are not reported: their events all land in the
        // step's one report, and the stores are read once, at the end.
        self.quiet_holds = true;
        let result = self.step_to_end();
        self.quiet_holds = false;
        result
    }

    fn step_to_end(&mut self) -> Result<StepReport, EngineError> {
        let mut report = self.advance()?;
        for _hold_index in 0..HOLD_COUNT_MAX {
            if report.complete {
                return Ok(report);
            }
            report = self.advance()?;
        }
        Err(EngineError::Other(format!(
            "step {} passed more than {HOLD_COUNT_MAX} hold points",
            report.step_number
        )))
    }

    /// Moves on by one hold point: releases a held request, or begins the next step.
    pub fn advance(&mut self) -> Result<StepReport, EngineError> {
        if self.in_progress.is_some() {
            self.release();
            self.collect();
            return Ok(self.after_progress());
        }
        let Some(step) = self.scenario.steps.get(self.next_step).cloned() else {
            return Err(EngineError::Other(
                "the scenario has no step left".to_string(),
            ));
        };
        self.next_step += 1;
        self.begin(Some(self.next_step - 1), step.action)
    }

    /// Applies an action pressed by hand (a fault, a heal, a restart): recorded in the
    /// transcript like a scripted one.
    pub fn apply_manual(&mut self, action: Action) -> Result<StepReport, EngineError> {
        let needs_workers = matches!(
            action,
            Action::Create { .. } | Action::Restart | Action::Recover | Action::Reserve { .. }
        );
        if needs_workers && self.in_progress.is_some() {
            return Err(EngineError::Other(
                "a request is in progress: step it to its end first".to_string(),
            ));
        }
        self.begin(None, action)
    }

    /// Crashes every held worker where it holds now (SIGKILL), by hand.
    pub fn crash_now(&mut self) -> StepReport {
        for lane_run in &mut self.lanes {
            for slot_index in 0..lane_run.slots.len() {
                if let Some((user, point)) = lane_run.slots[slot_index].held.take() {
                    crash_slot(lane_run, slot_index, &user, point);
                }
            }
        }
        let complete = !self.any_held();
        if complete {
            self.in_progress = None;
        }
        self.report(
            self.next_step,
            "crash (by hand)".to_string(),
            None,
            String::new(),
            true,
            complete,
        )
    }

    fn any_held(&self) -> bool {
        self.lanes
            .iter()
            .flat_map(|lane_run| &lane_run.slots)
            .any(|slot| slot.held.is_some())
    }

    fn begin(&mut self, step: Option<usize>, action: Action) -> Result<StepReport, EngineError> {
        tracing::info!(step = ?step.map(|index| index + 1), action = %action.describe(), "step begins");
        for lane_run in &mut self.lanes {
            lane_run.step_outcomes.clear();
            lane_run.caller_outcomes.clear();
        }
        self.racing_callers = match &action {
            Action::Create { callers, .. } => *callers,
            _ => 1,
        };
        let crash = match &action {
            Action::Create { crash, .. } | Action::Reserve { crash, .. } => *crash,
            _ => None,
        };
        let sent = self.send_action(&action)?;
        if sent {
            self.in_progress = Some(InProgress {
                step,
                action,
                crash,
            });
            self.collect();
            return Ok(self.after_progress());
        }
        let user = action.user().map(str::to_string);
        Ok(self.finish_step(step, action.describe(), user))
    }

    /// Carries out the action; returns whether workers got commands (so it is in progress).
    fn send_action(&mut self, action: &Action) -> Result<bool, EngineError> {
        match action {
            Action::Create {
                user,
                name,
                order,
                callers,
                crash,
            } => {
                let command = Command::Create {
                    user: user.clone(),
                    name: name.clone(),
                    order: *order,
                    hold: true,
                };
                self.send_to_lanes(&command, *callers, *crash)?;
                Ok(true)
            }
            Action::Reserve {
                user,
                amount,
                timeout_seconds,
                crash,
            } => {
                let command = Command::Reserve {
                    user: user.clone(),
                    amount: *amount,
                    timeout_seconds: *timeout_seconds,
                    hold: true,
                };
                self.send_to_lanes(&command, 1, *crash)?;
                Ok(true)
            }
            Action::Restart => self.restart_workers(),
            Action::Recover => Ok(self.send_recover(None) > 0),
            Action::Read { .. } => Ok(false),
            Action::Fail(fault) => self.apply_fault(*fault).map(|()| false),
            Action::Heal(store) => self.heal(*store).map(|()| false),
            Action::Wait { seconds } => {
                self.wait(Duration::from_secs_f64(*seconds));
                Ok(false)
            }
            Action::Deposit { user, amount } => {
                self.deposit(user, *amount);
                Ok(false)
            }
        }
    }

    /// Sends `command` to `callers` workers of every lane, lanes side by side but callers
    /// in turn: caller 1 reaches its first hold point before caller 2 starts (and
    /// `release` lets them go on in the same turn), so racing callers interleave the same
    /// way on every run and a replay is identical.
    fn send_to_lanes(
        &mut self,
        command: &Command,
        callers: u32,
        crash: Option<HoldPoint>,
    ) -> Result<(), EngineError> {
        let launcher = self.launcher();
        for lane_run in &mut self.lanes {
            launcher.launch_callers(lane_run, callers)?;
        }
        for slot_index in 0..callers as usize {
            for lane_run in &mut self.lanes {
                send_to_slot(lane_run, slot_index, command);
            }
            self.collect_slots(slot_index, crash);
        }
        Ok(())
    }

    fn restart_workers(&mut self) -> Result<bool, EngineError> {
        let mut restarted = Vec::new();
        let launcher = self.launcher();
        for lane_run in &mut self.lanes {
            lane_run.slots.retain(|slot| slot.process.is_some());
            lane_run.slots.truncate(1);
            if !lane_run.slots.is_empty() {
                continue;
            }
            let process = launcher.launch(lane_run)?;
            lane_run.slots.push(WorkerSlot {
                process: Some(process),
                busy: false,
                held: None,
            });
            lane_run.state = WorkerState::Idle;
            lane_run.events.push(entry(
                "",
                TimelineKind::Note,
                "worker restarted (a new process)",
            ));
            restarted.push(lane_run.lane);
        }
        Ok(self.send_recover(Some(&restarted)) > 0)
    }

    /// Sends `recover` to the live workers of lanes with recovery (only `lanes`, if given).
    fn send_recover(&mut self, lanes: Option<&[Lane]>) -> usize {
        let mut sent = 0;
        for lane_run in &mut self.lanes {
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
            match process.send(&Command::Recover { hold: true }) {
                Ok(()) => {
                    slot.busy = true;
                    sent += 1;
                }
                Err(error) => {
                    lane_run
                        .events
                        .push(entry("", TimelineKind::Trouble, &error.to_string()))
                }
            }
        }
        sent
    }

    /// Lets every held request go on to its next hold point: lanes side by side, callers of
    /// one lane in turn (caller 1 first), as `send_to_lanes` started them.
    fn release(&mut self) {
        let crash = self.crash_point();
        for slot_index in 0..self.slot_count() {
            for lane_run in &mut self.lanes {
                let Some(slot) = lane_run.slots.get_mut(slot_index) else {
                    continue;
                };
                if slot.held.take().is_none() {
                    continue;
                }
                if let Some(process) = slot.process.as_mut() {
                    if let Err(error) = process.send(&Command::Go) {
                        lane_run
                            .events
                            .push(entry("", TimelineKind::Trouble, &error.to_string()));
                    }
                }
            }
            self.collect_slots(slot_index, crash);
        }
    }

    /// Reads every busy worker's reports until it holds or is idle (bounded).
    fn collect(&mut self) {
        let crash = self.crash_point();
        for slot_index in 0..self.slot_count() {
            self.collect_slots(slot_index, crash);
        }
    }

    /// Where the step in progress crashes its workers, if it does.
    fn crash_point(&self) -> Option<HoldPoint> {
        self.in_progress
            .as_ref()
            .and_then(|progress| progress.crash)
    }

    /// The most worker processes any lane has (more than one while callers race).
    fn slot_count(&self) -> usize {
        self.lanes
            .iter()
            .map(|lane_run| lane_run.slots.len())
            .max()
            .unwrap_or(0)
    }

    /// Reads the worker in slot `slot_index` of every lane until it holds or is idle.
    fn collect_slots(&mut self, slot_index: usize, crash: Option<HoldPoint>) {
        for lane_index in 0..self.lanes.len() {
            if slot_index < self.lanes[lane_index].slots.len() {
                self.collect_slot(lane_index, slot_index, crash);
            }
        }
    }

    fn collect_slot(&mut self, lane_index: usize, slot_index: usize, crash: Option<HoldPoint>) {
        for _report_index in 0..HOLD_COUNT_MAX * 4 {
            let lane_run = &self.lanes[lane_index];
            let slot = &lane_run.slots[slot_index];
            if !slot.busy || slot.held.is_some() || slot.process.is_none() {
                return;
            }
            let lane = lane_run.lane;
            self.wait_begins(format!("the {lane} worker"), REPORT_TIMEOUT);
            let report = self.lanes[lane_index].slots[slot_index]
                .process
                .as_mut()
                .map(|process| process.next_report(REPORT_TIMEOUT));
            self.wait_ends();
            let lane_run = &mut self.lanes[lane_index];
            match report {
                Some(Ok(report)) => {
                    let first_new = lane_run.events.len();
                    handle_report(lane_run, slot_index, report, crash);
                    // Racing callers share a lane's timeline: say whose line each is.
                    if self.racing_callers > 1 {
                        for event in &mut lane_run.events[first_new..] {
                            event.text = format!("caller {}: {}", slot_index + 1, event.text);
                        }
                    }
                }
                Some(Err(error)) => {
                    let slot = &mut lane_run.slots[slot_index];
                    if let Some(process) = slot.process.take() {
                        process.kill();
                    }
                    slot.busy = false;
                    lane_run.state = WorkerState::Down;
                    lane_run.events.push(entry(
                        "",
                        TimelineKind::Crash,
                        &format!("{error}: the worker was stopped"),
                    ));
                }
                None => return,
            }
        }
    }

    fn after_progress(&mut self) -> StepReport {
        let Some(progress) = self.in_progress.as_ref() else {
            return self.snapshot();
        };
        let (step, description, user) = (
            progress.step,
            progress.action.describe(),
            progress.action.user().map(str::to_string),
        );
        if self.any_held() {
            let (number, narration) = self.heading(step);
            return self.report(number, description, user, narration, step.is_none(), false);
        }
        self.in_progress = None;
        self.finish_step(step, description, user)
    }

    fn finish_step(
        &mut self,
        step: Option<usize>,
        description: String,
        user: Option<String>,
    ) -> StepReport {
        let (number, narration) = self.heading(step);
        let mut report = self.report(number, description, user, narration, step.is_none(), true);
        if let Some(index) = step {
            let first_user = self.users.first().cloned();
            let failures = expect::check_step(
                &self.scenario.steps[index],
                index + 1,
                &report,
                first_user.as_deref(),
            );
            self.failures.extend(failures.iter().cloned());
            report.failures = failures;
        }
        for lane_report in &report.lanes {
            let seen = self.seen.entry(lane_report.lane).or_default();
            for violation in &lane_report.violations {
                let worst = seen.entry(violation.kind).or_insert(violation.severity);
                *worst = (*worst).max(violation.severity);
            }
        }
        report
    }

    /// The number and narration of a scripted step, or of the moment now for a move by hand.
    fn heading(&self, step: Option<usize>) -> (usize, String) {
        let number = step.map(|index| index + 1).unwrap_or(self.next_step);
        let narration = step
            .map(|index| self.scenario.steps[index].narration.clone())
            .unwrap_or_default();
        (number, narration)
    }

    fn report(
        &mut self,
        step_number: usize,
        action: String,
        user: Option<String>,
        narration: String,
        manual: bool,
        complete: bool,
    ) -> StepReport {
        let mut report = StepReport {
            step_number,
            step_count: self.scenario.steps.len(),
            action,
            user,
            narration,
            manual,
            complete,
            server: self.server.state(),
            replicas: self.server.replica_states(),
            lanes: Vec::new(),
            failures: Vec::new(),
        };
        if self.quiet_holds && !complete {
            // Nobody looks at this hold point: skip reading the stores (a down server
            // would cost one read timeout per hold point); its events wait for the
            // step's report.
            return report;
        }
        self.wait_begins(
            "reading SQLite and TigerBeetle".to_string(),
            self.options.observe_timeout,
        );
        let observe_started = Instant::now();
        let observations = observe::observe(&self.lanes, &self.record, &self.runtime);
        tracing::debug!(
            elapsed_ms = observe_started.elapsed().as_millis() as u64,
            "stores read"
        );
        self.wait_ends();
        if observations
            .iter()
            .any(|observation| observation.record.is_err())
        {
            // A TigerBeetle client has one request in flight at a time: reads that timed
            // out would queue up ahead of the next ones, and its reconnection backs off
            // while the server is away. The observer starts afresh with a new client.
            match RecordStore::connect(&self.server.address(), self.options.observe_timeout) {
                Ok(record) => {
                    let started = Instant::now();
                    self.record = record;
                    tracing::debug!(
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "observer client renewed"
                    );
                }
                Err(error) => tracing::warn!(%error, "cannot renew the observer's client"),
            }
        }
        let user = report.user.as_deref();
        report.lanes = self
            .lanes
            .iter_mut()
            .zip(observations)
            .map(|(lane_run, observation)| {
                observe::lane_report(lane_run, &self.users, observation, user)
            })
            .collect();
        report
    }

    fn apply_fault(&mut self, fault: Fault) -> Result<(), EngineError> {
        tracing::info!(fault = fault.describe(), "fault applied");
        let text = match fault {
            Fault::ReferenceLocked => {
                for lane_run in &self.lanes {
                    let path = crate::domain::lane::reference_path(&lane_run.directory);
                    let lock = ReferenceLock::acquire(&path)
                        .map_err(|error| EngineError::Other(error.to_string()))?;
                    self.reference_locks.push(lock);
                }
                "SQLite's write lock is taken by another writer"
            }
            Fault::ReferenceReadOnly => {
                for lane_run in &self.lanes {
                    let folder = lane_run.directory.join("reference");
                    let fault = crate::stores::reference::ReferenceReadOnly::apply(&folder)
                        .map_err(|source| EngineError::Io {
                            action: "making SQLite read-only".to_string(),
                            source,
                        })?;
                    self.reference_read_only.push(fault);
                }
                "SQLite's folder made read-only: writes fail"
            }
            Fault::RecordPaused => {
                self.server.pause()?;
                "TigerBeetle paused (SIGSTOP): its requests hang"
            }
            Fault::RecordKilled => {
                self.server.kill()?;
                "TigerBeetle killed (SIGKILL)"
            }
            Fault::ReplicaPaused(replica_index) => {
                self.server.pause_replica(replica_index)?;
                "one TigerBeetle replica paused (SIGSTOP)"
            }
            Fault::ReplicaKilled(replica_index) => {
                self.server.kill_replica(replica_index)?;
                "one TigerBeetle replica killed (SIGKILL)"
            }
        };
        self.note_all(text);
        Ok(())
    }

    fn heal(&mut self, store: StoreName) -> Result<(), EngineError> {
        match store {
            StoreName::Reference => {
                let locked = !self.reference_locks.is_empty();
                for lock in self.reference_locks.drain(..) {
                    lock.release();
                }
                let read_only = !self.reference_read_only.is_empty();
                for fault in self.reference_read_only.drain(..) {
                    fault.release().map_err(|source| EngineError::Io {
                        action: "making SQLite writable again".to_string(),
                        source,
                    })?;
                }
                if locked {
                    self.note_all("SQLite's write lock released");
                }
                if read_only {
                    self.note_all("SQLite's folder writable again");
                }
            }
            StoreName::Record => self.heal_record()?,
        }
        Ok(())
    }

    /// Resumes paused replicas and restarts those that are down (from their data files).
    fn heal_record(&mut self) -> Result<(), EngineError> {
        let states = self.server.replica_states();
        if states.contains(&ServerState::Paused) {
            self.server.resume()?;
            self.note_all("TigerBeetle resumed (SIGCONT)");
            // The requests sent while it was paused are still on their way (their clients
            // retransmit them); let them land before anyone reads, so that what the step
            // shows after the resume is the same on every run.
            self.wait_begins(
                "TigerBeetle to apply the requests queued while it was paused".to_string(),
                RESUME_SETTLE,
            );
            std::thread::sleep(RESUME_SETTLE);
            self.wait_ends();
        }
        if states.contains(&ServerState::Down) {
            self.wait_begins(
                "TigerBeetle to restart".to_string(),
                crate::stores::supervisor::START_TIMEOUT,
            );
            let started = self.server.start();
            self.wait_ends();
            started?;
            // The observer's client backed off while the server was away: a new one
            // answers as soon as the server does.
            self.record =
                RecordStore::connect(&self.server.address(), self.options.observe_timeout)?;
            self.note_all("TigerBeetle restarted from its data file");
        }
        Ok(())
    }

    fn note_all(&mut self, text: &str) {
        for lane_run in &mut self.lanes {
            lane_run.events.push(entry("", TimelineKind::Note, text));
        }
    }

    fn wait(&mut self, duration: Duration) {
        self.wait_begins(format!("{:.1} s to pass", duration.as_secs_f64()), duration);
        std::thread::sleep(duration);
        self.wait_ends();
    }

    /// The outside world deposits into the account TigerBeetle holds for `user`.
    fn deposit(&mut self, user: &str, amount: u64) {
        let key = crate::domain::ids::user_key(user);
        for lane_index in 0..self.lanes.len() {
            let ledger = self.lanes[lane_index].ledger;
            let accounts = self
                .runtime
                .block_on(self.record.accounts_on_ledger(ledger));
            let text = match accounts {
                Err(error) => format!("deposit not made: {error}"),
                Ok(accounts) => match accounts.iter().find(|account| account.user_key == key) {
                    None => format!("deposit refused: TigerBeetle holds no account for {user}"),
                    Some(account) => {
                        let transfer = TransferSpec {
                            id: self.random.r#gen::<u128>() | 1,
                            debit_account_id: crate::domain::ids::bank_account_id(ledger),
                            credit_account_id: account.id,
                            amount: u128::from(amount),
                            ledger,
                            pending_timeout_seconds: None,
                            post_pending_id: None,
                        };
                        let outcome = self.runtime.block_on(self.record.create_transfer(transfer));
                        format!(
                            "deposit of {amount} into account {}: {outcome}",
                            crate::domain::ids::short_id(&crate::domain::ids::guid_of(account.id))
                        )
                    }
                },
            };
            self.lanes[lane_index]
                .events
                .push(entry(user, TimelineKind::Note, &text));
        }
    }

    /// The end of the run: each lane's verdict and every unmet expectation.
    pub fn summary(&self) -> RunSummary {
        let lanes: Vec<LaneSummary> = self
            .scenario
            .lanes
            .iter()
            .map(|lane| {
                let seen: Vec<(ViolationKind, Severity)> = self
                    .seen
                    .get(lane)
                    .map(|seen| {
                        seen.iter()
                            .map(|(kind, severity)| (*kind, *severity))
                            .collect()
                    })
                    .unwrap_or_default();
                let broken = seen
                    .iter()
                    .any(|(_, severity)| *severity == Severity::Error);
                LaneSummary {
                    lane: *lane,
                    verdict: if broken { "broken" } else { "kept" }.to_string(),
                    seen,
                }
            })
            .collect();
        let mut failures = self.failures.clone();
        failures.extend(expect::check_final(&self.scenario, &lanes));
        RunSummary {
            title: self.scenario.title.clone(),
            seed: self.seed,
            passed: failures.is_empty(),
            lanes,
            failures,
        }
    }

    /// Ends the workers and hands the server over (to share it with the next run).
    pub fn into_server(mut self) -> RecordServer {
        for lock in self.reference_locks.drain(..) {
            lock.release();
        }
        self.reference_read_only.clear();
        for lane_run in &mut self.lanes {
            lane_run.slots.clear();
        }
        drop(std::mem::take(&mut self.lanes));
        let Run { server, .. } = self;
        server
    }
}

fn start_server(
    options: &RunOptions,
    replica_count: usize,
    progress: &mut Option<ProgressSink>,
) -> Result<RecordServer, EngineError> {
    let mut server = RecordServer::prepare_cluster(
        &options.data_dir.join("record"),
        &options.tigerbeetle,
        replica_count,
    )?;
    if let Some(progress) = progress.as_mut() {
        progress(Some(Waiting {
            what: "TigerBeetle to start".to_string(),
            since: Instant::now(),
            timeout: crate::stores::supervisor::START_TIMEOUT,
        }));
    }
    let started = server.start();
    if let Some(progress) = progress.as_mut() {
        progress(None);
    }
    started?;
    Ok(server)
}

/// How this run's workers are started (a value apart from the run, so that a lane can be
/// given a new worker while the run's lanes are borrowed).
struct Launcher {
    executable: PathBuf,
    record_address: String,
    seed: u64,
    record_timeout: Duration,
}

impl Launcher {
    fn launch(&self, lane_run: &mut LaneRun) -> Result<WorkerProcess, EngineError> {
        let launch = WorkerLaunch {
            executable: self.executable.clone(),
            options: crate::worker::WorkerOptions {
                lane: lane_run.lane,
                directory: lane_run.directory.clone(),
                record_address: self.record_address.clone(),
                ledger: lane_run.ledger,
                seed: self.seed,
                incarnation: lane_run.incarnation,
                record_timeout: self.record_timeout,
            },
        };
        lane_run.incarnation += 1;
        // Not waiting for `ready` here lets every lane's worker start at once; its
        // `ready` report is read (bounded) before anything it reports next.
        Ok(WorkerProcess::spawn(&launch)?)
    }

    /// Extra callers are extra worker processes of the same lane, on the same files.
    fn launch_callers(&self, lane_run: &mut LaneRun, callers: u32) -> Result<(), EngineError> {
        while lane_run.slots.len() < callers as usize {
            let process = self.launch(lane_run)?;
            lane_run.slots.push(WorkerSlot {
                process: Some(process),
                busy: false,
                held: None,
            });
        }
        Ok(())
    }
}

fn entry(user: &str, kind: TimelineKind, text: &str) -> TimelineEntry {
    TimelineEntry {
        user: user.to_string(),
        kind,
        text: text.to_string(),
    }
}

/// Sends `command` to the lane's worker in slot `slot_index`, or notes why it could not.
fn send_to_slot(lane_run: &mut LaneRun, slot_index: usize, command: &Command) {
    let Some(slot) = lane_run.slots.get_mut(slot_index) else {
        return;
    };
    let Some(process) = slot.process.as_mut() else {
        lane_run.events.push(entry(
            "",
            TimelineKind::Trouble,
            "the worker is down: the request was not accepted",
        ));
        return;
    };
    match process.send(command) {
        Ok(()) => slot.busy = true,
        Err(error) => lane_run
            .events
            .push(entry("", TimelineKind::Trouble, &error.to_string())),
    }
}

/// SIGKILL of the worker in `slot_index`, held at `point` in `user`'s request: the crash.
fn crash_slot(lane_run: &mut LaneRun, slot_index: usize, user: &str, point: HoldPoint) {
    let slot = &mut lane_run.slots[slot_index];
    if let Some(process) = slot.process.take() {
        tracing::info!(lane = %process.lane(), pid = process.pid(), point = point.name(), "worker killed");
        process.kill();
    }
    slot.busy = false;
    slot.held = None;
    lane_run.events.push(entry(
        user,
        TimelineKind::Crash,
        &format!("crashed {} (SIGKILL)", point.describe()),
    ));
    lane_run.state = WorkerState::Crashed(point.name().to_string());
    note_crash(lane_run, slot_index, user);
}

fn note_crash(lane_run: &mut LaneRun, slot_index: usize, user: &str) {
    lane_run
        .caller_outcomes
        .insert(slot_index, "crashed".to_string());
    lane_run
        .step_outcomes
        .insert(user.to_string(), "crashed".to_string());
    if !lane_run
        .history
        .unended_requests
        .iter()
        .any(|known| known == user)
    {
        lane_run.history.unended_requests.push(user.to_string());
    }
}

fn handle_report(
    lane_run: &mut LaneRun,
    slot_index: usize,
    report: Report,
    crash: Option<HoldPoint>,
) {
    match report {
        Report::Hold { user, point } => {
            if crash == Some(point) {
                crash_slot(lane_run, slot_index, &user, point);
            } else {
                lane_run.events.push(entry(
                    &user,
                    TimelineKind::Hold,
                    &format!("held {}", point.describe()),
                ));
                lane_run.slots[slot_index].held = Some((user, point));
            }
        }
        Report::Wrote {
            user,
            store,
            guid,
            outcome,
        } => {
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
                crate::domain::ids::short_id(&guid)
            );
            lane_run.events.push(entry(&user, kind, &text));
        }
        Report::Note { user, text } => {
            lane_run
                .events
                .push(entry(&user, TimelineKind::Note, &text))
        }
        Report::Alert {
            user,
            violation,
            detail,
        } => {
            let kind = violation.parse().unwrap_or(ViolationKind::ExistsDifferent);
            lane_run.events.push(entry(
                &user,
                TimelineKind::Alert,
                &format!("ALERT {violation}: {detail}"),
            ));
            lane_run.history.alerts.push(Alert { user, kind, detail });
        }
        Report::Finished { user, result } => {
            lane_run
                .caller_outcomes
                .insert(slot_index, result.name().to_string());
            finish_request(lane_run, user, result)
        }
        Report::Idle => lane_run.slots[slot_index].busy = false,
        Report::Ready { .. } => {}
        Report::Error { text } => lane_run.events.push(entry(
            "",
            TimelineKind::Trouble,
            &format!("worker error: {text}"),
        )),
    }
}

fn finish_request(lane_run: &mut LaneRun, user: String, result: RequestResult) {
    let kind = match result {
        RequestResult::Created => TimelineKind::Progress,
        RequestResult::Rejected(_) => TimelineKind::Alert,
        _ => TimelineKind::Trouble,
    };
    let text = match &result {
        RequestResult::Rejected(detail) | RequestResult::Failed(detail) => {
            format!("answered {}: {detail}", result.name())
        }
        other => format!("answered {}", other.name()),
    };
    lane_run.events.push(entry(&user, kind, &text));
    if result.is_final() {
        lane_run
            .history
            .unended_requests
            .retain(|known| *known != user);
    } else if result == RequestResult::Unknown && !lane_run.history.unended_requests.contains(&user)
    {
        lane_run.history.unended_requests.push(user.clone());
    }
    lane_run
        .step_outcomes
        .insert(user, result.name().to_string());
}
