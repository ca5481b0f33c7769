//! Watching the run's children: a TigerBeetle replica or a worker that dies without being
//! told to (killed from outside, the OOM killer, a crash) is reaped at once, said on every
//! timeline and in the header, and then failed like the same fault made by a key: a heal
//! restarts the server, a restart the worker, at any time (mid-step too).

use super::{Completion, EngineError, Refusal, Run, StepHeading};
use crate::engine::report::StepReport;

impl Run {
    /// Looks for children that died without being told to (TigerBeetle, a replica, a
    /// worker), without blocking: each is reaped and said on the timelines, and is then
    /// failed like the same fault made by a key (`heal` restarts a server, `restart` a
    /// worker). Returns the report of that moment when something died, for a face that
    /// watches between moves.
    pub(crate) fn watch(&mut self) -> Option<StepReport> {
        let died = self.notice_exits();
        if died.is_empty() {
            return None;
        }
        let heading = StepHeading {
            number: self.next_step,
            action: format!("{} died without being told to", died.join(" and ")),
            user: None,
            narration: String::new(),
            manual: true,
        };
        let completion = if self.in_progress.is_some() {
            Completion::Held
        } else {
            Completion::Complete
        };
        Some(self.report(heading, completion))
    }

    /// Reaps what died; returns what had ("TigerBeetle", "the durable worker").
    pub(super) fn notice_exits(&mut self) -> Vec<String> {
        let replica_count = self.server.replica_count();
        let mut died = Vec::new();
        for (replica_index, status) in self.server.reap_exited() {
            let how = crate::stores::process::describe_exit(status);
            let what = if replica_count > 1 {
                format!("TigerBeetle replica {}", replica_index + 1)
            } else {
                "TigerBeetle".to_string()
            };
            tracing::warn!(what = %what, how = %how, "TigerBeetle died");
            self.lanes
                .crash_all(&format!("{what} died without being told to ({how})"));
            self.record_exit = Some(format!("{what} died ({how})"));
            died.push(what);
        }
        died.extend(
            self.lanes
                .reap_exited()
                .into_iter()
                .map(|lane| format!("the {lane} worker")),
        );
        died
    }

    /// `restart` while a request is held mid-step: the lanes whose workers died get new
    /// ones at once; the held requests of the other lanes stay held.
    pub(super) fn restart_during_step(&mut self) -> Result<StepReport, EngineError> {
        let restarted = self.lanes.restart_workers()?;
        if restarted.is_empty() {
            return Err(Refusal::RequestInProgress.into());
        }
        self.lanes.recover_now(&restarted, &mut self.progress);
        let heading = StepHeading {
            number: self.next_step,
            action: "restart died workers (mid-step)".to_string(),
            user: None,
            narration: String::new(),
            manual: true,
        };
        Ok(self.report(heading, Completion::Held))
    }
}
