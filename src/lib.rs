//! Consistency Cabaret: a terminal demo of one request writing to two stores with no
//! shared transaction (SQLite as the system of reference, TigerBeetle as the system of
//! record) and of the rule that keeps the system-level answer right: write last, read
//! first.
//!
//! The six layers below are in dependency order: each imports only from the ones above it
//! (a test, `tests/integration/layering.rs`, keeps it so).

// In dependency order (blank lines keep rustfmt from sorting them).
pub mod domain;

pub mod stores;

pub mod worker;

pub mod engine;

pub mod faces;

pub mod tui;
