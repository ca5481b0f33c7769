//! A lane's badge: its answer against the truth (right, wrong, unknown or pending) as a
//! symbol and a word in the big font on a block of color, readable from the back of a
//! room. Without color the block is reversed; the symbol and the word say it anyway.

use super::super::strings;
use super::super::theme::{Badge, Theme};
use super::big_text::{self, BigText};
use crate::domain::verdict::Answer;
use crate::engine::report::{LaneReport, UserView};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};

/// The rows a big badge takes (the big font's height).
pub(crate) const HEIGHT: u16 = big_text::HEIGHT;
/// Columns between the symbol and the word.
const SYMBOL_GAP: u16 = 2;

/// One user's answer against the truth.
pub(crate) fn of_user(user: &UserView) -> Badge {
    if user.answer.contradicts(user.truth) {
        Badge::Wrong
    } else if user.answer == Answer::Pending {
        Badge::Pending
    } else if user.answer == Answer::Unknown || user.truth == Answer::Unknown {
        Badge::Unknown
    } else {
        Badge::Right
    }
}

/// The lane's badge: the worst of its users' (wrong, then unknown, then pending).
pub(crate) fn of_lane(report: &LaneReport) -> Option<Badge> {
    report.users.iter().map(of_user).max()
}

fn symbol(badge: Badge) -> char {
    match badge {
        Badge::Right => '✓',
        Badge::Wrong => '✗',
        Badge::Unknown => '?',
        Badge::Pending => '…',
    }
}

fn word(badge: Badge) -> &'static str {
    match badge {
        Badge::Right => strings::BADGE_RIGHT,
        Badge::Wrong => strings::BADGE_WRONG,
        Badge::Unknown => strings::BADGE_UNKNOWN,
        Badge::Pending => strings::BADGE_PENDING,
    }
}

/// The badge as one line of normal text, for a panel too small for the big one.
pub(crate) fn text(badge: Badge) -> String {
    format!(" {} {} ", symbol(badge), word(badge))
}

fn big_width(badge: Badge) -> u16 {
    big_text::width(&symbol(badge).to_string()) + SYMBOL_GAP + big_text::width(word(badge))
}

/// Whether the big badge fits in `width` columns, symbol and word.
pub(crate) fn fits(badge: Badge, width: u16) -> bool {
    big_width(badge) <= width
}

/// Draws the badge across `area`: big (the symbol and the word, else the word alone)
/// when it fits, else one line in the middle row.
pub(crate) fn render(theme: Theme, badge: Badge, area: Rect, buffer: &mut Buffer) {
    let style = theme.badge(badge);
    buffer.set_style(area, style);
    let symbol_text = symbol(badge).to_string();
    let word_width = big_text::width(word(badge));
    let big = area.height >= HEIGHT;
    let symbol_width = if big && fits(badge, area.width) {
        big_text::width(&symbol_text) + SYMBOL_GAP
    } else if big && word_width <= area.width {
        0
    } else {
        let middle = Rect {
            y: area.y + area.height / 2,
            height: 1.min(area.height),
            ..area
        };
        Paragraph::new(Line::styled(text(badge), style).centered()).render(middle, buffer);
        return;
    };
    let left = area.x + (area.width - symbol_width - word_width) / 2;
    if symbol_width > 0 {
        let symbol_area = Rect {
            x: left,
            width: big_text::width(&symbol_text),
            height: HEIGHT,
            ..area
        };
        (&BigText {
            text: &symbol_text,
            style,
        })
            .render(symbol_area, buffer);
    }
    let word_area = Rect {
        x: left + symbol_width,
        width: word_width,
        height: HEIGHT,
        ..area
    };
    (&BigText {
        text: word(badge),
        style,
    })
        .render(word_area, buffer);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every badge fits big in a lane of two at 80 columns (38 inside); at 100
    /// columns, three lanes of 31 inside still show right and wrong big.
    #[test]
    fn badges_fit_the_lanes_they_are_drawn_in() {
        for badge in [Badge::Right, Badge::Wrong, Badge::Unknown, Badge::Pending] {
            assert!(fits(badge, 38), "{badge:?} is {} wide", big_width(badge));
        }
        assert!(fits(Badge::Right, 31));
        assert!(fits(Badge::Wrong, 31));
    }
}
