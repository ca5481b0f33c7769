//! Verdicts: from what both stores really hold for one lane, the lane's answer to "does X
//! exist?", the truth (what TigerBeetle holds: it is the system of record), and every
//! broken property of DESIGN.md as a named violation.

use crate::domain::ids::{short_id, user_key};
use crate::domain::lane::{Lane, ReadSource, Recovery};
use crate::domain::names::UnknownName;
use crate::domain::stored::JournalEntry;
use crate::domain::stored::RecordAccount;
use crate::domain::stored::{OutboxMessage, ReferenceRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A lane's verdict at the end of a run: `broken` when an error-level violation was seen;
/// else `undetermined` when steps could not be judged and nothing proved the lane since;
/// else `kept`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub(crate) enum Verdict {
    Kept,
    Broken,
    /// Steps could not be judged (a store did not answer) and no later read of the
    /// stores proved the lane.
    Undetermined,
}

impl Verdict {}

/// An answer to "does X exist?".
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(
    serialize_all = "kebab-case",
    parse_err_ty = UnknownName,
    parse_err_fn = unknown_answer
)]
pub(crate) enum Answer {
    Exists,
    Absent,
    /// Accepted but not complete: honest, never claims the account exists.
    Pending,
    /// TigerBeetle holds the account, closed: it rejects every further transfer (accounts
    /// cannot be deleted; closing is how one ends).
    Closed,
    /// The store the lane reads did not answer in time.
    Unknown,
}

fn unknown_answer(text: &str) -> UnknownName {
    UnknownName::of::<Answer>("answer", text)
}

impl Answer {
    /// The kebab-case name used in scenario files, JSON and on screen.
    pub(crate) fn name(self) -> &'static str {
        self.into()
    }

    /// Whether answering `self` when the truth is `truth` is wrong. Pending and unknown
    /// never claim existence, so they are never wrong; an unknown truth judges nothing.
    /// "Does X exist?" asks about an open account: `closed` and `absent` both say there is
    /// none, so they agree with each other and contradict `exists`.
    pub(crate) fn contradicts(self, truth: Answer) -> bool {
        let no_open_account = |answer| matches!(answer, Answer::Absent | Answer::Closed);
        (self == Answer::Exists && no_open_account(truth))
            || (no_open_account(self) && truth == Answer::Exists)
    }
}

/// The named violations.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(
    serialize_all = "kebab-case",
    parse_err_ty = UnknownName,
    parse_err_fn = unknown_violation
)]
pub(crate) enum ViolationKind {
    WrongAnswer,
    UntraceableAccount,
    UntraceableFunds,
    DuplicateAccount,
    ExistsDifferent,
    OrderingViolation,
    UnfinishedRequest,
    OrphanReference,
}

fn unknown_violation(text: &str) -> UnknownName {
    UnknownName::of::<ViolationKind>("violation", text)
}

impl ViolationKind {
    /// Every kind, in the order of the exploration matrix's columns. The same order as the
    /// declaration (a test checks it).
    pub(crate) const ALL: [ViolationKind; 8] = [
        ViolationKind::WrongAnswer,
        ViolationKind::UntraceableAccount,
        ViolationKind::UntraceableFunds,
        ViolationKind::DuplicateAccount,
        ViolationKind::ExistsDifferent,
        ViolationKind::OrderingViolation,
        ViolationKind::UnfinishedRequest,
        ViolationKind::OrphanReference,
    ];

    /// The kebab-case name used in scenario files, JSON and on screen.
    pub(crate) fn name(self) -> &'static str {
        self.into()
    }

    /// The property of DESIGN.md this violation breaks (alerts break none: they stop).
    pub(crate) fn property(self) -> &'static str {
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

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub(crate) enum Severity {
    /// Harmless for now, or about liveness: something may still repair it.
    Warning,
    /// The lane detected a conflict, stopped the request and alerted an operator.
    Alert,
    /// A safety promise broken.
    Error,
}

impl Severity {
    /// The kebab-case name used in JSON and transcripts.
    pub(crate) fn name(self) -> &'static str {
        self.into()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Violation {
    pub(crate) kind: ViolationKind,
    pub(crate) severity: Severity,
    pub(crate) user: Option<String>,
    /// One plain sentence for the audience.
    pub(crate) detail: String,
}

/// An alert a worker raised (it stopped the request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Alert {
    pub(crate) user: String,
    pub(crate) kind: ViolationKind,
    pub(crate) detail: String,
}

/// What the stores hold for one lane, read for real after a step.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LaneObservation {
    /// The reference store's rows, or why they could not be read.
    pub(crate) reference: Result<Vec<ReferenceRow>, String>,
    pub(crate) outbox: Vec<OutboxMessage>,
    pub(crate) journal: Vec<JournalEntry>,
    /// The customer accounts on the lane's ledger, or why TigerBeetle did not answer.
    pub(crate) record: Result<Vec<RecordAccount>, String>,
    /// The lab's history: which user each account id was drawn for, as the workers
    /// reported before writing (empty when judging from the stores alone). The system
    /// under test holds no such link (TigerBeetle's `user_data_128` is 0), except in the
    /// lane that declares a user tag; even there, the truth comes from this history.
    pub(crate) drawn: BTreeMap<u128, String>,
}

impl LaneObservation {
    pub(crate) fn reference_row(&self, user: &str) -> Option<&ReferenceRow> {
        self.reference
            .as_ref()
            .ok()?
            .iter()
            .find(|row| row.uuid == user)
    }

    /// The accounts TigerBeetle holds that were drawn for `user`, by the lab's history,
    /// or `None` if TigerBeetle did not answer.
    pub(crate) fn record_accounts(&self, user: &str) -> Option<Vec<&RecordAccount>> {
        let accounts = self.record.as_ref().ok()?;
        Some(
            accounts
                .iter()
                .filter(|account| self.owner(account.id) == Some(user))
                .collect(),
        )
    }

    /// Whom the lab's history says the account id was drawn for.
    pub(crate) fn owner(&self, id: u128) -> Option<&str> {
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

/// The properties that need the truth, or the reference store beside it: a step cannot
/// judge them when either store did not answer.
pub(crate) const PROPERTIES_NEEDING_BOTH_STORES: [&str; 4] = [
    "correct answer",
    "traceability",
    "consistency",
    "no duplicates",
];

/// The properties this observation cannot judge: all of those that need a store that did
/// not answer. Finding no violation among them proves nothing.
pub(crate) fn undetermined(observation: &LaneObservation) -> Vec<&'static str> {
    if observation.record.is_err() || observation.reference.is_err() {
        PROPERTIES_NEEDING_BOTH_STORES.to_vec()
    } else {
        Vec::new()
    }
}

/// The truth: TigerBeetle is the system of record, and the lab's history says which of
/// its accounts were drawn for the user: `exists` if one of them is open, `closed` if
/// every one is closed.
pub(crate) fn truth(user: &str, observation: &LaneObservation) -> Answer {
    match observation.record_accounts(user) {
        None => Answer::Unknown,
        Some(accounts) if accounts.is_empty() => Answer::Absent,
        Some(accounts) if accounts.iter().all(|account| account.closed) => Answer::Closed,
        Some(_) => Answer::Exists,
    }
}

/// What a look-up of one id in TigerBeetle found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Held,
    /// TigerBeetle holds the account, and it is closed.
    HeldClosed,
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
/// TigerBeetle last (and closes in the reverse order) never holds an open TigerBeetle
/// account without its SQLite row. So no row means no open account, certainly, whether
/// TigerBeetle answers or not; a row only names the id to look up, and TigerBeetle decides.
pub(crate) fn read_rule(
    lane: Lane,
    row: Result<Option<&ReferenceRow>, ()>,
    unfinished: bool,
    lookup: impl FnOnce(&ReferenceRow) -> Lookup,
) -> Answer {
    debug_assert!(
        lane.read_source() != ReadSource::RecordByUserTag,
        "{lane} reads by user tag: read_rule_by_user_tag"
    );
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
        Lookup::HeldClosed => Answer::Closed,
        Lookup::NotHeld => not_held,
        // The row names an id TigerBeetle cannot be asked about now.
        Lookup::NoAnswer if unfinished => Answer::Pending,
        Lookup::NoAnswer => Answer::Unknown,
    }
}

/// The read rule of the lane that reads the record by user tag
/// ([`ReadSource::RecordByUserTag`]), given whether each account TigerBeetle holds with
/// the user's tag on the lane's ledger is closed (`None`: TigerBeetle did not answer in
/// time). SQLite is not read: a lone SQLite row does not make it say "exists", and a
/// missing one does not make it say "absent". With no journal, it has no "pending".
pub(crate) fn read_rule_by_user_tag(tagged_closed: Option<&[bool]>) -> Answer {
    match tagged_closed {
        None => Answer::Unknown,
        Some([]) => Answer::Absent,
        Some(closed) if closed.iter().all(|closed| *closed) => Answer::Closed,
        Some(_) => Answer::Exists,
    }
}

/// The lane's answer by its read rule, worked out by the lab from what it read of the
/// stores: the storm's final check asks no lane, and judges this answer.
pub(crate) fn answer(lane: Lane, user: &str, observation: &LaneObservation) -> Answer {
    if lane.read_source() == ReadSource::RecordByUserTag {
        let key = user_key(user);
        let tagged_closed: Option<Vec<bool>> = observation.record.as_ref().ok().map(|accounts| {
            accounts
                .iter()
                .filter(|account| account.user_key == key)
                .map(|account| account.closed)
                .collect()
        });
        return read_rule_by_user_tag(tagged_closed.as_deref());
    }
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
            Ok(accounts) => match accounts.iter().find(|account| account.is_named_by(row)) {
                Some(account) if account.closed => Lookup::HeldClosed,
                Some(_) => Lookup::Held,
                None => Lookup::NotHeld,
            },
        },
    )
}

/// What the controller knows of a lane beyond its stores: alerts raised, and the users
/// whose last request never ended (crashed, or its outcome unknown).
#[derive(Clone, Debug, Default)]
pub(crate) struct LaneHistory {
    pub(crate) alerts: Vec<Alert>,
    pub(crate) unended_requests: Vec<String>,
    /// Which user each account id was drawn for, as the workers reported it before
    /// writing: the lab's oracle, which the system under test cannot see.
    pub(crate) drawn: BTreeMap<u128, String>,
}

/// Every violation the lane shows now.
///
/// `answers` are what the lane answered, user by user, through its own read path; the
/// checker only judges them against the truth.
pub(crate) fn judge(
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
        // A closed account with nothing in it needs no row: it rejects every further
        // transfer, so no money can reach it, and closing is how a TigerBeetle account
        // ends (it cannot be deleted).
        let ended = account.closed && account.balance() == 0 && account.credits_pending == 0;
        if !ended && !rows.iter().any(|row| row.guid == guid) {
            let journaled_for = observation
                .journal
                .iter()
                .find(|entry| entry.guid == guid)
                .map(|entry| entry.user.as_str());
            untraceable(account, owner, journaled_for, out);
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

/// An account with no SQLite row. With `user_data_128` 0 (every lane but the one that
/// declares a user tag), nothing in TigerBeetle says whose it is: where the lane's own
/// journal still names the user its id was drawn for, the words say so; where only the
/// lab's history knows, the words say it is the lab. With a user tag, TigerBeetle does say
/// whose it is, and the words say so: what is missing is the account holder's record.
fn untraceable(
    account: &RecordAccount,
    owner: Option<&str>,
    journaled_for: Option<&str>,
    out: &mut Vec<Violation>,
) {
    let id = short_id(&crate::domain::ids::guid_of(account.id));
    let no_holder = "but no row holds a name or terms: nothing the bank may pay out against";
    let tagged_for_owner = owner.filter(|user| account.user_key == user_key(user));
    // An id the caller chose is derived from the user's idempotency key: the system can
    // compute it again from the user, so it does know whose account this is.
    let derived_for_owner = owner.filter(|user| {
        let key = crate::domain::ids::idempotency_key(user);
        account.id == crate::domain::ids::caller_chosen_id(&key, account.ledger)
    });
    if let Some(user) = derived_for_owner {
        out.push(Violation {
            kind: ViolationKind::UntraceableAccount,
            severity: Severity::Error,
            user: Some(user.to_string()),
            detail: format!(
                "TigerBeetle account {id} has no SQLite row: its id is derived from {user}'s \
                 idempotency key, {no_holder}"
            ),
        });
        return untraceable_funds(account, &id, owner, true, out);
    }
    let whose = match (account.user_key, journaled_for, owner, tagged_for_owner) {
        (0, Some(user), _, _) => {
            format!("only the lane's journal still names {user} as its owner")
        }
        (0, None, Some(user), _) => format!(
            "the system cannot tell whose account this is; the lab knows it was drawn for {user}"
        ),
        (0, None, None, _) => "nobody can tell whose account this is".to_string(),
        (_, _, _, Some(user)) => format!("its user_data_128 tags it as {user}'s, {no_holder}"),
        (_, _, _, None) => format!("its user_data_128 carries a user tag, {no_holder}"),
    };
    out.push(Violation {
        kind: ViolationKind::UntraceableAccount,
        severity: Severity::Error,
        user: owner.map(str::to_string),
        detail: format!("TigerBeetle account {id} has no SQLite row: {whose}"),
    });
    untraceable_funds(account, &id, owner, tagged_for_owner.is_some(), out);
}

/// Money in an account with no SQLite row. Where TigerBeetle itself says whose account it
/// is (a user tag, an id derived from the user), what is missing is the terms, not the
/// owner.
fn untraceable_funds(
    account: &RecordAccount,
    id: &str,
    owner: Option<&str>,
    owner_known_to_the_record: bool,
    out: &mut Vec<Violation>,
) {
    if !account.has_funds() {
        return;
    }
    let what = if owner_known_to_the_record {
        "TigerBeetle says whose it is, but no record says on what terms"
    } else {
        "money the system cannot trace"
    };
    out.push(Violation {
        kind: ViolationKind::UntraceableFunds,
        severity: Severity::Error,
        user: owner.map(str::to_string),
        detail: format!(
            "{} in credits (posted and pending) in account {id}, which no SQLite row names: \
             {what}",
            account.credits_posted + account.credits_pending
        ),
    });
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
        let held = accounts.iter().any(|account| account.is_named_by(row));
        if held {
            continue;
        }
        let recoverable = observation.has_unfinished(&row.uuid)
            || history.unended_requests.contains(&row.uuid) && lane.recovery() != Recovery::None;
        // A lane that asks TigerBeetle (read first, or by user tag) never believes an
        // orphan row: harmless.
        let severity = if recoverable || lane.read_source() != ReadSource::Reference {
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
            Recovery::None => format!("{user}'s request never ended, and nothing will resume it"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{CODE_CUSTOMER, guid_of};
    use crate::domain::names::{assert_names, assert_parses};
    use crate::domain::stored::JournalState;

    const ALICE_ID: u128 = 0x0000_0000_0000_0000_0000_0001_1111_1111;
    /// A second id drawn for Alice (a retry that drew a new id).
    const ALICE_SECOND_ID: u128 = 0x0000_0000_0000_0000_0000_0002_2222_2222;

    /// An account TigerBeetle holds (its `user_data_128` is 0, as in every lane); who it
    /// was drawn for is the lab's history, which `stores` gives the observation.
    fn account(_drawn_for: &str, id: u128) -> RecordAccount {
        RecordAccount {
            id,
            ledger: 1,
            code: CODE_CUSTOMER,
            user_key: 0,
            debits_posted: 0,
            credits_posted: 0,
            debits_pending: 0,
            credits_pending: 0,
            closed: false,
        }
    }

    fn row(user: &str, id: u128) -> ReferenceRow {
        ReferenceRow {
            uuid: user.to_string(),
            guid: guid_of(id),
            name: "Alice".to_string(),
        }
    }

    /// Both stores answered with these rows and accounts; no journal, no outbox.
    fn stores(rows: Vec<ReferenceRow>, accounts: Vec<RecordAccount>) -> LaneObservation {
        // Every account of these cases was drawn for Alice, as the lab's history says.
        let drawn = accounts
            .iter()
            .map(|account| (account.id, "alice".to_string()))
            .collect();
        LaneObservation {
            reference: Ok(rows),
            outbox: Vec::new(),
            journal: Vec::new(),
            record: Ok(accounts),
            drawn,
        }
    }

    fn journal_entry(state: JournalState) -> JournalEntry {
        JournalEntry {
            user: "alice".to_string(),
            name: "Alice".to_string(),
            guid: guid_of(ALICE_ID),
            state,
            alert: None,
        }
    }

    fn outbox_message(delivered: bool) -> OutboxMessage {
        OutboxMessage {
            uuid: "alice".to_string(),
            guid: guid_of(ALICE_ID),
            name: "Alice".to_string(),
            delivered,
            attempt_count: 1,
        }
    }

    /// The controller saw Alice's request end (answered): nothing left open.
    fn ended() -> LaneHistory {
        LaneHistory::default()
    }

    /// Alice's request never ended: its worker crashed, or its outcome is unknown.
    fn unended() -> LaneHistory {
        LaneHistory {
            unended_requests: vec!["alice".to_string()],
            ..LaneHistory::default()
        }
    }

    struct Case {
        name: &'static str,
        lane: Lane,
        observation: LaneObservation,
        history: LaneHistory,
        answer: Answer,
        truth: Answer,
        /// Every violation `judge` finds, in its order, with the user it is about.
        violations: Vec<(ViolationKind, Severity, Option<&'static str>)>,
    }

    // One table of every case, past 70 lines by design: a case is a few lines of data,
    // and one list reads better than the same list cut into pieces.
    fn cases() -> Vec<Case> {
        use Severity::{Alert, Error, Warning};
        use ViolationKind::*;
        let alice = Some("alice");
        let happy = || {
            stores(
                vec![row("alice", ALICE_ID)],
                vec![account("alice", ALICE_ID)],
            )
        };
        let record_only = || stores(Vec::new(), vec![account("alice", ALICE_ID)]);
        let reference_only = || stores(vec![row("alice", ALICE_ID)], Vec::new());
        let mut cases: Vec<Case> = Lane::ALL
            .into_iter()
            .map(|lane| Case {
                name: "happy path",
                lane,
                // The lane that declares a user tag writes it; the others leave it 0.
                observation: if lane.tags_user() {
                    stores(
                        vec![row("alice", ALICE_ID)],
                        vec![tagged(account("alice", ALICE_ID))],
                    )
                } else {
                    happy()
                },
                history: ended(),
                answer: Answer::Exists,
                truth: Answer::Exists,
                violations: Vec::new(),
            })
            .collect();
        cases.extend([
            Case {
                name: "record-first crashed between the writes: an account with no SQLite row",
                lane: Lane::RecordFirst,
                observation: record_only(),
                history: unended(),
                answer: Answer::Absent,
                truth: Answer::Exists,
                violations: vec![
                    (WrongAnswer, Error, alice),
                    (UntraceableAccount, Error, alice),
                    (UnfinishedRequest, Warning, alice),
                ],
            },
            Case {
                name: "read-reference crashed between the writes: it believes its orphan row",
                lane: Lane::ReadReference,
                observation: reference_only(),
                history: unended(),
                answer: Answer::Exists,
                truth: Answer::Absent,
                violations: vec![
                    (WrongAnswer, Error, alice),
                    (OrphanReference, Error, alice),
                    (UnfinishedRequest, Warning, alice),
                ],
            },
            Case {
                name: "write-last-read-first crashed between the writes: the orphan row is harmless",
                lane: Lane::WriteLastReadFirst,
                observation: reference_only(),
                history: unended(),
                answer: Answer::Absent,
                truth: Answer::Absent,
                violations: vec![
                    (OrphanReference, Warning, alice),
                    (UnfinishedRequest, Warning, alice),
                ],
            },
            Case {
                name: "durable crashed between the writes: the journal resumes it",
                lane: Lane::Durable,
                observation: LaneObservation {
                    journal: vec![journal_entry(JournalState::ReferenceWritten)],
                    ..reference_only()
                },
                history: unended(),
                answer: Answer::Pending,
                truth: Answer::Absent,
                violations: vec![
                    (OrphanReference, Warning, alice),
                    (UnfinishedRequest, Warning, alice),
                ],
            },
            Case {
                name: "outbox with its message undelivered: the relay retries",
                lane: Lane::Outbox,
                observation: LaneObservation {
                    outbox: vec![outbox_message(false)],
                    ..reference_only()
                },
                history: ended(),
                answer: Answer::Pending,
                truth: Answer::Absent,
                violations: vec![
                    (OrphanReference, Warning, alice),
                    (UnfinishedRequest, Warning, alice),
                ],
            },
            Case {
                name: "outbox delivered: done",
                lane: Lane::Outbox,
                observation: LaneObservation {
                    outbox: vec![outbox_message(true)],
                    ..happy()
                },
                history: ended(),
                answer: Answer::Exists,
                truth: Answer::Exists,
                violations: Vec::new(),
            },
            Case {
                name: "durable completed: the journal entry is final",
                lane: Lane::Durable,
                observation: LaneObservation {
                    journal: vec![journal_entry(JournalState::Completed)],
                    ..happy()
                },
                history: ended(),
                answer: Answer::Exists,
                truth: Answer::Exists,
                violations: Vec::new(),
            },
            Case {
                name: "a journaled lane's crashed request is not unfinished once the journal is final",
                lane: Lane::Durable,
                observation: LaneObservation {
                    journal: vec![journal_entry(JournalState::Completed)],
                    ..happy()
                },
                history: unended(),
                answer: Answer::Exists,
                truth: Answer::Exists,
                violations: Vec::new(),
            },
            Case {
                name: "a retry drew a new id: two accounts for one user",
                lane: Lane::RegeneratedId,
                observation: stores(
                    vec![row("alice", ALICE_ID)],
                    vec![account("alice", ALICE_ID), account("alice", ALICE_SECOND_ID)],
                ),
                history: ended(),
                answer: Answer::Exists,
                truth: Answer::Exists,
                violations: vec![(UntraceableAccount, Error, alice), (DuplicateAccount, Error, alice)],
            },
            Case {
                name: "an alert raised on exists-different",
                lane: Lane::WriteLastReadFirst,
                observation: happy(),
                history: LaneHistory {
                    alerts: vec![super::Alert {
                        user: "alice".to_string(),
                        kind: ExistsDifferent,
                        detail: "TigerBeetle holds this id with other values".to_string(),
                    }],
                    ..LaneHistory::default()
                },
                answer: Answer::Exists,
                truth: Answer::Exists,
                violations: vec![(ExistsDifferent, Alert, alice)],
            },
            Case {
                name: "TigerBeetle unreachable: the truth is unknown, so no answer is wrong",
                lane: Lane::RecordFirst,
                observation: LaneObservation {
                    record: Err("timed out".to_string()),
                    ..reference_only()
                },
                history: ended(),
                answer: Answer::Exists,
                truth: Answer::Unknown,
                violations: Vec::new(),
            },
            Case {
                name: "TigerBeetle unreachable for a lane that reads it: unknown",
                lane: Lane::WriteLastReadFirst,
                observation: LaneObservation {
                    record: Err("timed out".to_string()),
                    ..happy()
                },
                history: ended(),
                answer: Answer::Unknown,
                truth: Answer::Unknown,
                violations: Vec::new(),
            },
            Case {
                name: "TigerBeetle unreachable with the request unfinished: pending, never exists",
                lane: Lane::Durable,
                observation: LaneObservation {
                    record: Err("timed out".to_string()),
                    journal: vec![journal_entry(JournalState::RecordWritten)],
                    ..happy()
                },
                history: ended(),
                answer: Answer::Pending,
                truth: Answer::Unknown,
                violations: vec![(UnfinishedRequest, Warning, alice)],
            },
            Case {
                name: "SQLite unreadable: every lane's answer is unknown",
                lane: Lane::ReadReference,
                observation: LaneObservation {
                    reference: Err("database is locked".to_string()),
                    ..happy()
                },
                history: ended(),
                answer: Answer::Unknown,
                truth: Answer::Exists,
                violations: Vec::new(),
            },
            Case {
                name: "funds on an untraceable account",
                lane: Lane::RecordFirst,
                observation: stores(
                    Vec::new(),
                    vec![RecordAccount {
                        credits_posted: 100,
                        ..account("alice", ALICE_ID)
                    }],
                ),
                history: ended(),
                answer: Answer::Absent,
                truth: Answer::Exists,
                violations: vec![
                    (WrongAnswer, Error, alice),
                    (UntraceableAccount, Error, alice),
                    (UntraceableFunds, Error, alice),
                ],
            },
            Case {
                name: "a reservation (pending credits) on an untraceable account is funds too",
                lane: Lane::WriteLastReadFirst,
                observation: stores(
                    Vec::new(),
                    vec![RecordAccount {
                        credits_pending: 5,
                        ..account("alice", ALICE_ID)
                    }],
                ),
                history: ended(),
                answer: Answer::Absent,
                truth: Answer::Exists,
                violations: vec![
                    (WrongAnswer, Error, alice),
                    (UntraceableAccount, Error, alice),
                    (UntraceableFunds, Error, alice),
                ],
            },
            Case {
                name: "nothing written anywhere",
                lane: Lane::ReadReference,
                observation: stores(Vec::new(), Vec::new()),
                history: ended(),
                answer: Answer::Absent,
                truth: Answer::Absent,
                violations: Vec::new(),
            },
            Case {
                name: "read first crashed mid-close: the account closed, its row still there",
                lane: Lane::WriteLastReadFirst,
                observation: stores(vec![row("alice", ALICE_ID)], vec![closed_account()]),
                history: unended(),
                answer: Answer::Closed,
                truth: Answer::Closed,
                violations: vec![(UnfinishedRequest, Warning, alice)],
            },
            Case {
                name: "a close done: the empty closed account needs no row",
                lane: Lane::WriteLastReadFirst,
                observation: stores(Vec::new(), vec![closed_account()]),
                history: ended(),
                answer: Answer::Absent,
                truth: Answer::Closed,
                violations: Vec::new(),
            },
            Case {
                name: "reading the reference, a row names a closed account: it says exists",
                lane: Lane::RecordFirst,
                observation: stores(vec![row("alice", ALICE_ID)], vec![closed_account()]),
                history: ended(),
                answer: Answer::Exists,
                truth: Answer::Closed,
                violations: vec![(WrongAnswer, Error, alice)],
            },
            Case {
                name: "a closed account with money in it and no row is still untraceable",
                lane: Lane::WriteLastReadFirst,
                observation: stores(
                    Vec::new(),
                    vec![RecordAccount {
                        credits_posted: 7,
                        ..closed_account()
                    }],
                ),
                history: ended(),
                answer: Answer::Absent,
                truth: Answer::Closed,
                violations: vec![
                    (UntraceableAccount, Error, alice),
                    (UntraceableFunds, Error, alice),
                ],
            },
        ]);
        cases.extend(tag_cases());
        cases
    }

    /// Alice's account as the lane that declares a user tag writes it: `user_data_128` holds
    /// Alice's key.
    fn tagged(account: RecordAccount) -> RecordAccount {
        RecordAccount {
            user_key: user_key("alice"),
            ..account
        }
    }

    /// The cases of the lane that reads the record by user tag: the fourth corner.
    fn tag_cases() -> Vec<Case> {
        use Severity::{Error, Warning};
        use ViolationKind::*;
        let alice = Some("alice");
        let lane = Lane::RecordFirstReadRecord;
        let tagged_happy = || {
            stores(
                vec![row("alice", ALICE_ID)],
                vec![tagged(account("alice", ALICE_ID))],
            )
        };
        vec![
            Case {
                name: "record first, read record, crashed between the writes: right, untraceable",
                lane,
                observation: stores(Vec::new(), vec![tagged(account("alice", ALICE_ID))]),
                history: unended(),
                answer: Answer::Exists,
                truth: Answer::Exists,
                violations: vec![
                    (UntraceableAccount, Error, alice),
                    (UnfinishedRequest, Warning, alice),
                ],
            },
            Case {
                name: "reading by tag, a lone SQLite row claims nothing",
                lane,
                observation: stores(vec![row("alice", ALICE_ID)], Vec::new()),
                history: ended(),
                answer: Answer::Absent,
                truth: Answer::Absent,
                violations: vec![(OrphanReference, Warning, alice)],
            },
            Case {
                name: "reading by tag, SQLite unreadable changes no answer",
                lane,
                observation: LaneObservation {
                    reference: Err("database is locked".to_string()),
                    ..tagged_happy()
                },
                history: ended(),
                answer: Answer::Exists,
                truth: Answer::Exists,
                violations: Vec::new(),
            },
            Case {
                name: "reading by tag, TigerBeetle unreachable: unknown",
                lane,
                observation: LaneObservation {
                    record: Err("timed out".to_string()),
                    ..tagged_happy()
                },
                history: ended(),
                answer: Answer::Unknown,
                truth: Answer::Unknown,
                violations: Vec::new(),
            },
            Case {
                name: "reading by tag, the account closed: closed",
                lane,
                observation: stores(vec![row("alice", ALICE_ID)], vec![tagged(closed_account())]),
                history: ended(),
                answer: Answer::Closed,
                truth: Answer::Closed,
                violations: Vec::new(),
            },
            Case {
                name: "reading by tag, an account without the tag is not found: the tag is the link",
                lane,
                observation: stores(
                    vec![row("alice", ALICE_ID)],
                    vec![account("alice", ALICE_ID)],
                ),
                history: ended(),
                answer: Answer::Absent,
                truth: Answer::Exists,
                violations: vec![(WrongAnswer, Error, alice)],
            },
        ]
    }

    /// Alice's account, closed (by a closing transfer), with nothing in it.
    fn closed_account() -> RecordAccount {
        RecordAccount {
            closed: true,
            ..account("alice", ALICE_ID)
        }
    }

    /// Goal: the answer, the truth and the violations of each lane for the states a run
    /// leaves the stores in (DESIGN.md's table of lanes and faults). Method: observations
    /// built by hand, one case per lane and state.
    #[test]
    fn answer_truth_and_violations_per_lane_and_observation() {
        let mut wrong = Vec::new();
        for case in cases() {
            let answer = answer(case.lane, "alice", &case.observation);
            let truth = truth("alice", &case.observation);
            let answers = [("alice".to_string(), answer)];
            let violations: Vec<(ViolationKind, Severity, Option<String>)> =
                judge(case.lane, &answers, &case.observation, &case.history)
                    .into_iter()
                    .map(|violation| (violation.kind, violation.severity, violation.user))
                    .collect();
            let expected_violations: Vec<(ViolationKind, Severity, Option<String>)> = case
                .violations
                .into_iter()
                .map(|(kind, severity, user)| (kind, severity, user.map(str::to_string)))
                .collect();
            let got = (answer, truth, violations);
            let expected = (case.answer, case.truth, expected_violations);
            if got != expected {
                wrong.push(format!(
                    "{} ({}):\n  expected {expected:?}\n       got {got:?}",
                    case.name, case.lane
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    fn details(lane: Lane, observation: &LaneObservation, history: &LaneHistory) -> Vec<String> {
        let answers = [("alice".to_string(), answer(lane, "alice", observation))];
        judge(lane, &answers, observation, history)
            .into_iter()
            .map(|violation| violation.detail)
            .collect()
    }

    /// Goal: each violation's sentence (transcripts and the screen print it) says what
    /// broke, naming the user, the short id and the amount. Method: the observations of
    /// the table above that raise each kind, with every sentence compared whole. (Over 70
    /// lines: each sentence is written out whole, so the test reads as the screen does.)
    #[test]
    fn violation_details_say_what_broke() {
        let funded = stores(
            Vec::new(),
            vec![RecordAccount {
                credits_posted: 100,
                credits_pending: 5,
                ..account("alice", ALICE_ID)
            }],
        );
        assert_eq!(
            details(Lane::RecordFirst, &funded, &unended()),
            [
                "answers \"alice absent\" but TigerBeetle says exists",
                "TigerBeetle account 11111111 has no SQLite row: the system cannot tell whose account this is; the lab knows it was drawn for alice",
                "105 in credits (posted and pending) in account 11111111, which no SQLite row \
                 names: money the system cannot trace",
                "alice's request never ended, and nothing will resume it",
            ]
        );
        let two_ids = vec![
            account("alice", ALICE_ID),
            account("alice", ALICE_SECOND_ID),
        ];
        assert_eq!(
            details(
                Lane::RegeneratedId,
                &stores(vec![row("alice", ALICE_ID)], two_ids.clone()),
                &ended()
            ),
            [
                "TigerBeetle account 22222222 has no SQLite row: the system cannot tell whose account this is; the lab knows it was drawn for alice",
                "2 TigerBeetle accounts (11111111, 22222222) were drawn for alice, by the lab's history",
            ]
        );
        // With no row, the system cannot tell whose either account is; the lab's history
        // still knows both were drawn for Alice.
        let unowned = judge(
            Lane::RegeneratedId,
            &[("alice".to_string(), Answer::Absent)],
            &stores(Vec::new(), two_ids),
            &ended(),
        );
        let duplicate = unowned
            .iter()
            .find(|violation| violation.kind == ViolationKind::DuplicateAccount)
            .expect("a duplicate");
        assert_eq!(duplicate.user.as_deref(), Some("alice"));
        assert_eq!(
            duplicate.detail,
            "2 TigerBeetle accounts (11111111, 22222222) were drawn for alice, by the lab's history"
        );
        // The lane that declares a user tag: TigerBeetle says whose the account is, and
        // what is missing is the account holder's record.
        let tagged_alone = stores(Vec::new(), vec![tagged(account("alice", ALICE_ID))]);
        assert_eq!(
            details(Lane::RecordFirstReadRecord, &tagged_alone, &ended()),
            [
                "TigerBeetle account 11111111 has no SQLite row: its user_data_128 tags it as alice's, but no row holds a name or terms: nothing the bank may pay out against",
            ]
        );
        let journaled = LaneObservation {
            journal: vec![journal_entry(JournalState::IdGenerated)],
            ..stores(vec![row("alice", ALICE_ID)], Vec::new())
        };
        assert_eq!(
            details(Lane::Durable, &journaled, &unended()),
            [
                "SQLite row for alice points to no TigerBeetle account",
                "alice's request is unfinished in the journal: recovery will resume it",
            ]
        );
        let undelivered = LaneObservation {
            outbox: vec![outbox_message(false)],
            ..stores(vec![row("alice", ALICE_ID)], Vec::new())
        };
        assert_eq!(
            details(Lane::Outbox, &undelivered, &ended()),
            [
                "SQLite row for alice points to no TigerBeetle account",
                "alice's outbox message is undelivered: the relay will retry",
            ]
        );
    }

    /// Goal: only "exists" against "absent" or "closed" (either way round) is wrong:
    /// "closed" and "absent" both say there is no open account; pending and unknown never
    /// claim anything, and an unknown truth judges nothing. Method: every pair of answers.
    #[test]
    fn only_exists_against_absent_or_closed_contradicts() {
        use Answer::{Absent, Closed, Exists};
        let wrong = [
            (Exists, Absent),
            (Absent, Exists),
            (Exists, Closed),
            (Closed, Exists),
        ];
        for answer in ANSWER_NAMES.map(|(answer, _)| answer) {
            for truth in ANSWER_NAMES.map(|(truth, _)| truth) {
                let expected = wrong.contains(&(answer, truth));
                assert_eq!(answer.contradicts(truth), expected, "{answer} vs {truth}");
            }
        }
    }

    const ANSWER_NAMES: [(Answer, &str); 5] = [
        (Answer::Exists, "exists"),
        (Answer::Absent, "absent"),
        (Answer::Pending, "pending"),
        (Answer::Closed, "closed"),
        (Answer::Unknown, "unknown"),
    ];

    const VIOLATION_NAMES: [(ViolationKind, &str); 8] = [
        (ViolationKind::WrongAnswer, "wrong-answer"),
        (ViolationKind::UntraceableAccount, "untraceable-account"),
        (ViolationKind::UntraceableFunds, "untraceable-funds"),
        (ViolationKind::DuplicateAccount, "duplicate-account"),
        (ViolationKind::ExistsDifferent, "exists-different"),
        (ViolationKind::OrderingViolation, "ordering-violation"),
        (ViolationKind::UnfinishedRequest, "unfinished-request"),
        (ViolationKind::OrphanReference, "orphan-reference"),
    ];

    const SEVERITY_NAMES: [(Severity, &str); 3] = [
        (Severity::Warning, "warning"),
        (Severity::Alert, "alert"),
        (Severity::Error, "error"),
    ];

    /// Goal: the names in scenario files, JSON and on screen stay exactly these, and strum
    /// and serde agree on them. Method: a table per enum.
    #[test]
    fn names_are_kebab_case_and_the_same_for_strum_and_serde() {
        assert_names(&ANSWER_NAMES);
        assert_parses(&ANSWER_NAMES);
        assert_names(&VIOLATION_NAMES);
        assert_parses(&VIOLATION_NAMES);
        assert_names(&SEVERITY_NAMES);
        for (severity, name) in SEVERITY_NAMES {
            assert_eq!(severity.to_string(), name);
        }
        assert_eq!(
            ViolationKind::ALL.as_slice(),
            <ViolationKind as strum::VariantArray>::VARIANTS
        );
    }

    /// Goal: an unknown name fails with a sentence naming it and every name expected (the
    /// scenario loader prints it). Method: parse a wrong name of each enum.
    #[test]
    fn an_unknown_name_lists_the_names_expected() {
        let answer = "maybe".parse::<Answer>().expect_err("not an answer");
        assert_eq!(
            answer.to_string(),
            "unknown answer `maybe` (expected one of: exists, absent, pending, closed, unknown)"
        );
        let violation = "oops"
            .parse::<ViolationKind>()
            .expect_err("not a violation");
        assert_eq!(
            violation.to_string(),
            "unknown violation `oops` (expected one of: wrong-answer, untraceable-account, \
             untraceable-funds, duplicate-account, exists-different, ordering-violation, \
             unfinished-request, orphan-reference)"
        );
    }
}
