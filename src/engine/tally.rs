//! The run's tally: every violation each lane showed, with the worst severity it had,
//! and every expectation a step did not meet; at the end, each lane's verdict.

use super::report::{LaneSummary, RunSummary, StepReport};
use crate::domain::lane::Lane;
use crate::domain::scenario::Scenario;
use crate::domain::verdict::{Severity, Verdict, ViolationKind};
use std::collections::BTreeMap;

#[derive(Default)]
pub(crate) struct Tally {
    seen: BTreeMap<Lane, BTreeMap<ViolationKind, Severity>>,
    failures: Vec<String>,
}

impl Tally {
    /// Counts a finished step: its violations and its unmet expectations.
    pub(crate) fn add(&mut self, report: &StepReport) {
        self.failures.extend(report.failures.iter().cloned());
        for lane_report in &report.lanes {
            let seen = self.seen.entry(lane_report.lane).or_default();
            for violation in &lane_report.violations {
                let worst = seen.entry(violation.kind).or_insert(violation.severity);
                *worst = (*worst).max(violation.severity);
            }
        }
    }

    /// Each lane's verdict, and every unmet expectation (the final ones included).
    pub(crate) fn summary(&self, scenario: &Scenario, seed: u64) -> RunSummary {
        let lanes: Vec<LaneSummary> = scenario
            .lanes
            .iter()
            .map(|lane| {
                let seen: Vec<(ViolationKind, Severity)> = self
                    .seen
                    .get(lane)
                    .map(|seen| {
                        seen.iter()
                            .map(|(kind, severity)| (*kind, *severity))
                            .collect()
                    })
                    .unwrap_or_default();
                let broken = seen
                    .iter()
                    .any(|(_, severity)| *severity == Severity::Error);
                LaneSummary {
                    lane: *lane,
                    verdict: if broken {
                        Verdict::Broken
                    } else {
                        Verdict::Kept
                    },
                    seen,
                }
            })
            .collect();
        let mut failures = self.failures.clone();
        failures.extend(super::expect::check_final(scenario, &lanes));
        RunSummary {
            title: scenario.title.clone(),
            seed,
            passed: failures.is_empty(),
            lanes,
            failures,
        }
    }
}
