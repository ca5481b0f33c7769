//! Consistency Cabaret: a terminal demo of one request writing to two stores with no
//! shared transaction — SQLite as the system of reference, TigerBeetle as the system of
//! record — and of the rule that keeps the system-level answer right: write last, read
//! first.
//!
//! Domain (no terminal code): `outcome`, `reference`, `record`, `supervisor`, `process`,
//! `lane`, `protocol`, `worker`, `worker_process`, `journal`, `verdict`, `scenario`,
//! `engine`, `explore`, `check`, `report`. Presentation: `transcript` (text and JSON) and
//! `tui`.

pub mod check;
pub mod engine;
pub mod explore;
pub mod journal;
pub mod lane;
pub mod outcome;
pub mod play;
pub mod process;
pub mod protocol;
pub mod record;
pub mod reference;
pub mod report;
pub mod scenario;
pub mod storm;
pub mod supervisor;
pub mod transcript;
pub mod tui;
pub mod verdict;
pub mod worker;
pub mod worker_process;
