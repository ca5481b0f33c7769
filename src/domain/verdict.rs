//! Verdicts: from what both stores really hold for one lane, the lane's answer to "does X
//! exist?", the truth (what TigerBeetle holds: it is the system of record), and every
//! broken property of DESIGN.md as a named violation.

use crate::domain::ids::short_id;
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
    /// The lab's history: which user each account id was drawn for, as the workers
    /// reported before writing (empty when judging from the stores alone). The system
    /// under test holds no such link: TigerBeetle's `user_data_128` is 0.
    pub drawn: BTreeMap<u128, String>,
}

impl LaneObservation {
    pub fn reference_row(&self, user: &str) -> Option<&ReferenceRow> {
        self.reference
            .as_ref()
            .ok()?
            .iter()
            .find(|row| row.uuid == user)
    }

    /// The accounts TigerBeetle holds that were drawn for `user`, by the lab's history,
    /// or `None` if TigerBeetle did not answer.
    pub fn record_accounts(&self, user: &str) -> Option<Vec<&RecordAccount>> {
        let accounts = self.record.as_ref().ok()?;
        Some(
            accounts
                .iter()
                .filter(|account| self.owner(account.id) == Some(user))
                .collect(),
        )
    }

    /// Whom the lab's history says the account id was drawn for.
    pub fn owner(&self, id: u128) -> Option<&str> {
        self.drawn.get(&id).map(String::as_str)
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

/// The truth: TigerBeetle is the system of record, and the lab's history says which of
/// its accounts were drawn for the user.
pub fn truth(user: &str, observation: &LaneObservation) -> Answer {
    match observation.record_accounts(user) {
        None => Answer::Unknown,
        Some(accounts) if accounts.is_empty() => Answer::Absent,
        Some(_) => Answer::Exists,
    }
}

/// What a look-up of one id in TigerBeetle found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Held,
    NotHeld,
    /// TigerBeetle did not answer within the read path's deadline.
    NoAnswer,
}

/// A lane's read rule for "does X exist?", given what its read path found: the user's
/// SQLite row (`Err` when SQLite could not be read), whether the lane holds an unfinished
/// request for the user (a journal entry, an undelivered outbox message), and, for a lane
/// that reads first, the look-up in TigerBeetle of the id the row names (`lookup` is only
/// called when there is a row).
///
/// Read first rests on the write-last invariant: a lane that writes SQLite first and
/// TigerBeetle last never holds a TigerBeetle account without its SQLite row. So no row
/// means the account certainly does not exist, whether TigerBeetle answers or not; a row
/// only names the id to look up, and TigerBeetle decides.
pub fn read_rule(
    lane: Lane,
    row: Result<Option<&ReferenceRow>, ()>,
    unfinished: bool,
    lookup: impl FnOnce(&ReferenceRow) -> Lookup,
) -> Answer {
    let Ok(row) = row else {
        return Answer::Unknown;
    };
    if !lane.reads_record() {
        return if row.is_some() {
            Answer::Exists
        } else {
            Answer::Absent
        };
    }
    // A request the lane accepted and has not finished is honestly "pending", never
    // "exists" before TigerBeetle holds the account.
    let not_held = if unfinished {
        Answer::Pending
    } else {
        Answer::Absent
    };
    let Some(row) = row else {
        return not_held;
    };
    match lookup(row) {
        Lookup::Held => Answer::Exists,
        Lookup::NotHeld => not_held,
        // The row names an id TigerBeetle cannot be asked about now.
        Lookup::NoAnswer if unfinished => Answer::Pending,
        Lookup::NoAnswer => Answer::Unknown,
    }
}

/// The lane's answer by its read rule, worked out by the lab from what it read of the
/// stores: for a lane whose worker is down or held, when no process of the lane can answer.
pub fn answer(lane: Lane, user: &str, observation: &LaneObservation) -> Answer {
    let row = match &observation.reference {
        Ok(_) => Ok(observation.reference_row(user)),
        Err(_) => Err(()),
    };
    read_rule(
        lane,
        row,
        observation.has_unfinished(user),
        |row| match &observation.record {
            Err(_) => Lookup::NoAnswer,
            Ok(accounts)
                if accounts
                    .iter()
                    .any(|account| crate::domain::ids::guid_of(account.id) == row.guid) =>
            {
                Lookup::Held
            }
            Ok(_) => Lookup::NotHeld,
        },
    )
}

/// What the controller knows of a lane beyond its stores: alerts raised, and the users
/// whose last request never ended (crashed, or its outcome unknown).
#[derive(Clone, Debug, Default)]
pub struct LaneHistory {
    pub alerts: Vec<Alert>,
    pub unended_requests: Vec<String>,
    /// Which user each account id was drawn for, as the workers reported it before
    /// writing: the lab's oracle, which the system under test cannot see.
    pub drawn: BTreeMap<u128, String>,
}

/// Every violation the lane shows now.
///
/// `answers` are what the lane answered, user by user, through its own read path; the
/// checker only judges them against the truth.
pub fn judge(
    lane: Lane,
    answers: &[(String, Answer)],
    observation: &LaneObservation,
    history: &LaneHistory,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    judge_answers(answers, observation, &mut violations);
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
    answers: &[(String, Answer)],
    observation: &LaneObservation,
    out: &mut Vec<Violation>,
) {
    for (user, answer) in answers {
        let (user, answer) = (user, *answer);
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
    let mut per_user: BTreeMap<&str, Vec<&RecordAccount>> = BTreeMap::new();
    for account in accounts {
        let owner = observation.owner(account.id);
        if let Some(owner) = owner {
            per_user.entry(owner).or_default().push(account);
        }
        let guid = crate::domain::ids::guid_of(account.id);
        if !rows.iter().any(|row| row.guid == guid) {
            untraceable(account, owner, out);
        }
    }
    for (owner, accounts) in per_user.iter().filter(|(_, accounts)| accounts.len() > 1) {
        let ids: Vec<String> = accounts
            .iter()
            .map(|account| short_id(&crate::domain::ids::guid_of(account.id)))
            .collect();
        out.push(Violation {
            kind: ViolationKind::DuplicateAccount,
            severity: Severity::Error,
            user: Some(owner.to_string()),
            detail: format!(
                "{} TigerBeetle accounts ({}) were drawn for {owner}, by the lab's history",
                accounts.len(),
                ids.join(", ")
            ),
        });
    }
}

/// An account with no SQLite row: nothing in the system says whose it is (TigerBeetle's
/// `user_data_128` is 0). Where the lab's history knows, the words say it is the lab.
fn untraceable(account: &RecordAccount, owner: Option<&str>, out: &mut Vec<Violation>) {
    let id = short_id(&crate::domain::ids::guid_of(account.id));
    let whose = match owner {
        Some(user) => format!(
            "the system cannot tell whose account this is; the lab knows it was drawn for {user}"
        ),
        None => "nobody can tell whose account this is".to_string(),
    };
    out.push(Violation {
        kind: ViolationKind::UntraceableAccount,
        severity: Severity::Error,
        user: owner.map(str::to_string),
        detail: format!("TigerBeetle account {id} has no SQLite row: {whose}"),
    });
    if account.credits_posted > 0 || account.credits_pending > 0 {
        out.push(Violation {
            kind: ViolationKind::UntraceableFunds,
            severity: Severity::Error,
            user: owner.map(str::to_string),
            detail: format!(
                "{} in account {id}, which no SQLite row names: money the system cannot trace",
                account.credits_posted + account.credits_pending
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
