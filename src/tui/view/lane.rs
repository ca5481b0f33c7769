//! One lane's panel: a badge of its answer against the truth, big enough for a projector;
//! its worker; the request's timeline (across steps); a picture of what SQLite and
//! TigerBeetle hold for each user; the answer to "does X exist?" against the truth; and
//! every violation in plain words, colored by severity. When the panel is short, the
//! timeline gives way first (its latest lines stay), then the picture turns to one line
//! per entry, then the violations are cut with a count of the rest.

use super::super::app::TimelineLine;
use super::super::strings;
use super::super::theme::Theme;
use crate::domain::lane::Lane;
use crate::domain::verdict::{Answer, Severity, Violation};
use crate::engine::report::{LaneReport, LaneSummary, UserView, WorkerState};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

/// From this many users on, each answer takes one line instead of two.
const COMPACT_ANSWERS_FROM: usize = 3;

/// The panel height (inside its border) from which the badge is drawn big.
const BIG_BADGE_MIN_HEIGHT: usize = 12;

pub(crate) struct LaneView<'a> {
    pub(crate) theme: Theme,
    pub(crate) lane: Lane,
    pub(crate) report: Option<&'a LaneReport>,
    /// The lane at the end of the previous step, to mark what changed since.
    pub(crate) baseline: Option<&'a LaneReport>,
    pub(crate) timeline: &'a [TimelineLine],
    pub(crate) verdict: Option<&'a LaneSummary>,
    /// The lane's place (1-based) and the lane count, when not every lane is on screen.
    pub(crate) position: Option<(usize, usize)>,
}

impl Widget for &LaneView<'_> {
    fn render(self, area: Rect, buffer: &mut Buffer) {
        let block = self.block();
        let inner = block.inner(area);
        block.render(area, buffer);
        let Some(report) = self.report else {
            Paragraph::new(Line::styled(strings::LANE_STARTING, self.theme.dim()))
                .render(inner, buffer);
            return;
        };
        let inner = self.render_badge(report, inner, buffer);
        let width = usize::from(inner.width);
        let height = usize::from(inner.height);
        let mut fixed = self.worker_lines(report);
        let answers = self.answer_lines(report);
        let picture = super::picture::Picture {
            theme: self.theme,
            report,
            baseline: self.baseline,
        };
        // The picture as boxes if they leave a line for the first violation.
        let room = height.saturating_sub(fixed.len() + answers.len() + 1);
        let mut lower = picture.lines(width, room);
        lower.extend(answers);
        let violations = fit_violations(
            self.violation_lines(report, width),
            height.saturating_sub(fixed.len() + lower.len()),
            self.theme,
        );
        let timeline_room = height.saturating_sub(fixed.len() + lower.len() + violations.len());
        fixed.extend(self.timeline_lines(timeline_room, width));
        fixed.extend(lower);
        fixed.extend(violations);
        Paragraph::new(fixed).render(inner, buffer);
    }
}

impl LaneView<'_> {
    /// Draws the badge at the top of `inner` (big when the panel is tall enough);
    /// returns the area left below it.
    fn render_badge(&self, report: &LaneReport, inner: Rect, buffer: &mut Buffer) -> Rect {
        let Some(badge) = super::badge::of_lane(report) else {
            return inner;
        };
        let big = usize::from(inner.height) >= BIG_BADGE_MIN_HEIGHT;
        let badge_height = if big { super::badge::HEIGHT } else { 1 };
        let badge_area = Rect {
            height: badge_height.min(inner.height),
            ..inner
        };
        super::badge::render(self.theme, badge, badge_area, buffer);
        Rect {
            y: inner.y + badge_area.height,
            height: inner.height - badge_area.height,
            ..inner
        }
    }

    fn broken_now(&self) -> bool {
        self.report.is_some_and(|report| {
            report
                .violations
                .iter()
                .any(|violation| violation.severity == Severity::Error)
        })
    }

    fn block(&self) -> Block<'static> {
        let border = if self.broken_now() {
            self.theme.severity(Severity::Error)
        } else {
            self.theme.border()
        };
        let mut right = Vec::new();
        if let Some((position, count)) = self.position {
            right.push(Span::styled(
                format!(" {} ", strings::lane_position(position, count)),
                self.theme.dim(),
            ));
        }
        if let Some(verdict) = self.verdict {
            let (word, style) = if verdict.verdict == crate::domain::verdict::Verdict::Broken {
                (strings::VERDICT_BROKEN, self.theme.wrong())
            } else {
                (strings::VERDICT_KEPT, self.theme.right())
            };
            right.push(Span::styled(format!(" {word} "), style));
        }
        Block::bordered()
            .border_style(border)
            .title(Span::styled(
                format!(" {} ", self.lane.title()),
                self.theme.title(),
            ))
            .title(Line::from(right).right_aligned())
    }

    fn worker_lines(&self, report: &LaneReport) -> Vec<Line<'static>> {
        let style = match &report.worker {
            WorkerState::Idle => self.theme.dim(),
            WorkerState::Held(_) => self.theme.held(),
            WorkerState::Crashed(_) | WorkerState::Down | WorkerState::Died(_) => {
                self.theme.problem()
            }
        };
        let worker = match &report.worker {
            WorkerState::Held(point) => strings::held_at(*point),
            other => other.describe(),
        };
        let mut lines = vec![Line::from(vec![
            Span::styled(format!("{:<8}", strings::LANE_WORKER), self.theme.dim()),
            Span::styled(worker, style),
        ])];
        if matches!(
            report.answered_by,
            Some(crate::engine::report::AnsweredBy::Reader)
        ) {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<8}", strings::LANE_READER), self.theme.dim()),
                Span::styled(strings::LANE_READER_ANSWERED, self.theme.dim()),
            ]));
        }
        // The request's outcome, unless the worker's state already says it (crashed).
        let crashed = matches!(report.worker, WorkerState::Crashed(_));
        let outcome = report.outcome.as_ref();
        if let Some(outcome) = outcome.filter(|outcome| {
            !(crashed && **outcome == crate::domain::outcome::CallerOutcome::Crashed)
        }) {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<8}", strings::LANE_REQUEST), self.theme.dim()),
                Span::styled(outcome.name(), self.theme.title()),
            ]));
        }
        lines
    }

    /// The latest timeline lines that fit in `room`: the newest wrapped whole, older
    /// ones cut to one line each once wrapping no longer fits.
    fn timeline_lines(&self, room: usize, width: usize) -> Vec<Line<'static>> {
        if room == 0 {
            return Vec::new();
        }
        if self.timeline.is_empty() {
            return vec![Line::styled(strings::LANE_TIMELINE_EMPTY, self.theme.dim())];
        }
        let mut blocks: Vec<Vec<Line<'static>>> = Vec::new();
        let mut used = 0;
        let mut wrapping = true;
        for line in self.timeline.iter().rev() {
            if used >= room {
                break;
            }
            let wrapped = self.timeline_entry(line, width, wrapping);
            if used + wrapped.len() <= room {
                used += wrapped.len();
                blocks.push(wrapped);
                continue;
            }
            wrapping = false;
            used += 1;
            blocks.push(self.timeline_entry(line, width, false));
        }
        blocks.into_iter().rev().flatten().collect()
    }

    /// One timeline entry: step number, marker and text, wrapped with a hanging indent,
    /// or cut to one line.
    fn timeline_entry(&self, line: &TimelineLine, width: usize, wrap: bool) -> Vec<Line<'static>> {
        let marker = line.entry.kind.marker();
        let mut text = String::new();
        if line.manual {
            text.push_str(strings::LANE_BY_HAND);
        }
        if !line.entry.user.is_empty() {
            text.push_str(&line.entry.user);
            text.push_str(": ");
        }
        text.push_str(&line.entry.text);
        let prefix = format!("{:>2} {marker} ", line.step_number);
        let indent = prefix.chars().count();
        let room = width.saturating_sub(indent).max(1);
        let style = self.theme.timeline(line.entry.kind);
        if !wrap {
            return vec![Line::from(vec![
                Span::styled(prefix, style),
                Span::styled(truncate(&text, room), style),
            ])];
        }
        crate::faces::transcript::wrap(&text, room)
            .into_iter()
            .enumerate()
            .map(|(index, part)| {
                let lead = if index == 0 {
                    prefix.clone()
                } else {
                    " ".repeat(indent)
                };
                Line::from(vec![Span::styled(lead, style), Span::styled(part, style)])
            })
            .collect()
    }

    fn answer_lines(&self, report: &LaneReport) -> Vec<Line<'static>> {
        let compact = report.users.len() >= COMPACT_ANSWERS_FROM;
        let mut lines = Vec::new();
        for user in &report.users {
            let mut spans = Vec::new();
            if compact {
                spans.push(Span::styled(
                    format!("{}? ", user.user),
                    self.theme.heading(),
                ));
            } else {
                lines.push(Line::styled(
                    strings::question(&user.user),
                    self.theme.heading(),
                ));
                spans.push(Span::raw(" "));
            }
            spans.push(Span::raw(strings::answer(
                user.answer.name(),
                user.truth.name(),
            )));
            spans.extend(self.judgement(user));
            lines.push(Line::from(spans));
        }
        lines
    }

    /// Right or wrong, when the truth is known.
    fn judgement(&self, user: &UserView) -> Option<Span<'static>> {
        if user.answer.contradicts(user.truth) {
            return Some(Span::styled(
                format!(" {} ", strings::LANE_WRONG),
                self.theme.wrong(),
            ));
        }
        let judged = user.truth != Answer::Unknown && user.answer != Answer::Unknown;
        judged.then(|| Span::styled(format!(" {}", strings::LANE_RIGHT), self.theme.right()))
    }

    /// Each violation as its lines: a severity label, the violation's name, and its
    /// sentence, wrapped with a hanging indent.
    fn violation_lines(&self, report: &LaneReport, width: usize) -> Vec<Vec<Line<'static>>> {
        if report.violations.is_empty() && !report.undetermined.is_empty() {
            // No verdict on an unknown truth: nothing broken seen proves nothing.
            return vec![vec![Line::styled(
                strings::LANE_UNDETERMINED,
                self.theme.held(),
            )]];
        }
        if report.violations.is_empty() {
            return vec![vec![Line::styled(
                strings::LANE_NO_VIOLATION,
                self.theme.right(),
            )]];
        }
        report
            .violations
            .iter()
            .map(|violation| self.violation(violation, width))
            .collect()
    }

    fn violation(&self, violation: &Violation, width: usize) -> Vec<Line<'static>> {
        let label = severity_label(violation.severity);
        let text = format!("{label} {}: {}", violation.kind.name(), violation.detail);
        let style = self.theme.severity(violation.severity);
        let wrapped = crate::faces::transcript::wrap(&text, width.saturating_sub(2).max(1));
        wrapped
            .into_iter()
            .enumerate()
            .map(|(index, line)| {
                if index > 0 {
                    return Line::styled(format!("  {line}"), style);
                }
                let rest = line.strip_prefix(label).unwrap_or(&line).to_string();
                Line::from(vec![
                    Span::styled(label, self.theme.severity_label(violation.severity)),
                    Span::styled(rest, style),
                ])
            })
            .collect()
    }
}

/// Keeps whole violations while they fit in `room` lines; the last line then counts the
/// ones left out.
fn fit_violations(
    violations: Vec<Vec<Line<'static>>>,
    room: usize,
    theme: Theme,
) -> Vec<Line<'static>> {
    let total: usize = violations.iter().map(Vec::len).sum();
    if total <= room {
        return violations.into_iter().flatten().collect();
    }
    let mut lines = Vec::new();
    let count = violations.len();
    for (index, violation) in violations.into_iter().enumerate() {
        if lines.len() + violation.len() + 1 > room {
            if room > lines.len() {
                lines.push(Line::styled(
                    strings::more_violations(count - index),
                    theme.problem(),
                ));
            }
            break;
        }
        lines.extend(violation);
    }
    lines
}

fn severity_label(severity: Severity) -> &'static str {
    crate::faces::transcript::severity_label(severity)
}

/// The journal entry or outbox message of lanes that keep one.
pub(super) fn recovery_text(user: &UserView) -> Option<String> {
    if let Some(entry) = &user.journal {
        return Some(format!("journal: {}", entry.state.name()));
    }
    let message = user.outbox.as_ref()?;
    let state = if message.delivered {
        "delivered"
    } else {
        "undelivered"
    };
    Some(format!(
        "outbox: {state} ({} attempts)",
        message.attempt_count
    ))
}

/// Cuts `text` to `width` characters, ending with an ellipsis when cut.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let kept: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_marks_a_cut_with_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("abc", 0), "…");
    }

    #[test]
    fn fit_violations_keeps_whole_violations_and_counts_the_rest() {
        let theme = Theme::no_color();
        let violation = |count: usize| vec![Line::from("x"); count];
        let all = fit_violations(vec![violation(2), violation(2)], 4, theme);
        assert_eq!(all.len(), 4);
        let cut = fit_violations(vec![violation(2), violation(2), violation(2)], 4, theme);
        assert_eq!(cut.len(), 3);
        assert!(cut[2].to_string().contains("2 more"));
        let none = fit_violations(vec![violation(3)], 0, theme);
        assert!(none.is_empty());
    }
}
