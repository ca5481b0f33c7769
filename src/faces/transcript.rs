//! The headless faces of a run: a readable transcript, and JSON (one object per step and
//! lane, then a summary object with each lane's verdict).

use crate::domain::ids::short_id;
use crate::domain::text::visible;
use crate::domain::verdict::Severity;
use crate::engine::report::{LaneReport, RunSummary, StepReport, UserView};
use serde_json::json;
use std::fmt::Write;

/// The transcript's heading for a scenario.
pub(crate) fn heading(title: &str, seed: u64, lanes: &[crate::domain::lane::Lane]) -> String {
    let names: Vec<&str> = lanes.iter().map(|lane| lane.name()).collect();
    let text = format!("== {title} ==\nseed {seed}; lanes: {}\n", names.join(", "));
    visible(&text, true).into_owned()
}

/// One step as readable text.
pub(crate) fn step_text(report: &StepReport) -> String {
    let mut text = String::new();
    let label = if report.manual { "By hand" } else { "Step" };
    let server = match &report.record_exit {
        Some(how) => how.clone(),
        None => format!("TigerBeetle {}", report.server.name()),
    };
    let _ = writeln!(
        text,
        "\n{label} {}/{}: {}    [{server}{}]",
        report.step_number,
        report.step_count,
        report.action,
        replicas_text(&report.replicas)
    );
    for line in wrap(&report.narration, 88) {
        let _ = writeln!(text, "  | {line}");
    }
    for lane in &report.lanes {
        lane_text(&mut text, lane, report.user.as_deref());
    }
    for failure in &report.failures {
        let _ = writeln!(text, "  EXPECTATION NOT MET: {failure}");
    }
    // Whatever a store or a file held, no control reaches the reader's terminal.
    visible(&text, true).into_owned()
}

/// ", replicas 2/3 up" for a cluster; nothing for a single replica.
pub(crate) fn replicas_text(replicas: &[crate::stores::supervisor::ServerState]) -> String {
    if replicas.len() < 2 {
        return String::new();
    }
    let up = crate::domain::cluster::replicas_up(replicas);
    format!(", replicas {up}/{} up", replicas.len())
}

/// Whether a user's line belongs in a step's text. A step about one user (a create, a
/// read, a deposit, a reservation) shows that user and every user its events name; a
/// step about no user (a fault, a heal, a wait, a restart, a recovery) shows every user.
/// So the transcript grows with what happened, not with users times steps.
fn shows_user(user: &str, lane: &LaneReport, step_user: Option<&str>) -> bool {
    step_user.is_none_or(|step_user| {
        user == step_user || lane.events.iter().any(|event| event.user == user)
    })
}

fn lane_text(text: &mut String, lane: &LaneReport, step_user: Option<&str>) {
    let _ = writeln!(
        text,
        "  [{}] worker {}",
        lane.lane.name(),
        lane.worker.describe()
    );
    for event in &lane.events {
        let marker = event.kind.marker();
        let who = if event.user.is_empty() {
            String::new()
        } else {
            format!("{}: ", event.user)
        };
        let _ = writeln!(text, "      {marker} {who}{}", event.text);
    }
    for user in &lane.users {
        if shows_user(&user.user, lane, step_user) {
            let _ = writeln!(text, "      {}", user_line(user));
        }
    }
    for violation in &lane.violations {
        let _ = writeln!(
            text,
            "      {} {}: {}",
            severity_label(violation.severity),
            violation.kind.name(),
            violation.detail
        );
    }
    if !lane.undetermined.is_empty() {
        let _ = writeln!(
            text,
            "      UNDETERMINED {}: a store did not answer, so nothing proves them kept",
            lane.undetermined.join(", ")
        );
    }
}

/// The word a violation's severity is printed with, in the transcript and on screen.
pub(crate) fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "BROKEN",
        Severity::Alert => "ALERT",
        Severity::Warning => "warning",
    }
}

/// "alice: SQLite 1a2b3c4d | TigerBeetle none | answer absent, truth absent".
pub(crate) fn user_line(user: &UserView) -> String {
    let reference = user
        .reference
        .as_ref()
        .map(|row| short_id(&row.guid))
        .unwrap_or_else(|| "none".to_string());
    let record = match &user.record {
        None => "unknown".to_string(),
        Some(accounts) if accounts.is_empty() => "none".to_string(),
        Some(accounts) => accounts
            .iter()
            .map(|account| {
                let mut id = short_id(&crate::domain::ids::guid_of(account.id));
                if account.closed {
                    id.push_str(" closed");
                }
                if account.has_funds() {
                    format!(
                        "{id} (balance {}, pending {})",
                        account.balance(),
                        account.credits_pending
                    )
                } else {
                    id
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    let verdict = if user.answer.contradicts(user.truth) {
        "  WRONG"
    } else {
        ""
    };
    format!(
        "{}: SQLite {reference} | TigerBeetle {record} | answer {}, truth {}{verdict}",
        user.user, user.answer, user.truth
    )
}

/// The summary as readable text.
pub(crate) fn summary_text(summary: &RunSummary) -> String {
    let mut text = String::from("\nVerdicts:\n");
    for lane in &summary.lanes {
        let seen: Vec<String> = lane
            .seen
            .iter()
            .map(|(kind, severity)| format!("{kind} ({})", severity.name()))
            .collect();
        let seen = if seen.is_empty() {
            "nothing".to_string()
        } else {
            seen.join(", ")
        };
        let _ = writeln!(
            text,
            "  {:<24} {:<7} saw: {seen}",
            lane.lane.name(),
            lane.verdict
        );
    }
    if summary.undetermined_steps > 0 {
        let _ = writeln!(
            text,
            "{} step(s) undetermined: a store did not answer, so their properties could not be judged.",
            summary.undetermined_steps
        );
    }
    if summary.passed {
        text.push_str("Every expectation held.\n");
    } else {
        let _ = writeln!(text, "{} expectation(s) not met:", summary.failures.len());
        for failure in &summary.failures {
            let _ = writeln!(text, "  - {failure}");
        }
    }
    visible(&text, true).into_owned()
}

/// One JSON object per lane of the step, one per line.
pub(crate) fn step_json(scenario: &str, report: &StepReport) -> Vec<String> {
    report
        .lanes
        .iter()
        .map(|lane| {
            let user = report.user.as_deref();
            let view = user.and_then(|user| lane.user(user));
            json!({
                "type": "step",
                "scenario": scenario,
                "step": report.step_number,
                "step_count": report.step_count,
                "manual": report.manual,
                "lane": lane.lane,
                "action": report.action,
                "user": user,
                "server": report.server,
                "record_exit": report.record_exit,
                "undetermined": lane.undetermined,
                "worker": lane.worker,
                "answered_by": lane.answered_by,
                "events": lane.events,
                "outcome": lane.outcome,
                "outcomes": lane.outcomes,
                "reference": view.map(|view| &view.reference),
                "record": view.map(|view| &view.record),
                "answer": view.map(|view| view.answer),
                "truth": view.map(|view| view.truth),
                "users": lane.users,
                "violations": lane.violations,
                "failures": report.failures,
            })
            .to_string()
        })
        .collect()
}

pub(crate) fn summary_json(scenario: &str, summary: &RunSummary) -> String {
    let lanes: Vec<_> = summary
        .lanes
        .iter()
        .map(|lane| {
            json!({
                "lane": lane.lane,
                "verdict": lane.verdict,
                "undetermined_steps": lane.undetermined_steps,
                "seen": lane.seen.iter().map(|(kind, severity)| json!({"violation": kind, "severity": severity})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "type": "summary",
        "scenario": scenario,
        "title": summary.title,
        "seed": summary.seed,
        "passed": summary.passed,
        "undetermined_steps": summary.undetermined_steps,
        "lanes": lanes,
        "failures": summary.failures,
    })
    .to_string()
}

/// Splits `text` into lines of at most `width` columns, at spaces. Single line breaks
/// are spaces (TOML narration is written wrapped); a blank line starts a new paragraph.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    // First fit, at spaces only: a word longer than the line stands alone, and a name
    // such as `write-last-read-first` is never split at its hyphens.
    let options = textwrap::Options::new(width)
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(false);
    let mut lines = Vec::new();
    for paragraph in text.split("\n\n") {
        let words: Vec<&str> = paragraph.split_whitespace().collect();
        let paragraph = words.join(" ");
        let wrapped = textwrap::wrap(&paragraph, &options);
        lines.extend(wrapped.into_iter().map(std::borrow::Cow::into_owned));
    }
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap;

    /// Goal: narration wraps at spaces into lines of at most `width` columns, as the
    /// transcript prints it: single line breaks are spaces, a blank line starts a
    /// paragraph, a word is never split (not at a hyphen either), and nothing blank is
    /// left at the end. Method: a table of texts and widths.
    #[test]
    fn wrap_breaks_at_spaces_within_the_width() {
        let cases: [(&str, usize, &[&str]); 13] = [
            ("", 88, &[]),
            ("   \n  ", 88, &[]),
            ("one two three", 88, &["one two three"]),
            // Exactly the width fits; one more column moves the word down.
            ("one two three", 13, &["one two three"]),
            ("one two three", 12, &["one two", "three"]),
            ("one two three", 7, &["one two", "three"]),
            ("one two three", 6, &["one", "two", "three"]),
            // A word longer than the line stands alone, whole.
            (
                "a write-last-read-first lane",
                10,
                &["a", "write-last-read-first", "lane"],
            ),
            (
                "see write-last-read-first",
                24,
                &["see", "write-last-read-first"],
            ),
            // TOML narration is written wrapped: its line breaks and runs of spaces are
            // single spaces.
            (
                "Alice signs\nup,   and\n  waits.\n",
                88,
                &["Alice signs up, and waits."],
            ),
            // A blank line starts a new paragraph (with no blank line between them).
            (
                "First part.\n\nSecond part.",
                88,
                &["First part.", "Second part."],
            ),
            // Two blank lines leave one empty line; trailing blank paragraphs go.
            (
                "First.\n\n\n\nSecond.\n\n\n\n",
                88,
                &["First.", "", "Second."],
            ),
            // Columns, not bytes: an accented letter or a dash is one column.
            ("café — déjà vu", 11, &["café — déjà", "vu"]),
        ];
        for (text, width, expected) in cases {
            assert_eq!(wrap(text, width), expected, "{text:?} at width {width}");
        }
    }
}
