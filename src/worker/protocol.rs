//! The worker protocol: JSON lines between the controller (TUI or headless player) and a
//! lane's worker process, over the worker's stdin and stdout. One request at a time; at
//! every hold point the worker reports `Hold` and waits for `Go` (or for SIGKILL).

use crate::domain::lane::{HoldPoint, Lane, WriteOrder};
use crate::domain::outcome::{CallerOutcome, WriteOutcome};
use crate::domain::verdict::{Answer, ViolationKind};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a worker is started with: the hidden `cabaret worker` subcommand's
/// arguments, declared once. The controller turns them into a command line with
/// [`WorkerOptions::to_arguments`]; the worker's `main` parses them back with clap.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct WorkerOptions {
    #[arg(long)]
    pub(crate) lane: Lane,
    /// The lane's reference store (SQLite).
    #[arg(long)]
    pub(crate) reference: PathBuf,
    /// The durable lanes' journal (SQLite; unused by the other lanes).
    #[arg(long)]
    pub(crate) journal: PathBuf,
    /// Where the worker's stderr goes (the TigerBeetle client writes warnings there).
    #[arg(long)]
    pub log: PathBuf,
    #[arg(long)]
    pub(crate) record_address: String,
    #[arg(long)]
    pub(crate) ledger: u32,
    /// The run's seed: with the ledger and incarnation, it picks the ids the worker draws.
    #[arg(long = "run-seed")]
    pub(crate) seed: u64,
    /// How many workers this lane started before this one: mixed into the id stream.
    #[arg(long)]
    pub(crate) incarnation: u32,
    /// A TigerBeetle request's timeout: past it, the outcome is unknown.
    #[arg(long = "record-timeout-ms", value_parser = parse_milliseconds)]
    pub(crate) record_timeout: Duration,
    /// The lane's reader: a process of the lane's application that only answers reads
    /// (any other command is refused).
    #[arg(long)]
    pub(crate) reader: bool,
}

impl WorkerOptions {
    /// The command line that `cabaret worker` parses back into these options.
    pub(crate) fn to_arguments(&self) -> Vec<OsString> {
        let mut arguments: Vec<OsString> = vec!["worker".into()];
        let mut push = |flag: &str, value: OsString| {
            arguments.push(flag.into());
            arguments.push(value);
        };
        push("--lane", self.lane.name().into());
        push("--reference", self.reference.clone().into());
        push("--journal", self.journal.clone().into());
        push("--log", self.log.clone().into());
        push("--record-address", self.record_address.clone().into());
        push("--ledger", self.ledger.to_string().into());
        push("--run-seed", self.seed.to_string().into());
        push("--incarnation", self.incarnation.to_string().into());
        push(
            "--record-timeout-ms",
            self.record_timeout.as_millis().to_string().into(),
        );
        if self.reader {
            arguments.push("--reader".into());
        }
        arguments
    }
}

fn parse_milliseconds(text: &str) -> Result<Duration, String> {
    text.parse()
        .map(Duration::from_millis)
        .map_err(|error| format!("expected milliseconds, a whole number: {error}"))
}

/// Which store a write went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Store {
    Reference,
    Record,
    Journal,
    Outbox,
}

impl Store {
    pub(crate) fn name(self) -> &'static str {
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
pub(crate) enum Command {
    /// Create the account of `user`.
    Create {
        user: String,
        name: String,
        /// A misbehaving writer may reverse the lane's order (to stage an ordering violation).
        order: Option<WriteOrder>,
        /// The caller's idempotency key, when the caller chooses the account's id: the
        /// lane derives the id from it instead of drawing one.
        #[serde(default)]
        key: Option<String>,
    },
    /// Close the account of `user`: TigerBeetle's closing transfers and SQLite's row
    /// removed, in the lane's close order.
    Close { user: String },
    /// Resume every unfinished request (durable: from the journal; outbox: the relay).
    Recover,
    /// Reserve `amount` for `user` as a pending transfer that expires, then post it.
    Reserve {
        user: String,
        amount: u64,
        timeout_seconds: u32,
    },
    /// Post `user`'s newest reservation (pending transfer), found in TigerBeetle.
    Post { user: String },
    /// Answer "does X exist?" for each of `users` by the lane's own read path, against
    /// the real stores, within the worker's own TigerBeetle deadline; on a new TigerBeetle
    /// client if asked (`fresh_client`, after the server was killed and restarted).
    Read {
        users: Vec<String>,
        #[serde(default)]
        fresh_client: bool,
    },
    /// Release the current hold.
    Go,
    /// Run `request` free (the storm): hold only at `hold_at`, where a crash is scheduled,
    /// and nowhere else. The other commands hold at every hold point, for stepping.
    Free {
        request: Box<Command>,
        hold_at: Option<HoldPoint>,
        /// Start with a new TigerBeetle client: after the server was killed and restarted,
        /// the old one backs off before reconnecting, for longer the longer it was away.
        #[serde(default)]
        fresh_client: bool,
    },
    /// Run the account creations `requests` free as one batch (the storm's group commit):
    /// the lane's writes in its own order, each write of the batch in as few store
    /// round trips as the lane's design allows, every request's end reported on its own
    /// once the batch is done. The worker holds only at `hold_at`, the first time the
    /// batch reaches it, with the whole batch there.
    FreeBatch {
        requests: Vec<BatchRequest>,
        hold_at: Option<HoldPoint>,
        #[serde(default)]
        fresh_client: bool,
    },
}

/// One account creation of a [`Command::FreeBatch`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BatchRequest {
    pub(crate) user: String,
    pub(crate) name: String,
}

/// How a request ended, as its caller hears it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RequestResult {
    /// The account exists now (created, or an idempotent retry).
    Created,
    /// The account is closed in TigerBeetle and its SQLite row removed.
    Closed,
    /// The outbox holds the request; the relay has not delivered it yet.
    Pending,
    /// Stopped and alerted (exists-different, ordering violation).
    Rejected(String),
    /// A store refused a write that certainly did not apply, so the account was not
    /// created. A SQLite row written before a refused TigerBeetle write stays (write last:
    /// a row alone is no account to a lane that reads first).
    Failed(String),
    /// The first write applied and the second was refused: half of the request stands
    /// (record-first's TigerBeetle account, which cannot be deleted, with no SQLite row).
    Incomplete(String),
    /// The application stopped waiting for TigerBeetle's answer (its own deadline; the
    /// TigerBeetle client itself never times out): the account may or may not exist.
    Unknown,
}

impl RequestResult {
    pub(crate) fn name(&self) -> &'static str {
        self.outcome().name()
    }

    /// What the caller heard, without the detail.
    pub(crate) fn outcome(&self) -> CallerOutcome {
        match self {
            RequestResult::Created => CallerOutcome::Created,
            RequestResult::Closed => CallerOutcome::Closed,
            RequestResult::Pending => CallerOutcome::Pending,
            RequestResult::Rejected(_) => CallerOutcome::Rejected,
            RequestResult::Failed(_) => CallerOutcome::Failed,
            RequestResult::Incomplete(_) => CallerOutcome::Incomplete,
            RequestResult::Unknown => CallerOutcome::Unknown,
        }
    }

    /// Whether the request has an end (created or rejected), for eventual completion.
    pub(crate) fn is_final(&self) -> bool {
        matches!(
            self,
            RequestResult::Created | RequestResult::Closed | RequestResult::Rejected(_)
        )
    }
}

/// Worker to controller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "report", rename_all = "kebab-case")]
pub(crate) enum Report {
    /// The worker is up and has opened its stores.
    Ready { pid: u32 },
    /// The worker holds at `point` for `user` until `Go`.
    Hold { user: String, point: HoldPoint },
    /// The account id drawn for `user`, reported before anything is written with it.
    Drew { user: String, guid: String },
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
        violation: ViolationKind,
        detail: String,
    },
    /// The request for `user` ended with `result`.
    Finished { user: String, result: RequestResult },
    /// The lane's answer to "does `user` exist?", by its read path (a `read` command).
    Answered { user: String, answer: Answer },
    /// The command as a whole is done; the worker waits for the next one.
    Idle,
    /// The worker could not carry out the command (a store it cannot open, say).
    Error { text: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Commands,
    }

    #[derive(clap::Subcommand)]
    enum Commands {
        Worker(WorkerOptions),
    }

    #[test]
    fn the_command_line_parses_back_into_the_same_options() {
        let options = WorkerOptions {
            lane: Lane::WriteLastReadFirst,
            reference: PathBuf::from("/data/run/lanes/x/reference/reference.sqlite"),
            journal: PathBuf::from("/data/run/lanes/x/journal.sqlite"),
            log: PathBuf::from("/data/run/lanes/x/worker.log"),
            record_address: "127.0.0.1:3001".to_string(),
            ledger: 7,
            seed: 42,
            incarnation: 3,
            record_timeout: Duration::from_millis(1500),
            reader: false,
        };
        for reader in [false, true] {
            let options = WorkerOptions {
                reader,
                ..options.clone()
            };
            let mut arguments = vec![OsString::from("cabaret")];
            arguments.extend(options.to_arguments());
            let Commands::Worker(parsed) = Cli::parse_from(arguments).command;
            assert_eq!(parsed, options);
        }
    }

    #[test]
    fn a_free_request_round_trips_through_json() {
        let command = Command::Free {
            request: Box::new(Command::Create {
                user: "user-7".to_string(),
                name: "User 7".to_string(),
                order: None,
                key: None,
            }),
            hold_at: Some(HoldPoint::RecordInFlight),
            fresh_client: true,
        };
        let line = serde_json::to_string(&command).expect("encodes");
        assert_eq!(
            serde_json::from_str::<Command>(&line).expect("decodes"),
            command
        );
    }

    #[test]
    fn a_batch_round_trips_through_json() {
        let command = Command::FreeBatch {
            requests: vec![
                BatchRequest {
                    user: "user-1".to_string(),
                    name: "User 1".to_string(),
                },
                BatchRequest {
                    user: "user-2".to_string(),
                    name: "User 2".to_string(),
                },
            ],
            hold_at: Some(HoldPoint::BetweenWrites),
            fresh_client: false,
        };
        let line = serde_json::to_string(&command).expect("encodes");
        assert!(line.starts_with(r#"{"command":"free-batch","requests":[{"user":"user-1""#));
        assert_eq!(
            serde_json::from_str::<Command>(&line).expect("decodes"),
            command
        );
    }

    #[test]
    fn a_report_round_trips_through_json() {
        let report = Report::Hold {
            user: "alice".to_string(),
            point: HoldPoint::BetweenWrites,
        };
        let line = serde_json::to_string(&report).expect("encodes");
        assert_eq!(
            line,
            r#"{"report":"hold","user":"alice","point":"between-writes"}"#
        );
        assert_eq!(
            serde_json::from_str::<Report>(&line).expect("decodes"),
            report
        );
    }
}
