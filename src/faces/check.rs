//! `cabaret check --data-dir DIR`: reads the stores of a run's data directory on their own
//! (starting TigerBeetle from the run's data file if no server is running), prints what
//! each holds, and which of DESIGN.md's properties hold (the correct answer aside: that
//! needs a lane's question, not just its stores).

use crate::domain::ids::short_id;
use crate::domain::lane::Lane;
use crate::domain::verdict::{self, LaneHistory, LaneObservation, Severity, ViolationKind};
use crate::engine::EngineError;
use crate::stores::record::RecordStore;
use crate::stores::supervisor::RecordServer;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

/// The manifest a run writes into its data directory (`run.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub title: String,
    pub lanes: Vec<(Lane, u32)>,
}

pub fn write_manifest(data_dir: &Path, manifest: &Manifest) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(manifest).map_err(std::io::Error::other)?;
    std::fs::write(data_dir.join("run.json"), text)
}

/// Reads the data directory and returns the report text, and whether every property holds.
pub fn check(data_dir: &Path, tigerbeetle: &Path) -> Result<(String, bool), EngineError> {
    let manifest_path = data_dir.join("run.json");
    let manifest: Manifest = std::fs::read_to_string(&manifest_path)
        .map_err(|error| {
            EngineError::Other(format!(
                "{}: {error} (is this a run's data directory?)",
                manifest_path.display()
            ))
        })
        .and_then(|text| {
            serde_json::from_str(&text).map_err(|error| {
                EngineError::Other(format!("{}: {error}", manifest_path.display()))
            })
        })?;
    let record_dir = data_dir.join("record");
    if !record_dir.join("0_0.tigerbeetle").exists() {
        return Err(EngineError::Other(format!(
            "{} holds no TigerBeetle data file (play with --keep-data to keep it)",
            record_dir.display()
        )));
    }
    if let Some(pid) = live_server(&record_dir) {
        return Err(EngineError::Other(format!(
            "a run is still using {} (TigerBeetle pid {pid}): end it first",
            data_dir.display()
        )));
    }
    let mut server = RecordServer::prepare(&record_dir, tigerbeetle)?;
    server.start()?;
    let record = RecordStore::connect(&server.address(), Duration::from_secs(2))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|source| EngineError::Io {
            action: "starting a runtime".into(),
            source,
        })?;
    let mut text = format!("Checking {} ({})\n", data_dir.display(), manifest.title);
    let mut all_hold = true;
    for (lane, ledger) in &manifest.lanes {
        let observation = observe_lane(
            &data_dir.join("lanes").join(lane.name()),
            *ledger,
            &record,
            &runtime,
        );
        all_hold &= describe_lane(&mut text, *lane, &observation);
    }
    server.stop()?;
    Ok((text, all_hold))
}

fn live_server(record_dir: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(record_dir.join("server.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
}

fn observe_lane(
    directory: &Path,
    ledger: u32,
    record: &RecordStore,
    runtime: &tokio::runtime::Runtime,
) -> LaneObservation {
    let listing = runtime.block_on(record.accounts_on_ledger(ledger));
    crate::engine::observe::lane_observation(directory, listing)
}

fn describe_lane(text: &mut String, lane: Lane, observation: &LaneObservation) -> bool {
    let _ = writeln!(text, "\n[{lane}] {}", lane.summary());
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
                    "    {} balance {}",
                    short_id(&crate::domain::ids::guid_of(account.id)),
                    account.balance()
                );
            }
        }
        Err(error) => {
            let _ = writeln!(text, "  TigerBeetle: {error}");
        }
    }
    let violations = verdict::judge(lane, &[], observation, &LaneHistory::default());
    let properties = [
        (
            "traceability",
            vec![
                ViolationKind::UntraceableAccount,
                ViolationKind::UntraceableFunds,
            ],
        ),
        ("consistency", vec![ViolationKind::OrphanReference]),
        ("no duplicates", vec![ViolationKind::DuplicateAccount]),
        (
            "eventual completion",
            vec![ViolationKind::UnfinishedRequest],
        ),
    ];
    let mut holds = true;
    for (property, kinds) in properties {
        let broken: Vec<_> = violations
            .iter()
            .filter(|violation| kinds.contains(&violation.kind))
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
