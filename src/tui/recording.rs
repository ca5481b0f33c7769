//! `--record FILE`: an asciicast v2 file of exactly what the terminal was sent, with real
//! timings, for a talk's fallback (`asciinema play FILE`). [`Recorder`] wraps the
//! terminal's writer: every flush (ratatui flushes once a frame) becomes one output
//! event, stamped with the time since the recording began.
//!
//! The format (https://docs.asciinema.org/manual/asciicast/v2/): a header object on the
//! first line, then one `[seconds, "o", text]` array a line, and `[seconds, "r",
//! "COLSxROWS"]` when the terminal was resized (seen at the next frame).

use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Serialize)]
struct Header<'a> {
    version: u8,
    width: u16,
    height: u16,
    timestamp: u64,
    title: &'a str,
    env: Env,
}

#[derive(Serialize)]
struct Env {
    #[serde(rename = "TERM")]
    term: String,
}

/// A writer that sends everything on to the terminal and records it.
pub(crate) struct Recorder<W: Write> {
    terminal: W,
    /// `None` once writing the recording failed: the show goes on, unrecorded.
    file: Option<BufWriter<File>>,
    started: Instant,
    pending: Vec<u8>,
    /// The terminal's size as last recorded.
    size: (u16, u16),
}

impl<W: Write> Recorder<W> {
    /// Creates `path` and writes the header for a terminal of `width` × `height`.
    pub(crate) fn create(
        terminal: W,
        path: &Path,
        width: u16,
        height: u16,
        title: &str,
    ) -> std::io::Result<Self> {
        let mut file = BufWriter::new(File::create(path)?);
        let header = Header {
            version: 2,
            width,
            height,
            timestamp: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_secs()),
            title,
            env: Env {
                term: std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".to_string()),
            },
        };
        serde_json::to_writer(&mut file, &header)?;
        file.write_all(b"\n")?;
        file.flush()?;
        Ok(Recorder {
            terminal,
            file: Some(file),
            started: Instant::now(),
            pending: Vec::new(),
            size: (width, height),
        })
    }

    fn record_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let at = self.started.elapsed().as_secs_f64();
        // A resize shows as the frame drawn after it: the size goes first.
        if let Ok(size) = crossterm::terminal::size() {
            if size != self.size {
                self.size = size;
                self.record_event(at, "r", format!("{}x{}", size.0, size.1));
            }
        }
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        self.record_event(at, "o", text);
    }

    fn record_event(&mut self, at: f64, kind: &str, data: String) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let written = serde_json::to_writer(&mut *file, &(at, kind, data))
            .map_err(std::io::Error::from)
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.flush());
        if written.is_err() {
            // A full disk must not stop the show: the recording simply ends here.
            self.file = None;
        }
    }
}

impl<W: Write> Write for Recorder<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.terminal.write(bytes)?;
        self.pending.extend_from_slice(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.record_pending();
        self.terminal.flush()
    }
}

impl<W: Write> Drop for Recorder<W> {
    fn drop(&mut self) {
        self.record_pending();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flush_is_one_event_after_the_header() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let path = folder.path().join("talk.cast");
        let mut shown = Vec::new();
        // The size of the terminal the tests run in, if any: no resize to record.
        let (width, height) = crossterm::terminal::size().unwrap_or((100, 30));
        {
            let mut recorder =
                Recorder::create(&mut shown, &path, width, height, "test").expect("a recording");
            recorder.write_all("\u{1b}[1;1Hhello ".as_bytes()).unwrap();
            recorder.write_all("wörld".as_bytes()).unwrap();
            recorder.flush().unwrap();
            recorder.flush().unwrap();
            recorder.write_all(b"!").unwrap();
        }
        assert_eq!(shown, "\u{1b}[1;1Hhello wörld!".as_bytes());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON value a line"))
            .collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(lines[0]["width"], width);
        assert_eq!(lines[0]["height"], height);
        assert_eq!(lines[1][1], "o");
        assert_eq!(lines[1][2], "\u{1b}[1;1Hhello wörld");
        assert_eq!(lines[2][2], "!");
        assert!(lines[2][0].as_f64().unwrap() >= lines[1][0].as_f64().unwrap());
    }
}
