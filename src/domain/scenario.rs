//! Scenario files (`scenarios/*.toml`): a title, the lanes, a seed, narrated steps and the
//! expectations per step and lane. Loading validates everything before anything runs; a
//! bad file fails with its path, line and column and what was expected. The format is a
//! public interface, documented in `scenarios/README.md`.

mod parse;

use crate::domain::lane::{HoldPoint, Lane, WriteOrder};
use crate::domain::outcome::ExpectedOutcome;
use crate::domain::verdict::{Answer, Verdict, ViolationKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A scenario file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct ScenarioError {
    pub(crate) path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Which store a fault or a heal applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreName {
    Reference,
    Record,
}

/// How a store is failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
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
    pub(crate) fn describe(self) -> &'static str {
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
pub(crate) enum Action {
    Create {
        user: String,
        name: String,
        crash: Option<HoldPoint>,
        order: Option<WriteOrder>,
        callers: u32,
        /// The idempotency key the caller sends when it chooses the account's id
        /// (`id = "caller"`); `None` when each lane draws the id itself.
        key: Option<String>,
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
    /// Every lane closes the user's account: TigerBeetle's closing transfers, and the
    /// SQLite row removed, in the lane's close order.
    Close {
        user: String,
        crash: Option<HoldPoint>,
    },
    /// The lane reserves an amount for the user as a pending transfer that expires.
    Reserve {
        user: String,
        amount: u64,
        timeout_seconds: u32,
        crash: Option<HoldPoint>,
    },
    /// The lane posts the user's newest reservation (pending transfer), which may have
    /// expired by then: a late post.
    Post {
        user: String,
    },
}

impl Action {
    /// One line saying what the step does, for transcripts and the screen.
    pub(crate) fn describe(&self) -> String {
        match self {
            Action::Create {
                user,
                crash,
                order,
                callers,
                name,
                key,
            } => {
                let mut text = format!("create {user}");
                if *name != capitalized(user) {
                    text.push_str(&format!(" named \"{name}\""));
                }
                if *callers > 1 {
                    text.push_str(&format!(" ({callers} callers at once)"));
                }
                if let Some(key) = key {
                    text.push_str(&format!(", the caller's idempotency key {key}"));
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
            Action::Close { user, crash } => {
                let mut text = format!("close {user}'s account");
                if let Some(point) = crash {
                    text.push_str(&format!(", crash {}", point.describe()));
                }
                text
            }
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
            Action::Post { user } => format!("post {user}'s reservation"),
        }
    }

    /// The user the step is about, if any.
    pub(crate) fn user(&self) -> Option<&str> {
        match self {
            Action::Create { user, .. }
            | Action::Read { user }
            | Action::Deposit { user, .. }
            | Action::LoseRow { user }
            | Action::Close { user, .. }
            | Action::Reserve { user, .. }
            | Action::Post { user } => Some(user),
            _ => None,
        }
    }
}

/// What a step expects of one lane once it has run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expectation {
    /// Whose answer `answer` is about (default: the step's user, else the scenario's first).
    pub(crate) user: Option<String>,
    pub(crate) answer: Option<Answer>,
    /// The request's result as its caller heard it (`created`, `crashed`, `unknown`, ...);
    /// with several callers, what every one of them heard.
    pub(crate) outcome: Option<ExpectedOutcome>,
    /// What each caller heard, in caller order (for a `create` with `callers`).
    pub(crate) outcomes: Vec<ExpectedOutcome>,
    /// The posted balance (credits minus debits) of the user's TigerBeetle account(s).
    pub(crate) balance: Option<i128>,
    /// The pending credits (reservations not yet posted or voided) of the user's account(s).
    pub(crate) pending: Option<u128>,
    /// The result name with which TigerBeetle refused a write of the user's request in
    /// this step (`exceeds_credits`, `pending_transfer_expired`, ...).
    pub(crate) refused: Option<String>,
    pub(crate) violations: Vec<ViolationKind>,
    pub(crate) absent: Vec<ViolationKind>,
}

impl Expectation {
    /// Whether the expectation checks nothing at all (an empty `[step.expect.<lane>]`).
    pub(crate) fn checks_nothing(&self) -> bool {
        self.answer.is_none()
            && self.outcome.is_none()
            && self.outcomes.is_empty()
            && self.balance.is_none()
            && self.pending.is_none()
            && self.refused.is_none()
            && self.violations.is_empty()
            && self.absent.is_empty()
    }
}

/// What the whole run expects of one lane.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FinalExpectation {
    /// `kept` (no error-level violation ever) or `broken`.
    pub(crate) verdict: Option<Verdict>,
    pub(crate) seen: Vec<ViolationKind>,
    pub(crate) never: Vec<ViolationKind>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub(crate) action: Action,
    pub narration: String,
    pub expect: BTreeMap<Lane, Expectation>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub(crate) path: PathBuf,
    pub title: String,
    pub summary: String,
    pub(crate) seed: u64,
    pub lanes: Vec<Lane>,
    /// TigerBeetle replicas on loopback: 1 (default), 3 or 5 (cluster mode).
    pub(crate) replicas: usize,
    /// When set, the bank's account on every lane's ledger is a limited pool: created with
    /// `debits_must_not_exceed_credits` and funded with this amount from an operator
    /// account. When not, it has no balance limit.
    pub(crate) bank_funds: Option<u64>,
    pub steps: Vec<Step>,
    pub expect: BTreeMap<Lane, FinalExpectation>,
}

impl Scenario {
    /// Every user the scenario's steps name, in order of first appearance.
    pub(crate) fn users(&self) -> Vec<String> {
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
    pub(crate) fn slug(&self) -> String {
        self.path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".to_string())
    }
}

/// Reads and validates a scenario file.
/// Only a regular file is read (a FIFO or a device would block or never end).
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let unreadable = |message: String| ScenarioError {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message,
    };
    let metadata = std::fs::metadata(path)
        .map_err(|error| unreadable(format!("cannot read the file: {error}")))?;
    if !metadata.is_file() {
        let kind = if metadata.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(unreadable(format!("cannot read the file: it is {kind}")));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| unreadable(format!("cannot read the file: {error}")))?;
    parse(path, &text)
}

/// Parses and validates scenario text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    parse::scenario(path, text)
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
