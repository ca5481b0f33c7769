//! The storm's group commit: a worker runs a batch of account creations at once, each of
//! the lane's writes for the whole batch in one store round trip where its design allows
//! it (one SQLite transaction, one TigerBeetle `create_accounts` request, one journal
//! transaction per checkpoint), in the lane's own order for every request of the batch.
//! TigerBeetle answers per account, so each request is still classified on its own. The
//! cost is group commit's: a crash at a hold point catches the whole batch there, and
//! callers hear their ends only once the batch is done.

use super::{Result, Worker, journaled_result, on_the_wire, result_of_record};
use crate::domain::lane::{HoldPoint, Lane, Recovery, WriteOrder};
use crate::domain::outcome::WriteOutcome;
use crate::domain::stored::{JournalState, ReferenceRow};
use crate::domain::verdict::ViolationKind;
use crate::stores::reference::{BatchWrite, OutboxUpdate};
use crate::stores::wire;
use crate::worker::protocol::{BatchRequest, RequestResult, Store};

/// One request of a batch on its way: its row, its SQLite write once made, and its end
/// once it has one (a request without an end goes on to the next write).
struct Item {
    row: ReferenceRow,
    reference: Option<WriteOutcome>,
    result: Option<RequestResult>,
}

impl Item {
    fn new(row: ReferenceRow) -> Item {
        Item {
            row,
            reference: None,
            result: None,
        }
    }
}

/// The rows of the requests that have no end yet.
fn open_rows(items: &[Item]) -> Vec<ReferenceRow> {
    items
        .iter()
        .filter(|item| item.result.is_none())
        .map(|item| item.row.clone())
        .collect()
}

impl Worker {
    /// A storm's batch: runs without holding except at `hold_at`, on a new TigerBeetle
    /// client if asked (see `execute_free`).
    pub(super) fn execute_batch(
        &mut self,
        requests: Vec<BatchRequest>,
        hold_at: Option<HoldPoint>,
        fresh_client: bool,
    ) -> Result<()> {
        if fresh_client {
            self.record = crate::stores::record::RecordStore::connect(
                &self.options.record_address,
                self.options.record_timeout,
            )?;
        }
        self.channel.free_run = Some(hold_at);
        let result = self.run_batch(requests);
        self.channel.free_run = None;
        result
    }

    fn run_batch(&mut self, requests: Vec<BatchRequest>) -> Result<()> {
        let Some(holder) = requests.first().map(|request| request.user.clone()) else {
            return Ok(());
        };
        let journaled = self.options.lane.recovery() == Recovery::Journal;
        let mut items = if journaled {
            self.begin_journaled_batch(requests)?
        } else {
            let mut items = Vec::with_capacity(requests.len());
            for request in requests {
                items.push(Item::new(self.new_row(
                    &request.user,
                    &request.name,
                    None,
                )?));
            }
            items
        };
        if items.is_empty() {
            return Ok(());
        }
        self.channel.hold(&holder, HoldPoint::BeforeFirstWrite)?;
        match (
            self.options.lane.recovery(),
            self.options.lane.write_order(),
        ) {
            (Recovery::Relay, _) => self.outbox_batch(&holder, &mut items)?,
            (_, WriteOrder::ReferenceFirst) => {
                self.reference_then_record_batch(&holder, &mut items)?
            }
            (_, WriteOrder::RecordFirst) => {
                self.record_then_reference_batch(&holder, &mut items)?
            }
        }
        if journaled {
            let completed: Vec<&str> = items
                .iter()
                .filter(|item| item.result == Some(RequestResult::Created))
                .map(|item| item.row.uuid.as_str())
                .collect();
            let all: Vec<&str> = items.iter().map(|item| item.row.uuid.as_str()).collect();
            self.journal()?
                .end_batch(&completed, &all, std::process::id())?;
        }
        for item in items {
            // A request that reached no end of its own was left by a write that failed.
            let result = item
                .result
                .unwrap_or_else(|| RequestResult::Failed("no write reached its end".into()));
            let result = if journaled {
                journaled_result(result)
            } else {
                result
            };
            self.finish(&item.row.uuid, result)?;
        }
        Ok(())
    }

    /// Journals the batch's new requests, owned by this process, in one transaction. A
    /// request the journal already holds (a retry) goes the one-request way, which takes
    /// it over or joins the run in progress, and reports its own end.
    fn begin_journaled_batch(&mut self, requests: Vec<BatchRequest>) -> Result<Vec<Item>> {
        let order = self.options.lane.write_order();
        let mut rows = Vec::with_capacity(requests.len());
        for request in requests {
            if self.journal()?.entry(&request.user)?.is_some() {
                self.create_journaled(&request.user, &request.name, order, None)?;
                continue;
            }
            let guid = crate::domain::ids::guid_of(self.fresh_id());
            self.drew(&request.user, &guid)?;
            rows.push(ReferenceRow {
                uuid: request.user,
                guid,
                name: request.name,
            });
        }
        let keys: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|row| (row.uuid.as_str(), row.name.as_str(), row.guid.as_str()))
            .collect();
        let began = self
            .journal()?
            .begin_owned_batch(&keys, std::process::id())?;
        let mut items = Vec::with_capacity(rows.len());
        for (row, began) in rows.into_iter().zip(began) {
            if began {
                items.push(Item::new(row));
            } else {
                // Another process journaled it in the meantime.
                self.create_journaled(&row.uuid, &row.name, order, None)?;
            }
        }
        Ok(items)
    }

    /// Write last for the batch: one SQLite transaction for every row (a journal lane
    /// then checkpoints them all in one), then one TigerBeetle request for every account
    /// whose row stands.
    fn reference_then_record_batch(&mut self, holder: &str, items: &mut [Item]) -> Result<()> {
        let rows: Vec<ReferenceRow> = items.iter().map(|item| item.row.clone()).collect();
        let mode = if self.options.lane == Lane::RegeneratedId {
            BatchWrite::Upsert
        } else {
            BatchWrite::Insert
        };
        let outcomes = self.reference.write_batch(&rows, mode);
        for (item, outcome) in items.iter_mut().zip(outcomes) {
            self.wrote(&item.row.uuid, Store::Reference, &item.row.guid, &outcome)?;
            item.result = self.refused_reference(&item.row.uuid, &outcome)?;
            item.reference = Some(outcome);
        }
        let written = open_rows(items);
        if written.is_empty() {
            return Ok(());
        }
        if let Some(journal) = &self.journal {
            let users: Vec<&str> = written.iter().map(|row| row.uuid.as_str()).collect();
            journal.checkpoint_batch(&users, JournalState::ReferenceWritten)?;
        }
        self.channel.hold(holder, HoldPoint::BetweenWrites)?;
        let outcomes = self.write_record_batch(holder, &written)?;
        let mut outcomes = outcomes.into_iter();
        let mut applied = false;
        for item in items.iter_mut().filter(|item| item.result.is_none()) {
            let Some(record) = outcomes.next() else { break };
            let user = item.row.uuid.clone();
            if let Some(rejected) = self.check_writes(&user, item.reference.as_ref(), &record)? {
                item.result = Some(rejected);
                continue;
            }
            applied |= record.is_applied();
            item.result = Some(result_of_record(&record));
        }
        if applied {
            self.channel.hold(holder, HoldPoint::AfterSecondWrite)?;
        }
        Ok(())
    }

    /// The end a SQLite write gives its request, if it stops it there: a refused write
    /// fails it, a different row already there is alerted (by a lane that alerts).
    fn refused_reference(
        &mut self,
        user: &str,
        outcome: &WriteOutcome,
    ) -> Result<Option<RequestResult>> {
        Ok(match outcome {
            WriteOutcome::Failed(reason) | WriteOutcome::Unknown(reason) => {
                Some(RequestResult::Failed(format!("SQLite: {reason}")))
            }
            WriteOutcome::ExistsDifferent if self.options.lane.raises_alerts() => {
                let detail = "SQLite holds this user with another id or name".to_string();
                Some(self.alert(user, ViolationKind::ExistsDifferent, detail)?)
            }
            _ => None,
        })
    }

    /// Record first for the batch: one TigerBeetle request for every account, then one
    /// SQLite transaction for the rows of the accounts TigerBeetle holds.
    fn record_then_reference_batch(&mut self, holder: &str, items: &mut [Item]) -> Result<()> {
        let rows: Vec<ReferenceRow> = items.iter().map(|item| item.row.clone()).collect();
        let outcomes = self.write_record_batch(holder, &rows)?;
        for (item, record) in items.iter_mut().zip(outcomes) {
            if !record.is_applied() {
                item.result = Some(result_of_record(&record));
            }
        }
        let applied = open_rows(items);
        if applied.is_empty() {
            return Ok(());
        }
        self.channel.hold(holder, HoldPoint::BetweenWrites)?;
        let outcomes = self.reference.write_batch(&applied, BatchWrite::Insert);
        let mut outcomes = outcomes.into_iter();
        let mut written = false;
        for item in items.iter_mut().filter(|item| item.result.is_none()) {
            let Some(reference) = outcomes.next() else {
                break;
            };
            self.wrote(&item.row.uuid, Store::Reference, &item.row.guid, &reference)?;
            if let WriteOutcome::Failed(reason) | WriteOutcome::Unknown(reason) = &reference {
                item.result = Some(RequestResult::Incomplete(format!(
                    "TigerBeetle created the account, SQLite refused its row ({reason})"
                )));
            } else {
                written = true;
            }
        }
        if written {
            self.channel.hold(holder, HoldPoint::AfterSecondWrite)?;
        }
        for item in items.iter_mut().filter(|item| item.result.is_none()) {
            item.result = Some(RequestResult::Created);
        }
        Ok(())
    }

    /// The outbox for the batch: every row with its message in one SQLite transaction,
    /// then the relay delivers the batch's messages in one TigerBeetle request (with one
    /// transaction counting the attempts before it and one marking them delivered after).
    fn outbox_batch(&mut self, holder: &str, items: &mut [Item]) -> Result<()> {
        let rows: Vec<ReferenceRow> = items.iter().map(|item| item.row.clone()).collect();
        let outcomes = self
            .reference
            .write_batch(&rows, BatchWrite::InsertWithOutbox);
        for (item, outcome) in items.iter_mut().zip(outcomes) {
            self.wrote(&item.row.uuid, Store::Outbox, &item.row.guid, &outcome)?;
            item.result = self.refused_reference(&item.row.uuid, &outcome)?;
        }
        let queued = open_rows(items);
        if queued.is_empty() {
            return Ok(());
        }
        self.channel.hold(holder, HoldPoint::BetweenWrites)?;
        let guids: Vec<&str> = queued.iter().map(|row| row.guid.as_str()).collect();
        self.reference
            .update_outbox_batch(&guids, OutboxUpdate::Attempt)?;
        let outcomes = self.write_record_batch(holder, &queued)?;
        let mut outcomes = outcomes.into_iter();
        let mut delivered = Vec::new();
        for item in items.iter_mut().filter(|item| item.result.is_none()) {
            let Some(record) = outcomes.next() else { break };
            let user = item.row.uuid.clone();
            if let Some(rejected) = self.check_writes(&user, None, &record)? {
                item.result = Some(rejected);
            } else if record.is_applied() {
                delivered.push(item.row.guid.clone());
            } else {
                // The message stays in the outbox: the relay tries again on its next round.
                item.result = Some(RequestResult::Pending);
            }
        }
        if delivered.is_empty() {
            return Ok(());
        }
        self.channel.hold(holder, HoldPoint::AfterSecondWrite)?;
        let guids: Vec<&str> = delivered.iter().map(String::as_str).collect();
        self.reference
            .update_outbox_batch(&guids, OutboxUpdate::Delivered)?;
        for item in items.iter_mut().filter(|item| item.result.is_none()) {
            item.result = Some(RequestResult::Created);
        }
        Ok(())
    }

    /// Sends one TigerBeetle request creating the accounts of `rows`, holds while it is in
    /// flight (once its bytes are on the wire, as `write_record` does), then awaits the
    /// per-account outcomes and reports each write.
    fn write_record_batch(
        &mut self,
        holder: &str,
        rows: &[ReferenceRow],
    ) -> Result<Vec<WriteOutcome>> {
        let mut specs = Vec::with_capacity(rows.len());
        for row in rows {
            specs.push(self.account_spec(&row.uuid, &row.guid)?);
        }
        let ports = wire::ports_of(&self.options.record_address);
        let request_bytes = wire::create_request_bytes(specs.len());
        let Worker {
            record,
            channel,
            runtime,
            ..
        } = self;
        let outcomes = runtime.block_on(async {
            let before = wire::acked_bytes_to(&ports);
            let mut request = Box::pin(record.create_accounts_request(&specs));
            // The first poll hands the request to the client's I/O thread.
            if let std::task::Poll::Ready(outcomes) = futures::poll!(&mut request) {
                return Ok(outcomes);
            }
            let answered = on_the_wire(&mut request, &ports, before, request_bytes).await;
            channel.hold(holder, HoldPoint::RecordInFlight)?;
            match answered {
                Some(outcomes) => Ok(outcomes),
                None => Ok::<_, super::WorkerError>(request.await),
            }
        })?;
        for (row, outcome) in rows.iter().zip(&outcomes) {
            self.wrote(&row.uuid, Store::Record, &row.guid, outcome)?;
        }
        Ok(outcomes)
    }
}
