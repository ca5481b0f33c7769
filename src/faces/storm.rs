//! `cabaret storm`: many account creations in every lane at once, with crashes and store
//! faults at random (seeded, so a storm replays), then a recovery round; per-lane counts
//! of what callers heard and of the anomalies the real stores show, with throughput.
//! The storm runs on the engine's free-running path (`engine::storm`).

use crate::domain::lane::Lane;
use crate::domain::text::counted;
use crate::domain::verdict::ViolationKind;
use crate::engine::EngineError;
use crate::engine::layout::RunLayout;
use crate::engine::storm::{
    self as engine_storm, Anomalies, BATCH_MAX, CONCURRENCY_MAX, LaneStorm, REQUEST_COUNT_MAX,
    Schedule, StormPlan, StormProgress, StormResult, StormSink,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// The default number of worker processes per lane.
pub const DEFAULT_CONCURRENCY: u32 = 1;
/// The default batch: a fault window's requests (10) fit in one, so a window costs one
/// TigerBeetle timeout, not ten; a larger batch gains less and loses more to a crash.
pub const DEFAULT_BATCH: u32 = 10;
/// Plain progress lines (off a terminal) come at most this often.
const PLAIN_PROGRESS_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct StormOptions {
    /// The storm's run folder.
    pub layout: RunLayout,
    pub lanes: Vec<Lane>,
    pub request_count: u64,
    pub concurrency: u32,
    /// The most requests a worker runs as one batch (group commit; 1: one at a time).
    pub batch: u32,
    /// The chance, per request, of a crash at a random crash point.
    pub crash_rate: f64,
    /// The share of requests sent while a store is failed.
    pub fault_rate: f64,
    pub seed: u64,
}

/// Every bad value among the storm's options, one sentence each (empty when all are good).
pub fn problems(
    request_count: u64,
    concurrency: u32,
    batch: u32,
    crash_rate: f64,
    fault_rate: f64,
) -> Vec<String> {
    let mut problems = Vec::new();
    if !(1..=REQUEST_COUNT_MAX).contains(&request_count) {
        problems.push(format!(
            "--requests {request_count} is out of range: it must be 1 to {REQUEST_COUNT_MAX} (requests per lane)"
        ));
    }
    if !(1..=CONCURRENCY_MAX).contains(&concurrency) {
        problems.push(format!(
            "--concurrency {concurrency} is out of range: it must be 1 to {CONCURRENCY_MAX} (worker processes per lane)"
        ));
    }
    if !(1..=BATCH_MAX).contains(&batch) {
        problems.push(format!(
            "--batch {batch} is out of range: it must be 1 to {BATCH_MAX} (requests a worker runs as one batch)"
        ));
    }
    for (flag, rate) in [("--crash-rate", crash_rate), ("--fault-rate", fault_rate)] {
        if !(0.0..=1.0).contains(&rate) {
            problems.push(format!(
                "{flag} {rate} is out of range: it must be a chance from 0 to 1, like 0.05"
            ));
        }
    }
    problems
}

/// The most worker processes a storm runs in all its lanes together. TigerBeetle keeps
/// 64 sessions and, here, accepts 64 client connections; the rest is left to the
/// controller's own clients and to replacement workers starting while a dead one's
/// connection closes. Past it, live workers could be evicted or fail to connect.
pub(crate) const WORKER_COUNT_MAX: usize = 56;

/// One sentence when `lane_count` lanes of `concurrency` workers are more TigerBeetle
/// clients than the server can keep.
pub fn client_problem(lane_count: usize, concurrency: u32) -> Option<String> {
    let worker_count = lane_count * concurrency as usize;
    // A --concurrency out of its own range has its own sentence already.
    let in_range = (1..=CONCURRENCY_MAX).contains(&concurrency);
    (in_range && worker_count > WORKER_COUNT_MAX).then(|| {
        format!(
            "--concurrency {concurrency} in {lane_count} lanes is {worker_count} worker processes, \
             more than the {WORKER_COUNT_MAX} TigerBeetle clients a storm may run (the server keeps \
             64 sessions): use --concurrency {} or fewer, or fewer --lanes",
            WORKER_COUNT_MAX / lane_count.max(1)
        )
    })
}

impl StormOptions {
    pub(crate) fn schedule(&self) -> Schedule {
        Schedule {
            seed: self.seed,
            request_count: self.request_count,
            crash_rate: self.crash_rate,
            fault_rate: self.fault_rate,
        }
    }
}

/// Runs the storm in a fresh run folder, telling `sink` how far it is.
pub fn storm(options: &StormOptions, sink: Option<StormSink>) -> Result<StormResult, EngineError> {
    storm_until(options, sink, Arc::new(AtomicBool::new(false)))
}

/// The same, stopping early once `cancel` is set.
pub(crate) fn storm_until(
    options: &StormOptions,
    sink: Option<StormSink>,
    cancel: Arc<AtomicBool>,
) -> Result<StormResult, EngineError> {
    options.layout.reset()?;
    let plan = StormPlan::new(
        options.layout.clone(),
        options.lanes.clone(),
        options.schedule(),
        options.concurrency,
        options.batch,
    )?;
    let plan = StormPlan { cancel, ..plan };
    engine_storm::storm(&plan, sink)
}

/// A progress bar on a terminal (drawn on `terminal`, the real stderr).
pub fn bar_sink(terminal: std::fs::File) -> StormSink {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let term = console::Term::read_write_pair(std::io::stdin(), terminal);
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::term(term, 10));
    let style = ProgressStyle::with_template(
        "{elapsed:>4} [{bar:30}] {pos}/{len} requests per lane  {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    Box::new(move |progress: &StormProgress| {
        bar.set_length(progress.request_count);
        bar.set_position(slowest(progress));
        bar.set_message(progress.phase.clone());
        if progress.phase.starts_with("checking every user again") {
            bar.finish_and_clear();
        }
    })
}

/// Plain lines off a terminal: one every few seconds and one per change of phase.
pub fn plain_sink(mut output: Box<dyn Write + Send>) -> StormSink {
    let mut last: Option<(std::time::Instant, String)> = None;
    Box::new(move |progress: &StormProgress| {
        let due = match &last {
            None => true,
            Some((at, phase)) => {
                *phase != progress.phase || at.elapsed() >= PLAIN_PROGRESS_INTERVAL
            }
        };
        if !due {
            return;
        }
        last = Some((std::time::Instant::now(), progress.phase.clone()));
        let _ = writeln!(
            output,
            "storm: {:.1} s, {} of {} requests per lane ended; {}",
            progress.elapsed.as_secs_f64(),
            slowest(progress),
            progress.request_count,
            progress.phase
        );
    })
}

/// The requests ended in the slowest lane.
fn slowest(progress: &StormProgress) -> u64 {
    progress
        .lanes
        .iter()
        .map(|(_, counts)| counts.requests)
        .min()
        .unwrap_or(0)
}

/// The storm's table: what callers heard per lane, then the anomalies per lane. (Long:
/// the table's columns are spelled out once, in the order they are printed.)
pub fn storm_text(result: &StormResult) -> String {
    let mut text = String::new();
    let windows: Vec<String> = result
        .fault_windows
        .iter()
        .map(|(fault, count)| format!("{count} {fault}"))
        .collect();
    let _ = writeln!(
        text,
        "{} requests in each of {}, {} per lane, batches of up to {}, seed {}",
        result.request_count,
        counted(result.lanes.len() as u64, "lane", "lanes"),
        counted(
            u64::from(result.concurrency),
            "worker process",
            "worker processes"
        ),
        result.batch,
        result.seed
    );
    if result.batch > 1 {
        let _ = writeln!(
            text,
            "group commit: a worker writes each store once per batch; a crash catches its whole batch (\"crashed\" counts its requests, \"kills\" the SIGKILLs)"
        );
    }
    let _ = writeln!(
        text,
        "{} crashes scheduled (a SIGKILL where the lane reaches the point); fault windows: {} ({} requests per lane sent while a store was failed)",
        result.crashes_scheduled,
        if windows.is_empty() {
            "none".to_string()
        } else {
            windows.join(", ")
        },
        result.faulted_requests
    );
    let _ = writeln!(
        text,
        "requests: {:.1} s; recovery round and both checks of every user: {:.1} s",
        result.seconds, result.check_seconds
    );
    let resident = &result.resident_max;
    let _ = writeln!(
        text,
        "most resident memory seen: this program {} MiB, {} {} MiB together, TigerBeetle {} MiB\n",
        resident.controller_kib / 1024,
        counted(resident.worker_count, "worker", "workers"),
        resident.workers_kib / 1024,
        resident.tigerbeetle_kib / 1024
    );
    let _ = writeln!(
        text,
        "{:<24} {:>8} {:>8} {:>8} {:>8} {:>7} {:>10} {:>8} {:>8} {:>6} {:>9} {:>7} {:>9}",
        "lane",
        "requests",
        "created",
        "pending",
        "rejected",
        "failed",
        "incomplete",
        "unknown",
        "crashed",
        "kills",
        "recovered",
        "time s",
        "request/s"
    );
    for lane in &result.lanes {
        let counts = &lane.counts;
        let _ = writeln!(
            text,
            "{:<24} {:>8} {:>8} {:>8} {:>8} {:>7} {:>10} {:>8} {:>8} {:>6} {:>9} {:>7.1} {:>9.1}",
            lane.lane.name(),
            counts.requests,
            counts.created,
            counts.pending,
            counts.rejected,
            counts.failed,
            counts.incomplete,
            counts.unknown,
            counts.crashed,
            counts.kills,
            counts.recovered,
            lane.seconds,
            lane.requests_per_second
        );
    }
    let _ = writeln!(
        text,
        "\nsafety violations, every user checked in the real stores (before the recovery round -> after it):"
    );
    anomaly_lines(&mut text, &result.lanes, |anomalies| &anomalies.errors);
    let _ = writeln!(
        text,
        "\nwarnings (liveness, or harmless: nothing wrong is answered) and alerts raised:"
    );
    for lane in &result.lanes {
        let mut cells = pairs(
            &lane.before_recovery.warnings,
            &lane.after_recovery.warnings,
        );
        cells.extend(
            lane.counts
                .alerts
                .iter()
                .map(|(kind, count)| format!("{kind} alerts {count}")),
        );
        let _ = writeln!(text, "{:<24} {}", lane.lane.name(), or_none(cells));
    }
    text
}

fn anomaly_lines(
    text: &mut String,
    lanes: &[LaneStorm],
    pick: impl Fn(&Anomalies) -> &BTreeMap<ViolationKind, u64>,
) {
    for lane in lanes {
        let cells = pairs(pick(&lane.before_recovery), pick(&lane.after_recovery));
        let _ = writeln!(text, "{:<24} {}", lane.lane.name(), or_none(cells));
    }
}

/// "kind before -> after" for every kind in either.
fn pairs(
    before: &BTreeMap<ViolationKind, u64>,
    after: &BTreeMap<ViolationKind, u64>,
) -> Vec<String> {
    let mut kinds: Vec<ViolationKind> = before.keys().chain(after.keys()).copied().collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
        .into_iter()
        .map(|kind| {
            let (was, is) = (
                before.get(&kind).copied().unwrap_or(0),
                after.get(&kind).copied().unwrap_or(0),
            );
            format!("{kind} {was} -> {is}")
        })
        .collect()
}

fn or_none(cells: Vec<String>) -> String {
    if cells.is_empty() {
        "none".to_string()
    } else {
        cells.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_workers_than_the_server_keeps_sessions_for_is_refused() {
        assert_eq!(client_problem(7, 8), None);
        assert_eq!(client_problem(1, CONCURRENCY_MAX), None);
        let refused = client_problem(7, 9).expect("63 workers are too many");
        assert!(
            refused.starts_with("--concurrency 9 in 7 lanes is 63 worker processes"),
            "{refused}"
        );
        assert!(refused.ends_with("use --concurrency 8 or fewer, or fewer --lanes"));
    }

    #[test]
    fn each_bad_value_gets_its_own_sentence() {
        assert!(problems(100, 4, 10, 0.2, 0.05).is_empty());
        let all = problems(0, 0, 0, 1.5, -0.1);
        assert_eq!(all.len(), 5, "{all:?}");
        assert!(all[0].starts_with("--requests 0 is out of range"));
        assert!(all[1].starts_with("--concurrency 0 is out of range"));
        assert!(all[2].starts_with("--batch 0 is out of range: it must be 1 to 100"));
        assert!(all[3].starts_with("--crash-rate 1.5"));
        assert!(all[4].starts_with("--fault-rate -0.1"));
        let too_many = problems(
            REQUEST_COUNT_MAX + 1,
            CONCURRENCY_MAX + 1,
            BATCH_MAX + 1,
            0.0,
            1.0,
        );
        assert_eq!(too_many.len(), 3, "{too_many:?}");
        assert!(problems(1, 1, 1, f64::NAN, 0.0)[0].starts_with("--crash-rate NaN"));
    }
}
