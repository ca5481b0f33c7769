//! The messages between the UI loop and the session thread: what the UI asks
//! ([`Request`]), and what the session tells it back ([`RunnerEvent`]), refusals included
//! as values that `strings` puts into words.

use super::picker::PickerEntry;
use crate::domain::scenario::{Fault, Scenario};
use crate::engine::report::{RunSummary, StepReport};
use crate::engine::{Refusal, Waiting};
use std::path::PathBuf;

/// What the UI asks of the runner.
#[derive(Debug)]
pub(crate) enum Request {
    /// Lists the scenario files of a folder.
    List(PathBuf),
    /// Starts a fresh run of a scenario already loaded.
    Open(Box<Scenario>),
    /// Moves one hold point on, or begins the next step.
    Advance,
    /// Runs every remaining step.
    ToEnd,
    /// Crashes every held worker where it holds.
    CrashNow,
    Fail(Fault),
    /// Heals whatever is failed: SQLite's lock, a paused or killed TigerBeetle.
    Heal,
    Restart,
    Recover,
    /// Replays the open scenario on fresh stores.
    Reset,
    /// Shows the state after step N (0: before any step): steps on to it, or, when it is
    /// behind, replays the run from the start with the same seed on fresh stores.
    JumpTo(usize),
    /// Ends the run (deleting TigerBeetle's data file).
    Close,
    /// Ends the run and the thread.
    Quit,
}

impl Request {
    /// Whether the request ends a run or the thread: it interrupts "run to the end".
    pub(crate) fn interrupts(&self) -> bool {
        matches!(
            self,
            Request::Reset | Request::JumpTo(_) | Request::Close | Request::Quit
        )
    }
}

/// What the runner tells the UI.
#[derive(Debug)]
pub(crate) enum RunnerEvent {
    Listed(Result<Vec<PickerEntry>, String>),
    /// A run of this scenario is being prepared.
    Opened(Box<Scenario>),
    /// A wait began (`Some`) or ended (`None`).
    Waiting(Option<Waiting>),
    Started {
        seed: u64,
        transcript: PathBuf,
    },
    StartFailed(String),
    Report {
        report: Box<StepReport>,
        holding: bool,
        finished: bool,
    },
    /// A step back is done: the run was replayed from the start to this step, quietly,
    /// in this long.
    Replayed {
        step: usize,
        elapsed: std::time::Duration,
    },
    /// The run's verdicts, sent after every report once every step has run.
    Summary(Box<RunSummary>),
    /// A move that cannot be made now, or failed; the run goes on.
    Refused(Refused),
    /// The runner finished the request and waits for the next.
    Idle,
    Closed,
    Stopped,
}

/// Why a move was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The engine will not make it now.
    Engine(Refusal),
    /// No run is open yet.
    NotStarted,
    /// Another move is under way.
    Busy,
    /// Every step has run.
    Finished,
    /// The move failed; the text says why.
    Failed(String),
}
