//! The scenario library, checked through the real binary on the real stores: every file in
//! `scenarios/` plays with every expectation met; an expectation changed to a wrong answer
//! makes `play` exit 1 (so expectations are really checked); a malformed file exits 2,
//! names file, line and column, and runs nothing.

use crate::support::{play, project_file, run_slot, text};
use cabaret::domain::scenario;
use std::path::{Path, PathBuf};

/// Every `*.toml` file of the scenario library, in file-name order.
fn library() -> Vec<PathBuf> {
    let directory = project_file("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("the scenarios folder is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario in {}", directory.display());
    files
}

/// The name a scenario's run goes by in `play --json` (its file name without `.toml`).
fn slug(path: &Path) -> String {
    path.file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

/// The summary objects of `play --json` output, by scenario.
fn summaries(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|value| value["type"] == "summary")
        .collect()
}

/// Goal: every scenario of the library is true: each expectation holds against the real
/// stores. Method: play every file in one invocation (one binary, one file after another,
/// each on fresh stores) with --json, and on failure name each scenario that failed and
/// its unmet expectations, read from the summary lines; a scenario without a summary line
/// is named too (its run stopped).
#[test]
fn every_scenario_in_the_library_plays_with_every_expectation_met() {
    let _slot = run_slot();
    let files = library();
    let directory = tempfile::tempdir().expect("a temp dir");
    let output = play(&["--json"], &files, directory.path());
    let stdout = text(&output.stdout);
    let summaries = summaries(&stdout);
    let mut problems = Vec::new();
    for file in &files {
        let name = slug(file);
        match summaries
            .iter()
            .find(|summary| summary["scenario"] == name.as_str())
        {
            None => problems.push(format!("{name}: did not run to its end")),
            Some(summary) if summary["passed"] != true => {
                problems.push(format!("{name}: {}", summary["failures"]));
            }
            Some(_) => {}
        }
    }
    assert!(
        problems.is_empty() && output.status.code() == Some(0),
        "exit {:?}; scenarios that failed:\n{}\nstderr: {}",
        output.status.code(),
        problems.join("\n"),
        text(&output.stderr)
    );
}

/// Goal: the library is written for an audience: every scenario has a one-line summary, a
/// narration on every step (the loader refuses empty ones), and expectations for every
/// lane it shows. Method: load each file through the library's own loader.
#[test]
fn every_scenario_has_a_summary_and_expectations_for_each_lane() {
    for file in library() {
        let loaded = scenario::load(&file).unwrap_or_else(|error| panic!("{error}"));
        let name = slug(&file);
        assert!(!loaded.summary.trim().is_empty(), "{name}: no summary");
        assert!(
            !loaded.summary.contains('\n'),
            "{name}: the summary is one line"
        );
        for step in &loaded.steps {
            assert!(!step.narration.trim().is_empty(), "{name}: a silent step");
        }
        for lane in &loaded.lanes {
            let expected = loaded.expect.contains_key(lane)
                || loaded
                    .steps
                    .iter()
                    .any(|step| step.expect.contains_key(lane));
            assert!(expected, "{name}: no expectation for lane {lane}");
        }
    }
}

/// Goal: expectations are really checked: one expectation changed to a wrong answer makes
/// `play` exit 1 and say which step, lane and answer. Method: copy the headline scenario,
/// flip write-last-read-first's answer in its read step from "absent" to "exists", play it.
#[test]
fn a_wrong_expectation_makes_play_exit_1() {
    let _slot = run_slot();
    let original = project_file("scenarios/02-crash-between-writes.toml");
    let source = std::fs::read_to_string(&original).expect("the headline scenario");
    let correct =
        "[step.expect.write-last-read-first]\nanswer = \"absent\"\nabsent = [\"wrong-answer\"]";
    assert_eq!(
        source.matches(correct).count(),
        1,
        "the expectation to flip"
    );
    let wrong = source.replace(correct, &correct.replace("\"absent\"\n", "\"exists\"\n"));
    let directory = tempfile::tempdir().expect("a temp dir");
    let path = directory.path().join("wrong-answer.toml");
    std::fs::write(&path, wrong).expect("write the copy");
    let output = play(&[], &[path], &directory.path().join("data"));
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let expected = "step 2 (does alice exist?), lane write-last-read-first: expected the answer for alice to be exists, got absent";
    assert!(stdout.contains(expected), "{stdout}");
    assert!(
        stdout.contains("1 expectation(s) not met"),
        "only the flipped one: {stdout}"
    );
}

/// Goal: a malformed scenario is bad input: exit 2, one line naming file, line and column
/// and what was expected, and nothing runs (no data directory, no server). Method: copy a
/// library file with an unknown crash point, and another with a TOML syntax error; and the
/// limited-pool scenario with a misspelt refusal and an empty pool.
#[test]
fn a_malformed_scenario_exits_2_naming_file_line_column_and_runs_nothing() {
    let original = project_file("scenarios/02-crash-between-writes.toml");
    let source = std::fs::read_to_string(&original).expect("the headline scenario");
    let pool = std::fs::read_to_string(project_file("scenarios/25-reservation-reserves.toml"))
        .expect("the limited-pool scenario");
    let directory = tempfile::tempdir().expect("a temp dir");
    let cases = [
        (
            "unknown-crash-point.toml",
            source.replace("crash = \"between-writes\"", "crash = \"mid-air\""),
            "\"mid-air\"",
            "unknown crash point `mid-air`",
        ),
        (
            "syntax-error.toml",
            source.replace("seed = 42", "seed = = 42"),
            "= 42",
            "expected `\"`",
        ),
        (
            "misspelt-refusal.toml",
            pool.replace("\"exceeds_credits\"", "\"exceeds-credits\""),
            "\"exceeds-credits\"",
            "is not a TigerBeetle result name",
        ),
        (
            "empty-pool.toml",
            pool.replace("bank_funds = 150", "bank_funds = 0"),
            "0\n\n[[step]]",
            "`bank_funds` must be above 0",
        ),
    ];
    for (name, text_of_file, marker, message) in cases {
        let path = directory.path().join(name);
        std::fs::write(&path, &text_of_file).expect("write the copy");
        let data_dir = directory.path().join(format!("data-{name}"));
        let output = play(&[], &[&path], &data_dir);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        // The place is where the bad value starts, counted from 1.
        let offset = text_of_file.find(marker).expect("the marker");
        let (line, column) = scenario::line_and_column(&text_of_file, offset);
        let place = format!("{}:{line}:{column}: ", path.display());
        assert!(
            stderr.contains(&place),
            "{name}: expected {place}…, got {stderr}"
        );
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{name}: one line: {stderr}"
        );
        assert!(text(&output.stdout).is_empty(), "{name}: nothing played");
        assert!(!data_dir.exists(), "{name}: nothing ran");
    }
}
