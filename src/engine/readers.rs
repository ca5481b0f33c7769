//! Each lane's read path, run by the lane's own application: after a step, the lane's
//! live worker is asked "does X exist?" for every user, and when it is down (crashed) or
//! held mid-request, a reader process of the same application (`cabaret worker`, started
//! the first time it is needed, never held or crashed by a step) is asked instead, as
//! another instance of the application would be. The lane's answer is what its
//! application says; the checker only judges it against the truth.

use super::lanes::LaneRun;
use super::report::{TimelineKind, WorkerState};
use super::worker_handle::{WorkerLaunch, WorkerProcess};
use crate::domain::verdict::Answer;
use crate::worker::protocol::{Command, Report, WorkerOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The controller's wait for a reader's answers beyond the reader's own TigerBeetle
/// deadline: its SQLite reads, the pipe, and a reader just started registering its
/// TigerBeetle session (bounded by the same deadline).
const ANSWER_MARGIN: Duration = Duration::from_millis(1500);
/// A bound on the reports one read sends (one per user, a `ready`, an `idle`).
const READ_REPORT_COUNT_MAX: usize = 64;
/// The reader's incarnation in the id stream: it draws no ids, so any value apart from
/// the writers' does.
const READER_INCARNATION: u32 = u32::MAX;

/// Every lane's reader, in the order of the lanes.
pub(crate) struct Readers {
    launches: Vec<WorkerLaunch>,
    processes: Vec<Option<WorkerProcess>>,
    /// Which lanes' last question went to their live worker rather than to the reader.
    asked_worker: Vec<bool>,
    /// The read path's TigerBeetle deadline: past it, a look-up is unknown.
    read_timeout: Duration,
}

/// What one lane's application answered, or why it did not.
pub(crate) type LaneAnswers = Result<Vec<(String, Answer)>, String>;

impl Readers {
    /// How every lane's reader would be started; none is started yet.
    pub(crate) fn new(
        lanes: &[LaneRun],
        executable: PathBuf,
        record_address: String,
        seed: u64,
        read_timeout: Duration,
    ) -> Readers {
        let launches: Vec<WorkerLaunch> = lanes
            .iter()
            .map(|lane_run| WorkerLaunch {
                executable: executable.clone(),
                options: WorkerOptions {
                    lane: lane_run.lane,
                    reference: lane_run.files.reference(),
                    journal: lane_run.files.journal(),
                    log: lane_run.files.reader_log(),
                    record_address: record_address.clone(),
                    ledger: lane_run.ledger,
                    seed,
                    incarnation: READER_INCARNATION,
                    record_timeout: read_timeout,
                },
                pid_file: lane_run.files.reader_pid_file(),
            })
            .collect();
        Readers {
            processes: launches.iter().map(|_| None).collect(),
            asked_worker: vec![false; launches.len()],
            launches,
            read_timeout,
        }
    }

    /// Asks every lane about `users`, without waiting for the answers: its live worker
    /// when it is idle, else its reader (started first if there is none).
    pub(crate) fn ask(&mut self, lanes: &mut [LaneRun], users: &[String]) {
        let command = Command::Read {
            users: users.to_vec(),
        };
        for (lane_index, lane_run) in lanes.iter_mut().enumerate() {
            if let Some(worker) = idle_worker(lane_run) {
                self.asked_worker[lane_index] = worker.send(&command).is_ok();
                if self.asked_worker[lane_index] {
                    continue;
                }
            }
            self.asked_worker[lane_index] = false;
            let process = &mut self.processes[lane_index];
            if process.is_none() {
                *process = WorkerProcess::spawn(&self.launches[lane_index]).ok();
            }
            if let Some(reader) = process {
                if reader.send(&command).is_err() {
                    *process = None;
                }
            }
        }
    }

    /// Each lane's answers to the last `ask`, waiting (bounded) for all of them. A process
    /// that does not answer in time is stopped, since its answers would arrive out of
    /// turn; a worker stopped so is said on the lane's timeline, and the lane is down.
    pub(crate) fn collect(&mut self, lanes: &mut [LaneRun], users: &[String]) -> Vec<LaneAnswers> {
        let deadline = Instant::now() + self.read_timeout * 2 + ANSWER_MARGIN;
        let mut all = Vec::with_capacity(lanes.len());
        for (lane_index, lane_run) in lanes.iter_mut().enumerate() {
            if self.asked_worker[lane_index] {
                all.push(worker_answers(lane_run, users, deadline));
                continue;
            }
            let process = &mut self.processes[lane_index];
            let answers = match process.as_mut() {
                None => Err("the lane's reader could not be started".to_string()),
                Some(reader) => read_answers(reader, users, deadline),
            };
            if answers.is_err() {
                *process = None;
            }
            all.push(answers);
        }
        all
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

/// A process's answers, in the order of `users`, up to its `idle`.
fn read_answers(reader: &mut WorkerProcess, users: &[String], deadline: Instant) -> LaneAnswers {
    let mut answers = Vec::with_capacity(users.len());
    for _report_index in 0..READ_REPORT_COUNT_MAX {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let report = reader.next_report(remaining).map_err(|error| {
            format!("the lane's application gave no answer ({error}), so its answer is unknown")
        })?;
        match report {
            Report::Ready { .. } => {}
            Report::Answered { user, answer } => answers.push((user, answer)),
            Report::Idle if answers.len() == users.len() => return Ok(answers),
            Report::Error { text } => return Err(format!("the lane's reader failed: {text}")),
            other => return Err(format!("the lane's reader said {other:?}")),
        }
    }
    Err("the lane's reader sent too many reports".to_string())
}
