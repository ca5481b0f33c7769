//! The vocabulary and the rules: lanes, outcomes, scenarios, verdicts and the cluster's
//! majority. No I/O, no processes: everything here is a pure function of its inputs,
//! tested in milliseconds.

pub(crate) mod cluster;
pub mod ids;
pub mod lane;
pub(crate) mod names;
pub(crate) mod narration;
pub mod outcome;
pub mod scenario;
pub mod stored;
pub mod text;
pub(crate) mod verdict;
