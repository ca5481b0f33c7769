//! `cabaret storm` and `cabaret bench` through the real binary, on the real stores: a
//! small seeded storm with crashes and store faults, judged from its JSON.

use cabaret::domain::lane::HoldPoint;
use cabaret::engine::storm::Schedule;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const SEED: u64 = 2;
const REQUESTS: u64 = 40;
const CRASH_RATE: f64 = 0.3;
const FAULT_RATE: f64 = 0.25;

fn cabaret(data_dir: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cabaret"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(arguments)
        .output()
        .expect("cabaret runs")
}

/// The storm's JSON for `seed`, `requests` per lane, `rates` (crash, fault) and the
/// worker's `batch`.
fn storm_json(
    data_dir: &Path,
    (seed, requests, batch): (u64, u64, u32),
    lanes: &str,
    rates: (f64, f64),
) -> Value {
    let (seed, requests, batch) = (seed.to_string(), requests.to_string(), batch.to_string());
    let (crash_rate, fault_rate) = (rates.0.to_string(), rates.1.to_string());
    let output = cabaret(
        data_dir,
        &[
            "--seed",
            &seed,
            "storm",
            "--requests",
            &requests,
            "--crash-rate",
            &crash_rate,
            "--fault-rate",
            &fault_rate,
            "--concurrency",
            "2",
            "--batch",
            &batch,
            "--lanes",
            lanes,
            "--json",
        ],
    );
    assert!(
        output.status.success(),
        "storm failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        crate::support::tigerbeetle_data_files(data_dir).is_empty(),
        "the storm left TigerBeetle's data file behind"
    );
    assert!(crate::support::processes_mentioning(data_dir).is_empty());
    serde_json::from_str(stdout.trim()).expect("one JSON object")
}

fn lane<'a>(storm: &'a Value, name: &str) -> &'a Value {
    storm["lanes"]
        .as_array()
        .expect("lanes")
        .iter()
        .find(|lane| lane["lane"] == name)
        .unwrap_or_else(|| panic!("no lane {name} in {storm}"))
}

fn count(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

/// Every request ended one way: a lane's counts add up to its requests; and a crash
/// catches at least the request it was scheduled in.
fn assert_counts_add_up(lane: &Value, requests: u64) {
    let heard: u64 = [
        "created",
        "pending",
        "rejected",
        "failed",
        "incomplete",
        "unknown",
        "crashed",
    ]
    .iter()
    .map(|key| count(&lane[key]))
    .sum();
    assert_eq!(count(&lane["requests"]), requests, "{lane}");
    assert_eq!(heard, requests, "the counts do not add up: {lane}");
    assert!(count(&lane["crashed"]) >= count(&lane["kills"]), "{lane}");
}

#[test]
fn a_seeded_storm_keeps_the_safe_lanes_safe_and_shows_record_first_failing() {
    // The schedule is pure: it must hold a crash between the writes, where record-first
    // has written TigerBeetle and not SQLite.
    let schedule = Schedule {
        seed: SEED,
        request_count: REQUESTS,
        crash_rate: CRASH_RATE,
        fault_rate: FAULT_RATE,
    };
    assert!(
        (0..REQUESTS).any(|index| schedule.crash_at(index) == Some(HoldPoint::BetweenWrites)),
        "seed {SEED} schedules no crash between the writes"
    );
    assert!(
        schedule.windows().count() > 0,
        "seed {SEED} schedules no fault"
    );
    let folder = tempfile::tempdir().expect("a temporary folder");
    // Batches of up to 5: the lanes' writes are grouped (group commit), and a crash
    // catches its whole batch.
    let storm = storm_json(
        folder.path(),
        (SEED, REQUESTS, 5),
        "write-last-read-first,durable,record-first",
        (CRASH_RATE, FAULT_RATE),
    );
    assert_eq!(count(&storm["request_count"]), REQUESTS);
    assert_eq!(count(&storm["batch"]), 5);
    for name in ["write-last-read-first", "durable", "record-first"] {
        assert_counts_add_up(lane(&storm, name), REQUESTS);
    }
    for name in ["write-last-read-first", "durable"] {
        let lane = lane(&storm, name);
        for check in ["before_recovery", "after_recovery"] {
            let errors = lane[check]["errors"].as_object().expect("errors");
            assert!(errors.is_empty(), "{name} {check}: {errors:?}");
        }
    }
    let record_first = lane(&storm, "record-first");
    assert!(count(&record_first["crashed"]) > 0, "{record_first}");
    assert!(
        count(&record_first["after_recovery"]["errors"]["untraceable-account"]) > 0,
        "record-first shows no untraceable account: {record_first}"
    );
}

#[test]
fn the_same_seed_gives_the_same_schedule() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let rates = (0.3, 0.3);
    // One request at a time, then in batches: the schedule is the seed's alone, and
    // every crash it schedules (and reaches) is made, each catching its batch.
    let first = storm_json(folder.path(), (11, 20, 1), "write-last-read-first", rates);
    let again = storm_json(folder.path(), (11, 20, 10), "write-last-read-first", rates);
    for key in ["crashes_scheduled", "fault_windows", "faulted_requests"] {
        assert_eq!(first[key], again[key], "{key}");
    }
    let (one, batched) = (
        lane(&first, "write-last-read-first"),
        lane(&again, "write-last-read-first"),
    );
    assert_counts_add_up(one, 20);
    assert_counts_add_up(batched, 20);
    assert_eq!(one["kills"], batched["kills"], "{one}\n{batched}");
    assert_eq!(count(&one["crashed"]), count(&one["kills"]), "{one}");
    let other = Schedule {
        seed: 12,
        request_count: 20,
        crash_rate: rates.0,
        fault_rate: rates.1,
    };
    let mine = Schedule { seed: 11, ..other };
    let crashes = |schedule: &Schedule| {
        (0..20)
            .map(|index| schedule.crash_at(index))
            .collect::<Vec<_>>()
    };
    assert_ne!(crashes(&mine), crashes(&other), "seeds 11 and 12 agree");
    assert_eq!(count(&first["crashes_scheduled"]), mine.crash_count());
}

#[test]
fn each_bad_storm_value_gets_its_own_line_and_nothing_starts() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let data_dir = folder.path().join("data");
    let output = cabaret(
        &data_dir,
        &[
            "storm",
            "--requests",
            "0",
            "--concurrency",
            "99",
            "--batch",
            "101",
            "--crash-rate",
            "1.5",
            "--fault-rate",
            "0.1",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(lines[0].contains("--requests 0 is out of range: it must be 1 to 1000000"));
    assert!(lines[1].contains("--concurrency 99 is out of range: it must be 1 to 16"));
    assert!(lines[2].contains("--batch 101 is out of range: it must be 1 to 100"));
    assert!(lines[3].contains("--crash-rate 1.5 is out of range"));
    assert!(!data_dir.exists(), "a refused storm made its data folder");
    let output = cabaret(&data_dir, &["storm", "--requests", "1000001"]);
    assert_eq!(output.status.code(), Some(2));
    // Seven lanes of 9 workers are more TigerBeetle clients than the server keeps.
    let output = cabaret(&data_dir, &["storm", "--concurrency", "9"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--concurrency 9 in 7 lanes is 63 worker processes"),
        "{stderr}"
    );
    assert!(!data_dir.exists(), "a refused storm made its data folder");
    let output = cabaret(&data_dir, &["bench", "--concurrency", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--concurrency 0 is out of range"));
    let output = cabaret(&data_dir, &["bench", "--batch", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--batch 0 is out of range"));
}
