//! A lane's two stores as a small picture: each user's SQLite row beside the TigerBeetle
//! accounts, an arrow where the row's id names an account. A row that names no account,
//! an account no row names, and a second account for one user are marked, in words, when
//! the engine's verdicts name them (the picture draws what the stores hold; the marks are
//! the verdicts', so the two never disagree). Money shows where it moved, and what is new
//! since the previous step is reversed and labelled `new`.
//!
//! Drawn as boxes when the panel has room, else as one line per row or account.

use super::super::strings;
use super::super::theme::Theme;
use crate::domain::ids::{guid_of, short_id, user_key};
use crate::domain::stored::{RecordAccount, ReferenceRow};
use crate::domain::verdict::{Severity, ViolationKind};
use crate::engine::report::{LaneReport, UserView};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// The narrowest and widest box of a store, borders included: room for `balance 1000`,
/// and two boxes and an arrow in a lane of three at 100 columns (31 inside).
const BOX_WIDTH_MIN: usize = 14;
const BOX_WIDTH_MAX: usize = 14;
/// The widest arrow between a row and its account.
const LINK_WIDTH_MAX: usize = 12;
/// The narrowest arrow that still reads as one.
const LINK_WIDTH_MIN: usize = 3;
/// The rows one pair of boxes takes.
const BOX_ROWS: usize = 4;

/// What one user's stores hold, pair by pair.
enum Pair<'a> {
    /// A row and the account its id names.
    Linked(&'a ReferenceRow, &'a RecordAccount),
    /// A row whose id names no account.
    RowAlone(&'a ReferenceRow),
    /// An account no row names.
    AccountAlone(&'a RecordAccount),
    /// TigerBeetle did not answer: the row, if any, beside a question mark.
    NoAnswer(Option<&'a ReferenceRow>),
    Nothing,
}

fn pairs(user: &UserView) -> Vec<Pair<'_>> {
    let row = user.reference.as_ref();
    let Some(accounts) = &user.record else {
        return vec![Pair::NoAnswer(row)];
    };
    let linked = row.and_then(|row| accounts.iter().find(|account| account.is_named_by(row)));
    let mut pairs = Vec::new();
    match (row, linked) {
        (Some(row), Some(account)) => pairs.push(Pair::Linked(row, account)),
        (Some(row), None) => pairs.push(Pair::RowAlone(row)),
        (None, _) => {}
    }
    for account in accounts {
        if linked.is_none_or(|linked| linked.id != account.id) {
            pairs.push(Pair::AccountAlone(account));
        }
    }
    if pairs.is_empty() {
        pairs.push(Pair::Nothing);
    }
    pairs
}

/// The worst severity of a violation of this kind about this user, if the lane has one.
fn marked(report: &LaneReport, user: &str, kind: ViolationKind) -> Option<Severity> {
    report
        .violations
        .iter()
        .filter(|violation| violation.kind == kind)
        .filter(|violation| violation.user.as_deref().is_none_or(|name| name == user))
        .map(|violation| violation.severity)
        .max()
}

fn money(account: &RecordAccount) -> Option<String> {
    let moved = account.credits_posted > 0
        || account.debits_posted > 0
        || account.credits_pending > 0
        || account.debits_pending > 0;
    moved.then(|| strings::picture_balance(account.balance(), account.credits_pending))
}

fn pad(text: &str, width: usize) -> String {
    let cut: String = text.chars().take(width).collect();
    format!("{cut:<width$}")
}

fn centre(text: &str, width: usize) -> String {
    let cut: String = text.chars().take(width).collect();
    format!("{cut:^width$}")
}

pub(crate) struct Picture<'a> {
    pub(crate) theme: Theme,
    pub(crate) report: &'a LaneReport,
    /// The lane at the end of the previous step: what differs from it is new.
    pub(crate) baseline: Option<&'a LaneReport>,
}

impl Picture<'_> {
    fn baseline_user(&self, user: &str) -> Option<&UserView> {
        self.baseline?.user(user)
    }

    /// Whether the row is new since the previous step.
    fn row_is_new(&self, user: &UserView, row: &ReferenceRow) -> bool {
        self.baseline.is_some()
            && self
                .baseline_user(&user.user)
                .and_then(|before| before.reference.as_ref())
                .is_none_or(|before| before.guid != row.guid)
    }

    fn account_before<'b>(&'b self, user: &UserView, id: u128) -> Option<&'b RecordAccount> {
        self.baseline_user(&user.user)?
            .record
            .as_ref()?
            .iter()
            .find(|account| account.id == id)
    }

    fn account_is_new(&self, user: &UserView, account: &RecordAccount) -> bool {
        self.baseline.is_some() && self.account_before(user, account.id).is_none()
    }

    fn money_moved(&self, user: &UserView, account: &RecordAccount) -> bool {
        self.account_before(user, account.id)
            .is_some_and(|before| before != account)
    }

    /// The lines the picture takes as boxes.
    pub(crate) fn box_height(&self) -> usize {
        1 + self
            .report
            .users
            .iter()
            .map(|user| {
                self.user_box_lines(user, BOX_WIDTH_MIN * 2 + LINK_WIDTH_MIN)
                    .len()
            })
            .sum::<usize>()
    }

    /// The picture, as boxes when `room` rows allow, else one line per store entry.
    pub(crate) fn lines(&self, width: usize, room: usize) -> Vec<Line<'static>> {
        let boxes = width >= BOX_WIDTH_MIN * 2 + LINK_WIDTH_MIN && self.box_height() <= room;
        let box_width =
            ((width.saturating_sub(LINK_WIDTH_MIN)) / 2).clamp(BOX_WIDTH_MIN, BOX_WIDTH_MAX);
        let link_width = width
            .saturating_sub(box_width * 2)
            .clamp(LINK_WIDTH_MIN, LINK_WIDTH_MAX);
        let mut lines = vec![Line::styled(
            format!(
                "{}{}",
                pad(strings::PICTURE_SQLITE, box_width + link_width),
                strings::PICTURE_TIGERBEETLE
            ),
            self.theme.heading(),
        )];
        for user in &self.report.users {
            if boxes {
                lines.extend(self.user_box_lines(user, box_width * 2 + link_width));
            } else {
                lines.extend(self.user_compact_lines(user));
            }
            if let Some(extra) = super::lane::recovery_text(user) {
                lines.push(Line::styled(format!("  {extra}"), self.theme.dim()));
            }
        }
        lines
    }

    fn user_box_lines(&self, user: &UserView, width: usize) -> Vec<Line<'static>> {
        let box_width =
            ((width.saturating_sub(LINK_WIDTH_MIN)) / 2).clamp(BOX_WIDTH_MIN, BOX_WIDTH_MAX);
        let link_width = width
            .saturating_sub(box_width * 2)
            .clamp(LINK_WIDTH_MIN, LINK_WIDTH_MAX);
        let geometry = Geometry {
            box_width,
            link_width,
        };
        let mut lines = Vec::new();
        let duplicates = user.record.as_ref().map_or(0, Vec::len);
        for pair in pairs(user) {
            lines.extend(self.pair_boxes(user, &pair, geometry));
            lines.extend(self.pair_mark(user, &pair));
        }
        if let Some(severity) = marked(self.report, &user.user, ViolationKind::DuplicateAccount) {
            lines.push(self.mark_line(&strings::picture_duplicate(duplicates), severity));
        }
        lines
    }

    fn mark_line(&self, text: &str, severity: Severity) -> Line<'static> {
        Line::from(vec![
            Span::styled(" ▲ ", self.theme.severity_label(severity)),
            Span::styled(format!(" {text}"), self.theme.severity(severity)),
        ])
    }

    /// The mark under a pair that the verdicts name.
    fn pair_mark(&self, user: &UserView, pair: &Pair) -> Option<Line<'static>> {
        let (kind, text) = match pair {
            Pair::RowAlone(_) => (ViolationKind::OrphanReference, strings::PICTURE_ORPHAN),
            Pair::AccountAlone(_) => (
                ViolationKind::UntraceableAccount,
                strings::PICTURE_UNTRACEABLE,
            ),
            _ => return None,
        };
        let severity = marked(self.report, &user.user, kind)?;
        Some(self.mark_line(text, severity))
    }

    fn row_box(&self, user: &UserView, row: &ReferenceRow, width: usize) -> StoreBox {
        StoreBox {
            lines: [user.user.clone(), short_id(&row.guid)],
            new: self.row_is_new(user, row),
            changed_line: None,
            width,
        }
    }

    fn account_box(&self, user: &UserView, account: &RecordAccount, width: usize) -> StoreBox {
        // Money that went away (a reservation expired) shows as the balance left.
        let had_money = self
            .account_before(user, account.id)
            .and_then(money)
            .is_some();
        let money = money(account).or_else(|| {
            had_money.then(|| strings::picture_balance(account.balance(), account.credits_pending))
        });
        let moved = money.is_some() && self.money_moved(user, account);
        // A closed account with nothing left in it says so instead of "balance 0".
        let emptied = account.balance() == 0 && account.credits_pending == 0;
        // An account that carries the user's tag in `user_data_128` (only the lane whose
        // design declares one stamps it) says so while there is nothing else to say: the
        // link to the user is then in TigerBeetle, and the audience should see it.
        let tagged = account.user_key != 0 && account.user_key == user_key(&user.user);
        let second = if account.closed && (emptied || money.is_none()) {
            strings::PICTURE_CLOSED.to_string()
        } else {
            money.unwrap_or_else(|| {
                if tagged {
                    strings::picture_tag(&user.user)
                } else {
                    String::new()
                }
            })
        };
        StoreBox {
            lines: [short_id(&guid_of(account.id)), second],
            new: self.account_is_new(user, account),
            changed_line: moved.then_some(1),
            width,
        }
    }

    fn pair_boxes(&self, user: &UserView, pair: &Pair, geometry: Geometry) -> Vec<Line<'static>> {
        let Geometry {
            box_width,
            link_width,
        } = geometry;
        let empty = |text: &str| Absent {
            text: text.to_string(),
            width: box_width,
        };
        let (left, link, right): (Side, Link, Side) = match pair {
            Pair::Linked(row, account) => (
                Side::Box(self.row_box(user, row, box_width)),
                Link::Arrow,
                Side::Box(self.account_box(user, account, box_width)),
            ),
            Pair::RowAlone(row) => (
                Side::Box(self.row_box(user, row, box_width)),
                Link::Broken,
                Side::Absent(empty(strings::PICTURE_NO_ACCOUNT)),
            ),
            Pair::AccountAlone(account) => (
                Side::Absent(empty(strings::PICTURE_NO_ROW)),
                Link::None,
                Side::Box(self.account_box(user, account, box_width)),
            ),
            Pair::NoAnswer(row) => (
                match row {
                    Some(row) => Side::Box(self.row_box(user, row, box_width)),
                    None => Side::Absent(empty(strings::PICTURE_NO_ROW)),
                },
                Link::None,
                Side::Absent(empty(strings::LANE_NO_ANSWER)),
            ),
            Pair::Nothing => {
                return vec![Line::styled(
                    format!("{}: {}", user.user, strings::PICTURE_NOTHING),
                    self.theme.dim(),
                )];
            }
        };
        (0..BOX_ROWS)
            .map(|row| {
                let mut spans = left.spans(self.theme, row);
                spans.push(link.span(self.theme, row, link_width));
                spans.extend(right.spans(self.theme, row));
                Line::from(spans)
            })
            .collect()
    }

    fn user_compact_lines(&self, user: &UserView) -> Vec<Line<'static>> {
        let mut lines: Vec<Line<'static>> = pairs(user)
            .iter()
            .map(|pair| Line::from(self.compact_pair(user, pair)))
            .collect();
        if let Some(severity) = marked(self.report, &user.user, ViolationKind::DuplicateAccount) {
            let count = user.record.as_ref().map_or(0, Vec::len);
            lines.push(self.mark_line(&strings::picture_duplicate(count), severity));
        }
        lines
    }

    fn compact_row(&self, user: &UserView, row: &ReferenceRow) -> Span<'static> {
        let style = if self.row_is_new(user, row) {
            self.theme.changed()
        } else {
            Style::new()
        };
        Span::styled(format!("{} {}", user.user, short_id(&row.guid)), style)
    }

    fn compact_account(&self, user: &UserView, account: &RecordAccount) -> Span<'static> {
        let style = if self.account_is_new(user, account) {
            self.theme.changed()
        } else {
            Style::new()
        };
        let mut text = short_id(&guid_of(account.id));
        if let Some(money) = money(account) {
            text.push_str(&format!(" {money}"));
        }
        Span::styled(text, style)
    }

    /// One pair on one line: the row, the link, the account, and the verdicts' mark.
    fn compact_pair(&self, user: &UserView, pair: &Pair) -> Vec<Span<'static>> {
        let mark = |kind: ViolationKind, word: &str| {
            marked(self.report, &user.user, kind)
                .map(|severity| Span::styled(format!(" {word}"), self.theme.severity(severity)))
        };
        let no_row = || Span::styled(strings::PICTURE_NO_ROW, self.theme.dim());
        match pair {
            Pair::Linked(row, account) => vec![
                self.compact_row(user, row),
                Span::styled(" ──▶ ", self.theme.right()),
                self.compact_account(user, account),
            ],
            Pair::RowAlone(row) => {
                let mut spans = vec![
                    self.compact_row(user, row),
                    Span::styled(" ╌╳ ", self.theme.problem()),
                    Span::styled(strings::PICTURE_NO_ACCOUNT, self.theme.dim()),
                ];
                spans.extend(mark(
                    ViolationKind::OrphanReference,
                    strings::PICTURE_ORPHAN_SHORT,
                ));
                spans
            }
            Pair::AccountAlone(account) => {
                let mut spans = vec![
                    no_row(),
                    Span::styled(" ╳ ", self.theme.problem()),
                    self.compact_account(user, account),
                ];
                spans.extend(mark(
                    ViolationKind::UntraceableAccount,
                    strings::PICTURE_UNTRACEABLE_SHORT,
                ));
                spans
            }
            Pair::NoAnswer(row) => vec![
                row.map_or_else(no_row, |row| self.compact_row(user, row)),
                Span::raw(" ? "),
                Span::styled(strings::LANE_NO_ANSWER, self.theme.dim()),
            ],
            Pair::Nothing => vec![Span::styled(
                format!("{}: {}", user.user, strings::PICTURE_NOTHING),
                self.theme.dim(),
            )],
        }
    }
}

#[derive(Clone, Copy)]
struct Geometry {
    box_width: usize,
    link_width: usize,
}

/// A store's entry drawn as a box of two lines.
struct StoreBox {
    lines: [String; 2],
    new: bool,
    /// The line whose value changed since the previous step (money that moved).
    changed_line: Option<usize>,
    width: usize,
}

/// Where a store holds nothing: a word in the middle, no box.
struct Absent {
    text: String,
    width: usize,
}

enum Side {
    Box(StoreBox),
    Absent(Absent),
}

impl Side {
    fn spans(&self, theme: Theme, row: usize) -> Vec<Span<'static>> {
        match self {
            Side::Box(store) => store.spans(theme, row),
            Side::Absent(absent) if row == 1 => {
                vec![Span::styled(
                    centre(&absent.text, absent.width),
                    theme.dim(),
                )]
            }
            Side::Absent(absent) => vec![Span::raw(" ".repeat(absent.width))],
        }
    }
}

impl StoreBox {
    fn spans(&self, theme: Theme, row: usize) -> Vec<Span<'static>> {
        let inner = self.width - 2;
        let border = if self.new {
            theme.changed()
        } else {
            theme.border()
        };
        match row {
            0 if self.new => vec![Span::styled(
                format!("┌{}┐", pad(strings::PICTURE_NEW, inner).replace(' ', "─")),
                border,
            )],
            0 => vec![Span::styled(format!("┌{}┐", "─".repeat(inner)), border)],
            1 | 2 => {
                let line = row - 1;
                let style = if self.new || self.changed_line == Some(line) {
                    theme.changed()
                } else {
                    theme.title()
                };
                vec![
                    Span::styled("│", theme.border()),
                    Span::styled(pad(&self.lines[line], inner), style),
                    Span::styled("│", theme.border()),
                ]
            }
            _ => vec![Span::styled(format!("└{}┘", "─".repeat(inner)), border)],
        }
    }
}

enum Link {
    Arrow,
    Broken,
    None,
}

impl Link {
    fn span(&self, theme: Theme, row: usize, width: usize) -> Span<'static> {
        if row != 1 {
            return Span::raw(" ".repeat(width));
        }
        match self {
            Link::Arrow => Span::styled(format!("{}▶", "─".repeat(width - 1)), theme.right()),
            Link::Broken => Span::styled(
                format!("{}╳ ", "╌".repeat(width.saturating_sub(2))),
                theme.problem(),
            ),
            Link::None => Span::raw(" ".repeat(width)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lane::Lane;
    use crate::domain::verdict::Answer;
    use crate::engine::report::WorkerState;

    /// Alice's stores in one lane: no SQLite row, one TigerBeetle account whose
    /// `user_data_128` is `tag`.
    fn report(lane: Lane, tag: u128) -> LaneReport {
        let account = RecordAccount {
            id: 0x0000_0001_0000_4000_8000_0000_48ce_17dc,
            ledger: 7,
            code: 1,
            user_key: tag,
            debits_posted: 0,
            credits_posted: 0,
            debits_pending: 0,
            credits_pending: 0,
            closed: false,
        };
        LaneReport {
            lane,
            worker: WorkerState::Idle,
            events: Vec::new(),
            outcome: None,
            outcomes: Vec::new(),
            users: vec![UserView {
                user: "alice".to_string(),
                reference: None,
                record: Some(vec![account]),
                journal: None,
                outbox: None,
                answer: Answer::Exists,
                truth: Answer::Exists,
                outcome: None,
            }],
            violations: Vec::new(),
            undetermined: Vec::new(),
            answered_by: None,
        }
    }

    fn text(report: &LaneReport) -> String {
        let picture = Picture {
            theme: Theme::high_contrast(),
            report,
            baseline: None,
        };
        picture
            .lines(31, 20)
            .iter()
            .map(|line| line.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Goal: the picture shows the link to the user where TigerBeetle holds one (the lane
    /// that declares a user tag), and nowhere else. Method: the same account drawn with
    /// alice's key in `user_data_128`, then with 0.
    #[test]
    fn an_account_shows_its_user_tag_only_when_it_carries_one() {
        let tagged = text(&report(Lane::RecordFirstReadRecord, user_key("alice")));
        assert!(tagged.contains("tag alice"), "{tagged}");
        let untagged = text(&report(Lane::RecordFirst, 0));
        assert!(!untagged.contains("tag"), "{untagged}");
        assert!(untagged.contains("48ce17dc"), "{untagged}");
    }
}
