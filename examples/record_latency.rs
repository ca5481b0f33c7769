//! Measures the real stores on this machine: TigerBeetle's start time, and the latency of
//! one account creation at a time on loopback and of one SQLite insert (p50, p99, max).
//! Run: `cargo run --example record_latency` (numbers go to BENCHMARKS.md).

use cabaret::domain::ids::{CODE_CUSTOMER, user_key};
use cabaret::domain::outcome::WriteOutcome;
use cabaret::domain::stored::ReferenceRow;
use cabaret::stores::record::{AccountSpec, RecordStore};
use cabaret::stores::reference::ReferenceStore;
use cabaret::stores::supervisor::{RecordServer, default_binary};
use std::time::{Duration, Instant};

const SAMPLE_COUNT: usize = 2000;

fn percentiles(label: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let at = |fraction: f64| samples[((samples.len() as f64 - 1.0) * fraction) as usize];
    println!(
        "{label}: n={} p50={:.3} ms p99={:.3} ms max={:.3} ms",
        samples.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = tempfile::tempdir()?;
    let mut server = RecordServer::prepare(&directory.path().join("record"), &default_binary())?;
    let started = Instant::now();
    server.start()?;
    println!(
        "TigerBeetle start to listening: {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let record = RecordStore::connect(&server.address(), Duration::from_secs(2))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let mut samples = Vec::with_capacity(SAMPLE_COUNT);
    for index in 0..SAMPLE_COUNT {
        let spec = AccountSpec {
            id: 1000 + index as u128,
            ledger: 1,
            code: CODE_CUSTOMER,
            user_key: user_key(&format!("user-{index}")),
        };
        let started = Instant::now();
        let outcome = runtime.block_on(record.create_account(spec));
        samples.push(started.elapsed());
        assert_eq!(outcome, WriteOutcome::Created);
    }
    percentiles(
        "TigerBeetle create_account (one at a time, loopback)",
        samples,
    );

    let store = ReferenceStore::open(&directory.path().join("reference.sqlite"))?;
    let mut samples = Vec::with_capacity(SAMPLE_COUNT);
    for index in 0..SAMPLE_COUNT {
        let row = ReferenceRow {
            uuid: format!("user-{index}"),
            guid: format!("guid-{index}"),
            name: "Name".to_string(),
        };
        let started = Instant::now();
        let outcome = store.insert(&row);
        samples.push(started.elapsed());
        assert_eq!(outcome, WriteOutcome::Created);
    }
    percentiles(
        "SQLite insert (synchronous=FULL, rollback journal)",
        samples,
    );
    drop(record);
    server.destroy()?;
    Ok(())
}
