//! The help bar at the bottom of every screen (the keys that fit, `?` and `q` always),
//! and the full key list that `?` opens over the screen.

use super::super::app::{App, Screen};
use super::super::strings::{self, KeyGroup};
use super::super::theme::Theme;
use super::centered;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

pub(crate) const SCENARIO_BAR: &[(&str, &str)] = &strings::SCENARIO_BAR;
pub(crate) const PICKER_BAR: &[(&str, &str)] = &strings::PICKER_BAR;
/// The help bar never takes more rows than this.
const BAR_LINES_MAX: u16 = 3;
/// The items every help bar keeps, at its end.
const KEPT_ITEMS: usize = 2;

fn item_width(item: &(&str, &str)) -> usize {
    item.0.chars().count() + 1 + item.1.chars().count() + 2
}

/// The fewest rows (up to `BAR_LINES_MAX`) that hold every key of the bar.
pub(crate) fn help_bar_height(items: &[(&str, &str)], width: u16) -> u16 {
    let width = usize::from(width).saturating_sub(1);
    (1..BAR_LINES_MAX)
        .find(|&lines| {
            let placed: usize = lay_out(items, width, usize::from(lines))
                .iter()
                .map(Vec::len)
                .sum();
            placed == items.len()
        })
        .unwrap_or(BAR_LINES_MAX)
}

/// Places the items on `line_count` lines of `width`, in order, leaving out the ones
/// that do not fit; the last `KEPT_ITEMS` always end the last line.
fn lay_out<'a>(
    items: &'a [(&'a str, &'a str)],
    width: usize,
    line_count: usize,
) -> Vec<Vec<&'a (&'a str, &'a str)>> {
    let split = items.len().saturating_sub(KEPT_ITEMS);
    let (optional, kept) = items.split_at(split);
    let kept_width: usize = kept.iter().map(item_width).sum();
    let mut lines: Vec<Vec<&(&str, &str)>> = vec![Vec::new(); line_count.max(1)];
    let mut used = vec![0usize; lines.len()];
    let last = lines.len() - 1;
    let fits = |line: usize, used: &[usize], needed: usize| {
        let reserve = if line == last { kept_width } else { 0 };
        used[line] + needed + reserve <= width
    };
    let mut current = 0;
    for item in optional {
        let needed = item_width(item);
        if !fits(current, &used, needed) {
            // Items keep their order: a later line, never an earlier one.
            if current < last && fits(current + 1, &used, needed) {
                current += 1;
            } else {
                continue;
            }
        }
        lines[current].push(item);
        used[current] += needed;
    }
    lines[last].extend(kept);
    lines
}

pub(crate) fn render_help_bar(
    theme: Theme,
    items: &[(&str, &str)],
    area: Rect,
    buffer: &mut Buffer,
) {
    let width = usize::from(area.width).saturating_sub(1);
    let lines: Vec<Line> = lay_out(items, width, usize::from(area.height))
        .into_iter()
        .map(|line| {
            let mut spans = vec![Span::raw(" ")];
            for (key, words) in line {
                spans.push(Span::styled(format!(" {key} "), theme.key()));
                spans.push(Span::styled(format!("{words} "), theme.dim()));
            }
            Line::from(spans)
        })
        .collect();
    Paragraph::new(lines).render(area, buffer);
}

fn group_lines(theme: Theme, group: &KeyGroup, lines: &mut Vec<Line<'static>>) {
    lines.push(Line::styled(group.title, theme.heading()));
    for key in group.keys {
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<10}", key.keys), theme.title()),
            Span::raw(key.long),
        ]));
    }
}

pub(crate) fn render_help(app: &App, over: Screen, area: Rect, buffer: &mut Buffer) {
    let mut lines = Vec::new();
    // Over the picker, its own keys come first, and the scenario screen's own group
    // (lanes, reset, back) is left out: the list must fit in 24 rows.
    let groups = match over {
        Screen::Picker => {
            group_lines(app.theme, &strings::PICKER_KEYS, &mut lines);
            &strings::KEY_GROUPS[..strings::KEY_GROUPS.len() - 1]
        }
        Screen::Scenario => &strings::KEY_GROUPS[..],
    };
    for group in groups {
        group_lines(app.theme, group, &mut lines);
    }
    lines.push(Line::styled(strings::TIMELINE_LEGEND, app.theme.dim()));
    let transcript = app
        .stage
        .as_ref()
        .and_then(|stage| stage.transcript.as_ref());
    if let (Screen::Scenario, Some(path)) = (over, transcript) {
        let text = strings::transcript(&path.display().to_string());
        lines.push(Line::styled(text, app.theme.dim()));
    }
    let height = lines.len() as u16 + 2;
    let popup = centered(area, 78, height);
    Clear.render(popup, buffer);
    buffer.set_style(popup, app.theme.base());
    let block = Block::bordered()
        .border_style(app.theme.title())
        .title(Span::styled(
            format!(" {} ", strings::HELP_TITLE),
            app.theme.title(),
        ))
        .title_bottom(
            Line::styled(format!(" {} ", strings::HELP_CLOSE), app.theme.dim()).right_aligned(),
        );
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(block)
        .render(popup, buffer);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The help bar keeps `?` and `q` at any width and never overflows a line.
    #[test]
    fn help_bar_keeps_the_last_items_and_fits() {
        for width in [80usize, 100, 140, 250] {
            let lines = lay_out(SCENARIO_BAR, width, 2);
            let last = lines.last().expect("a line");
            assert_eq!(last[last.len() - 1].0, "q");
            assert_eq!(last[last.len() - 2].0, "?");
            for line in &lines {
                let used: usize = line.iter().map(|item| item_width(item)).sum();
                assert!(used <= width, "{used} > {width}");
            }
        }
        let wide = lay_out(SCENARIO_BAR, 250, 1);
        assert_eq!(wide[0].len(), SCENARIO_BAR.len());
        assert_eq!(help_bar_height(SCENARIO_BAR, 250), 1);
    }

    /// At the smallest width every key of the bar is still on screen, in three rows.
    #[test]
    fn help_bar_shows_every_key_at_80_columns() {
        let height = help_bar_height(SCENARIO_BAR, 80);
        assert!(height <= BAR_LINES_MAX);
        let placed: usize = lay_out(SCENARIO_BAR, 79, usize::from(height))
            .iter()
            .map(Vec::len)
            .sum();
        assert_eq!(placed, SCENARIO_BAR.len());
    }
}
