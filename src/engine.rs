//! The engine: runs a scenario's steps in every lane at once, on the real stores. It
//! starts TigerBeetle and one worker process per lane, applies faults for real (SIGKILL of
//! a worker at a hold point, SQLite's write lock taken, TigerBeetle paused or killed), and
//! after every step reads both stores and judges each lane. It is synchronous: every wait
//! is bounded, and a face (TUI, player) runs it on its own thread.
//!
//! A [`Run`] is made of parts that each own their state: the lanes and their workers
//! (`lanes`), the store faults in force (`faults`), the controller's reader of the stores
//! (`observe`), and the tally of violations and unmet expectations (`tally`). The layout
//! of a run's folder is `layout`'s alone.

mod expect;
mod faults;
pub mod history;
mod lanes;
pub mod layout;
pub(crate) mod observe;
mod progress;
mod readers;
pub(crate) mod report;
pub mod storm;
mod tally;
mod watch;
pub(crate) mod worker_handle;

pub(crate) use faults::Refusal;
pub(crate) use progress::{ProgressSink, Waiting};

use crate::domain::ids::{CODE_BANK, IdSequence, bank_account_id, guid_of, short_id};
use crate::domain::lane::HoldPoint;
use crate::domain::outcome::WriteOutcome;
use crate::domain::scenario::{Action, Fault, Scenario, StoreName};
use crate::domain::verdict;
use crate::stores::record::{AccountSpec, RecordError, TransferSpec};
use crate::stores::reference::{ReferenceError, ReferenceStore};
use crate::stores::supervisor::{self, RecordServer, ServerState, SupervisorError};
use crate::worker::protocol::Command;
use faults::Faults;
use lanes::{Lanes, Launcher, entry};
use layout::{Manifest, RunLayout};
use observe::Observer;
use progress::Progress;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use report::{StepMerger, StepReport, TimelineKind};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tally::Tally;

/// A bound on the hold points one step passes through.
const HOLD_COUNT_MAX: usize = 64;
/// A worker's TigerBeetle request timeout, unless a face sets another: past it, the
/// application gives up and the outcome is unknown.
const RECORD_TIMEOUT: Duration = Duration::from_millis(2000);
/// The controller's timeout when it reads TigerBeetle after a step.
const OBSERVE_TIMEOUT: Duration = Duration::from_millis(1000);

/// A failure that stops a run (as opposed to a store fault, which is shown).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    #[error(transparent)]
    Worker(#[from] worker_handle::WorkerError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Layout(#[from] layout::LayoutError),
    #[error("step {step} passed more than {HOLD_COUNT_MAX} hold points")]
    HoldLimit { step: usize },
    #[error("setting up the bank's account on ledger {ledger}: {outcome}")]
    BankAccount { ledger: u32, outcome: WriteOutcome },
}

/// What a run is started with.
#[derive(Clone, Debug)]
pub(crate) struct RunOptions {
    /// The run's folder: every file of the run lives inside it.
    pub(crate) layout: RunLayout,
    /// Overrides the scenario's seed.
    pub(crate) seed: Option<u64>,
    pub(crate) tigerbeetle: PathBuf,
    /// The executable that runs workers (`cabaret worker`).
    pub(crate) executable: PathBuf,
    /// A worker's TigerBeetle request timeout: past it, the outcome is unknown.
    pub(crate) record_timeout: Duration,
    /// The controller's timeout when it reads TigerBeetle after a step.
    pub(crate) observe_timeout: Duration,
    /// Added to every lane's ledger, so several runs can share one server.
    pub(crate) ledger_base: u32,
}

impl RunOptions {
    pub(crate) fn new(layout: RunLayout) -> Result<Self, EngineError> {
        let executable = std::env::current_exe().map_err(|source| EngineError::Io {
            action: "finding the cabaret executable".to_string(),
            source,
        })?;
        Ok(RunOptions {
            layout,
            seed: None,
            tigerbeetle: supervisor::default_binary(),
            executable,
            record_timeout: RECORD_TIMEOUT,
            observe_timeout: OBSERVE_TIMEOUT,
            ledger_base: 0,
        })
    }
}

/// A request in progress across the lanes, held at a hold point (the TUI steps it).
struct InProgress {
    step: Option<usize>,
    action: Action,
    crash: Option<HoldPoint>,
}

/// What a step report is about: its number, action and narration.
struct StepHeading {
    number: usize,
    action: String,
    user: Option<String>,
    narration: String,
    /// A move by hand, not a step of the scenario.
    manual: bool,
}

/// Whether a report ends its step, or a request still holds mid-step.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Completion {
    Held,
    Complete,
}

pub(crate) struct Run {
    scenario: Scenario,
    seed: u64,
    options: RunOptions,
    server: RecordServer,
    observer: Observer,
    lanes: Lanes,
    /// Each lane's read path, run by the lane's application (`engine/readers.rs`).
    readers: readers::Readers,
    /// The lab's history, the oracle (`engine/history.rs`).
    history: history::HistoryFile,
    faults: Faults,
    tally: Tally,
    progress: Progress,
    users: Vec<String>,
    next_step: usize,
    in_progress: Option<InProgress>,
    /// Set while `step` runs a step through its hold points unobserved.
    quiet_holds: bool,
    /// How TigerBeetle died without being told to, until it is healed.
    record_exit: Option<String>,
    /// The ids of the deposits the lab pays (seeded, strictly increasing).
    transfer_ids: IdSequence,
}

impl Run {
    /// Prepares the run's folder, starts TigerBeetle (or takes `server`, already
    /// started, to share it) and one worker per lane. Bounded by the start timeouts.
    pub(crate) fn start(
        scenario: Scenario,
        options: RunOptions,
        server: Option<RecordServer>,
        sink: Option<ProgressSink>,
    ) -> Result<Run, EngineError> {
        let layout = &options.layout;
        std::fs::create_dir_all(layout.root()).map_err(|source| EngineError::Io {
            action: format!("creating {}", layout.root().display()),
            source,
        })?;
        let mut progress = Progress::new(sink);
        let server = match server {
            Some(server) => server,
            None => start_server(&options, scenario.replicas, &mut progress)?,
        };
        let observer = Observer::connect(server.address(), options.observe_timeout)?;
        let seed = options.seed.unwrap_or(scenario.seed);
        let launcher = Launcher {
            executable: options.executable.clone(),
            record_address: server.address(),
            seed,
            record_timeout: options.record_timeout,
        };
        let lanes = Lanes::start(layout, &scenario.lanes, options.ledger_base, launcher)?;
        let readers = readers::Readers::new(lanes.runs.len(), options.record_timeout);
        let history =
            history::HistoryFile::create(layout.history()).map_err(|source| EngineError::Io {
                action: format!("creating {}", layout.history().display()),
                source,
            })?;
        let mut run = Run {
            readers,
            history,
            seed,
            users: scenario.users(),
            lanes,
            server,
            observer,
            faults: Faults::default(),
            tally: Tally::default(),
            progress,
            next_step: 0,
            in_progress: None,
            quiet_holds: false,
            record_exit: None,
            transfer_ids: IdSequence::starting_from(ChaCha8Rng::seed_from_u64(seed).r#gen()),
            options,
            scenario,
        };
        run.create_bank_accounts()?;
        run.lanes.wait_started()?;
        let manifest = Manifest {
            title: run.scenario.title.clone(),
            lanes: run
                .lanes
                .runs
                .iter()
                .map(|lane_run| (lane_run.lane, lane_run.ledger))
                .collect(),
        };
        run.options
            .layout
            .write_manifest(&manifest)
            .map_err(|source| EngineError::Io {
                action: "writing run.json".to_string(),
                source,
            })?;
        Ok(run)
    }

    /// Creates the bank's account on every lane's ledger (and, for a limited bank, funds
    /// it): the first requests of the run, so they also wait (bounded) for a fresh cluster
    /// to elect its primary. Retrying is safe: the ids are fixed, and a retry that finds
    /// the account or the transfer gets exists-same.
    fn create_bank_accounts(&mut self) -> Result<(), EngineError> {
        let timeout = supervisor::START_TIMEOUT;
        let deadline = Instant::now() + timeout;
        let ledgers: Vec<u32> = self.lanes.runs.iter().map(|lane| lane.ledger).collect();
        let funds = self.scenario.bank_funds;
        let observer = &self.observer;
        self.progress
            .during("TigerBeetle's first answer", timeout, || {
                for ledger in ledgers {
                    for write in bank_writes(ledger, funds) {
                        let outcome = loop {
                            let outcome = observer.block_on(write.apply(observer.record()));
                            let retry = matches!(outcome, WriteOutcome::Unknown(_));
                            if !retry || Instant::now() >= deadline {
                                break outcome;
                            }
                        };
                        if !outcome.is_applied() {
                            return Err(EngineError::BankAccount { ledger, outcome });
                        }
                    }
                }
                Ok(())
            })
    }

    pub(crate) fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// The stores that are failed now, in the order healing takes them.
    pub(crate) fn failed_stores(&self) -> Vec<StoreName> {
        self.faults.failed_stores(&self.server)
    }

    /// The fault that a fault asked for by hand makes now (in a cluster, the next
    /// replica still running), or why it makes none.
    pub(crate) fn fault_for(&self, fault: Fault) -> Result<Fault, Refusal> {
        self.faults.fault_for(fault, &self.server)
    }

    pub(crate) fn layout(&self) -> &RunLayout {
        &self.options.layout
    }

    /// Whether every scripted step has run to its end.
    pub(crate) fn is_finished(&self) -> bool {
        self.next_step >= self.scenario.steps.len() && self.in_progress.is_none()
    }

    /// The scripted steps run to their end (a step held mid-way is not counted).
    pub(crate) fn steps_done(&self) -> usize {
        match &self.in_progress {
            Some(InProgress { step: Some(_), .. }) => self.next_step.saturating_sub(1),
            _ => self.next_step,
        }
    }

    /// Whether a request is held mid-step.
    pub(crate) fn is_holding(&self) -> bool {
        self.in_progress.is_some()
    }

    /// The state before any step (or now, between steps): stores read for real.
    pub(crate) fn snapshot(&mut self) -> StepReport {
        let heading = StepHeading {
            number: self.next_step,
            action: "start".to_string(),
            user: None,
            narration: self.scenario.summary.clone(),
            manual: false,
        };
        self.report(heading, Completion::Complete)
    }

    /// Runs the next scripted step to its end: one report, its hold points merged in.
    pub(crate) fn step(&mut self) -> Result<StepReport, EngineError> {
        // The hold points in between are not observed: the stores are read once, at the
        // end, and the step's events all land in its one report.
        self.quiet_holds = true;
        let result = self.step_to_end();
        self.quiet_holds = false;
        result
    }

    fn step_to_end(&mut self) -> Result<StepReport, EngineError> {
        let mut merger = StepMerger::default();
        let mut report = self.advance()?;
        for _hold_index in 0..HOLD_COUNT_MAX {
            if let Some(merged) = merger.push(report) {
                return Ok(merged);
            }
            report = self.advance()?;
        }
        Err(EngineError::HoldLimit {
            step: report.step_number,
        })
    }

    /// Moves on by one hold point: releases a held request, or begins the next step.
    pub(crate) fn advance(&mut self) -> Result<StepReport, EngineError> {
        self.notice_exits();
        if self.in_progress.is_some() {
            let crash = self.crash_point();
            self.lanes.release(crash, &mut self.progress);
            return Ok(self.after_progress());
        }
        let Some(step) = self.scenario.steps.get(self.next_step).cloned() else {
            return Err(Refusal::NoStepLeft.into());
        };
        self.next_step += 1;
        self.begin(Some(self.next_step - 1), step.action)
    }

    /// Applies an action pressed by hand (a fault, a heal, a restart): recorded in the
    /// transcript like a scripted one.
    pub(crate) fn apply_manual(&mut self, action: Action) -> Result<StepReport, EngineError> {
        self.notice_exits();
        if action == Action::Restart && self.in_progress.is_some() {
            return self.restart_during_step();
        }
        let needs_workers = matches!(
            action,
            Action::Create { .. }
                | Action::Restart
                | Action::Recover
                | Action::Reserve { .. }
                | Action::Post { .. }
                | Action::Close { .. }
        );
        if needs_workers && self.in_progress.is_some() {
            return Err(Refusal::RequestInProgress.into());
        }
        self.begin(None, action)
    }

    /// Crashes every held worker where it holds now (SIGKILL), by hand.
    pub(crate) fn crash_now(&mut self) -> Result<StepReport, Refusal> {
        self.notice_exits();
        if self.in_progress.is_none() {
            return Err(Refusal::NothingHeld);
        }
        self.lanes.crash_held();
        let completion = if self.lanes.any_held() {
            Completion::Held
        } else {
            self.in_progress = None;
            Completion::Complete
        };
        let heading = StepHeading {
            number: self.next_step,
            action: "crash (by hand)".to_string(),
            user: None,
            narration: String::new(),
            manual: true,
        };
        Ok(self.report(heading, completion))
    }

    fn begin(&mut self, step: Option<usize>, action: Action) -> Result<StepReport, EngineError> {
        tracing::info!(step = ?step.map(|index| index + 1), action = %action.describe(), "step begins");
        let (callers, crash) = match &action {
            Action::Create { callers, crash, .. } => (*callers, *crash),
            Action::Reserve { crash, .. } | Action::Close { crash, .. } => (1, *crash),
            _ => (1, None),
        };
        self.lanes.begin_step(callers);
        let sent = self.send_action(&action, crash)?;
        if sent {
            self.in_progress = Some(InProgress {
                step,
                action,
                crash,
            });
            self.lanes.collect(crash, &mut self.progress);
            return Ok(self.after_progress());
        }
        let user = action.user().map(str::to_string);
        Ok(self.finish_step(step, action.describe(), user))
    }

    /// Carries out the action; returns whether workers got commands (so it is in progress).
    fn send_action(
        &mut self,
        action: &Action,
        crash: Option<HoldPoint>,
    ) -> Result<bool, EngineError> {
        let progress = &mut self.progress;
        match action {
            Action::Create {
                user,
                name,
                order,
                callers,
                key,
                ..
            } => {
                let command = Command::Create {
                    user: user.clone(),
                    name: name.clone(),
                    order: *order,
                    key: key.clone(),
                };
                self.lanes.send(&command, *callers, crash, progress)?;
                Ok(true)
            }
            Action::Reserve {
                user,
                amount,
                timeout_seconds,
                ..
            } => {
                let command = Command::Reserve {
                    user: user.clone(),
                    amount: *amount,
                    timeout_seconds: *timeout_seconds,
                };
                self.lanes.send(&command, 1, crash, progress)?;
                Ok(true)
            }
            Action::Close { user, .. } => {
                let command = Command::Close { user: user.clone() };
                self.lanes.send(&command, 1, crash, progress)?;
                Ok(true)
            }
            Action::Post { user } => {
                let command = Command::Post { user: user.clone() };
                self.lanes.send(&command, 1, crash, progress)?;
                Ok(true)
            }
            Action::Restart => {
                let restarted = self.lanes.restart_workers()?;
                Ok(self.lanes.send_recover(Some(&restarted)) > 0)
            }
            Action::Recover => Ok(self.lanes.send_recover(None) > 0),
            Action::Read { .. } => Ok(false),
            Action::Fail(fault) => {
                self.fail(*fault)?;
                Ok(false)
            }
            Action::Heal(store) => {
                self.heal(*store)?;
                Ok(false)
            }
            Action::Wait { seconds } => {
                let duration = Duration::from_secs_f64(*seconds);
                let what = format!("{seconds:.1} s to pass");
                progress.during(what, duration, || std::thread::sleep(duration));
                Ok(false)
            }
            Action::Deposit { user, amount } => {
                self.deposit(user, *amount);
                Ok(false)
            }
            Action::Bonus { amount } => {
                self.bonus(*amount);
                Ok(false)
            }
            Action::LoseRow { user } => {
                self.lose_row(user);
                Ok(false)
            }
        }
    }

    /// Makes a store fault happen; every lane's timeline says so.
    fn fail(&mut self, fault: Fault) -> Result<(), EngineError> {
        if matches!(fault, Fault::RecordKilled | Fault::ReplicaKilled(_)) {
            // Killed when told to: the header says "down", not how it died before.
            self.record_exit = None;
        }
        let note = self.faults.apply(fault, &mut self.server, &self.lanes)?;
        self.lanes.note_all(note);
        Ok(())
    }

    /// Heals one store: SQLite given back, or TigerBeetle resumed or restarted (then
    /// waited for until it answers).
    fn heal(&mut self, store: StoreName) -> Result<(), EngineError> {
        let notes = match store {
            StoreName::Reference => self.faults.heal_reference()?,
            StoreName::Record => {
                let probe_ledger = self
                    .lanes
                    .runs
                    .first()
                    .map_or(1, |lane_run| lane_run.ledger);
                // A heal restarts the replicas that are down.
                let restarts = self.server.replica_states().contains(&ServerState::Down);
                let notes = faults::heal_record(
                    &mut self.server,
                    &mut self.observer,
                    probe_ledger,
                    &mut self.progress,
                )?;
                if restarts {
                    self.lanes.mark_clients_stale();
                }
                self.record_exit = None;
                notes
            }
        };
        for note in notes {
            self.lanes.note_all(note);
        }
        Ok(())
    }

    /// Where the step in progress crashes its workers, if it does.
    fn crash_point(&self) -> Option<HoldPoint> {
        self.in_progress
            .as_ref()
            .and_then(|progress| progress.crash)
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
        if self.lanes.any_held() {
            let heading = self.heading(step, description, user);
            return self.report(heading, Completion::Held);
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
        let heading = self.heading(step, description, user);
        let mut report = self.report(heading, Completion::Complete);
        if let Some(index) = step {
            let first_user = self.users.first().cloned();
            report.failures = expect::check_step(
                &self.scenario.steps[index],
                index + 1,
                &report,
                first_user.as_deref(),
            );
        }
        self.tally.add(&report);
        report
    }

    /// The heading of a scripted step, or of the moment now for a move by hand.
    fn heading(&self, step: Option<usize>, action: String, user: Option<String>) -> StepHeading {
        StepHeading {
            number: step.map(|index| index + 1).unwrap_or(self.next_step),
            action,
            user,
            narration: step
                .map(|index| self.scenario.steps[index].narration.clone())
                .unwrap_or_default(),
            manual: step.is_none(),
        }
    }

    /// The report of this moment: both stores read for real, unless nobody looks at it.
    fn report(&mut self, heading: StepHeading, completion: Completion) -> StepReport {
        self.notice_exits();
        let complete = completion == Completion::Complete;
        let mut report = StepReport {
            step_number: heading.number,
            step_count: self.scenario.steps.len(),
            action: heading.action,
            user: heading.user,
            narration: heading.narration,
            manual: heading.manual,
            complete,
            server: self.server.state(),
            replicas: self.server.replica_states(),
            record_exit: self.record_exit.clone(),
            lanes: Vec::new(),
            failures: Vec::new(),
        };
        if self.quiet_holds && !complete {
            // Nobody looks at this hold point: skip reading the stores (a down server
            // would cost one read timeout per hold point); its events wait for the
            // step's report.
            return report;
        }
        let observer = &mut self.observer;
        let readers = &mut self.readers;
        let lanes = &mut self.lanes;
        let users = &self.users;
        // A server known to be down is not asked: its reads would only time out.
        let record_down = self.server.state() == ServerState::Down;
        // The lanes answer while the lab reads the stores: one wait, not two.
        let (observations, answers) = self.progress.during(
            "asking each lane and reading SQLite and TigerBeetle",
            observer.timeout().max(readers.answer_bound()),
            || {
                readers.ask(lanes, users);
                let observations = if record_down {
                    observe::observe_record_down(&lanes.runs)
                } else {
                    observer.observe(&lanes.runs)
                };
                (observations, readers.collect(lanes, users))
            },
        );
        let observations = self.read_again_where_answers_differ(observations, &answers);
        let user = report.user.as_deref();
        report.lanes = self
            .lanes
            .runs
            .iter_mut()
            .zip(observations.into_iter().zip(answers))
            .map(|(lane_run, (observation, answers))| {
                observe::lane_report(lane_run, &self.users, observation, answers, user)
            })
            .collect();
        self.write_history(&report);
        report
    }

    /// A lane's answer and the lab's read of the stores are two reads, at two moments: a
    /// write that lands in between (a request that a live client is still resending)
    /// makes them differ without anyone lying. Where an answer contradicts the lab's read,
    /// the stores are read once more, after every answer is in; TigerBeetle is strict
    /// serializable, so an answer that matches this later read was true at some moment of
    /// its question, and the lane is judged against that read.
    fn read_again_where_answers_differ(
        &mut self,
        observations: Vec<verdict::LaneObservation>,
        answers: &[readers::LaneAnswers],
    ) -> Vec<verdict::LaneObservation> {
        let contradicts = |observation: &verdict::LaneObservation,
                           answers: &readers::LaneAnswers| {
            answers.as_ref().is_ok_and(|answered| {
                answered
                    .answers
                    .iter()
                    .any(|(user, answer)| answer.contradicts(verdict::truth(user, observation)))
            })
        };
        if !observations
            .iter()
            .zip(answers)
            .any(|(observation, answers)| contradicts(observation, answers))
        {
            return observations;
        }
        let later = self.observer.observe(&self.lanes.runs);
        observations
            .into_iter()
            .zip(later)
            .zip(answers)
            .map(|((first, later), answers)| {
                if contradicts(&first, answers) && !contradicts(&later, answers) {
                    later
                } else {
                    first
                }
            })
            .collect()
    }

    /// Appends what each lane did since the last report, and the answers its reader gave,
    /// to the history file. A history that cannot be written is logged: the run goes on,
    /// judged from its history in memory.
    fn write_history(&mut self, report: &StepReport) {
        for (lane_run, lane_report) in self.lanes.runs.iter_mut().zip(&report.lanes) {
            let mut events = std::mem::take(&mut lane_run.history_events);
            let at = Instant::now();
            for view in &lane_report.users {
                for (kind, value) in [
                    (history::OperationType::Invoke, String::new()),
                    (history::OperationType::Ok, view.answer.name().to_string()),
                ] {
                    events.push(history::Event {
                        process: None,
                        kind,
                        function: "read",
                        user: view.user.clone(),
                        value,
                        at,
                    });
                }
            }
            if let Err(error) = self.history.append(lane_run.lane, events) {
                tracing::warn!(%error, "cannot write the history");
            }
        }
    }

    /// The outside world deposits into the account whose id the system gave `user`: the
    /// id in the user's SQLite row (nothing in TigerBeetle says whose an account is). A
    /// user with no row was given no account id, so nobody can pay them.
    fn deposit(&mut self, user: &str, amount: u64) {
        for lane_index in 0..self.lanes.runs.len() {
            let lane_run = &self.lanes.runs[lane_index];
            let row = ReferenceStore::open_read_only(&lane_run.files.reference())
                .and_then(|store| store.find_by_uuid(user));
            let text = match row {
                Err(error) => format!("deposit not made: SQLite: {error}"),
                Ok(None) => format!(
                    "deposit refused: the system never gave {user} an account id (no SQLite row)"
                ),
                Ok(Some(row)) => match crate::domain::ids::id_of(&row.guid) {
                    None => format!("deposit not made: `{}` is not an account id", row.guid),
                    Some(id) => self.pay(lane_index, id, amount),
                },
            };
            self.lanes.runs[lane_index]
                .events
                .push(entry(user, TimelineKind::Note, &text));
        }
    }

    /// Each lane's reference store loses `user`'s row, as a restore from a backup taken
    /// before the row was written would; TigerBeetle keeps the account.
    fn lose_row(&mut self, user: &str) {
        for lane_run in &mut self.lanes.runs {
            let text = match ReferenceStore::open(&lane_run.files.reference())
                .and_then(|mut store| store.lose_row(user))
            {
                Ok(true) => format!("SQLite restored from a backup: {user}'s row is gone"),
                Ok(false) => format!("SQLite restored from a backup: it had no row for {user}"),
                Err(error) => format!("the restore failed: {error}"),
            };
            lane_run.events.push(entry(user, TimelineKind::Note, &text));
        }
    }

    /// The bank pays `amount` to every customer account on each lane's ledger: money that
    /// reaches an account whether or not anybody was told about it.
    fn bonus(&mut self, amount: u64) {
        for lane_index in 0..self.lanes.runs.len() {
            let ledger = self.lanes.runs[lane_index].ledger;
            let record = self.observer.record();
            let listing = self.observer.block_on(record.accounts_on_ledger(ledger));
            let texts: Vec<String> = match listing {
                Err(error) => vec![format!("bonus not paid: {error}")],
                Ok(accounts) => accounts
                    .iter()
                    .filter(|account| account.code == crate::domain::ids::CODE_CUSTOMER)
                    .map(|account| self.pay(lane_index, account.id, amount))
                    .collect(),
            };
            for text in texts {
                self.lanes.runs[lane_index]
                    .events
                    .push(entry("", TimelineKind::Note, &text));
            }
        }
    }

    /// One real TigerBeetle transfer of `amount` from the bank's account of the lane's
    /// ledger into `account_id`; the words say what became of it.
    fn pay(&mut self, lane_index: usize, account_id: u128, amount: u64) -> String {
        let ledger = self.lanes.runs[lane_index].ledger;
        let transfer = TransferSpec {
            id: self.transfer_ids.next_id(),
            debit_account_id: bank_account_id(ledger),
            credit_account_id: account_id,
            amount: u128::from(amount),
            ledger,
            pending_timeout_seconds: None,
            post_pending_id: None,
        };
        let record = self.observer.record();
        let outcome = self.observer.block_on(record.create_transfer(transfer));
        format!(
            "payment of {amount} into account {}: {outcome}",
            short_id(&guid_of(account_id))
        )
    }

    /// The end of the run: each lane's verdict and every unmet expectation.
    pub(crate) fn summary(&self) -> report::RunSummary {
        self.tally.summary(&self.scenario, self.seed)
    }

    /// Ends the workers and hands the server over (to share it with the next run).
    pub(crate) fn into_server(mut self) -> RecordServer {
        self.faults.clear();
        self.lanes.stop();
        let Run { server, .. } = self;
        server
    }
}

/// One write that sets up the bank on a ledger.
enum BankWrite {
    /// An account; `limited` flags it `debits_must_not_exceed_credits`.
    Account {
        spec: AccountSpec,
        limited: bool,
    },
    Transfer(TransferSpec),
}

impl BankWrite {
    async fn apply(&self, record: &crate::stores::record::RecordStore) -> WriteOutcome {
        match self {
            BankWrite::Account {
                spec,
                limited: false,
            } => record.create_account(*spec).await,
            BankWrite::Account {
                spec,
                limited: true,
            } => record.create_limited_account(*spec).await,
            BankWrite::Transfer(spec) => record.create_transfer(*spec).await,
        }
    }
}

/// The writes that set up the bank's account on `ledger`. With no `funds`, the account
/// alone, with no balance limit: it pays out whatever it is asked. With `funds`, a limited
/// pool: the bank's account flagged `debits_must_not_exceed_credits`, the operator's
/// account (no limit: where the money comes from), and one transfer of `funds` from the
/// operator to the bank, so TigerBeetle refuses any hold or payment beyond what is left.
fn bank_writes(ledger: u32, funds: Option<u64>) -> Vec<BankWrite> {
    use crate::domain::ids::{CODE_OPERATOR, funding_transfer_id, operator_account_id};
    let account = |id, code| AccountSpec {
        id,
        ledger,
        code,
        user_key: 0,
    };
    let bank = account(bank_account_id(ledger), CODE_BANK);
    let Some(funds) = funds else {
        return vec![BankWrite::Account {
            spec: bank,
            limited: false,
        }];
    };
    vec![
        BankWrite::Account {
            spec: account(operator_account_id(ledger), CODE_OPERATOR),
            limited: false,
        },
        BankWrite::Account {
            spec: bank,
            limited: true,
        },
        BankWrite::Transfer(TransferSpec {
            id: funding_transfer_id(ledger),
            debit_account_id: operator_account_id(ledger),
            credit_account_id: bank_account_id(ledger),
            amount: u128::from(funds),
            ledger,
            pending_timeout_seconds: None,
            post_pending_id: None,
        }),
    ]
}

fn start_server(
    options: &RunOptions,
    replica_count: usize,
    progress: &mut Progress,
) -> Result<RecordServer, EngineError> {
    let mut server = RecordServer::prepare_cluster(
        &options.layout.record_dir(),
        &options.tigerbeetle,
        replica_count,
    )?;
    progress.during("TigerBeetle to start", supervisor::START_TIMEOUT, || {
        server.start()
    })?;
    Ok(server)
}
