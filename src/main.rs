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
        #[arg(long, default_value_t = 100)]
        requests: usize,
        /// The chance per request of a crash at a random crash point.
        #[arg(long, default_value_t = 0.2)]
        crash_rate: f64,
        /// The chance per request of a store fault around it.
        #[arg(long, default_value_t = 0.05)]
        fault_rate: f64,
        #[arg(long, value_delimiter = ',')]
        lanes: Vec<Lane>,
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
        Commands::Storm {
            requests,
            crash_rate,
            fault_rate,
            lanes,
            json,
        } => {
            let options = StormOptions {
                layout: data_dir.run_named("storm"),
                lanes: all_if_empty(lanes),
                request_count: requests,
                crash_rate,
                fault_rate,
                seed: cli.seed.unwrap_or(1),
            };
            run_storm(&data_dir, options, json)
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
        .with_writer(|| EscapingLog(std::io::stderr()))
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
    if let Err(reason) = terminal_for_tui() {
        eprintln!("cabaret: {reason}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let start = match scenario {
        None => Start::Picker(cabaret::tui::picker::default_folder()),
        Some(path) => match cabaret::domain::scenario::load(&path) {
            Ok(scenario) => Start::Scenario(Box::new(scenario)),
            Err(error) => {
                eprintln!(
                    "cabaret: {}",
                    cabaret::domain::text::visible(&error.to_string(), false)
                );
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

fn run_storm(data_dir: &DataDir, options: StormOptions, json: bool) -> ExitCode {
    if let Err(problem) = storm_values(&options) {
        eprintln!("cabaret: {problem}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    // The storm's own folder is emptied when it starts: the log lives beside it.
    let mut stderr = quiet_stderr(data_dir);
    match cabaret::faces::storm::storm(&options) {
        Ok(report) => print_result(&mut stderr, json, &report, || {
            cabaret::faces::storm::storm_text(&report)
        }),
        Err(error) => failed(&mut stderr, error),
    }
}

/// Checks the storm's values one by one: each bad value gets its own sentence.
fn storm_values(options: &StormOptions) -> Result<(), String> {
    if options.request_count == 0 {
        return Err("--requests must be above 0".to_string());
    }
    for (flag, rate) in [
        ("--crash-rate", options.crash_rate),
        ("--fault-rate", options.fault_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!(
                "{flag} must be a chance between 0 and 1 (it is {rate})"
            ));
        }
    }
    Ok(())
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
