//! Lessons built on TigerBeetle features, checked through `cabaret play --json` on the real
//! stores: an id chosen by the caller (an idempotency key) against ids each lane draws.

use crate::support::{play, run_slot, text};
use serde_json::Value;
use std::path::Path;

/// The step objects of `play --json` output.
fn steps(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|value| value["type"] == "step")
        .collect()
}

/// The step object of `scenario`'s step `step` in `lane`.
fn step_of<'a>(steps: &'a [Value], scenario: &str, step: u64, lane: &str) -> &'a Value {
    steps
        .iter()
        .find(|value| {
            value["scenario"] == scenario && value["step"] == step && value["lane"] == lane
        })
        .unwrap_or_else(|| panic!("no step {step} of {scenario} in lane {lane}"))
}

/// The ids of the TigerBeetle accounts a step object shows for its user.
fn account_ids(step: &Value) -> Vec<String> {
    step["record"]
        .as_array()
        .map(|accounts| {
            accounts
                .iter()
                .map(|account| account["id"].as_str().expect("an id").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A double submit of Alice in two lanes, with the id chosen by `id`.
fn double_submit(id: &str) -> String {
    format!(
        "title = \"Double submit, id = {id}\"\nseed = 10\nlanes = [\"record-first\", \"write-last-read-first\"]\n\n[[step]]\ndo = \"create\"\nuser = \"alice\"\ncallers = 2\nid = \"{id}\"\nnarration = \"Alice is submitted twice at once.\"\n"
    )
}

fn write(directory: &Path, name: &str, contents: &str) -> std::path::PathBuf {
    let path = directory.join(name);
    std::fs::write(&path, contents).expect("write the scenario");
    path
}

/// Goal: an id the caller chooses (an idempotency key) makes a double submit one account
/// in every lane, and a write-last-read-first double click no alert, where ids the lanes
/// draw make record-first two accounts and write-last-read-first an alert. Method: play the
/// same double submit twice in one invocation, with `id = "lane"` and with `id =
/// "caller"`, and read the accounts TigerBeetle holds for Alice and what each caller heard.
#[test]
fn a_caller_chosen_id_makes_a_double_submit_one_account_in_every_lane() {
    let _slot = run_slot();
    let directory = tempfile::tempdir().expect("a temp dir");
    let drawn = write(directory.path(), "drawn.toml", &double_submit("lane"));
    let chosen = write(directory.path(), "chosen.toml", &double_submit("caller"));
    let output = play(
        &["--json"],
        &[drawn, chosen],
        &directory.path().join("data"),
    );
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let steps = steps(&stdout);

    let drawn_record_first = step_of(&steps, "drawn", 1, "record-first");
    let drawn_ids = account_ids(drawn_record_first);
    assert_eq!(
        drawn_ids.len(),
        2,
        "two drawn ids, two accounts: {drawn_record_first}"
    );
    assert_ne!(drawn_ids[0], drawn_ids[1]);
    let drawn_wlrf = step_of(&steps, "drawn", 1, "write-last-read-first");
    assert_eq!(
        drawn_wlrf["outcomes"],
        serde_json::json!(["created", "rejected"])
    );

    for lane in ["record-first", "write-last-read-first"] {
        let step = step_of(&steps, "chosen", 1, lane);
        assert_eq!(account_ids(step).len(), 1, "{lane}: one account: {step}");
        assert_eq!(
            step["outcomes"],
            serde_json::json!(["created", "created"]),
            "{lane}"
        );
        assert_eq!(step["answer"], "exists", "{lane}");
        let violations = step["violations"].to_string();
        for absent in [
            "duplicate-account",
            "untraceable-account",
            "exists-different",
        ] {
            assert!(
                !violations.contains(absent),
                "{lane}: {absent} in {violations}"
            );
        }
        // The second caller's TigerBeetle write met the first caller's account: `exists`.
        let events = step["events"].to_string();
        assert!(
            events.contains("TigerBeetle: exists-same"),
            "{lane}: {events}"
        );
    }
}
