//! The lanes: seven ways to build the same "create an account" API, compared side by side.
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
    /// The fourth corner of the 2×2 (write order × read source): record first, like
    /// `RecordFirst`, but it answers "does X exist?" from TigerBeetle. To read the record
    /// by user, its design links the account to the user in TigerBeetle: it stamps
    /// `user_data_128` with a 128-bit hash of the user id (TigerBeetle's "secondary
    /// identifier to link this account to an external entity", `docs/reference/account.md`)
    /// and asks `query_accounts` for the accounts on its ledger with that tag. It is the
    /// one lane that declares a user tag (`Lane::tags_user`). A tag, not an id derived
    /// from the user: a derived id would also make a retry meet the first account (what
    /// scenario 23's idempotency key shows), mixing a second effect into this corner,
    /// whose ids are drawn as record-first draws them; only the read source differs. The
    /// lesson: reading the record fixes the answers, not traceability (a TigerBeetle
    /// account with no SQLite row has no name and no terms).
    RecordFirstReadRecord,
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

/// Where a lane's application answers "does X exist?" from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadSource {
    /// SQLite alone: a row means "exists".
    Reference,
    /// Read first: SQLite names the id, TigerBeetle decides (see
    /// [`crate::domain::verdict::read_rule`]).
    ReferenceThenRecord,
    /// TigerBeetle alone, by the user's tag in `user_data_128` (`query_accounts`).
    RecordByUserTag,
}

/// The 2×2 the lanes are built on: write order (rows: record first, reference first) ×
/// read source (columns: the reference alone, then TigerBeetle), a lane in each corner.
/// Write-last-read-first stands in the record column: SQLite only names the id there, and
/// TigerBeetle decides. The TUI draws it on `g`; scenario 21 crashes all four.
pub(crate) const CORNERS: [[Lane; 2]; 2] = [
    [Lane::RecordFirst, Lane::RecordFirstReadRecord],
    [Lane::ReadReference, Lane::WriteLastReadFirst],
];

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
    pub const ALL: [Lane; 7] = [
        Lane::RecordFirst,
        Lane::ReadReference,
        Lane::WriteLastReadFirst,
        Lane::Durable,
        Lane::Outbox,
        Lane::RegeneratedId,
        Lane::RecordFirstReadRecord,
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
            Lane::RecordFirstReadRecord => "read record by tag",
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
            Lane::RecordFirstReadRecord => {
                "writes TigerBeetle (user tag in user_data_128), then SQLite; reads TigerBeetle by tag"
            }
        }
    }

    pub(crate) fn write_order(self) -> WriteOrder {
        match self {
            Lane::RecordFirst | Lane::RecordFirstReadRecord => WriteOrder::RecordFirst,
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
        self.read_source() == ReadSource::ReferenceThenRecord
    }

    /// Where the lane answers "does X exist?" from.
    pub(crate) fn read_source(self) -> ReadSource {
        match self {
            Lane::RecordFirst | Lane::ReadReference => ReadSource::Reference,
            Lane::RecordFirstReadRecord => ReadSource::RecordByUserTag,
            Lane::WriteLastReadFirst | Lane::Durable | Lane::Outbox | Lane::RegeneratedId => {
                ReadSource::ReferenceThenRecord
            }
        }
    }

    /// Whether the lane's design links a TigerBeetle account to its user in TigerBeetle:
    /// it stamps `user_data_128` with [`crate::domain::ids::user_key`] of the user. Every
    /// other lane leaves it 0, as the upstream example does.
    pub(crate) fn tags_user(self) -> bool {
        self.read_source() == ReadSource::RecordByUserTag
    }

    pub(crate) fn recovery(self) -> Recovery {
        match self {
            Lane::RecordFirst
            | Lane::ReadReference
            | Lane::WriteLastReadFirst
            | Lane::RecordFirstReadRecord => Recovery::None,
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
        u32::try_from(index).expect("seven lanes fit in a u32")
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

    const LANE_NAMES: [(Lane, &str); 7] = [
        (Lane::RecordFirst, "record-first"),
        (Lane::ReadReference, "read-reference"),
        (Lane::WriteLastReadFirst, "write-last-read-first"),
        (Lane::Durable, "durable"),
        (Lane::Outbox, "outbox"),
        (Lane::RegeneratedId, "regenerated-id"),
        (Lane::RecordFirstReadRecord, "record-first-read-record"),
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
                 write-last-read-first, durable, outbox, regenerated-id, record-first-read-record)",
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
                 write-last-read-first, durable, outbox, regenerated-id, record-first-read-record)",
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
        assert_eq!(indexes, [0, 1, 2, 3, 4, 5, 6]);
    }

    /// Goal: each corner of the grid holds the lane with that write order and read source,
    /// so the screen that draws it cannot put a lane in the wrong corner. Method: check
    /// every corner against its row's order and its column's source.
    #[test]
    fn each_corner_has_its_write_order_and_read_source() {
        let orders = [WriteOrder::RecordFirst, WriteOrder::ReferenceFirst];
        for (row, order) in CORNERS.iter().zip(orders) {
            assert_eq!(row[0].write_order(), order, "{}", row[0]);
            assert_eq!(row[1].write_order(), order, "{}", row[1]);
            assert_eq!(row[0].read_source(), ReadSource::Reference, "{}", row[0]);
            assert_ne!(row[1].read_source(), ReadSource::Reference, "{}", row[1]);
        }
        // Only the lane that reads by user tag stamps one.
        let tagging: Vec<Lane> = Lane::ALL
            .into_iter()
            .filter(|lane| lane.tags_user())
            .collect();
        assert_eq!(tagging, [Lane::RecordFirstReadRecord]);
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
