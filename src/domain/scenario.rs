//! Scenario files (`scenarios/*.toml`): a title, the lanes, a seed, narrated steps and the
//! expectations per step and lane. Loading validates everything before anything runs; a
//! bad file fails with its path, line and column and what was expected. The format is a
//! public interface, documented in `scenarios/README.md`.

use crate::domain::lane::{HoldPoint, Lane, WriteOrder};
use crate::domain::verdict::{Answer, ViolationKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A scenario file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct ScenarioError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Which store a fault or a heal applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreName {
    Reference,
    Record,
}

/// How a store is failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The controller holds SQLite's write lock: writes fail with "database is locked".
    ReferenceLocked,
    /// The reference store's folder is made read-only: writes fail, reads go on.
    ReferenceReadOnly,
    /// SIGSTOP: requests hang until the timeout; their outcome is unknown.
    RecordPaused,
    /// SIGKILL: the server is down until healed (restarted from its data file).
    RecordKilled,
    /// SIGSTOP of one replica of a cluster (0-based index).
    ReplicaPaused(usize),
    /// SIGKILL of one replica of a cluster (0-based index).
    ReplicaKilled(usize),
}

impl Fault {
    pub fn describe(self) -> &'static str {
        match self {
            Fault::ReferenceLocked => "SQLite locked by another writer",
            Fault::ReferenceReadOnly => "SQLite made read-only",
            Fault::RecordPaused => "TigerBeetle paused (SIGSTOP)",
            Fault::RecordKilled => "TigerBeetle killed (SIGKILL)",
            Fault::ReplicaPaused(_) => "one TigerBeetle replica paused (SIGSTOP)",
            Fault::ReplicaKilled(_) => "one TigerBeetle replica killed (SIGKILL)",
        }
    }
}

/// What one step does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Create {
        user: String,
        name: String,
        crash: Option<HoldPoint>,
        order: Option<WriteOrder>,
        callers: u32,
    },
    Read {
        user: String,
    },
    Fail(Fault),
    Heal(StoreName),
    /// Start new workers where they crashed; lanes with recovery resume on start.
    Restart,
    /// Run recovery in every lane that has one (journal, relay).
    Recover,
    Wait {
        seconds: f64,
    },
    /// The outside world (a payment processor) deposits into the account whose id the
    /// system gave the user: the id in the user's SQLite row.
    Deposit {
        user: String,
        amount: u64,
    },
    /// The reference store loses the user's row, as a restore from a backup taken before
    /// the row was written would: TigerBeetle keeps the account.
    LoseRow {
        user: String,
    },
    /// The bank pays `amount` to every customer account on the lane's ledger: money that
    /// reaches an account whether or not anybody was told about it.
    Bonus {
        amount: u64,
    },
    /// The lane reserves an amount for the user as a pending transfer that expires.
    Reserve {
        user: String,
        amount: u64,
        timeout_seconds: u32,
        crash: Option<HoldPoint>,
    },
}

impl Action {
    /// One line saying what the step does, for transcripts and the screen.
    pub fn describe(&self) -> String {
        match self {
            Action::Create {
                user,
                crash,
                order,
                callers,
                name,
            } => {
                let mut text = format!("create {user}");
                if *name != capitalized(user) {
                    text.push_str(&format!(" named \"{name}\""));
                }
                if *callers > 1 {
                    text.push_str(&format!(" ({callers} callers at once)"));
                }
                if order == &Some(WriteOrder::RecordFirst) {
                    text.push_str(", writing the record first (misbehaving writer)");
                }
                if let Some(point) = crash {
                    text.push_str(&format!(", crash {}", point.describe()));
                }
                text
            }
            Action::Read { user } => format!("does {user} exist?"),
            Action::Fail(fault) => format!("fail: {}", fault.describe()),
            Action::Heal(StoreName::Reference) => "heal SQLite".to_string(),
            Action::Heal(StoreName::Record) => "heal TigerBeetle".to_string(),
            Action::Restart => "restart crashed workers (recovery on start)".to_string(),
            Action::Recover => "run recovery".to_string(),
            Action::Wait { seconds } => format!("wait {seconds} s"),
            Action::Deposit { user, amount } => format!("deposit {amount} to {user}'s account"),
            Action::LoseRow { user } => {
                format!("SQLite is restored from a backup taken before {user}'s row")
            }
            Action::Bonus { amount } => {
                format!("the bank pays a bonus of {amount} to every account on its ledger")
            }
            Action::Reserve {
                user,
                amount,
                timeout_seconds,
                crash,
            } => {
                let mut text =
                    format!("reserve {amount} for {user} (expires after {timeout_seconds} s)");
                if let Some(point) = crash {
                    text.push_str(&format!(", crash {}", point.describe()));
                }
                text
            }
        }
    }

    /// The user the step is about, if any.
    pub fn user(&self) -> Option<&str> {
        match self {
            Action::Create { user, .. }
            | Action::Read { user }
            | Action::Deposit { user, .. }
            | Action::LoseRow { user }
            | Action::Reserve { user, .. } => Some(user),
            _ => None,
        }
    }
}

/// What a step expects of one lane once it has run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expectation {
    /// Whose answer `answer` is about (default: the step's user, else the scenario's first).
    pub user: Option<String>,
    pub answer: Option<Answer>,
    /// The request's result as its caller heard it (`created`, `crashed`, `unknown`, ...);
    /// with several callers, what every one of them heard.
    pub outcome: Option<String>,
    /// What each caller heard, in caller order (for a `create` with `callers`).
    pub outcomes: Vec<String>,
    /// The posted balance (credits minus debits) of the user's TigerBeetle account(s).
    pub balance: Option<i128>,
    /// The pending credits (reservations not yet posted or voided) of the user's account(s).
    pub pending: Option<u128>,
    pub violations: Vec<ViolationKind>,
    pub absent: Vec<ViolationKind>,
}

impl Expectation {
    /// Whether the expectation checks nothing at all (an empty `[step.expect.<lane>]`).
    pub fn checks_nothing(&self) -> bool {
        self.answer.is_none()
            && self.outcome.is_none()
            && self.outcomes.is_empty()
            && self.balance.is_none()
            && self.pending.is_none()
            && self.violations.is_empty()
            && self.absent.is_empty()
    }
}

/// What the whole run expects of one lane.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FinalExpectation {
    /// `kept` (no error-level violation ever) or `broken`.
    pub verdict: Option<String>,
    pub seen: Vec<ViolationKind>,
    pub never: Vec<ViolationKind>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub action: Action,
    pub narration: String,
    pub expect: BTreeMap<Lane, Expectation>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub path: PathBuf,
    pub title: String,
    pub summary: String,
    pub seed: u64,
    pub lanes: Vec<Lane>,
    /// TigerBeetle replicas on loopback: 1 (default), 3 or 5 (cluster mode).
    pub replicas: usize,
    pub steps: Vec<Step>,
    pub expect: BTreeMap<Lane, FinalExpectation>,
}

impl Scenario {
    /// Every user the scenario's steps name, in order of first appearance.
    pub fn users(&self) -> Vec<String> {
        let mut users: Vec<String> = Vec::new();
        for step in &self.steps {
            if let Some(user) = step.action.user() {
                if !users.iter().any(|known| known == user) {
                    users.push(user.to_string());
                }
            }
        }
        users
    }

    /// The file's stem, used to name its data directory.
    pub fn slug(&self) -> String {
        self.path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".to_string())
    }
}

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

/// The outcomes a step may expect of a request.
pub const OUTCOMES: [&str; 8] = [
    "created",
    "pending",
    "rejected",
    "failed",
    "incomplete",
    "unknown",
    "crashed",
    "none",
];

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|error| ScenarioError {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!("cannot read the file: {error}"),
    })?;
    parse(path, &text)
}

/// Parses and validates scenario text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
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

const STEP_KINDS: [&str; 11] = [
    "create", "read", "fail", "heal", "restart", "recover", "wait", "deposit", "bonus", "reserve",
    "lose-row",
];

/// The keys each step kind takes, besides `do`, `narration` and `expect`.
fn step_keys(action: &str) -> &'static [&'static str] {
    match action {
        "create" => &["user", "name", "crash", "order", "callers"],
        "read" => &["user"],
        "fail" => &["store", "how", "replica"],
        "heal" => &["store"],
        "wait" => &["seconds"],
        "deposit" => &["user", "amount"],
        "bonus" => &["amount"],
        "lose-row" => &["user"],
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
        let replicas = raw
            .replicas
            .as_ref()
            .map(|count| *count.get_ref())
            .unwrap_or(1);
        if ![1, 3, 5].contains(&replicas) {
            let span = raw.replicas.as_ref().map(Spanned::span).unwrap_or(0..0);
            return Err(self.error(span, "`replicas` must be 1, 3 or 5"));
        }
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
            .map_err(|error: String| self.error(span.clone(), error))?;
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
    ) -> Result<&'v T, ScenarioError> {
        value.as_ref().map(Spanned::get_ref).ok_or_else(|| {
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
        let amount = *self.required(&raw.amount, "amount", &raw.action)?;
        if amount == 0 {
            let span = raw.amount.as_ref().map(Spanned::span).unwrap_or(0..0);
            return Err(self.error(span, "`amount` must be above 0"));
        }
        Ok(amount)
    }

    /// Rejects a key that the step's kind does not take: it would be silently ignored.
    fn check_keys(&self, raw: &RawStep) -> Result<(), ScenarioError> {
        let kind = raw.action.get_ref().as_str();
        let allowed = step_keys(kind);
        let span = |value: Option<Range<usize>>| value.unwrap_or_else(|| raw.action.span());
        let present = [
            (
                "user",
                raw.user.as_ref().map(|value| span(Some(value.span()))),
            ),
            ("name", raw.name.as_ref().map(|_| span(None))),
            (
                "crash",
                raw.crash.as_ref().map(|value| span(Some(value.span()))),
            ),
            (
                "order",
                raw.order.as_ref().map(|value| span(Some(value.span()))),
            ),
            (
                "store",
                raw.store.as_ref().map(|value| span(Some(value.span()))),
            ),
            (
                "how",
                raw.how.as_ref().map(|value| span(Some(value.span()))),
            ),
            (
                "replica",
                raw.replica.as_ref().map(|value| span(Some(value.span()))),
            ),
            (
                "seconds",
                raw.seconds.as_ref().map(|value| span(Some(value.span()))),
            ),
            (
                "amount",
                raw.amount.as_ref().map(|value| span(Some(value.span()))),
            ),
            (
                "timeout",
                raw.timeout.as_ref().map(|value| span(Some(value.span()))),
            ),
            (
                "callers",
                raw.callers.as_ref().map(|value| span(Some(value.span()))),
            ),
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
        self.check_narrated_lanes(&raw.narration, lanes, &expect)?;
        Ok(Step {
            action,
            narration: raw.narration.into_inner().trim().to_string(),
            expect,
        })
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

    fn action(&self, raw: &RawStep) -> Result<Action, ScenarioError> {
        let user = || {
            self.required(&raw.user, "user", &raw.action)
                .map(|user| user.to_string())
        };
        let action = match raw.action.get_ref().as_str() {
            "create" => {
                let user = user()?;
                let order = match &raw.order {
                    None => None,
                    Some(order) => Some(match order.get_ref().as_str() {
                        "record-first" => WriteOrder::RecordFirst,
                        "reference-first" => WriteOrder::ReferenceFirst,
                        other => {
                            return Err(self.error(
                                order.span(),
                                format!("unknown order `{other}` (expected record-first or reference-first)"),
                            ));
                        }
                    }),
                };
                let callers = raw
                    .callers
                    .as_ref()
                    .map(|callers| *callers.get_ref())
                    .unwrap_or(1);
                if !(1..=4).contains(&callers) {
                    let span = raw.callers.as_ref().map(Spanned::span).unwrap_or(0..0);
                    return Err(self.error(span, "`callers` must be between 1 and 4"));
                }
                Action::Create {
                    name: raw.name.clone().unwrap_or_else(|| capitalized(&user)),
                    user,
                    crash: self.crash_point(&raw.crash, &HoldPoint::CRASH_POINTS)?,
                    order,
                    callers,
                }
            }
            "read" => Action::Read { user: user()? },
            "fail" => {
                let store = self.required(&raw.store, "store", &raw.action)?;
                let how = raw.how.as_ref().map(|how| how.get_ref().as_str());
                let replica = raw.replica.as_ref().map(|replica| *replica.get_ref() - 1);
                let fault = match (store.as_str(), how) {
                    ("tigerbeetle", None | Some("pause")) if replica.is_some() => {
                        Fault::ReplicaPaused(replica.unwrap_or_default())
                    }
                    ("tigerbeetle", Some("kill")) if replica.is_some() => {
                        Fault::ReplicaKilled(replica.unwrap_or_default())
                    }
                    ("sqlite", None | Some("lock")) => Fault::ReferenceLocked,
                    ("sqlite", Some("read-only")) => Fault::ReferenceReadOnly,
                    ("tigerbeetle", None | Some("pause")) => Fault::RecordPaused,
                    ("tigerbeetle", Some("kill")) => Fault::RecordKilled,
                    _ => {
                        let span = raw
                            .how
                            .as_ref()
                            .or(raw.store.as_ref())
                            .map(Spanned::span)
                            .unwrap_or(0..0);
                        return Err(self.error(
                            span,
                            "expected store = \"sqlite\" (how = \"lock\" or \"read-only\") or store = \"tigerbeetle\" (how = \"pause\" or \"kill\")",
                        ));
                    }
                };
                Action::Fail(fault)
            }
            "heal" => Action::Heal(self.store_name(&raw.store, &raw.action)?),
            "restart" => Action::Restart,
            "recover" => Action::Recover,
            "wait" => {
                let seconds = *self.required(&raw.seconds, "seconds", &raw.action)?;
                if !(0.0..=60.0).contains(&seconds) {
                    let span = raw.seconds.as_ref().map(Spanned::span).unwrap_or(0..0);
                    return Err(self.error(span, "`seconds` must be between 0 and 60"));
                }
                Action::Wait { seconds }
            }
            "lose-row" => Action::LoseRow { user: user()? },
            "bonus" => Action::Bonus {
                amount: self.amount(raw)?,
            },
            "deposit" => Action::Deposit {
                user: user()?,
                amount: self.amount(raw)?,
            },
            "reserve" => {
                let timeout_seconds = *self.required(&raw.timeout, "timeout", &raw.action)?;
                if timeout_seconds == 0 {
                    // TigerBeetle reads a pending transfer's zero timeout as "no timeout":
                    // such a hold would never expire, and the step promises that it does.
                    let span = raw.timeout.as_ref().map(Spanned::span).unwrap_or(0..0);
                    return Err(self.error(
                        span,
                        "`timeout` must be at least 1 second (TigerBeetle reads 0 as no timeout: the reservation would never expire)",
                    ));
                }
                Action::Reserve {
                    user: user()?,
                    amount: self.amount(raw)?,
                    timeout_seconds,
                    crash: self.crash_point(&raw.crash, &[HoldPoint::BeforePost])?,
                }
            }
            other => {
                return Err(self.error(
                    raw.action.span(),
                    format!(
                        "unknown step `{other}` (expected create, read, fail, heal, restart, recover, wait, deposit, bonus, reserve or lose-row)"
                    ),
                ));
            }
        };
        Ok(action)
    }

    fn store_name(
        &self,
        store: &Option<Spanned<String>>,
        action: &Spanned<String>,
    ) -> Result<StoreName, ScenarioError> {
        let name = self.required(store, "store", action)?;
        match name.as_str() {
            "sqlite" => Ok(StoreName::Reference),
            "tigerbeetle" => Ok(StoreName::Record),
            other => Err(self.error(
                store.as_ref().map(Spanned::span).unwrap_or(0..0),
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

fn capitalized(user: &str) -> String {
    let mut characters = user.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// The 1-based line and column of byte `offset` in `text`.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|index| index + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
