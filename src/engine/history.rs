//! The lab's history of a run, kept as Jepsen keeps one: every operation a lane's
//! application was asked for is `invoke`d, then ends `ok`, `fail` (certainly did not
//! happen) or `info` (in doubt: it may yet take effect), with the ids the workers drew and
//! each store's result in between. The workers report every id they draw, and for whom,
//! before they write with it; that link lives only here, never in the system under test
//! (TigerBeetle's `user_data_128` is 0), except in the one lane whose design declares a
//! user tag (`Lane::tags_user`), and even there the checker's truth comes from this
//! history, not from the tag under test. The checker judges ownership, duplicates and
//! untraceable funds from the stores plus this history. It is written to the run's folder
//! (`RunLayout::history`), one JSON object a line, and read back by `cabaret check`.

use crate::domain::lane::Lane;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Jepsen's operation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperationType {
    Invoke,
    Ok,
    Fail,
    /// Indeterminate: the operation may or may not have taken effect.
    Info,
}

/// One line of the history, before the lane and index are known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    /// The worker process (its pid), when one did it.
    pub(crate) process: Option<u32>,
    pub(crate) kind: OperationType,
    /// The operation: `create`, `reserve`, `recover`, `draw-id`, `write-sqlite`,
    /// `write-tigerbeetle`, `read`.
    pub(crate) function: &'static str,
    pub(crate) user: String,
    /// The operation's value: an id, a store's result, an answer.
    pub(crate) value: String,
    /// When the controller learnt of it.
    pub(crate) at: Instant,
}

/// One line of the history file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub(crate) index: u64,
    pub(crate) time_ms: u64,
    pub lane: Lane,
    pub(crate) process: Option<u32>,
    #[serde(rename = "type")]
    pub kind: OperationType,
    #[serde(rename = "f")]
    pub function: String,
    pub user: String,
    pub value: String,
}

/// The function of a line that records an id drawn for a user.
pub(crate) const DRAW_ID: &str = "draw-id";

/// The history file being written.
pub(crate) struct HistoryFile {
    path: PathBuf,
    next_index: u64,
    started: Instant,
}

impl HistoryFile {
    /// A new, empty history at `path` (a run starts from an empty folder).
    pub(crate) fn create(path: PathBuf) -> std::io::Result<HistoryFile> {
        std::fs::write(&path, "")?;
        Ok(HistoryFile {
            path,
            next_index: 0,
            started: Instant::now(),
        })
    }

    /// Appends `events` of `lane`, in order.
    pub(crate) fn append(&mut self, lane: Lane, events: Vec<Event>) -> std::io::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for event in events {
            let line = Line {
                index: self.next_index,
                time_ms: event.at.saturating_duration_since(self.started).as_millis() as u64,
                lane,
                process: event.process,
                kind: event.kind,
                function: event.function.to_string(),
                user: event.user,
                value: event.value,
            };
            self.next_index += 1;
            text.push_str(&serde_json::to_string(&line).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        let mut file = std::fs::OpenOptions::new().append(true).open(&self.path)?;
        file.write_all(text.as_bytes())
    }
}

/// Reads a history file back: every line, in order. A missing file is an empty history
/// (a run kept before histories were written, or a folder `check` is given by hand).
pub fn read(path: &Path) -> Result<Vec<Line>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("{}: {error}", path.display())),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(line_index, line)| {
            serde_json::from_str(line)
                .map_err(|error| format!("{}:{}: {error}", path.display(), line_index + 1))
        })
        .collect()
}

/// Which user each account id was drawn for in `lane`, by the history.
pub fn drawn_ids(lines: &[Line], lane: Lane) -> BTreeMap<u128, String> {
    lines
        .iter()
        .filter(|line| line.lane == lane && line.function == DRAW_ID)
        .filter_map(|line| crate::domain::ids::id_of(&line.value).map(|id| (id, line.user.clone())))
        .collect()
}
