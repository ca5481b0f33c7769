//! The TUI's colors: a high-contrast theme for projectors (bright, bold colors on black),
//! a light one (dark colors on white: projectors wash out dark backgrounds), and a
//! no-color fallback when `NO_COLOR` is set, where emphasis is bold, reversed and
//! underlined text and every state is also said in words.

use crate::domain::verdict::Severity;
use crate::engine::report::TimelineKind;
use ratatui::style::{Color, Modifier, Style};

/// A 256-color orange dark enough to read on white (yellow is not).
const DARK_ORANGE: u8 = 130;

/// A lane's answer against the truth, as its badge shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Badge {
    Right,
    Pending,
    Unknown,
    Wrong,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub(crate) color: bool,
    /// Dark colors on a white background (`--theme light`, the `t` key).
    pub light: bool,
}

/// The theme a flag names: `dark` (the default) or `light`.
pub fn parse_theme_name(text: &str) -> Result<bool, String> {
    match text {
        "dark" => Ok(false),
        "light" => Ok(true),
        other => Err(format!("unknown theme `{other}` (expected dark or light)")),
    }
}

impl Theme {
    /// The high-contrast theme, or the no-color one when `NO_COLOR` is set and not empty
    /// (https://no-color.org).
    pub(crate) fn from_environment() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Theme {
            color: !no_color,
            light: false,
        }
    }

    pub fn high_contrast() -> Self {
        Theme {
            color: true,
            light: false,
        }
    }

    #[cfg(test)]
    pub(crate) fn light() -> Self {
        Theme {
            color: true,
            light: true,
        }
    }

    pub fn no_color() -> Self {
        Theme {
            color: false,
            light: false,
        }
    }

    /// The other of the dark and the light theme (no color stays no color).
    pub(crate) fn toggled(self) -> Self {
        Theme {
            light: !self.light,
            ..self
        }
    }

    /// A color on the dark background, its counterpart on the light one.
    fn pick(self, dark: Color) -> Color {
        if !self.light {
            return dark;
        }
        match dark {
            Color::White => Color::Black,
            Color::Black => Color::White,
            Color::LightCyan => Color::Blue,
            Color::Gray => Color::DarkGray,
            Color::LightGreen => Color::Green,
            Color::LightYellow | Color::Yellow => Color::Indexed(DARK_ORANGE),
            Color::LightRed => Color::Red,
            Color::LightMagenta => Color::Magenta,
            other => other,
        }
    }

    fn paint(self, color: Color, fallback: Style) -> Style {
        if self.color {
            Style::new().fg(self.pick(color))
        } else {
            fallback
        }
    }

    /// The whole screen: white on black for contrast (black on white when light).
    pub(crate) fn base(self) -> Style {
        if self.color {
            Style::new()
                .fg(self.pick(Color::White))
                .bg(self.pick(Color::Black))
        } else {
            Style::new()
        }
    }

    /// A badge: the word on a block of its color, reversed without color.
    pub(crate) fn badge(self, verdict: Badge) -> Style {
        if !self.color {
            return Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        let background = match verdict {
            Badge::Right => Color::Green,
            Badge::Wrong => Color::Red,
            Badge::Unknown => Color::Magenta,
            Badge::Pending => Color::Blue,
        };
        Style::new()
            .fg(Color::White)
            .bg(background)
            .add_modifier(Modifier::BOLD)
    }

    /// What changed in the last step: reversed, so it shows in every theme.
    pub(crate) fn changed(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub(crate) fn title(self) -> Style {
        self.paint(Color::LightCyan, Style::new())
            .add_modifier(Modifier::BOLD)
    }

    pub(crate) fn heading(self) -> Style {
        self.paint(
            Color::LightCyan,
            Style::new().add_modifier(Modifier::UNDERLINED),
        )
        .add_modifier(Modifier::BOLD)
    }

    pub(crate) fn dim(self) -> Style {
        self.paint(Color::Gray, Style::new())
    }

    pub(crate) fn key(self) -> Style {
        if self.color {
            Style::new()
                .fg(self.pick(Color::Black))
                .bg(self.pick(Color::LightCyan))
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub(crate) fn selected(self) -> Style {
        if self.color {
            Style::new()
                .fg(self.pick(Color::Black))
                .bg(self.pick(Color::White))
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub(crate) fn right(self) -> Style {
        self.paint(Color::LightGreen, Style::new())
            .add_modifier(Modifier::BOLD)
    }

    pub(crate) fn wrong(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub(crate) fn held(self) -> Style {
        self.paint(
            Color::LightYellow,
            Style::new().add_modifier(Modifier::BOLD),
        )
        .add_modifier(Modifier::BOLD)
    }

    pub(crate) fn problem(self) -> Style {
        self.paint(Color::LightRed, Style::new().add_modifier(Modifier::BOLD))
            .add_modifier(Modifier::BOLD)
    }

    pub(crate) fn severity(self, severity: Severity) -> Style {
        match severity {
            Severity::Error => self
                .paint(Color::LightRed, Style::new())
                .add_modifier(Modifier::BOLD),
            Severity::Alert => self
                .paint(Color::LightMagenta, Style::new())
                .add_modifier(Modifier::BOLD),
            Severity::Warning => self.paint(Color::Yellow, Style::new()),
        }
    }

    /// The label in front of a violation: reversed, so it stands out without color too.
    pub(crate) fn severity_label(self, severity: Severity) -> Style {
        if !self.color {
            return match severity {
                Severity::Error | Severity::Alert => {
                    Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
                }
                Severity::Warning => Style::new(),
            };
        }
        let background = match severity {
            Severity::Error => Color::Red,
            Severity::Alert => Color::Magenta,
            Severity::Warning => return Style::new().fg(self.pick(Color::Yellow)),
        };
        Style::new()
            .fg(Color::White)
            .bg(background)
            .add_modifier(Modifier::BOLD)
    }

    pub(crate) fn timeline(self, kind: TimelineKind) -> Style {
        match kind {
            TimelineKind::Progress => self.paint(Color::LightGreen, Style::new()),
            TimelineKind::Hold => self.paint(Color::LightYellow, Style::new()),
            TimelineKind::Crash => self
                .paint(Color::LightRed, Style::new())
                .add_modifier(Modifier::BOLD),
            TimelineKind::Trouble => self.paint(Color::Yellow, Style::new()),
            TimelineKind::Alert => self
                .paint(Color::LightMagenta, Style::new())
                .add_modifier(Modifier::BOLD),
            TimelineKind::Note => self.paint(Color::Gray, Style::new()),
        }
    }

    pub(crate) fn border(self) -> Style {
        self.paint(Color::Gray, Style::new())
    }

    pub(crate) fn big_title(self) -> Style {
        self.paint(Color::LightYellow, Style::new())
            .add_modifier(Modifier::BOLD)
    }
}
