//! The `cabaret` binary: parses the command line, runs the chosen face, and decides the
//! exit code in one place (0 all expectations held, 1 one did not or the run failed,
//! 2 bad input).

use cabaret::domain::lane::Lane;
use cabaret::engine::layout::DataDir;
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
    /// Overrides the scenario's seed.
    #[arg(long, global = true)]
    seed: Option<u64>,
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
    },
    /// Runs every crash point and store fault against every lane; prints the matrix.
    Explore {
        #[arg(long)]
        json: bool,
        /// The lanes to explore (default: all six).
        #[arg(long, value_delimiter = ',')]
        lanes: Vec<Lane>,
    },
    /// Reads a run's data directory on its own and reports the properties.
    Check,
    /// Many account creations in every lane, with crashes and faults at random (seeded).
    Storm {
        /// Requests per lane, 1 to 1,000,000.
        #[arg(long, default_value_t = 100)]
        requests: u64,
        /// Worker processes per lane, running requests at once (1 to 16).
        #[arg(long, default_value_t = cabaret::faces::storm::DEFAULT_CONCURRENCY)]
        concurrency: u32,
        /// The chance per request of a crash at a random crash point (0 to 1).
        #[arg(long, default_value_t = 0.2)]
        crash_rate: f64,
        /// The share of requests sent while a store is failed, in windows of 10 (0 to 1).
        #[arg(long, default_value_t = 0.05)]
        fault_rate: f64,
        #[arg(long, value_delimiter = ',')]
        lanes: Vec<Lane>,
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
        #[arg(long)]
        json: bool,
    },
    /// The lane's application (started by the controller, not by hand).
    #[command(hide = true)]
    Worker(WorkerOptions),
}

const EXIT_FAILED: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
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
    let Some(command) = cli.command else {
        return run_tui(cli.scenario, cli.data_dir, cli.seed, None);
    };
    let data_dir = DataDir::new(&cli.data_dir);
    match command {
        Commands::Worker(options) => run_worker(options),
        Commands::Play {
            files,
            tui: true,
            pace,
            ..
        } => run_play_tui(&files, cli.data_dir, cli.seed, pace),
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
        Commands::Bench { concurrency, json } => {
            run_bench(&data_dir, concurrency, cli.seed.unwrap_or(1), json)
        }
        Commands::Storm {
            requests,
            concurrency,
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
                crash_rate,
                fault_rate,
                seed: cli.seed.unwrap_or(1),
            };
            run_storm(&data_dir, options, json, tui)
        }
    }
}

/// The lanes asked for, or all six when none were named.
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
            eprintln!("worker: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Prints the message on the original stderr and exits 1.
fn failed(stderr: &mut dyn Write, error: impl std::fmt::Display) -> ExitCode {
    let _ = writeln!(stderr, "cabaret: {error}");
    ExitCode::from(EXIT_FAILED)
}

/// Keeps the client library's warnings out of the output: stderr goes to a log file in
/// the data directory; returns the original stderr for our own messages.
fn quiet_stderr(data_dir: &DataDir) -> Box<dyn Write> {
    let _ = std::fs::create_dir_all(data_dir.root());
    let original: Box<dyn Write> = match cabaret::stores::process::redirect_stderr(&data_dir.log())
    {
        Ok(original) => Box::new(original),
        Err(_) => Box::new(std::io::stderr()),
    };
    init_tracing();
    original
}

/// Traces go to stderr, which by then is the run's log file (`CABARET_LOG` sets the level).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CABARET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

fn run_play(options: PlayOptions) -> ExitCode {
    let scenarios = match play::load_all(&options.files) {
        Ok(scenarios) => scenarios,
        Err(error) => {
            eprintln!("cabaret: {error}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let mut stderr = quiet_stderr(&DataDir::new(&options.data_dir));
    let mut stdout = std::io::stdout();
    match play::play(scenarios, &options, &mut stdout) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_FAILED),
        Err(error) => failed(&mut stderr, error),
    }
}

/// `play --tui`: one scenario on screen, autoplaying at the pace.
fn run_play_tui(
    files: &[PathBuf],
    data_dir: PathBuf,
    seed: Option<u64>,
    pace: Option<Duration>,
) -> ExitCode {
    let [file] = files else {
        eprintln!("cabaret: --tui plays one scenario at a time");
        return ExitCode::from(EXIT_BAD_INPUT);
    };
    let pace = pace.unwrap_or(cabaret::tui::app::DEFAULT_PACE);
    run_tui(Some(file.clone()), data_dir, seed, Some(pace))
}

/// The TUI: the picker, or one scenario. Exit 1 when an autoplayed run ended with an
/// expectation not met, 2 when the scenario file is invalid.
fn run_tui(
    scenario: Option<PathBuf>,
    data_dir: PathBuf,
    seed: Option<u64>,
    autoplay: Option<Duration>,
) -> ExitCode {
    use cabaret::tui::{Start, TuiOptions};
    let start = match scenario {
        None => Start::Picker(cabaret::tui::picker::default_folder()),
        Some(path) => match cabaret::domain::scenario::load(&path) {
            Ok(scenario) => Start::Scenario(Box::new(scenario)),
            Err(error) => {
                eprintln!("cabaret: {error}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        },
    };
    let mut options = match TuiOptions::new(start, data_dir) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("cabaret: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    options.seed = seed;
    options.autoplay = autoplay;
    // Traces go to stderr, which the TUI sends to its log before it draws anything.
    init_tracing();
    match cabaret::tui::run(options) {
        Ok(Some(false)) if autoplay.is_some() => ExitCode::from(EXIT_FAILED),
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cabaret: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn run_explore(data_dir: &DataDir, lanes: Vec<Lane>, seed: Option<u64>, json: bool) -> ExitCode {
    let mut stderr = quiet_stderr(data_dir);
    let layout = data_dir.run_named("explore");
    match cabaret::faces::explore::explore(layout, &all_if_empty(lanes), seed.unwrap_or(1)) {
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
        print!("{}", text());
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
    if !data_dir.is_dir() {
        eprintln!("cabaret: {} is not a directory", data_dir.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let mut stderr = quiet_stderr(&DataDir::new(&data_dir));
    match cabaret::faces::check::check(&data_dir, &cabaret::stores::supervisor::default_binary()) {
        Ok(report) => {
            print!("{}", report.text);
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
    let problems = storm::problems(
        options.request_count,
        options.concurrency,
        options.crash_rate,
        options.fault_rate,
    );
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
        return match cabaret::tui::storm_view::run(options) {
            Ok(Some(result)) => {
                print!("{}", storm::storm_text(&result));
                ExitCode::SUCCESS
            }
            Ok(None) => ExitCode::from(EXIT_FAILED),
            Err(error) => failed(&mut stderr, error),
        };
    }
    match storm::storm(&options, sink) {
        Ok(result) => print_result(&mut stderr, json, &result, || storm::storm_text(&result)),
        Err(error) => failed(&mut stderr, error),
    }
}

fn run_bench(data_dir: &DataDir, concurrency: u32, seed: u64, json: bool) -> ExitCode {
    use cabaret::faces::bench::{self, BenchOptions};
    let problems = cabaret::faces::storm::problems(1, concurrency, 0.0, 0.0);
    if !problems.is_empty() {
        for problem in problems {
            eprintln!("cabaret: {problem}");
        }
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let mut stderr = quiet_stderr(data_dir);
    let options = BenchOptions {
        layout: data_dir.run_named("bench"),
        concurrency,
        seed,
    };
    let say = |line: &str| {
        let _ = writeln!(stderr, "bench: {line}");
    };
    let measured = bench::bench(&options, say);
    match measured {
        Ok(report) => print_result(&mut stderr, json, &report, || bench::bench_text(&report)),
        Err(error) => failed(&mut stderr, error),
    }
}
