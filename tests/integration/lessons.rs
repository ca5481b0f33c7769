//! Lessons built on TigerBeetle features, checked through `cabaret play --json` on the real
//! stores: an id chosen by the caller (an idempotency key) against ids each lane draws,
//! closing an account in one order or the other, a reservation that really reserves, and
//! a recovery round that meets a TigerBeetle that does not answer.

use crate::support::{play, project_file, run_slot, text};
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

/// Plays `files` with `--json` in one invocation, in a data folder under `directory`,
/// expects every expectation met (exit 0), and returns the step objects.
fn played_steps(files: &[&Path], directory: &Path) -> Vec<Value> {
    let output = play(&["--json"], files, &directory.join("data"));
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    steps(&stdout)
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
    let steps = played_steps(&[&drawn, &chosen], directory.path());

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

/// A close of Alice's account that crashes between its two writes, then a bonus.
const CLOSE_CRASH: &str = r#"title = "Close, crash between the writes"
seed = 24
lanes = ["read-reference", "write-last-read-first"]

[[step]]
do = "create"
user = "alice"
narration = "Alice opens an account."

[[step]]
do = "close"
user = "alice"
crash = "between-writes"
narration = "Alice closes it, and the process dies between the writes."

[[step]]
do = "bonus"
amount = 10
narration = "The bank pays every account on its ledger."
"#;

/// Goal: `close` closes the account in TigerBeetle itself (its `closed` flag, set by the
/// recipe's closing transfer), and the order of a close's two writes decides what a crash
/// between them leaves: closing TigerBeetle first leaves a closed account with its row,
/// which refuses money; removing the row first leaves an open account with no row, which
/// takes it. Method: play a close that crashes between the writes, then a bonus, and read
/// what TigerBeetle and SQLite hold in each lane.
#[test]
fn a_close_crashed_between_its_writes_leaves_what_its_order_decides() {
    let _slot = run_slot();
    let directory = tempfile::tempdir().expect("a temp dir");
    let file = write(directory.path(), "close.toml", CLOSE_CRASH);
    let steps = played_steps(&[&file], directory.path());

    let closed_first = step_of(&steps, "close", 2, "write-last-read-first");
    assert_eq!(closed_first["outcome"], "crashed");
    assert_eq!(closed_first["record"][0]["closed"], true, "{closed_first}");
    assert!(
        closed_first["reference"].is_object(),
        "the row stays: {closed_first}"
    );
    assert_eq!(closed_first["answer"], "closed");
    assert_eq!(closed_first["truth"], "closed");
    assert!(
        !closed_first["violations"]
            .to_string()
            .contains("untraceable")
    );

    let removed_first = step_of(&steps, "close", 2, "read-reference");
    assert!(
        removed_first["reference"].is_null(),
        "the row went: {removed_first}"
    );
    assert!(
        removed_first["record"][0].get("closed").is_none(),
        "still open: {removed_first}"
    );
    assert_eq!(removed_first["answer"], "absent");
    assert_eq!(removed_first["truth"], "exists");
    assert!(
        removed_first["violations"]
            .to_string()
            .contains("untraceable-account")
    );

    // A bonus step is about no user: Alice's stores are in the step's list of users.
    let alice = |step: &Value| user_of(step, "alice");
    let refused = step_of(&steps, "close", 3, "write-last-read-first");
    assert!(
        refused["events"]
            .to_string()
            .contains("credit_account_already_closed"),
        "a closed account refuses the payment: {refused}"
    );
    assert_eq!(
        alice(refused)["record"][0]["credits_posted"],
        0,
        "{refused}"
    );
    let taken = step_of(&steps, "close", 3, "read-reference");
    assert_eq!(alice(taken)["record"][0]["credits_posted"], 10, "{taken}");
    assert!(
        taken["violations"]
            .to_string()
            .contains("untraceable-funds")
    );
}

/// The stores of `user` in a step object: the step's own user, or one of its `users`.
fn user_of(step: &Value, user: &str) -> Value {
    step["users"]
        .as_array()
        .and_then(|users| users.iter().find(|view| view["user"] == user))
        .cloned()
        .unwrap_or_else(|| panic!("no {user} in {step}"))
}

/// Goal: a reservation on a limited pool really reserves, through TigerBeetle itself:
/// while Alice's hold stands, a competing hold that exceeds what is left is refused with
/// `exceeds_credits`, a certain failure; once the hold has expired, the same request is
/// accepted; and a late post of Alice's expired hold is refused with
/// `pending_transfer_expired`, a certain failure too. Method: play
/// `scenarios/25-reservation-reserves.toml` with `--json` and read, step by step, what
/// TigerBeetle answered and what it holds for Alice and Bob.
#[test]
fn a_hold_on_a_limited_pool_refuses_a_competing_spend_until_it_expires() {
    let _slot = run_slot();
    let directory = tempfile::tempdir().expect("a temp dir");
    let file = project_file("scenarios/25-reservation-reserves.toml");
    let steps = played_steps(&[&file], directory.path());
    let scenario = "25-reservation-reserves";
    let lane = "write-last-read-first";
    let pending_of =
        |step: &Value, user: &str| user_of(step, user)["record"][0]["credits_pending"].clone();
    let balance_of =
        |step: &Value, user: &str| user_of(step, user)["record"][0]["credits_posted"].clone();

    let held = step_of(&steps, scenario, 3, lane);
    assert_eq!(held["outcome"], "crashed", "{held}");
    assert_eq!(pending_of(held, "alice"), 100, "{held}");

    let competing = step_of(&steps, scenario, 5, lane);
    assert_eq!(competing["outcome"], "failed", "{competing}");
    let events = competing["events"].to_string();
    assert!(
        events.contains("TigerBeetle: failed (exceeds_credits)"),
        "the competing hold is refused: {events}"
    );
    assert_eq!(
        pending_of(competing, "alice"),
        100,
        "the hold stands: {competing}"
    );
    assert_eq!(pending_of(competing, "bob"), 0, "{competing}");

    let expired = step_of(&steps, scenario, 6, lane);
    assert_eq!(
        pending_of(expired, "alice"),
        0,
        "the hold expired: {expired}"
    );

    let retried = step_of(&steps, scenario, 7, lane);
    assert_eq!(retried["outcome"], "created", "{retried}");
    assert_eq!(balance_of(retried, "bob"), 100, "{retried}");

    let late = step_of(&steps, scenario, 8, lane);
    assert_eq!(
        late["outcome"], "failed",
        "a certain failure, not unknown: {late}"
    );
    let events = late["events"].to_string();
    assert!(
        events.contains("TigerBeetle: failed (pending_transfer_expired)"),
        "the late post is refused: {events}"
    );
    assert_eq!(balance_of(late, "alice"), 0, "{late}");
    assert_eq!(pending_of(late, "alice"), 0, "{late}");
}

/// Two sign-ups accepted while TigerBeetle is paused, then a recovery round while it still
/// does not answer, and another once it does.
const RECOVERY_AGAINST_A_SILENT_RECORD: &str = r#"title = "A recovery round meets a TigerBeetle that does not answer"
seed = 3
lanes = ["durable", "outbox"]

[[step]]
do = "fail"
store = "tigerbeetle"
how = "pause"
narration = "TigerBeetle stops answering."

[[step]]
do = "create"
user = "alice"
narration = "Alice signs up: accepted, not finished."

[[step]]
do = "create"
user = "bob"
narration = "So does Bob."

[[step]]
do = "recover"
narration = "A recovery round while TigerBeetle still does not answer."

[[step]]
do = "heal"
store = "tigerbeetle"
narration = "TigerBeetle answers again."

[[step]]
do = "recover"
narration = "The next round."
"#;

/// The texts of a step object's events about `user`.
fn event_texts(step: &Value, user: &str) -> Vec<String> {
    step["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["user"] == user)
        .map(|event| event["text"].as_str().expect("a text").to_string())
        .collect()
}

/// Goal: a recovery round that meets a TigerBeetle that does not answer stops after the
/// first request it cannot finish, rather than wait out every attempt of every request,
/// and says what it left; the next round, once TigerBeetle answers, finishes them all.
/// Method: two requests accepted (pending) in the durable and outbox lanes while
/// TigerBeetle is paused; a round while it is still paused tries Alice's three times,
/// says that one more waits, and never touches Bob's; after the heal, a round creates
/// both accounts.
#[test]
fn a_recovery_round_stops_at_a_store_that_does_not_answer_and_the_next_one_finishes() {
    let _slot = run_slot();
    let directory = tempfile::tempdir().expect("a temp dir");
    let file = write(
        directory.path(),
        "silent.toml",
        RECOVERY_AGAINST_A_SILENT_RECORD,
    );
    let steps = played_steps(&[&file], directory.path());
    let scenario = "silent";
    for (lane, place) in [
        ("durable", "unfinished request in the journal"),
        ("outbox", "undelivered message in the outbox"),
    ] {
        let accepted = step_of(&steps, scenario, 3, lane);
        assert_eq!(
            user_of(accepted, "alice")["answer"],
            "pending",
            "{accepted}"
        );
        assert_eq!(user_of(accepted, "bob")["answer"], "pending", "{accepted}");

        let silent_round = step_of(&steps, scenario, 4, lane);
        let alice = event_texts(silent_round, "alice");
        let stop =
            format!("recovery stops here; it leaves 1 more {place}, for a later round if one runs");
        assert_eq!(alice.last(), Some(&stop), "{lane}: {alice:?}");
        let unknown_attempts = alice
            .iter()
            .filter(|text| text.starts_with("TigerBeetle: unknown"))
            .count();
        assert_eq!(unknown_attempts, 3, "{lane}: {alice:?}");
        assert_eq!(
            event_texts(silent_round, "bob"),
            Vec::<String>::new(),
            "{lane}"
        );
        assert_eq!(user_of(silent_round, "bob")["answer"], "pending", "{lane}");

        let next_round = step_of(&steps, scenario, 6, lane);
        for user in ["alice", "bob"] {
            assert_eq!(
                user_of(next_round, user)["answer"],
                "exists",
                "{lane}: {next_round}"
            );
            assert!(
                !event_texts(next_round, user)
                    .iter()
                    .any(|text| text.starts_with("recovery stops here")),
                "{lane}: {next_round}"
            );
        }
    }
}
