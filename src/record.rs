//! The system of record: TigerBeetle, through the `tigerbeetle-unofficial` client. Every
//! request is bounded by a timeout, and a timeout is the distinct outcome *unknown*:
//! dropping the request's future does not cancel it, so the server may still apply it.

use crate::outcome::WriteOutcome;
use serde::Serialize;
use std::future::Future;
use std::time::Duration;
use tigerbeetle::error::{CreateAccountErrorKind, CreateAccountsError, CreateTransferErrorKind};
use tigerbeetle::{Account, QueryFilter, Transfer};
use tigerbeetle_unofficial as tigerbeetle;

/// The cluster id of every TigerBeetle the demo formats.
pub const CLUSTER_ID: u128 = 0;
/// The account code of a customer's account (the accounts the lanes create).
pub const CODE_CUSTOMER: u16 = 1;
/// The account code of the bank's own account on a ledger, the other side of deposits.
pub const CODE_BANK: u16 = 2;
/// The transfer code of a deposit.
pub const CODE_DEPOSIT: u16 = 10;
/// TigerBeetle in `--development` mode refuses batches much larger than this.
const QUERY_PAGE_SIZE: u32 = 100;
/// A bound on the pages one listing reads: 100 pages of 100 accounts.
const QUERY_PAGE_COUNT_MAX: usize = 100;

/// A failed read of the record store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RecordError {
    #[error("TigerBeetle did not answer {what} within {timeout_ms} ms")]
    Timeout {
        what: &'static str,
        timeout_ms: u128,
    },
    #[error("TigerBeetle refused {what}: {reason}")]
    Refused { what: &'static str, reason: String },
    #[error("cannot create a TigerBeetle client for {address}: {reason}")]
    Client { address: String, reason: String },
}

/// A TigerBeetle account as the demo shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordAccount {
    #[serde(serialize_with = "serialize_guid")]
    pub id: u128,
    pub ledger: u32,
    pub code: u16,
    /// The stable key of the user this account was created for (see [`user_key`]).
    #[serde(serialize_with = "serialize_hex")]
    pub user_key: u128,
    #[serde(serialize_with = "serialize_amount")]
    pub debits_posted: u128,
    #[serde(serialize_with = "serialize_amount")]
    pub credits_posted: u128,
    #[serde(serialize_with = "serialize_amount")]
    pub debits_pending: u128,
    #[serde(serialize_with = "serialize_amount")]
    pub credits_pending: u128,
}

// JSON numbers cannot carry 128 bits: ids as the reference store's guid strings, keys as
// hex, amounts as numbers while they fit in 64 bits and as strings beyond.
fn serialize_guid<S: serde::Serializer>(id: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&guid_of(*id))
}

fn serialize_hex<S: serde::Serializer>(key: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{key:032x}"))
}

fn serialize_amount<S: serde::Serializer>(amount: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    match u64::try_from(*amount) {
        Ok(small) => serializer.serialize_u64(small),
        Err(_) => serializer.serialize_str(&amount.to_string()),
    }
}

impl RecordAccount {
    fn from_account(account: &Account) -> Self {
        RecordAccount {
            id: account.id(),
            ledger: account.ledger(),
            code: account.code(),
            user_key: account.user_data_128(),
            debits_posted: account.debits_posted(),
            credits_posted: account.credits_posted(),
            debits_pending: account.debits_pending(),
            credits_pending: account.credits_pending(),
        }
    }

    /// The posted balance of a customer's account (credits minus debits).
    pub fn balance(&self) -> i128 {
        self.credits_posted as i128 - self.debits_posted as i128
    }
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
pub struct TransferSpec {
    pub id: u128,
    pub debit_account_id: u128,
    pub credit_account_id: u128,
    pub amount: u128,
    pub ledger: u32,
    /// A pending transfer (a reservation) that expires after this many seconds.
    pub pending_timeout_seconds: Option<u32>,
    /// Posts the pending transfer with this id.
    pub post_pending_id: Option<u128>,
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

    pub fn timeout(&self) -> Duration {
        self.timeout
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

    /// Creates one account and classifies the result.
    pub async fn create_account(&self, spec: AccountSpec) -> WriteOutcome {
        let request = self.client.create_accounts(vec![spec.to_account()]);
        classify_create_account(self.bounded("the account creation", request).await)
    }

    /// Starts creating one account and returns the request, already submitted to the
    /// client: used to hold a worker while the request is in flight.
    pub fn create_account_request(
        &self,
        spec: AccountSpec,
    ) -> impl Future<Output = WriteOutcome> + '_ {
        let request = self.client.create_accounts(vec![spec.to_account()]);
        async move { classify_create_account(self.bounded("the account creation", request).await) }
    }

    /// Looks one account up by id.
    pub async fn lookup(&self, id: u128) -> Result<Option<RecordAccount>, RecordError> {
        let request = self.client.lookup_accounts(vec![id]);
        let accounts = self
            .bounded("the account look-up", request)
            .await?
            .map_err(|error| RecordError::Refused {
                what: "the account look-up",
                reason: error.to_string(),
            })?;
        Ok(accounts.first().map(RecordAccount::from_account))
    }

    /// Every account on `ledger`, oldest first, read page by page (bounded).
    pub async fn accounts_on_ledger(&self, ledger: u32) -> Result<Vec<RecordAccount>, RecordError> {
        let mut accounts = Vec::new();
        let mut timestamp_min: u64 = 0;
        for _page_index in 0..QUERY_PAGE_COUNT_MAX {
            let mut filter = QueryFilter::new(QUERY_PAGE_SIZE).with_ledger(ledger);
            filter.as_raw_mut().timestamp_min = timestamp_min;
            let request = self.client.query_accounts(Box::new(filter));
            let page = self
                .bounded("the account listing", request)
                .await?
                .map_err(|error| RecordError::Refused {
                    what: "the account listing",
                    reason: error.to_string(),
                })?;
            let page_full = page.len() == QUERY_PAGE_SIZE as usize;
            if let Some(last) = page.last() {
                timestamp_min = last.as_raw().timestamp + 1;
            }
            accounts.extend(page.iter().map(RecordAccount::from_account));
            if !page_full {
                return Ok(accounts);
            }
        }
        Ok(accounts)
    }

    /// Creates one transfer and classifies the result as a write.
    pub async fn create_transfer(&self, spec: TransferSpec) -> WriteOutcome {
        let request = self.client.create_transfers(vec![spec.to_transfer()]);
        match self.bounded("the transfer", request).await {
            Err(timeout) => WriteOutcome::Unknown(timeout.to_string()),
            Ok(Ok(())) => WriteOutcome::Created,
            Ok(Err(tigerbeetle::error::CreateTransfersError::Send(error))) => {
                WriteOutcome::Failed(error.to_string())
            }
            Ok(Err(tigerbeetle::error::CreateTransfersError::Api(errors))) => {
                match errors.as_slice().first().map(|error| error.kind()) {
                    Some(CreateTransferErrorKind::Exists) => WriteOutcome::ExistsSame,
                    Some(kind) if format!("{kind:?}").starts_with("ExistsWithDifferent") => {
                        WriteOutcome::ExistsDifferent
                    }
                    Some(kind) => WriteOutcome::Failed(kebab_case(&format!("{kind:?}"))),
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
        Ok(Err(CreateAccountsError::Send(error))) => WriteOutcome::Failed(error.to_string()),
        Ok(Err(CreateAccountsError::Api(errors))) => {
            match errors.as_slice().first().map(|error| error.kind()) {
                Some(CreateAccountErrorKind::Exists) => WriteOutcome::ExistsSame,
                Some(
                    CreateAccountErrorKind::ExistsWithDifferentFlags
                    | CreateAccountErrorKind::ExistsWithDifferentUserData128
                    | CreateAccountErrorKind::ExistsWithDifferentUserData64
                    | CreateAccountErrorKind::ExistsWithDifferentUserData32
                    | CreateAccountErrorKind::ExistsWithDifferentLedger
                    | CreateAccountErrorKind::ExistsWithDifferentCode,
                ) => WriteOutcome::ExistsDifferent,
                Some(kind) => WriteOutcome::Failed(kebab_case(&format!("{kind:?}"))),
                None => WriteOutcome::Failed("an empty error list".to_string()),
            }
        }
        Ok(Err(other)) => WriteOutcome::Failed(other.to_string()),
    }
}

fn kebab_case(camel: &str) -> String {
    let mut kebab = String::with_capacity(camel.len() + 8);
    for (index, character) in camel.chars().enumerate() {
        if character.is_uppercase() && index > 0 {
            kebab.push('-');
        }
        kebab.push(character.to_ascii_lowercase());
    }
    kebab
}

/// The stable 128-bit key of a user id, stored in a TigerBeetle account's `user_data_128`
/// so that the checker can tell which user an account was made for without SQLite.
/// FNV-1a, 128-bit: stable across runs and machines.
pub fn user_key(user: &str) -> u128 {
    const OFFSET_BASIS: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut hash = OFFSET_BASIS;
    for byte in user.as_bytes() {
        hash ^= u128::from(*byte);
        hash = hash.wrapping_mul(PRIME);
    }
    assert!(hash != 0);
    hash
}

/// The string form of a TigerBeetle id as the reference store keeps it (`guid`).
pub fn guid_of(id: u128) -> String {
    uuid::Uuid::from_u128(id).to_string()
}

/// The TigerBeetle id of a `guid` string, if it is one.
pub fn id_of(guid: &str) -> Option<u128> {
    uuid::Uuid::parse_str(guid)
        .ok()
        .map(|parsed| parsed.as_u128())
}

/// The id of the bank's account on `ledger`: fixed, so every party can find it.
pub fn bank_account_id(ledger: u32) -> u128 {
    (1u128 << 64) | u128::from(ledger)
}
