//! Loading a scenario in two stages: the file as serde reads it (`Raw*`, every value with
//! its place in the text), then a `Validator` that turns it into the model of
//! `scenario.rs`, failing with the line and column of the first value that would not do
//! what its writer meant.

use super::{
    Action, Expectation, Fault, FinalExpectation, Scenario, ScenarioError, Step, StoreName,
    capitalized, line_and_column,
};
use crate::domain::cluster::REPLICA_COUNTS;
use crate::domain::lane::{HoldPoint, Lane};
use crate::domain::names::{UnknownName, or_list};
use crate::domain::outcome::ExpectedOutcome;
use crate::domain::text;
use crate::domain::verdict::{Verdict, ViolationKind};
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
    summary: Option<Spanned<String>>,
    seed: u64,
    lanes: Spanned<Vec<Spanned<String>>>,
    replicas: Option<Spanned<usize>>,
    bank_funds: Option<Spanned<u64>>,
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
    name: Option<Spanned<String>>,
    crash: Option<Spanned<String>>,
    order: Option<Spanned<String>>,
    store: Option<Spanned<String>>,
    how: Option<Spanned<String>>,
    replica: Option<Spanned<usize>>,
    seconds: Option<Spanned<f64>>,
    amount: Option<Spanned<u64>>,
    timeout: Option<Spanned<u32>>,
    callers: Option<Spanned<u32>>,
    id: Option<Spanned<String>>,
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
    refused: Option<Spanned<String>>,
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
        // The parser says nothing for some malformed values (`key =` at the end of the
        // file): never an empty sentence.
        let message = if message.is_empty() {
            MISSING_VALUE.to_string()
        } else {
            message
        };
        validator.error(span, plain_types(&message))
    })?;
    validator.scenario(raw)
}

/// What a rejection says where the TOML parser gives no words of its own.
const MISSING_VALUE: &str = "a value is missing or cannot be read here";

/// Says the parser's Rust type names (and one puzzling message) in words a scenario
/// writer knows.
fn plain_types(message: &str) -> String {
    [
        ("expected u64", "expected a whole number, 0 or more"),
        (
            "expected u32",
            "expected a whole number, 0 or more, at most 4294967295",
        ),
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

/// The longest TigerBeetle result name a `refused` expectation may give (the longest of
/// `create_transfers` in TigerBeetle 0.16.78 has 53 characters).
const RESULT_NAME_CHARACTERS_MAX: usize = 64;
/// The fewest and the most callers a `create` may have at once (`callers`).
const CALLER_COUNT_MIN: u32 = 1;
const CALLER_COUNT_MAX: u32 = 4;
/// The shortest and the longest `wait`, in seconds.
const WAIT_SECONDS_MIN: f64 = 0.0;
const WAIT_SECONDS_MAX: f64 = 60.0;

/// Every step kind (`do`), in the order the message about an unknown one lists them.
const STEP_KINDS: [&str; 13] = [
    "create", "read", "fail", "heal", "restart", "recover", "wait", "deposit", "bonus", "reserve",
    "post", "lose-row", "close",
];

/// The place of an optional value in the text, if it is there.
fn span_of<T>(value: &Option<Spanned<T>>) -> Option<Range<usize>> {
    value.as_ref().map(Spanned::span)
}

/// The keys each step kind takes, besides `do`, `narration` and `expect`.
fn step_keys(action: &str) -> &'static [&'static str] {
    match action {
        "create" => &["user", "name", "crash", "order", "callers", "id"],
        "read" => &["user"],
        "fail" => &["store", "how", "replica"],
        "heal" => &["store"],
        "wait" => &["seconds"],
        "deposit" => &["user", "amount"],
        "bonus" => &["amount"],
        "lose-row" => &["user"],
        "reserve" => &["user", "amount", "timeout", "crash"],
        "post" => &["user"],
        "close" => &["user", "crash"],
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
        self.printable(&raw.title, "title", text::NAME_CHARACTERS_MAX)?;
        if let Some(summary) = &raw.summary {
            self.laid_out_text(summary, "summary")?;
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
        let bank_funds = self.bank_funds(&raw)?;
        let mut users: Vec<String> = Vec::new();
        for step in raw.steps.get_ref() {
            if let Some(user) = &step.user {
                self.printable(user, "user id", text::USER_ID_CHARACTERS_MAX)?;
            }
            if let Some(name) = &step.name {
                self.printable(name, "name", text::NAME_CHARACTERS_MAX)?;
            }
            self.laid_out_text(&step.narration, "narration")?;
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
            summary: raw.summary.map(Spanned::into_inner).unwrap_or_default(),
            seed: raw.seed,
            lanes,
            replicas,
            bank_funds,
            steps,
            expect,
        })
    }

    /// The bank's funds, if the bank's account is a limited pool: above 0 (an empty pool
    /// would refuse every reservation), and at most TigerBeetle's largest amount that a
    /// whole number of the file can say.
    fn bank_funds(&self, raw: &RawScenario) -> Result<Option<u64>, ScenarioError> {
        match &raw.bank_funds {
            Some(funds) if *funds.get_ref() == 0 => Err(self.error(
                funds.span(),
                "`bank_funds` must be above 0 (leave it out for a bank with no balance limit)",
            )),
            other => Ok(other.as_ref().map(|funds| *funds.get_ref())),
        }
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

    /// A one-line text of the file (a user id, a name, the title): printable, not empty,
    /// at most `characters_max` long.
    fn printable(
        &self,
        value: &Spanned<String>,
        what: &str,
        characters_max: usize,
    ) -> Result<(), ScenarioError> {
        match text::unprintable_reason(what, value.get_ref(), characters_max) {
            Some(reason) => Err(self.error(value.span(), reason)),
            None => Ok(()),
        }
    }

    /// Text laid out in lines (a narration, the summary): line breaks and tabs are
    /// allowed, no other control.
    fn laid_out_text(&self, value: &Spanned<String>, what: &str) -> Result<(), ScenarioError> {
        let hostile = value.get_ref().chars().find(|character| {
            text::is_hostile(*character) && !matches!(character, '\n' | '\r' | '\t')
        });
        match hostile {
            Some(character) => Err(self.error(
                value.span(),
                format!(
                    "the {what} holds the character {} that does not print (only printable text, line breaks and tabs are allowed)",
                    character.escape_unicode()
                ),
            )),
            None => Ok(()),
        }
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
        let names: Vec<&str> = passed.iter().map(|point| point.name()).collect();
        let point: HoldPoint = spanned.get_ref().parse().map_err(|_| {
            self.error(
                spanned.span(),
                format!(
                    "unknown crash point `{}` (this step holds at: {})",
                    spanned.get_ref(),
                    names.join(", ")
                ),
            )
        })?;
        if !passed.contains(&point) {
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
        // Empty and unprintable ids were refused with the scenario's texts.
        let user = self.required(&raw.user, "user", &raw.action)?;
        Ok(user.get_ref().clone())
    }

    /// A reservation's timeout in seconds: at least 1, because TigerBeetle reads a
    /// pending transfer's timeout of 0 as "never expires".
    fn reservation_timeout(&self, raw: &RawStep) -> Result<u32, ScenarioError> {
        let timeout = self.required(&raw.timeout, "timeout", &raw.action)?;
        if *timeout.get_ref() == 0 {
            return Err(self.error(
                timeout.span(),
                "`timeout` must be at least 1 (seconds): TigerBeetle reads 0 as no timeout, so the reservation would never expire",
            ));
        }
        Ok(*timeout.get_ref())
    }

    /// Rejects a key that the step's kind does not take: it would be silently ignored.
    fn check_keys(&self, raw: &RawStep) -> Result<(), ScenarioError> {
        let kind = raw.action.get_ref().as_str();
        let allowed = step_keys(kind);
        let present = [
            ("user", span_of(&raw.user)),
            ("name", span_of(&raw.name)),
            ("crash", span_of(&raw.crash)),
            ("order", span_of(&raw.order)),
            ("store", span_of(&raw.store)),
            ("how", span_of(&raw.how)),
            ("replica", span_of(&raw.replica)),
            ("seconds", span_of(&raw.seconds)),
            ("amount", span_of(&raw.amount)),
            ("timeout", span_of(&raw.timeout)),
            ("callers", span_of(&raw.callers)),
            ("id", span_of(&raw.id)),
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
            || expectation.refused.is_some()
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

    /// The narration lint: a narration that names a lane says something about it, so the
    /// step must check that lane, or the sentence could be false and `play` still pass.
    /// It is an error, not a warning: like a misspelt key, an unchecked claim is a defect
    /// of the file, and it is found before anything runs.
    fn check_narrated_lanes(
        &self,
        narration: &Spanned<String>,
        lanes: &[Lane],
        expect: &BTreeMap<Lane, Expectation>,
    ) -> Result<(), ScenarioError> {
        let span = narration.span();
        let Some(source) = self.text.get(span.clone()) else {
            return Ok(());
        };
        for (lane, offset) in crate::domain::narration::lanes_named(source, lanes) {
            if expect
                .get(&lane)
                .is_some_and(|expectation| !expectation.checks_nothing())
            {
                continue;
            }
            let at = span.start + offset;
            return Err(self.error(
                at..at,
                format!(
                    "the narration names the lane `{lane}`, but this step expects nothing of it: add a `[step.expect.{lane}]` that checks what the narration says"
                ),
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
        self.check_narrated_lanes(&raw.narration, lanes, &expect)?;
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
            "bonus" => Ok(Action::Bonus {
                amount: self.amount(raw)?,
            }),
            "lose-row" => Ok(Action::LoseRow {
                user: self.user(raw)?,
            }),
            "close" => Ok(Action::Close {
                user: self.user(raw)?,
                crash: self.crash_point(&raw.crash, &HoldPoint::CLOSE_CRASH_POINTS)?,
            }),
            "reserve" => Ok(Action::Reserve {
                user: self.user(raw)?,
                amount: self.amount(raw)?,
                timeout_seconds: self.reservation_timeout(raw)?,
                crash: self.crash_point(&raw.crash, &[HoldPoint::BeforePost])?,
            }),
            "post" => Ok(Action::Post {
                user: self.user(raw)?,
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
        // Who chooses the account's id: each lane draws its own (the default), or the
        // caller, who sends an idempotency key the id is derived from.
        let key = match raw.id.as_ref().map(|id| (id.get_ref().as_str(), id.span())) {
            None | Some(("lane", _)) => None,
            Some(("caller", _)) => Some(crate::domain::ids::idempotency_key(&user)),
            Some((other, span)) => {
                return Err(self.error(
                    span,
                    format!("unknown `id = \"{other}\"` (expected \"lane\" or \"caller\")"),
                ));
            }
        };
        Ok(Action::Create {
            key,
            name: raw
                .name
                .as_ref()
                .map(|name| name.get_ref().clone())
                .unwrap_or_else(|| capitalized(&user)),
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
        let outcome = raw
            .outcome
            .as_ref()
            .map(|outcome| self.outcome(outcome))
            .transpose()?;
        let outcomes = raw
            .outcomes
            .iter()
            .map(|outcome| self.outcome(outcome))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Expectation {
            user: raw.user,
            answer,
            outcome,
            outcomes,
            balance: raw.balance.map(i128::from),
            pending: raw.pending.map(u128::from),
            refused: raw
                .refused
                .as_ref()
                .map(|name| self.result_name(name))
                .transpose()?,
            violations: self.violation_list(&raw.violations)?,
            absent: self.violation_list(&raw.absent)?,
        })
    }

    /// A TigerBeetle result name as its docs spell it: lowercase words joined by `_`.
    fn result_name(&self, name: &Spanned<String>) -> Result<String, ScenarioError> {
        let text = name.get_ref();
        let well_formed = !text.is_empty()
            && text.len() <= RESULT_NAME_CHARACTERS_MAX
            && !text.starts_with('_')
            && !text.ends_with('_')
            && text.chars().all(|character| {
                character.is_ascii_lowercase() || character.is_ascii_digit() || character == '_'
            });
        if well_formed {
            return Ok(text.clone());
        }
        Err(self.error(
            name.span(),
            format!(
                "`refused = \"{}\"` is not a TigerBeetle result name (expected one as its docs spell it, such as `exceeds_credits`)",
                text.escape_debug()
            ),
        ))
    }

    fn outcome(&self, outcome: &Spanned<String>) -> Result<ExpectedOutcome, ScenarioError> {
        ExpectedOutcome::parse(outcome.get_ref()).ok_or_else(|| {
            self.error(
                outcome.span(),
                format!(
                    "unknown outcome `{}` (expected one of: {})",
                    outcome.get_ref(),
                    ExpectedOutcome::names().join(", ")
                ),
            )
        })
    }

    fn final_expectation(
        &self,
        raw: RawFinalExpectation,
    ) -> Result<FinalExpectation, ScenarioError> {
        let verdict = raw
            .verdict
            .as_ref()
            .map(|verdict| {
                verdict.get_ref().parse::<Verdict>().map_err(|_| {
                    self.error(
                        verdict.span(),
                        format!(
                            "unknown verdict `{}` (expected kept, broken or undetermined)",
                            verdict.get_ref()
                        ),
                    )
                })
            })
            .transpose()?;
        Ok(FinalExpectation {
            verdict,
            seen: self.violation_list(&raw.seen)?,
            never: self.violation_list(&raw.never)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lane::WriteOrder;
    use crate::domain::verdict::Answer;

    /// A valid scenario that the cases below edit: every line number in them counts from
    /// this text.
    const BASE: &str = r#"title = "Base"
seed = 1
lanes = ["record-first", "durable"]

[[step]]
do = "create"
user = "alice"
narration = "Alice signs up."
"#;

    fn parsed(text: &str) -> Result<Scenario, ScenarioError> {
        scenario(Path::new("case.toml"), text)
    }

    /// BASE with `old` replaced by `new` (which must be there: else the case tests BASE).
    fn edited(old: &str, new: &str) -> String {
        assert!(BASE.contains(old), "BASE holds {old:?}");
        BASE.replacen(old, new, 1)
    }

    /// BASE with one more step, whose `do` is on line 11.
    fn with_step(step: &str) -> String {
        format!("{BASE}\n[[step]]\n{step}")
    }

    /// Goal: the base of the cases below is valid, and reads as the model says (so each
    /// case fails for its own edit only). Method: parse it and look at every field.
    #[test]
    fn the_base_scenario_parses() {
        let scenario = parsed(BASE).expect("valid");
        assert_eq!(scenario.title, "Base");
        assert_eq!(scenario.summary, "");
        assert_eq!(scenario.seed, 1);
        assert_eq!(scenario.lanes, [Lane::RecordFirst, Lane::Durable]);
        assert_eq!(scenario.replicas, 1);
        assert_eq!(scenario.bank_funds, None);
        assert_eq!(scenario.steps.len(), 1);
        assert_eq!(
            scenario.steps[0].action,
            Action::Create {
                user: "alice".to_string(),
                name: "Alice".to_string(),
                crash: None,
                order: None,
                callers: 1,
                key: None,
            }
        );
        assert_eq!(scenario.steps[0].narration, "Alice signs up.");
        assert!(scenario.steps[0].expect.is_empty());
        assert!(scenario.expect.is_empty());
    }

    /// Goal: every message of the loader, with the line and column it points at (the
    /// first character of the value at fault, or of the step's `do` when the value is
    /// missing). Method: one edit of BASE per message; compare the whole error text.
    // Past 70 lines by design: one table of one line per message, and a short loop.
    #[test]
    fn every_validation_message_names_its_line_and_column() {
        let cases: Vec<(String, &str)> = vec![
            // The TOML parser's own messages, in a scenario writer's words.
            (
                format!("{BASE}\n[expect.durable]\nverdict ="),
                "11:10: a value is missing or cannot be read here",
            ),
            (
                edited("seed = 1", "seed = = 1"),
                "2:8: invalid string; expected `\"`, `'`",
            ),
            (
                edited("seed = 1", "seed = -1"),
                "2:8: invalid value: integer `-1`, expected a whole number, 0 or more",
            ),
            (
                edited("user = \"alice\"", "user = \"alice\"\ncallers = -1"),
                "8:11: invalid value: integer `-1`, expected a whole number, 0 or more, at most 4294967295",
            ),
            (
                edited("seed = 1", "seed = 1\nreplicas = 2.5"),
                "3:12: invalid type: floating point `2.5`, expected a whole number, 0 or more",
            ),
            (
                with_step("do = \"wait\"\nseconds = \"long\"\nnarration = \"n\""),
                "12:11: invalid type: string \"long\", expected a number",
            ),
            (
                with_step("do = \"deposit\"\nuser = \"alice\"\namount = -5\nnarration = \"n\""),
                "13:10: invalid value: integer `-5`, expected a whole number, 0 or more",
            ),
            (
                edited("narration = \"Alice signs up.\"\n", "narration = \"Alice signs up.\"\n[step.expect.durable]\nbalance = \"ten\"\n"),
                "10:11: invalid type: string \"ten\", expected a whole number",
            ),
            (
                format!("[step.expect.durable]\nanswer = \"exists\"\n{BASE}"),
                "7:1: invalid table header; duplicate key `step` in document root (a [step.expect.<lane>] table belongs after its [[step]], not before the first one)",
            ),
            (
                edited("seed = 1", "seed = 1\ncolour = \"red\""),
                "3:1: unknown field `colour`, expected one of `title`, `summary`, `seed`, `lanes`, `replicas`, `bank_funds`, `step`, `expect`",
            ),
            (edited("seed = 1\n", ""), "1:1: missing field `seed`"),
            // The scenario.
            (edited("\"Base\"", "\" \""), "1:9: the title is empty"),
            (
                edited("\"durable\"", "\"write-first\""),
                "3:26: unknown lane `write-first` (expected one of: record-first, read-reference, write-last-read-first, durable, outbox, regenerated-id, record-first-read-record)",
            ),
            (
                edited("\"durable\"", "\"record-first\""),
                "3:26: lane `record-first` is listed twice",
            ),
            (
                edited("[\"record-first\", \"durable\"]", "[]"),
                "3:9: `lanes` names no lane (expected at least one)",
            ),
            (
                "title = \"Base\"\nseed = 1\nlanes = [\"durable\"]\nstep = []\n".to_string(),
                "4:8: the scenario has no [[step]]",
            ),
            (
                edited("seed = 1", "seed = 1\nreplicas = 4"),
                "3:12: `replicas` must be 1, 3 or 5",
            ),
            (
                with_step("do = \"fail\"\nstore = \"tigerbeetle\"\nreplica = 2\nnarration = \"n\""),
                "13:11: `replica` must be between 1 and 1 (the scenario's `replicas`)",
            ),
            (
                format!("{}\n[[step]]\ndo = \"fail\"\nstore = \"tigerbeetle\"\nreplica = 0\nnarration = \"n\"", edited("seed = 1", "seed = 1\nreplicas = 3")),
                "14:11: `replica` must be between 1 and 3 (the scenario's `replicas`)",
            ),
            (
                format!("{BASE}\n[expect.outbox]\nverdict = \"kept\"\n"),
                "10:1: expectations for lane `outbox`, which is not in `lanes`",
            ),
            (
                format!("{BASE}\n[expect.nowhere]\nverdict = \"kept\"\n"),
                "10:1: unknown lane `nowhere` (expected one of: record-first, read-reference, write-last-read-first, durable, outbox, regenerated-id, record-first-read-record)",
            ),
            // A step.
            (
                edited("do = \"create\"", "do = \"explode\""),
                "6:6: unknown step `explode` (expected create, read, fail, heal, restart, recover, wait, deposit, bonus, reserve, post, lose-row or close)",
            ),
            (
                edited("user = \"alice\"\n", ""),
                "6:6: step `create` needs `user`",
            ),
            (
                edited("narration = \"Alice signs up.\"", "narration = \"  \""),
                "8:13: the narration is empty",
            ),
            (
                edited("user = \"alice\"", "user = \"alice\"\nseconds = 1"),
                "8:11: step `create` does not take `seconds` (it takes user, name, crash, order, callers, id)",
            ),
            (
                edited("user = \"alice\"", "user = \"alice\"\nid = \"server\""),
                "8:6: unknown `id = \"server\"` (expected \"lane\" or \"caller\")",
            ),
            (
                with_step("do = \"read\"\nuser = \"alice\"\nid = \"caller\"\nnarration = \"n\""),
                "13:6: step `read` does not take `id` (it takes user)",
            ),
            (
                with_step("do = \"restart\"\nuser = \"alice\"\nnarration = \"n\""),
                "12:8: step `restart` does not take `user` (it takes no other key)",
            ),
            (
                with_step("do = \"read\"\nuser = \"alice\"\nname = \"Al\"\nnarration = \"n\""),
                "13:8: step `read` does not take `name` (it takes user)",
            ),
            (
                edited("user = \"alice\"", "user = \"alice\"\ncrash = \"mid-air\""),
                "8:9: unknown crash point `mid-air` (this step holds at: before-first-write, between-writes, record-in-flight, after-second-write)",
            ),
            (
                edited("user = \"alice\"", "user = \"alice\"\ncrash = \"before-post\""),
                "8:9: this step never holds at `before-post`, so nothing would crash (it holds at: before-first-write, between-writes, record-in-flight, after-second-write)",
            ),
            (
                edited("user = \"alice\"", "user = \"alice\"\norder = \"sideways\""),
                "8:9: unknown order `sideways` (expected record-first or reference-first)",
            ),
            (
                edited("user = \"alice\"", "user = \"alice\"\ncallers = 5"),
                "8:11: `callers` must be between 1 and 4",
            ),
            (
                edited("user = \"alice\"", "user = \"alice\"\ncallers = 0"),
                "8:11: `callers` must be between 1 and 4",
            ),
            (
                with_step("do = \"fail\"\nnarration = \"n\""),
                "11:6: step `fail` needs `store`",
            ),
            (
                with_step("do = \"fail\"\nstore = \"sqlite\"\nhow = \"kill\"\nnarration = \"n\""),
                "13:7: expected store = \"sqlite\" (how = \"lock\" or \"read-only\") or store = \"tigerbeetle\" (how = \"pause\" or \"kill\")",
            ),
            (
                with_step("do = \"fail\"\nstore = \"postgres\"\nnarration = \"n\""),
                "12:9: expected store = \"sqlite\" (how = \"lock\" or \"read-only\") or store = \"tigerbeetle\" (how = \"pause\" or \"kill\")",
            ),
            (
                with_step("do = \"heal\"\nstore = \"postgres\"\nnarration = \"n\""),
                "12:9: unknown store `postgres` (expected sqlite or tigerbeetle)",
            ),
            (
                with_step("do = \"wait\"\nnarration = \"n\""),
                "11:6: step `wait` needs `seconds`",
            ),
            (
                with_step("do = \"wait\"\nseconds = 61\nnarration = \"n\""),
                "12:11: `seconds` must be between 0 and 60",
            ),
            (
                with_step("do = \"wait\"\nseconds = -0.5\nnarration = \"n\""),
                "12:11: `seconds` must be between 0 and 60",
            ),
            (
                with_step("do = \"deposit\"\nuser = \"alice\"\nnarration = \"n\""),
                "11:6: step `deposit` needs `amount`",
            ),
            (
                with_step("do = \"deposit\"\nuser = \"alice\"\namount = 0\nnarration = \"n\""),
                "13:10: `amount` must be above 0",
            ),
            (
                with_step("do = \"reserve\"\nuser = \"alice\"\namount = 5\nnarration = \"n\""),
                "11:6: step `reserve` needs `timeout`",
            ),
            (
                with_step("do = \"reserve\"\nuser = \"alice\"\namount = 5\ntimeout = 0\nnarration = \"n\""),
                "14:11: `timeout` must be at least 1 (seconds): TigerBeetle reads 0 as no timeout, so the reservation would never expire",
            ),
            (
                with_step("do = \"reserve\"\nuser = \"\"\namount = 5\ntimeout = 2\nnarration = \"n\""),
                "12:8: the user id is empty",
            ),
            (
                with_step("do = \"reserve\"\nuser = \"alice\"\namount = 5\ntimeout = 2\ncrash = \"between-writes\"\nnarration = \"n\""),
                "15:9: this step never holds at `between-writes`, so nothing would crash (it holds at: before-post)",
            ),
            (
                with_step("do = \"close\"\nuser = \"alice\"\ncrash = \"record-in-flight\"\nnarration = \"n\""),
                "13:9: this step never holds at `record-in-flight`, so nothing would crash (it holds at: before-first-write, between-writes, after-second-write)",
            ),
            (
                with_step("do = \"close\"\nuser = \"alice\"\namount = 5\nnarration = \"n\""),
                "13:10: step `close` does not take `amount` (it takes user, crash)",
            ),
            (
                with_step("do = \"post\"\nnarration = \"n\""),
                "11:6: step `post` needs `user`",
            ),
            (
                with_step("do = \"post\"\nuser = \"alice\"\ncrash = \"before-post\"\nnarration = \"n\""),
                "13:9: step `post` does not take `crash` (it takes user)",
            ),
            (
                edited("seed = 1", "seed = 1\nbank_funds = 0"),
                "3:14: `bank_funds` must be above 0 (leave it out for a bank with no balance limit)",
            ),
            (
                edited("seed = 1", "seed = 1\nbank_funds = -150"),
                "3:14: invalid value: integer `-150`, expected a whole number, 0 or more",
            ),
            // A step's expectations.
            (
                format!("{BASE}\n[step.expect.durable]\nanswer = \"maybe\"\n"),
                "11:10: unknown answer `maybe` (expected one of: exists, absent, pending, closed, unknown)",
            ),
            (
                format!("{BASE}\n[step.expect.durable]\noutcome = \"lost\"\n"),
                "11:11: unknown outcome `lost` (expected one of: created, closed, pending, rejected, failed, incomplete, unknown, crashed, none)",
            ),
            (
                format!("{BASE}\n[step.expect.durable]\nrefused = \"exceeds-credits\"\n"),
                "11:11: `refused = \"exceeds-credits\"` is not a TigerBeetle result name (expected one as its docs spell it, such as `exceeds_credits`)",
            ),
            (
                format!("{BASE}\n[step.expect.durable]\nrefused = \"\"\n"),
                "11:11: `refused = \"\"` is not a TigerBeetle result name (expected one as its docs spell it, such as `exceeds_credits`)",
            ),
            (
                format!("{BASE}\n[step.expect.durable]\nrefused = 5\n"),
                "11:11: invalid type: integer `5`, expected a string",
            ),
            (
                format!("{BASE}\n[step.expect.durable]\noutcomes = [\"created\", \"gone\"]\n"),
                "11:24: unknown outcome `gone` (expected one of: created, closed, pending, rejected, failed, incomplete, unknown, crashed, none)",
            ),
            (
                format!("{BASE}\n[step.expect.durable]\noutcomes = [\"created\", \"created\"]\n"),
                "10:1: `outcomes` lists 2 outcome(s) for a step with 1 caller(s)",
            ),
            (
                format!("{BASE}\n[step.expect.durable]\nviolations = [\"oops\"]\n"),
                "11:15: unknown violation `oops` (expected one of: wrong-answer, untraceable-account, untraceable-funds, duplicate-account, exists-different, ordering-violation, unfinished-request, orphan-reference)",
            ),
            (
                format!("{BASE}\n[step.expect.durable]\nabsent = [\"oops\"]\n"),
                "11:11: unknown violation `oops` (expected one of: wrong-answer, untraceable-account, untraceable-funds, duplicate-account, exists-different, ordering-violation, unfinished-request, orphan-reference)",
            ),
            (
                format!("{BASE}\n[step.expect.durable]\nuser = \"zed\"\n"),
                "10:1: `user = \"zed\"` is not a user of this scenario (no step names it)",
            ),
            (
                "title = \"t\"\nseed = 1\nlanes = [\"durable\"]\n\n[[step]]\ndo = \"recover\"\nnarration = \"n\"\n\n[step.expect.durable]\nanswer = \"absent\"\n".to_string(),
                "9:1: this expectation is about a user, but no step of the scenario names one",
            ),
            (
                format!("{BASE}\n[step.expect.outbox]\nanswer = \"absent\"\n"),
                "10:1: expectations for lane `outbox`, which is not in `lanes`",
            ),
            (
                format!("{BASE}\n[step.expect.durable]\nnoise = 1\n"),
                "11:1: unknown field `noise`, expected one of `user`, `answer`, `outcome`, `outcomes`, `balance`, `pending`, `refused`, `violations`, `absent`",
            ),
            // The run's expectations.
            (
                format!("{BASE}\n[expect.durable]\nverdict = \"fine\"\n"),
                "11:11: unknown verdict `fine` (expected kept, broken or undetermined)",
            ),
            (
                format!("{BASE}\n[expect.durable]\nseen = [\"oops\"]\n"),
                "11:9: unknown violation `oops` (expected one of: wrong-answer, untraceable-account, untraceable-funds, duplicate-account, exists-different, ordering-violation, unfinished-request, orphan-reference)",
            ),
            (
                format!("{BASE}\n[expect.durable]\nnever = [\"oops\"]\n"),
                "11:10: unknown violation `oops` (expected one of: wrong-answer, untraceable-account, untraceable-funds, duplicate-account, exists-different, ordering-violation, unfinished-request, orphan-reference)",
            ),
        ];
        let mut wrong = Vec::new();
        for (text, expected) in &cases {
            let got = match parsed(text) {
                Ok(_) => "valid".to_string(),
                Err(error) => error.to_string(),
            };
            let expected = format!("case.toml:{expected}");
            if got != expected {
                wrong.push(format!("expected {expected}\n     got {got}\n  in\n{text}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    }

    /// Goal: a file that cannot be read is an error at its line 1, column 1. Method: load
    /// a path that does not exist.
    #[test]
    fn an_unreadable_file_is_an_error_at_its_start() {
        let error = crate::domain::scenario::load(Path::new("/nonexistent/case.toml"))
            .expect_err("no such file");
        assert_eq!((error.line, error.column), (1, 1));
        assert!(
            error
                .to_string()
                .starts_with("/nonexistent/case.toml:1:1: cannot read the file: "),
            "{error}"
        );
    }

    /// Goal: each `fail` names the fault its store, `how` and `replica` mean (a replica
    /// counts from 1 in the file and from 0 in the fault). Method: a table.
    #[test]
    fn each_fail_step_names_its_fault() {
        let cases = [
            ("store = \"sqlite\"", Fault::ReferenceLocked),
            ("store = \"sqlite\"\nhow = \"lock\"", Fault::ReferenceLocked),
            (
                "store = \"sqlite\"\nhow = \"read-only\"",
                Fault::ReferenceReadOnly,
            ),
            ("store = \"tigerbeetle\"", Fault::RecordPaused),
            (
                "store = \"tigerbeetle\"\nhow = \"pause\"",
                Fault::RecordPaused,
            ),
            (
                "store = \"tigerbeetle\"\nhow = \"kill\"",
                Fault::RecordKilled,
            ),
            (
                "store = \"tigerbeetle\"\nreplica = 1",
                Fault::ReplicaPaused(0),
            ),
            (
                "store = \"tigerbeetle\"\nhow = \"pause\"\nreplica = 3",
                Fault::ReplicaPaused(2),
            ),
            (
                "store = \"tigerbeetle\"\nhow = \"kill\"\nreplica = 2",
                Fault::ReplicaKilled(1),
            ),
        ];
        let cluster = edited("seed = 1", "seed = 1\nreplicas = 3");
        for (keys, fault) in cases {
            let text = format!("{cluster}\n[[step]]\ndo = \"fail\"\n{keys}\nnarration = \"n\"\n");
            let scenario = parsed(&text).unwrap_or_else(|error| panic!("{keys}: {error}"));
            assert_eq!(scenario.replicas, 3);
            assert_eq!(scenario.steps[1].action, Action::Fail(fault), "{keys}");
        }
    }

    /// Goal: every other step kind reads into its action, with its defaults. Method: one
    /// step of each kind after BASE.
    #[test]
    fn each_step_kind_reads_into_its_action() {
        let cases = [
            (
                "do = \"create\"\nuser = \"bob\"\nname = \"Robert\"\ncrash = \"between-writes\"\norder = \"record-first\"\ncallers = 4",
                Action::Create {
                    user: "bob".to_string(),
                    name: "Robert".to_string(),
                    crash: Some(HoldPoint::BetweenWrites),
                    order: Some(WriteOrder::RecordFirst),
                    callers: 4,
                    key: None,
                },
            ),
            (
                "do = \"create\"\nuser = \"bob\"\nid = \"caller\"",
                Action::Create {
                    user: "bob".to_string(),
                    name: "Bob".to_string(),
                    crash: None,
                    order: None,
                    callers: 1,
                    key: Some("sign-up:bob".to_string()),
                },
            ),
            (
                "do = \"read\"\nuser = \"alice\"",
                Action::Read {
                    user: "alice".to_string(),
                },
            ),
            (
                "do = \"heal\"\nstore = \"sqlite\"",
                Action::Heal(StoreName::Reference),
            ),
            (
                "do = \"heal\"\nstore = \"tigerbeetle\"",
                Action::Heal(StoreName::Record),
            ),
            ("do = \"restart\"", Action::Restart),
            ("do = \"recover\"", Action::Recover),
            (
                "do = \"wait\"\nseconds = 60",
                Action::Wait { seconds: 60.0 },
            ),
            ("do = \"wait\"\nseconds = 0", Action::Wait { seconds: 0.0 }),
            (
                "do = \"deposit\"\nuser = \"alice\"\namount = 7",
                Action::Deposit {
                    user: "alice".to_string(),
                    amount: 7,
                },
            ),
            (
                "do = \"reserve\"\nuser = \"alice\"\namount = 5\ntimeout = 2\ncrash = \"before-post\"",
                Action::Reserve {
                    user: "alice".to_string(),
                    amount: 5,
                    timeout_seconds: 2,
                    crash: Some(HoldPoint::BeforePost),
                },
            ),
            (
                "do = \"post\"\nuser = \"alice\"",
                Action::Post {
                    user: "alice".to_string(),
                },
            ),
            (
                "do = \"close\"\nuser = \"alice\"\ncrash = \"between-writes\"",
                Action::Close {
                    user: "alice".to_string(),
                    crash: Some(HoldPoint::BetweenWrites),
                },
            ),
        ];
        for (keys, action) in cases {
            let text = with_step(&format!("{keys}\nnarration = \"  n  \"\n"));
            let scenario = parsed(&text).unwrap_or_else(|error| panic!("{keys}: {error}"));
            assert_eq!(scenario.steps[1].action, action, "{keys}");
            assert_eq!(scenario.steps[1].narration, "n", "trimmed");
        }
    }

    /// Goal: `bank_funds` makes the bank a limited pool of that many units, and leaving
    /// it out leaves the bank unlimited (as the base shows). Method: parse BASE with it.
    #[test]
    fn bank_funds_reads_into_the_scenario() {
        let scenario = parsed(&edited("seed = 1", "seed = 1\nbank_funds = 150")).expect("valid");
        assert_eq!(scenario.bank_funds, Some(150));
    }

    /// Goal: expectations read into the model, the lane's key naming its lane. Method: a
    /// step expectation and a final one with every field.
    #[test]
    fn expectations_read_into_the_model() {
        let text = format!(
            "{BASE}\n[step.expect.durable]\nuser = \"alice\"\nanswer = \"pending\"\noutcome = \"crashed\"\noutcomes = [\"crashed\"]\nbalance = -3\npending = 4\nrefused = \"exceeds_credits\"\nviolations = [\"orphan-reference\"]\nabsent = [\"wrong-answer\"]\n\n[expect.record-first]\nverdict = \"broken\"\nseen = [\"untraceable-account\"]\nnever = [\"duplicate-account\"]\n"
        );
        let scenario = parsed(&text).expect("valid");
        assert_eq!(
            scenario.steps[0].expect.get(&Lane::Durable),
            Some(&Expectation {
                user: Some("alice".to_string()),
                answer: Some(Answer::Pending),
                outcome: Some(ExpectedOutcome::Heard(
                    crate::domain::outcome::CallerOutcome::Crashed
                )),
                outcomes: vec![ExpectedOutcome::Heard(
                    crate::domain::outcome::CallerOutcome::Crashed,
                )],
                balance: Some(-3),
                pending: Some(4),
                refused: Some("exceeds_credits".to_string()),
                violations: vec![ViolationKind::OrphanReference],
                absent: vec![ViolationKind::WrongAnswer],
            })
        );
        assert_eq!(
            scenario.expect.get(&Lane::RecordFirst),
            Some(&FinalExpectation {
                verdict: Some(Verdict::Broken),
                seen: vec![ViolationKind::UntraceableAccount],
                never: vec![ViolationKind::DuplicateAccount],
            })
        );
    }
}
