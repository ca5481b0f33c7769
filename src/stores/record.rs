//! The system of record: TigerBeetle, through the `tigerbeetle-unofficial` client. The
//! TigerBeetle client never times out (it resends until it gets a reply, or until it is
//! terminated: TigerBeetle's `docs/reference/sessions.md`), so every request is bounded by
//! the application's own deadline, and missing it is the distinct outcome *unknown*:
//! dropping the request's future does not cancel it, so while this client lives the
//! server may still apply it.

use crate::domain::ids::{CLUSTER_ID, CODE_CLOSING, CODE_DEPOSIT};
use crate::domain::outcome::WriteOutcome;
use crate::domain::stored::RecordAccount;
use std::future::Future;
use std::time::Duration;
use tigerbeetle::error::{CreateAccountErrorKind, CreateAccountsError, CreateTransferErrorKind};
use tigerbeetle::{Account, QueryFilter, Transfer};
use tigerbeetle_unofficial as tigerbeetle;

/// TigerBeetle in `--development` mode refuses batches much larger than this.
const QUERY_PAGE_SIZE: u32 = 100;
/// A bound on the pages one listing reads: 100 pages of 100 accounts.
const QUERY_PAGE_COUNT_MAX: usize = 100;

/// A failed read of the record store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RecordError {
    #[error("no answer to {what} within the application's {timeout_ms} ms deadline")]
    Timeout {
        what: &'static str,
        timeout_ms: u128,
    },
    #[error("TigerBeetle refused {what}: {reason}")]
    Refused { what: &'static str, reason: String },
    #[error("cannot create a TigerBeetle client for {address}: {reason}")]
    Client { address: String, reason: String },
}

/// The account the demo asks TigerBeetle to create for one user on one ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountSpec {
    pub id: u128,
    pub ledger: u32,
    pub code: u16,
    pub user_key: u128,
}

impl AccountSpec {
    fn to_account(self) -> Account {
        assert!(self.id != 0, "TigerBeetle ids must not be zero");
        assert!(self.ledger != 0, "TigerBeetle ledgers must not be zero");
        Account::new(self.id, self.ledger, self.code).with_user_data_128(self.user_key)
    }
}

/// One transfer the demo asks TigerBeetle to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TransferSpec {
    pub(crate) id: u128,
    pub(crate) debit_account_id: u128,
    pub(crate) credit_account_id: u128,
    pub(crate) amount: u128,
    pub(crate) ledger: u32,
    /// A pending transfer (a reservation) that expires after this many seconds.
    pub(crate) pending_timeout_seconds: Option<u32>,
    /// Posts the pending transfer with this id.
    pub(crate) post_pending_id: Option<u128>,
}

impl TransferSpec {
    fn to_transfer(self) -> Transfer {
        use tigerbeetle::transfer::Flags;
        let mut transfer = Transfer::new(self.id)
            .with_debit_account_id(self.debit_account_id)
            .with_credit_account_id(self.credit_account_id)
            .with_amount(self.amount)
            .with_ledger(self.ledger)
            .with_code(CODE_DEPOSIT);
        if let Some(timeout_seconds) = self.pending_timeout_seconds {
            transfer = transfer
                .with_flags(Flags::PENDING)
                .with_timeout(timeout_seconds);
        }
        if let Some(pending_id) = self.post_pending_id {
            transfer = transfer
                .with_flags(Flags::POST_PENDING_TRANSFER)
                .with_pending_id(pending_id);
        }
        transfer
    }
}

/// A connection to one TigerBeetle cluster, with the timeout every request gets.
pub struct RecordStore {
    client: tigerbeetle::Client,
    timeout: Duration,
}

impl RecordStore {
    /// Creates a client for `address` (for example `127.0.0.1:3001`). This does not wait
    /// for the server: a client connects lazily and retries forever on its own.
    pub fn connect(address: &str, timeout: Duration) -> Result<Self, RecordError> {
        let client =
            tigerbeetle::Client::new(CLUSTER_ID, address).map_err(|error| RecordError::Client {
                address: address.to_string(),
                reason: error.to_string(),
            })?;
        Ok(RecordStore { client, timeout })
    }

    async fn bounded<T>(
        &self,
        what: &'static str,
        request: impl Future<Output = T>,
    ) -> Result<T, RecordError> {
        tokio::time::timeout(self.timeout, request)
            .await
            .map_err(|_elapsed| RecordError::Timeout {
                what,
                timeout_ms: self.timeout.as_millis(),
            })
    }

    /// A read's answer within the deadline: no answer in time is a timeout, an answer
    /// that is an error is TigerBeetle's refusal.
    async fn answered<T, E: std::fmt::Display>(
        &self,
        what: &'static str,
        request: impl Future<Output = Result<T, E>>,
    ) -> Result<T, RecordError> {
        self.bounded(what, request)
            .await?
            .map_err(|error| RecordError::Refused {
                what,
                reason: error.to_string(),
            })
    }

    /// Creates one account and classifies the result.
    pub async fn create_account(&self, spec: AccountSpec) -> WriteOutcome {
        let request = self.client.create_accounts(vec![spec.to_account()]);
        classify_create_account(self.bounded("the account creation", request).await)
    }

    /// Creates one account flagged `debits_must_not_exceed_credits`: TigerBeetle refuses
    /// any transfer, pending ones included, that would take its debits (posted and
    /// pending) past its posted credits (`exceeds_credits`).
    pub(crate) async fn create_limited_account(&self, spec: AccountSpec) -> WriteOutcome {
        let account = spec
            .to_account()
            .with_flags(tigerbeetle::account::Flags::DEBITS_MUST_NOT_EXCEED_CREDITS);
        let request = self.client.create_accounts(vec![account]);
        classify_create_account(self.bounded("the account creation", request).await)
    }

    /// The id of the newest pending transfer into `account_id` (among its newest
    /// `QUERY_PAGE_SIZE` credits), whatever became of it since (posted, voided, expired):
    /// TigerBeetle's transfers are immutable, so the pending transfer itself is still
    /// there to be found.
    pub(crate) async fn newest_pending_credit(
        &self,
        account_id: u128,
    ) -> Result<Option<u128>, RecordError> {
        use tigerbeetle::account::FilterFlags;
        let filter = tigerbeetle::account::Filter::new(account_id, QUERY_PAGE_SIZE)
            .with_flags(FilterFlags::CREDITS | FilterFlags::REVERSED);
        let request = self.client.get_account_transfers(Box::new(filter));
        let transfers = self.answered("the account's transfers", request).await?;
        Ok(transfers
            .iter()
            .find(|transfer| {
                transfer
                    .flags()
                    .contains(tigerbeetle::transfer::Flags::PENDING)
            })
            .map(|transfer| transfer.id()))
    }

    /// Starts creating one account and returns the request, already submitted to the
    /// client: used to hold a worker while the request is in flight.
    pub(crate) fn create_account_request(
        &self,
        spec: AccountSpec,
    ) -> impl Future<Output = WriteOutcome> + '_ {
        let request = self.client.create_accounts(vec![spec.to_account()]);
        async move { classify_create_account(self.bounded("the account creation", request).await) }
    }

    /// Starts creating several accounts in one request (group commit) and returns the
    /// request, already submitted to the client; it ends with one outcome per account,
    /// in order, from TigerBeetle's per-event results. No answer in time makes every
    /// account of the batch *unknown*; a request the client could not carry gives every
    /// account the same outcome (see `send_outcome`).
    pub(crate) fn create_accounts_request(
        &self,
        specs: &[AccountSpec],
    ) -> impl Future<Output = Vec<WriteOutcome>> + '_ {
        let count = specs.len();
        let accounts: Vec<Account> = specs.iter().map(|spec| spec.to_account()).collect();
        let request = self.client.create_accounts(accounts);
        async move {
            match self
                .bounded("the batch of account creations", request)
                .await
            {
                Err(timeout) => vec![WriteOutcome::Unknown(timeout.to_string()); count],
                Ok(Ok(())) => vec![WriteOutcome::Created; count],
                Ok(Err(CreateAccountsError::Api(errors))) => {
                    let mut outcomes = vec![WriteOutcome::Created; count];
                    for error in errors.as_slice() {
                        if let Some(outcome) = outcomes.get_mut(error.index() as usize) {
                            *outcome = outcome_of_refusal(error.kind());
                        }
                    }
                    outcomes
                }
                Ok(Err(CreateAccountsError::Send(error))) => vec![send_outcome(error); count],
                Ok(Err(other)) => vec![WriteOutcome::Failed(other.to_string()); count],
            }
        }
    }

    /// Looks one account up by id.
    pub async fn lookup(&self, id: u128) -> Result<Option<RecordAccount>, RecordError> {
        let request = self.client.lookup_accounts(vec![id]);
        let accounts = self.answered("the account look-up", request).await?;
        Ok(accounts.first().map(account_view))
    }

    /// Every account on `ledger`, up to `account_count_max`, oldest first, page by page.
    /// More accounts than that is an error, never a silently shortened list.
    pub(crate) async fn all_accounts_on_ledger(
        &self,
        ledger: u32,
        account_count_max: usize,
    ) -> Result<Vec<RecordAccount>, RecordError> {
        let page_count_max = account_count_max / QUERY_PAGE_SIZE as usize + 1;
        let mut accounts = Vec::new();
        let mut timestamp_min: u64 = 0;
        for _page_index in 0..page_count_max {
            let mut filter = QueryFilter::new(QUERY_PAGE_SIZE).with_ledger(ledger);
            filter.as_raw_mut().timestamp_min = timestamp_min;
            let request = self.client.query_accounts(Box::new(filter));
            let page = self.answered("the account listing", request).await?;
            let page_full = page.len() == QUERY_PAGE_SIZE as usize;
            if let Some(last) = page.last() {
                timestamp_min = last.as_raw().timestamp + 1;
            }
            accounts.extend(page.iter().map(account_view));
            if !page_full {
                return Ok(accounts);
            }
        }
        Err(RecordError::Refused {
            what: "the account listing",
            reason: format!("ledger {ledger} holds more than {account_count_max} accounts"),
        })
    }

    /// The accounts on `ledger` whose `user_data_128` is `user_key`, oldest first, in one
    /// `query_accounts` request (TigerBeetle's `docs/reference/requests/query_accounts.md`):
    /// how the lane that tags its accounts with the user reads the record. One page is
    /// enough for a user's accounts here; a full page is an error, never a shortened list.
    pub async fn accounts_tagged(
        &self,
        ledger: u32,
        user_key: u128,
    ) -> Result<Vec<RecordAccount>, RecordError> {
        assert!(user_key != 0, "a zero user_data_128 disables the filter");
        let filter = QueryFilter::new(QUERY_PAGE_SIZE)
            .with_ledger(ledger)
            .with_user_data_128(user_key);
        let request = self.client.query_accounts(Box::new(filter));
        let accounts = self
            .answered("the account query by user tag", request)
            .await?;
        if accounts.len() >= QUERY_PAGE_SIZE as usize {
            return Err(RecordError::Refused {
                what: "the account query by user tag",
                reason: format!(
                    "ledger {ledger} holds {QUERY_PAGE_SIZE} or more accounts with one user's tag"
                ),
            });
        }
        Ok(accounts.iter().map(account_view).collect())
    }

    /// Creates many accounts in one request (a batch) and returns how many TigerBeetle
    /// refused; a batch that got no answer in time is an error (its outcome is unknown).
    pub(crate) async fn create_account_batch(
        &self,
        specs: &[AccountSpec],
    ) -> Result<usize, RecordError> {
        let accounts: Vec<Account> = specs.iter().map(|spec| spec.to_account()).collect();
        match self
            .bounded(
                "the batch of accounts",
                self.client.create_accounts(accounts),
            )
            .await?
        {
            Ok(()) => Ok(0),
            Err(CreateAccountsError::Api(errors)) => Ok(errors.as_slice().len()),
            Err(other) => Err(RecordError::Refused {
                what: "the batch of accounts",
                reason: other.to_string(),
            }),
        }
    }

    /// Looks several accounts up by id in one request: the ids TigerBeetle holds, each
    /// with whether the account is closed.
    pub(crate) async fn held_ids(&self, ids: Vec<u128>) -> Result<Vec<(u128, bool)>, RecordError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let request = self.client.lookup_accounts(ids);
        let accounts = self.answered("the account look-up", request).await?;
        Ok(accounts
            .iter()
            .map(|account| (account.id(), account_view(account).closed))
            .collect())
    }

    /// Every account on `ledger`, oldest first, read page by page: at most
    /// `QUERY_PAGE_COUNT_MAX` pages, and more accounts than they hold is an error, never a
    /// silently shortened list.
    pub async fn accounts_on_ledger(&self, ledger: u32) -> Result<Vec<RecordAccount>, RecordError> {
        let account_count_max = QUERY_PAGE_SIZE as usize * QUERY_PAGE_COUNT_MAX;
        self.all_accounts_on_ledger(ledger, account_count_max).await
    }

    /// Creates one transfer and classifies the result as a write.
    pub(crate) async fn create_transfer(&self, spec: TransferSpec) -> WriteOutcome {
        let request = self.client.create_transfers(vec![spec.to_transfer()]);
        match self.bounded("the transfer", request).await {
            Err(timeout) => WriteOutcome::Unknown(timeout.to_string()),
            Ok(Ok(())) => WriteOutcome::Created,
            Ok(Err(tigerbeetle::error::CreateTransfersError::Send(error))) => send_outcome(error),
            Ok(Err(tigerbeetle::error::CreateTransfersError::Api(errors))) => {
                match errors.as_slice().first().map(|error| error.kind()) {
                    Some(CreateTransferErrorKind::Exists) => WriteOutcome::ExistsSame,
                    Some(kind) if format!("{kind:?}").starts_with("ExistsWithDifferent") => {
                        WriteOutcome::ExistsDifferent
                    }
                    Some(kind) => WriteOutcome::Failed(result_name(&format!("{kind:?}"))),
                    None => WriteOutcome::Failed("an empty error list".to_string()),
                }
            }
            Ok(Err(other)) => WriteOutcome::Failed(other.to_string()),
        }
    }
}

/// Closing an account, as TigerBeetle's close-account recipe does it
/// (`docs/coding/recipes/close-account.md`), in one linked chain that succeeds or fails as a
/// whole: a balancing transfer moves the account's net credit balance (at most
/// `AMOUNT_MAX`) to the bank's account, then a closing transfer (pending, amount 0, flagged
/// `closing_debit`) sets the account's `closed` flag. Pending, so the close can be undone by
/// voiding it; a timeout of 0 means it never expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CloseSpec {
    pub(crate) account_id: u128,
    pub(crate) bank_account_id: u128,
    pub(crate) ledger: u32,
    pub(crate) balancing_id: u128,
    pub(crate) closing_id: u128,
}

impl RecordStore {
    /// Closes one account (see [`CloseSpec`]). `created`: closed now; `exists-same`:
    /// TigerBeetle answered `debit_account_already_closed`, the account was closed already.
    pub(crate) async fn close_account(&self, spec: CloseSpec) -> WriteOutcome {
        use tigerbeetle::transfer::Flags;
        let balancing = Transfer::new(spec.balancing_id)
            .with_debit_account_id(spec.account_id)
            .with_credit_account_id(spec.bank_account_id)
            .with_amount(u128::MAX)
            .with_ledger(spec.ledger)
            .with_code(CODE_CLOSING)
            .with_flags(Flags::LINKED | Flags::BALANCING_DEBIT);
        let closing = Transfer::new(spec.closing_id)
            .with_debit_account_id(spec.account_id)
            .with_credit_account_id(spec.bank_account_id)
            .with_amount(0)
            .with_ledger(spec.ledger)
            .with_code(CODE_CLOSING)
            .with_flags(Flags::PENDING | Flags::CLOSING_DEBIT);
        let request = self.client.create_transfers(vec![balancing, closing]);
        match self.bounded("the closing transfers", request).await {
            Err(timeout) => WriteOutcome::Unknown(timeout.to_string()),
            Ok(Ok(())) => WriteOutcome::Created,
            Ok(Err(tigerbeetle::error::CreateTransfersError::Api(errors))) => {
                let kinds: Vec<CreateTransferErrorKind> =
                    errors.as_slice().iter().map(|error| error.kind()).collect();
                if kinds
                    .iter()
                    .any(|kind| matches!(kind, CreateTransferErrorKind::DebitAccountAlreadyClosed))
                {
                    return WriteOutcome::ExistsSame;
                }
                // The chain's other transfer fails only because this one did.
                match kinds
                    .iter()
                    .find(|kind| !matches!(kind, CreateTransferErrorKind::LinkedEventFailed))
                {
                    Some(kind) => WriteOutcome::Failed(result_name(&format!("{kind:?}"))),
                    None => WriteOutcome::Failed("an empty error list".to_string()),
                }
            }
            Ok(Err(other)) => WriteOutcome::Failed(other.to_string()),
        }
    }
}

fn classify_create_account(
    result: Result<Result<(), CreateAccountsError>, RecordError>,
) -> WriteOutcome {
    match result {
        Err(timeout) => WriteOutcome::Unknown(timeout.to_string()),
        Ok(Ok(())) => WriteOutcome::Created,
        Ok(Err(CreateAccountsError::Send(error))) => send_outcome(error),
        Ok(Err(CreateAccountsError::Api(errors))) => {
            match errors.as_slice().first().map(|error| error.kind()) {
                Some(kind) => outcome_of_refusal(kind),
                None => WriteOutcome::Failed("an empty error list".to_string()),
            }
        }
        Ok(Err(other)) => WriteOutcome::Failed(other.to_string()),
    }
}

/// What one account's refusal by TigerBeetle means for the write.
fn outcome_of_refusal(kind: CreateAccountErrorKind) -> WriteOutcome {
    match kind {
        CreateAccountErrorKind::Exists => WriteOutcome::ExistsSame,
        CreateAccountErrorKind::ExistsWithDifferentFlags
        | CreateAccountErrorKind::ExistsWithDifferentUserData128
        | CreateAccountErrorKind::ExistsWithDifferentUserData64
        | CreateAccountErrorKind::ExistsWithDifferentUserData32
        | CreateAccountErrorKind::ExistsWithDifferentLedger
        | CreateAccountErrorKind::ExistsWithDifferentCode => WriteOutcome::ExistsDifferent,
        kind => WriteOutcome::Failed(result_name(&format!("{kind:?}"))),
    }
}

/// What a request the client could not carry means. Refused before sending (too much
/// data, an invalid operation) or by eviction ("no future requests from that session will
/// ever execute": `docs/reference/sessions.md`), it certainly did not apply. A client
/// closed under it, or an error this client does not name, cannot say whether the
/// request left: unknown.
fn send_outcome(error: tigerbeetle::error::SendError) -> WriteOutcome {
    use tigerbeetle::error::SendErrorKind;
    match error.kind() {
        SendErrorKind::ClientShutdown | SendErrorKind::UnstableUncategorized => {
            WriteOutcome::Unknown(format!(
                "{error}: the request may or may not have been sent"
            ))
        }
        _ => WriteOutcome::Failed(error.to_string()),
    }
}

/// A TigerBeetle result as its docs name it (`ExceedsCredits` becomes `exceeds_credits`),
/// so the screen says what `docs/reference/requests/` explains.
fn result_name(camel: &str) -> String {
    let mut name = String::with_capacity(camel.len() + 8);
    let mut previous: Option<char> = None;
    for character in camel.chars() {
        // A word starts at a capital, and a number at its first digit
        // (`UserData128` is `user_data_128`, as the docs spell it).
        let starts_number =
            character.is_ascii_digit() && previous.is_some_and(|before| !before.is_ascii_digit());
        if (character.is_uppercase() && previous.is_some()) || starts_number {
            name.push('_');
        }
        name.push(character.to_ascii_lowercase());
        previous = Some(character);
    }
    name
}

/// The demo's view of one TigerBeetle account.
fn account_view(account: &Account) -> RecordAccount {
    RecordAccount {
        id: account.id(),
        ledger: account.ledger(),
        code: account.code(),
        user_key: account.user_data_128(),
        debits_posted: account.debits_posted(),
        credits_posted: account.credits_posted(),
        debits_pending: account.debits_pending(),
        credits_pending: account.credits_pending(),
        closed: account
            .flags()
            .contains(tigerbeetle::account::Flags::CLOSED),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn result_names_are_spelt_as_the_docs_spell_them() {
        assert_eq!(super::result_name("ExceedsCredits"), "exceeds_credits");
        assert_eq!(
            super::result_name("ExistsWithDifferentUserData128"),
            "exists_with_different_user_data_128"
        );
        assert_eq!(
            super::result_name("PendingTransferExpired"),
            "pending_transfer_expired"
        );
    }
}
