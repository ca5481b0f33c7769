//! Reading both stores for real after a step, and turning what they hold into a lane's
//! report: its users, answers, truth and violations.

use super::LaneRun;
use crate::domain::ids::CODE_CUSTOMER;
use crate::domain::stored::RecordAccount;
use crate::domain::verdict::{self, LaneObservation};
use crate::engine::report::{LaneReport, UserView, WorkerState};
use crate::stores::journal::Journal;
use crate::stores::record::{RecordError, RecordStore};
use crate::stores::reference::ReferenceStore;

/// Reads every lane's SQLite files and TigerBeetle ledger. TigerBeetle is read for all
/// lanes at once, so a paused server costs one timeout, not one per lane.
pub(super) fn observe(
    lanes: &[LaneRun],
    record: &RecordStore,
    runtime: &tokio::runtime::Runtime,
) -> Vec<LaneObservation> {
    let listings = runtime.block_on(futures::future::join_all(
        lanes
            .iter()
            .map(|lane_run| record.accounts_on_ledger(lane_run.ledger)),
    ));
    lanes
        .iter()
        .zip(listings)
        .map(|(lane_run, listing)| lane_observation(&lane_run.directory, listing))
        .collect()
}

/// What one lane's stores hold: its SQLite files in `directory` (read-only), and its
/// TigerBeetle ledger's `listing` narrowed to customers' accounts.
pub fn lane_observation(
    directory: &std::path::Path,
    listing: Result<Vec<RecordAccount>, RecordError>,
) -> LaneObservation {
    let mut observation = read_files(directory);
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

fn read_files(directory: &std::path::Path) -> LaneObservation {
    let reference_path = crate::domain::lane::reference_path(directory);
    let journal_path = crate::domain::lane::journal_path(directory);
    let mut observation = LaneObservation {
        reference: Ok(Vec::new()),
        outbox: Vec::new(),
        journal: Vec::new(),
        record: Ok(Vec::new()),
    };
    if reference_path.exists() {
        match ReferenceStore::open_read_only(&reference_path) {
            Ok(store) => {
                observation.reference = store.rows().map_err(|error| error.to_string());
                observation.outbox = store.outbox().unwrap_or_default();
            }
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

pub(super) fn lane_report(
    lane_run: &mut LaneRun,
    users: &[String],
    observation: LaneObservation,
    step_user: Option<&str>,
) -> LaneReport {
    let lane = lane_run.lane;
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
            answer: verdict::answer(lane, user, &observation),
            truth: verdict::truth(user, &observation),
            outcome: lane_run.step_outcomes.get(user).cloned(),
        })
        .collect();
    let violations = verdict::judge(lane, users, &observation, &lane_run.history);
    let worker = match lane_run.slots.first() {
        Some(slot) if slot.process.is_some() => match &slot.held {
            Some((_, point)) => WorkerState::Held(point.name().to_string()),
            None => WorkerState::Idle,
        },
        _ => lane_run.state.clone(),
    };
    LaneReport {
        lane,
        worker,
        events: std::mem::take(&mut lane_run.events),
        outcome: step_user.and_then(|user| lane_run.step_outcomes.get(user).cloned()),
        outcomes: lane_run.caller_outcomes.values().cloned().collect(),
        users: views,
        violations,
    }
}
