//! The one vocabulary of write results shared by both stores, as the upstream example
//! classifies them: created, exists-same, exists-different, plus the two operating
//! outcomes of a write that did not go through: failed (certainly not applied) and
//! unknown (a timeout: the store may still apply it).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The classified result of one write to one store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "kind", content = "reason", rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum WriteOutcome {
    /// The write made the entry: it did not exist before.
    Created,
    /// The entry was already there with the same values: an idempotent retry, fine.
    ExistsSame,
    /// The key was already there with other values: stop and alert.
    ExistsDifferent,
    /// The store refused the write, and it is certain it was not applied.
    Failed(String),
    /// The request timed out: the store may still apply it later.
    Unknown(String),
}

impl WriteOutcome {
    /// The short kebab-case name used in transcripts, JSON and on screen.
    pub(crate) fn name(&self) -> &'static str {
        self.into()
    }

    /// Whether the store holds the entry as written once this outcome is known.
    pub(crate) fn is_applied(&self) -> bool {
        matches!(self, WriteOutcome::Created | WriteOutcome::ExistsSame)
    }
}

impl fmt::Display for WriteOutcome {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteOutcome::Failed(reason) | WriteOutcome::Unknown(reason) => {
                write!(formatter, "{} ({reason})", self.name())
            }
            _ => formatter.write_str(self.name()),
        }
    }
}

/// How a request ended, as its caller heard it; or that the caller was crashed before it
/// heard anything.
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
pub(crate) enum CallerOutcome {
    /// The account exists now (created, or an idempotent retry).
    Created,
    /// A `close` ended: TigerBeetle closed the account and SQLite's row is removed.
    Closed,
    /// Accepted and not complete: the outbox holds the request.
    Pending,
    /// Stopped and alerted (exists-different, ordering violation).
    Rejected,
    /// A store refused a write that certainly did not apply.
    Failed,
    /// The first write applied and the second was refused: half of the request stands.
    Incomplete,
    /// The application gave up waiting: the account may or may not exist.
    Unknown,
    /// The caller's process was killed before it heard anything.
    Crashed,
}

impl CallerOutcome {
    pub(crate) fn name(self) -> &'static str {
        self.into()
    }
}

/// What a scenario expects a caller to hear: an outcome, or that no request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ExpectedOutcome {
    Heard(CallerOutcome),
    /// No request of the user ended in the step (`none` in a scenario file).
    Nothing,
}

impl ExpectedOutcome {
    /// The name a scenario file writes for "no request ended".
    pub(crate) const NOTHING: &'static str = "none";

    /// Every name a scenario file may write.
    pub(crate) fn names() -> Vec<&'static str> {
        use strum::VariantArray;
        CallerOutcome::VARIANTS
            .iter()
            .map(|outcome| outcome.name())
            .chain([Self::NOTHING])
            .collect()
    }

    pub(crate) fn parse(text: &str) -> Option<ExpectedOutcome> {
        if text == Self::NOTHING {
            return Some(ExpectedOutcome::Nothing);
        }
        text.parse().ok().map(ExpectedOutcome::Heard)
    }

    /// Whether a caller that heard `got` (or nothing) heard what is expected.
    pub(crate) fn matches(self, got: Option<CallerOutcome>) -> bool {
        match self {
            ExpectedOutcome::Heard(expected) => got == Some(expected),
            ExpectedOutcome::Nothing => got.is_none(),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            ExpectedOutcome::Heard(outcome) => outcome.name(),
            ExpectedOutcome::Nothing => Self::NOTHING,
        }
    }
}

impl fmt::Display for ExpectedOutcome {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: each outcome's name is the same as serde's `kind`, and `Display` adds the
    /// reason of a failed or unknown write. Method: a table of every variant.
    #[test]
    fn names_match_serde_and_display_adds_the_reason() {
        let table = [
            (WriteOutcome::Created, "created", "created"),
            (WriteOutcome::ExistsSame, "exists-same", "exists-same"),
            (
                WriteOutcome::ExistsDifferent,
                "exists-different",
                "exists-different",
            ),
            (
                WriteOutcome::Failed("locked".to_string()),
                "failed",
                "failed (locked)",
            ),
            (
                WriteOutcome::Unknown("timed out".to_string()),
                "unknown",
                "unknown (timed out)",
            ),
        ];
        for (outcome, name, shown) in table {
            assert_eq!(outcome.name(), name);
            assert_eq!(outcome.to_string(), shown);
            let json = serde_json::to_value(&outcome).expect("serializes");
            assert_eq!(json["kind"], name, "{outcome:?}");
        }
    }
}
