//! A large title for wide screens, and the lanes' badges: a 5-pixel-high font drawn with
//! half blocks, so each letter takes three rows. Letters without a glyph are drawn as
//! blanks.
//!
//! Kept by hand rather than taking `tui-big-text` (evaluated, 0.7 for ratatui 0.29): its
//! font is font8x8, so a letter is 8 pixels wide. At its `Quadrant` size (4 columns × 4
//! rows a letter) a stroke is half a cell wide, thin and broken up on a projector, and the
//! titles need 96 columns; at `HalfHeight` (8 × 4) "Crash between the writes" needs 192
//! columns; `Sextant` needs glyphs (U+1FB00) that many terminal fonts lack. These 3 × 5
//! glyphs draw every stroke a full cell wide in 3 rows, and the longest title fits in 120
//! columns, as do the badges in a lane of 38.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

/// The rows a big title takes.
pub(crate) const HEIGHT: u16 = 3;
const PIXEL_ROWS: usize = 5;
const LETTER_GAP: u16 = 1;

/// Each glyph: five rows of the same width, `#` for a lit pixel.
fn glyph(letter: char) -> [&'static str; PIXEL_ROWS] {
    match letter.to_ascii_uppercase() {
        'A' => [".#.", "#.#", "###", "#.#", "#.#"],
        'B' => ["##.", "#.#", "##.", "#.#", "##."],
        'C' => [".##", "#..", "#..", "#..", ".##"],
        'D' => ["##.", "#.#", "#.#", "#.#", "##."],
        'E' => ["###", "#..", "##.", "#..", "###"],
        'F' => ["###", "#..", "##.", "#..", "#.."],
        'G' => [".##", "#..", "#.#", "#.#", ".##"],
        'H' => ["#.#", "#.#", "###", "#.#", "#.#"],
        'I' => ["###", ".#.", ".#.", ".#.", "###"],
        'J' => ["..#", "..#", "..#", "#.#", ".#."],
        'K' => ["#.#", "#.#", "##.", "#.#", "#.#"],
        'L' => ["#..", "#..", "#..", "#..", "###"],
        'M' => ["#...#", "##.##", "#.#.#", "#...#", "#...#"],
        'N' => ["#..#", "##.#", "#.##", "#..#", "#..#"],
        'O' => [".#.", "#.#", "#.#", "#.#", ".#."],
        'P' => ["##.", "#.#", "##.", "#..", "#.."],
        'Q' => [".#.", "#.#", "#.#", "##.", ".##"],
        'R' => ["##.", "#.#", "##.", "#.#", "#.#"],
        'S' => [".##", "#..", ".#.", "..#", "##."],
        'T' => ["###", ".#.", ".#.", ".#.", ".#."],
        'U' => ["#.#", "#.#", "#.#", "#.#", "###"],
        'V' => ["#.#", "#.#", "#.#", "#.#", ".#."],
        'W' => ["#...#", "#...#", "#.#.#", "##.##", "#...#"],
        'X' => ["#.#", "#.#", ".#.", "#.#", "#.#"],
        'Y' => ["#.#", "#.#", ".#.", ".#.", ".#."],
        'Z' => ["###", "..#", ".#.", "#..", "###"],
        '0' => ["###", "#.#", "#.#", "#.#", "###"],
        '1' => [".#.", "##.", ".#.", ".#.", "###"],
        '2' => ["##.", "..#", ".#.", "#..", "###"],
        '3' => ["##.", "..#", ".#.", "..#", "##."],
        '4' => ["#.#", "#.#", "###", "..#", "..#"],
        '5' => ["###", "#..", "##.", "..#", "##."],
        '6' => [".##", "#..", "###", "#.#", "###"],
        '7' => ["###", "..#", ".#.", ".#.", ".#."],
        '8' => ["###", "#.#", "###", "#.#", "###"],
        '9' => ["###", "#.#", "###", "..#", "##."],
        '-' => ["...", "...", "###", "...", "..."],
        '+' => ["...", ".#.", "###", ".#.", "..."],
        '/' => ["..#", "..#", ".#.", "#..", "#.."],
        '?' => ["##.", "..#", ".#.", "...", ".#."],
        ',' => ["..", "..", "..", ".#", "#."],
        '(' => [".#", "#.", "#.", "#.", ".#"],
        ')' => ["#.", ".#", ".#", ".#", "#."],
        '.' => [".", ".", ".", ".", "#"],
        ':' => [".", "#", ".", "#", "."],
        '!' => ["#", "#", "#", ".", "#"],
        '\'' => ["#", "#", ".", ".", "."],
        // The badges' symbols: a check mark, a cross and an ellipsis.
        '✓' => [".....", "....#", "...#.", "#.#..", ".#..."],
        '✗' => ["#...#", ".#.#.", "..#..", ".#.#.", "#...#"],
        '…' => [".....", ".....", ".....", ".....", "#.#.#"],
        _ => ["..", "..", "..", "..", ".."],
    }
}

fn glyph_width(letter: char) -> u16 {
    glyph(letter)[0].len() as u16
}

/// The columns `text` takes in the big font.
pub(crate) fn width(text: &str) -> u16 {
    let letters = text.chars().count() as u16;
    let glyphs: u16 = text.chars().map(glyph_width).sum();
    glyphs + letters.saturating_sub(1) * LETTER_GAP
}

/// The text in the big font, drawn from the top left of the area; letters that do not
/// fit are left out.
pub(crate) struct BigText<'a> {
    pub(crate) text: &'a str,
    pub(crate) style: Style,
}

impl Widget for &BigText<'_> {
    fn render(self, area: Rect, buffer: &mut Buffer) {
        let mut x = area.x;
        for letter in self.text.chars() {
            let rows = glyph(letter);
            let letter_width = glyph_width(letter);
            if x + letter_width > area.right() {
                return;
            }
            render_glyph(&rows, x, area, self.style, buffer);
            x += letter_width + LETTER_GAP;
        }
    }
}

fn render_glyph(rows: &[&str; PIXEL_ROWS], x: u16, area: Rect, style: Style, buffer: &mut Buffer) {
    for text_row in 0..HEIGHT.min(area.height) {
        let top = rows[usize::from(text_row) * 2].as_bytes();
        let bottom = rows
            .get(usize::from(text_row) * 2 + 1)
            .map(|row| row.as_bytes());
        for (column, &top_pixel) in top.iter().enumerate() {
            let lit_top = top_pixel == b'#';
            let lit_bottom = bottom.is_some_and(|bottom| bottom[column] == b'#');
            let symbol = match (lit_top, lit_bottom) {
                (true, true) => "█",
                (true, false) => "▀",
                (false, true) => "▄",
                (false, false) => continue,
            };
            let position = (x + column as u16, area.y + text_row);
            if let Some(cell) = buffer.cell_mut(position) {
                cell.set_symbol(symbol).set_style(style);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every glyph's rows have one width, so a row never indexes past its neighbour.
    #[test]
    fn glyph_rows_are_rectangular() {
        let letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-+/?,().:!' ~✓✗…";
        for letter in letters.chars() {
            let rows = glyph(letter);
            assert!(
                rows.iter().all(|row| row.len() == rows[0].len()),
                "{letter}"
            );
            assert!(
                rows.iter()
                    .all(|row| row.bytes().all(|pixel| pixel == b'#' || pixel == b'.'))
            );
        }
    }

    #[test]
    fn width_counts_gaps_between_letters_only() {
        assert_eq!(width("A"), 3);
        assert_eq!(width("AB"), 7);
        assert_eq!(width("M"), 5);
        assert_eq!(width(""), 0);
    }
}
