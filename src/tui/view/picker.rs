//! The scenario picker: a banner, then each scenario file with its title, its one-line
//! summary and its size (or why it cannot be played), the selected one highlighted.

use super::super::app::{App, MessageKind};
use super::super::picker::PickerEntry;
use super::super::strings;
use super::big_text::{self, BigText};
use super::help;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

/// The summary's rows at most (it is one sentence; narrow screens wrap it).
const SUMMARY_LINES_MAX: usize = 2;

pub(crate) fn render_picker(app: &App, area: Rect, buffer: &mut Buffer) {
    let [banner_area, status_area, list_area, help_area] = Layout::vertical([
        Constraint::Length(big_text::HEIGHT + 2),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_banner(app, banner_area, buffer);
    render_status(app, status_area, buffer);
    render_list(app, list_area, buffer);
    help::render_help_bar(app.theme, help::PICKER_BAR, help_area, buffer);
}

fn render_banner(app: &App, area: Rect, buffer: &mut Buffer) {
    let [_, big_area, tagline_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(big_text::HEIGHT),
        Constraint::Length(1),
    ])
    .areas(area);
    let banner = BigText {
        text: strings::APP_BANNER,
        style: app.theme.big_title(),
    };
    let big_area = big_area.inner(Margin::new(2, 0));
    (&banner).render(big_area, buffer);
    let name_x = big_area.x + big_text::width(strings::APP_BANNER) + 3;
    let name_area = Rect {
        x: name_x.min(big_area.right()),
        y: big_area.y + 1,
        width: big_area.right().saturating_sub(name_x),
        height: 1,
    };
    Paragraph::new(Line::styled(strings::APP_TITLE, app.theme.title())).render(name_area, buffer);
    Paragraph::new(Line::styled(
        format!("  {}", strings::APP_TAGLINE),
        app.theme.dim(),
    ))
    .render(tagline_area, buffer);
}

fn render_status(app: &App, area: Rect, buffer: &mut Buffer) {
    let line = match (app.current_message(), &app.picker.entries) {
        (Some(message), _) => {
            let style = match message.kind {
                MessageKind::Info => app.theme.title(),
                MessageKind::Problem => app.theme.problem(),
            };
            Line::styled(format!("  {}", message.text), style)
        }
        (None, None) => Line::styled(format!("  {}", strings::PICKER_READING), app.theme.dim()),
        (None, Some(Err(error))) => Line::styled(format!("  {error}"), app.theme.problem()),
        (None, Some(Ok(_))) => Line::default(),
    };
    Paragraph::new(line)
        .wrap(Wrap { trim: true })
        .render(area, buffer);
}

fn render_list(app: &App, area: Rect, buffer: &mut Buffer) {
    let count = app.picker_entries().map_or(0, <[PickerEntry]>::len);
    let mut title = format!(" {} ", strings::PICKER_TITLE);
    if count > 0 {
        title.push_str(&strings::picker_position(app.picker.selected + 1, count));
        title.push(' ');
    }
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(app.theme.border())
        .title(Span::styled(title, app.theme.heading()));
    let inner = block.inner(area).inner(Margin::new(1, 0));
    block.render(area, buffer);
    let Some(entries) = app.picker_entries() else {
        return;
    };
    if entries.is_empty() {
        Paragraph::new(Line::styled(strings::PICKER_EMPTY, app.theme.dim())).render(inner, buffer);
        return;
    }
    let width = usize::from(inner.width);
    let blocks: Vec<Vec<Line<'static>>> = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| entry_lines(app, entry, index == app.picker.selected, width))
        .collect();
    let lines = scrolled(blocks, app.picker.selected, usize::from(inner.height));
    Paragraph::new(lines).render(inner, buffer);
}

/// The entries that fit in `height` rows, starting early enough that the selected one
/// is whole on screen.
fn scrolled(blocks: Vec<Vec<Line<'static>>>, selected: usize, height: usize) -> Vec<Line<'static>> {
    let mut first = selected.min(blocks.len().saturating_sub(1));
    let mut used = blocks.get(first).map_or(0, Vec::len);
    while first > 0 && used + blocks[first - 1].len() <= height {
        first -= 1;
        used += blocks[first].len();
    }
    blocks
        .into_iter()
        .skip(first)
        .flatten()
        .take(height)
        .collect()
}

fn entry_lines(app: &App, entry: &PickerEntry, selected: bool, width: usize) -> Vec<Line<'static>> {
    let marker = if selected { "▶ " } else { "  " };
    let title_style = if selected {
        app.theme.selected()
    } else {
        app.theme.title()
    };
    match &entry.scenario {
        Ok(scenario) => {
            let mut lines = vec![Line::from(vec![
                Span::styled(marker, app.theme.title()),
                Span::styled(format!(" {} ", scenario.title), title_style),
            ])];
            let summary =
                crate::faces::transcript::wrap(&scenario.summary, width.saturating_sub(4));
            lines.extend(
                summary
                    .into_iter()
                    .take(SUMMARY_LINES_MAX)
                    .map(|line| Line::from(format!("    {line}"))),
            );
            lines.push(Line::styled(
                format!(
                    "    {} · {}",
                    entry.file_name(),
                    strings::picker_entry_detail(scenario.lanes.len(), scenario.steps.len())
                ),
                app.theme.dim(),
            ));
            lines
        }
        Err(error) => vec![
            Line::from(vec![
                Span::styled(marker, app.theme.title()),
                Span::styled(format!(" {} ", entry.file_name()), title_style),
            ]),
            Line::styled(
                format!("    {} {error}", strings::PICKER_INVALID),
                app.theme.problem(),
            ),
            Line::default(),
        ],
    }
}
