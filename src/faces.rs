//! The headless faces: the transcript and JSON, `play`, `explore`, `storm`, `bench`, `check`
//! and `doctor`.
//! Each one drives the engine and prints what it reports.

pub mod bench;
pub mod check;
pub mod doctor;
pub mod explore;
pub mod guard;
pub mod play;
pub mod storm;
pub(crate) mod transcript;
