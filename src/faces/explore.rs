//! `cabaret explore`: every crash point and every store fault against every lane, on the
//! real stores, sharing one TigerBeetle server (each case on ledgers of its own), and a
//! matrix of which properties each lane broke.

use crate::domain::lane::{HoldPoint, Lane};
use crate::domain::scenario::{Action, Fault, Scenario, Step, StoreName};
use crate::domain::verdict::{Severity, ViolationKind};
use crate::engine::layout::RunLayout;
use crate::engine::{EngineError, Run, RunOptions};
use crate::stores::supervisor::{RecordServer, ServerState};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One fault case: a name and its steps.
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) steps: Vec<Action>,
}

fn create(crash: Option<HoldPoint>) -> Action {
    Action::Create {
        user: "alice".to_string(),
        name: "Alice".to_string(),
        crash,
        order: None,
        callers: 1,
        key: None,
    }
}

/// Each case's lanes take ledgers of their own, `LEDGER_STRIDE` apart, on the one server.
const LEDGER_STRIDE: u32 = 100;
/// How long the stores are left alone after a case's faults, before recovery.
pub(crate) const SETTLE_SECONDS: f64 = 0.5;

fn settle() -> Vec<Action> {
    vec![
        Action::Wait {
            seconds: SETTLE_SECONDS,
        },
        Action::Restart,
        Action::Recover,
        Action::Read {
            user: "alice".to_string(),
        },
    ]
}

/// Every case explore runs: the crash points, then the store faults.
pub(crate) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for point in HoldPoint::CRASH_POINTS {
        let mut steps = Vec::new();
        if point == HoldPoint::RecordInFlight {
            // Paused, the server cannot answer before the crash: the request is surely in
            // flight when the worker dies. Whether it lands once the server resumes is in
            // doubt (a request of a terminated client may take effect later, or never).
            steps.push(Action::Fail(Fault::RecordPaused));
            steps.push(create(Some(point)));
            steps.push(Action::Heal(StoreName::Record));
        } else {
            steps.push(create(Some(point)));
        }
        steps.extend(settle());
        cases.push(Case {
            name: format!("crash {}", point.name()),
            steps,
        });
    }
    let faults = [
        (
            "sqlite locked",
            Fault::ReferenceLocked,
            StoreName::Reference,
        ),
        (
            "sqlite read-only",
            Fault::ReferenceReadOnly,
            StoreName::Reference,
        ),
        ("tigerbeetle paused", Fault::RecordPaused, StoreName::Record),
        ("tigerbeetle killed", Fault::RecordKilled, StoreName::Record),
    ];
    for (name, fault, store) in faults {
        let mut steps = vec![Action::Fail(fault), create(None), Action::Heal(store)];
        steps.extend(settle());
        cases.push(Case {
            name: name.to_string(),
            steps,
        });
    }
    cases
}

/// What one lane showed in one case.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CaseResult {
    pub(crate) case: String,
    /// Every violation seen at any step, with its worst severity.
    pub(crate) seen: BTreeMap<ViolationKind, Severity>,
    /// The violations still present once the case's recovery ran.
    pub(crate) at_end: Vec<ViolationKind>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Exploration {
    pub(crate) cases: Vec<String>,
    pub(crate) lanes: BTreeMap<Lane, Vec<CaseResult>>,
}

impl Exploration {}

/// The scenario of one case: its steps, no narration and no expectations.
fn case_scenario(case_index: usize, case: &Case, lanes: &[Lane], seed: u64) -> Scenario {
    Scenario {
        path: PathBuf::from(format!("case-{case_index}.toml")),
        title: case.name.clone(),
        summary: String::new(),
        seed,
        lanes: lanes.to_vec(),
        replicas: 1,
        bank_funds: None,
        steps: case
            .steps
            .iter()
            .map(|action| Step {
                action: action.clone(),
                narration: String::new(),
                expect: BTreeMap::new(),
            })
            .collect(),
        expect: BTreeMap::new(),
    }
}

/// Runs every case against `lanes`.
pub fn explore(layout: RunLayout, lanes: &[Lane], seed: u64) -> Result<Exploration, EngineError> {
    layout.reset()?;
    let mut server: Option<RecordServer> = None;
    let mut exploration = Exploration {
        cases: Vec::new(),
        lanes: BTreeMap::new(),
    };
    for (case_index, case) in cases().into_iter().enumerate() {
        let scenario = case_scenario(case_index, &case, lanes, seed);
        let mut options = RunOptions::new(layout.nested(&format!("case-{case_index}")))?;
        options.ledger_base = (case_index as u32 + 1) * LEDGER_STRIDE;
        let mut run = Run::start(scenario, options, server.take(), None)?;
        let mut at_end = BTreeMap::new();
        while !run.is_finished() {
            let report = run.step()?;
            for lane_report in &report.lanes {
                at_end.insert(
                    lane_report.lane,
                    lane_report
                        .violations
                        .iter()
                        .map(|violation| violation.kind)
                        .collect::<Vec<_>>(),
                );
            }
        }
        let summary = run.summary();
        for lane_summary in summary.lanes {
            let mut final_kinds = at_end.remove(&lane_summary.lane).unwrap_or_default();
            final_kinds.sort_unstable();
            final_kinds.dedup();
            exploration
                .lanes
                .entry(lane_summary.lane)
                .or_default()
                .push(CaseResult {
                    case: case.name.clone(),
                    seen: lane_summary.seen.into_iter().collect(),
                    at_end: final_kinds,
                });
        }
        exploration.cases.push(case.name);
        let mut shared = run.into_server();
        if shared.state() == ServerState::Paused {
            shared.resume()?;
        }
        if shared.state() == ServerState::Down {
            shared.start()?;
        }
        server = Some(shared);
    }
    if let Some(server) = server {
        server.destroy()?;
    }
    Ok(exploration)
}

/// The matrix as text: for each lane and property, in how many cases it broke.
pub fn matrix_text(exploration: &Exploration) -> String {
    use std::fmt::Write;
    let kinds = ViolationKind::ALL;
    let mut text = String::new();
    let _ = writeln!(text, "Cases: {}", exploration.cases.join("; "));
    let _ = writeln!(
        text,
        "Each cell: in how many of the {} cases the lane showed it (E error, A alert, w warning only); '.' never.\n",
        exploration.cases.len()
    );
    let _ = write!(text, "{:<24}", "lane");
    for kind in kinds {
        let _ = write!(text, " {:>19}", kind.name());
    }
    text.push('\n');
    for (lane, results) in &exploration.lanes {
        let _ = write!(text, "{:<24}", lane.name());
        for kind in kinds {
            let count = results
                .iter()
                .filter(|result| result.seen.contains_key(&kind))
                .count();
            let worst = results
                .iter()
                .filter_map(|result| result.seen.get(&kind))
                .max();
            let cell = match worst {
                None => ".".to_string(),
                Some(Severity::Error) => format!("E {count}"),
                Some(Severity::Alert) => format!("A {count}"),
                Some(Severity::Warning) => format!("w {count}"),
            };
            let _ = write!(text, " {cell:>19}");
        }
        text.push('\n');
    }
    text.push_str("\nWhere each lane broke a promise (error level):\n");
    for (lane, results) in &exploration.lanes {
        for result in results {
            let broken: Vec<&str> = result
                .seen
                .iter()
                .filter(|(_, severity)| **severity == Severity::Error)
                .map(|(kind, _)| kind.name())
                .collect();
            if !broken.is_empty() {
                let _ = writeln!(
                    text,
                    "  {:<24} {:<22} {}",
                    lane.name(),
                    result.case,
                    broken.join(", ")
                );
            }
        }
    }
    text
}
