//! The worker protocol: JSON lines between the controller (TUI or headless player) and a
//! lane's worker process, over the worker's stdin and stdout. One request at a time; at
//! every hold point the worker reports `Hold` and waits for `Go` (or for SIGKILL).

use crate::domain::lane::{HoldPoint, WriteOrder};
use crate::domain::outcome::WriteOutcome;
use serde::{Deserialize, Serialize};

/// Which store a write went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Store {
    Reference,
    Record,
    Journal,
    Outbox,
}

impl Store {
    pub fn name(self) -> &'static str {
        match self {
            Store::Reference => "SQLite",
            Store::Record => "TigerBeetle",
            Store::Journal => "journal",
            Store::Outbox => "outbox",
        }
    }
}

/// Controller to worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    /// Create the account of `user`.
    Create {
        user: String,
        name: String,
        /// A misbehaving writer may reverse the lane's order (to stage an ordering violation).
        order: Option<WriteOrder>,
        /// Whether to hold at every hold point (false: run straight through).
        hold: bool,
    },
    /// Resume every unfinished request (durable: from the journal; outbox: the relay).
    Recover { hold: bool },
    /// Reserve `amount` for `user` as a pending transfer that expires, then post it.
    Reserve {
        user: String,
        amount: u64,
        timeout_seconds: u32,
        hold: bool,
    },
    /// Release the current hold.
    Go,
}

/// How a request ended, as its caller hears it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestResult {
    /// The account exists now (created, or an idempotent retry).
    Created,
    /// The outbox holds the request; the relay has not delivered it yet.
    Pending,
    /// Stopped and alerted (exists-different, ordering violation).
    Rejected(String),
    /// A store refused a write that certainly did not apply.
    Failed(String),
    /// TigerBeetle did not answer in time: the account may or may not exist.
    Unknown,
}

impl RequestResult {
    pub fn name(&self) -> &'static str {
        match self {
            RequestResult::Created => "created",
            RequestResult::Pending => "pending",
            RequestResult::Rejected(_) => "rejected",
            RequestResult::Failed(_) => "failed",
            RequestResult::Unknown => "unknown",
        }
    }

    /// Whether the request has an end (created or rejected), for eventual completion.
    pub fn is_final(&self) -> bool {
        matches!(self, RequestResult::Created | RequestResult::Rejected(_))
    }
}

/// Worker to controller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "report", rename_all = "kebab-case")]
pub enum Report {
    /// The worker is up and has opened its stores.
    Ready { pid: u32 },
    /// The worker holds at `point` for `user` until `Go`.
    Hold { user: String, point: HoldPoint },
    /// A write to a store and its classified outcome.
    Wrote {
        user: String,
        store: Store,
        guid: String,
        outcome: WriteOutcome,
    },
    /// Something worth a line on the timeline ("resuming alice from the journal").
    Note { user: String, text: String },
    /// An alert that stops the request: `exists-different` or `ordering-violation`.
    Alert {
        user: String,
        violation: String,
        detail: String,
    },
    /// The request for `user` ended with `result`.
    Finished { user: String, result: RequestResult },
    /// The command as a whole is done; the worker waits for the next one.
    Idle,
    /// The worker could not carry out the command (a store it cannot open, say).
    Error { text: String },
}
