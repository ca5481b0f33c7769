//! The headless faces: the transcript and JSON, `play`, `explore`, `storm`, `bench` and `check`.
//! Each one drives the engine and prints what it reports.

pub mod bench;
pub mod check;
pub mod explore;
pub mod play;
pub mod storm;
pub mod transcript;
