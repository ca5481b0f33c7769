//! `cabaret bench`: in one run on this machine, the stores on their own and the durable
//! lane end to end, so that the lane's rate can be read against what the stores allow.
//!
//! - raw TigerBeetle: account creations in batches of [`RECORD_BATCH_SIZE`], the largest
//!   batch a `--development` server accepts here (see TOOLCHAIN.md), and one at a time;
//! - raw SQLite: inserts of the same rows into a store opened exactly as the reference
//!   store is (`ReferenceStore::open`: rollback journal, `synchronous=FULL`), one per
//!   transaction as the lanes make them one request at a time, and in transactions of
//!   the batch size, as they make them with batches;
//! - the durable lane end to end (`engine::storm`) with no faults, and with 5% of its
//!   requests sent while a store is failed.
//!
//! The pipeline limit is the slower of the two raw figures (SQLite one insert per
//! transaction); the ratio is the durable lane's rate over it. With batches, the lane is
//! also set against the limit batched the same way, which is the fairer bar for it.

use crate::domain::ids::CODE_CUSTOMER;
use crate::domain::lane::Lane;
use crate::domain::stored::ReferenceRow;
use crate::engine::EngineError;
use crate::engine::layout::RunLayout;
use crate::engine::storm::{self as engine_storm, Resident, Schedule, StormPlan, StormResult};
use crate::stores::process::resident_kib;
use crate::stores::record::{AccountSpec, RecordStore};
use crate::stores::reference::ReferenceStore;
use crate::stores::supervisor::{self, RecordServer};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The largest batch of accounts a `--development` TigerBeetle accepts here (500 is
/// refused; measured in TOOLCHAIN.md).
pub(crate) const RECORD_BATCH_SIZE: usize = 100;
/// Accounts created in batches.
const RECORD_BATCHED_COUNT: usize = 100_000;
/// Accounts created one request each.
const RECORD_SINGLE_COUNT: usize = 2_000;
/// Rows inserted into SQLite, one transaction each.
const REFERENCE_INSERT_COUNT: usize = 2_000;
/// Requests the durable lane makes in each of its two runs.
pub(crate) const DURABLE_REQUEST_COUNT: u64 = 2_000;
/// The share of the durable lane's requests sent while a store is failed, in its second run.
const FAULT_RATE: f64 = 0.05;
/// A TigerBeetle request's timeout in the bench (a batch included).
const BENCH_RECORD_TIMEOUT: Duration = Duration::from_secs(5);
/// The ledger the raw accounts are made on (no lane uses it).
const BENCH_LEDGER: u32 = 1_000;

#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub layout: RunLayout,
    pub concurrency: u32,
    /// The durable lane's batch (see `StormOptions::batch`).
    pub batch: u32,
    pub seed: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub(crate) record_batched_per_second: f64,
    pub(crate) record_batch_size: usize,
    pub(crate) record_single_per_second: f64,
    pub(crate) reference_inserts_per_second: f64,
    /// Inserts per second in transactions of `batch` rows.
    pub(crate) reference_batched_inserts_per_second: f64,
    /// The slower of the raw figures: TigerBeetle batched, SQLite one per transaction.
    pub(crate) pipeline_limit_per_second: f64,
    pub(crate) durable_per_second: f64,
    pub(crate) durable_with_faults_per_second: f64,
    pub(crate) ratio: f64,
    pub(crate) ratio_with_faults: f64,
    /// The durable lane's rate over the pipeline limit with SQLite batched as the lane.
    pub(crate) ratio_to_batched_limit: f64,
    pub(crate) concurrency: u32,
    pub(crate) batch: u32,
    pub(crate) durable_requests: u64,
    /// The most seen during the runs, in KiB.
    pub(crate) controller_kib: u64,
    pub(crate) workers_kib: u64,
    pub(crate) worker_count: u64,
    pub(crate) tigerbeetle_kib: u64,
    pub(crate) durable: StormResult,
    pub(crate) durable_with_faults: StormResult,
}

/// Runs every measure, one after the other (one TigerBeetle server at a time).
pub fn bench(
    options: &BenchOptions,
    mut say: impl FnMut(&str),
) -> Result<BenchReport, EngineError> {
    let layout = &options.layout;
    layout.reset()?;
    say("raw TigerBeetle: starting a server");
    let (record_batched, record_single, tigerbeetle_kib) = raw_record(layout)?;
    say(&format!(
        "raw TigerBeetle: {record_batched:.0} accounts/s in batches of {RECORD_BATCH_SIZE}, {record_single:.0}/s one at a time"
    ));
    let reference = raw_reference(layout, 1)?;
    let batch = options.batch as usize;
    let reference_batched = raw_reference(layout, batch)?;
    say(&format!(
        "raw SQLite: {reference:.0} inserts/s one per transaction, {reference_batched:.0}/s {batch} per transaction"
    ));
    let durable = durable_run(options, "durable", 0.0)?;
    say(&format!(
        "durable lane, no faults: {:.1} requests/s",
        durable.lanes[0].requests_per_second
    ));
    let with_faults = durable_run(options, "durable-faults", FAULT_RATE)?;
    say(&format!(
        "durable lane, {:.0}% of requests under a store fault: {:.1} requests/s",
        FAULT_RATE * 100.0,
        with_faults.lanes[0].requests_per_second
    ));
    let limit = record_batched.min(reference);
    let durable_rate = durable.lanes[0].requests_per_second;
    let faults_rate = with_faults.lanes[0].requests_per_second;
    let resident = [durable.resident_max, with_faults.resident_max];
    let most = |pick: fn(&Resident) -> u64| resident.iter().map(pick).max().unwrap_or(0);
    Ok(BenchReport {
        record_batched_per_second: record_batched,
        record_batch_size: RECORD_BATCH_SIZE,
        record_single_per_second: record_single,
        reference_inserts_per_second: reference,
        reference_batched_inserts_per_second: reference_batched,
        pipeline_limit_per_second: limit,
        durable_per_second: durable_rate,
        durable_with_faults_per_second: faults_rate,
        ratio: durable_rate / limit,
        ratio_with_faults: faults_rate / limit,
        ratio_to_batched_limit: durable_rate / record_batched.min(reference_batched),
        concurrency: options.concurrency,
        batch: options.batch,
        durable_requests: DURABLE_REQUEST_COUNT,
        controller_kib: most(|resident| resident.controller_kib),
        workers_kib: most(|resident| resident.workers_kib),
        worker_count: most(|resident| resident.worker_count),
        tigerbeetle_kib: tigerbeetle_kib.max(most(|resident| resident.tigerbeetle_kib)),
        durable,
        durable_with_faults: with_faults,
    })
}

/// Raw TigerBeetle: accounts per second in batches, and one at a time; and the server's
/// resident memory after.
fn raw_record(layout: &RunLayout) -> Result<(f64, f64, u64), EngineError> {
    let mut server = RecordServer::prepare(&layout.record_dir(), &supervisor::default_binary())?;
    let measured = (|| {
        server.start()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|source| EngineError::Io {
                action: "starting the bench's runtime".to_string(),
                source,
            })?;
        let record = RecordStore::connect(&server.address(), BENCH_RECORD_TIMEOUT)?;
        let spec = |index: usize| AccountSpec {
            id: index as u128 + 1,
            ledger: BENCH_LEDGER,
            code: CODE_CUSTOMER,
            user_key: index as u128 + 1,
        };
        // The first request registers the client's session: not part of the measure.
        let _ = runtime.block_on(record.lookup(1))?;
        let started = Instant::now();
        for batch_start in (0..RECORD_BATCHED_COUNT).step_by(RECORD_BATCH_SIZE) {
            let batch: Vec<AccountSpec> = (batch_start..batch_start + RECORD_BATCH_SIZE)
                .map(spec)
                .collect();
            let refused = runtime.block_on(record.create_account_batch(&batch))?;
            if refused > 0 {
                return Err(refused_error(refused));
            }
        }
        let batched = RECORD_BATCHED_COUNT as f64 / started.elapsed().as_secs_f64();
        let started = Instant::now();
        for index in RECORD_BATCHED_COUNT..RECORD_BATCHED_COUNT + RECORD_SINGLE_COUNT {
            let outcome = runtime.block_on(record.create_account(spec(index)));
            if !outcome.is_applied() {
                return Err(refused_error(1));
            }
        }
        let single = RECORD_SINGLE_COUNT as f64 / started.elapsed().as_secs_f64();
        let resident = server.pid().and_then(resident_kib).unwrap_or(0);
        Ok((batched, single, resident))
    })();
    let destroyed = server.destroy();
    let measured = measured?;
    destroyed?;
    Ok(measured)
}

fn refused_error(count: usize) -> EngineError {
    EngineError::Io {
        action: "the raw TigerBeetle measure".to_string(),
        source: std::io::Error::other(format!("TigerBeetle refused {count} accounts")),
    }
}

/// Raw SQLite: inserts per second into a fresh store opened as the reference store is,
/// `batch` rows per transaction.
fn raw_reference(layout: &RunLayout, batch: usize) -> Result<f64, EngineError> {
    let path = layout.raw_sqlite();
    let _ = std::fs::remove_file(&path);
    let store = ReferenceStore::open(&path)?;
    let rows: Vec<ReferenceRow> = (0..REFERENCE_INSERT_COUNT)
        .map(|index| ReferenceRow {
            uuid: Schedule::user(index as u64),
            guid: crate::domain::ids::guid_of(index as u128 + 1),
            name: Schedule::name(index as u64),
        })
        .collect();
    let started = Instant::now();
    for chunk in rows.chunks(batch.max(1)) {
        let outcomes = store.write_batch(chunk, crate::stores::reference::BatchWrite::Insert);
        if let Some(outcome) = outcomes.iter().find(|outcome| !outcome.is_applied()) {
            return Err(EngineError::Io {
                action: "the raw SQLite measure".to_string(),
                source: std::io::Error::other(outcome.to_string()),
            });
        }
    }
    let rate = REFERENCE_INSERT_COUNT as f64 / started.elapsed().as_secs_f64();
    drop(store);
    let _ = std::fs::remove_file(&path);
    Ok(rate)
}

fn durable_run(
    options: &BenchOptions,
    name: &str,
    fault_rate: f64,
) -> Result<StormResult, EngineError> {
    let schedule = Schedule {
        seed: options.seed,
        request_count: DURABLE_REQUEST_COUNT,
        crash_rate: 0.0,
        fault_rate,
    };
    let plan = StormPlan::new(
        options.layout.nested(name),
        vec![Lane::Durable],
        schedule,
        options.concurrency,
        options.batch,
    )?;
    engine_storm::storm(&plan, None)
}

pub fn bench_text(report: &BenchReport) -> String {
    let mib = |kib: u64| kib as f64 / 1024.0;
    format!(
        "raw TigerBeetle, batches of {}:         {:>10.0} accounts/s\n\
         raw TigerBeetle, one per request:       {:>10.0} accounts/s\n\
         raw SQLite, one insert per transaction: {:>10.0} inserts/s (the reference store's settings)\n\
         raw SQLite, {:>3} inserts per transaction:{:>10.0} inserts/s\n\
         pipeline limit (the slower of the two): {:>10.0} per second (SQLite one insert per transaction)\n\
         durable lane, no faults:                {:>10.1} requests/s ({} requests, {}, batches of up to {})\n\
         durable lane, {:.0}% under store faults:  {:>10.1} requests/s\n\
         ratio to the pipeline limit:            {:>10.3} (with faults {:.3})\n\
         ratio to the limit batched as the lane: {:>10.3}\n\
         resident memory, most seen: this program {:.0} MiB, {} {:.0} MiB together, TigerBeetle {:.0} MiB\n",
        report.record_batch_size,
        report.record_batched_per_second,
        report.record_single_per_second,
        report.reference_inserts_per_second,
        report.batch,
        report.reference_batched_inserts_per_second,
        report.pipeline_limit_per_second,
        report.durable_per_second,
        report.durable_requests,
        crate::domain::text::counted(u64::from(report.concurrency), "worker", "workers"),
        report.batch,
        FAULT_RATE * 100.0,
        report.durable_with_faults_per_second,
        report.ratio,
        report.ratio_with_faults,
        report.ratio_to_batched_limit,
        mib(report.controller_kib),
        crate::domain::text::counted(report.worker_count, "worker", "workers"),
        mib(report.workers_kib),
        mib(report.tigerbeetle_kib),
    )
}
