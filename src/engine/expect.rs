//! Checking a scenario's expectations against what a step really produced.

use crate::domain::scenario::{Expectation, Scenario, Step};
use crate::engine::report::{LaneReport, LaneSummary, StepReport};

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
                let got = got
                    .map(|answer| answer.name())
                    .unwrap_or("no answer (not a user of the scenario)");
                failures.push(format!(
                    "{prefix}: expected the answer for {user} to be {expected}, got {got}"
                ));
            }
        }
        if let Some(expected) = &expectation.outcome {
            failures.extend(check_outcome(&prefix, expected, lane_report, user));
        }
        if !expectation.outcomes.is_empty() && expectation.outcomes != lane_report.outcomes {
            failures.push(format!(
                "{prefix}: expected the callers to hear [{}], got [{}]",
                expectation.outcomes.join(", "),
                lane_report.outcomes.join(", ")
            ));
        }
        if let Some(user) = user {
            failures.extend(check_funds(&prefix, expectation, lane_report, user));
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

/// The outcome `user`'s request ended with in this step; with several callers, every
/// caller must have heard `expected`.
fn check_outcome(
    prefix: &str,
    expected: &str,
    lane_report: &LaneReport,
    user: Option<&str>,
) -> Option<String> {
    if lane_report.outcomes.len() > 1 {
        let all = lane_report.outcomes.iter().all(|got| got == expected);
        return (!all).then(|| {
            format!(
                "{prefix}: expected every caller to hear {expected}, they heard [{}]",
                lane_report.outcomes.join(", ")
            )
        });
    }
    let got = user
        .and_then(|user| lane_report.user(user))
        .and_then(|view| view.outcome.as_deref())
        .unwrap_or("none");
    (got != expected).then(|| format!("{prefix}: expected the outcome {expected}, got {got}"))
}

/// The posted balance and pending credits of the user's TigerBeetle account(s), summed
/// (zero when TigerBeetle holds none for the user).
fn check_funds(
    prefix: &str,
    expectation: &Expectation,
    lane_report: &LaneReport,
    user: &str,
) -> Vec<String> {
    let mut failures = Vec::new();
    if expectation.balance.is_none() && expectation.pending.is_none() {
        return failures;
    }
    let Some(accounts) = lane_report.user(user).and_then(|view| view.record.as_ref()) else {
        failures.push(format!(
            "{prefix}: expected {user}'s funds, but TigerBeetle did not answer"
        ));
        return failures;
    };
    let balance: i128 = accounts.iter().map(|account| account.balance()).sum();
    let pending: u128 = accounts.iter().map(|account| account.credits_pending).sum();
    if let Some(expected) = expectation.balance {
        if expected != balance {
            failures.push(format!(
                "{prefix}: expected {user}'s balance to be {expected}, got {balance}"
            ));
        }
    }
    if let Some(expected) = expectation.pending {
        if expected != pending {
            failures.push(format!(
                "{prefix}: expected {user}'s pending credits to be {expected}, got {pending}"
            ));
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
