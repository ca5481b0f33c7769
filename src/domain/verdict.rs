//! Verdicts: from what both stores really hold for one lane, the lane's answer to "does X
//! exist?", the truth (what TigerBeetle holds: it is the system of record), and every
//! broken property of DESIGN.md as a named violation.

use crate::domain::ids::short_id;
use crate::domain::ids::user_key;
use crate::domain::lane::{Lane, Recovery};
use crate::domain::stored::JournalEntry;
use crate::domain::stored::RecordAccount;
use crate::domain::stored::{OutboxMessage, ReferenceRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// An answer to "does X exist?".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    Exists,
    Absent,
    /// Accepted but not complete: honest, never claims the account exists.
    Pending,
    /// The store the lane reads did not answer in time.
    Unknown,
}

impl Answer {
    pub fn name(self) -> &'static str {
        match self {
            Answer::Exists => "exists",
            Answer::Absent => "absent",
            Answer::Pending => "pending",
            Answer::Unknown => "unknown",
        }
    }

    /// Whether answering `self` when the truth is `truth` is wrong. Pending and unknown
    /// never claim existence, so they are never wrong; an unknown truth judges nothing.
    pub fn contradicts(self, truth: Answer) -> bool {
        matches!(
            (self, truth),
            (Answer::Exists, Answer::Absent) | (Answer::Absent, Answer::Exists)
        )
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for Answer {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            Answer::Exists,
            Answer::Absent,
            Answer::Pending,
            Answer::Unknown,
        ]
        .into_iter()
        .find(|answer| answer.name() == text)
        .ok_or_else(|| {
            format!("unknown answer `{text}` (expected exists, absent, pending or unknown)")
        })
    }
}

/// The named violations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ViolationKind {
    WrongAnswer,
    UntraceableAccount,
    UntraceableFunds,
    DuplicateAccount,
    ExistsDifferent,
    OrderingViolation,
    UnfinishedRequest,
    OrphanReference,
}

impl ViolationKind {
    pub const ALL: [ViolationKind; 8] = [
        ViolationKind::WrongAnswer,
        ViolationKind::UntraceableAccount,
        ViolationKind::UntraceableFunds,
        ViolationKind::DuplicateAccount,
        ViolationKind::ExistsDifferent,
        ViolationKind::OrderingViolation,
        ViolationKind::UnfinishedRequest,
        ViolationKind::OrphanReference,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::WrongAnswer => "wrong-answer",
            ViolationKind::UntraceableAccount => "untraceable-account",
            ViolationKind::UntraceableFunds => "untraceable-funds",
            ViolationKind::DuplicateAccount => "duplicate-account",
            ViolationKind::ExistsDifferent => "exists-different",
            ViolationKind::OrderingViolation => "ordering-violation",
            ViolationKind::UnfinishedRequest => "unfinished-request",
            ViolationKind::OrphanReference => "orphan-reference",
        }
    }

    /// The property of DESIGN.md this violation breaks (alerts break none: they stop).
    pub fn property(self) -> &'static str {
        match self {
            ViolationKind::WrongAnswer => "correct answer",
            ViolationKind::UntraceableAccount | ViolationKind::UntraceableFunds => "traceability",
            ViolationKind::OrphanReference => "consistency",
            ViolationKind::DuplicateAccount => "no duplicates",
            ViolationKind::UnfinishedRequest => "eventual completion",
            ViolationKind::ExistsDifferent | ViolationKind::OrderingViolation => "alert raised",
        }
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for ViolationKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ViolationKind::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = ViolationKind::ALL.iter().map(|kind| kind.name()).collect();
                format!(
                    "unknown violation `{text}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Harmless for now, or about liveness: something may still repair it.
    Warning,
    /// The lane detected a conflict, stopped the request and alerted an operator.
    Alert,
    /// A safety promise broken.
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Alert => "alert",
            Severity::Error => "error",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub kind: ViolationKind,
    pub severity: Severity,
    pub user: Option<String>,
    /// One plain sentence for the audience.
    pub detail: String,
}

/// An alert a worker raised (it stopped the request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub user: String,
    pub kind: ViolationKind,
    pub detail: String,
}

/// What the stores hold for one lane, read for real after a step.
#[derive(Clone, Debug, Serialize)]
pub struct LaneObservation {
    /// The reference store's rows, or why they could not be read.
    pub reference: Result<Vec<ReferenceRow>, String>,
    pub outbox: Vec<OutboxMessage>,
    pub journal: Vec<JournalEntry>,
    /// The customer accounts on the lane's ledger, or why TigerBeetle did not answer.
    pub record: Result<Vec<RecordAccount>, String>,
}

impl LaneObservation {
    pub fn reference_row(&self, user: &str) -> Option<&ReferenceRow> {
        self.reference
            .as_ref()
            .ok()?
            .iter()
            .find(|row| row.uuid == user)
    }

    /// The accounts TigerBeetle holds for `user`, or `None` if it did not answer.
    pub fn record_accounts(&self, user: &str) -> Option<Vec<&RecordAccount>> {
        let key = user_key(user);
        let accounts = self.record.as_ref().ok()?;
        Some(
            accounts
                .iter()
                .filter(|account| account.user_key == key)
                .collect(),
        )
    }

    fn has_unfinished(&self, user: &str) -> bool {
        self.journal
            .iter()
            .any(|entry| entry.user == user && !entry.state.is_final())
            || self
                .outbox
                .iter()
                .any(|message| message.uuid == user && !message.delivered)
    }
}

/// The truth: TigerBeetle is the system of record.
pub fn truth(user: &str, observation: &LaneObservation) -> Answer {
    match observation.record_accounts(user) {
        None => Answer::Unknown,
        Some(accounts) if accounts.is_empty() => Answer::Absent,
        Some(_) => Answer::Exists,
    }
}

/// The lane's answer, by the lane's own read rule.
///
/// Read first rests on the write-last invariant: a lane that writes SQLite first and
/// TigerBeetle last never holds a TigerBeetle account without its SQLite row. So no row
/// means the account certainly does not exist, whether TigerBeetle answers or not; a row
/// only names the id to look up, and TigerBeetle decides.
pub fn answer(lane: Lane, user: &str, observation: &LaneObservation) -> Answer {
    let Ok(_) = observation.reference else {
        return Answer::Unknown;
    };
    let row = observation.reference_row(user);
    if !lane.reads_record() {
        return if row.is_some() {
            Answer::Exists
        } else {
            Answer::Absent
        };
    }
    // A request the lane accepted and has not finished is honestly "pending", never
    // "exists" before TigerBeetle holds the account.
    let not_held = if observation.has_unfinished(user) {
        Answer::Pending
    } else {
        Answer::Absent
    };
    let Some(row) = row else {
        return not_held;
    };
    let Ok(accounts) = &observation.record else {
        // The row names an id TigerBeetle cannot be asked about now.
        return if not_held == Answer::Pending {
            Answer::Pending
        } else {
            Answer::Unknown
        };
    };
    let held = accounts
        .iter()
        .any(|account| crate::domain::ids::guid_of(account.id) == row.guid);
    if held { Answer::Exists } else { not_held }
}

/// What the controller knows of a lane beyond its stores: alerts raised, and the users
/// whose last request never ended (crashed, or its outcome unknown).
#[derive(Clone, Debug, Default)]
pub struct LaneHistory {
    pub alerts: Vec<Alert>,
    pub unended_requests: Vec<String>,
}

/// Every violation the lane shows now.
pub fn judge(
    lane: Lane,
    users: &[String],
    observation: &LaneObservation,
    history: &LaneHistory,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    judge_answers(lane, users, observation, &mut violations);
    judge_record(observation, &mut violations);
    judge_references(lane, observation, history, &mut violations);
    judge_completion(lane, observation, history, &mut violations);
    for alert in &history.alerts {
        violations.push(Violation {
            kind: alert.kind,
            severity: Severity::Alert,
            user: Some(alert.user.clone()),
            detail: alert.detail.clone(),
        });
    }
    violations
}

fn judge_answers(
    lane: Lane,
    users: &[String],
    observation: &LaneObservation,
    out: &mut Vec<Violation>,
) {
    for user in users {
        let answer = answer(lane, user, observation);
        let truth = truth(user, observation);
        if answer.contradicts(truth) {
            out.push(Violation {
                kind: ViolationKind::WrongAnswer,
                severity: Severity::Error,
                user: Some(user.clone()),
                detail: format!("answers \"{user} {answer}\" but TigerBeetle says {truth}"),
            });
        }
    }
}

fn judge_record(observation: &LaneObservation, out: &mut Vec<Violation>) {
    let (Ok(rows), Ok(accounts)) = (&observation.reference, &observation.record) else {
        return;
    };
    let mut per_user: BTreeMap<u128, Vec<&RecordAccount>> = BTreeMap::new();
    for account in accounts {
        per_user.entry(account.user_key).or_default().push(account);
        let guid = crate::domain::ids::guid_of(account.id);
        if rows.iter().any(|row| row.guid == guid) {
            continue;
        }
        out.push(Violation {
            kind: ViolationKind::UntraceableAccount,
            severity: Severity::Error,
            user: None,
            detail: format!(
                "TigerBeetle account {} has no SQLite row: no account holder on record",
                short_id(&guid)
            ),
        });
        if account.credits_posted > 0 || account.credits_pending > 0 {
            out.push(Violation {
                kind: ViolationKind::UntraceableFunds,
                severity: Severity::Error,
                user: None,
                detail: format!(
                    "{} in account {}, which has no account holder on record",
                    account.credits_posted + account.credits_pending,
                    short_id(&guid)
                ),
            });
        }
    }
    for accounts in per_user.values().filter(|accounts| accounts.len() > 1) {
        let owner = rows
            .iter()
            .find(|row| {
                accounts
                    .iter()
                    .any(|account| crate::domain::ids::guid_of(account.id) == row.guid)
            })
            .map(|row| row.uuid.clone());
        out.push(Violation {
            kind: ViolationKind::DuplicateAccount,
            severity: Severity::Error,
            user: owner.clone(),
            detail: format!(
                "{} TigerBeetle accounts for one user{}",
                accounts.len(),
                owner.map(|user| format!(" ({user})")).unwrap_or_default()
            ),
        });
    }
}

fn judge_references(
    lane: Lane,
    observation: &LaneObservation,
    history: &LaneHistory,
    out: &mut Vec<Violation>,
) {
    let (Ok(rows), Ok(accounts)) = (&observation.reference, &observation.record) else {
        return;
    };
    for row in rows {
        let held = accounts
            .iter()
            .any(|account| crate::domain::ids::guid_of(account.id) == row.guid);
        if held {
            continue;
        }
        let recoverable = observation.has_unfinished(&row.uuid)
            || history.unended_requests.contains(&row.uuid) && lane.recovery() != Recovery::None;
        // A lane that reads the record first never believes an orphan row: harmless.
        let severity = if recoverable || lane.reads_record() {
            Severity::Warning
        } else {
            Severity::Error
        };
        out.push(Violation {
            kind: ViolationKind::OrphanReference,
            severity,
            user: Some(row.uuid.clone()),
            detail: format!(
                "SQLite row for {} points to no TigerBeetle account",
                row.uuid
            ),
        });
    }
}

fn judge_completion(
    lane: Lane,
    observation: &LaneObservation,
    history: &LaneHistory,
    out: &mut Vec<Violation>,
) {
    let mut users: Vec<&str> = observation
        .journal
        .iter()
        .filter(|entry| !entry.state.is_final())
        .map(|entry| entry.user.as_str())
        .chain(
            observation
                .outbox
                .iter()
                .filter(|message| !message.delivered)
                .map(|message| message.uuid.as_str()),
        )
        .collect();
    if lane.recovery() == Recovery::None {
        users.extend(history.unended_requests.iter().map(String::as_str));
    }
    users.sort_unstable();
    users.dedup();
    // Completion is liveness, not safety: a warning, whose words say whether anything
    // will ever finish the request.
    let severity = Severity::Warning;
    for user in users {
        let detail = match lane.recovery() {
            Recovery::None => format!("{user}'s request never ended, and nothing will finish it"),
            Recovery::Journal => {
                format!("{user}'s request is unfinished in the journal: recovery will resume it")
            }
            Recovery::Relay => {
                format!("{user}'s outbox message is undelivered: the relay will retry")
            }
        };
        out.push(Violation {
            kind: ViolationKind::UnfinishedRequest,
            severity,
            user: Some(user.to_string()),
            detail,
        });
    }
}
