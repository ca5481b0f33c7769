//! The lanes: six ways to build the same "create an account" API, compared side by side.
//! This file says what each lane is (its write order, what it reads, how it recovers);
//! `worker.rs` runs a lane's application, and `verdict.rs` judges what it left behind.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One strategy of DESIGN.md's lane table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lane {
    RecordFirst,
    ReadReference,
    WriteLastReadFirst,
    Durable,
    Outbox,
    RegeneratedId,
}

/// Which store a lane writes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteOrder {
    /// SQLite first, TigerBeetle last: write last.
    ReferenceFirst,
    /// TigerBeetle first: the record exists before anyone can trace it.
    RecordFirst,
}

/// How a lane keeps an unfinished request alive across a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Nothing: the request is lost with the process; a user may retry by hand.
    None,
    /// A journal in its own SQLite file; a restarted worker resumes from it.
    Journal,
    /// An outbox message in the reference store's own transaction; a relay delivers it.
    Relay,
}

impl Lane {
    pub const ALL: [Lane; 6] = [
        Lane::RecordFirst,
        Lane::ReadReference,
        Lane::WriteLastReadFirst,
        Lane::Durable,
        Lane::Outbox,
        Lane::RegeneratedId,
    ];

    /// The kebab-case name used in scenario files, the CLI, JSON and on screen.
    pub fn name(self) -> &'static str {
        match self {
            Lane::RecordFirst => "record-first",
            Lane::ReadReference => "read-reference",
            Lane::WriteLastReadFirst => "write-last-read-first",
            Lane::Durable => "durable",
            Lane::Outbox => "outbox",
            Lane::RegeneratedId => "regenerated-id",
        }
    }

    /// A short title for narrow columns.
    pub fn title(self) -> &'static str {
        match self {
            Lane::RecordFirst => "record first",
            Lane::ReadReference => "read reference",
            Lane::WriteLastReadFirst => "write last, read first",
            Lane::Durable => "durable (WLRF + journal)",
            Lane::Outbox => "outbox + relay",
            Lane::RegeneratedId => "bug: id drawn on retry",
        }
    }

    /// One sentence saying how the lane writes and reads.
    pub fn summary(self) -> &'static str {
        match self {
            Lane::RecordFirst => "writes TigerBeetle, then SQLite; reads SQLite",
            Lane::ReadReference => "writes SQLite, then TigerBeetle; reads SQLite",
            Lane::WriteLastReadFirst => {
                "writes SQLite, then TigerBeetle; SQLite names the id, TigerBeetle decides"
            }
            Lane::Durable => "WLRF with each step checkpointed in a journal; resumes after a crash",
            Lane::Outbox => "SQLite row + outbox message in one transaction; a relay delivers",
            Lane::RegeneratedId => {
                "like durable, but draws a new id on every attempt and overwrites the row"
            }
        }
    }

    pub fn write_order(self) -> WriteOrder {
        match self {
            Lane::RecordFirst => WriteOrder::RecordFirst,
            _ => WriteOrder::ReferenceFirst,
        }
    }

    /// Whether the lane reads first. The rule (see [`crate::domain::verdict::read_rule`]):
    /// no SQLite row for the user means "absent", whether TigerBeetle answers or not; a
    /// row only names the id, and TigerBeetle, asked about that id, decides. It rests on
    /// the invariant write last keeps at every instant: every TigerBeetle account has its
    /// SQLite row. The lane's application runs it (`worker.rs`, `Command::Read`).
    pub fn reads_record(self) -> bool {
        !matches!(self, Lane::RecordFirst | Lane::ReadReference)
    }

    pub fn recovery(self) -> Recovery {
        match self {
            Lane::RecordFirst | Lane::ReadReference | Lane::WriteLastReadFirst => Recovery::None,
            Lane::Durable | Lane::RegeneratedId => Recovery::Journal,
            Lane::Outbox => Recovery::Relay,
        }
    }

    /// Whether the lane stops and alerts on exists-different and on the ordering check
    /// (SQLite created, TigerBeetle exists-same), the two checks of the upstream example.
    pub fn raises_alerts(self) -> bool {
        matches!(
            self,
            Lane::WriteLastReadFirst | Lane::Durable | Lane::RegeneratedId | Lane::Outbox
        )
    }

    /// The lane's index in [`Lane::ALL`]: its TigerBeetle ledger is derived from it.
    pub fn index(self) -> u32 {
        Lane::ALL
            .iter()
            .position(|lane| *lane == self)
            .map(|index| index as u32)
            .unwrap_or_default()
    }
}

impl fmt::Display for Lane {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for Lane {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Lane::ALL
            .into_iter()
            .find(|lane| lane.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Lane::ALL.iter().map(|lane| lane.name()).collect();
                format!(
                    "unknown lane `{text}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// The reference store of a lane whose files live in `directory`. It has a folder of its
/// own, so that making SQLite read-only leaves the durable lane's journal (its own system)
/// untouched.
pub fn reference_path(directory: &std::path::Path) -> std::path::PathBuf {
    directory.join("reference").join("reference.sqlite")
}

/// The durable lanes' journal, beside (not inside) the reference store's folder.
pub fn journal_path(directory: &std::path::Path) -> std::path::PathBuf {
    directory.join("journal.sqlite")
}

/// The named step boundaries where a worker holds and the controller may crash it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HoldPoint {
    /// The request is accepted; nothing is written yet.
    BeforeFirstWrite,
    /// The first store is written; the second is not.
    BetweenWrites,
    /// The TigerBeetle request is sent and not answered yet.
    RecordInFlight,
    /// Both stores are written; the worker has not recorded the result (the answer is lost).
    AfterSecondWrite,
    /// A reservation (pending transfer) is made and not yet posted.
    BeforePost,
}

impl HoldPoint {
    pub const CRASH_POINTS: [HoldPoint; 4] = [
        HoldPoint::BeforeFirstWrite,
        HoldPoint::BetweenWrites,
        HoldPoint::RecordInFlight,
        HoldPoint::AfterSecondWrite,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HoldPoint::BeforeFirstWrite => "before-first-write",
            HoldPoint::BetweenWrites => "between-writes",
            HoldPoint::RecordInFlight => "record-in-flight",
            HoldPoint::AfterSecondWrite => "after-second-write",
            HoldPoint::BeforePost => "before-post",
        }
    }

    /// Plain words for the timeline.
    pub fn describe(self) -> &'static str {
        match self {
            HoldPoint::BeforeFirstWrite => "before the first write",
            HoldPoint::BetweenWrites => "between the writes",
            HoldPoint::RecordInFlight => "while the TigerBeetle request is in flight",
            HoldPoint::AfterSecondWrite => "after the second write, before recording the result",
            HoldPoint::BeforePost => "before posting the reservation",
        }
    }
}

impl fmt::Display for HoldPoint {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for HoldPoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let all = [
            HoldPoint::BeforeFirstWrite,
            HoldPoint::BetweenWrites,
            HoldPoint::RecordInFlight,
            HoldPoint::AfterSecondWrite,
            HoldPoint::BeforePost,
        ];
        all.into_iter()
            .find(|point| point.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|point| point.name()).collect();
                format!(
                    "unknown crash point `{text}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}
