//! Each lane's read path, run by the lane's own application: after a step, the lane's
//! live worker is asked "does X exist?" for every user, and answers by the lane's read rule
//! against the real stores (`worker.rs`, `Command::Read`). The checker only judges the
//! answer against the truth. A simplification: while the lane's worker is down (crashed)
//! or held mid-request, no process of the lane can answer, and the lab works the answer
//! out by the same rule from its own read of the stores (`verdict::answer`).

use super::lanes::LaneRun;
use super::report::{TimelineKind, WorkerState};
use super::worker_handle::WorkerProcess;
use crate::domain::verdict::Answer;
use crate::worker::protocol::{Command, Report};
use std::time::{Duration, Instant};

/// The controller's wait for a worker's answers beyond the worker's own TigerBeetle
/// deadline: its SQLite reads and the pipe.
const ANSWER_MARGIN: Duration = Duration::from_millis(1500);
/// A bound on the reports one read sends (one per user, and an `idle`).
const READ_REPORT_COUNT_MAX: usize = 64;

/// What one lane's application answered: `Ok(None)` when its worker is down or held (the
/// lab then answers by the lane's rule), `Err` when it gave no answer in time.
pub(crate) type LaneAnswers = Result<Option<Vec<(String, Answer)>>, String>;

/// Which lanes were asked, and the workers' TigerBeetle deadline.
pub(crate) struct Readers {
    asked: Vec<bool>,
    read_timeout: Duration,
}

impl Readers {
    pub(crate) fn new(lane_count: usize, read_timeout: Duration) -> Readers {
        Readers {
            asked: vec![false; lane_count],
            read_timeout,
        }
    }

    /// Asks every lane whose worker is idle about `users`, without waiting for answers.
    pub(crate) fn ask(&mut self, lanes: &mut [LaneRun], users: &[String]) {
        let command = Command::Read {
            users: users.to_vec(),
        };
        self.asked.resize(lanes.len(), false);
        for (lane_index, lane_run) in lanes.iter_mut().enumerate() {
            self.asked[lane_index] =
                idle_worker(lane_run).is_some_and(|worker| worker.send(&command).is_ok());
        }
    }

    /// Each lane's answers to the last `ask`, waiting (bounded) for all of them. A worker
    /// that gives none in time is stopped, since its answers would arrive out of turn; the
    /// lane's timeline says so, and the lane is down.
    pub(crate) fn collect(&mut self, lanes: &mut [LaneRun], users: &[String]) -> Vec<LaneAnswers> {
        let deadline = Instant::now() + self.read_timeout + ANSWER_MARGIN;
        lanes
            .iter_mut()
            .enumerate()
            .map(|(lane_index, lane_run)| {
                if !self.asked.get(lane_index).copied().unwrap_or(false) {
                    return Ok(None);
                }
                worker_answers(lane_run, users, deadline).map(Some)
            })
            .collect()
    }
}

/// The lane's first worker, if it is alive and neither held nor busy.
fn idle_worker(lane_run: &mut LaneRun) -> Option<&mut WorkerProcess> {
    let slot = lane_run.slots.first_mut()?;
    if slot.held.is_some() || slot.is_busy() {
        return None;
    }
    slot.process.as_mut()
}

/// The answers of the lane's worker; one that gives none in time is stopped.
fn worker_answers(
    lane_run: &mut LaneRun,
    users: &[String],
    deadline: Instant,
) -> Result<Vec<(String, Answer)>, String> {
    let Some(worker) = lane_run
        .slots
        .first_mut()
        .and_then(|slot| slot.process.as_mut())
    else {
        return Err("the lane's worker is gone".to_string());
    };
    let answers = read_answers(worker, users, deadline);
    if let Err(reason) = &answers {
        if let Some(worker) = lane_run
            .slots
            .first_mut()
            .and_then(|slot| slot.process.take())
        {
            worker.kill();
        }
        lane_run.state = WorkerState::Down;
        let text = format!("{reason}: the worker was stopped");
        lane_run
            .events
            .push(super::lanes::entry("", TimelineKind::Crash, &text));
    }
    answers
}

/// A worker's answers, in the order of `users`, up to its `idle`.
fn read_answers(
    worker: &mut WorkerProcess,
    users: &[String],
    deadline: Instant,
) -> Result<Vec<(String, Answer)>, String> {
    let mut answers = Vec::with_capacity(users.len());
    for _report_index in 0..READ_REPORT_COUNT_MAX {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let report = worker.next_report(remaining).map_err(|error| {
            format!("the lane's application gave no answer ({error}), so its answer is unknown")
        })?;
        match report {
            // A worker just restarted says `ready` first.
            Report::Ready { .. } => {}
            Report::Answered { user, answer } => answers.push((user, answer)),
            Report::Idle if answers.len() == users.len() => return Ok(answers),
            Report::Error { text } => return Err(format!("the lane's worker failed: {text}")),
            other => return Err(format!("the lane's worker said {other:?}")),
        }
    }
    Err("the lane's worker sent too many reports".to_string())
}
