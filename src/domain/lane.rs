//! The lanes: six ways to build the same "create an account" API, compared side by side.
//! This file says what each lane is (its write order, what it reads, how it recovers);
//! `worker.rs` runs a lane's application, and `verdict.rs` judges what it left behind.

use crate::domain::names::UnknownName;
use serde::{Deserialize, Serialize};

/// One strategy of DESIGN.md's lane table.
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
    parse_err_fn = unknown_lane
)]
pub enum Lane {
    RecordFirst,
    ReadReference,
    WriteLastReadFirst,
    Durable,
    Outbox,
    RegeneratedId,
}

fn unknown_lane(text: &str) -> UnknownName {
    UnknownName::of::<Lane>("lane", text)
}

/// Which store a lane writes first.
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
    parse_err_fn = unknown_write_order
)]
pub(crate) enum WriteOrder {
    // Declared in the order a scenario's error lists them ("record-first or
    // reference-first"); nothing else depends on it.
    /// TigerBeetle first: the record exists before anyone can trace it.
    RecordFirst,
    /// SQLite first, TigerBeetle last: write last.
    ReferenceFirst,
}

fn unknown_write_order(text: &str) -> UnknownName {
    UnknownName::of::<WriteOrder>("order", text)
}

/// How a lane keeps an unfinished request alive across a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// Nothing: the request is lost with the process; a user may retry by hand.
    None,
    /// A journal in its own SQLite file; a restarted worker resumes from it.
    Journal,
    /// An outbox message in the reference store's own transaction; a relay delivers it.
    Relay,
}

impl Lane {
    /// Every lane, in the order of their indexes and so of their TigerBeetle ledgers: a new
    /// lane goes at the end. The same order as the declaration (a test checks it).
    pub const ALL: [Lane; 6] = [
        Lane::RecordFirst,
        Lane::ReadReference,
        Lane::WriteLastReadFirst,
        Lane::Durable,
        Lane::Outbox,
        Lane::RegeneratedId,
    ];

    /// The kebab-case name used in scenario files, the CLI, JSON and on screen.
    pub(crate) fn name(self) -> &'static str {
        self.into()
    }

    /// A short title for narrow columns.
    pub(crate) fn title(self) -> &'static str {
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
    pub(crate) fn summary(self) -> &'static str {
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

    pub(crate) fn write_order(self) -> WriteOrder {
        match self {
            Lane::RecordFirst => WriteOrder::RecordFirst,
            _ => WriteOrder::ReferenceFirst,
        }
    }

    /// The order in which the lane's close writes: a lane that reads first closes in the
    /// reverse order of opening (TigerBeetle, then SQLite), so that every open account
    /// keeps its row; record-first and read-reference close in their one write order.
    pub(crate) fn close_order(self) -> WriteOrder {
        if self.reads_record() {
            WriteOrder::RecordFirst
        } else {
            self.write_order()
        }
    }

    /// Whether the lane reads first. The rule (see [`crate::domain::verdict::read_rule`]):
    /// no SQLite row for the user means "absent", whether TigerBeetle answers or not; a
    /// row only names the id, and TigerBeetle, asked about that id, decides. It rests on
    /// the invariant write last keeps at every instant: every TigerBeetle account has its
    /// SQLite row. The lane's application runs it (`worker.rs`, `Command::Read`).
    pub(crate) fn reads_record(self) -> bool {
        !matches!(self, Lane::RecordFirst | Lane::ReadReference)
    }

    pub(crate) fn recovery(self) -> Recovery {
        match self {
            Lane::RecordFirst | Lane::ReadReference | Lane::WriteLastReadFirst => Recovery::None,
            Lane::Durable | Lane::RegeneratedId => Recovery::Journal,
            Lane::Outbox => Recovery::Relay,
        }
    }

    /// Whether the lane stops and alerts on exists-different and on the ordering check
    /// (SQLite created, TigerBeetle exists-same), the two checks of the upstream example.
    pub(crate) fn raises_alerts(self) -> bool {
        matches!(
            self,
            Lane::WriteLastReadFirst | Lane::Durable | Lane::RegeneratedId | Lane::Outbox
        )
    }

    /// The lane's index in [`Lane::ALL`]: its TigerBeetle ledger is derived from it.
    pub(crate) fn index(self) -> u32 {
        let index = Lane::ALL
            .iter()
            .position(|lane| *lane == self)
            .expect("Lane::ALL lists every lane");
        u32::try_from(index).expect("six lanes fit in a u32")
    }
}

/// The named step boundaries where a worker holds and the controller may crash it.
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
    parse_err_fn = unknown_hold_point
)]
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
    pub(crate) const CRASH_POINTS: [HoldPoint; 4] = [
        HoldPoint::BeforeFirstWrite,
        HoldPoint::BetweenWrites,
        HoldPoint::RecordInFlight,
        HoldPoint::AfterSecondWrite,
    ];

    /// The points a `close` holds at (it does not hold with its TigerBeetle request in
    /// flight).
    pub(crate) const CLOSE_CRASH_POINTS: [HoldPoint; 3] = [
        HoldPoint::BeforeFirstWrite,
        HoldPoint::BetweenWrites,
        HoldPoint::AfterSecondWrite,
    ];

    /// The kebab-case name used in scenario files, JSON and on screen.
    pub(crate) fn name(self) -> &'static str {
        self.into()
    }

    /// Plain words for the timeline.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            HoldPoint::BeforeFirstWrite => "before the first write",
            HoldPoint::BetweenWrites => "between the writes",
            HoldPoint::RecordInFlight => "while the TigerBeetle request is in flight",
            HoldPoint::AfterSecondWrite => "after the second write, before recording the result",
            HoldPoint::BeforePost => "before posting the reservation",
        }
    }
}

fn unknown_hold_point(text: &str) -> UnknownName {
    UnknownName::of::<HoldPoint>("crash point", text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::names::{assert_names, assert_parses};

    const LANE_NAMES: [(Lane, &str); 6] = [
        (Lane::RecordFirst, "record-first"),
        (Lane::ReadReference, "read-reference"),
        (Lane::WriteLastReadFirst, "write-last-read-first"),
        (Lane::Durable, "durable"),
        (Lane::Outbox, "outbox"),
        (Lane::RegeneratedId, "regenerated-id"),
    ];

    const HOLD_POINT_NAMES: [(HoldPoint, &str); 5] = [
        (HoldPoint::BeforeFirstWrite, "before-first-write"),
        (HoldPoint::BetweenWrites, "between-writes"),
        (HoldPoint::RecordInFlight, "record-in-flight"),
        (HoldPoint::AfterSecondWrite, "after-second-write"),
        (HoldPoint::BeforePost, "before-post"),
    ];

    const WRITE_ORDER_NAMES: [(WriteOrder, &str); 2] = [
        (WriteOrder::RecordFirst, "record-first"),
        (WriteOrder::ReferenceFirst, "reference-first"),
    ];

    /// Goal: the names in scenario files, the CLI, JSON and on screen stay exactly these,
    /// and strum and serde agree on them. Method: a table per enum.
    #[test]
    fn names_are_kebab_case_and_the_same_for_strum_and_serde() {
        assert_names(&LANE_NAMES);
        assert_parses(&LANE_NAMES);
        assert_names(&HOLD_POINT_NAMES);
        assert_parses(&HOLD_POINT_NAMES);
        assert_names(&WRITE_ORDER_NAMES);
        assert_parses(&WRITE_ORDER_NAMES);
    }

    /// Goal: an unknown name fails with a sentence naming it and every name expected (clap
    /// and the scenario loader print it as is). Method: parse a wrong name of each enum.
    #[test]
    fn an_unknown_name_lists_the_names_expected() {
        let cases = [
            (
                "write-first".parse::<Lane>().map(|_| ()),
                "unknown lane `write-first` (expected one of: record-first, read-reference, \
                 write-last-read-first, durable, outbox, regenerated-id)",
            ),
            (
                "mid-air".parse::<HoldPoint>().map(|_| ()),
                "unknown crash point `mid-air` (expected one of: before-first-write, \
                 between-writes, record-in-flight, after-second-write, before-post)",
            ),
            (
                "sideways".parse::<WriteOrder>().map(|_| ()),
                "unknown order `sideways` (expected record-first or reference-first)",
            ),
            // Names are exact: no other case, no surrounding space.
            (
                "Durable".parse::<Lane>().map(|_| ()),
                "unknown lane `Durable` (expected one of: record-first, read-reference, \
                 write-last-read-first, durable, outbox, regenerated-id)",
            ),
        ];
        for (parsed, expected) in cases {
            let error = parsed.expect_err(expected);
            assert_eq!(error.to_string(), expected);
        }
    }

    /// Goal: `Lane::ALL` lists every lane once, and the indexes (hence the TigerBeetle
    /// ledgers) stay where they are. Method: compare with strum's list and pin each index.
    #[test]
    fn every_lane_has_its_fixed_index() {
        assert_eq!(
            Lane::ALL.as_slice(),
            <Lane as strum::VariantArray>::VARIANTS
        );
        let indexes: Vec<u32> = LANE_NAMES.iter().map(|(lane, _)| lane.index()).collect();
        assert_eq!(indexes, [0, 1, 2, 3, 4, 5]);
    }

    /// Goal: the crash points are the hold points a create passes through: all but the
    /// reservation's. Method: compare with every hold point.
    #[test]
    fn the_crash_points_are_every_hold_point_but_before_post() {
        let mut expected: Vec<HoldPoint> =
            HOLD_POINT_NAMES.iter().map(|(point, _)| *point).collect();
        expected.retain(|point| *point != HoldPoint::BeforePost);
        assert_eq!(HoldPoint::CRASH_POINTS.as_slice(), expected.as_slice());
    }
}
