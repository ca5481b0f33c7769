//! The run's tally: every violation each lane showed, with the worst severity it had,
//! every expectation a step did not meet, and the steps a lane could not judge (a store
//! did not answer); at the end, each lane's verdict.

use super::report::{LaneSummary, RunSummary, StepReport};
use crate::domain::lane::Lane;
use crate::domain::scenario::Scenario;
use crate::domain::verdict::{Severity, Verdict, ViolationKind};
use std::collections::BTreeMap;

/// What the tally knows of one lane's steps that could not be judged.
#[derive(Clone, Copy, Default)]
struct Undetermined {
    /// How many steps could not judge the lane.
    step_count: usize,
    /// Whether the stores answered at the lane's last step: then that read judged
    /// everything the earlier steps could not (a violation stays in the stores).
    proven_since: bool,
}

#[derive(Default)]
pub(crate) struct Tally {
    seen: BTreeMap<Lane, BTreeMap<ViolationKind, Severity>>,
    undetermined: BTreeMap<Lane, Undetermined>,
    undetermined_steps: usize,
    failures: Vec<String>,
}

impl Tally {
    /// Counts a finished step: its violations, what it could not judge, and its unmet
    /// expectations.
    pub(crate) fn add(&mut self, report: &StepReport) {
        self.failures.extend(report.failures.iter().cloned());
        if report
            .lanes
            .iter()
            .any(|lane_report| !lane_report.undetermined.is_empty())
        {
            self.undetermined_steps += 1;
        }
        for lane_report in &report.lanes {
            let seen = self.seen.entry(lane_report.lane).or_default();
            for violation in &lane_report.violations {
                let worst = seen.entry(violation.kind).or_insert(violation.severity);
                *worst = (*worst).max(violation.severity);
            }
            let undetermined = self.undetermined.entry(lane_report.lane).or_default();
            if lane_report.undetermined.is_empty() {
                undetermined.proven_since = true;
            } else {
                undetermined.step_count += 1;
                undetermined.proven_since = false;
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
                let undetermined = self.undetermined.get(lane).copied().unwrap_or_default();
                LaneSummary {
                    lane: *lane,
                    verdict: lane_verdict(&seen, undetermined),
                    undetermined_steps: undetermined.step_count,
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
            undetermined_steps: self.undetermined_steps,
        }
    }
}

/// Broken if a safety promise was seen broken; kept only if every step judged it, or
/// the stores, read again once they answered, showed nothing broken.
fn lane_verdict(seen: &[(ViolationKind, Severity)], undetermined: Undetermined) -> Verdict {
    if seen
        .iter()
        .any(|(_, severity)| *severity == Severity::Error)
    {
        Verdict::Broken
    } else if undetermined.step_count > 0 && !undetermined.proven_since {
        Verdict::Undetermined
    } else {
        Verdict::Kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: no verdict on an unknown truth. Method: the pure verdict rule, on each case.
    #[test]
    fn a_lane_judged_on_an_unknown_truth_is_not_kept_until_proven() {
        let nothing_seen: Vec<(ViolationKind, Severity)> = Vec::new();
        let unproven = Undetermined {
            step_count: 2,
            proven_since: false,
        };
        let proven = Undetermined {
            step_count: 2,
            proven_since: true,
        };
        assert_eq!(lane_verdict(&nothing_seen, unproven), Verdict::Undetermined);
        assert_eq!(lane_verdict(&nothing_seen, proven), Verdict::Kept);
        assert_eq!(
            lane_verdict(&nothing_seen, Undetermined::default()),
            Verdict::Kept
        );
        let broken = [(ViolationKind::WrongAnswer, Severity::Error)];
        assert_eq!(lane_verdict(&broken, unproven), Verdict::Broken);
        let warned = [(ViolationKind::OrphanReference, Severity::Warning)];
        assert_eq!(lane_verdict(&warned, unproven), Verdict::Undetermined);
    }
}
