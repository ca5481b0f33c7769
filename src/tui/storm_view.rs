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
    /// What the storm was asked for (see `setup_lines`).
    pub(crate) setup: Vec<String>,
}

/// The storm's set-up, in lines of about 80 columns at most: what the audience needs to
/// read the bars. The first follows the title on its line.
fn setup_lines(options: &StormOptions) -> Vec<String> {
    let percent = |rate: f64| format!("{}%", (rate * 1000.0).round() / 10.0);
    let batches = if options.batch > 1 {
        format!("batches of up to {}", options.batch)
    } else {
        "one request at a time".to_string()
    };
    let processes = if options.concurrency == 1 {
        "process"
    } else {
        "processes"
    };
    let mut lines = vec![
        format!(
            "{} requests per lane, {} worker {processes} per lane, {batches}",
            options.request_count, options.concurrency
        ),
        format!(
            "crash chance {} per request, {} of requests under a store fault, seed {}",
            percent(options.crash_rate),
            percent(options.fault_rate),
            options.seed
        ),
    ];
    if options.batch > 1 {
        lines.push(
            "a crash catches its whole batch: \"crashed\" counts requests, \"kills\" SIGKILLs"
                .to_string(),
        );
    }
    lines
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

/// Draws the screen: a heading, a bar per lane, and the result once there is one. Each
/// lane's counts in words go under its bar where the screen is tall enough for them and
/// the result; else the bars stand alone, so the verdicts and the keys show down to
/// 80 × 24 with seven lanes.
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
    let heading = heading(screen);
    let footer = footer(screen);
    let lane_count = lanes.len() as u16;
    let fixed = heading.len() as u16 + footer.len() as u16 + 2;
    let with_counts = area.height >= fixed + 2 * lane_count;
    let rows_per_lane = if with_counts { 2 } else { 1 };
    let rows = Layout::vertical([
        Constraint::Length(heading.len() as u16),
        Constraint::Length(lane_count * rows_per_lane + 2),
        Constraint::Min(0),
    ])
    .split(area);
    frame.render_widget(Paragraph::new(heading), rows[0]);
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
        if with_counts {
            lines.push(counts_line(counts, inner.width, total));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
    frame.render_widget(Paragraph::new(footer), rows[2]);
}

fn heading(screen: &StormScreen) -> Vec<Line<'static>> {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut setup = screen.setup.iter();
    let mut lines = vec![Line::from(vec![
        Span::styled("Storm", bold),
        Span::raw(
            setup
                .next()
                .map(|line| format!("  {line}"))
                .unwrap_or_default(),
        ),
    ])];
    lines.extend(setup.map(|line| Line::from(line.clone())));
    let status = match (&screen.error, &screen.result, &screen.progress) {
        (Some(_), _, _) if screen.stopping => {
            "stopped before its end (q): every worker and TigerBeetle ended, its data file deleted"
                .to_string()
        }
        (Some(error), _, _) => format!("stopped: {error}"),
        (None, Some(result), _) => format!(
            "done in {:.1} s, then a recovery round and two checks of every user",
            result.seconds
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
    // Each part ends where its running total does, so the parts of a lane whose every
    // request has ended fill the bar to its end.
    let mut used = 0;
    let mut ended = 0;
    for ((_, color), count) in PARTS.iter().zip(part_counts(counts)) {
        ended += count;
        let cells = (ended * bar_width / total).min(bar_width) - used;
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
            "safety violations after recovery, every user checked in the real stores:",
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
        rows_at_size(screen, width, 20)
    }

    /// The screen drawn at `width` × `height`, row by row.
    fn rows_at_size(screen: &StormScreen, width: u16, height: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
        terminal.draw(|frame| render(frame, screen)).expect("draws");
        let buffer = terminal.backend().buffer();
        (0..height)
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
        // A lane whose every request has ended fills its bar; half of them, half of it.
        assert!(!record_first.contains('·'), "{record_first}");
        assert_eq!(
            cells(durable),
            cells(record_first) / 2,
            "{durable}\n{record_first}"
        );
        // The longest name still leaves a space before its bar.
        let tagged = rows
            .iter()
            .find(|row| row.contains("record-first-read-record █"))
            .expect("a record-first-read-record row, its name apart from its bar");
        assert!(tagged.contains("25/100"), "{tagged}");
        let heading = [
            "Storm  100 requests per lane, 1 worker process per lane, batches of up to 10",
            "crash chance 5% per request, 5% of requests under a store fault, seed 1",
            "a crash catches its whole batch: \"crashed\" counts requests, \"kills\" SIGKILLs",
            "3.0 s, requests",
        ];
        for (row, expected) in rows.iter().zip(heading) {
            assert_eq!(row.trim_end(), expected);
        }
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

    /// Goal: the finished storm shows every lane's verdict and the key to quit, on the
    /// smallest stage screen (80 × 24) as on a larger one, where the counts in words stay
    /// under the bars. Method: draw a result of all seven lanes at both sizes.
    #[test]
    fn the_verdicts_and_the_keys_show_on_an_80_by_24_screen() {
        use crate::domain::verdict::ViolationKind;
        use crate::engine::storm::check::Anomalies;
        use crate::engine::storm::{LaneStorm, Resident};
        let lanes: Vec<LaneStorm> = Lane::ALL
            .iter()
            .map(|lane| LaneStorm {
                lane: *lane,
                counts: LaneCounts {
                    requests: 300,
                    created: 280,
                    crashed: 20,
                    kills: 2,
                    ..LaneCounts::default()
                },
                seconds: 10.0,
                requests_per_second: 30.0,
                before_recovery: Anomalies::default(),
                after_recovery: Anomalies {
                    errors: [(ViolationKind::UntraceableAccount, 7)].into(),
                    ..Anomalies::default()
                },
            })
            .collect();
        let screen = StormScreen {
            result: Some(StormResult {
                request_count: 300,
                concurrency: 1,
                batch: 10,
                seed: 1,
                crashes_scheduled: 15,
                fault_windows: Default::default(),
                faulted_requests: 0,
                seconds: 10.0,
                check_seconds: 1.0,
                lanes,
                resident_max: Resident::default(),
            }),
            setup: vec!["300 requests per lane".to_string()],
            ..StormScreen::default()
        };
        let small = rows_at_size(&screen, 80, 24);
        for lane in Lane::ALL {
            let verdict = format!("  {:<NAME_WIDTH$}untraceable-account 7", lane.name());
            assert!(
                small.iter().any(|row| row.trim_end() == verdict),
                "{lane}:\n{}",
                small.join("\n")
            );
        }
        assert!(
            small.iter().any(|row| row.trim_end() == "q quit"),
            "{}",
            small.join("\n")
        );
        assert!(
            !small.iter().any(|row| row.contains("kills")),
            "bars alone at 80 × 24"
        );
        // The status and the verdicts' title are whole at 80 columns.
        for line in [
            "done in 10.0 s, then a recovery round and two checks of every user",
            "safety violations after recovery, every user checked in the real stores:",
        ] {
            assert!(
                small.iter().any(|row| row.trim_end() == line),
                "{line}:\n{}",
                small.join("\n")
            );
        }
        let large = rows_at_size(&screen, 120, 40);
        let counts = large
            .iter()
            .filter(|row| row.contains("created 280"))
            .count();
        assert_eq!(counts, Lane::ALL.len(), "{}", large.join("\n"));
        assert!(large.iter().any(|row| row.trim_end() == "q quit"));
    }
}
