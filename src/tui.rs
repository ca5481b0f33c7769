//! The TUI: a face on the same runs `cabaret play` prints, with no logic of its own about
//! stores or verdicts. `run` owns the real terminal (stderr sent to a log first, panic
//! hooks, signals, restoring on every way out); [`Tui`] is the loop, generic over the
//! ratatui backend so tests drive it with keys on a `TestBackend`.
//!
//! Threads: the UI loop (this one) only draws and routes events; the runner thread owns
//! the engine's run and does every blocking thing; a reader thread turns terminal input
//! into events. They talk over bounded channels of typed events.

pub mod app;
pub mod event;
pub(crate) mod messages;
pub mod picker;
pub(crate) mod recording;
pub(crate) mod session;
#[cfg(test)]
mod snapshots;
pub mod storm_view;
pub mod strings;
pub mod theme;
pub(crate) mod timing;
pub(crate) mod view;

use app::App;
pub use app::{Mode, Start};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use event::{Event, EventQueue};
use messages::{Request, RunnerEvent};
use ratatui::Terminal;
use ratatui::backend::Backend;
use session::{RunnerHandle, RunnerOptions};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use theme::Theme;
use timing::Timing;

/// How often the screen is redrawn with no event: waits count up at this rate.
const TICK: Duration = Duration::from_millis(100);
/// A bound on the events handled before a frame is drawn.
const DRAIN_MAX: usize = 64;
/// How long quitting waits for the runner to stop every process, before it kills them
/// by their pid files and deletes the run's files itself: `q` quits within a second from
/// any state. A run that is cut short this way leaves nothing: its processes are killed
/// by pid file (and die with the program by their parent-death signal anyway), and what
/// a half-made run wrote after the sweep is swept by the next start (its marker).
const QUIT_TIMEOUT: Duration = Duration::from_millis(500);
/// The slowest and fastest autoplay paces `--pace` accepts.
const PACE_MIN: Duration = Duration::from_millis(100);
const PACE_MAX: Duration = Duration::from_secs(60);

/// A failure of the TUI itself (operating errors of a run are shown on screen instead).
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("{action}: {source}")]
    Io {
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{action} {}: {source}", path.display())]
    Path {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the runner thread stopped unexpectedly; see {}", log.display())]
    RunnerStopped { log: PathBuf },
}

fn io_error(action: &'static str) -> impl FnOnce(std::io::Error) -> TuiError {
    move |source| TuiError::Io { action, source }
}

/// What the TUI starts with.
#[derive(Clone, Debug)]
pub struct TuiOptions {
    pub(crate) start: Start,
    /// Where runs keep their files: `<data_dir>/<scenario file stem>`.
    pub(crate) data_dir: PathBuf,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Steps by itself at this pace from the start (`play --tui --pace`).
    pub autoplay: Option<Duration>,
    /// The executable that runs workers (`cabaret worker`).
    pub executable: PathBuf,
    pub theme: Theme,
    /// Writes an asciicast v2 recording of the screen here (`--record`).
    pub record: Option<PathBuf>,
    /// Quits a pace after the verdicts show (`play --tui --then-quit`).
    pub then_quit: bool,
}

impl TuiOptions {
    /// Options for this executable, with the theme the environment asks for.
    pub fn new(start: Start, data_dir: PathBuf) -> Result<Self, TuiError> {
        let executable = std::env::current_exe().map_err(io_error("finding the executable"))?;
        Ok(TuiOptions {
            start,
            data_dir,
            seed: None,
            autoplay: None,
            executable,
            theme: Theme::from_environment(),
            record: None,
            then_quit: false,
        })
    }
}

/// Parses an autoplay pace: `2s`, `1.5s`, `500ms`, or a number of seconds.
pub fn parse_pace(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(number) = text.strip_suffix("ms") {
        (number, 0.001)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a pace (try 2s, 1.5s or 500ms)"))?;
    let seconds = value * scale;
    if !seconds.is_finite() || seconds < PACE_MIN.as_secs_f64() || seconds > PACE_MAX.as_secs_f64()
    {
        return Err(format!(
            "the pace must be between {} ms and {} s",
            PACE_MIN.as_millis(),
            PACE_MAX.as_secs()
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The TUI's loop over one terminal.
pub struct Tui<B: Backend> {
    terminal: Terminal<B>,
    app: App,
    events: EventQueue,
    runner: RunnerHandle,
    timing: Timing,
    data_dir: PathBuf,
    /// Every run directory the runner opened, swept if it does not stop in time.
    run_directories: BTreeSet<crate::engine::layout::RunLayout>,
    quit_deadline: Option<Instant>,
    done: bool,
    /// Something on screen changed since the last frame.
    redraw: bool,
    /// The last frame showed something that moves (a wait's time, a spinner).
    drew_animation: bool,
    frame_at: Instant,
}

impl<B: Backend> Tui<B> {
    /// Starts the runner thread and asks it for the picker's files or the scenario's run.
    pub fn new(terminal: Terminal<B>, options: TuiOptions) -> Result<Self, TuiError> {
        let events = EventQueue::new();
        let runner_options = RunnerOptions {
            data_dir: options.data_dir.clone(),
            seed: options.seed,
            executable: options.executable,
        };
        let runner = RunnerHandle::spawn(runner_options, events.sender())
            .map_err(io_error("starting the runner thread"))?;
        let mut app = App::new(
            options.start,
            options.theme,
            options.autoplay,
            Instant::now(),
        );
        app.autoplay.then_quit = options.then_quit;
        let mut tui = Tui {
            terminal,
            app,
            events,
            runner,
            timing: Timing::from_environment(),
            data_dir: options.data_dir,
            run_directories: BTreeSet::new(),
            quit_deadline: None,
            done: false,
            redraw: true,
            drew_animation: false,
            frame_at: Instant::now(),
        };
        tui.send_requests();
        Ok(tui)
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn terminal(&self) -> &Terminal<B> {
        &self.terminal
    }

    pub fn terminal_mut(&mut self) -> &mut Terminal<B> {
        &mut self.terminal
    }

    pub(crate) fn events_mut(&mut self) -> &mut EventQueue {
        &mut self.events
    }

    /// Whether the loop has ended (quit, and the runner stopped or was swept).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Runs until the user quits and every process is stopped.
    pub(crate) fn run(&mut self) -> Result<(), TuiError> {
        self.draw()?;
        while !self.done {
            let event = self.events.next(TICK);
            self.handle(event);
            // A burst of events (a report and its waits) costs one frame, not one each.
            for _event_index in 0..DRAIN_MAX {
                let Some(event) = self.events.try_next() else {
                    break;
                };
                self.handle(event);
            }
            if self.done {
                break;
            }
            if self.redraw {
                self.draw()?;
            }
        }
        if self.runner_died() {
            return Err(TuiError::RunnerStopped {
                log: self.data_dir.join("cabaret.log"),
            });
        }
        Ok(())
    }

    fn runner_died(&self) -> bool {
        self.runner.is_finished() && !self.app.runner_stopped()
    }

    pub fn draw(&mut self) -> Result<(), TuiError> {
        let app = &self.app;
        let frame = self
            .terminal
            .draw(|frame| {
                frame.render_widget(app, frame.area());
                show_controls_as_text(frame.buffer_mut());
            })
            .map_err(io_error("drawing"))?;
        self.app.screen_width = frame.area.width;
        self.app.screen_height = frame.area.height;
        self.redraw = false;
        self.drew_animation = self.app.is_animating();
        self.frame_at = Instant::now();
        self.timing.frame_drawn();
        Ok(())
    }

    /// Handles one event: keys become requests, the runner's results change the state.
    pub(crate) fn handle(&mut self, event: Event) {
        let now = Instant::now();
        self.app.tick(now);
        // Waits and idle ticks need no frame of their own: a wait shows once it lasts,
        // on the ticks that follow. Fewer frames leave the two cores to the run.
        // Ticks come only when no event does: a stream of events must not stop the clock.
        let tick_due = now.saturating_duration_since(self.frame_at) >= TICK;
        let animating = self.app.is_animating() || self.drew_animation;
        self.redraw |= match &event {
            Event::Tick => animating,
            Event::Runner(RunnerEvent::Waiting(_)) => animating && tick_due,
            _ => true,
        };
        match event {
            Event::Tick | Event::Resize => {}
            Event::Key(key, read_at) => {
                self.app.handle_key(key);
                if self.app.has_requests() {
                    self.timing.key_sent(key_label(key), read_at);
                }
            }
            Event::Terminate if self.app.is_quitting() => self.force_quit(),
            Event::Terminate => self.app.quit(),
            Event::Runner(event) => self.take_runner_event(event),
        }
        self.send_requests();
        self.check_quit(now);
    }

    fn take_runner_event(&mut self, event: RunnerEvent) {
        match &event {
            RunnerEvent::Report { report, .. } => {
                let wrote_record = report.lanes.iter().any(|lane| {
                    lane.events.iter().any(|event| {
                        event.kind == crate::engine::report::TimelineKind::Progress
                            && event.store == Some(crate::worker::protocol::Store::Record)
                    })
                });
                self.timing.result_arrived(wrote_record);
            }
            RunnerEvent::Started { .. } => self.timing.mark("run-started"),
            RunnerEvent::Opened(scenario) => {
                let data_dir = crate::engine::layout::DataDir::new(&self.data_dir);
                if let Ok(layout) = data_dir.run_for(scenario) {
                    self.run_directories.insert(layout);
                }
            }
            _ => {}
        }
        self.app.handle_runner(event);
    }

    /// A key pressed, as the terminal would send it.
    pub fn press(&mut self, code: KeyCode) {
        self.press_key(KeyEvent::new(code, KeyModifiers::NONE));
    }

    pub fn press_key(&mut self, key: KeyEvent) {
        self.handle(Event::Key(key, Instant::now()));
    }

    /// Handles events and draws until `until` holds or `timeout` passes; returns whether
    /// it held. For tests and scripted use.
    pub fn pump_until(
        &mut self,
        timeout: Duration,
        until: impl Fn(&App) -> bool,
    ) -> Result<bool, TuiError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.draw()?;
            if until(&self.app) {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline || self.done {
                return Ok(false);
            }
            let event = self.events.next((deadline - now).min(TICK));
            self.handle(event);
        }
    }

    fn send_requests(&mut self) {
        for request in self.app.take_requests() {
            let quitting = matches!(request, Request::Quit);
            if quitting && self.quit_deadline.is_none() {
                self.quit_deadline = Some(Instant::now() + QUIT_TIMEOUT);
            }
            if self.runner.send(request) {
                continue;
            }
            if quitting {
                self.force_quit();
            } else {
                self.app.request_lost();
            }
        }
    }

    fn check_quit(&mut self, now: Instant) {
        if self.runner_died() {
            // The runner panicked (the panic hook restored the terminal): end the loop.
            self.force_quit();
            return;
        }
        if !self.app.is_quitting() {
            return;
        }
        if self.app.runner_stopped() || self.runner.is_finished() {
            self.done = true;
        } else if self.quit_deadline.is_some_and(|deadline| now >= deadline) {
            self.force_quit();
        }
    }

    /// Ends every process of every run by its pid files and deletes the run's files:
    /// for a runner that did not stop in time, or a second Ctrl-C.
    fn force_quit(&mut self) {
        for directory in &self.run_directories {
            session::sweep_run_directory(directory);
        }
        self.done = true;
    }

    /// Quits and waits (bounded) until every process is stopped.
    pub(crate) fn shutdown(&mut self) {
        if !self.done {
            self.app.quit();
            self.send_requests();
        }
        while !self.done {
            let event = self.events.next(TICK);
            self.handle(event);
        }
        self.runner.reap();
        self.timing.flush();
    }
}

impl<B: Backend> Drop for Tui<B> {
    fn drop(&mut self) {
        // Whatever ends the TUI (a quit, an error, a panic unwinding), no process stays.
        self.shutdown();
    }
}

/// The last guard before the terminal: a cell holding a control character (from a
/// store, a file, an error message) shows it as a visible picture, or drops it, so no
/// escape sequence is ever written raw.
pub(crate) fn show_controls_as_text(buffer: &mut ratatui::buffer::Buffer) {
    for cell in &mut buffer.content {
        let symbol = cell.symbol();
        if !symbol.chars().any(crate::domain::text::is_hostile) {
            continue;
        }
        let printable: String = symbol
            .chars()
            .filter(|character| !crate::domain::text::is_hostile(*character))
            .collect();
        let shown = if printable.is_empty() {
            control_picture(symbol.chars().next().unwrap_or(' ')).to_string()
        } else {
            printable
        };
        cell.set_symbol(&shown);
    }
}

/// The Unicode picture of a C0 control (U+2400 + its code: `␛` for ESC), `␡` for DEL,
/// and `�` for any other character that does not print.
fn control_picture(character: char) -> char {
    match character as u32 {
        code @ 0..=0x1f => char::from_u32(0x2400 + code).unwrap_or('\u{fffd}'),
        0x7f => '\u{2421}',
        _ => '\u{fffd}',
    }
}

fn key_label(key: KeyEvent) -> String {
    match key.code {
        KeyCode::Char(letter) => letter.to_string(),
        other => format!("{other:?}"),
    }
}

/// Opens the TUI on the real terminal and runs it until the user quits. Returns whether
/// the last run's expectations all held, when it ran to its end.
pub fn run(options: TuiOptions) -> Result<Option<bool>, TuiError> {
    std::fs::create_dir_all(&options.data_dir).map_err(|source| TuiError::Path {
        action: "creating the data directory",
        path: options.data_dir.clone(),
        source,
    })?;
    let log = options.data_dir.join("cabaret.log");
    // The TigerBeetle client library writes warnings to fd 2: they go to the log, never
    // over the screen.
    let original_stderr =
        crate::stores::process::redirect_stderr(&log).map_err(|source| TuiError::Path {
            action: "sending stderr to the log",
            path: log.clone(),
            source,
        })?;
    install_panic_hook(&original_stderr, &log);
    let result = run_on_terminal(options);
    restore_stderr(&original_stderr);
    result
}

fn run_on_terminal(options: TuiOptions) -> Result<Option<bool>, TuiError> {
    // The recording's file is made first: a path that cannot be written stops here,
    // before the screen changes.
    let recorder = match &options.record {
        Some(path) => {
            let (width, height) =
                crossterm::terminal::size().map_err(io_error("reading the terminal's size"))?;
            let recorder = recording::Recorder::create(
                std::io::stdout(),
                path,
                width,
                height,
                strings::APP_TITLE,
            )
            .map_err(io_error("creating the recording"))?;
            Some(recorder)
        }
        None => None,
    };
    // ratatui's hook goes in last: on a panic it restores the terminal first, then ours
    // tells the user where the log is.
    let terminal = ratatui::try_init().map_err(io_error("opening the terminal"))?;
    let result = match recorder {
        None => run_loop(terminal, options),
        Some(recorder) => {
            // The same terminal, drawn through the recorder.
            drop(terminal);
            let backend = ratatui::backend::CrosstermBackend::new(recorder);
            match Terminal::new(backend) {
                Ok(terminal) => run_loop(terminal, options),
                Err(error) => Err(io_error("opening the terminal")(error)),
            }
        }
    };
    ratatui::restore();
    let _ = crossterm::execute!(std::io::stdout(), crossterm::cursor::Show);
    result
}

fn run_loop<B: Backend>(
    terminal: Terminal<B>,
    options: TuiOptions,
) -> Result<Option<bool>, TuiError> {
    let mut tui = Tui::new(terminal, options)?;
    tui.events_mut()
        .watch_signals()
        .map_err(io_error("watching signals"))?;
    tui.events_mut()
        .read_terminal()
        .map_err(io_error("reading the terminal"))?;
    let result = tui.run();
    let passed = tui.app().summary().map(|summary| summary.passed);
    drop(tui);
    result.map(|()| passed)
}

/// Our own panic hook, installed before ratatui's: after ratatui has restored the
/// terminal, the message goes to the real stderr (ours is the log) and to the log.
fn install_panic_hook(original_stderr: &std::fs::File, log: &Path) {
    let Ok(terminal_stderr) = original_stderr.try_clone() else {
        return;
    };
    let log = log.to_path_buf();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        use std::io::Write;
        let mut terminal_stderr = &terminal_stderr;
        let _ = writeln!(
            terminal_stderr,
            "cabaret: {info}\ncabaret: stopping every worker and TigerBeetle; details in {}",
            log.display()
        );
        previous(info);
    }));
}

/// Points fd 2 back at the terminal, for the messages `main` prints after the TUI.
fn restore_stderr(original_stderr: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: dup2 onto fd 2 from a descriptor this process owns.
    unsafe {
        libc::dup2(original_stderr.as_raw_fd(), 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_pace_reads_seconds_and_milliseconds() {
        assert_eq!(parse_pace("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_pace("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_pace("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_pace("3"), Ok(Duration::from_secs(3)));
        assert!(parse_pace("fast").is_err());
        assert!(parse_pace("0s").is_err());
        assert!(parse_pace("10ms").is_err());
        assert!(parse_pace("2h").is_err());
    }

    // Goal: no control character of any text drawn reaches the terminal. Method: draw
    // hostile text the way the views do (a paragraph), then the guard, and read the cells.
    #[test]
    fn controls_drawn_on_screen_become_visible_pictures() {
        use ratatui::buffer::Buffer;
        use ratatui::layout::Rect;
        use ratatui::widgets::{Paragraph, Widget};
        let area = Rect::new(0, 0, 30, 1);
        let mut buffer = Buffer::empty(area);
        Paragraph::new("a\u{1b}[2J\u{7}b\u{9b}c").render(area, &mut buffer);
        show_controls_as_text(&mut buffer);
        let shown: String = buffer.content.iter().map(|cell| cell.symbol()).collect();
        assert!(
            !shown.chars().any(crate::domain::text::is_hostile),
            "{shown:?}"
        );
        assert!(shown.contains("[2J"), "{shown:?}");
        assert!(shown.starts_with('a'), "{shown:?}");
    }
}
