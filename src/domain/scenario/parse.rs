//! Loading a scenario in two stages: the file as serde reads it (`Raw*`, every value with
//! its place in the text), then a `Validator` that turns it into the model of
//! `scenario.rs`, failing with the line and column of the first value that would not do
//! what its writer meant.

use super::{
    Action, Expectation, Fault, FinalExpectation, OUTCOMES, Scenario, ScenarioError, Step,
    StoreName, capitalized, line_and_column,
};
use crate::domain::cluster::REPLICA_COUNTS;
use crate::domain::lane::{HoldPoint, Lane};
use crate::domain::names::{UnknownName, or_list};
use crate::domain::verdict::ViolationKind;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    title: Spanned<String>,
    summary: Option<String>,
    seed: u64,
    lanes: Spanned<Vec<Spanned<String>>>,
    replicas: Option<Spanned<usize>>,
    #[serde(rename = "step")]
    steps: Spanned<Vec<RawStep>>,
    #[serde(default)]
    expect: BTreeMap<String, Spanned<RawFinalExpectation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(rename = "do")]
    action: Spanned<String>,
    narration: Spanned<String>,
    user: Option<Spanned<String>>,
    name: Option<String>,
    crash: Option<Spanned<String>>,
    order: Option<Spanned<String>>,
    store: Option<Spanned<String>>,
    how: Option<Spanned<String>>,
    replica: Option<Spanned<usize>>,
    seconds: Option<Spanned<f64>>,
    amount: Option<Spanned<u64>>,
    timeout: Option<Spanned<u32>>,
    callers: Option<Spanned<u32>>,
    #[serde(default)]
    expect: BTreeMap<String, Spanned<RawExpectation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpectation {
    user: Option<String>,
    answer: Option<Spanned<String>>,
    outcome: Option<Spanned<String>>,
    #[serde(default)]
    outcomes: Vec<Spanned<String>>,
    balance: Option<i64>,
    pending: Option<u64>,
    #[serde(default)]
    violations: Vec<Spanned<String>>,
    #[serde(default)]
    absent: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFinalExpectation {
    verdict: Option<Spanned<String>>,
    #[serde(default)]
    seen: Vec<Spanned<String>>,
    #[serde(default)]
    never: Vec<Spanned<String>>,
}

/// Parses and validates scenario text; `path` is only used in messages.
pub(super) fn scenario(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let validator = Validator { path, text };
    let raw: RawScenario = toml::from_str(text).map_err(|error| {
        let span = error.span().unwrap_or(0..0);
        // The parser's message may span lines ("invalid string\nexpected ..."): one line.
        let message = error
            .message()
            .trim()
            .lines()
            .collect::<Vec<_>>()
            .join("; ");
        validator.error(span, plain_types(&message))
    })?;
    validator.scenario(raw)
}

/// Says the parser's Rust type names (and one puzzling message) in words a scenario
/// writer knows.
fn plain_types(message: &str) -> String {
    [
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        (
            "duplicate key `step` in document root",
            "duplicate key `step` in document root (a [step.expect.<lane>] table belongs after its [[step]], not before the first one)",
        ),
    ]
    .into_iter()
    .fold(message.to_string(), |text, (rust, words)| {
        text.replace(rust, words)
    })
}

/// The fewest and the most callers a `create` may have at once (`callers`).
const CALLER_COUNT_MIN: u32 = 1;
const CALLER_COUNT_MAX: u32 = 4;
/// The shortest and the longest `wait`, in seconds.
const WAIT_SECONDS_MIN: f64 = 0.0;
const WAIT_SECONDS_MAX: f64 = 60.0;

const STEP_KINDS: [&str; 9] = [
    "create", "read", "fail", "heal", "restart", "recover", "wait", "deposit", "reserve",
];

/// The place of an optional value in the text, if it is there.
fn span_of<T>(value: &Option<Spanned<T>>) -> Option<Range<usize>> {
    value.as_ref().map(Spanned::span)
}

/// The keys each step kind takes, besides `do`, `narration` and `expect`.
fn step_keys(action: &str) -> &'static [&'static str] {
    match action {
        "create" => &["user", "name", "crash", "order", "callers"],
        "read" => &["user"],
        "fail" => &["store", "how", "replica"],
        "heal" => &["store"],
        "wait" => &["seconds"],
        "deposit" => &["user", "amount"],
        "reserve" => &["user", "amount", "timeout", "crash"],
        _ => &[],
    }
}

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Validator<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        let (line, column) = line_and_column(self.text, span.start);
        ScenarioError {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    fn parsed<T: std::str::FromStr>(&self, value: &Spanned<String>) -> Result<T, ScenarioError>
    where
        T::Err: fmt::Display,
    {
        value
            .get_ref()
            .parse()
            .map_err(|error: T::Err| self.error(value.span(), error.to_string()))
    }

    fn scenario(&self, raw: RawScenario) -> Result<Scenario, ScenarioError> {
        if raw.title.get_ref().trim().is_empty() {
            return Err(self.error(raw.title.span(), "the title is empty"));
        }
        let mut lanes = Vec::new();
        for lane in raw.lanes.get_ref() {
            let parsed: Lane = self.parsed(lane)?;
            if lanes.contains(&parsed) {
                return Err(self.error(lane.span(), format!("lane `{parsed}` is listed twice")));
            }
            lanes.push(parsed);
        }
        if lanes.is_empty() {
            return Err(self.error(
                raw.lanes.span(),
                "`lanes` names no lane (expected at least one)",
            ));
        }
        if raw.steps.get_ref().is_empty() {
            return Err(self.error(raw.steps.span(), "the scenario has no [[step]]"));
        }
        let replicas = self.replicas(&raw)?;
        let mut users: Vec<String> = Vec::new();
        for step in raw.steps.get_ref() {
            if let Some(user) = &step.user {
                if !users.contains(user.get_ref()) {
                    users.push(user.get_ref().clone());
                }
            }
        }
        let mut steps = Vec::new();
        for raw_step in raw.steps.into_inner() {
            steps.push(self.step(raw_step, &lanes, &users)?);
        }
        let mut expect = BTreeMap::new();
        for (lane_name, raw_expect) in raw.expect {
            let lane = self.lane_of(&lane_name, raw_expect.span(), &lanes)?;
            expect.insert(lane, self.final_expectation(raw_expect.into_inner())?);
        }
        Ok(Scenario {
            path: self.path.to_path_buf(),
            title: raw.title.into_inner(),
            summary: raw.summary.unwrap_or_default(),
            seed: raw.seed,
            lanes,
            replicas,
            steps,
            expect,
        })
    }

    /// The replica count, and every step's `replica` checked against it.
    fn replicas(&self, raw: &RawScenario) -> Result<usize, ScenarioError> {
        let replicas = match &raw.replicas {
            None => 1,
            Some(count) if REPLICA_COUNTS.contains(count.get_ref()) => *count.get_ref(),
            Some(count) => {
                let counts = REPLICA_COUNTS.map(|count| count.to_string());
                return Err(self.error(
                    count.span(),
                    format!("`replicas` must be {}", or_list(&counts)),
                ));
            }
        };
        for step in raw.steps.get_ref() {
            if let Some(replica) = &step.replica {
                if !(1..=replicas).contains(replica.get_ref()) {
                    return Err(self.error(
                        replica.span(),
                        format!(
                            "`replica` must be between 1 and {replicas} (the scenario's `replicas`)"
                        ),
                    ));
                }
            }
        }
        Ok(replicas)
    }

    fn lane_of(
        &self,
        name: &str,
        span: Range<usize>,
        lanes: &[Lane],
    ) -> Result<Lane, ScenarioError> {
        let lane: Lane = name
            .parse()
            .map_err(|error: UnknownName| self.error(span.clone(), error.to_string()))?;
        if !lanes.contains(&lane) {
            return Err(self.error(
                span,
                format!("expectations for lane `{lane}`, which is not in `lanes`"),
            ));
        }
        Ok(lane)
    }

    fn required<'v, T>(
        &self,
        value: &'v Option<Spanned<T>>,
        field: &str,
        action: &Spanned<String>,
    ) -> Result<&'v Spanned<T>, ScenarioError> {
        value.as_ref().ok_or_else(|| {
            self.error(
                action.span(),
                format!("step `{}` needs `{field}`", action.get_ref()),
            )
        })
    }

    /// The crash point, which must be one that the step's requests pass through.
    fn crash_point(
        &self,
        crash: &Option<Spanned<String>>,
        passed: &[HoldPoint],
    ) -> Result<Option<HoldPoint>, ScenarioError> {
        let Some(spanned) = crash else {
            return Ok(None);
        };
        let point: HoldPoint = self.parsed(spanned)?;
        if !passed.contains(&point) {
            let names: Vec<&str> = passed.iter().map(|point| point.name()).collect();
            return Err(self.error(
                spanned.span(),
                format!(
                    "this step never holds at `{point}`, so nothing would crash (it holds at: {})",
                    names.join(", ")
                ),
            ));
        }
        Ok(Some(point))
    }

    /// A money amount: a whole number above 0.
    fn amount(&self, raw: &RawStep) -> Result<u64, ScenarioError> {
        let amount = self.required(&raw.amount, "amount", &raw.action)?;
        if *amount.get_ref() == 0 {
            return Err(self.error(amount.span(), "`amount` must be above 0"));
        }
        Ok(*amount.get_ref())
    }

    /// The user a step is about.
    fn user(&self, raw: &RawStep) -> Result<String, ScenarioError> {
        self.required(&raw.user, "user", &raw.action)
            .map(|user| user.get_ref().clone())
    }

    /// Rejects a key that the step's kind does not take: it would be silently ignored.
    fn check_keys(&self, raw: &RawStep) -> Result<(), ScenarioError> {
        let kind = raw.action.get_ref().as_str();
        let allowed = step_keys(kind);
        let present = [
            ("user", span_of(&raw.user)),
            // `name` is a plain string, which keeps no place: point at the step's `do`.
            ("name", raw.name.as_ref().map(|_| raw.action.span())),
            ("crash", span_of(&raw.crash)),
            ("order", span_of(&raw.order)),
            ("store", span_of(&raw.store)),
            ("how", span_of(&raw.how)),
            ("replica", span_of(&raw.replica)),
            ("seconds", span_of(&raw.seconds)),
            ("amount", span_of(&raw.amount)),
            ("timeout", span_of(&raw.timeout)),
            ("callers", span_of(&raw.callers)),
        ];
        for (key, at) in present {
            let Some(at) = at else { continue };
            // An unknown kind is reported by `action` with the list of kinds.
            if !allowed.contains(&key) && STEP_KINDS.contains(&kind) {
                let takes = if allowed.is_empty() {
                    "no other key".to_string()
                } else {
                    allowed.join(", ")
                };
                return Err(self.error(
                    at,
                    format!("step `{kind}` does not take `{key}` (it takes {takes})"),
                ));
            }
        }
        Ok(())
    }

    /// An expectation about a user needs one the scenario knows: else it checks nothing.
    fn check_expected_user(
        &self,
        expectation: &Expectation,
        action: &Action,
        users: &[String],
        span: Range<usize>,
    ) -> Result<(), ScenarioError> {
        if let Some(user) = &expectation.user {
            if !users.contains(user) {
                return Err(self.error(
                    span,
                    format!(
                        "`user = \"{user}\"` is not a user of this scenario (no step names it)"
                    ),
                ));
            }
        }
        let about_a_user = expectation.answer.is_some()
            || expectation.outcome.is_some()
            || !expectation.outcomes.is_empty()
            || expectation.balance.is_some()
            || expectation.pending.is_some();
        let user = expectation
            .user
            .as_deref()
            .or(action.user())
            .or(users.first().map(String::as_str));
        if about_a_user && user.is_none() {
            return Err(self.error(
                span,
                "this expectation is about a user, but no step of the scenario names one",
            ));
        }
        Ok(())
    }

    fn step(&self, raw: RawStep, lanes: &[Lane], users: &[String]) -> Result<Step, ScenarioError> {
        self.check_keys(&raw)?;
        let action = self.action(&raw)?;
        if raw.narration.get_ref().trim().is_empty() {
            return Err(self.error(raw.narration.span(), "the narration is empty"));
        }
        let mut expect = BTreeMap::new();
        for (lane_name, raw_expect) in raw.expect {
            let lane = self.lane_of(&lane_name, raw_expect.span(), lanes)?;
            let span = raw_expect.span();
            let expectation = self.expectation(raw_expect.into_inner())?;
            self.check_expected_user(&expectation, &action, users, span.clone())?;
            let callers = match &action {
                Action::Create { callers, .. } => *callers as usize,
                _ => 1,
            };
            if !expectation.outcomes.is_empty() && expectation.outcomes.len() != callers {
                return Err(self.error(
                    span,
                    format!(
                        "`outcomes` lists {} outcome(s) for a step with {callers} caller(s)",
                        expectation.outcomes.len()
                    ),
                ));
            }
            expect.insert(lane, expectation);
        }
        Ok(Step {
            action,
            narration: raw.narration.into_inner().trim().to_string(),
            expect,
        })
    }

    fn action(&self, raw: &RawStep) -> Result<Action, ScenarioError> {
        match raw.action.get_ref().as_str() {
            "create" => self.create(raw),
            "read" => Ok(Action::Read {
                user: self.user(raw)?,
            }),
            "fail" => self.fail(raw),
            "heal" => Ok(Action::Heal(self.store_name(raw)?)),
            "restart" => Ok(Action::Restart),
            "recover" => Ok(Action::Recover),
            "wait" => self.wait(raw),
            "deposit" => Ok(Action::Deposit {
                user: self.user(raw)?,
                amount: self.amount(raw)?,
            }),
            "reserve" => Ok(Action::Reserve {
                user: self.user(raw)?,
                amount: self.amount(raw)?,
                timeout_seconds: *self
                    .required(&raw.timeout, "timeout", &raw.action)?
                    .get_ref(),
                crash: self.crash_point(&raw.crash, &[HoldPoint::BeforePost])?,
            }),
            other => Err(self.error(
                raw.action.span(),
                format!("unknown step `{other}` (expected {})", or_list(&STEP_KINDS)),
            )),
        }
    }

    fn create(&self, raw: &RawStep) -> Result<Action, ScenarioError> {
        let user = self.user(raw)?;
        let order = raw
            .order
            .as_ref()
            .map(|order| self.parsed(order))
            .transpose()?;
        let callers = match &raw.callers {
            // One caller: a user signing up once.
            None => 1,
            Some(callers) if (CALLER_COUNT_MIN..=CALLER_COUNT_MAX).contains(callers.get_ref()) => {
                *callers.get_ref()
            }
            Some(callers) => {
                return Err(self.error(
                    callers.span(),
                    format!("`callers` must be between {CALLER_COUNT_MIN} and {CALLER_COUNT_MAX}"),
                ));
            }
        };
        Ok(Action::Create {
            name: raw.name.clone().unwrap_or_else(|| capitalized(&user)),
            user,
            crash: self.crash_point(&raw.crash, &HoldPoint::CRASH_POINTS)?,
            order,
            callers,
        })
    }

    /// A store fault: SQLite locked or read-only; TigerBeetle, or one replica of a
    /// cluster, paused or killed.
    fn fail(&self, raw: &RawStep) -> Result<Action, ScenarioError> {
        let store = self.required(&raw.store, "store", &raw.action)?;
        let how = raw.how.as_ref().map(|how| how.get_ref().as_str());
        // `replica` counts from 1 in the file and from 0 in a fault.
        let replica_index = raw.replica.as_ref().map(|replica| {
            replica
                .get_ref()
                .checked_sub(1)
                .expect("`replicas` checked every step's `replica` is 1 or more")
        });
        let fault = match (store.get_ref().as_str(), how, replica_index) {
            ("sqlite", None | Some("lock"), _) => Fault::ReferenceLocked,
            ("sqlite", Some("read-only"), _) => Fault::ReferenceReadOnly,
            ("tigerbeetle", None | Some("pause"), None) => Fault::RecordPaused,
            ("tigerbeetle", Some("kill"), None) => Fault::RecordKilled,
            ("tigerbeetle", None | Some("pause"), Some(index)) => Fault::ReplicaPaused(index),
            ("tigerbeetle", Some("kill"), Some(index)) => Fault::ReplicaKilled(index),
            _ => {
                return Err(self.error(
                    raw.how.as_ref().unwrap_or(store).span(),
                    "expected store = \"sqlite\" (how = \"lock\" or \"read-only\") or store = \"tigerbeetle\" (how = \"pause\" or \"kill\")",
                ));
            }
        };
        Ok(Action::Fail(fault))
    }

    fn wait(&self, raw: &RawStep) -> Result<Action, ScenarioError> {
        let seconds = self.required(&raw.seconds, "seconds", &raw.action)?;
        if !(WAIT_SECONDS_MIN..=WAIT_SECONDS_MAX).contains(seconds.get_ref()) {
            return Err(self.error(
                seconds.span(),
                format!("`seconds` must be between {WAIT_SECONDS_MIN} and {WAIT_SECONDS_MAX}"),
            ));
        }
        Ok(Action::Wait {
            seconds: *seconds.get_ref(),
        })
    }

    fn store_name(&self, raw: &RawStep) -> Result<StoreName, ScenarioError> {
        let name = self.required(&raw.store, "store", &raw.action)?;
        match name.get_ref().as_str() {
            "sqlite" => Ok(StoreName::Reference),
            "tigerbeetle" => Ok(StoreName::Record),
            other => Err(self.error(
                name.span(),
                format!("unknown store `{other}` (expected sqlite or tigerbeetle)"),
            )),
        }
    }

    fn violation_list(
        &self,
        names: &[Spanned<String>],
    ) -> Result<Vec<ViolationKind>, ScenarioError> {
        names.iter().map(|name| self.parsed(name)).collect()
    }

    fn expectation(&self, raw: RawExpectation) -> Result<Expectation, ScenarioError> {
        let answer = raw
            .answer
            .as_ref()
            .map(|answer| self.parsed(answer))
            .transpose()?;
        for outcome in raw.outcome.iter().chain(&raw.outcomes) {
            if !OUTCOMES.contains(&outcome.get_ref().as_str()) {
                return Err(self.error(
                    outcome.span(),
                    format!(
                        "unknown outcome `{}` (expected one of: {})",
                        outcome.get_ref(),
                        OUTCOMES.join(", ")
                    ),
                ));
            }
        }
        Ok(Expectation {
            user: raw.user,
            answer,
            outcome: raw.outcome.map(Spanned::into_inner),
            outcomes: raw.outcomes.into_iter().map(Spanned::into_inner).collect(),
            balance: raw.balance.map(i128::from),
            pending: raw.pending.map(u128::from),
            violations: self.violation_list(&raw.violations)?,
            absent: self.violation_list(&raw.absent)?,
        })
    }

    fn final_expectation(
        &self,
        raw: RawFinalExpectation,
    ) -> Result<FinalExpectation, ScenarioError> {
        if let Some(verdict) = &raw.verdict {
            if !["kept", "broken"].contains(&verdict.get_ref().as_str()) {
                return Err(self.error(
                    verdict.span(),
                    format!(
                        "unknown verdict `{}` (expected kept or broken)",
                        verdict.get_ref()
                    ),
                ));
            }
        }
        Ok(FinalExpectation {
            verdict: raw.verdict.map(Spanned::into_inner),
            seen: self.violation_list(&raw.seen)?,
            never: self.violation_list(&raw.never)?,
        })
    }
}
