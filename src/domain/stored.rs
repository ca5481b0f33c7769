//! What the stores hold, as plain values that the rules read: a TigerBeetle account, a
//! SQLite row and outbox message, and a durable journal entry. The stores fill them in;
//! nothing here does I/O.

use crate::domain::ids::guid_of;
use crate::domain::names::UnknownName;
use serde::{Deserialize, Serialize};

/// A TigerBeetle account as the demo shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordAccount {
    #[serde(serialize_with = "serialize_guid")]
    pub id: u128,
    pub ledger: u32,
    pub(crate) code: u16,
    /// The account's `user_data_128` as TigerBeetle holds it: 0 for every lane's account
    /// but those of the one lane whose design links an account to its user there
    /// (`Lane::tags_user`), which holds the user's key.
    #[serde(serialize_with = "serialize_hex")]
    pub user_key: u128,
    #[serde(serialize_with = "serialize_amount")]
    pub(crate) debits_posted: u128,
    #[serde(serialize_with = "serialize_amount")]
    pub(crate) credits_posted: u128,
    #[serde(serialize_with = "serialize_amount")]
    pub(crate) debits_pending: u128,
    #[serde(serialize_with = "serialize_amount")]
    pub(crate) credits_pending: u128,
    /// TigerBeetle's `closed` flag: the account rejects further transfers (except voiding
    /// pending ones). Set by a closing transfer; voiding that transfer unsets it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) closed: bool,
}

// JSON numbers cannot carry 128 bits: ids as the reference store's guid strings, keys as
// hex, amounts as numbers while they fit in 64 bits and as strings beyond.
fn serialize_guid<S: serde::Serializer>(id: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&guid_of(*id))
}

fn serialize_hex<S: serde::Serializer>(key: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{key:032x}"))
}

fn serialize_amount<S: serde::Serializer>(amount: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    match u64::try_from(*amount) {
        Ok(small) => serializer.serialize_u64(small),
        Err(_) => serializer.serialize_str(&amount.to_string()),
    }
}

impl RecordAccount {
    /// The posted balance of a customer's account (credits minus debits).
    pub(crate) fn balance(&self) -> i128 {
        self.credits_posted as i128 - self.debits_posted as i128
    }

    /// Whether money reached the account: posted credits, or pending ones (a reservation).
    pub(crate) fn has_funds(&self) -> bool {
        self.credits_posted > 0 || self.credits_pending > 0
    }

    /// Whether `row` names this account (its `guid` is this account's id).
    pub(crate) fn is_named_by(&self, row: &ReferenceRow) -> bool {
        crate::domain::ids::guid_of(self.id) == row.guid
    }
}

/// One row of the `accounts` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReferenceRow {
    pub uuid: String,
    pub guid: String,
    pub name: String,
}

/// One message of the outbox lane's `outbox` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboxMessage {
    pub(crate) uuid: String,
    pub(crate) guid: String,
    pub(crate) name: String,
    pub delivered: bool,
    pub(crate) attempt_count: u32,
}

/// How far a journaled request got.
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
    parse_err_fn = unknown_journal_state
)]
pub(crate) enum JournalState {
    IdGenerated,
    ReferenceWritten,
    RecordWritten,
    Completed,
    /// Stopped on an alert (exists-different or an ordering violation): an operator's turn.
    Stopped,
}

fn unknown_journal_state(text: &str) -> UnknownName {
    UnknownName::of::<JournalState>("journal state", text)
}

impl JournalState {
    /// The kebab-case name the journal stores, and JSON and the screen show.
    pub(crate) fn name(self) -> &'static str {
        self.into()
    }

    /// Whether the request has ended (created, or stopped for an operator).
    pub(crate) fn is_final(self) -> bool {
        matches!(self, JournalState::Completed | JournalState::Stopped)
    }
}

/// One journaled request, keyed by the user it creates an account for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct JournalEntry {
    pub(crate) user: String,
    pub(crate) name: String,
    pub(crate) guid: String,
    pub(crate) state: JournalState,
    /// Set when the request stopped on an alert.
    pub(crate) alert: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::names::{assert_names, assert_parses};

    /// Goal: the states the journal stores (and JSON shows) stay exactly these, so a
    /// journal written before still reads. Method: a table.
    #[test]
    fn journal_states_keep_their_names() {
        let table = [
            (JournalState::IdGenerated, "id-generated"),
            (JournalState::ReferenceWritten, "reference-written"),
            (JournalState::RecordWritten, "record-written"),
            (JournalState::Completed, "completed"),
            (JournalState::Stopped, "stopped"),
        ];
        assert_names(&table);
        assert_parses(&table);
        assert!("done".parse::<JournalState>().is_err());
    }
}
