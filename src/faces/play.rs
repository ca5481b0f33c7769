//! Headless playback: loads every scenario first (a bad file stops everything before
//! anything runs), then runs each on the real stores and prints the transcript or JSON.

use crate::domain::scenario::{self, Scenario, ScenarioError};
use crate::engine::layout::{DataDir, RunLayout};
use crate::engine::{EngineError, Run, RunOptions};
use crate::faces::transcript;
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct PlayOptions {
    pub files: Vec<PathBuf>,
    pub json: bool,
    pub seed: Option<u64>,
    pub data_dir: PathBuf,
    /// Keeps TigerBeetle's data file (about 1 GB) after the run, for `cabaret check`.
    pub keep_data: bool,
}

/// Loads and validates every scenario, or returns the first error.
pub fn load_all(files: &[PathBuf]) -> Result<Vec<Scenario>, ScenarioError> {
    files.iter().map(|file| scenario::load(file)).collect()
}

/// Plays the scenarios; returns whether every expectation held.
pub fn play(
    scenarios: Vec<Scenario>,
    options: &PlayOptions,
    out: &mut dyn Write,
) -> Result<bool, EngineError> {
    let mut passed = true;
    for scenario in scenarios {
        passed &= play_one(scenario, options, out)?;
    }
    Ok(passed)
}

fn write_line(out: &mut dyn Write, text: &str) -> Result<(), EngineError> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| EngineError::Io {
            action: "writing the transcript".to_string(),
            source,
        })
}

/// Checks, before anything runs, that every scenario's run folder may be used: its name
/// comes from the file name, and anything already there must be a run of this program.
pub fn check_run_folders(
    scenarios: &[Scenario],
    data_dir: &DataDir,
) -> Result<(), crate::engine::layout::LayoutError> {
    for scenario in scenarios {
        let layout = data_dir.run_for(scenario)?;
        layout.check_paths()?;
        layout.check_ours()?;
    }
    Ok(())
}

/// Plays one scenario in its own folder. Whatever ends it (the last step, an error, a
/// full disk), its TigerBeetle data file is removed unless `--keep-data` asked for it.
fn play_one(
    scenario: Scenario,
    options: &PlayOptions,
    out: &mut dyn Write,
) -> Result<bool, EngineError> {
    let layout = DataDir::new(&options.data_dir).run_for(&scenario)?;
    layout.reset()?;
    let result = play_steps(scenario, &layout, options, out);
    let keep_data = options.keep_data && result.is_ok();
    // The run's processes are gone by now (the run was dropped): remove its files.
    layout.finish(keep_data).map_err(|source| EngineError::Io {
        action: format!("ending the run in {}", layout.root().display()),
        source,
    })?;
    result
}

fn play_steps(
    scenario: Scenario,
    layout: &RunLayout,
    options: &PlayOptions,
    out: &mut dyn Write,
) -> Result<bool, EngineError> {
    let mut run_options = RunOptions::new(layout.clone())?;
    run_options.seed = options.seed;
    let slug = scenario.slug();
    let mut run = Run::start(scenario, run_options, None, None)?;
    if !options.json {
        let heading = transcript::heading(&run.scenario().title, run.seed(), &run.scenario().lanes);
        write_line(out, &heading)?;
    }
    while !run.is_finished() {
        let report = run.step()?;
        // A step that met a full disk is not shown as the demo's result: the run stops.
        layout.check_room()?;
        if options.json {
            for line in transcript::step_json(&slug, &report) {
                write_line(out, &format!("{line}\n"))?;
            }
        } else {
            write_line(out, &transcript::step_text(&report))?;
        }
    }
    let summary = run.summary();
    if options.json {
        write_line(
            out,
            &format!("{}\n", transcript::summary_json(&slug, &summary)),
        )?;
    } else {
        write_line(out, &transcript::summary_text(&summary))?;
    }
    // Stops the workers and the server (the data file is the caller's to remove).
    drop(run.into_server());
    Ok(summary.passed)
}
