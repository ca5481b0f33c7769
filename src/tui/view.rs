//! Drawing: `impl Widget for &App`, pure (no I/O, no mutation, no clock: the app carries
//! the time), split into small `render_*` helpers. The scenario screen is a header, a
//! status line, the narration, the lanes side by side, the verdicts and the help bar.

mod badge;
pub(crate) mod big_text;
mod grid;
mod header;
mod help;
mod lane;
mod picker;
mod picture;

use super::app::{App, Mode, RunState, Screen, Stage, lanes_that_fit};
use super::strings;
use super::theme::Theme;
use crate::engine::report::RunSummary;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

impl Widget for &App {
    fn render(self, area: Rect, buffer: &mut Buffer) {
        buffer.set_style(area, self.theme.base());
        if area.width < strings::MIN_WIDTH || area.height < strings::MIN_HEIGHT {
            render_too_small(self.theme, area, buffer);
            return;
        }
        let screen = match self.mode {
            Mode::Picker => Screen::Picker,
            Mode::Scenario | Mode::Quitting => Screen::Scenario,
            Mode::Help { over } | Mode::Grid { over } => over,
        };
        match (screen, self.stage.as_ref()) {
            (Screen::Scenario, Some(stage)) => render_scenario(self, stage, area, buffer),
            _ => picker::render_picker(self, area, buffer),
        }
        match self.mode {
            Mode::Help { over } => help::render_help(self, over, area, buffer),
            Mode::Grid { .. } => grid::render_grid(self, area, buffer),
            Mode::Quitting => render_quitting(self, area, buffer),
            Mode::Picker | Mode::Scenario => {}
        }
    }
}

fn render_too_small(theme: Theme, area: Rect, buffer: &mut Buffer) {
    let lines: Vec<Line> = strings::too_small(area.width, area.height)
        .into_iter()
        .enumerate()
        .map(|(index, text)| {
            let style = if index == 1 {
                theme.problem()
            } else {
                Style::new()
            };
            Line::styled(text, style)
        })
        .collect();
    let height = (lines.len() as u16 * 2).min(area.height);
    let [_, middle, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(height),
        Constraint::Fill(1),
    ])
    .areas(area);
    Paragraph::new(lines)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .render(middle, buffer);
}

fn render_scenario(app: &App, stage: &Stage, area: Rect, buffer: &mut Buffer) {
    let big_title = header::big_title_fits(&stage.scenario.title, area);
    let header_height = if big_title { big_text::HEIGHT + 2 } else { 1 };
    let narration_height = narration_height(stage, area);
    let verdicts = verdict_line(app.theme, stage);
    let verdict_height = match verdicts.width() {
        0 => 0,
        width if width <= usize::from(area.width) => 1,
        _ => 2,
    };
    let help_height = help::help_bar_height(help::SCENARIO_BAR, area.width);
    let [
        header_area,
        status_area,
        narration_area,
        lanes_area,
        verdict_area,
        help_area,
    ] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Length(1),
        Constraint::Length(narration_height),
        Constraint::Fill(1),
        Constraint::Length(verdict_height),
        Constraint::Length(help_height),
    ])
    .areas(area);
    header::render_header(app, stage, big_title, header_area, buffer);
    header::render_status(app, stage, status_area, buffer);
    render_narration(app.theme, stage, narration_area, buffer);
    match &stage.state {
        RunState::Failed(error) => render_start_failure(app.theme, error, lanes_area, buffer),
        RunState::Starting | RunState::Running => render_lanes(app, stage, lanes_area, buffer),
    }
    Paragraph::new(verdicts)
        .wrap(Wrap { trim: true })
        .render(verdict_area, buffer);
    help::render_help_bar(app.theme, help::SCENARIO_BAR, help_area, buffer);
}

fn narration_lines(stage: &Stage, width: u16) -> Vec<String> {
    // Single line breaks of the file are spaces; blank lines start paragraphs.
    crate::faces::transcript::wrap(&stage.narration.text, usize::from(width.max(1)))
}

/// A title row and the narration, up to a share of the screen that grows with it.
fn narration_height(stage: &Stage, area: Rect) -> u16 {
    let lines_max = match area.height {
        0..30 => 2,
        30..45 => 3,
        _ => 5,
    };
    let lines = narration_lines(stage, area.width.saturating_sub(2)).len() as u16;
    1 + lines.clamp(1, lines_max)
}

fn render_narration(theme: Theme, stage: &Stage, area: Rect, buffer: &mut Buffer) {
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.border())
        .title(Span::styled(
            format!(" {} ", stage.narration.title),
            theme.title(),
        ));
    let inner = block.inner(area);
    block.render(area, buffer);
    let width = inner.width.saturating_sub(2);
    let mut lines = narration_lines(stage, width);
    let shown = usize::from(inner.height);
    if lines.len() > shown && shown > 0 {
        // Cut: the last line shown says so (a taller window shows it all).
        lines.truncate(shown);
        if let Some(last) = lines.last_mut() {
            let kept = usize::from(width).saturating_sub(2);
            *last = format!("{} …", last.chars().take(kept).collect::<String>());
        }
    }
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|line| Line::from(format!(" {line}")))
        .collect();
    Paragraph::new(lines).render(inner, buffer);
}

/// The lanes shown now: all of them when they fit, else a window that Tab moves.
fn visible_lanes(lane_count: usize, offset: usize, width: u16) -> Vec<usize> {
    let shown = lanes_that_fit(width).min(lane_count);
    if shown == lane_count {
        return (0..lane_count).collect();
    }
    (0..shown)
        .map(|index| (offset + index) % lane_count)
        .collect()
}

fn render_lanes(app: &App, stage: &Stage, area: Rect, buffer: &mut Buffer) {
    let indexes = visible_lanes(stage.scenario.lanes.len(), app.lane_offset, area.width);
    if indexes.is_empty() {
        return;
    }
    let lane_count = stage.scenario.lanes.len();
    let constraints = vec![Constraint::Ratio(1, indexes.len() as u32); indexes.len()];
    let areas = Layout::horizontal(constraints).split(area);
    for (&index, &lane_area) in indexes.iter().zip(areas.iter()) {
        let view = lane::LaneView {
            theme: app.theme,
            lane: stage.scenario.lanes[index],
            report: stage
                .report
                .as_ref()
                .and_then(|report| report.lanes.get(index)),
            baseline: stage
                .baseline
                .as_ref()
                .and_then(|report| report.lanes.get(index)),
            timeline: &stage.timelines[index],
            verdict: stage.summary.as_ref().and_then(|summary| {
                summary
                    .lanes
                    .iter()
                    .find(|lane| lane.lane == stage.scenario.lanes[index])
            }),
            position: (indexes.len() < lane_count).then_some((index + 1, lane_count)),
        };
        (&view).render(lane_area, buffer);
    }
}

fn render_start_failure(theme: Theme, error: &str, area: Rect, buffer: &mut Buffer) {
    let block = Block::bordered()
        .border_style(theme.problem())
        .title(Span::styled(
            format!(" {} ", strings::FAILED_TO_START),
            theme.problem(),
        ));
    let lines = vec![
        Line::from(error.to_string()),
        Line::default(),
        Line::styled(strings::HINT_FAILED, theme.title()),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(block)
        .render(area, buffer);
}

fn verdict_spans(theme: Theme, summary: &RunSummary) -> Vec<Span<'static>> {
    let mut spans = vec![Span::styled("Verdicts: ", theme.heading())];
    for lane in &summary.lanes {
        let (word, style) = if lane.verdict == crate::domain::verdict::Verdict::Broken {
            (strings::VERDICT_BROKEN, theme.wrong())
        } else if lane.verdict == crate::domain::verdict::Verdict::Undetermined {
            (strings::VERDICT_UNDETERMINED, theme.held())
        } else {
            (strings::VERDICT_KEPT, theme.right())
        };
        spans.push(Span::raw(format!("{} ", lane.lane.name())));
        spans.push(Span::styled(word, style));
        spans.push(Span::raw("  "));
    }
    if summary.undetermined_steps > 0 {
        spans.push(Span::styled(
            strings::undetermined_steps(summary.undetermined_steps),
            theme.held(),
        ));
        spans.push(Span::raw("  "));
    }
    spans
}

/// The verdicts once the run has ended, and the expectations not met (empty before).
fn verdict_line(theme: Theme, stage: &Stage) -> Line<'static> {
    let mut spans = match &stage.summary {
        Some(summary) => verdict_spans(theme, summary),
        None => Vec::new(),
    };
    let failures = match &stage.summary {
        Some(summary) => summary.failures.as_slice(),
        None => stage.failures.as_slice(),
    };
    match failures {
        [] if stage.summary.is_some() => {
            spans.push(Span::styled(strings::EXPECTATIONS_HELD, theme.right()))
        }
        [] => {}
        [failure] => spans.push(Span::styled(
            strings::expectation_not_met(failure),
            theme.problem(),
        )),
        _ => spans.push(Span::styled(
            strings::expectations_not_met(failures.len()),
            theme.problem(),
        )),
    }
    Line::from(spans)
}

/// A box in the middle of `area`, at most `width` × `height`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn render_quitting(app: &App, area: Rect, buffer: &mut Buffer) {
    let popup = centered(area, 72, 5);
    Clear.render(popup, buffer);
    buffer.set_style(popup, app.theme.base());
    let waiting = app
        .waiting
        .as_ref()
        .map(|waiting| {
            let elapsed = app.now.saturating_duration_since(waiting.since);
            strings::waiting(&waiting.what, elapsed, waiting.timeout)
        })
        .unwrap_or_default();
    let waiting = if waiting.is_empty() {
        app.busy_with()
            .map(|(what, since)| strings::busy(what, app.now.saturating_duration_since(since)))
            .unwrap_or_default()
    } else {
        waiting
    };
    let lines = vec![
        Line::styled(strings::QUITTING, app.theme.title()),
        Line::styled(waiting, app.theme.dim()),
    ];
    Paragraph::new(lines)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .block(Block::bordered().border_style(app.theme.title()))
        .render(popup, buffer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_lanes_wrap_around_when_not_all_fit() {
        assert_eq!(visible_lanes(3, 0, 200), vec![0, 1, 2]);
        assert_eq!(visible_lanes(3, 2, 100), vec![0, 1, 2]);
        assert_eq!(visible_lanes(3, 2, 99), vec![2, 0]);
        assert_eq!(visible_lanes(2, 1, 99), vec![0, 1]);
        assert_eq!(visible_lanes(6, 5, 150), vec![5, 0, 1]);
    }
}
