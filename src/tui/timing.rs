//! Benchmark timings, off unless `CABARET_TUI_TIMING` names a file: when the first frame
//! was drawn (wall clock, to compare with the launch time a harness took), and for each
//! key that moved the run, the time from reading the key to drawing the frame that shows
//! its result. Kept in memory and written when the TUI ends, so measuring adds no I/O to
//! the loop.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub(crate) const ENVIRONMENT_VARIABLE: &str = "CABARET_TUI_TIMING";
/// A bound on the lines kept.
const LINE_COUNT_MAX: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct Timing {
    file: Option<PathBuf>,
    lines: Vec<String>,
    first_frame_drawn: bool,
    /// The key waiting for its result: its label and when it was read.
    pending_key: Option<(String, Instant)>,
    result_arrived: bool,
    /// When the first report for the pending key arrived.
    result_arrived_at: Option<Instant>,
    /// Whether the result includes a write to TigerBeetle.
    result_wrote_record: bool,
}

impl Timing {
    pub(crate) fn from_environment() -> Self {
        Timing {
            file: std::env::var_os(ENVIRONMENT_VARIABLE).map(PathBuf::from),
            ..Timing::default()
        }
    }

    fn enabled(&self) -> bool {
        self.file.is_some()
    }

    fn push(&mut self, line: String) {
        if self.lines.len() < LINE_COUNT_MAX {
            self.lines.push(line);
        }
    }

    /// Notes when something happened (wall clock), such as the run being ready.
    pub(crate) fn mark(&mut self, what: &str) {
        if self.enabled() {
            let since_epoch = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            self.push(format!("{what}-epoch-us {}", since_epoch.as_micros()));
        }
    }

    /// A key sent a request to the runner.
    pub(crate) fn key_sent(&mut self, label: String, read_at: Instant) {
        if self.enabled() {
            self.pending_key = Some((label, read_at));
            self.result_arrived = false;
            self.result_arrived_at = None;
            self.result_wrote_record = false;
        }
    }

    /// A report arrived: the next frame shows the key's result.
    pub(crate) fn result_arrived(&mut self, wrote_record: bool) {
        if self.pending_key.is_some() {
            self.result_arrived = true;
            self.result_arrived_at.get_or_insert_with(Instant::now);
            self.result_wrote_record |= wrote_record;
        }
    }

    /// A frame is on screen.
    pub(crate) fn frame_drawn(&mut self) {
        if !self.enabled() {
            return;
        }
        if !self.first_frame_drawn {
            self.first_frame_drawn = true;
            self.mark("first-frame");
        }
        if self.result_arrived {
            if let Some((label, read_at)) = self.pending_key.take() {
                let latency = read_at.elapsed();
                let write = if self.result_wrote_record {
                    "record-write"
                } else {
                    "no-record-write"
                };
                // The part spent in the UI: from the report's arrival to the frame.
                let drawing = self
                    .result_arrived_at
                    .take()
                    .map_or(0, |arrived_at| arrived_at.elapsed().as_micros());
                self.push(format!(
                    "key {label} latency-us {} {write} report-to-frame-us {drawing}",
                    latency.as_micros()
                ));
            }
            self.result_arrived = false;
        }
    }

    /// Writes the timings to the file (once, at the end).
    pub(crate) fn flush(&mut self) {
        let Some(file) = self.file.take() else {
            return;
        };
        let mut text = self.lines.join("\n");
        text.push('\n');
        // Timings are a benchmark's by-product: failing to write them must not fail the demo.
        let _ = std::fs::write(file, text);
    }
}
