//! Reading both stores for real after a step, and turning what they hold into a lane's
//! report: its users, answers, truth and violations.

use super::EngineError;
use super::lanes::LaneRun;
use super::layout::LaneFiles;
use crate::domain::ids::CODE_CUSTOMER;
use crate::domain::stored::RecordAccount;
use crate::domain::verdict::{self, LaneObservation};
use crate::engine::report::{AnsweredBy, LaneReport, UserView, WorkerState};
use crate::stores::journal::Journal;
use crate::stores::record::{RecordError, RecordStore};
use crate::stores::reference::ReferenceStore;
use std::future::Future;
use std::time::{Duration, Instant};

/// The controller's reader of TigerBeetle: its client and the runtime it runs on.
pub(crate) struct Observer {
    record: RecordStore,
    runtime: tokio::runtime::Runtime,
    address: String,
    timeout: Duration,
}

impl Observer {
    pub(crate) fn connect(address: String, timeout: Duration) -> Result<Observer, EngineError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|source| EngineError::Io {
                action: "starting the engine's runtime".to_string(),
                source,
            })?;
        Ok(Observer {
            record: RecordStore::connect(&address, timeout)?,
            runtime,
            address,
            timeout,
        })
    }

    /// The read timeout, for the face to show while the stores are read.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Replaces the client with a new one. A TigerBeetle client has one request in
    /// flight at a time: reads that timed out would queue up ahead of the next ones, and
    /// its reconnection backs off while the server is away; a new client answers as soon
    /// as the server does.
    pub(crate) fn renew(&mut self) -> Result<(), EngineError> {
        let started = Instant::now();
        self.record = RecordStore::connect(&self.address, self.timeout)?;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "observer client renewed"
        );
        Ok(())
    }

    /// Asks TigerBeetle for `ledger`'s accounts until it answers, with a new client after
    /// each read that timed out, for at most `timeout`. Returns the last error if it
    /// never answered.
    pub(crate) fn wait_answering(
        &mut self,
        ledger: u32,
        timeout: Duration,
    ) -> Result<(), EngineError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self
                .runtime
                .block_on(self.record.accounts_on_ledger(ledger))
            {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() >= deadline => return Err(error.into()),
                Err(_) => self.renew()?,
            }
        }
    }

    /// The controller's own client (deposits, the bank's accounts).
    pub(crate) fn record(&self) -> &RecordStore {
        &self.record
    }

    /// Runs one of the controller's own requests to its end (each is bounded by the
    /// client's timeout).
    pub(crate) fn block_on<F: Future>(&self, request: F) -> F::Output {
        self.runtime.block_on(request)
    }

    /// Reads every lane's SQLite files and TigerBeetle ledger. TigerBeetle is read for
    /// all lanes at once, so a paused server costs one timeout, not one per lane. After a
    /// read that failed, the next read starts with a new client.
    pub(crate) fn observe(&mut self, lanes: &[LaneRun]) -> Vec<LaneObservation> {
        let started = Instant::now();
        let listings = self.runtime.block_on(futures::future::join_all(
            lanes
                .iter()
                .map(|lane_run| self.record.accounts_on_ledger(lane_run.ledger)),
        ));
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "stores read"
        );
        let observations: Vec<LaneObservation> = lanes
            .iter()
            .zip(listings)
            .map(|(lane_run, listing)| {
                let mut observation = lane_observation(&lane_run.files, listing);
                observation.drawn = lane_run.history.drawn.clone();
                observation
            })
            .collect();
        if observations
            .iter()
            .any(|observation| observation.record.is_err())
        {
            if let Err(error) = self.renew() {
                tracing::warn!(%error, "cannot renew the observer's client");
            }
        }
        observations
    }
}

/// What the lanes' stores hold while TigerBeetle is down (no replica majority runs):
/// their SQLite files, and a record that cannot be read. Asking a server that is known
/// to be down would only wait out the read timeout to learn the same.
pub(crate) fn observe_record_down(lanes: &[LaneRun]) -> Vec<LaneObservation> {
    lanes
        .iter()
        .map(|lane_run| {
            let mut observation = read_files(&lane_run.files);
            observation.record = Err("TigerBeetle is down: there is no server to ask".to_string());
            observation
        })
        .collect()
}

/// What one lane's stores hold: its SQLite files (read-only), and its TigerBeetle
/// ledger's `listing` narrowed to customers' accounts.
pub(crate) fn lane_observation(
    files: &LaneFiles,
    listing: Result<Vec<RecordAccount>, RecordError>,
) -> LaneObservation {
    let mut observation = read_files(files);
    observation.record = listing
        .map(|accounts| {
            accounts
                .into_iter()
                .filter(|account| account.code == CODE_CUSTOMER)
                .collect()
        })
        .map_err(|error| error.to_string());
    observation
}

fn read_files(files: &LaneFiles) -> LaneObservation {
    let reference_path = files.reference();
    let journal_path = files.journal();
    let mut observation = LaneObservation {
        reference: Ok(Vec::new()),
        outbox: Vec::new(),
        journal: Vec::new(),
        record: Ok(Vec::new()),
        drawn: std::collections::BTreeMap::new(),
    };
    if reference_path.exists() {
        match ReferenceStore::open_read_only(&reference_path) {
            Ok(store) => match (store.rows(), store.outbox()) {
                (Ok(rows), Ok(outbox)) => {
                    observation.reference = Ok(rows);
                    observation.outbox = outbox;
                }
                // The outbox is a table of the same file: one that cannot be read makes
                // the reference store unreadable, said as such, never an empty outbox.
                (Err(error), _) | (_, Err(error)) => observation.reference = Err(error.to_string()),
            },
            Err(error) => observation.reference = Err(error.to_string()),
        }
    }
    if journal_path.exists() {
        observation.journal = Journal::open_read_only(&journal_path)
            .and_then(|journal| journal.entries())
            .unwrap_or_default();
    }
    observation
}

/// The lane's report: what its stores hold for each user, the answers its own read path
/// gave (`answers`; a worker that gave none in time makes every answer unknown, said on the
/// timeline), the truth, and every violation.
/// Each user's answer, as a process of the lane's application gave it; every answer is
/// unknown when none answered in time (said on the timeline).
fn settled_answers(
    lane_run: &mut LaneRun,
    users: &[String],
    answers: super::readers::LaneAnswers,
) -> (Option<AnsweredBy>, Vec<(String, verdict::Answer)>) {
    match answers {
        Ok(answered) => (Some(answered.by), answered.answers),
        Err(reason) => {
            lane_run.events.push(super::lanes::entry(
                "",
                super::report::TimelineKind::Trouble,
                &reason,
            ));
            let unknown = users
                .iter()
                .map(|user| (user.clone(), verdict::Answer::Unknown))
                .collect();
            (None, unknown)
        }
    }
}

pub(crate) fn lane_report(
    lane_run: &mut LaneRun,
    users: &[String],
    observation: LaneObservation,
    answers: super::readers::LaneAnswers,
    step_user: Option<&str>,
) -> LaneReport {
    let lane = lane_run.lane;
    let (answered_by, answers) = settled_answers(lane_run, users, answers);
    let answer_of = |user: &str| {
        answers
            .iter()
            .find(|(answered, _)| answered == user)
            .map_or(verdict::Answer::Unknown, |(_, answer)| *answer)
    };
    let views = users
        .iter()
        .map(|user| UserView {
            user: user.clone(),
            reference: observation.reference_row(user).cloned(),
            record: observation
                .record_accounts(user)
                .map(|accounts| accounts.into_iter().cloned().collect()),
            journal: observation
                .journal
                .iter()
                .find(|entry| entry.user == *user)
                .cloned(),
            outbox: observation
                .outbox
                .iter()
                .find(|message| message.uuid == *user)
                .cloned(),
            answer: answer_of(user),
            truth: verdict::truth(user, &observation),
            outcome: lane_run.step_outcomes.get(user).copied(),
        })
        .collect();
    let violations = verdict::judge(lane, &answers, &observation, &lane_run.history);
    let undetermined = verdict::undetermined(&observation);
    let worker = match lane_run.slots.first() {
        Some(slot) if slot.process.is_some() => match &slot.held {
            Some((_, point)) => WorkerState::Held(*point),
            None => WorkerState::Idle,
        },
        _ => lane_run.state.clone(),
    };
    LaneReport {
        lane,
        worker,
        events: std::mem::take(&mut lane_run.events),
        outcome: step_user.and_then(|user| lane_run.step_outcomes.get(user).copied()),
        outcomes: lane_run.caller_outcomes.values().copied().collect(),
        users: views,
        violations,
        undetermined,
        answered_by,
    }
}
