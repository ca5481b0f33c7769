//! The storm's full check, at the end: every user of every lane judged by the same rules
//! as a scenario's step (`domain::verdict::judge`), one user at a time on that user's part
//! of what the stores hold, so that the check costs time in proportion to the requests
//! (judging all users at once compares every row with every account).

use crate::domain::lane::Lane;
use crate::domain::stored::{JournalEntry, OutboxMessage, RecordAccount, ReferenceRow};
use crate::domain::verdict::{self, LaneHistory, LaneObservation, Severity, ViolationKind};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// How many violations of each kind a lane shows, by severity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Anomalies {
    /// Safety promises broken.
    pub(crate) errors: BTreeMap<ViolationKind, u64>,
    /// Harmless for now, or liveness (an unfinished request, an orphan row nobody reads).
    pub(crate) warnings: BTreeMap<ViolationKind, u64>,
}

/// What a lane's stores hold, all of it, as read at the end of a storm.
pub(crate) struct LaneContents {
    /// The lab's history: which user each account id was drawn for.
    pub(crate) drawn: BTreeMap<u128, String>,
    pub(crate) rows: Vec<ReferenceRow>,
    pub(crate) outbox: Vec<OutboxMessage>,
    pub(crate) journal: Vec<JournalEntry>,
    pub(crate) accounts: Vec<RecordAccount>,
}

/// Judges every user `users` names, each on their own part of `contents`; accounts that
/// belong to none of them are judged on their own (they are untraceable). (Over 70 lines:
/// the grouping by user and the judging of each group share every map they take from.)
pub(crate) fn judge_lane(
    lane: Lane,
    users: impl Iterator<Item = String>,
    contents: LaneContents,
    crashed: &dyn Fn(&str) -> bool,
) -> Anomalies {
    let mut rows: HashMap<String, ReferenceRow> = contents
        .rows
        .into_iter()
        .map(|row| (row.uuid.clone(), row))
        .collect();
    let mut outbox: HashMap<String, Vec<OutboxMessage>> = HashMap::new();
    for message in contents.outbox {
        outbox
            .entry(message.uuid.clone())
            .or_default()
            .push(message);
    }
    let mut journal: HashMap<String, Vec<JournalEntry>> = HashMap::new();
    for entry in contents.journal {
        journal.entry(entry.user.clone()).or_default().push(entry);
    }
    // Accounts by the user the lab's history says they were drawn for; an account drawn
    // for nobody the lab knows stays apart, with the leftovers.
    let mut accounts: HashMap<String, Vec<RecordAccount>> = HashMap::new();
    let mut undrawn = Vec::new();
    for account in contents.accounts {
        match contents.drawn.get(&account.id) {
            Some(user) => accounts.entry(user.clone()).or_default().push(account),
            None => undrawn.push(account),
        }
    }
    let mut anomalies = Anomalies::default();
    for user in users {
        let record = accounts.remove(&user).unwrap_or_default();
        // The user's part of the lab's history: the ids of the accounts drawn for them,
        // which are all the accounts this observation holds. (A copy of the whole history
        // per user made the check grow with the square of the requests: 300 s at 10,000.)
        let drawn: BTreeMap<u128, String> = record
            .iter()
            .map(|account| (account.id, user.clone()))
            .collect();
        let observation = LaneObservation {
            reference: Ok(rows.remove(&user).into_iter().collect()),
            outbox: outbox.remove(&user).unwrap_or_default(),
            journal: journal.remove(&user).unwrap_or_default(),
            record: Ok(record),
            drawn: drawn.clone(),
        };
        let history = LaneHistory {
            unended_requests: if crashed(&user) {
                vec![user.clone()]
            } else {
                Vec::new()
            },
            drawn,
            ..LaneHistory::default()
        };
        // The storm asks no lane: its answer is the lane's rule applied to the stores.
        let answers = [(user.clone(), verdict::answer(lane, &user, &observation))];
        add(
            &mut anomalies,
            verdict::judge(lane, &answers, &observation, &history),
        );
    }
    // What is left belongs to no user of the storm.
    let leftover = LaneObservation {
        reference: Ok(rows.into_values().collect()),
        outbox: outbox.into_values().flatten().collect(),
        journal: journal.into_values().flatten().collect(),
        record: Ok(accounts.into_values().flatten().chain(undrawn).collect()),
        drawn: contents.drawn.clone(),
    };
    let history = LaneHistory {
        drawn: contents.drawn,
        ..LaneHistory::default()
    };
    add(
        &mut anomalies,
        verdict::judge(lane, &[], &leftover, &history),
    );
    anomalies
}

fn add(anomalies: &mut Anomalies, violations: Vec<verdict::Violation>) {
    for violation in violations {
        let counts = match violation.severity {
            Severity::Error => &mut anomalies.errors,
            // Alerts are counted from the workers' own reports, where they are raised.
            Severity::Alert => continue,
            Severity::Warning => &mut anomalies.warnings,
        };
        *counts.entry(violation.kind).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{CODE_CUSTOMER, guid_of};

    /// An account TigerBeetle holds; who it was drawn for is in `drawn` below.
    fn account(id: u128, _drawn_for: &str) -> RecordAccount {
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
            name: user.to_string(),
        }
    }

    #[test]
    fn each_user_is_judged_on_what_the_stores_hold_for_them() {
        let contents = LaneContents {
            // a: both stores; b: TigerBeetle only (untraceable); c: SQLite only (orphan);
            // d: two accounts, one row (a duplicate).
            // The lab drew ids 1 for a, 2 for b, 4 and 5 for d.
            drawn: [(1, "a"), (2, "b"), (4, "d"), (5, "d")]
                .into_iter()
                .map(|(id, user)| (id, user.to_string()))
                .collect(),
            rows: vec![row("a", 1), row("c", 3), row("d", 4)],
            outbox: Vec::new(),
            journal: Vec::new(),
            accounts: vec![
                account(1, "a"),
                account(2, "b"),
                account(4, "d"),
                account(5, "d"),
            ],
        };
        let users = ["a", "b", "c", "d"].map(str::to_string);
        let anomalies = judge_lane(Lane::RecordFirst, users.into_iter(), contents, &|_| false);
        assert_eq!(anomalies.errors[&ViolationKind::UntraceableAccount], 2);
        assert_eq!(anomalies.errors[&ViolationKind::DuplicateAccount], 1);
        assert_eq!(anomalies.errors[&ViolationKind::OrphanReference], 1);
        // b answers absent and c exists: both contradict TigerBeetle.
        assert_eq!(anomalies.errors[&ViolationKind::WrongAnswer], 2);
    }

    #[test]
    fn an_account_of_nobody_is_still_counted() {
        let contents = LaneContents {
            drawn: BTreeMap::new(),
            rows: Vec::new(),
            outbox: Vec::new(),
            journal: Vec::new(),
            accounts: vec![account(9, "stranger")],
        };
        let anomalies = judge_lane(Lane::Durable, std::iter::empty(), contents, &|_| false);
        assert_eq!(anomalies.errors[&ViolationKind::UntraceableAccount], 1);
    }
}
