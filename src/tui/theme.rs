//! The TUI's colors: a high-contrast theme for projectors (bright, bold colors on black),
//! and a no-color fallback when `NO_COLOR` is set, where emphasis is bold, reversed and
//! underlined text and every state is also said in words.

use crate::domain::verdict::Severity;
use crate::engine::report::TimelineKind;
use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// The high-contrast theme, or the no-color one when `NO_COLOR` is set and not empty
    /// (https://no-color.org).
    pub fn from_environment() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Theme { color: !no_color }
    }

    pub fn high_contrast() -> Self {
        Theme { color: true }
    }

    pub fn no_color() -> Self {
        Theme { color: false }
    }

    fn paint(self, color: Color, fallback: Style) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            fallback
        }
    }

    /// The whole screen: white on black for contrast.
    pub fn base(self) -> Style {
        if self.color {
            Style::new().fg(Color::White).bg(Color::Black)
        } else {
            Style::new()
        }
    }

    pub fn title(self) -> Style {
        self.paint(Color::LightCyan, Style::new())
            .add_modifier(Modifier::BOLD)
    }

    pub fn heading(self) -> Style {
        self.paint(
            Color::LightCyan,
            Style::new().add_modifier(Modifier::UNDERLINED),
        )
        .add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        self.paint(Color::Gray, Style::new())
    }

    pub fn key(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::LightCyan)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub fn selected(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn right(self) -> Style {
        self.paint(Color::LightGreen, Style::new())
            .add_modifier(Modifier::BOLD)
    }

    pub fn wrong(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub fn held(self) -> Style {
        self.paint(
            Color::LightYellow,
            Style::new().add_modifier(Modifier::BOLD),
        )
        .add_modifier(Modifier::BOLD)
    }

    pub fn problem(self) -> Style {
        self.paint(Color::LightRed, Style::new().add_modifier(Modifier::BOLD))
            .add_modifier(Modifier::BOLD)
    }

    pub fn severity(self, severity: Severity) -> Style {
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
    pub fn severity_label(self, severity: Severity) -> Style {
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
            Severity::Warning => return Style::new().fg(Color::Yellow),
        };
        Style::new()
            .fg(Color::White)
            .bg(background)
            .add_modifier(Modifier::BOLD)
    }

    pub fn timeline(self, kind: TimelineKind) -> Style {
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

    pub fn border(self) -> Style {
        self.paint(Color::Gray, Style::new())
    }

    pub fn big_title(self) -> Style {
        self.paint(Color::LightYellow, Style::new())
            .add_modifier(Modifier::BOLD)
    }
}
