//! The runner thread: the one thread that owns the engine's `Run` for the whole program
//! (workers and TigerBeetle get a parent-death signal tied to the thread that spawned
//! them, so that thread must outlive every run). The UI sends it requests; it answers
//! with typed events on the UI's queue: every wait as it begins, every report, and
//! `Idle` when a request is done. It also keeps the run's transcript file, where moves
//! pressed by hand are recorded like scripted ones.

use super::event::Event;
use super::messages::{Refused, Request, RunnerEvent};
use super::picker;
use crate::domain::scenario::{Action, Scenario};
use crate::engine::layout::{DATA_FILE_EXTENSION, DataDir, RunLayout};
use crate::engine::report::{StepMerger, StepReport};
use crate::engine::{EngineError, Refusal, Run, RunOptions, Waiting};
use crate::faces::transcript;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// A bound on the requests waiting for the runner: the UI sends one at a time.
const REQUEST_CAPACITY: usize = 16;
/// A bound on the steps of "run to the end".
const STEP_COUNT_MAX: usize = 10_000;
/// How often an idle runner looks for a child that died without being told to.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// What every run of the program's lifetime is started with.
#[derive(Clone, Debug)]
pub(crate) struct RunnerOptions {
    pub(crate) data_dir: PathBuf,
    pub(crate) seed: Option<u64>,
    /// The executable that runs workers (`cabaret worker`).
    pub(crate) executable: PathBuf,
}

/// The UI's side of the runner thread.
pub(crate) struct RunnerHandle {
    requests: SyncSender<Request>,
    thread: Option<JoinHandle<()>>,
}

impl RunnerHandle {
    pub(crate) fn spawn(
        options: RunnerOptions,
        events: SyncSender<Event>,
    ) -> std::io::Result<Self> {
        let (requests, receiver) = sync_channel(REQUEST_CAPACITY);
        let thread = std::thread::Builder::new()
            .name("runner".to_string())
            .spawn(move || {
                sweep_abandoned_deletions(&options.data_dir);
                let mut runner = Runner {
                    options,
                    events,
                    current: None,
                    scenario: None,
                    deleters: Vec::new(),
                    deleted_count: 0,
                };
                runner.serve(&receiver);
            })?;
        Ok(RunnerHandle {
            requests,
            thread: Some(thread),
        })
    }

    /// Sends a request; false when the queue is full or the thread has ended.
    pub(crate) fn send(&self, request: Request) -> bool {
        self.requests.try_send(request).is_ok()
    }

    /// Whether the thread has ended.
    pub(crate) fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Joins the thread if it has ended (never blocks).
    pub(crate) fn reap(&mut self) {
        if self.is_finished() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// The run in progress and what the runner tracks beside it.
struct Current {
    run: Run,
    transcript: Option<std::fs::File>,
    /// The hold points of the step in progress, merged into one transcript entry.
    held: StepMerger,
}

struct Runner {
    options: RunnerOptions,
    events: SyncSender<Event>,
    current: Option<Current>,
    /// The scenario of the last run opened (a reset replays it).
    scenario: Option<Scenario>,
    /// The processes deleting data files of closed runs (reaped as they end).
    deleters: Vec<std::process::Child>,
    /// The data files sent for deletion so far, to name each one apart.
    deleted_count: u64,
}

impl Runner {
    fn tell(&self, event: RunnerEvent) {
        // The UI is gone only when the program is ending: nothing left to tell.
        let _ = self.events.send(Event::Runner(event));
    }

    fn serve(&mut self, requests: &Receiver<Request>) {
        let mut next = self.wait_for_request(requests);
        while let Some(request) = next.take() {
            if matches!(request, Request::Quit) {
                break;
            }
            next = self.handle(request, requests);
            self.stop_if_no_room();
            self.tell(RunnerEvent::Idle);
            if next.is_none() {
                next = self.wait_for_request(requests);
            }
        }
        self.close();
        self.tell(RunnerEvent::Stopped);
    }

    /// Waits for the UI's next request; meanwhile, looks every `WATCH_INTERVAL` for a
    /// child of the run that died without being told to, and shows it at once. `None`
    /// when the UI is gone.
    fn wait_for_request(&mut self, requests: &Receiver<Request>) -> Option<Request> {
        loop {
            match requests.recv_timeout(WATCH_INTERVAL) {
                Ok(request) => return Some(request),
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {}
            }
            let noticed = self
                .current
                .as_mut()
                .and_then(|current| current.run.watch());
            if let Some(report) = noticed {
                self.publish(report, true);
            }
        }
    }

    /// Carries out one request; returns a request that interrupted it, to handle next.
    fn handle(&mut self, request: Request, requests: &Receiver<Request>) -> Option<Request> {
        match request {
            Request::List(folder) => self.tell(RunnerEvent::Listed(picker::list(&folder))),
            Request::Open(scenario) => self.open(*scenario),
            Request::Reset => match self.scenario.clone() {
                Some(scenario) => self.open(scenario),
                None => self.refuse(Refused::NotStarted),
            },
            Request::Close => {
                self.close();
                self.tell(RunnerEvent::Closed);
            }
            Request::ToEnd => return self.run_to_end(requests),
            Request::JumpTo(step) => return self.jump_to(step, requests),
            other => {
                self.move_once(other);
            }
        }
        None
    }

    fn refuse(&self, refused: Refused) {
        self.tell(RunnerEvent::Refused(refused));
    }

    fn open(&mut self, scenario: Scenario) {
        self.close();
        self.scenario = Some(scenario.clone());
        self.tell(RunnerEvent::Opened(Box::new(scenario.clone())));
        match self.start(scenario) {
            Ok(current) => {
                self.current = Some(current);
                let report = self.current.as_mut().map(|current| current.run.snapshot());
                if let Some(report) = report {
                    self.publish(report, false);
                }
            }
            Err(error) => self.tell(RunnerEvent::StartFailed(error)),
        }
    }

    fn start(&self, scenario: Scenario) -> Result<Current, String> {
        let layout = DataDir::new(&self.options.data_dir)
            .run_for(&scenario)
            .map_err(|error| error.to_string())?;
        layout.reset().map_err(|error| error.to_string())?;
        let mut options = RunOptions::new(layout.clone()).map_err(|error| error.to_string())?;
        options.seed = self.options.seed;
        options.executable = self.options.executable.clone();
        let sender = self.events.clone();
        let progress = Box::new(move |waiting: Option<Waiting>| {
            let _ = sender.send(Event::Runner(RunnerEvent::Waiting(waiting)));
        });
        let run = Run::start(scenario, options, None, Some(progress)).map_err(|error| {
            // A run that could not start leaves no data file behind.
            layout.remove_data_files();
            error.to_string()
        })?;
        let transcript_path = layout.transcript();
        let mut transcript = std::fs::File::create(&transcript_path).ok();
        let heading = transcript::heading(&run.scenario().title, run.seed(), &run.scenario().lanes);
        write_transcript(&mut transcript, &heading);
        self.tell(RunnerEvent::Started {
            seed: run.seed(),
            transcript: transcript_path,
        });
        Ok(Current {
            run,
            transcript,
            held: StepMerger::default(),
        })
    }

    /// A full disk or a failed log write stops the run (its data file removed) and says
    /// what failed and where, on the screen.
    fn stop_if_no_room(&mut self) {
        let Some(current) = self.current.as_ref() else {
            return;
        };
        if let Err(error) = current.run.layout().check_room() {
            self.close();
            self.tell(RunnerEvent::StartFailed(error.to_string()));
        }
    }

    /// Ends the run: its workers, its server, and the server's data file (about 1 GB).
    fn close(&mut self) {
        let Some(current) = self.current.take() else {
            return;
        };
        let record_dir = current.run.layout().record_dir();
        let mut server = current.run.into_server();
        // SIGKILL rather than a polite SIGTERM (which TigerBeetle takes seconds to
        // honour): its data files are deleted next anyway.
        if let Err(error) = server.kill() {
            self.refuse(Refused::Failed(error.to_string()));
        }
        drop(server);
        self.delete_in_background(&record_dir);
    }

    /// Moves the TigerBeetle data files of `record_directory` out of the run's folder at
    /// once, then deletes them with a process of their own: freeing a 1 GB file takes
    /// seconds, which quitting or resetting need not wait for. That process has its own
    /// process group, so closing the terminal does not stop it halfway.
    fn delete_in_background(&mut self, record_directory: &Path) {
        self.deleters
            .retain_mut(|child| matches!(child.try_wait(), Ok(None)));
        let Ok(entries) = std::fs::read_dir(record_directory) else {
            return;
        };
        let files: Vec<PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == DATA_FILE_EXTENSION)
            })
            .collect();
        let mut moved = Vec::new();
        for file in files {
            self.deleted_count += 1;
            let trash = DataDir::new(&self.options.data_dir)
                .trash_file(std::process::id(), self.deleted_count);
            match std::fs::rename(&file, &trash) {
                Ok(()) => moved.push(trash),
                Err(_) => {
                    let _ = std::fs::remove_file(&file);
                }
            }
        }
        if moved.is_empty() {
            return;
        }
        let spawned = std::process::Command::new("rm")
            .arg("-f")
            .args(&moved)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn();
        match spawned {
            Ok(child) => self.deleters.push(child),
            Err(_) => {
                for file in moved {
                    let _ = std::fs::remove_file(file);
                }
            }
        }
    }

    /// Shows the state after step `target`: steps on to it, or, when it is behind (or a
    /// step is held mid-way), closes the run and replays it from the start on fresh
    /// stores with the same seed, each step run to its end in one report. The same seed
    /// draws the same ids, so the screen is the one first shown at that step.
    fn jump_to(&mut self, target: usize, requests: &Receiver<Request>) -> Option<Request> {
        let Some(current) = self.current.as_ref() else {
            self.refuse(Refused::NotStarted);
            return None;
        };
        let done = current.run.steps_done();
        let holding = current.run.is_holding();
        let started = std::time::Instant::now();
        let replay = target < done || (target == done && holding);
        if replay {
            let Some(scenario) = self.scenario.clone() else {
                self.refuse(Refused::NotStarted);
                return None;
            };
            self.open(scenario);
        }
        let interrupted = self.step_until(target, requests);
        if replay && interrupted.is_none() {
            self.tell(RunnerEvent::Replayed {
                step: target,
                elapsed: started.elapsed(),
            });
        }
        interrupted
    }

    /// Runs steps to their end until `target` steps are done; returns a request that
    /// interrupted it.
    fn step_until(&mut self, target: usize, requests: &Receiver<Request>) -> Option<Request> {
        for _step_index in 0..STEP_COUNT_MAX {
            let done = self
                .current
                .as_ref()
                .map(|current| (current.run.steps_done(), current.run.is_holding()));
            match done {
                Some((done, false)) if done >= target => return None,
                None => return None,
                Some(_) => {}
            }
            if let Ok(request) = requests.try_recv() {
                if request.interrupts() {
                    return Some(request);
                }
                self.refuse(Refused::Busy);
                self.tell(RunnerEvent::Idle);
            }
            if !self.finish_step() {
                return None;
            }
        }
        None
    }

    fn run_to_end(&mut self, requests: &Receiver<Request>) -> Option<Request> {
        for _step_index in 0..STEP_COUNT_MAX {
            match requests.try_recv() {
                Ok(request) if request.interrupts() => return Some(request),
                Ok(_) => {
                    // Every request gets its `Idle`, so the UI's count of them stays true.
                    self.refuse(Refused::Busy);
                    self.tell(RunnerEvent::Idle);
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => return Some(Request::Quit),
            }
            let finished = self
                .current
                .as_ref()
                .is_none_or(|current| current.run.is_finished());
            if finished {
                return None;
            }
            if !self.finish_step() {
                return None;
            }
        }
        None
    }

    /// Runs the step in progress, or the next one, to its end in one report (the stores
    /// are read once, not at every hold point).
    fn finish_step(&mut self) -> bool {
        let Some(current) = self.current.as_mut() else {
            return false;
        };
        match current.run.step() {
            Ok(report) => {
                self.publish(report, true);
                true
            }
            Err(error) => {
                self.refuse(refused(error));
                false
            }
        }
    }

    /// Makes one move of the run; returns whether it went through.
    fn move_once(&mut self, request: Request) -> bool {
        let Some(current) = self.current.as_mut() else {
            self.refuse(Refused::NotStarted);
            return false;
        };
        let result = match request {
            Request::Advance if current.run.is_finished() => Err(Refused::Finished),
            Request::Advance => current.run.advance().map_err(refused),
            Request::CrashNow => current.run.crash_now().map_err(Refused::Engine),
            Request::Fail(fault) => match current.run.fault_for(fault) {
                Ok(fault) => manual(current, Action::Fail(fault)),
                Err(refusal) => Err(Refused::Engine(refusal)),
            },
            Request::Heal => return self.heal(),
            Request::Restart => manual(current, Action::Restart),
            Request::Recover => manual(current, Action::Recover),
            other => Err(Refused::Failed(format!(
                "the runner cannot make the move {other:?}"
            ))),
        };
        match result {
            Ok(report) => {
                self.publish(report, true);
                true
            }
            Err(refused) => {
                self.refuse(refused);
                false
            }
        }
    }

    /// Heals whatever is failed, store by store.
    fn heal(&mut self) -> bool {
        let Some(current) = self.current.as_mut() else {
            return false;
        };
        let stores = current.run.failed_stores();
        if stores.is_empty() {
            self.refuse(Refused::Engine(Refusal::NothingToHeal));
            return false;
        }
        for store in stores {
            let Some(current) = self.current.as_mut() else {
                return false;
            };
            match manual(current, Action::Heal(store)) {
                Ok(report) => self.publish(report, true),
                Err(refused) => {
                    self.refuse(refused);
                    return false;
                }
            }
        }
        true
    }

    /// Records the report in the transcript (unless it is the state before any step)
    /// and sends it to the UI.
    fn publish(&mut self, report: StepReport, in_transcript: bool) {
        let Some(current) = self.current.as_mut() else {
            return;
        };
        let holding = current.run.is_holding();
        if in_transcript {
            record_in_transcript(current, &report, holding);
        }
        let finished = current.run.is_finished();
        let summary = finished.then(|| current.run.summary());
        self.tell(RunnerEvent::Report {
            report: Box::new(report),
            holding,
            finished,
        });
        if let Some(summary) = summary {
            self.tell(RunnerEvent::Summary(Box::new(summary)));
        }
    }
}

fn manual(current: &mut Current, action: Action) -> Result<StepReport, Refused> {
    current.run.apply_manual(action).map_err(refused)
}

/// A refusal of the engine stays one; any other error is a failed move.
fn refused(error: EngineError) -> Refused {
    match error {
        EngineError::Refused(refusal) => Refused::Engine(refusal),
        other => Refused::Failed(other.to_string()),
    }
}

/// Writes a move to the transcript. The hold points of a scripted step are merged into
/// the step's one entry, as `cabaret play` prints it; a move by hand gets its own entry.
fn record_in_transcript(current: &mut Current, report: &StepReport, holding: bool) {
    if report.manual {
        if !holding {
            // A crash by hand ended the step in progress: its entry ends here too.
            if let Some(pending) = current.held.take_pending() {
                write_transcript(&mut current.transcript, &transcript::step_text(&pending));
            }
        }
        write_transcript(&mut current.transcript, &transcript::step_text(report));
        return;
    }
    if let Some(merged) = current.held.push(report.clone()) {
        write_transcript(&mut current.transcript, &transcript::step_text(&merged));
    }
}

fn write_transcript(file: &mut Option<std::fs::File>, text: &str) {
    let Some(writer) = file.as_mut() else {
        return;
    };
    if writer.write_all(text.as_bytes()).is_err() {
        // A full disk must not stop the show: the transcript simply ends here.
        *file = None;
    }
}

/// Ends every process of a run whose runner did not stop in time, by the pid files the
/// run left, and deletes its files (TigerBeetle's data file among them).
pub(crate) fn sweep_run_directory(layout: &RunLayout) {
    layout.sweep_processes();
    let _ = std::fs::remove_dir_all(layout.root());
}

/// Deletes data files that an earlier session moved aside to delete but did not finish
/// with (its deleting process was killed): their names carry the session's pid.
fn sweep_abandoned_deletions(data_dir: &Path) {
    for (file, owner) in DataDir::new(data_dir).trash_files() {
        if owner
            .is_some_and(|pid| pid != std::process::id() && !crate::stores::process::is_alive(pid))
        {
            let _ = std::fs::remove_file(file);
        }
    }
}
