//! The waits the engine is in, told to the face as they begin and end, so that a screen
//! can say what it waits for ("waiting for TigerBeetle… 1.4 s of 3 s").

use std::time::{Duration, Instant};

/// A wait the engine is in.
#[derive(Clone, Debug)]
pub struct Waiting {
    pub what: String,
    pub since: Instant,
    pub timeout: Duration,
}

/// Receives the engine's waits as they begin (`Some`) and end (`None`).
pub(crate) type ProgressSink = Box<dyn FnMut(Option<Waiting>) + Send>;

/// The engine's side of the sink: nothing to tell when no face listens.
pub(crate) struct Progress {
    sink: Option<ProgressSink>,
}

impl Progress {
    pub(crate) fn new(sink: Option<ProgressSink>) -> Progress {
        Progress { sink }
    }

    pub(crate) fn begin(&mut self, what: String, timeout: Duration) {
        if let Some(sink) = self.sink.as_mut() {
            sink(Some(Waiting {
                what,
                since: Instant::now(),
                timeout,
            }));
        }
    }

    pub(crate) fn end(&mut self) {
        if let Some(sink) = self.sink.as_mut() {
            sink(None);
        }
    }

    /// Runs `work`, told as a wait for `what` of at most `timeout`.
    pub(crate) fn during<T>(
        &mut self,
        what: impl Into<String>,
        timeout: Duration,
        work: impl FnOnce() -> T,
    ) -> T {
        self.begin(what.into(), timeout);
        let result = work();
        self.end();
        result
    }
}
