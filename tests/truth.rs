//! What the demo claims is checked: a narration that names a lane must come with an
//! expectation for that lane at that step (the narration lint), and a step that promises
//! something TigerBeetle would not do (a reservation with no timeout) is refused. Both are
//! found when the file is read, so nothing runs.

use cabaret::domain::scenario;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_cabaret");

fn play(file: &Path, data_dir: &Path) -> Output {
    Command::new(BINARY)
        .arg("play")
        .arg(file)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
    assert!(count >= 16, "only {count} scenario files");
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
    assert!(stderr.contains("at least 1 second"), "stderr: {stderr}");
    assert!(!data_dir.exists(), "nothing may run");
}
