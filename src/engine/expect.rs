//! Checking a scenario's expectations against what a step really produced.

use crate::domain::outcome::{CallerOutcome, ExpectedOutcome, WriteOutcome};
use crate::domain::scenario::{Expectation, Scenario, Step};
use crate::engine::report::{LaneReport, LaneSummary, StepReport};
use crate::worker::protocol::Store;

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
        if let Some(expected) = expectation.outcome {
            failures.extend(check_outcome(&prefix, expected, lane_report, user));
        }
        let callers_heard = expectation.outcomes.len() == lane_report.outcomes.len()
            && expectation
                .outcomes
                .iter()
                .zip(&lane_report.outcomes)
                .all(|(expected, got)| expected.matches(Some(*got)));
        if !expectation.outcomes.is_empty() && !callers_heard {
            failures.push(format!(
                "{prefix}: expected the callers to hear [{}], got [{}]",
                names(&expectation.outcomes),
                names(&lane_report.outcomes)
            ));
        }
        if let Some(user) = user {
            failures.extend(check_funds(&prefix, expectation, lane_report, user));
        }
        if let (Some(expected), Some(user)) = (&expectation.refused, user) {
            failures.extend(check_refused(&prefix, expected, lane_report, user));
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
            } else if lane_report.undetermined.contains(&kind.property()) {
                failures.push(format!(
                    "{prefix}: expected no {kind}, which this step cannot show: a store did \
                     not answer, so its {} is undetermined",
                    kind.property()
                ));
            }
        }
    }
    failures
}

/// The outcome `user`'s request ended with in this step; with several callers, every
/// caller must have heard `expected`.
fn check_outcome(
    prefix: &str,
    expected: ExpectedOutcome,
    lane_report: &LaneReport,
    user: Option<&str>,
) -> Option<String> {
    if lane_report.outcomes.len() > 1 {
        let all = lane_report
            .outcomes
            .iter()
            .all(|got| expected.matches(Some(*got)));
        return (!all).then(|| {
            format!(
                "{prefix}: expected every caller to hear {expected}, they heard [{}]",
                names(&lane_report.outcomes)
            )
        });
    }
    let got = user
        .and_then(|user| lane_report.user(user))
        .and_then(|view| view.outcome);
    (!expected.matches(got)).then(|| {
        let got = got.map_or(ExpectedOutcome::NOTHING, CallerOutcome::name);
        format!("{prefix}: expected the outcome {expected}, got {got}")
    })
}

/// Outcomes as a scenario writes them: `created, crashed`.
fn names<T: std::fmt::Display>(outcomes: &[T]) -> String {
    outcomes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
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

/// That TigerBeetle refused a write of `user`'s request in this step with the result
/// `expected`, as the lane's timeline shows the write (`TigerBeetle: failed (<result>)`).
fn check_refused(
    prefix: &str,
    expected: &str,
    lane_report: &LaneReport,
    user: &str,
) -> Option<String> {
    let refusal = WriteOutcome::Failed(expected.to_string()).to_string();
    let record_writes: Vec<&str> = lane_report
        .events
        .iter()
        .filter(|entry| entry.user == user && entry.store == Some(Store::Record))
        .map(|entry| entry.text.as_str())
        .collect();
    if record_writes.iter().any(|text| text.contains(&refusal)) {
        return None;
    }
    let got = if record_writes.is_empty() {
        "no TigerBeetle write".to_string()
    } else {
        record_writes.join("; ")
    };
    Some(format!(
        "{prefix}: expected TigerBeetle to refuse {user}'s write with {expected}, got: {got}"
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cluster::ServerState;
    use crate::domain::ids::{CODE_CUSTOMER, user_key};
    use crate::domain::lane::Lane;
    use crate::domain::scenario::{Action, FinalExpectation};
    use crate::domain::stored::RecordAccount;
    use crate::domain::verdict::{Answer, Severity, Verdict, Violation, ViolationKind};
    use crate::engine::report::{TimelineEntry, TimelineKind, UserView, WorkerState};
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn account(credits_posted: u128, debits_posted: u128, credits_pending: u128) -> RecordAccount {
        RecordAccount {
            id: 7,
            ledger: 1,
            code: CODE_CUSTOMER,
            user_key: user_key("alice"),
            debits_posted,
            credits_posted,
            debits_pending: 0,
            credits_pending,
            closed: false,
        }
    }

    /// Alice as a lane shows her: `answer`, the outcome her request ended with, and the
    /// accounts TigerBeetle holds for her (`None`: it did not answer).
    fn alice(
        answer: Answer,
        outcome: Option<&str>,
        record: Option<Vec<RecordAccount>>,
    ) -> UserView {
        UserView {
            user: "alice".to_string(),
            reference: None,
            record,
            journal: None,
            outbox: None,
            answer,
            truth: answer,
            outcome: outcome.map(|name| name.parse().expect("an outcome's name")),
        }
    }

    /// What a scenario file's `outcome = "name"` says.
    fn expected(name: &str) -> ExpectedOutcome {
        ExpectedOutcome::parse(name).expect("an outcome's name")
    }

    fn violation(kind: ViolationKind) -> Violation {
        Violation {
            kind,
            severity: Severity::Error,
            user: Some("alice".to_string()),
            detail: String::new(),
        }
    }

    fn lane_report(
        lane: Lane,
        users: Vec<UserView>,
        outcomes: &[&str],
        violations: Vec<Violation>,
    ) -> LaneReport {
        LaneReport {
            lane,
            worker: WorkerState::Idle,
            events: Vec::new(),
            outcome: None,
            outcomes: outcomes
                .iter()
                .map(|name| name.parse().expect("an outcome's name"))
                .collect(),
            users,
            violations,
            undetermined: Vec::new(),
            answered_by: None,
        }
    }

    fn step_report(lanes: Vec<LaneReport>) -> StepReport {
        StepReport {
            step_number: 1,
            step_count: 1,
            action: String::new(),
            user: None,
            narration: String::new(),
            manual: false,
            complete: true,
            server: ServerState::Ready,
            replicas: vec![ServerState::Ready],
            lanes,
            failures: Vec::new(),
            record_exit: None,
        }
    }

    fn read_alice() -> Action {
        Action::Read {
            user: "alice".to_string(),
        }
    }

    fn step(action: Action, expectation: Expectation) -> Step {
        Step {
            action,
            narration: String::new(),
            expect: BTreeMap::from([(Lane::Durable, expectation)]),
        }
    }

    /// A case of `check_step`: its name, the step's action and its one lane's expectation,
    /// that lane's report, the scenario's first user, and the failures expected.
    type StepCase = (
        &'static str,
        Action,
        Expectation,
        LaneReport,
        Option<&'static str>,
        Vec<String>,
    );

    /// Goal: each expectation of a step that the lane's report does not meet is one
    /// sentence naming the step, the lane, what was expected and what happened; one that
    /// is met says nothing. Method: a table of one expectation and one hand-built report
    /// each.
    // Past 70 lines by design: one table of one case per sentence, and a short loop.
    #[test]
    fn check_step_names_every_unmet_expectation() {
        let prefix = "step 1 (does alice exist?), lane durable";
        let good = || {
            lane_report(
                Lane::Durable,
                vec![alice(
                    Answer::Exists,
                    Some("created"),
                    Some(vec![account(10, 3, 4)]),
                )],
                &["created"],
                vec![violation(ViolationKind::OrphanReference)],
            )
        };
        let met = Expectation {
            user: None,
            answer: Some(Answer::Exists),
            outcome: Some(expected("created")),
            outcomes: vec![expected("created")],
            balance: Some(7),
            pending: Some(4),
            refused: None,
            violations: vec![ViolationKind::OrphanReference],
            absent: vec![ViolationKind::WrongAnswer],
        };
        let cases: Vec<StepCase> = vec![
            ("every expectation met", read_alice(), met.clone(), good(), None, vec![]),
            (
                "the lane did not run",
                read_alice(),
                met.clone(),
                lane_report(Lane::Outbox, Vec::new(), &[], Vec::new()),
                None,
                vec![format!("{prefix}: the lane did not run")],
            ),
            (
                "another answer",
                read_alice(),
                Expectation {
                    answer: Some(Answer::Absent),
                    ..Expectation::default()
                },
                good(),
                None,
                vec![format!("{prefix}: expected the answer for alice to be absent, got exists")],
            ),
            (
                "an answer about a user the lane does not show",
                read_alice(),
                Expectation {
                    user: Some("bob".to_string()),
                    answer: Some(Answer::Absent),
                    ..Expectation::default()
                },
                good(),
                None,
                vec![format!(
                    "{prefix}: expected the answer for bob to be absent, got no answer (not a user of the scenario)"
                )],
            ),
            (
                "another outcome",
                read_alice(),
                Expectation {
                    outcome: Some(expected("crashed")),
                    ..Expectation::default()
                },
                lane_report(
                    Lane::Durable,
                    vec![alice(Answer::Exists, Some("created"), None)],
                    &["created"],
                    Vec::new(),
                ),
                None,
                vec![format!("{prefix}: expected the outcome crashed, got created")],
            ),
            (
                "an outcome when no request ended",
                read_alice(),
                Expectation {
                    outcome: Some(expected("crashed")),
                    ..Expectation::default()
                },
                lane_report(
                    Lane::Durable,
                    vec![alice(Answer::Exists, None, None)],
                    &[],
                    Vec::new(),
                ),
                None,
                vec![format!("{prefix}: expected the outcome crashed, got none")],
            ),
            (
                "several callers: each must hear the outcome",
                read_alice(),
                Expectation {
                    outcome: Some(expected("created")),
                    ..Expectation::default()
                },
                lane_report(
                    Lane::Durable,
                    vec![alice(Answer::Exists, Some("created"), None)],
                    &["created", "rejected"],
                    Vec::new(),
                ),
                None,
                vec![format!(
                    "{prefix}: expected every caller to hear created, they heard [created, rejected]"
                )],
            ),
            (
                "several callers, each heard it",
                read_alice(),
                Expectation {
                    outcome: Some(expected("created")),
                    ..Expectation::default()
                },
                lane_report(
                    Lane::Durable,
                    vec![alice(Answer::Exists, Some("rejected"), None)],
                    &["created", "created"],
                    Vec::new(),
                ),
                None,
                vec![],
            ),
            (
                "what each caller heard, in order",
                read_alice(),
                Expectation {
                    outcomes: vec![expected("created"), expected("rejected")],
                    ..Expectation::default()
                },
                lane_report(Lane::Durable, Vec::new(), &["rejected", "created"], Vec::new()),
                None,
                vec![format!(
                    "{prefix}: expected the callers to hear [created, rejected], got [rejected, created]"
                )],
            ),
            (
                "funds when TigerBeetle did not answer",
                read_alice(),
                Expectation {
                    balance: Some(7),
                    ..Expectation::default()
                },
                lane_report(
                    Lane::Durable,
                    vec![alice(Answer::Unknown, None, None)],
                    &[],
                    Vec::new(),
                ),
                None,
                vec![format!(
                    "{prefix}: expected alice's funds, but TigerBeetle did not answer"
                )],
            ),
            (
                "funds summed over the user's accounts",
                read_alice(),
                Expectation {
                    balance: Some(7),
                    pending: Some(4),
                    ..Expectation::default()
                },
                lane_report(
                    Lane::Durable,
                    vec![alice(
                        Answer::Exists,
                        None,
                        Some(vec![account(10, 0, 1), account(0, 2, 2)]),
                    )],
                    &[],
                    Vec::new(),
                ),
                None,
                vec![
                    format!("{prefix}: expected alice's balance to be 7, got 8"),
                    format!("{prefix}: expected alice's pending credits to be 4, got 3"),
                ],
            ),
            (
                "no accounts: zero funds",
                read_alice(),
                Expectation {
                    balance: Some(0),
                    pending: Some(0),
                    ..Expectation::default()
                },
                lane_report(
                    Lane::Durable,
                    vec![alice(Answer::Absent, None, Some(Vec::new()))],
                    &[],
                    Vec::new(),
                ),
                None,
                vec![],
            ),
            (
                "a violation expected and one expected absent",
                read_alice(),
                Expectation {
                    violations: vec![ViolationKind::UntraceableAccount],
                    absent: vec![ViolationKind::OrphanReference],
                    ..Expectation::default()
                },
                good(),
                None,
                vec![
                    format!("{prefix}: expected the violation untraceable-account, which is absent"),
                    format!("{prefix}: expected no orphan-reference, but it is present"),
                ],
            ),
            (
                "no violation expected where the step could not judge its property",
                read_alice(),
                Expectation {
                    absent: vec![ViolationKind::WrongAnswer, ViolationKind::OrphanReference],
                    ..Expectation::default()
                },
                LaneReport {
                    violations: Vec::new(),
                    undetermined: vec!["correct answer", "consistency"],
                    ..good()
                },
                None,
                vec![
                    format!(
                        "{prefix}: expected no wrong-answer, which this step cannot show: a store \
                         did not answer, so its correct answer is undetermined"
                    ),
                    format!(
                        "{prefix}: expected no orphan-reference, which this step cannot show: a \
                         store did not answer, so its consistency is undetermined"
                    ),
                ],
            ),
            (
                "a step about no user: the answer is the scenario's first user's",
                Action::Recover,
                Expectation {
                    answer: Some(Answer::Absent),
                    ..Expectation::default()
                },
                good(),
                Some("alice"),
                vec![
                    "step 1 (run recovery), lane durable: expected the answer for alice to be absent, got exists"
                        .to_string(),
                ],
            ),
            (
                "no user anywhere: an answer has no one to be about",
                Action::Recover,
                Expectation {
                    answer: Some(Answer::Absent),
                    balance: Some(1),
                    ..Expectation::default()
                },
                good(),
                None,
                vec![],
            ),
        ];
        let mut wrong = Vec::new();
        for (name, action, expectation, lane, first_user, expected) in cases {
            let got = check_step(
                &step(action, expectation),
                1,
                &step_report(vec![lane]),
                first_user,
            );
            if got != expected {
                wrong.push(format!(
                    "{name}:\n  expected {expected:?}\n       got {got:?}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// A write's line on the lane's timeline, as the engine notes it.
    fn write_entry(user: &str, store: Store, outcome: &WriteOutcome) -> TimelineEntry {
        TimelineEntry {
            user: user.to_string(),
            kind: TimelineKind::Trouble,
            text: format!("{}: {outcome} (id 89fa320a)", store.name()),
            store: Some(store),
        }
    }

    /// Goal: `refused` is met only by a TigerBeetle write of the expected user refused
    /// with exactly that result: not another result, not a SQLite write, not another
    /// user's write, not a result whose name merely starts the same. Method: one report
    /// per case, built from the timeline lines the engine writes.
    #[test]
    fn refused_is_met_only_by_that_tigerbeetle_result_for_that_user() {
        let prefix = "step 1 (does alice exist?), lane durable";
        let refused = |name: &str| WriteOutcome::Failed(name.to_string());
        let cases: Vec<(&str, Vec<TimelineEntry>, Vec<String>)> = vec![
            (
                "the refusal",
                vec![write_entry(
                    "alice",
                    Store::Record,
                    &refused("exceeds_credits"),
                )],
                vec![],
            ),
            (
                "another result",
                vec![write_entry(
                    "alice",
                    Store::Record,
                    &refused("pending_transfer_expired"),
                )],
                vec![format!(
                    "{prefix}: expected TigerBeetle to refuse alice's write with exceeds_credits, got: TigerBeetle: failed (pending_transfer_expired) (id 89fa320a)"
                )],
            ),
            (
                "a longer name",
                vec![write_entry(
                    "alice",
                    Store::Record,
                    &refused("exceeds_credits_x"),
                )],
                vec![format!(
                    "{prefix}: expected TigerBeetle to refuse alice's write with exceeds_credits, got: TigerBeetle: failed (exceeds_credits_x) (id 89fa320a)"
                )],
            ),
            (
                "bob's write, and a SQLite write",
                vec![
                    write_entry("bob", Store::Record, &refused("exceeds_credits")),
                    write_entry("alice", Store::Reference, &refused("exceeds_credits")),
                ],
                vec![format!(
                    "{prefix}: expected TigerBeetle to refuse alice's write with exceeds_credits, got: no TigerBeetle write"
                )],
            ),
        ];
        let expectation = Expectation {
            refused: Some("exceeds_credits".to_string()),
            ..Expectation::default()
        };
        for (name, events, failures) in cases {
            let mut report = lane_report(Lane::Durable, Vec::new(), &[], Vec::new());
            report.events = events;
            let got = check_step(
                &step(read_alice(), expectation.clone()),
                1,
                &step_report(vec![report]),
                None,
            );
            assert_eq!(got, failures, "{name}");
        }
    }

    fn scenario(expect: FinalExpectation) -> Scenario {
        Scenario {
            path: PathBuf::from("case.toml"),
            title: String::new(),
            summary: String::new(),
            seed: 1,
            lanes: vec![Lane::Durable],
            replicas: 1,
            bank_funds: None,
            steps: Vec::new(),
            expect: BTreeMap::from([(Lane::Durable, expect)]),
        }
    }

    /// Goal: each final expectation the run's summary does not meet is one sentence; one
    /// that is met, or about a lane that did not run, says nothing. Method: a table of
    /// one expectation and one hand-built summary each.
    #[test]
    fn check_final_names_every_unmet_expectation() {
        let broken = || LaneSummary {
            lane: Lane::Durable,
            verdict: Verdict::Broken,
            seen: vec![(ViolationKind::UntraceableAccount, Severity::Error)],
            undetermined_steps: 0,
        };
        let cases: Vec<(&str, FinalExpectation, Vec<LaneSummary>, Vec<&str>)> = vec![
            (
                "met",
                FinalExpectation {
                    verdict: Some(Verdict::Broken),
                    seen: vec![ViolationKind::UntraceableAccount],
                    never: vec![ViolationKind::WrongAnswer],
                },
                vec![broken()],
                vec![],
            ),
            (
                "another verdict",
                FinalExpectation {
                    verdict: Some(Verdict::Kept),
                    ..FinalExpectation::default()
                },
                vec![broken()],
                vec!["final verdict, lane durable: expected kept, got broken"],
            ),
            (
                "seen and never",
                FinalExpectation {
                    verdict: None,
                    seen: vec![ViolationKind::DuplicateAccount],
                    never: vec![ViolationKind::UntraceableAccount],
                },
                vec![broken()],
                vec![
                    "final verdict, lane durable: expected duplicate-account to be seen, it never was",
                    "final verdict, lane durable: expected never to see untraceable-account, but it was seen",
                ],
            ),
            (
                "the lane did not run",
                FinalExpectation {
                    verdict: Some(Verdict::Kept),
                    ..FinalExpectation::default()
                },
                vec![LaneSummary {
                    lane: Lane::Outbox,
                    ..broken()
                }],
                vec![],
            ),
        ];
        for (name, expectation, lanes, expected) in cases {
            assert_eq!(
                check_final(&scenario(expectation), &lanes),
                expected,
                "{name}"
            );
        }
    }
}
