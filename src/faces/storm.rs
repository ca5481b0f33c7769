//! `cabaret storm`: many account creations in every lane at once, with crashes and store
//! faults injected at random (seeded, so a storm replays), then recovery; per-lane counts
//! of anomalies from the real stores, plus throughput.

use crate::domain::lane::{HoldPoint, Lane};
use crate::domain::scenario::{Action, Fault, Scenario, Step, StoreName};
use crate::domain::verdict::{Severity, ViolationKind};
use crate::engine::layout::RunLayout;
use crate::engine::{EngineError, Run, RunOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct StormOptions {
    /// The storm's run folder.
    pub layout: RunLayout,
    pub lanes: Vec<Lane>,
    pub request_count: usize,
    /// The chance, per request, of a crash at a random crash point.
    pub crash_rate: f64,
    /// The chance, per request, of a store fault around it.
    pub fault_rate: f64,
    pub seed: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct LaneStorm {
    /// Violations at the end, after recovery: how many of each.
    pub at_end: BTreeMap<ViolationKind, usize>,
    /// Error-level violations seen at any step (how many steps showed each).
    pub steps_with: BTreeMap<ViolationKind, usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StormReport {
    pub request_count: usize,
    pub crash_count: usize,
    pub fault_count: usize,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub lanes: BTreeMap<Lane, LaneStorm>,
}

/// The storm as a scenario: the same engine, the same faults, the same verdicts.
pub fn storm_scenario(options: &StormOptions) -> (Scenario, usize, usize) {
    let mut random = ChaCha8Rng::seed_from_u64(options.seed);
    let mut steps = Vec::new();
    let (mut crash_count, mut fault_count) = (0, 0);
    let step = |action| Step {
        action,
        narration: String::new(),
        expect: BTreeMap::new(),
    };
    for request_index in 0..options.request_count {
        let fault = random
            .gen_bool(options.fault_rate)
            .then(|| match random.gen_range(0..3) {
                0 => (Fault::ReferenceLocked, StoreName::Reference),
                1 => (Fault::RecordPaused, StoreName::Record),
                _ => (Fault::RecordKilled, StoreName::Record),
            });
        let crash = random
            .gen_bool(options.crash_rate)
            .then(|| HoldPoint::CRASH_POINTS[random.gen_range(0..HoldPoint::CRASH_POINTS.len())]);
        if let Some((fault, _)) = fault {
            fault_count += 1;
            steps.push(step(Action::Fail(fault)));
        }
        steps.push(step(Action::Create {
            user: format!("user-{request_index:04}"),
            name: format!("User {request_index}"),
            crash,
            order: None,
            callers: 1,
        }));
        if let Some((_, store)) = fault {
            steps.push(step(Action::Heal(store)));
        }
        if crash.is_some() {
            crash_count += 1;
            steps.push(step(Action::Restart));
        }
    }
    steps.push(step(Action::Wait {
        seconds: crate::faces::explore::SETTLE_SECONDS,
    }));
    steps.push(step(Action::Restart));
    steps.push(step(Action::Recover));
    let scenario = Scenario {
        path: PathBuf::from("storm.toml"),
        title: format!("Storm of {} requests", options.request_count),
        summary: String::new(),
        seed: options.seed,
        lanes: options.lanes.clone(),
        replicas: 1,
        steps,
        expect: BTreeMap::new(),
    };
    (scenario, crash_count, fault_count)
}

pub fn storm(options: &StormOptions) -> Result<StormReport, EngineError> {
    options.layout.reset()?;
    let (scenario, crash_count, fault_count) = storm_scenario(options);
    let run_options = RunOptions::new(options.layout.clone())?;
    let mut run = Run::start(scenario, run_options, None, None)?;
    let mut lanes: BTreeMap<Lane, LaneStorm> = BTreeMap::new();
    let started = Instant::now();
    while !run.is_finished() {
        let report = run.step()?;
        for lane_report in &report.lanes {
            let lane = lanes.entry(lane_report.lane).or_insert_with(|| LaneStorm {
                at_end: BTreeMap::new(),
                steps_with: BTreeMap::new(),
            });
            lane.at_end.clear();
            let mut kinds: Vec<ViolationKind> = Vec::new();
            for violation in &lane_report.violations {
                *lane.at_end.entry(violation.kind).or_default() += 1;
                if violation.severity == Severity::Error && !kinds.contains(&violation.kind) {
                    kinds.push(violation.kind);
                }
            }
            for kind in kinds {
                *lane.steps_with.entry(kind).or_default() += 1;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    run.into_server().destroy()?;
    Ok(StormReport {
        request_count: options.request_count,
        crash_count,
        fault_count,
        seconds,
        requests_per_second: options.request_count as f64 / seconds.max(f64::EPSILON),
        lanes,
    })
}

pub fn storm_text(report: &StormReport) -> String {
    use std::fmt::Write;
    let mut text = format!(
        "{} requests in every lane, {} crashes, {} store faults: {:.1} s, {:.1} requests/s per lane\n\n",
        report.request_count,
        report.crash_count,
        report.fault_count,
        report.seconds,
        report.requests_per_second
    );
    let _ = writeln!(
        text,
        "{:<24} anomalies left after recovery (and steps that showed an error-level one)",
        "lane"
    );
    for (lane, storm) in &report.lanes {
        let mut cells: Vec<String> = storm
            .at_end
            .iter()
            .map(|(kind, count)| format!("{kind} {count}"))
            .collect();
        for (kind, steps) in &storm.steps_with {
            cells.push(format!("[{kind} in {steps} steps]"));
        }
        let cells = if cells.is_empty() {
            "none".to_string()
        } else {
            cells.join(", ")
        };
        let _ = writeln!(text, "{:<24} {cells}", lane.name());
    }
    text
}
