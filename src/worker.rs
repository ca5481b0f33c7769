//! A lane's application, run as its own process (the hidden `cabaret worker` subcommand)
//! so that a crash is a real SIGKILL. It reads commands from stdin and writes reports to
//! stdout (see `worker/protocol.rs`), holding at every hold point until the controller says `Go`.

mod batch;
pub mod protocol;

use crate::domain::ids::{CODE_CUSTOMER, IdSequence};
use crate::domain::lane::{HoldPoint, Lane, Recovery, WriteOrder};
use crate::domain::outcome::WriteOutcome;
use crate::domain::stored::JournalState;
use crate::domain::stored::ReferenceRow;
use crate::domain::verdict::ViolationKind;
use crate::stores::journal::Journal;
use crate::stores::journal::JournalError;
use crate::stores::record::RecordError;
use crate::stores::record::{AccountSpec, RecordStore, TransferSpec};
use crate::stores::reference::ReferenceError;
use crate::stores::reference::ReferenceStore;
use crate::worker::protocol::{Command, Report, RequestResult, Store, WorkerOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{BufRead, Write};

/// How many times one recovery round tries an unfinished request whose outcome stays
/// unknown (each try bounded by the TigerBeetle timeout).
const RECOVERY_ATTEMPT_COUNT: u32 = 3;

/// Why a worker could not carry out a command, or stops.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("{action}: {source}")]
    Io {
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("encoding a report: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("decoding the command {line:?}: {source}")]
    Decode {
        line: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Protocol(String),
    /// The controller closed the worker's stdin: it is gone, and so is the worker.
    #[error("the controller is gone")]
    ControllerGone,
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("`{0}` is not an id")]
    NotAnId(String),
    #[error("this lane keeps no journal")]
    NoJournal,
    #[error("the journal lost the entry of {0}")]
    LostEntry(String),
}

type Result<T> = std::result::Result<T, WorkerError>;

fn io(action: &'static str) -> impl FnOnce(std::io::Error) -> WorkerError {
    move |source| WorkerError::Io { action, source }
}

/// The worker's end of the protocol.
struct Channel {
    input: std::io::StdinLock<'static>,
    output: std::io::Stdout,
    /// While a `free` command runs: the one point to hold at (if any). `None` between
    /// such commands: every hold point holds, for stepping.
    free_run: Option<Option<HoldPoint>>,
}

impl Channel {
    fn report(&mut self, report: &Report) -> Result<()> {
        let line = serde_json::to_string(report).map_err(WorkerError::Encode)?;
        let mut output = self.output.lock();
        writeln!(output, "{line}").map_err(io("writing a report"))?;
        output.flush().map_err(io("flushing a report"))
    }

    /// The next command, or `None` when the controller closed our stdin.
    fn command(&mut self) -> Result<Option<Command>> {
        let mut line = String::new();
        if self
            .input
            .read_line(&mut line)
            .map_err(io("reading a command"))?
            == 0
        {
            return Ok(None);
        }
        let command = serde_json::from_str(line.trim()).map_err(|source| WorkerError::Decode {
            line: line.clone(),
            source,
        })?;
        Ok(Some(command))
    }

    /// Reports the hold and waits for `Go`. A closed stdin means the controller is gone.
    fn hold(&mut self, user: &str, point: HoldPoint) -> Result<()> {
        if self.free_run.is_some_and(|hold_at| hold_at != Some(point)) {
            return Ok(());
        }
        self.report(&Report::Hold {
            user: user.to_string(),
            point,
        })?;
        match self.command()? {
            Some(Command::Go) => Ok(()),
            Some(other) => Err(WorkerError::Protocol(format!(
                "expected `go` at {point}, got {other:?}"
            ))),
            None => Err(WorkerError::ControllerGone),
        }
    }
}

struct Worker {
    options: WorkerOptions,
    channel: Channel,
    reference: ReferenceStore,
    journal: Option<Journal>,
    record: RecordStore,
    runtime: tokio::runtime::Runtime,
    /// Where this process's TigerBeetle ids come from (seeded, strictly increasing).
    ids: IdSequence,
    /// The client registered its session at start and nothing has been asked of it since:
    /// a storm's recovery round right after a start keeps it rather than pay a new client's first
    /// request (about 0.6 s: see `recover`).
    session_fresh: bool,
}

/// Runs the worker until its stdin closes.
pub fn run(options: WorkerOptions) -> Result<()> {
    if let Some(folder) = options.reference.parent() {
        std::fs::create_dir_all(folder).map_err(io("creating the reference store's folder"))?;
    }
    // The lane's reader only reads: it opens the stores read-only, so it can neither
    // write nor make the schema, whatever it is asked.
    let reference = if options.reader {
        ReferenceStore::open_read_only(&options.reference)?
    } else {
        ReferenceStore::open(&options.reference)?
    };
    let journal = match (options.lane.recovery(), options.reader) {
        (Recovery::Journal, false) => Some(Journal::open(&options.journal)?),
        (Recovery::Journal, true) => Some(Journal::open_read_only(&options.journal)?),
        (Recovery::None | Recovery::Relay, _) => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(io("starting the worker's runtime"))?;
    let record = RecordStore::connect(&options.record_address, options.record_timeout)?;
    // Registers this client's session now, so that a request later held "in flight" has
    // really been sent. A server that is down only costs this one bounded wait.
    let session_fresh = runtime.block_on(record.lookup(1)).is_ok();
    // The ledger tells lanes (and explore's cases) apart, the incarnation a lane's
    // processes: each draws its own start.
    let stream = u64::from(options.ledger) << 32 | u64::from(options.incarnation);
    let mut random = ChaCha8Rng::seed_from_u64(options.seed);
    random.set_stream(stream);
    let ids = IdSequence::starting_from(random.r#gen());
    let mut worker = Worker {
        options,
        channel: Channel {
            input: std::io::stdin().lock(),
            output: std::io::stdout(),
            free_run: None,
        },
        reference,
        journal,
        record,
        runtime,
        ids,
        session_fresh,
    };
    tracing::info!(lane = %worker.options.lane, pid = std::process::id(), "worker ready");
    worker.channel.report(&Report::Ready {
        pid: std::process::id(),
    })?;
    while let Some(command) = worker.channel.command()? {
        match worker.execute(command) {
            Ok(()) => {}
            Err(WorkerError::ControllerGone) => {
                // Ends here, at the hold point: the TigerBeetle client is not torn down,
                // so a request in flight is left to the server, as a crash leaves it.
                std::mem::forget(worker);
                return Ok(());
            }
            Err(error) => worker.channel.report(&Report::Error {
                text: error.to_string(),
            })?,
        }
        worker.session_fresh = false;
        worker.channel.report(&Report::Idle)?;
    }
    Ok(())
}

impl Worker {
    fn execute(&mut self, command: Command) -> Result<()> {
        if self.options.reader && !matches!(command, Command::Read { .. }) {
            return Err(WorkerError::Protocol(format!(
                "the lane's reader only answers reads, not {command:?}"
            )));
        }
        match command {
            Command::Create {
                user,
                name,
                order,
                key,
            } => {
                let order = order.unwrap_or(self.options.lane.write_order());
                let key = key.as_deref();
                match self.options.lane.recovery() {
                    Recovery::None => self.create_plain(&user, &name, order, key),
                    Recovery::Journal => self.create_journaled(&user, &name, order, key),
                    Recovery::Relay => self.create_outbox(&user, &name, key),
                }
            }
            Command::Close { user } => self.close(&user),
            Command::Recover => self.recover(),
            Command::Reserve {
                user,
                amount,
                timeout_seconds,
            } => self.reserve(&user, amount, timeout_seconds),
            Command::Post { user } => self.post(&user),
            Command::Read {
                users,
                fresh_client,
            } => {
                if fresh_client {
                    // The old client backed off while the server was away (up to about
                    // 10 s between resends): the application reconnects.
                    self.record = RecordStore::connect(
                        &self.options.record_address,
                        self.options.record_timeout,
                    )?;
                }
                self.read(&users)
            }
            Command::Go => Err(WorkerError::Protocol(
                "`go` arrived while nothing was held".to_string(),
            )),
            Command::Free {
                request,
                hold_at,
                fresh_client,
            } => self.execute_free(*request, hold_at, fresh_client),
            Command::FreeBatch {
                requests,
                hold_at,
                fresh_client,
            } => self.execute_batch(requests, hold_at, fresh_client),
        }
    }

    /// A storm's request: runs without holding except at `hold_at`, on a new TigerBeetle
    /// client if asked (each client is a session of its own on the cluster, which keeps
    /// a bounded number of them: a client is not replaced otherwise).
    fn execute_free(
        &mut self,
        request: Command,
        hold_at: Option<HoldPoint>,
        fresh_client: bool,
    ) -> Result<()> {
        if matches!(
            request,
            Command::Free { .. } | Command::FreeBatch { .. } | Command::Go
        ) {
            return Err(WorkerError::Protocol(format!(
                "`free` cannot run {request:?}"
            )));
        }
        if fresh_client {
            self.record =
                RecordStore::connect(&self.options.record_address, self.options.record_timeout)?;
        }
        self.channel.free_run = Some(hold_at);
        let result = self.execute(request);
        self.channel.free_run = None;
        result
    }

    /// The lane's read path: "does X exist?" for each user, against the real stores, by
    /// the lane's read rule ([`crate::domain::verdict::read_rule`]). SQLite is read
    /// first; the ids its rows name are then looked up in TigerBeetle in one request,
    /// bounded by this worker's deadline, and only by a lane that reads first.
    fn read(&mut self, users: &[String]) -> Result<()> {
        use crate::domain::verdict::{Lookup, read_rule};
        if self.options.lane.tags_user() {
            return self.read_by_user_tag(users);
        }
        let rows: Vec<_> = users
            .iter()
            .map(|user| self.reference.find_by_uuid(user).map_err(|_error| ()))
            .collect();
        let unfinished = self.unfinished_users()?;
        let ids: Vec<u128> = rows
            .iter()
            .filter_map(|row| row.as_ref().ok().and_then(Option::as_ref))
            .filter_map(|row| crate::domain::ids::id_of(&row.guid))
            .collect();
        let held = if self.options.lane.reads_record() && !ids.is_empty() {
            let started = std::time::Instant::now();
            let held = self.runtime.block_on(self.record.held_ids(ids));
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                ok = held.is_ok(),
                "read path: TigerBeetle look-up"
            );
            // A look-up that timed out stays queued in this client, and the client is
            // kept: it may still carry a write the application gave up waiting for, which
            // lands once TigerBeetle answers again (a new client would drop it).
            held.ok()
        } else {
            Some(Vec::new())
        };
        for (user, row) in users.iter().zip(rows) {
            let answer = read_rule(
                self.options.lane,
                row.as_ref().map(Option::as_ref).map_err(|_| ()),
                unfinished.contains(user),
                |row| match &held {
                    None => Lookup::NoAnswer,
                    Some(held) => {
                        let id = crate::domain::ids::id_of(&row.guid);
                        match held.iter().find(|(held_id, _)| Some(*held_id) == id) {
                            Some((_, true)) => Lookup::HeldClosed,
                            Some((_, false)) => Lookup::Held,
                            None => Lookup::NotHeld,
                        }
                    }
                },
            );
            self.channel.report(&Report::Answered {
                user: user.clone(),
                answer,
            })?;
        }
        Ok(())
    }

    /// The read path of the lane that reads the record by user tag: for each user, one
    /// `query_accounts` on the lane's ledger for the user's key in `user_data_128`; SQLite
    /// is not read. The queries go out together, each bounded by this worker's deadline,
    /// so the whole read waits at most one deadline, as the read-first path does.
    fn read_by_user_tag(&mut self, users: &[String]) -> Result<()> {
        use crate::domain::verdict::read_rule_by_user_tag;
        let ledger = self.options.ledger;
        let queries = users.iter().map(|user| {
            self.record
                .accounts_tagged(ledger, crate::domain::ids::user_key(user))
        });
        let started = std::time::Instant::now();
        let found = self.runtime.block_on(futures::future::join_all(queries));
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            answered = found.iter().filter(|tagged| tagged.is_ok()).count(),
            asked = users.len(),
            "read path: TigerBeetle queries by user tag"
        );
        for (user, tagged) in users.iter().zip(found) {
            let closed: Option<Vec<bool>> = tagged
                .ok()
                .map(|accounts| accounts.iter().map(|account| account.closed).collect());
            self.channel.report(&Report::Answered {
                user: user.clone(),
                answer: read_rule_by_user_tag(closed.as_deref()),
            })?;
        }
        Ok(())
    }

    /// The users this lane holds an unfinished request for: a journal entry not final,
    /// an outbox message not delivered.
    fn unfinished_users(&self) -> Result<Vec<String>> {
        let mut users = Vec::new();
        if let Some(journal) = &self.journal {
            users.extend(
                journal
                    .entries()?
                    .into_iter()
                    .filter(|entry| !entry.state.is_final())
                    .map(|entry| entry.user),
            );
        }
        if self.options.lane.recovery() == Recovery::Relay {
            users.extend(
                self.reference
                    .outbox()?
                    .into_iter()
                    .filter(|message| !message.delivered)
                    .map(|message| message.uuid),
            );
        }
        Ok(users)
    }

    /// A new TigerBeetle id: never 0 nor `u128::MAX`, which TigerBeetle reserves.
    fn fresh_id(&mut self) -> u128 {
        self.ids.next_id()
    }

    /// The reference row a new request writes: with the caller's idempotency key, the id
    /// derived from it; else the id of the user's existing row, or a fresh one.
    fn new_row(&mut self, user: &str, name: &str, key: Option<&str>) -> Result<ReferenceRow> {
        let guid = match key {
            Some(key) => self.caller_chosen(user, key)?,
            None => self.id_for(user)?,
        };
        Ok(ReferenceRow {
            uuid: user.to_string(),
            guid,
            name: name.to_string(),
        })
    }

    /// The id the caller chose, derived from its idempotency key: the same on every
    /// submission of the request. The lab hears it as it hears a drawn one.
    fn caller_chosen(&mut self, user: &str, key: &str) -> Result<String> {
        let id = crate::domain::ids::caller_chosen_id(key, self.options.ledger);
        let guid = crate::domain::ids::guid_of(id);
        self.channel.report(&Report::Note {
            user: user.to_string(),
            text: format!(
                "the id {} comes from the caller's idempotency key {key}",
                crate::domain::ids::short_id(&guid)
            ),
        })?;
        self.drew(user, &guid)?;
        Ok(guid)
    }

    /// The id of the user's existing reference row, or a fresh one.
    fn id_for(&mut self, user: &str) -> Result<String> {
        match self.reference.find_by_uuid(user)? {
            Some(row) => Ok(row.guid),
            None => {
                let guid = crate::domain::ids::guid_of(self.fresh_id());
                self.drew(user, &guid)?;
                Ok(guid)
            }
        }
    }

    /// The account `user`'s request creates with the id `guid`.
    fn account_spec(&self, user: &str, guid: &str) -> Result<AccountSpec> {
        let id = crate::domain::ids::id_of(guid)
            .ok_or_else(|| WorkerError::NotAnId(guid.to_string()))?;
        // Nothing in TigerBeetle links the account to its user, as in the upstream
        // example, unless the lane's design declares a user tag: then `user_data_128`
        // holds the user's key, which its read path queries by.
        let user_key = if self.options.lane.tags_user() {
            crate::domain::ids::user_key(user)
        } else {
            0
        };
        Ok(AccountSpec {
            id,
            ledger: self.options.ledger,
            code: CODE_CUSTOMER,
            user_key,
        })
    }

    /// Tells the lab, before any write, the account id drawn for `user`: the lab's
    /// history is the only place that links an id to a user outside SQLite.
    fn drew(&mut self, user: &str, guid: &str) -> Result<()> {
        self.channel.report(&Report::Drew {
            user: user.to_string(),
            guid: guid.to_string(),
        })
    }

    fn wrote(
        &mut self,
        user: &str,
        store: Store,
        guid: &str,
        outcome: &WriteOutcome,
    ) -> Result<()> {
        self.channel.report(&Report::Wrote {
            user: user.to_string(),
            store,
            guid: guid.to_string(),
            outcome: outcome.clone(),
        })
    }

    fn finish(&mut self, user: &str, result: RequestResult) -> Result<()> {
        self.channel.report(&Report::Finished {
            user: user.to_string(),
            result,
        })
    }

    fn alert(
        &mut self,
        user: &str,
        violation: ViolationKind,
        detail: String,
    ) -> Result<RequestResult> {
        self.channel.report(&Report::Alert {
            user: user.to_string(),
            violation,
            detail: detail.clone(),
        })?;
        if let Some(journal) = &self.journal {
            journal.stop(user, violation.name())?;
        }
        Ok(RequestResult::Rejected(detail))
    }

    fn write_reference(&mut self, row: &ReferenceRow) -> Result<WriteOutcome> {
        let outcome = if self.options.lane == crate::domain::lane::Lane::RegeneratedId {
            self.reference.upsert(row)
        } else {
            self.reference.insert(row)
        };
        self.wrote(&row.uuid, Store::Reference, &row.guid, &outcome)?;
        Ok(outcome)
    }

    /// Sends the account creation, holds while it is in flight, then awaits its outcome.
    /// The hold comes once the request is on the wire (see [`on_the_wire`]).
    fn write_record(&mut self, user: &str, guid: &str) -> Result<WriteOutcome> {
        let spec = self.account_spec(user, guid)?;
        let ports = crate::stores::wire::ports_of(&self.options.record_address);
        let Worker {
            record,
            channel,
            runtime,
            ..
        } = self;
        let outcome = runtime.block_on(async {
            let before = crate::stores::wire::acked_bytes_to(&ports);
            let mut request = Box::pin(record.create_account_request(spec));
            // The first poll hands the request to the client's I/O thread.
            if let std::task::Poll::Ready(outcome) = futures::poll!(&mut request) {
                return Ok(outcome);
            }
            let request_bytes = crate::stores::wire::create_request_bytes(1);
            let answered = on_the_wire(&mut request, &ports, before, request_bytes).await;
            channel.hold(user, HoldPoint::RecordInFlight)?;
            match answered {
                Some(outcome) => Ok(outcome),
                None => Ok::<_, WorkerError>(request.await),
            }
        })?;
        self.wrote(user, Store::Record, guid, &outcome)?;
        Ok(outcome)
    }

    /// The classification checks of the upstream example, after both writes.
    fn check_writes(
        &mut self,
        user: &str,
        reference: Option<&WriteOutcome>,
        record: &WriteOutcome,
    ) -> Result<Option<RequestResult>> {
        if !self.options.lane.raises_alerts() {
            return Ok(None);
        }
        if *record == WriteOutcome::ExistsDifferent {
            let detail = "TigerBeetle holds this id with other values".to_string();
            return self
                .alert(user, ViolationKind::ExistsDifferent, detail)
                .map(Some);
        }
        if reference == Some(&WriteOutcome::Created) && *record == WriteOutcome::ExistsSame {
            let detail = "SQLite says created while TigerBeetle says exists-same: the record exists without its reference (it was written first, or the reference lost its row); a person must look".to_string();
            return self
                .alert(user, ViolationKind::OrderingViolation, detail)
                .map(Some);
        }
        Ok(None)
    }

    fn create_plain(
        &mut self,
        user: &str,
        name: &str,
        order: WriteOrder,
        key: Option<&str>,
    ) -> Result<()> {
        let row = self.new_row(user, name, key)?;
        self.channel.hold(user, HoldPoint::BeforeFirstWrite)?;
        let result = match order {
            WriteOrder::ReferenceFirst => self.reference_then_record(&row)?,
            WriteOrder::RecordFirst => self.record_then_reference(&row)?,
        };
        self.finish(user, result)
    }

    /// Write last: SQLite, then TigerBeetle; a lane with a journal checkpoints each step.
    fn reference_then_record(&mut self, row: &ReferenceRow) -> Result<RequestResult> {
        let user = row.uuid.as_str();
        let reference = self.write_reference(row)?;
        match &reference {
            WriteOutcome::Failed(reason) | WriteOutcome::Unknown(reason) => {
                return Ok(RequestResult::Failed(format!("SQLite: {reason}")));
            }
            WriteOutcome::ExistsDifferent if self.options.lane.raises_alerts() => {
                let detail = "SQLite holds this user with another id or name".to_string();
                return self.alert(user, ViolationKind::ExistsDifferent, detail);
            }
            _ => {}
        }
        self.checkpoint(user, JournalState::ReferenceWritten)?;
        self.channel.hold(user, HoldPoint::BetweenWrites)?;
        self.record_step(row, Some(&reference))
    }

    /// The TigerBeetle write of a WLRF request and what follows it.
    fn record_step(
        &mut self,
        row: &ReferenceRow,
        reference: Option<&WriteOutcome>,
    ) -> Result<RequestResult> {
        let user = row.uuid.as_str();
        let record = self.write_record(user, &row.guid)?;
        if let Some(rejected) = self.check_writes(user, reference, &record)? {
            return Ok(rejected);
        }
        let result = result_of_record(&record);
        if !record.is_applied() {
            return Ok(result);
        }
        self.channel.hold(user, HoldPoint::AfterSecondWrite)?;
        self.complete(user)?;
        Ok(result)
    }

    /// Record first: TigerBeetle, then SQLite (the record-first lane, or a misbehaving
    /// writer in another lane).
    fn record_then_reference(&mut self, row: &ReferenceRow) -> Result<RequestResult> {
        let user = row.uuid.as_str();
        let record = self.write_record(user, &row.guid)?;
        if !record.is_applied() {
            return Ok(result_of_record(&record));
        }
        self.channel.hold(user, HoldPoint::BetweenWrites)?;
        let reference = self.write_reference(row)?;
        if let WriteOutcome::Failed(reason) | WriteOutcome::Unknown(reason) = &reference {
            // Not "failed": the TigerBeetle account was applied and cannot be deleted, so
            // the caller is told that half of the request stands.
            return Ok(RequestResult::Incomplete(format!(
                "TigerBeetle created the account, SQLite refused its row ({reason})"
            )));
        }
        self.channel.hold(user, HoldPoint::AfterSecondWrite)?;
        Ok(RequestResult::Created)
    }

    fn checkpoint(&mut self, user: &str, state: JournalState) -> Result<()> {
        if let Some(journal) = &self.journal {
            journal.checkpoint(user, state)?;
        }
        Ok(())
    }

    /// Both stores are written: the journal says completed, and the request is given up,
    /// in one transaction (nothing can happen between the record-written checkpoint and
    /// the completed one, so the first is not written on its own).
    fn complete(&mut self, user: &str) -> Result<()> {
        if let Some(journal) = &self.journal {
            if !journal.complete(user, std::process::id())? {
                journal.checkpoint(user, JournalState::Completed)?;
            }
        }
        Ok(())
    }

    fn journal(&self) -> Result<&Journal> {
        self.journal.as_ref().ok_or(WorkerError::NoJournal)
    }

    fn create_journaled(
        &mut self,
        user: &str,
        name: &str,
        order: WriteOrder,
        key: Option<&str>,
    ) -> Result<()> {
        let existed = self.journal()?.entry(user)?.is_some();
        let fresh = match key {
            // A new request journals the id the caller chose.
            Some(key) if !existed => self.caller_chosen(user, key)?,
            _ => crate::domain::ids::guid_of(self.fresh_id()),
        };
        // A new request is journaled already owned (one transaction, not two), after the
        // lab heard which id it drew; one that exists is taken over, unless a live worker
        // runs it.
        if !existed && key.is_none() {
            self.drew(user, &fresh)?;
        }
        let began = !existed
            && self
                .journal()?
                .begin_owned(user, name, &fresh, std::process::id())?;
        if !began && !self.take_over(user)? {
            return self.join(user);
        }
        if existed && self.options.lane == Lane::RegeneratedId {
            // The bug: every attempt draws a new id instead of reading the journal's.
            self.drew(user, &fresh)?;
            self.journal()?.replace_guid(user, &fresh)?;
        }
        let entry = self
            .journal()?
            .entry(user)?
            .ok_or_else(|| WorkerError::LostEntry(user.to_string()))?;
        let resumable = !entry.state.is_final() && entry.name == name;
        let from = if resumable {
            entry.state
        } else {
            JournalState::IdGenerated
        };
        let row = ReferenceRow {
            uuid: user.to_string(),
            guid: entry.guid.clone(),
            name: name.to_string(),
        };
        let result = journaled_result(self.resume(&row, from, order)?);
        self.journal()?.release(user, std::process::id())?;
        self.finish(user, result)
    }

    /// Takes the user's journaled request for this process, unless another live worker is
    /// running it right now. Returns whether it took it.
    fn take_over(&self, user: &str) -> Result<bool> {
        let me = std::process::id();
        let owner = self.journal()?.owner(user)?;
        // An owner that no longer exists crashed mid-request: its request is ours to resume.
        if owner.is_some_and(|pid| pid != me && crate::stores::process::is_alive(pid)) {
            return Ok(false);
        }
        Ok(self.journal()?.claim(user, owner, me)?)
    }

    /// The same request submitted again while another worker runs it: like a durable
    /// execution engine deduplicating invocations by id, this one joins the run in
    /// progress instead of running it twice, and its caller hears "pending".
    fn join(&mut self, user: &str) -> Result<()> {
        self.channel.report(&Report::Note {
            user: user.to_string(),
            text: "the same request is already running in another process: joined it".to_string(),
        })?;
        self.finish(user, RequestResult::Pending)
    }

    /// Runs a journaled request from the checkpoint `from` on.
    fn resume(
        &mut self,
        row: &ReferenceRow,
        from: JournalState,
        order: WriteOrder,
    ) -> Result<RequestResult> {
        let user = row.uuid.as_str();
        match from {
            JournalState::IdGenerated => {
                self.channel.hold(user, HoldPoint::BeforeFirstWrite)?;
                match order {
                    WriteOrder::ReferenceFirst => self.reference_then_record(row),
                    WriteOrder::RecordFirst => self.record_then_reference(row),
                }
            }
            JournalState::ReferenceWritten => {
                self.channel.hold(user, HoldPoint::BetweenWrites)?;
                self.record_step(row, None)
            }
            JournalState::RecordWritten => {
                self.checkpoint(user, JournalState::Completed)?;
                Ok(RequestResult::Created)
            }
            // Callers start a final request afresh (at id-generated): these are never resumed.
            JournalState::Completed => Ok(RequestResult::Created),
            JournalState::Stopped => Ok(RequestResult::Rejected(
                "stopped earlier by an alert".to_string(),
            )),
        }
    }

    fn recover(&mut self) -> Result<()> {
        if self.options.lane.recovery() == Recovery::None {
            return Ok(());
        }
        // A client that lost its server backs off before reconnecting, for longer the
        // longer the server was away: a recovery round starts with a fresh one. Whatever the
        // old client still had queued may land or not; recovery resends it with the same
        // id, so either way is fine. A worker that has just started (a crashed one's
        // replacement) keeps its client, whose session it registered at start and which
        // has lost nothing: a new client's first request costs about 0.6 s (the C client
        // sends its register before its first connection exists, and resends it only
        // after its request timeout; BENCHMARKS.md, "The crash floor"). Only in a storm
        // (a `free` command), whose controller restarts TigerBeetle only while no request
        // is in flight: a stepped scenario may kill it while this worker waits.
        if !(self.session_fresh && self.channel.free_run.is_some()) {
            self.record =
                RecordStore::connect(&self.options.record_address, self.options.record_timeout)?;
        }
        match self.options.lane.recovery() {
            Recovery::None => Ok(()),
            Recovery::Journal => self.recover_journal(),
            Recovery::Relay => self.relay(),
        }
    }

    fn recover_journal(&mut self) -> Result<()> {
        let unfinished: Vec<_> = self
            .journal()?
            .entries()?
            .into_iter()
            .filter(|entry| !entry.state.is_final())
            .collect();
        let unfinished_count = unfinished.len();
        for (entry_index, entry) in unfinished.into_iter().enumerate() {
            let user = entry.user.clone();
            if !self.take_over(&user)? {
                // Another live worker is running it: resuming it too would run it twice.
                continue;
            }
            let mut result = self.resume_from_journal(&entry, 1)?;
            // A durable engine retries a step whose outcome it does not know: a server just
            // restarted may take a moment to answer. Bounded: each attempt is bounded too.
            for attempt in 2..=RECOVERY_ATTEMPT_COUNT {
                if !matches!(result, RequestResult::Unknown | RequestResult::Failed(_)) {
                    break;
                }
                let Some(entry) = self.journal()?.entry(&user)? else {
                    break;
                };
                if entry.state.is_final() {
                    break;
                }
                result = self.resume_from_journal(&entry, attempt)?;
            }
            self.journal()?.release(&user, std::process::id())?;
            let still_unfinished =
                matches!(result, RequestResult::Unknown | RequestResult::Failed(_));
            self.finish(&user, journaled_result(result))?;
            let left = unfinished_count - entry_index - 1;
            if still_unfinished && left > 0 {
                return self.stop_round(user, left, RoundPlace::Journal);
            }
        }
        Ok(())
    }

    /// Ends a recovery round early: a store that did not answer (or refused) through
    /// every attempt of one entry would do the same for the next, so the round stops
    /// rather than wait out every attempt of every entry; the `left` others it did not
    /// reach stay where they are (the journal, the outbox), for a later round if one runs
    /// (or for the live worker that runs one of them).
    fn stop_round(&mut self, user: String, left: usize, place: RoundPlace) -> Result<()> {
        let (one, many, place) = match place {
            RoundPlace::Journal => ("unfinished request", "unfinished requests", "journal"),
            RoundPlace::Outbox => ("undelivered message", "undelivered messages", "outbox"),
        };
        let what = if left == 1 { one } else { many };
        self.channel.report(&Report::Note {
            user,
            text: format!(
                "recovery stops here; it leaves {left} more {what} in the {place}, for a later round if one runs"
            ),
        })
    }

    /// One attempt at an unfinished journaled request, from its last checkpoint.
    fn resume_from_journal(
        &mut self,
        entry: &crate::domain::stored::JournalEntry,
        attempt: u32,
    ) -> Result<RequestResult> {
        let user = entry.user.clone();
        self.channel.report(&Report::Note {
            user: user.clone(),
            text: format!(
                "resuming from the journal at {} (attempt {attempt} of {RECOVERY_ATTEMPT_COUNT})",
                entry.state.name()
            ),
        })?;
        let mut from = entry.state;
        let mut guid = entry.guid.clone();
        if self.options.lane == Lane::RegeneratedId {
            // The bug again: every attempt draws a new id.
            guid = crate::domain::ids::guid_of(self.fresh_id());
            self.drew(&user, &guid)?;
            self.journal()?.replace_guid(&user, &guid)?;
            from = JournalState::IdGenerated;
        }
        let row = ReferenceRow {
            uuid: user,
            guid,
            name: entry.name.clone(),
        };
        self.resume(&row, from, WriteOrder::ReferenceFirst)
    }

    fn create_outbox(&mut self, user: &str, name: &str, key: Option<&str>) -> Result<()> {
        let row = self.new_row(user, name, key)?;
        let guid = row.guid.clone();
        self.channel.hold(user, HoldPoint::BeforeFirstWrite)?;
        let reference = self.reference.insert_with_outbox(&row);
        self.wrote(user, Store::Outbox, &guid, &reference)?;
        let result = match &reference {
            WriteOutcome::Failed(reason) | WriteOutcome::Unknown(reason) => {
                RequestResult::Failed(format!("SQLite: {reason}"))
            }
            WriteOutcome::ExistsDifferent => {
                let detail = "SQLite holds this user with another id or name".to_string();
                self.alert(user, ViolationKind::ExistsDifferent, detail)?
            }
            WriteOutcome::Created | WriteOutcome::ExistsSame => {
                self.channel.hold(user, HoldPoint::BetweenWrites)?;
                self.deliver(&row)?
            }
        };
        self.finish(user, result)
    }

    /// The relay: delivers one outbox message to TigerBeetle and marks it delivered.
    fn deliver(&mut self, row: &ReferenceRow) -> Result<RequestResult> {
        let user = row.uuid.as_str();
        let delivered = self
            .reference
            .outbox()?
            .into_iter()
            .any(|message| message.guid == row.guid && message.delivered);
        if delivered {
            return Ok(RequestResult::Created);
        }
        self.reference.count_outbox_attempt(&row.guid)?;
        let record = self.write_record(user, &row.guid)?;
        if let Some(rejected) = self.check_writes(user, None, &record)? {
            return Ok(rejected);
        }
        if !record.is_applied() {
            // The message stays in the outbox: the relay tries again on its next round.
            return Ok(RequestResult::Pending);
        }
        self.channel.hold(user, HoldPoint::AfterSecondWrite)?;
        self.reference.mark_delivered(&row.guid)?;
        Ok(RequestResult::Created)
    }

    fn relay(&mut self) -> Result<()> {
        let undelivered: Vec<_> = self
            .reference
            .outbox()?
            .into_iter()
            .filter(|message| !message.delivered)
            .collect();
        let undelivered_count = undelivered.len();
        for (message_index, message) in undelivered.into_iter().enumerate() {
            let user = message.uuid.clone();
            self.channel.report(&Report::Note {
                user: user.clone(),
                text: format!(
                    "relay delivers the outbox message (attempt {})",
                    message.attempt_count + 1
                ),
            })?;
            let row = ReferenceRow {
                uuid: message.uuid,
                guid: message.guid,
                name: message.name,
            };
            let mut result = RequestResult::Pending;
            // The relay retries until done; one recovery round makes a bounded number of tries.
            for _attempt in 0..RECOVERY_ATTEMPT_COUNT {
                self.channel.hold(&user, HoldPoint::BetweenWrites)?;
                result = self.deliver(&row)?;
                if result != RequestResult::Pending {
                    break;
                }
            }
            let undelivered = result == RequestResult::Pending;
            self.finish(&user, result)?;
            let left = undelivered_count - message_index - 1;
            if undelivered && left > 0 {
                return self.stop_round(user, left, RoundPlace::Outbox);
            }
        }
        Ok(())
    }

    /// Closes the user's account in the lane's close order (see `Lane::close_order`): in
    /// TigerBeetle by the close-account recipe's transfers (the account cannot be deleted),
    /// in SQLite by removing the row. Not journaled: a crash leaves it to a retry.
    fn close(&mut self, user: &str) -> Result<()> {
        let Some(row) = self.reference.find_by_uuid(user)? else {
            return self.finish(
                user,
                RequestResult::Failed("no account to close: SQLite has no row for it".into()),
            );
        };
        self.channel.hold(user, HoldPoint::BeforeFirstWrite)?;
        let result = match self.options.lane.close_order() {
            WriteOrder::RecordFirst => {
                let closed = self.close_record(&row)?;
                if !closed.is_applied() {
                    return self.finish(user, result_of_record(&closed));
                }
                self.channel.hold(user, HoldPoint::BetweenWrites)?;
                match self.remove_reference(&row)? {
                    WriteOutcome::Failed(reason) | WriteOutcome::Unknown(reason) => {
                        RequestResult::Incomplete(format!(
                            "TigerBeetle closed the account, SQLite kept its row ({reason})"
                        ))
                    }
                    _ => RequestResult::Closed,
                }
            }
            WriteOrder::ReferenceFirst => {
                let removed = self.remove_reference(&row)?;
                if let WriteOutcome::Failed(reason) | WriteOutcome::Unknown(reason) = removed {
                    return self.finish(user, RequestResult::Failed(format!("SQLite: {reason}")));
                }
                self.channel.hold(user, HoldPoint::BetweenWrites)?;
                match self.close_record(&row)? {
                    WriteOutcome::Failed(reason) => RequestResult::Incomplete(format!(
                        "SQLite removed the row, TigerBeetle kept the account open ({reason})"
                    )),
                    WriteOutcome::Unknown(_) => RequestResult::Unknown,
                    _ => RequestResult::Closed,
                }
            }
        };
        if result == RequestResult::Closed {
            self.channel.hold(user, HoldPoint::AfterSecondWrite)?;
        }
        self.finish(user, result)
    }

    /// The TigerBeetle half of a close: the recipe's linked transfers, with new ids.
    fn close_record(&mut self, row: &ReferenceRow) -> Result<WriteOutcome> {
        let account = self.account_spec(&row.uuid, &row.guid)?;
        let spec = crate::stores::record::CloseSpec {
            account_id: account.id,
            bank_account_id: crate::domain::ids::bank_account_id(self.options.ledger),
            ledger: self.options.ledger,
            balancing_id: self.fresh_id(),
            closing_id: self.fresh_id(),
        };
        let closed = self.runtime.block_on(self.record.close_account(spec));
        let text = match &closed {
            WriteOutcome::Created => "TigerBeetle: account closed (a balancing transfer, then a pending closing transfer)".to_string(),
            WriteOutcome::ExistsSame => "TigerBeetle: the account is closed already (debit_account_already_closed)".to_string(),
            other => format!("TigerBeetle: close {other}"),
        };
        self.channel.report(&Report::Note {
            user: row.uuid.clone(),
            text: format!("{text} (id {})", crate::domain::ids::short_id(&row.guid)),
        })?;
        Ok(closed)
    }

    /// The SQLite half of a close: the row removed.
    fn remove_reference(&mut self, row: &ReferenceRow) -> Result<WriteOutcome> {
        let removed = self.reference.remove(row);
        let text = match &removed {
            WriteOutcome::Created => "SQLite: row removed".to_string(),
            WriteOutcome::ExistsSame => "SQLite: the row was gone already".to_string(),
            other => format!("SQLite: removing the row {other}"),
        };
        self.channel.report(&Report::Note {
            user: row.uuid.clone(),
            text: format!("{text} (id {})", crate::domain::ids::short_id(&row.guid)),
        })?;
        Ok(removed)
    }

    /// Reserves `amount` for the user as a pending transfer from the bank's account, then
    /// posts it. A crash before the post leaves the reservation to expire by itself.
    fn reserve(&mut self, user: &str, amount: u64, timeout_seconds: u32) -> Result<()> {
        let Some(row) = self.reference.find_by_uuid(user)? else {
            return self.finish(
                user,
                RequestResult::Failed("no account to reserve for".into()),
            );
        };
        let account = self.account_spec(&row.uuid, &row.guid)?;
        let pending_id = self.fresh_id();
        let reservation = TransferSpec {
            id: pending_id,
            debit_account_id: crate::domain::ids::bank_account_id(self.options.ledger),
            credit_account_id: account.id,
            amount: u128::from(amount),
            ledger: self.options.ledger,
            pending_timeout_seconds: Some(timeout_seconds),
            post_pending_id: None,
        };
        let reserved = self
            .runtime
            .block_on(self.record.create_transfer(reservation));
        self.wrote(
            user,
            Store::Record,
            &crate::domain::ids::guid_of(pending_id),
            &reserved,
        )?;
        if !reserved.is_applied() {
            return self.finish(user, result_of_record(&reserved));
        }
        self.channel.hold(user, HoldPoint::BeforePost)?;
        self.post_pending(user, account.id, pending_id)
    }

    /// Posts the user's newest reservation, made by an earlier request, perhaps in a
    /// process that crashed since: this process never saw its id, so it finds it in
    /// TigerBeetle, the newest pending transfer into the user's account. TigerBeetle
    /// refuses a post of an expired reservation (`pending_transfer_expired`): a certain
    /// failure, the request was answered.
    fn post(&mut self, user: &str) -> Result<()> {
        let Some(row) = self.reference.find_by_uuid(user)? else {
            return self.finish(user, RequestResult::Failed("no account to post to".into()));
        };
        let account = self.account_spec(user, &row.guid)?;
        let found = self
            .runtime
            .block_on(self.record.newest_pending_credit(account.id));
        let pending_id = match found {
            Ok(Some(pending_id)) => pending_id,
            Ok(None) => {
                let text = "TigerBeetle holds no reservation for this account";
                return self.finish(user, RequestResult::Failed(text.into()));
            }
            // No answer in time, or no answer at all: nothing was written.
            Err(error) => {
                let text = format!("the reservation could not be found: {error}");
                return self.finish(user, RequestResult::Failed(text));
            }
        };
        self.post_pending(user, account.id, pending_id)
    }

    /// Posts the pending transfer `pending_id` from the bank into `account_id`, in full,
    /// and ends `user`'s request with TigerBeetle's answer.
    fn post_pending(&mut self, user: &str, account_id: u128, pending_id: u128) -> Result<()> {
        let post = TransferSpec {
            id: self.fresh_id(),
            debit_account_id: crate::domain::ids::bank_account_id(self.options.ledger),
            credit_account_id: account_id,
            amount: u128::MAX,
            ledger: self.options.ledger,
            pending_timeout_seconds: None,
            post_pending_id: Some(pending_id),
        };
        let posted = self.runtime.block_on(self.record.create_transfer(post));
        self.wrote(
            user,
            Store::Record,
            &crate::domain::ids::guid_of(post.id),
            &posted,
        )?;
        self.finish(user, result_of_record(&posted))
    }
}

/// How long a worker waits to see its request on the wire before it holds anyway.
const ON_THE_WIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(2000);
/// How often it looks.
const ON_THE_WIRE_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// Waits until the request handed to the client is on the wire: TigerBeetle's kernel has
/// acknowledged its bytes (they wait in the server's receive queue, even while it is
/// paused), or TigerBeetle has already answered (then the answer is returned, and the
/// crash at this hold point loses it). Bounded by [`ON_THE_WIRE_TIMEOUT`]: past it, or
/// when the sockets cannot be read, the worker holds anyway and says so in its log (then
/// whether the request lands is not certain).
async fn on_the_wire<F, T>(
    request: &mut std::pin::Pin<Box<F>>,
    ports: &[u16],
    before: Option<u64>,
    request_bytes: u64,
) -> Option<T>
where
    F: std::future::Future<Output = T>,
{
    let deadline = std::time::Instant::now() + ON_THE_WIRE_TIMEOUT;
    loop {
        if let std::task::Poll::Ready(outcome) = futures::poll!(&mut *request) {
            return Some(outcome);
        }
        let now_acked = crate::stores::wire::acked_bytes_to(ports);
        if let (Some(before), Some(now)) = (before, now_acked) {
            if now >= before + request_bytes {
                return None;
            }
        }
        if std::time::Instant::now() >= deadline {
            tracing::warn!("the create request was not seen on the wire: holding anyway");
            return None;
        }
        tokio::time::sleep(ON_THE_WIRE_POLL).await;
    }
}

fn result_of_record(record: &WriteOutcome) -> RequestResult {
    match record {
        WriteOutcome::Created | WriteOutcome::ExistsSame => RequestResult::Created,
        WriteOutcome::ExistsDifferent => {
            RequestResult::Rejected("TigerBeetle holds this id with other values".into())
        }
        WriteOutcome::Failed(reason) => RequestResult::Failed(format!("TigerBeetle: {reason}")),
        WriteOutcome::Unknown(_) => RequestResult::Unknown,
    }
}

/// Where the requests a recovery round leaves stay.
#[derive(Clone, Copy)]
enum RoundPlace {
    Journal,
    Outbox,
}

/// What the caller of a journaled request hears. A write that failed or timed out leaves
/// the request unfinished in the journal, and recovery will finish it: the request is
/// accepted and pending, not failed (the write's own outcome is on the timeline).
fn journaled_result(result: RequestResult) -> RequestResult {
    match result {
        RequestResult::Failed(_) | RequestResult::Unknown => RequestResult::Pending,
        other => other,
    }
}
