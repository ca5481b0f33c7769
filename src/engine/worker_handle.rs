//! The controller's handle on one worker process: starts it (an owned child that cannot
//! outlive the controller), sends commands, reads reports with a timeout, and kills it
//! with SIGKILL at a hold point — a real crash.

use crate::domain::lane::Lane;
use crate::stores::process;
use crate::worker::protocol::{Command, Report, WorkerOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

const REAP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a report already in the pipe may take to reach the controller once it runs
/// again after being stopped.
const LATE_GRACE: Duration = Duration::from_millis(250);

/// A failure to talk to a worker.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot start the {lane} worker: {source}")]
    Spawn {
        lane: Lane,
        #[source]
        source: std::io::Error,
    },
    #[error("the {lane} worker did not report within {timeout_ms} ms")]
    Timeout { lane: Lane, timeout_ms: u128 },
    #[error("the {lane} worker exited (see {log})")]
    Exited { lane: Lane, log: PathBuf },
    #[error("the {lane} worker could not start: {cause}")]
    CouldNotStart { lane: Lane, cause: String },
    #[error("cannot send to the {lane} worker: {source}")]
    Send {
        lane: Lane,
        #[source]
        source: std::io::Error,
    },
}

/// How to start a worker: the executable, the options the hidden `worker` subcommand
/// passes on to [`crate::worker::run`], and where its pid is kept for a later sweep.
#[derive(Clone, Debug)]
pub(crate) struct WorkerLaunch {
    pub(crate) executable: PathBuf,
    pub(crate) options: WorkerOptions,
    pub(crate) pid_file: PathBuf,
}

pub(crate) struct WorkerProcess {
    lane: Lane,
    log: PathBuf,
    child: Child,
    stdin: ChildStdin,
    reports: Receiver<Report>,
}

impl WorkerProcess {
    /// Starts the worker without waiting: commands sent now wait in its stdin, and its
    /// `ready` report comes first. Several workers start in parallel this way.
    pub(crate) fn spawn(launch: &WorkerLaunch) -> Result<Self, WorkerError> {
        let options = &launch.options;
        let lane = options.lane;
        let log = options.log.clone();
        let mut command = std::process::Command::new(&launch.executable);
        command
            .args(options.to_arguments())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let spawn_error = |source| WorkerError::Spawn { lane, source };
        let mut child = process::spawn_owned(&mut command).map_err(spawn_error)?;
        let _ = process::write_pid_file(&launch.pid_file, child.id());
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| spawn_error(missing_pipe()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| spawn_error(missing_pipe()))?;
        let (sender, reports) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("{lane}-reports"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let report =
                        serde_json::from_str(&line).unwrap_or_else(|error| Report::Error {
                            text: format!("unreadable report {line:?}: {error}"),
                        });
                    if sender.send(report).is_err() {
                        break;
                    }
                }
            })
            .map_err(spawn_error)?;
        Ok(WorkerProcess {
            lane,
            log,
            child,
            stdin,
            reports,
        })
    }

    /// Waits (bounded) for the `ready` report of a worker just spawned.
    pub(crate) fn wait_ready(&mut self, timeout: Duration) -> Result<(), WorkerError> {
        let lane = self.lane;
        let spawn_error = |text: String| WorkerError::Spawn {
            lane,
            source: std::io::Error::other(text),
        };
        match self.next_report(timeout)? {
            Report::Ready { .. } => Ok(()),
            Report::Error { text } => Err(spawn_error(text)),
            other => Err(spawn_error(format!("expected `ready`, got {other:?}"))),
        }
    }

    /// Waits (bounded) for the `ready` of a worker just spawned; a worker that dies or
    /// fails first is a setup failure, told with the first line of its error.
    pub(crate) fn wait_started(&mut self, timeout: Duration) -> Result<(), WorkerError> {
        let cause = match self.next_report(timeout) {
            Ok(Report::Ready { .. }) => return Ok(()),
            Ok(Report::Error { text }) => text,
            Ok(other) => format!("expected `ready`, got {other:?}"),
            Err(WorkerError::Exited { .. }) => first_error_line(&self.log),
            Err(error) => error.to_string(),
        };
        Err(WorkerError::CouldNotStart {
            lane: self.lane,
            cause,
        })
    }

    pub(crate) fn lane(&self) -> Lane {
        self.lane
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn send(&mut self, command: &Command) -> Result<(), WorkerError> {
        let send_error = |source| WorkerError::Send {
            lane: self.lane,
            source,
        };
        let line = serde_json::to_string(command).map_err(|error| send_error(error.into()))?;
        writeln!(self.stdin, "{line}").map_err(send_error)?;
        self.stdin.flush().map_err(send_error)
    }

    /// The next report, waiting at most `timeout`.
    /// If the controller itself was stopped (Ctrl-Z, SIGSTOP, a laptop lid) the timeout
    /// may pass while a report already waits in the pipe: before declaring the worker
    /// late, the reader thread gets [`LATE_GRACE`] to hand over what is waiting.
    pub(crate) fn next_report(&mut self, timeout: Duration) -> Result<Report, WorkerError> {
        let received = match self.reports.recv_timeout(timeout) {
            Err(RecvTimeoutError::Timeout) => self.reports.recv_timeout(LATE_GRACE),
            other => other,
        };
        match received {
            Ok(report) => Ok(report),
            Err(RecvTimeoutError::Timeout) => Err(WorkerError::Timeout {
                lane: self.lane,
                timeout_ms: timeout.as_millis(),
            }),
            Err(RecvTimeoutError::Disconnected) => Err(WorkerError::Exited {
                lane: self.lane,
                log: self.log.clone(),
            }),
        }
    }

    /// How the worker ended, if it has exited (reaping it): `None` while it runs.
    pub(crate) fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL: the crash. Reaps the process before returning.
    pub(crate) fn kill(mut self) {
        let _ = process::kill_and_reap(&mut self.child, REAP_TIMEOUT);
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = process::kill_and_reap(&mut self.child, REAP_TIMEOUT);
    }
}

/// The first error a worker wrote to its log (`worker: …`), for a failed start.
fn first_error_line(log: &std::path::Path) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .find_map(|line| line.strip_prefix("worker: "))
        .map(str::to_string)
        .unwrap_or_else(|| format!("it exited at once (see {})", log.display()))
}

fn missing_pipe() -> std::io::Error {
    std::io::Error::other("the child's pipe is missing")
}
