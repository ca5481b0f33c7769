//! `cabaret storm --tui`: the storm on screen for the stage, one bar per lane growing as
//! its requests end, split by what the callers heard, with the safety violations once
//! every user has been checked. A face of its own: the storm runs on a thread of its own
//! and sends its progress here; `q` stops it early (the requests in flight end first,
//! then every worker and TigerBeetle, its data file included).

use crate::domain::lane::Lane;
use crate::engine::storm::{LaneCounts, StormProgress, StormResult};
use crate::faces::storm::{StormOptions, storm_until};
use crossterm::event::{self, Event as TerminalEvent, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How long the screen waits for a key before it looks at the storm again.
const TICK: Duration = Duration::from_millis(100);
/// A bound on the progress messages waiting for the screen (older ones are dropped).
const PROGRESS_QUEUE_MAX: usize = 16;

/// What the screen shows.
#[derive(Clone, Debug, Default)]
pub(crate) struct StormScreen {
    pub(crate) progress: Option<StormProgress>,
    pub(crate) result: Option<StormResult>,
    pub(crate) error: Option<String>,
    pub(crate) stopping: bool,
    /// What the storm was asked for (the heading's second and third lines).
    pub(crate) setup: [String; 2],
}

/// The storm's set-up in two lines of about 80 columns at most: what the audience needs
/// to read the bars.
fn setup_lines(options: &StormOptions) -> [String; 2] {
    let percent = |rate: f64| format!("{}%", (rate * 1000.0).round() / 10.0);
    let (batches, caught) = if options.batch > 1 {
        (
            format!("batches of up to {}", options.batch),
            " (a crash catches its whole batch)",
        )
    } else {
        ("one request at a time".to_string(), "")
    };
    let processes = if options.concurrency == 1 {
        "process"
    } else {
        "processes"
    };
    [
        format!(
            "{} requests per lane, {} worker {processes} per lane, {batches}",
            options.request_count, options.concurrency
        ),
        format!(
            "crashes at {} of requests{caught}, faults on {}; seed {}",
            percent(options.crash_rate),
            percent(options.fault_rate),
            options.seed
        ),
    ]
}

/// The parts of a bar, in order, with the colors and words that name them.
const PARTS: [(&str, Color); 6] = [
    ("created", Color::Green),
    ("pending", Color::Cyan),
    ("rejected", Color::Magenta),
    ("failed", Color::Yellow),
    ("unknown", Color::LightBlue),
    ("crashed", Color::Red),
];

fn part_counts(counts: &LaneCounts) -> [u64; 6] {
    [
        counts.created,
        counts.pending,
        counts.rejected,
        counts.failed,
        counts.unknown,
        counts.crashed,
    ]
}

/// Draws the screen: a heading, a bar per lane, and the result once there is one.
pub(crate) fn render(frame: &mut Frame, screen: &StormScreen) {
    let area = frame.area();
    let lanes: Vec<(Lane, LaneCounts)> = match (&screen.result, &screen.progress) {
        (Some(result), _) => result
            .lanes
            .iter()
            .map(|lane| (lane.lane, lane.counts.clone()))
            .collect(),
        (None, Some(progress)) => progress.lanes.clone(),
        (None, None) => Vec::new(),
    };
    let rows = Layout::vertical([
        Constraint::Length(5),
        Constraint::Length(lanes.len() as u16 * 2 + 2),
        Constraint::Min(0),
    ])
    .split(area);
    frame.render_widget(Paragraph::new(heading(screen)), rows[0]);
    let total = screen
        .progress
        .as_ref()
        .map(|progress| progress.request_count)
        .or(screen.result.as_ref().map(|result| result.request_count))
        .unwrap_or(1)
        .max(1);
    let block = Block::default().borders(Borders::ALL).title(" lanes ");
    let inner = block.inner(rows[1]);
    frame.render_widget(block, rows[1]);
    let mut lines = Vec::new();
    for (lane, counts) in &lanes {
        lines.push(bar_line(*lane, counts, total, inner.width));
        lines.push(counts_line(counts, inner.width, total));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    frame.render_widget(Paragraph::new(footer(screen)), rows[2]);
}

fn heading(screen: &StormScreen) -> Vec<Line<'static>> {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::from(Span::styled("Storm", bold))];
    lines.extend(screen.setup.iter().map(|line| Line::from(line.clone())));
    let status = match (&screen.error, &screen.result, &screen.progress) {
        (Some(_), _, _) if screen.stopping => {
            "stopped before its end (q): every worker and TigerBeetle ended, its data file deleted"
                .to_string()
        }
        (Some(error), _, _) => format!("stopped: {error}"),
        (None, Some(result), _) => format!(
            "done: {} requests per lane in {:.1} s, then a recovery round and two checks of every user",
            result.request_count, result.seconds
        ),
        (None, None, Some(progress)) => format!(
            "{:.1} s, {}{}",
            progress.elapsed.as_secs_f64(),
            progress.phase,
            if screen.stopping {
                " (stopping…)"
            } else {
                ""
            }
        ),
        (None, None, None) => "starting…".to_string(),
    };
    lines.push(Line::from(status));
    lines
}

/// The column of the lanes' names: the longest (`record-first-read-record`) and a space.
const NAME_WIDTH: usize = 25;

/// One lane's bar: its name, then one run of cells per part, as long as its share of the
/// lane's requests.
fn bar_line(lane: Lane, counts: &LaneCounts, total: u64, width: u16) -> Line<'static> {
    let bar_width = (width as usize).saturating_sub(NAME_WIDTH + 14).max(10) as u64;
    let mut spans = vec![Span::raw(format!("{:<NAME_WIDTH$}", lane.name()))];
    let mut used = 0;
    for ((_, color), count) in PARTS.iter().zip(part_counts(counts)) {
        let cells = (count * bar_width / total).min(bar_width - used);
        used += cells;
        spans.push(Span::styled(
            "█".repeat(cells as usize),
            Style::new().fg(*color),
        ));
    }
    spans.push(Span::raw("·".repeat((bar_width - used) as usize)));
    spans.push(Span::raw(format!(" {:>6}/{total}", counts.requests)));
    Line::from(spans)
}

/// What the callers of a lane heard, part by part, then the SIGKILLs its workers took
/// (a crash catches a whole batch: "crashed" counts requests, "kills" processes). Under
/// the bar where it fits; moved left as far as it must to fit a narrower screen, by the
/// same amount in every lane and all along the storm (counted with every number as wide
/// as `total`), so the words never jump.
fn counts_line(counts: &LaneCounts, width: u16, total: u64) -> Line<'static> {
    let mut items: Vec<(String, Style)> = PARTS
        .iter()
        .zip(part_counts(counts))
        .map(|((name, color), count)| (format!("{name} {count}"), Style::new().fg(*color)))
        .collect();
    items.push((
        format!("kills {}", counts.kills),
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    ));
    let widest_number = total.to_string().len();
    let length: usize = PARTS
        .iter()
        .map(|(name, _)| *name)
        .chain(["kills"])
        .map(|name| name.len() + 1 + widest_number + 2)
        .sum();
    let indent = NAME_WIDTH.min((width as usize).saturating_sub(length));
    let mut spans = vec![Span::raw(" ".repeat(indent))];
    for (text, style) in items {
        spans.push(Span::styled(text, style));
        spans.push(Span::raw("  "));
    }
    Line::from(spans)
}

fn footer(screen: &StormScreen) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(result) = &screen.result {
        lines.push(Line::from(
            "safety violations after the recovery round, every user checked in the real stores:",
        ));
        for lane in &result.lanes {
            let errors = &lane.after_recovery.errors;
            let text = if errors.is_empty() {
                "none".to_string()
            } else {
                errors
                    .iter()
                    .map(|(kind, count)| format!("{kind} {count}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            lines.push(Line::from(format!(
                "  {:<NAME_WIDTH$}{text}",
                lane.lane.name()
            )));
        }
    }
    let keys = if screen.result.is_some() || screen.error.is_some() {
        "q quit"
    } else {
        "q stop the storm"
    };
    lines.push(Line::from(""));
    lines.push(Line::from(keys));
    lines
}

/// The storm on the real terminal, until it ends and the user quits (or stops it).
/// Returns its result, or `None` when stopped early.
pub fn run(options: StormOptions) -> Result<Option<StormResult>, String> {
    let cancel = Arc::new(AtomicBool::new(false));
    let (sender, progress) = mpsc::sync_channel::<StormProgress>(PROGRESS_QUEUE_MAX);
    let storm_cancel = Arc::clone(&cancel);
    let setup = setup_lines(&options);
    let storm = std::thread::Builder::new()
        .name("storm".to_string())
        .spawn(move || {
            let sink = Box::new(move |progress: &StormProgress| {
                let _ = sender.try_send(progress.clone());
            });
            storm_until(&options, Some(sink), storm_cancel)
        })
        .map_err(|error| format!("starting the storm: {error}"))?;
    let mut terminal =
        ratatui::try_init().map_err(|error| format!("opening the terminal: {error}"))?;
    let mut screen = StormScreen {
        setup,
        ..StormScreen::default()
    };
    let mut storm = Some(storm);
    let outcome = loop {
        while let Ok(update) = progress.try_recv() {
            screen.progress = Some(update);
        }
        if storm.as_ref().is_some_and(|thread| thread.is_finished()) {
            match storm.take().map(|thread| thread.join()) {
                Some(Ok(Ok(result))) => screen.result = Some(result),
                Some(Ok(Err(error))) => screen.error = Some(error.to_string()),
                _ => screen.error = Some("the storm thread panicked".to_string()),
            }
        }
        if let Err(error) = terminal.draw(|frame| render(frame, &screen)) {
            break Err(format!("drawing: {error}"));
        }
        let quit = match event::poll(TICK) {
            Ok(true) => matches!(event::read(), Ok(TerminalEvent::Key(key))
                if key.kind == KeyEventKind::Press
                    && (matches!(key.code, KeyCode::Char('q') | KeyCode::Esc)
                        || key.code == KeyCode::Char('c')
                            && key.modifiers.contains(KeyModifiers::CONTROL))),
            Ok(false) => false,
            Err(error) => break Err(format!("reading the terminal: {error}")),
        };
        if quit {
            if storm.is_none() {
                break Ok(());
            }
            cancel.store(true, Ordering::Relaxed);
            screen.stopping = true;
        }
    };
    ratatui::restore();
    // A storm still running (the screen failed) is stopped and waited for: it ends every
    // worker and TigerBeetle, and deletes the data file.
    cancel.store(true, Ordering::Relaxed);
    if let Some(thread) = storm {
        let _ = thread.join();
    }
    outcome.map(|()| screen.result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// The screen drawn at `width` × 20, row by row.
    fn rows_at(screen: &StormScreen, width: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, 20)).expect("a test terminal");
        terminal.draw(|frame| render(frame, screen)).expect("draws");
        let buffer = terminal.backend().buffer();
        (0..20)
            .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect())
            .collect()
    }

    /// Goal: each lane's bar grows with its ended requests, split by what callers heard,
    /// with its counts and SIGKILLs in words under it, and the set-up in the heading, at
    /// a stage's width and at 80 columns. Method: draw a progress with three lanes.
    #[test]
    fn each_lane_has_a_bar_that_grows_with_its_requests() {
        let counts = |created, crashed| LaneCounts {
            requests: created + crashed,
            created,
            crashed,
            // A crash catches a batch of up to 10.
            kills: crashed.div_ceil(10),
            ..LaneCounts::default()
        };
        let screen = StormScreen {
            progress: Some(StormProgress {
                request_count: 100,
                elapsed: Duration::from_secs(3),
                phase: "requests".to_string(),
                lanes: vec![
                    (Lane::Durable, counts(50, 0)),
                    (Lane::RecordFirst, counts(90, 10)),
                    (Lane::RecordFirstReadRecord, counts(25, 0)),
                ],
            }),
            setup: setup_lines(&StormOptions {
                layout: crate::engine::layout::RunLayout::new(std::path::Path::new("unused")),
                lanes: vec![
                    Lane::Durable,
                    Lane::RecordFirst,
                    Lane::RecordFirstReadRecord,
                ],
                request_count: 100,
                concurrency: 1,
                batch: 10,
                crash_rate: 0.05,
                fault_rate: 0.05,
                seed: 1,
            }),
            ..StormScreen::default()
        };
        let rows = rows_at(&screen, 100);
        let durable = rows
            .iter()
            .find(|row| row.contains("durable "))
            .expect("a durable row");
        let record_first = rows
            .iter()
            .find(|row| row.contains("record-first "))
            .expect("a record-first row");
        let cells = |row: &str| row.matches('█').count();
        assert!(durable.contains("50/100"), "{durable}");
        assert!(record_first.contains("100/100"), "{record_first}");
        assert_eq!(
            cells(record_first),
            2 * cells(durable),
            "{durable}\n{record_first}"
        );
        // The longest name still leaves a space before its bar.
        let tagged = rows
            .iter()
            .find(|row| row.contains("record-first-read-record █"))
            .expect("a record-first-read-record row, its name apart from its bar");
        assert!(tagged.contains("25/100"), "{tagged}");
        assert_eq!(
            rows[1].trim_end(),
            "100 requests per lane, 1 worker process per lane, batches of up to 10"
        );
        assert_eq!(
            rows[2].trim_end(),
            "crashes at 5% of requests (a crash catches its whole batch), faults on 5%; seed 1"
        );
        assert_eq!(rows[3].trim_end(), "3.0 s, requests");
        assert!(rows.iter().any(|row| row.contains("q stop the storm")));
        for width in [100, 80] {
            let rows = rows_at(&screen, width);
            assert!(
                rows.iter().any(|row| row.contains("crashed 10  kills 1")),
                "{width}:\n{}",
                rows.join("\n")
            );
        }
    }
}
