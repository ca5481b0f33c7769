//! Checking a scenario's expectations against what a step really produced.

use crate::report::{LaneSummary, StepReport};
use crate::scenario::{Scenario, Step};

/// Every expectation of `step` that `report` does not meet, one sentence each.
pub(super) fn check_step(
    step: &Step,
    step_number: usize,
    report: &StepReport,
    first_user: Option<&str>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for (lane, expectation) in &step.expect {
        let prefix = format!(
            "step {step_number} ({}), lane {lane}",
            step.action.describe()
        );
        let Some(lane_report) = report.lane(*lane) else {
            failures.push(format!("{prefix}: the lane did not run"));
            continue;
        };
        let user = expectation
            .user
            .as_deref()
            .or(step.action.user())
            .or(first_user);
        if let (Some(expected), Some(user)) = (expectation.answer, user) {
            let got = lane_report.user(user).map(|view| view.answer);
            if got != Some(expected) {
                let got = got.map(|answer| answer.name()).unwrap_or("nothing");
                failures.push(format!(
                    "{prefix}: expected the answer for {user} to be {expected}, got {got}"
                ));
            }
        }
        if let Some(expected) = &expectation.outcome {
            let got = lane_report.outcome.as_deref().unwrap_or("none");
            if got != expected {
                failures.push(format!(
                    "{prefix}: expected the outcome {expected}, got {got}"
                ));
            }
        }
        for kind in &expectation.violations {
            if !lane_report.has(*kind) {
                failures.push(format!(
                    "{prefix}: expected the violation {kind}, which is absent"
                ));
            }
        }
        for kind in &expectation.absent {
            if lane_report.has(*kind) {
                failures.push(format!("{prefix}: expected no {kind}, but it is present"));
            }
        }
    }
    failures
}

/// Every final expectation of the scenario that the run's summary does not meet.
pub(super) fn check_final(scenario: &Scenario, lanes: &[LaneSummary]) -> Vec<String> {
    let mut failures = Vec::new();
    for (lane, expectation) in &scenario.expect {
        let Some(summary) = lanes.iter().find(|summary| summary.lane == *lane) else {
            continue;
        };
        let prefix = format!("final verdict, lane {lane}");
        if let Some(verdict) = &expectation.verdict {
            if *verdict != summary.verdict {
                failures.push(format!(
                    "{prefix}: expected {verdict}, got {}",
                    summary.verdict
                ));
            }
        }
        let seen = |kind| summary.seen.iter().any(|(seen, _)| *seen == kind);
        for kind in &expectation.seen {
            if !seen(*kind) {
                failures.push(format!(
                    "{prefix}: expected {kind} to be seen, it never was"
                ));
            }
        }
        for kind in &expectation.never {
            if seen(*kind) {
                failures.push(format!(
                    "{prefix}: expected never to see {kind}, but it was seen"
                ));
            }
        }
    }
    failures
}
