//! The scenario screen's header (title, step n of m, TigerBeetle's state, the seed; a
//! large title where there is room) and its status line (the wait in progress with its
//! time, else a message or a hint; autoplay and which lanes are shown).

use super::super::app::{App, MessageKind, RunState, Stage};
use super::super::strings;
use super::big_text::{self, BigText};
use crate::stores::supervisor::ServerState;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use std::time::Duration;

/// The height from which a big title is drawn: below it the lanes need every row.
const BIG_TITLE_MIN_HEIGHT: u16 = 34;
/// The width from which the program's name precedes the scenario's title.
const APP_TITLE_MIN_WIDTH: u16 = 110;
/// A move or a wait shorter than this shows no line of its own (it would only flicker).
const BUSY_SHOWN_AFTER: Duration = Duration::from_millis(150);
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub(crate) fn big_title_fits(title: &str, area: Rect) -> bool {
    area.height >= BIG_TITLE_MIN_HEIGHT && big_text::width(title) + 2 <= area.width
}

fn server_style(app: &App, state: ServerState) -> Style {
    match state {
        ServerState::Ready => app.theme.right(),
        ServerState::Starting => app.theme.held(),
        ServerState::Paused => app.theme.severity(crate::domain::verdict::Severity::Alert),
        ServerState::Down => app.theme.problem(),
    }
}

fn step_text(stage: &Stage) -> String {
    let (number, count) = match &stage.report {
        Some(report) => (report.step_number, report.step_count),
        None => (0, stage.scenario.steps.len()),
    };
    let mut text = strings::step_of(number, count);
    if stage.finished {
        text.push_str(" · finished");
    }
    if stage.replayed {
        text.push_str(" · ");
        text.push_str(strings::REPLAYED);
    }
    text
}

// Over 70 lines: the header is one row of spans laid out left to right, best read in order.
pub(crate) fn render_header(
    app: &App,
    stage: &Stage,
    big_title: bool,
    area: Rect,
    buffer: &mut Buffer,
) {
    let line_area = if big_title {
        let [_, title_area, _, line_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(big_text::HEIGHT),
            Constraint::Length(0),
            Constraint::Length(1),
        ])
        .areas(area);
        let title = BigText {
            text: &stage.scenario.title,
            style: app.theme.big_title(),
        };
        title.render(title_area.inner(ratatui::layout::Margin::new(1, 0)), buffer);
        line_area
    } else {
        area
    };
    let separator = Span::styled(" │ ", app.theme.dim());
    let mut right = Line::from(vec![
        Span::styled(step_text(stage), app.theme.title()),
        separator.clone(),
        Span::styled(
            match stage
                .report
                .as_ref()
                .and_then(|report| report.record_exit.as_ref())
            {
                Some(how) => how.clone(),
                None => strings::server_state(stage.server.name()),
            },
            server_style(app, stage.server),
        ),
    ]);
    if stage.replicas.len() > 1 {
        let up = crate::domain::cluster::replicas_up(&stage.replicas);
        right.push_span(Span::raw(" "));
        right.push_span(Span::styled(
            strings::replicas_up(up, stage.replicas.len()),
            server_style(app, stage.server),
        ));
    }
    right.extend([
        separator.clone(),
        Span::raw(strings::seed(stage.seed)),
        Span::raw(" "),
    ]);
    let right_width = right.width() as u16;
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_width)]).areas(line_area);
    let mut left = vec![Span::raw(" ")];
    if area.width >= APP_TITLE_MIN_WIDTH {
        left.push(Span::styled(strings::APP_TITLE, app.theme.dim()));
        left.push(separator);
    }
    left.push(Span::styled(
        stage.scenario.title.clone(),
        app.theme.title(),
    ));
    Paragraph::new(Line::from(left)).render(left_area, buffer);
    Paragraph::new(right)
        .alignment(Alignment::Right)
        .render(right_area, buffer);
}

/// What the status line says on its left: the wait, else a message, else a hint.
fn status_left(app: &App, stage: &Stage) -> Line<'static> {
    let lasting_wait = app
        .waiting
        .as_ref()
        .filter(|waiting| app.now.saturating_duration_since(waiting.since) >= BUSY_SHOWN_AFTER);
    if let Some(waiting) = lasting_wait {
        let elapsed = app.now.saturating_duration_since(waiting.since);
        let frame = (elapsed.as_millis() / 100) as usize % SPINNER.len();
        return Line::from(vec![
            Span::styled(format!(" {} ", SPINNER[frame]), app.theme.held()),
            Span::styled(
                strings::waiting(&waiting.what, elapsed, waiting.timeout),
                app.theme.held(),
            ),
        ]);
    }
    if let Some((what, since)) = app.busy_with() {
        let elapsed = app.now.saturating_duration_since(since);
        if elapsed >= BUSY_SHOWN_AFTER {
            let frame = (elapsed.as_millis() / 100) as usize % SPINNER.len();
            return Line::from(vec![
                Span::styled(format!(" {} ", SPINNER[frame]), app.theme.held()),
                Span::styled(strings::busy(what, elapsed), app.theme.held()),
            ]);
        }
    }
    if let Some(message) = app.current_message() {
        let style = match message.kind {
            MessageKind::Info => app.theme.title(),
            MessageKind::Problem => app.theme.problem(),
        };
        return Line::styled(format!(" {}", message.text), style);
    }
    let hint = match stage.state {
        RunState::Starting => strings::HINT_STARTING,
        RunState::Failed(_) => strings::HINT_FAILED,
        RunState::Running if stage.finished => strings::HINT_FINISHED,
        RunState::Running if stage.holding => strings::HINT_HELD,
        RunState::Running => strings::HINT_READY,
    };
    Line::styled(format!(" {hint}"), app.theme.dim())
}

/// Autoplay, when it is on (the help bar says how to turn it on).
fn status_right(app: &App) -> Line<'static> {
    if !app.autoplay.on {
        return Line::default();
    }
    Line::from(vec![
        Span::styled(
            strings::autoplay(app.autoplay.on, app.autoplay.pace),
            app.theme.held(),
        ),
        Span::raw(" "),
    ])
}

pub(crate) fn render_status(app: &App, stage: &Stage, area: Rect, buffer: &mut Buffer) {
    let right = status_right(app);
    let right_width = right.width() as u16;
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_width)]).areas(area);
    Paragraph::new(status_left(app, stage)).render(left_area, buffer);
    Paragraph::new(right)
        .alignment(Alignment::Right)
        .render(right_area, buffer);
}
