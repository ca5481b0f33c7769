//! The vocabulary and the rules: lanes, outcomes, scenarios and verdicts. No I/O, no
//! processes: everything here is a pure function of its inputs, tested in milliseconds.

pub mod ids;
pub mod lane;
pub mod narration;
pub mod outcome;
pub mod scenario;
pub mod stored;
pub mod verdict;
