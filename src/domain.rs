//! The vocabulary and the rules: lanes, outcomes, scenarios, verdicts and the cluster's
//! majority. No I/O, no processes: everything here is a pure function of its inputs,
//! tested in milliseconds.

pub mod cluster;
pub mod ids;
pub mod lane;
pub mod names;
pub mod outcome;
pub mod scenario;
pub mod stored;
pub mod text;
pub mod verdict;
