//! `cabaret doctor`, the pre-talk check: one line per check, and each failing check says
//! what to do. It passes only when the talk will work on this machine, in this terminal:
//! the terminal's size and colors, free disk for TigerBeetle's data files and free
//! memory for its servers, `bin/tigerbeetle` of the client's release, loopback ports, a
//! real server started and answering, and every scenario played headless and green.

use crate::domain::scenario::Scenario;
use crate::engine::layout::DataDir;
use crate::faces::play::{self, PlayOptions};
use crate::stores::record::RecordStore;
use crate::stores::supervisor::RecordServer;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The smallest terminal the TUI draws in.
pub(crate) const SCREEN_WIDTH_MIN: u16 = 80;
pub(crate) const SCREEN_HEIGHT_MIN: u16 = 24;
/// The width from which the TUI shows three lanes side by side.
pub(crate) const THREE_LANES_WIDTH: u16 = 100;
/// The size from which the TUI also draws the scenario's title big.
const SCREEN_WIDTH_GOOD: u16 = 120;
const SCREEN_HEIGHT_GOOD: u16 = 40;
/// The TigerBeetle release the client library is built from (its crate's version says
/// `+0.16.78`): the server must be the same.
pub(crate) const CLIENT_RELEASE: &str = "0.16.78";
/// One replica's data file, as measured (`tigerbeetle format --development`).
const DATA_FILE_BYTES: u64 = 1_100 * MIB;
/// One replica's resident memory, as measured.
const SERVER_MEMORY_BYTES: u64 = 1_500 * MIB;
const MIB: u64 = 1024 * 1024;
/// How long `tigerbeetle version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the test server's one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The loopback ports a run needs at most: five replicas (the largest cluster).
const PORT_COUNT: usize = 5;

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Check {
    pub(crate) name: &'static str,
    pub(crate) passed: bool,
    /// What was found; for a failure, also what to do.
    pub(crate) text: String,
}

impl Check {
    fn pass(name: &'static str, text: impl Into<String>) -> Check {
        Check {
            name,
            passed: true,
            text: text.into(),
        }
    }

    fn fail(name: &'static str, text: impl Into<String>) -> Check {
        Check {
            name,
            passed: false,
            text: text.into(),
        }
    }

    /// The check's line: `ok` or `FAIL`, its name, and what it found.
    pub(crate) fn line(&self) -> String {
        let mark = if self.passed { "ok  " } else { "FAIL" };
        format!("{mark}  {:<12} {}\n", self.name, self.text)
    }
}

pub struct DoctorOptions {
    pub data_dir: PathBuf,
    pub binary: PathBuf,
    pub scenarios: Vec<Scenario>,
}

/// Runs every check, printing each line as it is known; returns whether all passed.
/// The checks that need the ones before them (a server needs the binary and the disk)
/// are skipped with a line that says so.
pub fn doctor(options: &DoctorOptions, out: &mut dyn Write) -> bool {
    let replicas = options
        .scenarios
        .iter()
        .map(|scenario| scenario.replicas)
        .max()
        .unwrap_or(1) as u64;
    let mut all = true;
    let mut emit = |check: Check| {
        let _ = out.write_all(check.line().as_bytes());
        let _ = out.flush();
        all &= check.passed;
        check.passed
    };
    emit(terminal());
    let disk_ok = emit(disk(&options.data_dir, replicas));
    emit(memory(replicas));
    let binary_ok = emit(binary(&options.binary));
    let ports_ok = emit(ports());
    if !(disk_ok && binary_ok && ports_ok) {
        emit(Check::fail(
            "server",
            "not tried: fix the checks above first",
        ));
        return false;
    }
    if !emit(server(&options.data_dir, &options.binary)) {
        return false;
    }
    for scenario in &options.scenarios {
        emit(scenario_played(&options.data_dir, scenario));
    }
    all
}

/// The terminal's size in columns and rows: of `/dev/tty`, else of stdout.
fn terminal_size() -> Option<(u16, u16)> {
    use std::os::fd::AsRawFd;
    let tty = std::fs::File::open("/dev/tty").ok();
    let descriptor = tty.as_ref().map_or(1, |file| file.as_raw_fd());
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct we own.
    let result = unsafe { libc::ioctl(descriptor, libc::TIOCGWINSZ, &mut size) };
    (result == 0 && size.ws_col > 0).then_some((size.ws_col, size.ws_row))
}

fn colors() -> Result<String, String> {
    let term = std::env::var("TERM").unwrap_or_default();
    if term.is_empty() || term == "dumb" {
        return Err(format!(
            "TERM is `{term}`: the TUI needs a terminal that draws colors and lines; run it in a terminal emulator (TERM=xterm-256color)"
        ));
    }
    if std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()) {
        return Ok(format!(
            "NO_COLOR is set: no colors (words and reversed text say every state); TERM={term}"
        ));
    }
    let colorterm = std::env::var("COLORTERM").unwrap_or_default();
    let depth = if colorterm == "truecolor" || colorterm == "24bit" {
        "true color"
    } else if term.contains("256color") {
        "256 colors"
    } else {
        "16 colors (the light theme wants 256: try TERM=xterm-256color)"
    };
    Ok(format!("{depth}, TERM={term}"))
}

fn terminal() -> Check {
    const NAME: &str = "terminal";
    let Some((width, height)) = terminal_size() else {
        return Check::fail(
            NAME,
            "not a terminal: run `cabaret doctor` in the terminal you will present from",
        );
    };
    if width < SCREEN_WIDTH_MIN || height < SCREEN_HEIGHT_MIN {
        return Check::fail(
            NAME,
            format!(
                "{width}×{height} is too small: the TUI needs {SCREEN_WIDTH_MIN}×{SCREEN_HEIGHT_MIN} ({THREE_LANES_WIDTH} columns show three lanes); enlarge the window or make the font smaller"
            ),
        );
    }
    let colors = match colors() {
        Ok(colors) => colors,
        Err(problem) => return Check::fail(NAME, format!("{width}×{height}, but {problem}")),
    };
    let room = if width < THREE_LANES_WIDTH {
        " (two lanes at a time: Tab shows the others)"
    } else if width < SCREEN_WIDTH_GOOD || height < SCREEN_HEIGHT_GOOD {
        " (three lanes; the big title needs 120×40)"
    } else {
        ""
    };
    Check::pass(NAME, format!("{width}×{height}{room}, {colors}"))
}

/// The free bytes of the file system that holds `path` (or its nearest existing parent).
fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let existing = path
        .ancestors()
        .find(|ancestor| ancestor.exists())
        .unwrap_or(Path::new("."));
    let existing = if existing.as_os_str().is_empty() {
        Path::new(".")
    } else {
        existing
    };
    crate::stores::disk::free_bytes(existing)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / (1024.0 * MIB as f64))
}

fn disk(data_dir: &Path, replicas: u64) -> Check {
    const NAME: &str = "disk";
    // A reset or a step back starts fresh stores while the old data files are still
    // being deleted: room for one more.
    let needed = (replicas + 1) * DATA_FILE_BYTES;
    match free_bytes(data_dir) {
        Err(error) => Check::fail(
            NAME,
            format!(
                "cannot read the free space of {}: {error}",
                data_dir.display()
            ),
        ),
        Ok(free) if free < needed => Check::fail(
            NAME,
            format!(
                "{} free where {} lives, {} needed (about 1.1 GB per TigerBeetle replica, {replicas} at most, and one more for a reset); free some space or pass --data-dir on a larger disk",
                gib(free),
                data_dir.display(),
                gib(needed)
            ),
        ),
        Ok(free) => Check::pass(
            NAME,
            format!(
                "{} free where {} lives ({} needed)",
                gib(free),
                data_dir.display(),
                gib(needed)
            ),
        ),
    }
}

/// `MemAvailable` of /proc/meminfo, in bytes.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text
        .lines()
        .find(|line| line.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn memory(replicas: u64) -> Check {
    const NAME: &str = "memory";
    let needed = replicas * SERVER_MEMORY_BYTES;
    match available_memory() {
        None => Check::fail(NAME, "cannot read MemAvailable from /proc/meminfo"),
        Some(free) if free < needed => Check::fail(
            NAME,
            format!(
                "{} available, {} needed (about 1.5 GB per TigerBeetle replica, {replicas} at most); close other programs",
                gib(free),
                gib(needed)
            ),
        ),
        Some(free) => Check::pass(
            NAME,
            format!("{} available ({} needed)", gib(free), gib(needed)),
        ),
    }
}

fn binary(binary: &Path) -> Check {
    const NAME: &str = "tigerbeetle";
    if !binary.is_file() {
        return Check::fail(
            NAME,
            format!(
                "{} is missing: run bin/setup to build it (or set CABARET_TIGERBEETLE)",
                binary.display()
            ),
        );
    }
    let spawned = Command::new(binary)
        .arg("version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            return Check::fail(
                NAME,
                format!(
                    "{} does not run ({error}): run bin/setup again",
                    binary.display()
                ),
            );
        }
    };
    match crate::stores::process::wait_for_exit(&mut child, VERSION_TIMEOUT) {
        Ok(Some(_status)) => {}
        _ => {
            let _ = crate::stores::process::kill_and_reap(&mut child, VERSION_TIMEOUT);
            return Check::fail(
                NAME,
                format!(
                    "`{} version` did not answer within {} s: run bin/setup again",
                    binary.display(),
                    VERSION_TIMEOUT.as_secs()
                ),
            );
        }
    }
    let mut output = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.read_to_string(&mut output);
    }
    let version = output
        .trim()
        .trim_start_matches("TigerBeetle version ")
        .to_string();
    let release = version.split('+').next().unwrap_or_default();
    if release != CLIENT_RELEASE {
        return Check::fail(
            NAME,
            format!(
                "{} is release `{version}`, the client library is {CLIENT_RELEASE}: run bin/setup to build the matching server",
                binary.display()
            ),
        );
    }
    Check::pass(NAME, format!("{} is {version}", binary.display()))
}

fn ports() -> Check {
    const NAME: &str = "ports";
    let mut listeners = Vec::new();
    for _port_index in 0..PORT_COUNT {
        match std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)) {
            Ok(listener) => listeners.push(listener),
            Err(error) => {
                return Check::fail(
                    NAME,
                    format!(
                        "cannot listen on 127.0.0.1 ({error}): the servers and their clients need loopback; check the firewall or the container's network"
                    ),
                );
            }
        }
    }
    Check::pass(
        NAME,
        format!("{PORT_COUNT} free loopback ports on 127.0.0.1"),
    )
}

fn server(data_dir: &Path, binary: &Path) -> Check {
    const NAME: &str = "server";
    let started = Instant::now();
    let layout = DataDir::new(data_dir).run_named("doctor");
    let result = (|| -> Result<(), String> {
        let mut server = RecordServer::prepare(&layout.record_dir(), binary)
            .map_err(|error| error.to_string())?;
        let answered = server
            .start()
            .map_err(|error| error.to_string())
            .and_then(|()| lookup_once(&server.address()));
        let destroyed = server.destroy().map_err(|error| error.to_string());
        answered.and(destroyed)
    })();
    let _ = std::fs::remove_dir_all(layout.root());
    match result {
        Ok(()) => Check::pass(
            NAME,
            format!(
                "a TigerBeetle server started and answered a lookup in {:.1} s",
                started.elapsed().as_secs_f64()
            ),
        ),
        Err(error) => Check::fail(NAME, format!("{error}; then run `cabaret doctor` again")),
    }
}

/// One lookup on a fresh client, bounded.
fn lookup_once(address: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("starting a runtime: {error}"))?;
    let store =
        RecordStore::connect(address, REQUEST_TIMEOUT).map_err(|error| error.to_string())?;
    runtime
        .block_on(store.lookup(1))
        .map(drop)
        .map_err(|error| format!("the server did not answer: {error}"))
}

fn scenario_played(data_dir: &Path, scenario: &Scenario) -> Check {
    const NAME: &str = "scenario";
    let started = Instant::now();
    let file = scenario
        .path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let options = PlayOptions {
        files: vec![scenario.path.clone()],
        json: false,
        seed: None,
        data_dir: data_dir.to_path_buf(),
        keep_data: false,
    };
    let mut transcript = Vec::new();
    let played = play::play(vec![scenario.clone()], &options, &mut transcript);
    if let Ok(layout) = DataDir::new(data_dir).run_for(scenario) {
        let _ = std::fs::remove_dir_all(layout.root());
    }
    let seconds = started.elapsed().as_secs_f64();
    match played {
        Ok(true) => Check::pass(NAME, format!("{file} green in {seconds:.1} s")),
        Ok(false) => Check::fail(
            NAME,
            format!(
                "{file}: an expectation did not hold ({seconds:.1} s); `cabaret play {}` shows which",
                scenario.path.display()
            ),
        ),
        Err(error) => Check::fail(
            NAME,
            format!(
                "{file}: {error} ({seconds:.1} s); `cabaret play {}` shows it",
                scenario.path.display()
            ),
        ),
    }
}
