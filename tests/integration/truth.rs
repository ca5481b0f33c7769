//! What the demo claims is checked: a narration that names a lane must come with an
//! expectation for that lane at that step (the narration lint), and a step that promises
//! something TigerBeetle would not do (a reservation with no timeout) is refused. Both are
//! found when the file is read, so nothing runs.

use crate::support::{BINARY, text};
use cabaret::domain::scenario;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `cabaret play FILE --data-dir DATA_DIR`, to its end.
fn play(file: &Path, data_dir: &Path) -> Output {
    crate::support::play(&[], &[file], data_dir)
}

/// A two-lane scenario whose one step narrates both lanes; `durable_expectation` is the
/// TOML of the step's expectation for the durable lane (empty: none).
fn narrated_scenario(durable_expectation: &str) -> String {
    format!(
        r#"title = "Planted claim"
seed = 1
lanes = ["record-first", "durable"]

[[step]]
do = "create"
user = "alice"
narration = """
Alice signs up. Record-first says "created",
and the durable lane answers "exists".
"""

[step.expect.record-first]
outcome = "created"
{durable_expectation}
"#
    )
}

/// Goal: a narration's claim about a lane is never left unchecked. Method: plant a
/// sentence about the durable lane in a step that expects nothing of it; `play` must exit 2
/// naming the file, the line and column of the lane's name and the lane, start nothing
/// (no TigerBeetle data file in the data folder), and print nothing on stdout. Then an
/// empty `[step.expect.durable]` (checks nothing) is refused too, and one that checks the
/// answer makes the same file valid, so the lint is not one that always fires.
#[test]
fn a_narration_naming_a_lane_without_an_expectation_exits_2_before_anything_runs() {
    let directory = tempfile::tempdir().expect("a temp dir");
    let file = directory.path().join("planted.toml");
    let data_dir = directory.path().join("data");
    std::fs::write(&file, narrated_scenario("")).expect("the file is written");

    let output = play(&file, &data_dir);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    let expected_place = format!("{}:10:9:", file.display());
    assert!(
        stderr.contains(&expected_place),
        "expected the place {expected_place} in: {stderr}"
    );
    assert!(
        stderr.contains("names the lane `durable`"),
        "stderr: {stderr}"
    );
    assert!(text(&output.stdout).is_empty(), "nothing may run");
    assert!(
        !data_dir.exists(),
        "nothing may run: {}",
        data_dir.display()
    );

    std::fs::write(&file, narrated_scenario("[step.expect.durable]\n")).expect("written");
    let error = scenario::load(&file).expect_err("an empty expectation checks nothing");
    assert!(
        error.to_string().contains("names the lane `durable`"),
        "{error}"
    );

    std::fs::write(
        &file,
        narrated_scenario("[step.expect.durable]\nanswer = \"exists\"\n"),
    )
    .expect("written");
    scenario::load(&file).expect("with the expectation the file is valid");
}

/// Goal: every narration of the library passes the lint (each names only lanes its step
/// checks). Method: load every file of `scenarios/` through the library's loader.
#[test]
fn every_library_narration_is_checked_by_its_step() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut count = 0;
    for entry in std::fs::read_dir(&folder).expect("the scenarios folder") {
        let path = entry.expect("an entry").path();
        if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            scenario::load(&path).unwrap_or_else(|error| panic!("{error}"));
            count += 1;
        }
    }
    assert!(count >= 19, "only {count} scenario files");
}

/// Goal: a reservation always expires, as the scenario format promises. TigerBeetle reads
/// a pending transfer's timeout of 0 as "no timeout". Method: a `reserve` with
/// `timeout = 0` exits 2 at the timeout's line and column, and runs nothing.
#[test]
fn a_reservation_with_a_zero_timeout_is_refused() {
    let directory = tempfile::tempdir().expect("a temp dir");
    let file = directory.path().join("no-timeout.toml");
    let data_dir = directory.path().join("data");
    std::fs::write(
        &file,
        r#"title = "Never expires"
seed = 1
lanes = ["write-last-read-first"]

[[step]]
do = "reserve"
user = "alice"
amount = 10
timeout = 0
narration = "A hold with no timeout."
"#,
    )
    .expect("written");
    let output = play(&file, &data_dir);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("{}:9:11:", file.display())),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("must be at least 1") && stderr.contains("no timeout"),
        "stderr: {stderr}"
    );
    assert!(!data_dir.exists(), "nothing may run");
}

/// A scenario in two lanes: Alice is created, then time passes, then Alice is asked about.
const READ_PATH_SCENARIO: &str = r#"title = "Whose answer"
seed = 3
lanes = ["write-last-read-first", "read-reference"]

[[step]]
do = "create"
user = "alice"
narration = "Alice signs up in both lanes."

[step.expect.write-last-read-first]
answer = "exists"
[step.expect.read-reference]
answer = "exists"

[[step]]
do = "wait"
seconds = 1
narration = "A second passes."

[step.expect.write-last-read-first]
answer = "unknown"
[step.expect.read-reference]
answer = "exists"

[[step]]
do = "read"
user = "alice"
narration = "Does Alice exist?"

[step.expect.write-last-read-first]
answer = "exists"
[step.expect.read-reference]
answer = "exists"
"#;

/// Goal: a lane's answer comes from the lane's own application, not from the checker's
/// snapshot of the stores. Method: play a scenario whose second step expects the
/// write-last-read-first lane to answer "unknown" while its stores hold Alice's account.
/// Played as it is, that expectation fails (exit 1): the lane's read path says "exists".
/// Played again with the lane's worker process frozen (SIGSTOP, by its pid file) as soon
/// as the first step is reported, the lane's application gives no answer in time, so its
/// answer is "unknown" while the truth stays "exists", and the other lane still answers
/// "exists"; in the third step the frozen worker has been stopped and the lane is down, so
/// the lane's reader (a second process of the same application) answers "exists" again:
/// exit 0, and the JSON names the process that answered each step. Nothing is left
/// running, and TigerBeetle's data files are deleted at the end of each play.
#[test]
fn a_lane_whose_read_path_is_broken_answers_differently() {
    use std::io::BufRead;
    let directory = tempfile::tempdir().expect("a temp dir");
    let file = directory.path().join("whose-answer.toml");
    std::fs::write(&file, READ_PATH_SCENARIO).expect("written");

    let untouched = play(&file, &directory.path().join("untouched"));
    assert_eq!(
        untouched.status.code(),
        Some(1),
        "with its read path intact the lane answers exists: {}",
        text(&untouched.stdout)
    );
    assert!(
        text(&untouched.stdout).contains("expected the answer for alice to be unknown, got exists"),
        "{}",
        text(&untouched.stdout)
    );

    let data_dir = directory.path().join("broken");
    let mut child = Command::new(BINARY)
        .arg("play")
        .arg("--json")
        .arg(&file)
        .arg("--data-dir")
        .arg(&data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().expect("stdout");
    let pid_file = data_dir.join("whose-answer/lanes/write-last-read-first/worker-0.pid");
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        let value: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        if value["type"] == "step" && value["step"] == 1 && lines.is_empty() {
            let pid = std::fs::read_to_string(&pid_file).expect("the worker's pid file");
            let stopped = Command::new("kill")
                .args(["-STOP", pid.trim()])
                .status()
                .expect("kill runs");
            assert!(stopped.success(), "the worker {pid} is stopped");
        }
        lines.push(value);
    }
    let status = child.wait().expect("play ends");
    let answers: Vec<(u64, String, String, String)> = lines
        .iter()
        .filter(|value| value["type"] == "step")
        .map(|value| {
            (
                value["step"].as_u64().unwrap_or_default(),
                value["lane"].as_str().unwrap_or_default().to_string(),
                value["users"][0]["answer"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                value["users"][0]["truth"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let of = |step: u64, lane: &str| {
        answers
            .iter()
            .find(|(number, name, _, _)| *number == step && name == lane)
            .map(|(_, _, answer, truth)| (answer.as_str(), truth.as_str()))
    };
    assert_eq!(
        of(2, "write-last-read-first"),
        Some(("unknown", "exists")),
        "{answers:?}"
    );
    assert_eq!(
        of(2, "read-reference"),
        Some(("exists", "exists")),
        "{answers:?}"
    );
    assert_eq!(
        of(3, "write-last-read-first"),
        Some(("exists", "exists")),
        "{answers:?}"
    );
    // Who answered: the frozen worker in step 1, nobody in time in step 2, and in step 3
    // the lane's reader, another process of the same application.
    let answered_by = |step: u64| {
        lines
            .iter()
            .find(|value| value["step"] == step && value["lane"] == "write-last-read-first")
            .map(|value| value["answered_by"].clone())
            .unwrap_or_default()
    };
    assert_eq!(answered_by(1), "worker", "{lines:?}");
    assert!(answered_by(2).is_null(), "{lines:?}");
    assert_eq!(answered_by(3), "reader", "{lines:?}");
    assert_eq!(status.code(), Some(0), "{lines:?}");
    let left = crate::support::processes_mentioning(&data_dir);
    assert!(left.is_empty(), "left running: {left:?}");
    let files = crate::support::tigerbeetle_data_files(directory.path());
    assert!(files.is_empty(), "data files left: {files:?}");
}

/// Goal: the lab keeps its own history, and it is the only link between a TigerBeetle
/// account and its user. Method: play the headline scenario (02: a crash between the
/// writes, then a retry) with --keep-data; read the run's history file back and find, in
/// record-first, two ids drawn for alice, a create that ended in doubt (crashed) and one
/// that ended ok; then `cabaret check` starts TigerBeetle on the kept data file, and every
/// account it lists carries `user_data_128 0` (no lane of scenario 02 declares a user tag;
/// `only_the_lane_that_declares_a_user_tag_stamps_one` checks the one that does), while the
/// check, reading the history, names alice as the owner of record-first's two accounts.
/// The data folder (with its 1 GB data file) is deleted at the end.
#[test]
fn the_history_is_the_only_link_between_an_account_and_its_user() {
    let directory = tempfile::tempdir().expect("a temp dir");
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let data_dir = directory.path().join("data");
    let played = Command::new(BINARY)
        .arg("play")
        .arg("--keep-data")
        .arg(library.join("02-crash-between-writes.toml"))
        .arg("--data-dir")
        .arg(&data_dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert_eq!(played.status.code(), Some(0), "{}", text(&played.stdout));
    let run_dir = data_dir.join("02-crash-between-writes");

    let lines = cabaret::engine::history::read(&run_dir.join("history.jsonl")).expect("read back");
    let drawn =
        cabaret::engine::history::drawn_ids(&lines, cabaret::domain::lane::Lane::RecordFirst);
    let for_alice = drawn.values().filter(|user| *user == "alice").count();
    assert_eq!(
        for_alice, 2,
        "record-first drew two ids for alice: {drawn:?}"
    );
    let creates: Vec<String> = lines
        .iter()
        .filter(|line| {
            line.lane == cabaret::domain::lane::Lane::RecordFirst && line.function == "create"
        })
        .map(|line| format!("{:?} {}", line.kind, line.value))
        .collect();
    assert_eq!(
        creates,
        [
            "Invoke ",
            "Info crashed between-writes",
            "Invoke ",
            "Ok created"
        ],
        "{creates:?}"
    );

    let checked = Command::new(BINARY)
        .arg("check")
        .arg("--data-dir")
        .arg(&run_dir)
        .stdin(Stdio::null())
        .output()
        .expect("check runs");
    let report = text(&checked.stdout);
    assert_eq!(
        checked.status.code(),
        Some(1),
        "{report}{}",
        text(&checked.stderr)
    );
    let account_lines: Vec<&str> = report
        .lines()
        .filter(|line| line.contains(" balance "))
        .collect();
    assert!(account_lines.len() >= 4, "{report}");
    assert!(
        account_lines
            .iter()
            .all(|line| line.ends_with("user_data_128 0")),
        "an account carries a user tag: {report}"
    );
    assert!(report.contains("were drawn for alice"), "{report}");
    assert!(
        report.contains("the lab knows it was drawn for alice"),
        "{report}"
    );
    assert!(
        !run_dir.join("record/server.pid").exists(),
        "the check stopped its server"
    );
}

/// Goal: the history names each operation by what it was (a reservation, a post), not
/// every one a "create". Method: play scenario 25 (a reservation crashed before its post,
/// a refused competing reservation, a late post) and read the run's history back: the
/// crash is an `info` of a `reserve`, the refused reservation a `fail` of a `reserve`, the
/// late post a `fail` of a `post`.
#[test]
fn the_history_names_each_operation_by_its_function() {
    let directory = tempfile::tempdir().expect("a temp dir");
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let played = crate::support::play(
        &[],
        &[library.join("25-reservation-reserves.toml")],
        directory.path(),
    );
    assert_eq!(played.status.code(), Some(0), "{}", text(&played.stdout));
    let history = directory
        .path()
        .join("25-reservation-reserves")
        .join("history.jsonl");
    let lines = cabaret::engine::history::read(&history).expect("read back");
    let ended: Vec<String> = lines
        .iter()
        .filter(|line| line.user == "alice" || line.user == "bob")
        .filter(|line| format!("{:?}", line.kind) != "Invoke")
        .map(|line| {
            format!(
                "{} {} {:?} {}",
                line.user, line.function, line.kind, line.value
            )
        })
        .collect();
    for expected in [
        "alice create Ok created",
        "alice reserve Info crashed before-post",
        "bob reserve Fail failed",
        "bob reserve Ok created",
        "alice post Fail failed",
    ] {
        assert!(
            ended.iter().any(|line| line == expected),
            "no `{expected}` in {ended:#?}"
        );
    }
}

/// Goal: a user tag in TigerBeetle is there only where a lane's design declares one, and
/// there it is the user's key: the lane table's word is the stores' truth. Method: play
/// scenario 21 (a crash between the writes in the four corners) with --keep-data; `cabaret
/// check` starts TigerBeetle on the kept data file and lists every account per lane:
/// record-first-read-record's account carries `user_data_128` = alice's key, every other
/// lane's accounts carry 0, and the check's words for its account say TigerBeetle tags it
/// while no SQLite row holds a name or terms. The data folder is deleted at the end.
#[test]
fn only_the_lane_that_declares_a_user_tag_stamps_one() {
    let directory = tempfile::tempdir().expect("a temp dir");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/21-four-corners.toml");
    let data_dir = directory.path().join("data");
    let played = Command::new(BINARY)
        .arg("play")
        .arg("--keep-data")
        .arg(&scenario)
        .arg("--data-dir")
        .arg(&data_dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert_eq!(played.status.code(), Some(0), "{}", text(&played.stdout));
    let checked = Command::new(BINARY)
        .arg("check")
        .arg("--data-dir")
        .arg(data_dir.join("21-four-corners"))
        .stdin(Stdio::null())
        .output()
        .expect("check runs");
    let report = text(&checked.stdout);
    assert_eq!(checked.status.code(), Some(1), "{report}");
    let alice_key = cabaret::domain::ids::user_key("alice");
    let mut lane = String::new();
    let mut tags: Vec<(String, String)> = Vec::new();
    for line in report.lines() {
        if let Some(heading) = line.strip_prefix('[') {
            lane = heading.split(']').next().unwrap_or_default().to_string();
        } else if line.contains(" balance ") {
            let tag = line.rsplit(' ').next().unwrap_or_default().to_string();
            tags.push((lane.clone(), tag));
        }
    }
    // One account each in the two lanes that wrote TigerBeetle first, plus every lane's
    // bank account if the check lists it: all untagged but the declaring lane's.
    assert!(
        tags.iter()
            .any(|(lane, _)| lane == "record-first-read-record"),
        "{report}"
    );
    for (lane, tag) in &tags {
        let expected = if lane == "record-first-read-record" {
            alice_key.to_string()
        } else {
            "0".to_string()
        };
        assert_eq!(tag, &expected, "lane {lane}: {report}");
    }
    assert!(
        report.contains("its user_data_128 tags it as alice's, but no row holds a name or terms"),
        "{report}"
    );
    // The kept data file (1 GB) goes with the temporary folder.
    drop(directory);
}
