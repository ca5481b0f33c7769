//! The `cabaret` binary: parses the command line, runs the chosen face, and decides the
//! exit code in one place (0 all expectations held, 1 one did not or the run failed,
//! 2 bad input).

use cabaret::domain::lane::Lane;
use cabaret::engine::EngineError;
use cabaret::engine::layout::{DataDir, DataDirLock, LayoutError};
use cabaret::faces::guard;
use cabaret::faces::play::{self, PlayOptions};
use cabaret::faces::storm::StormOptions;
use cabaret::worker::{self, protocol::WorkerOptions};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "cabaret",
    version,
    about = "Consistency Cabaret: write last, read first, on stage."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Commands>,
    /// A scenario file to open directly (default: the scenario picker).
    scenario: Option<PathBuf>,
    /// Where runs keep their files (each run in a folder of its own).
    #[arg(long, global = true, default_value = "cabaret-data")]
    data_dir: PathBuf,
    /// The seed: overrides a scenario's (the same seed gives the same ids and transcript);
    /// for `storm`, draws its crashes and fault windows (default 1), the same for the same
    /// seed.
    #[arg(long, global = true)]
    seed: Option<u64>,
    #[command(flatten)]
    stage: StageFlags,
}

/// How the TUI looks and what it records (the TUI and `play --tui`).
#[derive(clap::Args, Clone, Debug)]
struct StageFlags {
    /// The TUI's theme: dark (the default) or light, for projectors that wash out dark
    /// backgrounds (the `t` key switches).
    #[arg(long, global = true, value_parser = cabaret::tui::theme::parse_theme_name)]
    theme: Option<bool>,
    /// Writes an asciicast v2 recording of the screen to this file (`asciinema play`).
    #[arg(long, global = true)]
    record: Option<PathBuf>,
    /// Set by `play --tui --then-quit`.
    #[arg(skip)]
    then_quit: bool,
}

#[derive(Subcommand)]
enum Commands {
    /// Plays scenarios headless: a transcript, or JSON with --json.
    Play {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per step and lane, then a summary object.
        #[arg(long)]
        json: bool,
        /// Keeps TigerBeetle's data file (about 1 GB) for `cabaret check`.
        #[arg(long)]
        keep_data: bool,
        /// Plays one scenario on screen, stepping by itself; space pauses and resumes.
        #[arg(long, conflicts_with_all = ["json", "keep_data"])]
        tui: bool,
        /// With --tui: the time between two moves, like 2s, 1.5s or 500ms (default 2s).
        #[arg(long, requires = "tui", value_parser = cabaret::tui::parse_pace)]
        pace: Option<Duration>,
        /// With --tui: quits a pace after the verdicts show (to record every scenario
        /// unattended, see bin/record-talk).
        #[arg(long, requires = "tui")]
        then_quit: bool,
    },
    /// Runs every crash point and store fault against every lane; prints the matrix.
    Explore {
        /// The matrix as JSON.
        #[arg(long)]
        json: bool,
        /// The lanes to explore (default: every lane).
        #[arg(long, value_delimiter = ',')]
        lanes: Vec<Lane>,
    },
    /// Reads a run's data directory on its own and reports the properties.
    Check,
    /// The pre-talk check: terminal, disk, memory, the server binary, ports, a real
    /// server, and every scenario played headless; exits 0 only when all pass.
    Doctor {
        /// The scenario files to play (default: every file of the scenarios folder).
        files: Vec<PathBuf>,
    },
    /// Many account creations in every lane, with crashes and faults at random (seeded).
    Storm {
        /// Requests per lane, 1 to 1,000,000.
        #[arg(long, default_value_t = 100)]
        requests: u64,
        /// Worker processes per lane, running requests at once (1 to 16).
        #[arg(long, default_value_t = cabaret::faces::storm::DEFAULT_CONCURRENCY)]
        concurrency: u32,
        /// The most requests a worker runs as one batch, group commit (1 to 100; 1: one
        /// request at a time).
        #[arg(long, default_value_t = cabaret::faces::storm::DEFAULT_BATCH)]
        batch: u32,
        /// The chance per request of a crash at a random crash point (0 to 1).
        #[arg(long, default_value_t = 0.2)]
        crash_rate: f64,
        /// The share of requests sent while a store is failed, in windows of 10 (0 to 1).
        #[arg(long, default_value_t = 0.05)]
        fault_rate: f64,
        /// The lanes to storm, comma-separated (default: every lane).
        #[arg(long, value_delimiter = ',')]
        lanes: Vec<Lane>,
        /// The result as one JSON object on stdout (progress still goes to stderr).
        #[arg(long)]
        json: bool,
        /// Shows the storm on screen: a bar per lane, growing (q stops it).
        #[arg(long, conflicts_with = "json")]
        tui: bool,
    },
    /// Measures raw TigerBeetle, raw SQLite and the durable lane end to end; prints the ratio.
    Bench {
        /// Worker processes of the durable lane, running requests at once (1 to 16).
        #[arg(long, default_value_t = cabaret::faces::storm::DEFAULT_CONCURRENCY)]
        concurrency: u32,
        /// The most requests a worker runs as one batch, group commit (1 to 100; 1: one
        /// request at a time).
        #[arg(long, default_value_t = cabaret::faces::storm::DEFAULT_BATCH)]
        batch: u32,
        /// The figures as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The lane's application (started by the controller, not by hand).
    #[command(hide = true)]
    Worker(WorkerOptions),
}

const EXIT_FAILED: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;
/// A program ended by signal N exits 128 + N, by shell convention.
const EXIT_SIGNAL_BASE: u8 = 128;

/// Whether the TUI can be seen here: stdin and stdout a terminal, and a terminal that
/// can draw (not `TERM=dumb`). Otherwise one sentence says what to use instead.
fn terminal_for_tui() -> Result<(), String> {
    use std::io::IsTerminal;
    let instead = "use `cabaret play FILE` for a transcript instead";
    if !std::io::stdout().is_terminal() {
        return Err(format!(
            "the TUI needs a terminal, and stdout is not one; {instead}"
        ));
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "the TUI needs a terminal, and stdin is not one; {instead}"
        ));
    }
    if std::env::var_os("TERM").is_some_and(|term| term == "dumb") {
        return Err(format!("TERM=dumb cannot draw the TUI; {instead}"));
    }
    Ok(())
}

fn main() -> ExitCode {
    // Every file a run writes (SQLite, TigerBeetle's data file, logs, transcripts) is
    // readable by its owner only; the children inherit the mask.
    // SAFETY: umask has no memory-safety preconditions.
    unsafe {
        libc::umask(0o077);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                EXIT_BAD_INPUT
            } else {
                0
            };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    run(cli)
}

/// Runs the face the command line names, and says how it ended as the exit code.
fn run(cli: Cli) -> ExitCode {
    let Some(command) = cli.command else {
        return run_tui(cli.scenario, cli.data_dir, cli.seed, None, cli.stage);
    };
    let data_dir = DataDir::new(&cli.data_dir);
    match command {
        Commands::Worker(options) => run_worker(options),
        Commands::Play {
            files,
            tui: true,
            pace,
            then_quit,
            ..
        } => run_play_tui(&files, cli.data_dir, cli.seed, pace, cli.stage, then_quit),
        Commands::Play {
            files,
            json,
            keep_data,
            ..
        } => run_play(PlayOptions {
            files,
            json,
            seed: cli.seed,
            data_dir: cli.data_dir,
            keep_data,
        }),
        Commands::Explore { json, lanes } => run_explore(&data_dir, lanes, cli.seed, json),
        Commands::Check => run_check(cli.data_dir),
        Commands::Doctor { files } => run_doctor(files, cli.data_dir),
        Commands::Bench {
            concurrency,
            batch,
            json,
        } => run_bench(&data_dir, (concurrency, batch), cli.seed.unwrap_or(1), json),
        Commands::Storm {
            requests,
            concurrency,
            batch,
            crash_rate,
            fault_rate,
            lanes,
            json,
            tui,
        } => {
            let options = StormOptions {
                layout: data_dir.run_named("storm"),
                lanes: all_if_empty(lanes),
                request_count: requests,
                concurrency,
                batch,
                crash_rate,
                fault_rate,
                seed: cli.seed.unwrap_or(1),
            };
            run_storm(&data_dir, options, json, tui)
        }
    }
}

/// The lanes asked for, or every lane when none were named.
fn all_if_empty(lanes: Vec<Lane>) -> Vec<Lane> {
    if lanes.is_empty() {
        Lane::ALL.to_vec()
    } else {
        lanes
    }
}

fn run_worker(options: WorkerOptions) -> ExitCode {
    // The client library writes its warnings to fd 2: keep them in the lane's log.
    let _ = cabaret::stores::process::redirect_stderr(&options.log);
    init_tracing();
    match worker::run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "worker: {}",
                cabaret::domain::text::visible(&error.to_string(), false)
            );
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Prints the message on the original stderr and exits 1.
fn failed(stderr: &mut dyn Write, error: impl std::fmt::Display) -> ExitCode {
    let text = error.to_string();
    let _ = writeln!(
        stderr,
        "cabaret: {}",
        cabaret::domain::text::visible(&text, false)
    );
    ExitCode::from(EXIT_FAILED)
}

/// Keeps the client library's warnings out of the output: stderr goes to a log file in
/// the data directory; returns the original stderr for our own messages. From here on a
/// signal removes the running run's data file, and a panic is told on the terminal.
fn quiet_stderr(data_dir: &DataDir) -> Box<dyn Write> {
    let _ = std::fs::create_dir_all(data_dir.root());
    let original: Box<dyn Write> = match cabaret::stores::process::redirect_stderr(&data_dir.log())
    {
        Ok(original) => {
            if let Ok(terminal) = original.try_clone() {
                guard::report_panics_on(terminal, data_dir.log());
            }
            if let Ok(terminal) = original.try_clone() {
                let _ = guard::exit_cleanly_on_signals(data_dir, terminal);
            }
            Box::new(original)
        }
        Err(_) => Box::new(std::io::stderr()),
    };
    init_tracing();
    original
}

/// Takes the data folder (one run per folder) and says what killed runs left and this
/// start removed; on failure, the one line and the exit code to end with.
fn take_data_dir(data_dir: &DataDir) -> Result<DataDirLock, ExitCode> {
    match guard::take_data_dir(data_dir) {
        Ok((lock, swept)) => {
            if let Some(line) = swept {
                eprintln!("cabaret: {line}");
            }
            Ok(lock)
        }
        Err(error) => {
            eprintln!("cabaret: {error}");
            Err(ExitCode::from(exit_code_of(&error)))
        }
    }
}

fn exit_code_of(error: &LayoutError) -> u8 {
    if error.is_bad_input() {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILED
    }
}

/// Traces go to stderr, which by then is the run's log file (`CABARET_LOG` sets the level).
/// A failed write (a full disk) is remembered and stops the run, never a panic.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CABARET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| EscapingLog(cabaret::stores::disk::LogWriter))
        .log_internal_errors(false)
        .with_ansi(false)
        .try_init();
}

fn run_play(options: PlayOptions) -> ExitCode {
    let scenarios = match play::load_all(&options.files) {
        Ok(scenarios) => scenarios,
        Err(error) => {
            eprintln!(
                "cabaret: {}",
                cabaret::domain::text::visible(&error.to_string(), false)
            );
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let data_dir = DataDir::new(&options.data_dir);
    let _lock = match take_data_dir(&data_dir) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    if let Err(error) = play::check_run_folders(&scenarios, &data_dir) {
        eprintln!("cabaret: {error}");
        return ExitCode::from(exit_code_of(&error));
    }
    let mut stderr = quiet_stderr(&data_dir);
    let mut stdout = std::io::stdout();
    match play::play(scenarios, &options, &mut stdout) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_FAILED),
        Err(EngineError::Layout(error)) if error.is_bad_input() => {
            let _ = writeln!(stderr, "cabaret: {error}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(error) => failed(&mut stderr, error),
    }
}

/// `play --tui`: one scenario on screen, autoplaying at the pace.
fn run_play_tui(
    files: &[PathBuf],
    data_dir: PathBuf,
    seed: Option<u64>,
    pace: Option<Duration>,
    stage: StageFlags,
    then_quit: bool,
) -> ExitCode {
    let [file] = files else {
        eprintln!("cabaret: --tui plays one scenario at a time");
        return ExitCode::from(EXIT_BAD_INPUT);
    };
    let pace = pace.unwrap_or(cabaret::tui::app::DEFAULT_PACE);
    let stage = StageFlags { then_quit, ..stage };
    run_tui(Some(file.clone()), data_dir, seed, Some(pace), stage)
}

/// The TUI: the picker, or one scenario. Exit 1 when an autoplayed run ended with an
/// expectation not met, 2 when the scenario file is invalid.
/// What the TUI opens on, once its arguments are good and it has a terminal to draw on:
/// the arguments first (a bad one is bad anywhere), then where the TUI would draw.
fn tui_start(
    scenario: Option<PathBuf>,
    stage: &StageFlags,
) -> Result<cabaret::tui::Start, ExitCode> {
    use cabaret::tui::Start;
    if let Some(path) = &stage.record {
        if let Err(problem) = check_record_path(path) {
            eprintln!("cabaret: {problem}");
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
    }
    if let Err(reason) = terminal_for_tui() {
        eprintln!("cabaret: {reason}");
        return Err(ExitCode::from(EXIT_BAD_INPUT));
    }
    match scenario {
        None => Ok(Start::Picker(cabaret::tui::picker::default_folder())),
        Some(path) => match cabaret::domain::scenario::load(&path) {
            Ok(scenario) => Ok(Start::Scenario(Box::new(scenario))),
            Err(error) => {
                eprintln!(
                    "cabaret: {}",
                    cabaret::domain::text::visible(&error.to_string(), false)
                );
                Err(ExitCode::from(EXIT_BAD_INPUT))
            }
        },
    }
}

fn run_tui(
    scenario: Option<PathBuf>,
    data_dir: PathBuf,
    seed: Option<u64>,
    autoplay: Option<Duration>,
    stage: StageFlags,
) -> ExitCode {
    use cabaret::tui::{Start, TuiOptions};
    let start = match tui_start(scenario, &stage) {
        Ok(start) => start,
        Err(code) => return code,
    };
    let data_folder = DataDir::new(&data_dir);
    let _lock = match take_data_dir(&data_folder) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    if let Start::Scenario(scenario) = &start {
        let folder = data_folder
            .run_for(scenario)
            .and_then(|layout| layout.check_paths().and_then(|()| layout.check_ours()));
        if let Err(error) = folder {
            eprintln!("cabaret: {error}");
            return ExitCode::from(exit_code_of(&error));
        }
    }
    let mut options = match TuiOptions::new(start, data_dir) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("cabaret: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    options.seed = seed;
    options.autoplay = autoplay;
    options.record = stage.record;
    options.then_quit = stage.then_quit;
    if let Some(light) = stage.theme {
        options.theme.light = light;
    }
    // Traces go to stderr, which the TUI sends to its log before it draws anything.
    init_tracing();
    let result = cabaret::tui::run(options);
    if let Some(signal) = cabaret::tui::event::terminating_signal() {
        // Ended by a signal: the conventional status, so a supervisor can tell a quit
        // from a kill.
        return ExitCode::from(EXIT_SIGNAL_BASE.saturating_add(signal));
    }
    match result {
        Ok(Some(false)) if autoplay.is_some() => ExitCode::from(EXIT_FAILED),
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cabaret: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Whether a recording can be written at `path`: its folder exists and it is not a folder.
fn check_record_path(path: &std::path::Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!(
            "--record {}: is a folder, not a file",
            path.display()
        ));
    }
    let parent = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !parent.is_dir() {
        return Err(format!(
            "--record {}: the folder {} does not exist",
            path.display(),
            parent.display()
        ));
    }
    Ok(())
}

/// `cabaret doctor`: every check, one line each; exit 0 only when all pass.
fn run_doctor(files: Vec<PathBuf>, data_dir: PathBuf) -> ExitCode {
    let files = if files.is_empty() {
        let folder = cabaret::tui::picker::default_folder();
        match scenario_files(&folder) {
            Ok(files) => files,
            Err(error) => {
                eprintln!("cabaret: {error}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    } else {
        files
    };
    let scenarios = match play::load_all(&files) {
        Ok(scenarios) => scenarios,
        Err(error) => {
            eprintln!("cabaret: {error}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let started = std::time::Instant::now();
    let _stderr = quiet_stderr(&DataDir::new(&data_dir));
    let options = cabaret::faces::doctor::DoctorOptions {
        data_dir,
        binary: cabaret::stores::supervisor::default_binary(),
        scenarios,
    };
    let mut stdout = std::io::stdout();
    let passed = cabaret::faces::doctor::doctor(&options, &mut stdout);
    let verdict = if passed {
        "the talk will work on this machine, in this terminal"
    } else {
        "fix the FAIL lines above before the talk"
    };
    println!(
        "doctor: {verdict} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

/// The `*.toml` files of a folder, sorted.
fn scenario_files(folder: &std::path::Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(folder)
        .map_err(|error| format!("cannot read {}: {error}", folder.display()))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    Ok(files)
}

fn run_explore(data_dir: &DataDir, lanes: Vec<Lane>, seed: Option<u64>, json: bool) -> ExitCode {
    let _lock = match take_data_dir(data_dir) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    let mut stderr = quiet_stderr(data_dir);
    let layout = data_dir.run_named("explore");
    let explored =
        cabaret::faces::explore::explore(layout, &all_if_empty(lanes), seed.unwrap_or(1));
    guard::remove_own_data(data_dir);
    match explored {
        Ok(exploration) => print_result(&mut stderr, json, &exploration, || {
            cabaret::faces::explore::matrix_text(&exploration)
        }),
        Err(error) => failed(&mut stderr, error),
    }
}

/// Prints a face's result as JSON, or as its text.
fn print_result<T: serde::Serialize>(
    stderr: &mut dyn Write,
    json: bool,
    result: &T,
    text: impl FnOnce() -> String,
) -> ExitCode {
    if !json {
        print!("{}", cabaret::domain::text::visible(&text(), true));
        return ExitCode::SUCCESS;
    }
    match serde_json::to_string(result) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => failed(stderr, error),
    }
}

fn run_check(data_dir: PathBuf) -> ExitCode {
    if !data_dir.exists() {
        eprintln!(
            "cabaret: the data directory {} is missing",
            data_dir.display()
        );
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if !data_dir.is_dir() {
        eprintln!(
            "cabaret: the data directory {} is not a directory",
            data_dir.display()
        );
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    // `check` reads a kept run's folder: the data folder it lies in is taken, so no run
    // starts there meanwhile (a folder with no parent to lock is read as it is).
    let _lock = match data_dir
        .canonicalize()
        .ok()
        .and_then(|folder| folder.parent().map(DataDir::new))
    {
        Some(parent) => match guard::take_data_dir(&parent) {
            Ok((lock, _)) => Some(lock),
            Err(error @ LayoutError::InUse { .. }) => {
                eprintln!("cabaret: {error}");
                return ExitCode::from(EXIT_FAILED);
            }
            Err(_) => None,
        },
        None => None,
    };
    let mut stderr = quiet_stderr(&DataDir::new(&data_dir));
    match cabaret::faces::check::check(&data_dir, &cabaret::stores::supervisor::default_binary()) {
        Ok(report) => {
            // The stores' contents are data: no control in them reaches the terminal.
            print!("{}", cabaret::domain::text::visible(&report.text, true));
            if report.holds {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILED)
            }
        }
        Err(error) => failed(&mut stderr, error),
    }
}

fn run_storm(data_dir: &DataDir, options: StormOptions, json: bool, tui: bool) -> ExitCode {
    use cabaret::faces::storm;
    use std::io::IsTerminal;
    let mut problems = storm::problems(
        options.request_count,
        options.concurrency,
        options.batch,
        options.crash_rate,
        options.fault_rate,
    );
    problems.extend(storm::client_problem(
        options.lanes.len(),
        options.concurrency,
    ));
    if !problems.is_empty() {
        for problem in problems {
            eprintln!("cabaret: {problem}");
        }
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let terminal = std::io::stderr().is_terminal();
    if tui && !(std::io::stdout().is_terminal() && std::io::stdin().is_terminal()) {
        eprintln!("cabaret: storm --tui needs a terminal; without --tui, storm prints its table");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let _lock = match take_data_dir(data_dir) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    // The storm's own folder is emptied when it starts: the log lives beside it. The
    // client library's warnings go to the log; progress goes to the real stderr.
    let _ = std::fs::create_dir_all(data_dir.root());
    let original = cabaret::stores::process::redirect_stderr(&data_dir.log());
    init_tracing();
    let (sink, mut stderr): (_, Box<dyn Write>) = match original {
        Ok(original) => match original.try_clone() {
            Ok(clone) if terminal => (Some(storm::bar_sink(clone)), Box::new(original)),
            Ok(clone) => (Some(storm::plain_sink(Box::new(clone))), Box::new(original)),
            Err(_) => (None, Box::new(original)),
        },
        Err(_) => (None, Box::new(std::io::stderr())),
    };
    if tui {
        let shown = cabaret::tui::storm_view::run(options);
        guard::remove_own_data(data_dir);
        return match shown {
            Ok(Some(result)) => {
                print!("{}", storm::storm_text(&result));
                ExitCode::SUCCESS
            }
            Ok(None) => ExitCode::from(EXIT_FAILED),
            Err(error) => failed(&mut stderr, error),
        };
    }
    let stormed = storm::storm(&options, sink);
    guard::remove_own_data(data_dir);
    match stormed {
        Ok(result) => print_result(&mut stderr, json, &result, || storm::storm_text(&result)),
        Err(error) => failed(&mut stderr, error),
    }
}

/// `workers`: the durable lane's worker processes and its batch.
fn run_bench(data_dir: &DataDir, workers: (u32, u32), seed: u64, json: bool) -> ExitCode {
    use cabaret::faces::bench::{self, BenchOptions};
    let (concurrency, batch) = workers;
    let problems = cabaret::faces::storm::problems(1, concurrency, batch, 0.0, 0.0);
    if !problems.is_empty() {
        for problem in problems {
            eprintln!("cabaret: {problem}");
        }
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let _lock = match take_data_dir(data_dir) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    let mut stderr = quiet_stderr(data_dir);
    let options = BenchOptions {
        layout: data_dir.run_named("bench"),
        concurrency,
        batch,
        seed,
    };
    let say = |line: &str| {
        let _ = writeln!(stderr, "bench: {line}");
    };
    let measured = bench::bench(&options, say);
    guard::remove_own_data(data_dir);
    match measured {
        Ok(report) => print_result(&mut stderr, json, &report, || bench::bench_text(&report)),
        Err(error) => failed(&mut stderr, error),
    }
}

/// The log's writer: every line a trace writes has its controls escaped (`\u{1b}`), so a
/// user id or a store's message never reaches a terminal that shows the log raw. The
/// line break that ends each trace stays.
struct EscapingLog<W: Write>(W);

impl<W: Write> Write for EscapingLog<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (text.as_ref(), ""),
        };
        let escaped = cabaret::domain::text::visible(body, false);
        self.0.write_all(escaped.as_bytes())?;
        self.0.write_all(end.as_bytes())?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: a trace holding a control reaches the log escaped, its line break kept.
    #[test]
    fn the_log_escapes_controls_and_keeps_the_line_end() {
        let mut log = EscapingLog(Vec::new());
        log.write_all(b"step begins action=create a\x1b[2J\nb\n")
            .expect("written");
        let written = String::from_utf8(log.0).expect("text");
        assert_eq!(written, "step begins action=create a\\u{1b}[2J\\u{a}b\n");
    }
}
