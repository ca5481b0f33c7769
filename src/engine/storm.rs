//! The storm's own path through the engine: many requests in every lane, with workers that
//! run free. Where the stepping engine walks every request through every hold point and
//! reads both stores for every user after every step, here each lane has `concurrency`
//! worker processes on the same files, each taking the lane's next request as soon as it
//! is done with the last; a worker holds only where a crash is scheduled (and is SIGKILLed
//! there, then replaced by a new one that recovers what it left). Store faults are real
//! (SQLite's write lock taken, TigerBeetle paused with SIGSTOP or killed with SIGKILL) and
//! span windows of requests: every lane finishes the requests before a window, the store
//! is failed, the window's requests run into it, every lane finishes them, the store is
//! healed. The stores are read in full twice, at the end: once before the recovery round
//! and once after it, every user judged by the same rules as a scenario's step.
//!
//! Nothing is kept per request: the schedule is computed as the storm goes, and a lane's
//! counts are numbers (plus one bit per request for "its worker crashed").

pub(crate) mod check;
pub(crate) mod schedule;

pub(crate) use check::Anomalies;
pub use schedule::{FAULT_WINDOW_REQUESTS, FaultWindow, Schedule};

use super::EngineError;
use super::layout::{LaneFiles, Manifest, RunLayout};
use super::observe::{Observer, lane_observation};
use super::worker_handle::{WorkerLaunch, WorkerProcess};
use crate::domain::ids::CODE_CUSTOMER;
use crate::domain::lane::{Lane, Recovery};
use crate::domain::outcome::WriteOutcome;
use crate::domain::scenario::Fault;
use crate::domain::verdict::ViolationKind;
use crate::stores::reference_faults::ReferenceLock;
use crate::stores::supervisor::{self, RecordServer};
use crate::worker::protocol::{BatchRequest, Command, Report, RequestResult, Store, WorkerOptions};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The most requests a storm makes in each lane.
pub(crate) const REQUEST_COUNT_MAX: u64 = 1_000_000;
/// The most worker processes a lane runs at once (each holds a TigerBeetle client and
/// SQLite connections; seven lanes of 16 is 112 processes).
pub(crate) const CONCURRENCY_MAX: u32 = 16;
/// The most requests a worker takes in one batch: 100 accounts make one TigerBeetle
/// request of 13,056 bytes, which the `--development` server here accepted (a batch of
/// 500 was refused).
pub(crate) const BATCH_MAX: u32 = 100;
/// A worker's TigerBeetle request timeout in a storm: past it, the outcome is unknown. It
/// is what a request sent while TigerBeetle is paused or down costs.
pub(crate) const STORM_RECORD_TIMEOUT: Duration = Duration::from_millis(1000);
/// How long a worker may take to send its next report: longer than a TigerBeetle request
/// and SQLite's busy timeouts, so a silent worker is a hung worker.
const REPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// The checks' TigerBeetle read timeout: a listing of many accounts on a loaded machine.
const CHECK_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a new worker may take to open its stores and report `ready`.
const WORKER_START_TIMEOUT: Duration = Duration::from_secs(10);
/// A bound on the reports of one request (a handful: writes, notes, an alert, its end).
const REQUEST_REPORT_COUNT_MAX: usize = 64;
/// A bound on the reports of one recovery round, per request it might resume.
const RECOVERY_REPORTS_PER_REQUEST: u64 = 8;
/// How often the controller tells the face how far the storm is (and the longest a worker
/// thread waits at a closed gate before looking again).
const TICK: Duration = Duration::from_millis(100);
/// How often resident memory is sampled.
const MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// What a storm is run with.
#[derive(Clone, Debug)]
pub(crate) struct StormPlan {
    pub(crate) layout: RunLayout,
    pub(crate) lanes: Vec<Lane>,
    pub(crate) schedule: Schedule,
    /// Worker processes per lane, running requests at once.
    pub(crate) concurrency: u32,
    /// The most requests a worker runs as one batch (group commit); 1 sends each request
    /// on its own.
    pub(crate) batch: u32,
    pub(crate) tigerbeetle: PathBuf,
    /// The executable that runs workers (`cabaret worker`).
    pub(crate) executable: PathBuf,
    pub(crate) record_timeout: Duration,
    /// Set by the face to stop the storm early (the requests in flight end first).
    pub(crate) cancel: Arc<AtomicBool>,
}

impl StormPlan {
    /// A plan with the defaults: this executable, the bundled TigerBeetle, the storm's
    /// request timeout.
    pub(crate) fn new(
        layout: RunLayout,
        lanes: Vec<Lane>,
        schedule: Schedule,
        concurrency: u32,
        batch: u32,
    ) -> Result<StormPlan, EngineError> {
        let executable = std::env::current_exe().map_err(|source| EngineError::Io {
            action: "finding the cabaret executable".to_string(),
            source,
        })?;
        Ok(StormPlan {
            layout,
            lanes,
            schedule,
            concurrency,
            batch,
            tigerbeetle: supervisor::default_binary(),
            executable,
            record_timeout: STORM_RECORD_TIMEOUT,
            cancel: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// What a lane's callers heard, request by request, and what its workers reported.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct LaneCounts {
    /// Requests sent and ended (heard, or crashed).
    pub(crate) requests: u64,
    pub(crate) created: u64,
    /// Accepted, not complete yet (a journal or an outbox will finish it).
    pub(crate) pending: u64,
    /// Stopped by an alert.
    pub(crate) rejected: u64,
    /// A store refused a write that certainly did not apply.
    pub(crate) failed: u64,
    /// The first write applied and the second was refused (record-first's account with
    /// no row): half of the request stands.
    pub(crate) incomplete: u64,
    /// TigerBeetle did not answer in time: the account may or may not exist.
    pub(crate) unknown: u64,
    /// The worker was SIGKILLed mid-request: its caller heard nothing. With batches, every
    /// request of the batch the crash caught.
    pub(crate) crashed: u64,
    /// SIGKILLs of the lane's workers (one per crash, however many requests it caught).
    pub(crate) kills: u64,
    /// Requests a recovery round (after a crash, or at the end) finished.
    pub(crate) recovered: u64,
    /// Alerts raised, by kind.
    pub(crate) alerts: BTreeMap<ViolationKind, u64>,
    /// Commands a worker could not carry out (a store it could not use).
    pub(crate) worker_errors: u64,
    /// The lab's history: which user each account id was drawn for, as the workers
    /// reported before writing. TigerBeetle holds no such link; the check needs it.
    #[serde(skip)]
    pub(crate) drawn: BTreeMap<u128, String>,
}

impl LaneCounts {
    fn add(&mut self, other: &LaneCounts) {
        self.requests += other.requests;
        self.created += other.created;
        self.pending += other.pending;
        self.rejected += other.rejected;
        self.failed += other.failed;
        self.incomplete += other.incomplete;
        self.drawn
            .extend(other.drawn.iter().map(|(id, user)| (*id, user.clone())));
        self.unknown += other.unknown;
        self.crashed += other.crashed;
        self.kills += other.kills;
        self.recovered += other.recovered;
        self.worker_errors += other.worker_errors;
        for (kind, count) in &other.alerts {
            *self.alerts.entry(*kind).or_default() += count;
        }
    }

    /// A worker drew the id `guid` for `user`, before writing with it.
    fn drew(&mut self, user: String, guid: &str) {
        if let Some(id) = crate::domain::ids::id_of(guid) {
            self.drawn.insert(id, user);
        }
    }

    fn heard(&mut self, result: &RequestResult) {
        match result {
            RequestResult::Created => self.created += 1,
            // A storm sends no `close`.
            RequestResult::Closed => {}
            RequestResult::Pending => self.pending += 1,
            RequestResult::Rejected(_) => self.rejected += 1,
            RequestResult::Failed(_) => self.failed += 1,
            RequestResult::Incomplete(_) => self.incomplete += 1,
            RequestResult::Unknown => self.unknown += 1,
        }
    }
}

/// How far a storm is, for the face (a progress bar, the TUI's bars).
#[derive(Clone, Debug)]
pub struct StormProgress {
    pub(crate) request_count: u64,
    pub(crate) elapsed: Duration,
    /// What the storm does now ("TigerBeetle paused", "recovery round").
    pub(crate) phase: String,
    pub(crate) lanes: Vec<(Lane, LaneCounts)>,
}

/// The storm's own way of telling the face: what it does now, and every lane's counts.
type Tell<'a> = dyn FnMut(&str, Vec<(Lane, LaneCounts)>) + 'a;

/// Receives the storm's progress, every tick.
pub(crate) type StormSink = Box<dyn FnMut(&StormProgress) + Send>;

/// One lane's storm.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LaneStorm {
    pub(crate) lane: Lane,
    #[serde(flatten)]
    pub(crate) counts: LaneCounts,
    /// From the start to the end of the lane's last request.
    pub(crate) seconds: f64,
    pub(crate) requests_per_second: f64,
    /// Every user judged once all requests had ended, before the recovery round.
    pub(crate) before_recovery: Anomalies,
    /// Every user judged after the recovery round: what is left.
    pub(crate) after_recovery: Anomalies,
}

/// The most resident memory seen, sampled about once a second (KiB).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Resident {
    pub(crate) controller_kib: u64,
    /// All workers together.
    pub(crate) workers_kib: u64,
    pub(crate) worker_count: u64,
    pub(crate) tigerbeetle_kib: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct StormResult {
    pub(crate) request_count: u64,
    pub(crate) concurrency: u32,
    pub(crate) batch: u32,
    pub(crate) seed: u64,
    /// Requests whose worker had a crash scheduled (it crashes if the lane reaches the
    /// point).
    pub(crate) crashes_scheduled: u64,
    /// Fault windows, by fault.
    pub(crate) fault_windows: BTreeMap<String, u64>,
    /// Requests (per lane) sent while a store was failed.
    pub(crate) faulted_requests: u64,
    /// From the first request to the last request's end.
    pub(crate) seconds: f64,
    /// The recovery round and both checks.
    pub(crate) check_seconds: f64,
    pub(crate) lanes: Vec<LaneStorm>,
    pub(crate) resident_max: Resident,
}

/// The dispatch of requests to the workers, under one lock.
struct Dispatch {
    /// Requests below the gate may be sent.
    gate: u64,
    /// Per lane: its next request.
    next: Vec<u64>,
    /// Per lane: requests sent and not ended.
    in_flight: Vec<u32>,
    counts: Vec<LaneCounts>,
    /// Per lane: one bit per request, set when its worker crashed in it.
    crashed: Vec<Vec<u64>>,
    finished_at: Vec<Option<Instant>>,
    incarnations: Vec<u32>,
    /// Per lane, per slot: the worker's pid (for the memory samples).
    pids: Vec<Vec<u32>>,
    stage: Stage,
    /// How many times TigerBeetle was restarted after a kill: a worker that has not seen
    /// the latest restart takes a new client for its next request.
    record_restarts: u64,
    /// TigerBeetle is paused or down on purpose (a fault window).
    record_failed: bool,
    /// Worker slots whose first worker is ready.
    ready_slots: usize,
    /// Worker threads done with the recovery stage.
    recovered_slots: usize,
    failure: Option<String>,
}

/// Where the storm is. Worker threads keep their workers to the end: a worker is started
/// with the parent-death signal, which fires when the *thread* that started it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Requests,
    /// Every request has ended; the stores are checked.
    Parked,
    /// The first worker of each lane runs a recovery round.
    Recover,
    /// Threads end their workers and return.
    Exit,
}

/// A batch of requests `start..end` handed to a worker slot, with what it needs to know
/// of TigerBeetle.
struct Ticket {
    start: u64,
    end: u64,
    record_restarts: u64,
    record_failed: bool,
}

struct Shared {
    dispatch: Mutex<Dispatch>,
    changed: Condvar,
    request_count: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Dispatch> {
        // A worker thread that panicked holds no invariant the others need.
        self.dispatch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The lane's next batch once the gate lets it through (with how many times
    /// TigerBeetle has been restarted), or `None` when the storm stops. Waits in ticks, so a stop is seen within one.
    /// A batch holds at most `batch` requests, never crosses the gate (a fault window's
    /// edge) and ends at a request with a crash scheduled: so every scheduled crash that
    /// is reached happens, with its batch.
    fn take(&self, lane_index: usize, batch: u32, schedule: &Schedule) -> Option<Ticket> {
        let mut dispatch = self.lock();
        loop {
            if dispatch.stage != Stage::Requests {
                return None;
            }
            let next = dispatch.next[lane_index];
            if next < dispatch.gate {
                let limit = dispatch.gate.min(next + u64::from(batch));
                let end = (next..limit)
                    .find(|index| schedule.crash_at(*index).is_some())
                    .map_or(limit, |crash| crash + 1);
                dispatch.next[lane_index] = end;
                dispatch.in_flight[lane_index] += 1;
                return Some(Ticket {
                    start: next,
                    end,
                    record_restarts: dispatch.record_restarts,
                    record_failed: dispatch.record_failed,
                });
            }
            dispatch = match self.changed.wait_timeout(dispatch, TICK) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn ended(&self, lane_index: usize, requests: std::ops::Range<u64>, counts: &LaneCounts) {
        let mut dispatch = self.lock();
        dispatch.counts[lane_index].add(counts);
        if counts.kills > 0 {
            // A crash catches its whole batch: no caller of it heard an end.
            let bits = &mut dispatch.crashed[lane_index];
            for index in requests {
                bits[(index / 64) as usize] |= 1 << (index % 64);
            }
        }
        dispatch.in_flight[lane_index] -= 1;
        if dispatch.next[lane_index] == self.request_count && dispatch.in_flight[lane_index] == 0 {
            dispatch.finished_at[lane_index] = Some(Instant::now());
        }
        drop(dispatch);
        self.changed.notify_all();
    }

    fn fail(&self, text: String) {
        let mut dispatch = self.lock();
        dispatch.failure.get_or_insert(text);
        dispatch.stage = Stage::Exit;
        drop(dispatch);
        self.changed.notify_all();
    }

    fn set_stage(&self, stage: Stage) {
        let mut dispatch = self.lock();
        dispatch.stage = dispatch.stage.max(stage);
        drop(dispatch);
        self.changed.notify_all();
    }

    /// Waits (in ticks) until the storm has reached `stage` or gone past it; returns the
    /// stage it is at.
    fn wait_for_stage(&self, stage: Stage) -> Stage {
        let mut dispatch = self.lock();
        while dispatch.stage < stage {
            dispatch = match self.changed.wait_timeout(dispatch, TICK) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        dispatch.stage
    }

    /// The failure that stopped the storm, if one did.
    fn failure(&self) -> Option<EngineError> {
        self.lock().failure.clone().map(|text| EngineError::Io {
            action: "the storm".to_string(),
            source: std::io::Error::other(text),
        })
    }
}

/// How one lane's workers are started.
#[derive(Clone)]
struct LaneLaunch {
    lane_index: usize,
    /// The most requests in one batch (1: each request on its own, a `free` command).
    batch: u32,
    executable: PathBuf,
    options: WorkerOptions,
    files: LaneFiles,
}

impl LaneLaunch {
    /// Starts a worker of the lane with the next incarnation and waits (bounded) for it.
    fn spawn(&self, shared: &Shared, slot: usize) -> Result<WorkerProcess, EngineError> {
        let incarnation = {
            let mut dispatch = shared.lock();
            let incarnation = dispatch.incarnations[self.lane_index];
            dispatch.incarnations[self.lane_index] += 1;
            incarnation
        };
        let launch = WorkerLaunch {
            executable: self.executable.clone(),
            options: WorkerOptions {
                incarnation,
                ..self.options.clone()
            },
            pid_file: self.files.worker_pid_file(incarnation),
        };
        let started = Instant::now();
        let mut process = WorkerProcess::spawn(&launch)?;
        process.wait_ready(WORKER_START_TIMEOUT)?;
        tracing::debug!(
            lane = %self.options.lane,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "storm worker ready"
        );
        shared.lock().pids[self.lane_index][slot] = process.pid();
        // A pid file per incarnation would pile up: the sweep needs only the live ones.
        if let Some(previous) = incarnation.checked_sub(1) {
            let _ = std::fs::remove_file(self.files.worker_pid_file(previous));
        }
        Ok(process)
    }
}

/// Runs the storm and judges it. Bounded: every wait on a worker or a store has a timeout.
pub(crate) fn storm(plan: &StormPlan, sink: Option<StormSink>) -> Result<StormResult, EngineError> {
    let mut sink = sink.unwrap_or_else(|| Box::new(|_: &StormProgress| {}));
    let layout = &plan.layout;
    let mut server = RecordServer::prepare(&layout.record_dir(), &plan.tigerbeetle)?;
    let started = Instant::now();
    let mut progress = |phase: &str, lanes: Vec<(Lane, LaneCounts)>| {
        sink(&StormProgress {
            request_count: plan.schedule.request_count,
            elapsed: started.elapsed(),
            phase: phase.to_string(),
            lanes,
        })
    };
    progress("starting TigerBeetle", Vec::new());
    // Whatever happens, the server goes and its data file (about 1 GB) with it.
    let result = run_on(plan, &mut server, &mut progress);
    let destroyed = server.destroy();
    let result = result?;
    destroyed?;
    Ok(result)
}

/// The storm on a server prepared (not started yet): starts it, runs every request,
/// checks, recovers, checks again.
fn run_on(
    plan: &StormPlan,
    server: &mut RecordServer,
    progress: &mut Tell<'_>,
) -> Result<StormResult, EngineError> {
    server.start()?;
    wait_for_first_answer(&Observer::connect(server.address(), plan.record_timeout)?)?;
    let manifest = Manifest {
        title: format!("Storm of {} requests", plan.schedule.request_count),
        lanes: plan
            .lanes
            .iter()
            .map(|lane| (*lane, lane.index() + 1))
            .collect(),
    };
    plan.layout
        .write_manifest(&manifest)
        .map_err(|source| EngineError::Io {
            action: "writing run.json".to_string(),
            source,
        })?;
    let mut driver = Driver::start(plan, server)?;
    // The clock starts once every first worker is ready (each registers its TigerBeetle
    // session first, about 0.6 s): the rate is the requests'.
    if let Err(error) = driver.wait_ready() {
        driver.join(true);
        return Err(error);
    }
    let requests_started = Instant::now();
    let outcome = driver.run(server, progress);
    let seconds = requests_started.elapsed().as_secs_f64();
    let checks_started = Instant::now();
    let checked = outcome.and_then(|()| {
        driver.shared.set_stage(Stage::Parked);
        progress("checking every user", driver.counts());
        // A client of its own: the storm's many sessions may have evicted an idle one.
        let observer = checker(server)?;
        let before = driver.check_all(&observer)?;
        progress("recovery round", driver.counts());
        driver.recover()?;
        progress("checking every user again", driver.counts());
        let observer = checker(server)?;
        let after = driver.check_all(&observer)?;
        Ok((before, after))
    });
    driver.join(checked.is_err());
    let (before, after) = checked?;
    let check_seconds = checks_started.elapsed().as_secs_f64();
    Ok(driver.result(seconds, check_seconds, requests_started, before, after))
}

/// A new client for the checks, once it has its first answer (its session registered).
fn checker(server: &RecordServer) -> Result<Observer, EngineError> {
    let observer = Observer::connect(server.address(), CHECK_READ_TIMEOUT)?;
    wait_for_first_answer(&observer)?;
    Ok(observer)
}

/// Waits (bounded) for a fresh server's first answer, so no request of the storm pays for
/// the cluster's start.
fn wait_for_first_answer(observer: &Observer) -> Result<(), EngineError> {
    let deadline = Instant::now() + supervisor::START_TIMEOUT;
    loop {
        match observer.block_on(observer.record().lookup(1)) {
            Ok(_) => return Ok(()),
            Err(error) if Instant::now() >= deadline => return Err(error.into()),
            Err(_) => {}
        }
    }
}

/// The storm in progress: its worker threads and what they share.
struct Driver {
    plan: StormPlan,
    shared: Arc<Shared>,
    launches: Vec<LaneLaunch>,
    threads: Vec<JoinHandle<()>>,
    windows: BTreeMap<String, u64>,
    faulted_requests: u64,
    resident_max: Resident,
    locks: Vec<ReferenceLock>,
}

impl Driver {
    /// Sets up what the threads share and every lane's launch, then starts one thread
    /// per worker slot. (Long: the shared state's literal is most of it.)
    fn start(plan: &StormPlan, server: &RecordServer) -> Result<Driver, EngineError> {
        let lane_count = plan.lanes.len();
        let request_count = plan.schedule.request_count;
        let slots = plan.concurrency as usize;
        let shared = Arc::new(Shared {
            dispatch: Mutex::new(Dispatch {
                gate: 0,
                next: vec![0; lane_count],
                in_flight: vec![0; lane_count],
                counts: vec![LaneCounts::default(); lane_count],
                crashed: vec![vec![0; request_count.div_ceil(64) as usize]; lane_count],
                finished_at: vec![None; lane_count],
                incarnations: vec![0; lane_count],
                pids: vec![vec![0; slots]; lane_count],
                stage: Stage::Requests,
                record_restarts: 0,
                record_failed: false,
                ready_slots: 0,
                recovered_slots: 0,
                failure: None,
            }),
            changed: Condvar::new(),
            request_count,
        });
        let mut launches = Vec::with_capacity(lane_count);
        for (lane_index, lane) in plan.lanes.iter().enumerate() {
            let files = plan.layout.lane(*lane);
            std::fs::create_dir_all(files.directory()).map_err(|source| EngineError::Io {
                action: format!("creating {}", files.directory().display()),
                source,
            })?;
            launches.push(LaneLaunch {
                lane_index,
                batch: plan.batch,
                executable: plan.executable.clone(),
                options: WorkerOptions {
                    lane: *lane,
                    reference: files.reference(),
                    journal: files.journal(),
                    log: files.worker_log(),
                    record_address: server.address(),
                    ledger: lane.index() + 1,
                    seed: plan.schedule.seed,
                    incarnation: 0,
                    record_timeout: plan.record_timeout,
                    reader: false,
                },
                files,
            });
        }
        let mut driver = Driver {
            plan: plan.clone(),
            shared,
            launches,
            threads: Vec::new(),
            windows: BTreeMap::new(),
            faulted_requests: 0,
            resident_max: Resident::default(),
            locks: Vec::new(),
        };
        for launch in driver.launches.clone() {
            for slot in 0..slots {
                let (shared, launch) = (Arc::clone(&driver.shared), launch.clone());
                let schedule = plan.schedule;
                let thread = std::thread::Builder::new()
                    .name(format!("storm-{}-{slot}", launch.options.lane))
                    .spawn(move || {
                        if let Err(error) = drive_slot(&shared, &launch, slot, schedule) {
                            shared.fail(error.to_string());
                        }
                    })
                    .map_err(|source| EngineError::Io {
                        action: "starting a storm thread".to_string(),
                        source,
                    })?;
                driver.threads.push(thread);
            }
        }
        Ok(driver)
    }

    fn counts(&self) -> Vec<(Lane, LaneCounts)> {
        let dispatch = self.shared.lock();
        self.plan
            .lanes
            .iter()
            .copied()
            .zip(dispatch.counts.iter().cloned())
            .collect()
    }

    /// Opens the gate window by window: the requests before a fault window, then the
    /// fault, the window's requests, the heal; and so on to the last request.
    fn run(
        &mut self,
        server: &mut RecordServer,
        progress: &mut Tell<'_>,
    ) -> Result<(), EngineError> {
        let request_count = self.plan.schedule.request_count;
        let mut windows = self.plan.schedule.windows().peekable();
        let mut ticks = Ticks::new();
        loop {
            let gate = windows.peek().map_or(request_count, |window| window.start);
            self.drain_to(gate, "requests", server, progress, &mut ticks)?;
            let Some(window) = windows.next() else {
                return Ok(());
            };
            let applied = Instant::now();
            let phase = self.apply(window.fault, server)?;
            *self
                .windows
                .entry(fault_key(window.fault).to_string())
                .or_default() += 1;
            self.faulted_requests += window.end - window.start;
            // The store is healed however the window ends, a stop included.
            let drained = self.drain_to(window.end, phase, server, progress, &mut ticks);
            self.heal(window.fault, server, progress)?;
            tracing::info!(
                fault = window.fault.describe(),
                elapsed_ms = applied.elapsed().as_millis() as u64,
                "storm fault healed"
            );
            drained?;
        }
    }

    /// Lets every lane send its requests up to `gate` and waits until they have all
    /// ended. Each request is bounded by the worker's report timeouts; a worker thread
    /// that fails stops the storm.
    fn drain_to(
        &mut self,
        gate: u64,
        phase: &str,
        server: &RecordServer,
        progress: &mut Tell<'_>,
        ticks: &mut Ticks,
    ) -> Result<(), EngineError> {
        self.shared.lock().gate = gate;
        self.shared.changed.notify_all();
        loop {
            {
                let dispatch = self.shared.lock();
                if dispatch.failure.is_some() {
                    drop(dispatch);
                    return Err(self.shared.failure().expect("a failure"));
                }
                let drained = dispatch.next.iter().all(|next| *next == gate)
                    && dispatch.in_flight.iter().all(|count| *count == 0);
                if drained {
                    return Ok(());
                }
                let _ = self.shared.changed.wait_timeout(dispatch, TICK);
            }
            if self.plan.cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Io {
                    action: "the storm".to_string(),
                    source: std::io::Error::other("stopped before its end"),
                });
            }
            if self.threads.iter().any(JoinHandle::is_finished) {
                self.shared
                    .fail("a storm worker thread ended early".to_string());
            }
            if ticks.progress_due() {
                progress(phase, self.counts());
            }
            if ticks.sample_due() {
                self.sample_memory(server);
            }
        }
    }

    fn apply(
        &mut self,
        fault: Fault,
        server: &mut RecordServer,
    ) -> Result<&'static str, EngineError> {
        tracing::info!(fault = fault.describe(), "storm fault applied");
        Ok(match fault {
            Fault::RecordPaused => {
                self.shared.lock().record_failed = true;
                server.pause()?;
                "TigerBeetle paused (SIGSTOP)"
            }
            Fault::RecordKilled => {
                self.shared.lock().record_failed = true;
                server.kill()?;
                "TigerBeetle killed (SIGKILL)"
            }
            _ => {
                for launch in &self.launches {
                    self.locks
                        .push(ReferenceLock::acquire(&launch.files.reference())?);
                }
                "SQLite's write lock taken"
            }
        })
    }

    fn heal(
        &mut self,
        fault: Fault,
        server: &mut RecordServer,
        progress: &mut Tell<'_>,
    ) -> Result<(), EngineError> {
        self.shared.lock().record_failed = false;
        match fault {
            Fault::RecordPaused => server.resume()?,
            Fault::RecordKilled => {
                progress("TigerBeetle restarting", self.counts());
                server.start()?;
                self.shared.lock().record_restarts += 1;
            }
            _ => {
                for lock in self.locks.drain(..) {
                    lock.release();
                }
            }
        }
        Ok(())
    }

    fn sample_memory(&mut self, server: &RecordServer) {
        use crate::stores::process::resident_kib;
        let pids: Vec<u32> = self.shared.lock().pids.iter().flatten().copied().collect();
        let workers: Vec<u64> = pids.iter().filter_map(|pid| resident_kib(*pid)).collect();
        let max = &mut self.resident_max;
        max.controller_kib = max
            .controller_kib
            .max(resident_kib(std::process::id()).unwrap_or(0));
        max.workers_kib = max.workers_kib.max(workers.iter().sum());
        max.worker_count = max.worker_count.max(workers.len() as u64);
        let tigerbeetle = server.pid().and_then(resident_kib).unwrap_or(0);
        max.tigerbeetle_kib = max.tigerbeetle_kib.max(tigerbeetle);
    }

    /// Waits until every slot's first worker is ready, bounded by a worker's start
    /// timeout (they start side by side).
    fn wait_ready(&self) -> Result<(), EngineError> {
        let deadline = Instant::now() + WORKER_START_TIMEOUT + TICK;
        loop {
            if let Some(failure) = self.shared.failure() {
                return Err(failure);
            }
            let dispatch = self.shared.lock();
            if dispatch.ready_slots == self.threads.len() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(EngineError::Io {
                    action: "starting the storm's workers".to_string(),
                    source: std::io::Error::other(format!(
                        "not every worker was ready within {} s",
                        WORKER_START_TIMEOUT.as_secs()
                    )),
                });
            }
            let _ = self.shared.changed.wait_timeout(dispatch, TICK);
        }
    }

    /// Ends the worker threads (each ends its worker) and waits for them; with `abandon`,
    /// their workers are killed first.
    fn join(&mut self, abandon: bool) {
        self.shared.set_stage(Stage::Exit);
        if abandon {
            // A storm stopped early does not wait for requests in flight: SIGKILL their
            // workers, so each thread's next read ends at once (the thread reaps its own).
            let pids: Vec<u32> = self.shared.lock().pids.iter().flatten().copied().collect();
            for pid in pids.into_iter().filter(|pid| *pid != 0) {
                let _ = crate::stores::process::signal(pid, libc::SIGKILL);
            }
        }
        for thread in self.threads.drain(..) {
            // A thread that panicked has nothing more to say: its worker is reaped by
            // the drop of its handle during the unwinding.
            let _ = thread.join();
        }
    }

    /// One recovery round in every lane that has one, lanes side by side: the first
    /// worker of each resumes what the journal or the outbox still holds. Each worker
    /// thread passes the stage; bounded by the workers' report timeouts.
    fn recover(&mut self) -> Result<(), EngineError> {
        self.shared.set_stage(Stage::Recover);
        let thread_count = self.threads.len();
        loop {
            if let Some(failure) = self.shared.failure() {
                return Err(failure);
            }
            let dispatch = self.shared.lock();
            if dispatch.recovered_slots == thread_count {
                return Ok(());
            }
            let _ = self.shared.changed.wait_timeout(dispatch, TICK);
        }
    }

    /// Reads every lane's stores in full and judges every user.
    fn check_all(&self, observer: &Observer) -> Result<Vec<Anomalies>, EngineError> {
        let request_count = self.plan.schedule.request_count;
        // Every request makes at most a few accounts (a lane that draws a new id per
        // attempt makes one per attempt); more than this bound is an error, said so.
        let account_count_max = (request_count as usize + 1) * 4;
        let mut anomalies = Vec::new();
        for launch in &self.launches {
            let lane = launch.options.lane;
            let listing = observer.block_on(
                observer
                    .record()
                    .all_accounts_on_ledger(launch.options.ledger, account_count_max),
            );
            let observation = lane_observation(&launch.files, listing);
            let (rows, accounts) = match (observation.reference, observation.record) {
                (Ok(rows), Ok(accounts)) => (rows, accounts),
                (Err(reason), _) | (_, Err(reason)) => {
                    return Err(EngineError::Io {
                        action: format!("reading the {lane} lane's stores for the check"),
                        source: std::io::Error::other(reason),
                    });
                }
            };
            let drawn = self.shared.lock().counts[launch.lane_index].drawn.clone();
            let contents = check::LaneContents {
                drawn,
                rows,
                outbox: observation.outbox,
                journal: observation.journal,
                accounts: accounts
                    .into_iter()
                    .filter(|account| account.code == CODE_CUSTOMER)
                    .collect(),
            };
            let crashed = self.shared.lock().crashed[launch.lane_index].clone();
            let users = (0..request_count).map(Schedule::user);
            let was_crashed = |user: &str| {
                let index: u64 = user
                    .strip_prefix("user-")
                    .and_then(|digits| digits.parse().ok())
                    .unwrap_or(u64::MAX);
                index < request_count && crashed[(index / 64) as usize] & (1 << (index % 64)) != 0
            };
            anomalies.push(check::judge_lane(lane, users, contents, &was_crashed));
        }
        Ok(anomalies)
    }

    fn result(
        &self,
        seconds: f64,
        check_seconds: f64,
        requests_started: Instant,
        before: Vec<Anomalies>,
        after: Vec<Anomalies>,
    ) -> StormResult {
        let dispatch = self.shared.lock();
        let lanes = self
            .plan
            .lanes
            .iter()
            .enumerate()
            .zip(before.into_iter().zip(after))
            .map(|((lane_index, lane), (before_recovery, after_recovery))| {
                let lane_seconds = dispatch.finished_at[lane_index]
                    .map(|at| at.duration_since(requests_started).as_secs_f64())
                    .unwrap_or(seconds);
                let counts = dispatch.counts[lane_index].clone();
                LaneStorm {
                    lane: *lane,
                    requests_per_second: counts.requests as f64 / lane_seconds.max(f64::EPSILON),
                    counts,
                    seconds: lane_seconds,
                    before_recovery,
                    after_recovery,
                }
            })
            .collect();
        StormResult {
            request_count: self.plan.schedule.request_count,
            concurrency: self.plan.concurrency,
            batch: self.plan.batch,
            seed: self.plan.schedule.seed,
            crashes_scheduled: self.plan.schedule.crash_count(),
            fault_windows: self.windows.clone(),
            faulted_requests: self.faulted_requests,
            seconds,
            check_seconds,
            lanes,
            resident_max: self.resident_max,
        }
    }
}

/// One worker slot of a lane: takes the lane's next batch, runs it free (holding only
/// at a scheduled crash point, where the worker is SIGKILLed and replaced by a new one
/// that first recovers what it left), until every request has ended; then, for the first
/// slot of a lane, the final recovery round; then it ends its worker.
fn drive_slot(
    shared: &Shared,
    launch: &LaneLaunch,
    slot: usize,
    schedule: Schedule,
) -> Result<(), EngineError> {
    let mut process = launch.spawn(shared, slot)?;
    shared.lock().ready_slots += 1;
    shared.changed.notify_all();
    let mut restarts_seen = 0;
    let mut client_suspect = false;
    while let Some(ticket) = shared.take(launch.lane_index, launch.batch, &schedule) {
        let fresh_client = ticket.record_restarts != restarts_seen || client_suspect;
        restarts_seen = ticket.record_restarts;
        let (command, users) = batch_command(launch.batch, &ticket, &schedule, fresh_client);
        let mut counts = LaneCounts {
            requests: ticket.end - ticket.start,
            ..LaneCounts::default()
        };
        let sent = Instant::now();
        process.send(&command)?;
        let (held, record_unanswered) = read_request(&mut process, users, &mut counts)?;
        let answered_ms = sent.elapsed().as_millis() as u64;
        // A TigerBeetle request unanswered while no fault was made: the client has one
        // request in flight at a time, and the next ones would queue behind this one, so
        // the next request starts on a new client. (Not during a fault window: there,
        // every request is unanswered by design and the queue drains on the heal.)
        client_suspect = record_unanswered && !ticket.record_failed;
        if held {
            // The crash: SIGKILL where it holds, then a new worker on the same files.
            process.kill();
            counts.kills += 1;
            process = launch.spawn(shared, slot)?;
            recover_with(&mut process, launch, shared.request_count, &mut counts)?;
        }
        tracing::debug!(
            lane = %launch.options.lane,
            slot,
            requests = ?(ticket.start..ticket.end),
            answered_ms,
            ended_ms = sent.elapsed().as_millis() as u64,
            held,
            record_unanswered,
            "storm batch ended"
        );
        shared.ended(launch.lane_index, ticket.start..ticket.end, &counts);
    }
    if shared.wait_for_stage(Stage::Recover) == Stage::Recover {
        let mut counts = LaneCounts::default();
        if slot == 0 {
            recover_with(&mut process, launch, shared.request_count, &mut counts)?;
        }
        let mut dispatch = shared.lock();
        dispatch.counts[launch.lane_index].add(&counts);
        dispatch.recovered_slots += 1;
        drop(dispatch);
        shared.changed.notify_all();
    }
    shared.wait_for_stage(Stage::Exit);
    // Dropping the worker here, in the thread that started it, kills and reaps it.
    drop(process);
    Ok(())
}

/// The command for a ticket's requests, and their users: with batches of 1, each
/// request on its own (`free`); else one `free-batch`, holding where the crash scheduled
/// for its last request is (a batch ends at such a request).
fn batch_command(
    batch: u32,
    ticket: &Ticket,
    schedule: &Schedule,
    fresh_client: bool,
) -> (Command, Vec<String>) {
    let users: Vec<String> = (ticket.start..ticket.end).map(Schedule::user).collect();
    let hold_at = schedule.crash_at(ticket.end - 1);
    let command = if batch == 1 {
        Command::Free {
            request: Box::new(Command::Create {
                user: users[0].clone(),
                name: Schedule::name(ticket.start),
                order: None,
                key: None,
            }),
            hold_at,
            fresh_client,
        }
    } else {
        Command::FreeBatch {
            requests: (ticket.start..ticket.end)
                .map(|index| BatchRequest {
                    user: Schedule::user(index),
                    name: Schedule::name(index),
                })
                .collect(),
            hold_at,
            fresh_client,
        }
    };
    (command, users)
}

/// A recovery round on `process`, in a lane that has one (bounded by the reports it may
/// send), counting what it finished.
fn recover_with(
    process: &mut WorkerProcess,
    launch: &LaneLaunch,
    request_count: u64,
    counts: &mut LaneCounts,
) -> Result<(), EngineError> {
    if launch.options.lane.recovery() == Recovery::None {
        return Ok(());
    }
    let recover = Command::Free {
        request: Box::new(Command::Recover),
        hold_at: None,
        fresh_client: false,
    };
    process.send(&recover)?;
    let report_count_max =
        request_count * RECOVERY_REPORTS_PER_REQUEST + REQUEST_REPORT_COUNT_MAX as u64;
    read_to_idle(process, report_count_max, counts)
}

/// Reads a command's reports to its end; returns whether the worker holds (at its
/// scheduled crash point), and whether a TigerBeetle write went unanswered. What the
/// callers of `users` heard is counted in `counts`: those who heard nothing when the
/// worker holds were caught by the crash.
fn read_request(
    process: &mut WorkerProcess,
    users: Vec<String>,
    counts: &mut LaneCounts,
) -> Result<(bool, bool), EngineError> {
    let mut unheard: std::collections::BTreeSet<String> = users.into_iter().collect();
    let mut unanswered = false;
    let report_count_max = REQUEST_REPORT_COUNT_MAX * unheard.len().max(1);
    for _report_index in 0..report_count_max {
        match process.next_report(REPORT_TIMEOUT)? {
            Report::Hold { .. } => {
                counts.crashed += unheard.len() as u64;
                return Ok((true, unanswered));
            }
            Report::Wrote {
                store: Store::Record,
                outcome: WriteOutcome::Unknown(_),
                ..
            } => unanswered = true,
            Report::Finished { user, result } => {
                if unheard.remove(&user) {
                    counts.heard(&result);
                } else {
                    counts.recovered += 1;
                }
            }
            Report::Alert { violation, .. } => *counts.alerts.entry(violation).or_default() += 1,
            Report::Error { text } => {
                tracing::warn!(lane = %process.lane(), %text, "storm worker error");
                counts.worker_errors += 1;
            }
            Report::Idle => {
                // The worker could not carry these requests out: nothing was heard but
                // its error, and no write is known to have applied.
                counts.failed += unheard.len() as u64;
                return Ok((false, unanswered));
            }
            Report::Drew { user, guid } => counts.drew(user, &guid),
            Report::Ready { .. }
            | Report::Wrote { .. }
            | Report::Note { .. }
            | Report::Answered { .. } => {}
        }
    }
    Err(report_limit(process, report_count_max as u64))
}

/// Reads a recovery round's reports to its end, counting the requests it finished.
fn read_to_idle(
    process: &mut WorkerProcess,
    report_count_max: u64,
    counts: &mut LaneCounts,
) -> Result<(), EngineError> {
    for _report_index in 0..report_count_max {
        match process.next_report(REPORT_TIMEOUT)? {
            Report::Finished { .. } => counts.recovered += 1,
            Report::Alert { violation, .. } => *counts.alerts.entry(violation).or_default() += 1,
            Report::Error { text } => {
                tracing::warn!(lane = %process.lane(), %text, "storm recovery error");
                counts.worker_errors += 1;
            }
            Report::Idle => return Ok(()),
            Report::Drew { user, guid } => counts.drew(user, &guid),
            Report::Hold { .. }
            | Report::Ready { .. }
            | Report::Wrote { .. }
            | Report::Note { .. }
            | Report::Answered { .. } => {}
        }
    }
    Err(report_limit(process, report_count_max))
}

/// When the controller last told the face, and last sampled memory.
struct Ticks {
    progress: Instant,
    sample: Instant,
}

impl Ticks {
    fn new() -> Ticks {
        Ticks {
            progress: Instant::now(),
            sample: Instant::now(),
        }
    }

    fn progress_due(&mut self) -> bool {
        due(&mut self.progress, TICK)
    }

    fn sample_due(&mut self) -> bool {
        due(&mut self.sample, MEMORY_SAMPLE_INTERVAL)
    }
}

fn due(last: &mut Instant, interval: Duration) -> bool {
    if last.elapsed() < interval {
        return false;
    }
    *last = Instant::now();
    true
}

/// The name of a storm's fault in its report.
pub(crate) fn fault_key(fault: Fault) -> &'static str {
    match fault {
        Fault::ReferenceLocked => "sqlite-locked",
        Fault::RecordPaused => "tigerbeetle-paused",
        Fault::RecordKilled => "tigerbeetle-killed",
        other => other.describe(),
    }
}

fn report_limit(process: &WorkerProcess, limit: u64) -> EngineError {
    EngineError::Io {
        action: format!("the {} worker", process.lane()),
        source: std::io::Error::other(format!("sent more than {limit} reports for one command")),
    }
}
