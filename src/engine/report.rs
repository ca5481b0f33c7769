//! The view of a run that every face shares: what happened in a step, in each lane, what
//! the stores hold, the answers, the truth and the violations; and the run's summary. The
//! TUI draws these, `play` prints them, the tests assert on them.

use crate::domain::lane::{HoldPoint, Lane};
use crate::domain::outcome::CallerOutcome;
use crate::domain::stored::JournalEntry;
use crate::domain::stored::RecordAccount;
use crate::domain::stored::{OutboxMessage, ReferenceRow};
use crate::domain::verdict::{Answer, Severity, Verdict, Violation, ViolationKind};
use crate::stores::supervisor::ServerState;
use crate::worker::protocol::Store;
use serde::Serialize;

/// What one user looks like in one lane after a step.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct UserView {
    pub(crate) user: String,
    pub(crate) reference: Option<ReferenceRow>,
    /// The TigerBeetle accounts held for the user; `None` when TigerBeetle did not answer.
    pub(crate) record: Option<Vec<RecordAccount>>,
    pub(crate) journal: Option<JournalEntry>,
    pub(crate) outbox: Option<OutboxMessage>,
    pub(crate) answer: Answer,
    pub(crate) truth: Answer,
    /// How the user's request ended in this step, as its caller heard it (`created`,
    /// `crashed`, ...), if one ended: a create, or a request resumed by recovery.
    pub(crate) outcome: Option<CallerOutcome>,
}

/// The state of a lane's worker process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "at")]
pub(crate) enum WorkerState {
    Idle,
    Held(HoldPoint),
    Crashed(HoldPoint),
    Down,
    /// The worker exited without being told to (killed from outside, or it crashed by
    /// itself): how it ended.
    Died(String),
}

impl WorkerState {
    pub(crate) fn describe(&self) -> String {
        match self {
            WorkerState::Idle => "running".to_string(),
            WorkerState::Held(point) => format!("held at {point}"),
            WorkerState::Crashed(point) => format!("crashed at {point}"),
            WorkerState::Down => "down".to_string(),
            WorkerState::Died(how) => format!("died ({how})"),
        }
    }
}

/// One entry of a lane's request timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct TimelineEntry {
    pub(crate) user: String,
    pub(crate) kind: TimelineKind,
    pub(crate) text: String,
    /// The store a write went to, when the entry is a write's outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) store: Option<Store>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TimelineKind {
    /// A step went through (a write created or found the entry as written).
    Progress,
    /// A hold point reached.
    Hold,
    /// The worker was killed.
    Crash,
    /// An outcome that did not go through (failed, unknown, pending).
    Trouble,
    /// An alert raised.
    Alert,
    /// A remark (recovery resumed, a fault applied).
    Note,
}

impl TimelineKind {
    /// The one-character marker of the kind, in transcripts and on screen.
    pub(crate) fn marker(self) -> &'static str {
        match self {
            TimelineKind::Progress => "+",
            TimelineKind::Hold => ".",
            TimelineKind::Crash => "X",
            TimelineKind::Trouble => "?",
            TimelineKind::Alert => "!",
            TimelineKind::Note => "-",
        }
    }
}

/// Which process of a lane answered its read path in a step (by role, not pid, so that
/// the same seed gives the same transcript).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum AnsweredBy {
    /// The lane's worker, the process that runs its requests.
    Worker,
    /// The lane's reader: a second process of the same application, asked while the
    /// worker cannot answer (crashed, held mid-request, or busy).
    Reader,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct LaneReport {
    pub(crate) lane: Lane,
    pub(crate) worker: WorkerState,
    /// What happened in this lane during the step.
    pub(crate) events: Vec<TimelineEntry>,
    /// The step user's request result in this step, as its caller heard it.
    pub(crate) outcome: Option<CallerOutcome>,
    /// What each caller heard in this step, in caller order: more than one when several
    /// callers raced (`callers` in a scenario). Empty when no request ended.
    pub(crate) outcomes: Vec<CallerOutcome>,
    pub(crate) users: Vec<UserView>,
    pub(crate) violations: Vec<Violation>,
    /// The properties this step could not judge in this lane, because a store they need
    /// did not answer (no verdict on an unknown truth).
    pub(crate) undetermined: Vec<&'static str>,
    /// Which process of the lane answered; `None` when none did in time.
    pub(crate) answered_by: Option<AnsweredBy>,
}

impl LaneReport {
    pub(crate) fn has(&self, kind: ViolationKind) -> bool {
        self.violations
            .iter()
            .any(|violation| violation.kind == kind)
    }

    pub(crate) fn user(&self, user: &str) -> Option<&UserView> {
        self.users.iter().find(|view| view.user == user)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    /// 1-based; 0 is the state before any step.
    pub step_number: usize,
    pub(crate) step_count: usize,
    pub(crate) action: String,
    pub(crate) user: Option<String>,
    pub(crate) narration: String,
    /// A fault or step pressed by hand in the TUI, not in the scenario file.
    pub(crate) manual: bool,
    /// False while a request is held mid-step (the TUI steps hold point by hold point).
    pub complete: bool,
    pub(crate) server: ServerState,
    /// Each replica's state (one entry unless the scenario runs a cluster).
    pub(crate) replicas: Vec<ServerState>,
    /// How TigerBeetle (or a replica) died without being told to, while it stays down.
    pub(crate) record_exit: Option<String>,
    pub(crate) lanes: Vec<LaneReport>,
    /// Expectations of the scenario that this step did not meet.
    pub(crate) failures: Vec<String>,
}

impl StepReport {
    pub(crate) fn lane(&self, lane: Lane) -> Option<&LaneReport> {
        self.lanes.iter().find(|report| report.lane == lane)
    }
}

/// Merges the reports of one step's hold points into the step's one report, as
/// `cabaret play` prints it and the TUI's transcript records it: each lane's events in
/// the order they happened, with the stores as the last report read them.
#[derive(Debug, Default)]
pub(crate) struct StepMerger {
    pending: Option<StepReport>,
}

impl StepMerger {
    /// Takes the next report of a step; returns the step's merged report once it is
    /// complete.
    pub(crate) fn push(&mut self, report: StepReport) -> Option<StepReport> {
        let mut merged = report;
        if let Some(mut earlier) = self.pending.take() {
            if merged.lanes.is_empty() {
                // A hold point nobody observed carries no lanes: the earlier ones stand.
                merged.lanes = std::mem::take(&mut earlier.lanes);
            } else {
                for (lane, earlier_lane) in merged.lanes.iter_mut().zip(&mut earlier.lanes) {
                    earlier_lane.events.append(&mut lane.events);
                    lane.events = std::mem::take(&mut earlier_lane.events);
                }
            }
        }
        if merged.complete {
            Some(merged)
        } else {
            self.pending = Some(merged);
            None
        }
    }

    /// The step held so far, if one is held (a move by hand ends it early).
    pub(crate) fn take_pending(&mut self) -> Option<StepReport> {
        self.pending.take()
    }
}

/// The end of a run for one lane.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LaneSummary {
    pub(crate) lane: Lane,
    pub(crate) verdict: Verdict,
    /// The steps whose properties could not be judged in this lane (a store did not answer).
    pub(crate) undetermined_steps: usize,
    /// Every violation seen at any step, with the worst severity it had.
    pub(crate) seen: Vec<(ViolationKind, Severity)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub(crate) title: String,
    pub(crate) seed: u64,
    pub(crate) lanes: Vec<LaneSummary>,
    pub(crate) failures: Vec<String>,
    pub(crate) passed: bool,
    /// The steps that some lane could not judge (a store did not answer).
    pub(crate) undetermined_steps: usize,
}
