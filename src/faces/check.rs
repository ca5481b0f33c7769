//! `cabaret check --data-dir DIR`: reads the stores of a run's data directory on their own
//! (starting TigerBeetle from the run's data file if no server is running), prints what
//! each holds, and which of DESIGN.md's properties hold (the correct answer aside: that
//! needs a lane's question, not just its stores). Like the upstream example's `check.sh`
//! it works from the stores alone; when the run's history file is there, it also knows
//! which user each account id was drawn for, and so finds duplicates.

use crate::domain::ids::{guid_of, short_id};
use crate::domain::lane::Lane;
use crate::domain::verdict::{self, LaneHistory, LaneObservation, Severity};
use crate::engine::layout::{LaneFiles, RunLayout};
use crate::stores::journal::Journal;
use crate::stores::record::{RecordError, RecordStore};
use crate::stores::supervisor::{RecordServer, SupervisorError};
use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

/// How long `check` waits for each TigerBeetle read.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// The properties a run's stores alone can show (the correct answer needs a lane's
/// question, and alerts are raised by a lane's application).
const PROPERTIES: [&str; 4] = [
    "traceability",
    "consistency",
    "no duplicates",
    "eventual completion",
];

/// Why a run's folder could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Manifest(String),
    #[error("{0} holds no TigerBeetle data file (play with --keep-data to keep it)")]
    NoDataFile(String),
    #[error("a run is still using {folder} (TigerBeetle pid {pid}): end it first")]
    InUse { folder: String, pid: u32 },
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("{0}")]
    History(String),
    #[error("starting a runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// What `check` found: the report's text, and whether every property holds.
pub struct CheckReport {
    pub text: String,
    pub holds: bool,
}

/// Reads the run's folder and reports what its stores hold and which properties hold.
pub fn check(data_dir: &Path, tigerbeetle: &Path) -> Result<CheckReport, CheckError> {
    let layout = RunLayout::new(data_dir);
    let manifest = layout.read_manifest().map_err(CheckError::Manifest)?;
    let record_dir = layout.record_dir();
    if !layout.replica_data_file(0).exists() {
        return Err(CheckError::NoDataFile(record_dir.display().to_string()));
    }
    if let Some(pid) = live_server(&layout) {
        return Err(CheckError::InUse {
            folder: data_dir.display().to_string(),
            pid,
        });
    }
    let history = crate::engine::history::read(&layout.history()).map_err(CheckError::History)?;
    let mut server = RecordServer::prepare(&record_dir, tigerbeetle)?;
    server.start()?;
    let record = RecordStore::connect(&server.address(), READ_TIMEOUT)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(CheckError::Runtime)?;
    let mut text = format!("Checking {} ({})\n", data_dir.display(), manifest.title);
    if history.is_empty() {
        text.push_str("No history: judged from the stores alone (duplicates cannot be told).\n");
    } else {
        let _ = writeln!(
            text,
            "History: {} operation(s) in {}; it says which user each account id was drawn for.",
            history.len(),
            layout.history().display()
        );
    }
    let mut holds = true;
    for (lane, ledger) in &manifest.lanes {
        let listing = runtime.block_on(record.accounts_on_ledger(*ledger));
        let files = layout.lane(*lane);
        let mut observation = crate::engine::observe::lane_observation(&files, listing);
        observation.drawn = crate::engine::history::drawn_ids(&history, *lane);
        let unreadable = unreadable_stores(&files, &observation);
        if unreadable.is_empty() {
            holds &= describe_lane(&mut text, *lane, &observation);
            continue;
        }
        // A store that cannot be read leaves the properties unknown: never a clean bill.
        holds = false;
        let _ = writeln!(
            text,
            "
[{lane}] {}",
            lane.summary()
        );
        describe_stores(&mut text, &observation);
        for store in unreadable {
            let _ = writeln!(text, "  UNKNOWN every property: {store}");
        }
    }
    server.stop()?;
    Ok(CheckReport { text, holds })
}

/// The lane's stores that could not be read, each named with its file and why.
fn unreadable_stores(files: &LaneFiles, observation: &LaneObservation) -> Vec<String> {
    let mut unreadable = Vec::new();
    if let Err(error) = &observation.reference {
        unreadable.push(format!(
            "{} could not be read: {error}",
            files.reference().display()
        ));
    }
    let journal = files.journal();
    if journal.exists() {
        if let Err(error) = Journal::open_read_only(&journal).and_then(|journal| journal.entries())
        {
            unreadable.push(format!("{} could not be read: {error}", journal.display()));
        }
    }
    if let Err(error) = &observation.record {
        unreadable.push(format!("TigerBeetle did not answer: {error}"));
    }
    unreadable
}

fn live_server(layout: &RunLayout) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(layout.replica_pid_file(0))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    crate::stores::process::is_alive(pid).then_some(pid)
}

/// Writes what the lane's stores hold and which properties hold; returns whether all do.
fn describe_lane(text: &mut String, lane: Lane, observation: &LaneObservation) -> bool {
    let _ = writeln!(text, "\n[{lane}] {}", lane.summary());
    describe_stores(text, observation);
    let violations = verdict::judge(lane, &[], observation, &LaneHistory::default());
    let mut holds = true;
    for property in PROPERTIES {
        let broken: Vec<_> = violations
            .iter()
            .filter(|violation| violation.kind.property() == property)
            .collect();
        if broken.is_empty() {
            let _ = writeln!(text, "  holds   {property}");
            continue;
        }
        holds &= broken
            .iter()
            .all(|violation| violation.severity != Severity::Error);
        for violation in broken {
            let _ = writeln!(
                text,
                "  BROKEN  {property}: {} ({})",
                violation.detail,
                violation.severity.name()
            );
        }
    }
    holds
}

fn describe_stores(text: &mut String, observation: &LaneObservation) {
    match &observation.reference {
        Ok(rows) => {
            let _ = writeln!(text, "  SQLite: {} row(s)", rows.len());
            for row in rows {
                let _ = writeln!(
                    text,
                    "    {} -> {} ({})",
                    row.uuid,
                    short_id(&row.guid),
                    row.name
                );
            }
        }
        Err(error) => {
            let _ = writeln!(text, "  SQLite: unreadable: {error}");
        }
    }
    match &observation.record {
        Ok(accounts) => {
            let _ = writeln!(text, "  TigerBeetle: {} account(s)", accounts.len());
            for account in accounts {
                let _ = writeln!(
                    text,
                    "    {} balance {} user_data_128 {}",
                    short_id(&guid_of(account.id)),
                    account.balance(),
                    account.user_key
                );
            }
        }
        Err(error) => {
            let _ = writeln!(text, "  TigerBeetle: {error}");
        }
    }
}
