//! The real stores and the processes behind them: SQLite (the reference store and the
//! durable journal), TigerBeetle (the record store), the TigerBeetle server's supervisor,
//! and the helpers that own child processes.

pub mod disk;
pub(crate) mod journal;
pub mod process;
pub mod record;
pub mod reference;
pub mod reference_faults;
pub(crate) mod sqlite;
pub mod supervisor;
pub(crate) mod wire;
