//! Each lane's read path, run by the lane's own application: after a step, the lane is
//! asked "does X exist?" for every user, and a process of the lane answers by the lane's
//! read rule against the real stores (`worker.rs`, `Command::Read`). The checker only
//! judges the answer against the truth. The lane's worker answers when it is idle; while
//! it cannot (crashed, held mid-request, busy), the lane's reader does: a second process of
//! the same application on the same files, as a second instance of a service would answer
//! while the first is down (`LaneRun::reader`).

use super::lanes::{LaneRun, Lanes};
use super::report::{AnsweredBy, TimelineKind, WorkerState};
use super::worker_handle::WorkerProcess;
use crate::domain::verdict::Answer;
use crate::worker::protocol::{Command, Report};
use std::time::{Duration, Instant};

/// The controller's wait for a worker's answers beyond the worker's own TigerBeetle
/// deadline: its SQLite reads and the pipe.
const ANSWER_MARGIN: Duration = Duration::from_millis(1500);
/// A bound on the reports one read sends (one per user, and an `idle`).
const READ_REPORT_COUNT_MAX: usize = 64;

/// What one lane's application answered, and which of its processes did; `Err` when it
/// gave no answer in time, or no process of the lane could be asked.
pub(crate) type LaneAnswers = Result<Answered, String>;

/// The answers of one process of a lane, in the order of the users asked.
pub(crate) struct Answered {
    pub(crate) by: AnsweredBy,
    pub(crate) answers: Vec<(String, Answer)>,
}

/// Whom a lane's question went to.
#[derive(Clone, Copy, Debug)]
enum Asked {
    Worker,
    /// The reader; `fresh` when it was started for this question, so its answer also
    /// waits for its start (its client registers with TigerBeetle, bounded by the same
    /// deadline).
    Reader {
        fresh: bool,
    },
    Nobody,
}

/// Whom each lane was asked through, and the workers' TigerBeetle deadline.
pub(crate) struct Readers {
    asked: Vec<Result<Asked, String>>,
    read_timeout: Duration,
}

impl Readers {
    pub(crate) fn new(lane_count: usize, read_timeout: Duration) -> Readers {
        Readers {
            asked: (0..lane_count).map(|_| Ok(Asked::Nobody)).collect(),
            read_timeout,
        }
    }

    /// The longest a step waits for its answers: the workers' deadline and the margin,
    /// twice the deadline for a reader started for the question (its client registers
    /// with TigerBeetle first, bounded by the same deadline).
    pub(crate) fn answer_bound(&self) -> Duration {
        self.read_timeout * 2 + ANSWER_MARGIN
    }

    /// Asks every lane about `users`, without waiting for answers: its worker if idle,
    /// else its reader (started if need be).
    pub(crate) fn ask(&mut self, lanes: &mut Lanes, users: &[String]) {
        let command = |fresh_client| Command::Read {
            users: users.to_vec(),
            fresh_client,
        };
        self.asked = (0..lanes.runs.len())
            .map(|lane_index| {
                let lane_run = &mut lanes.runs[lane_index];
                let stale = lane_run.worker_client_stale;
                if let Some(worker) = idle_worker(lane_run) {
                    if worker.send(&command(stale)).is_ok() {
                        lane_run.worker_client_stale = false;
                        return Ok(Asked::Worker);
                    }
                }
                let fresh = lanes
                    .reader(lane_index)
                    .map(|(_, fresh)| fresh)
                    .map_err(|error| {
                        format!(
                            "the lane's reader could not start ({error}), so its answer is unknown"
                        )
                    })?;
                let lane_run = &mut lanes.runs[lane_index];
                // A reader started for this question has a new client already.
                let stale = lane_run.reader_client_stale && !fresh;
                let reader = lane_run
                    .reader
                    .as_mut()
                    .expect("the lane's reader was just found or started");
                let sent = reader.send(&command(stale));
                if sent.is_ok() {
                    lane_run.reader_client_stale = false;
                }
                sent.map(|()| Asked::Reader { fresh }).map_err(|error| {
                    format!(
                        "the lane's reader could not be asked ({error}), so its answer is unknown"
                    )
                })
            })
            .collect();
    }

    /// Each lane's answers to the last `ask`, waiting (bounded) for all of them. A process
    /// that gives none in time is stopped, since its answers would arrive out of turn; the
    /// lane's timeline says so. A silent worker leaves the lane down; a silent reader is
    /// started again when next needed.
    pub(crate) fn collect(&mut self, lanes: &mut Lanes, users: &[String]) -> Vec<LaneAnswers> {
        let deadline = Instant::now() + self.read_timeout + ANSWER_MARGIN;
        let read_timeout = self.read_timeout;
        let asked = std::mem::take(&mut self.asked);
        lanes
            .runs
            .iter_mut()
            .zip(asked)
            .map(|(lane_run, asked)| match asked? {
                Asked::Worker => worker_answers(lane_run, users, deadline),
                Asked::Reader { fresh } => {
                    let deadline = if fresh {
                        deadline + read_timeout
                    } else {
                        deadline
                    };
                    reader_answers(lane_run, users, deadline)
                }
                Asked::Nobody => Err("the lane was not asked".to_string()),
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
fn worker_answers(lane_run: &mut LaneRun, users: &[String], deadline: Instant) -> LaneAnswers {
    let Some(worker) = lane_run
        .slots
        .first_mut()
        .and_then(|slot| slot.process.as_mut())
    else {
        return Err("the lane's worker is gone".to_string());
    };
    let by = AnsweredBy::Worker;
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
    answers.map(|answers| Answered { by, answers })
}

/// The answers of the lane's reader; one that gives none in time is stopped.
fn reader_answers(lane_run: &mut LaneRun, users: &[String], deadline: Instant) -> LaneAnswers {
    let Some(reader) = lane_run.reader.as_mut() else {
        return Err("the lane's reader is gone".to_string());
    };
    let by = AnsweredBy::Reader;
    let answers = read_answers(reader, users, deadline).map_err(|reason| {
        if let Some(reader) = lane_run.reader.take() {
            reader.kill();
        }
        format!("{reason}: the lane's reader was stopped")
    });
    answers.map(|answers| Answered { by, answers })
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
