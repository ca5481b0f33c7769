//! The grid of four that `g` opens over the screen: write order × read source, each
//! corner naming its lane and what it gets right or wrong after a crash between its
//! writes (`crate::domain::lane::CORNERS`; scenario 21 plays it).

use super::super::app::App;
use super::super::strings;
use super::centered;
use crate::domain::lane::CORNERS;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

/// The width of the row heads, then of each column (76 in all: the popup's inside at 80
/// columns). A cell's text is at most two columns narrower than its column, so that
/// cells never touch.
const HEAD_WIDTH: usize = 14;
const COLUMN_WIDTH: usize = 31;
const POPUP_WIDTH: u16 = 78;

fn padded(text: &str, width: usize) -> String {
    format!("{text:<width$}")
}

/// One row of the grid: the lanes' names, then per cell an answer and a traceability
/// line (each with its continuation, when one has one), the row head down the left.
fn row_lines(app: &App, row_index: usize, lines: &mut Vec<Line<'static>>) {
    let theme = app.theme;
    let lanes = CORNERS[row_index];
    let cells = lanes.map(strings::grid_cell);
    let mut row: Vec<Vec<Span<'static>>> = vec![
        lanes
            .iter()
            .map(|lane| Span::styled(padded(lane.name(), COLUMN_WIDTH), theme.title()))
            .collect(),
    ];
    for property in 0..2 {
        let mut first = Vec::new();
        let mut second = Vec::new();
        for cell in &cells {
            let (right, text, more) = cell[property];
            let (mark, style) = if right {
                ("✓ ", theme.right())
            } else {
                ("✗ ", theme.wrong())
            };
            first.push(Span::styled(mark, style));
            first.push(Span::raw(padded(text, COLUMN_WIDTH - 2)));
            second.push(Span::raw(padded(&format!("  {more}"), COLUMN_WIDTH)));
        }
        row.push(first);
        if cells.iter().any(|cell| !cell[property].2.is_empty()) {
            row.push(second);
        }
    }
    let heads = strings::GRID_ROWS[row_index];
    for (line_index, cells) in row.into_iter().enumerate() {
        let head = heads.get(line_index).copied().unwrap_or("");
        let mut spans = vec![Span::styled(padded(head, HEAD_WIDTH), theme.heading())];
        spans.extend(cells);
        lines.push(Line::from(spans));
    }
}

pub(crate) fn render_grid(app: &App, area: Rect, buffer: &mut Buffer) {
    let theme = app.theme;
    let rule = Line::styled("─".repeat(HEAD_WIDTH + 2 * COLUMN_WIDTH), theme.dim());
    let mut lines = vec![Line::styled(strings::GRID_INTRO, theme.dim())];
    let mut heads = vec![Span::raw(padded("", HEAD_WIDTH))];
    for column in strings::GRID_COLUMNS {
        heads.push(Span::styled(padded(column, COLUMN_WIDTH), theme.heading()));
    }
    lines.push(Line::from(heads));
    for row_index in 0..CORNERS.len() {
        lines.push(rule.clone());
        row_lines(app, row_index, &mut lines);
    }
    lines.push(rule);
    lines.extend(
        strings::GRID_FOOTNOTE
            .iter()
            .map(|text| Line::styled(*text, Style::new())),
    );
    let height = lines.len() as u16 + 2;
    let popup = centered(area, POPUP_WIDTH, height);
    Clear.render(popup, buffer);
    buffer.set_style(popup, theme.base());
    let block = Block::bordered()
        .border_style(theme.title())
        .title(Span::styled(
            format!(" {} ", strings::GRID_TITLE),
            theme.title(),
        ))
        .title_bottom(
            Line::styled(format!(" {} ", strings::GRID_CLOSE), theme.dim()).right_aligned(),
        );
    Paragraph::new(lines).block(block).render(popup, buffer);
}
