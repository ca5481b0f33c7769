//! Identity rules: how the demo draws and names TigerBeetle ids, keys users and numbers
//! ledgers and codes. Pure functions, shared by every layer.

/// The cluster id of every TigerBeetle the demo formats.
pub(crate) const CLUSTER_ID: u128 = 0;
/// The account code of a customer's account (the accounts the lanes create).
pub const CODE_CUSTOMER: u16 = 1;
/// The account code of the bank's own account on a ledger, the other side of deposits.
pub(crate) const CODE_BANK: u16 = 2;
/// The account code of the operator's account on a ledger, where a limited bank's funds
/// come from (TigerBeetle's recipes call such an account the operator account).
pub(crate) const CODE_OPERATOR: u16 = 3;
/// The transfer code of a deposit.
pub(crate) const CODE_DEPOSIT: u16 = 10;
/// The transfer code of the transfers that close an account (balancing and closing).
pub(crate) const CODE_CLOSING: u16 = 11;

/// A stable 128-bit key of a user id (FNV-1a, 128-bit: stable across runs and machines),
/// for a design that links TigerBeetle accounts to users in `user_data_128`. Only the
/// `record-first-read-record` lane declares one (`Lane::tags_user`); the others leave it 0,
/// as the upstream example does, and for them the lab's history is the only link.
pub fn user_key(user: &str) -> u128 {
    let hash = fnv1a_128(user.as_bytes());
    assert!(hash != 0);
    hash
}

fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET_BASIS: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut hash = OFFSET_BASIS;
    for byte in bytes {
        hash ^= u128::from(*byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash
}

/// The idempotency key a caller sends with its sign-up request when it chooses the id
/// (`id = "caller"` in a scenario): one per user's sign-up, the same on every resend.
pub(crate) fn idempotency_key(user: &str) -> String {
    format!("sign-up:{user}")
}

/// The TigerBeetle account id derived from a caller's idempotency key: the same key gives
/// the same id on every submission, in every process (FNV-1a, 128-bit), mapped into
/// 1..=u128::MAX - 1, because TigerBeetle reserves 0 and `u128::MAX`. A simplification:
/// every lane stands for a system of its own but they share one cluster, a ledger each,
/// and account ids are unique for the cluster, not per ledger (TigerBeetle's
/// `docs/reference/account.md`), so the lane's ledger is mixed in.
pub(crate) fn caller_chosen_id(key: &str, ledger: u32) -> u128 {
    let mut bytes = key.as_bytes().to_vec();
    bytes.push(0);
    bytes.extend_from_slice(&ledger.to_le_bytes());
    1 + fnv1a_128(&bytes) % (u128::MAX - 1)
}

/// The string form of a TigerBeetle id as the reference store keeps it (`guid`).
pub(crate) fn guid_of(id: u128) -> String {
    uuid::Uuid::from_u128(id).to_string()
}

/// The TigerBeetle id of a `guid` string, if it is one.
pub(crate) fn id_of(guid: &str) -> Option<u128> {
    uuid::Uuid::parse_str(guid)
        .ok()
        .map(|parsed| parsed.as_u128())
}

/// The id of the bank's account on `ledger`: fixed, so every party can find it.
pub(crate) fn bank_account_id(ledger: u32) -> u128 {
    (1u128 << 64) | u128::from(ledger)
}

/// The id of the operator's account on `ledger`, which funds a limited bank: fixed, like
/// the bank's, and distinct from it.
pub(crate) fn operator_account_id(ledger: u32) -> u128 {
    (2u128 << 64) | u128::from(ledger)
}

/// The id of the transfer that funds a limited bank on `ledger` from the operator's
/// account: fixed, so a retry finds it (`exists`) instead of paying twice.
pub(crate) fn funding_transfer_id(ledger: u32) -> u128 {
    (3u128 << 64) | u128::from(ledger)
}

/// The last eight characters of an id, enough to tell ids apart on screen: the ids of one
/// process differ in their low bits (see `IdSequence`), so the first characters would not.
pub(crate) fn short_id(guid: &str) -> String {
    let characters: Vec<char> = guid.chars().collect();
    let skipped = characters.len().saturating_sub(8);
    characters[skipped..].iter().collect()
}

/// The TigerBeetle ids one process draws: a start drawn from the seeded random stream,
/// then strictly increasing by one. TigerBeetle's docs (`docs/coding/data-modeling.md`)
/// advise against random ids, which cannot take advantage of all of its LSM
/// optimizations, and recommend time-based ids (a millisecond timestamp, then random bits
/// incremented within the millisecond), which increase within one process and are roughly
/// ordered by time across processes. These increase within a process only ("long runs
/// of strictly increasing values are amenable to optimization", the same page), and,
/// unlike a clock, the same seed gives the same ids, so a replayed scenario shows the
/// same ids.
pub(crate) struct IdSequence {
    next: u128,
}

impl IdSequence {
    /// Room above the start that one process can never use up (2^64 ids), so no id in
    /// the sequence reaches `u128::MAX`, which TigerBeetle reserves (as it does 0).
    const ROOM: u128 = 1 << 64;

    pub(crate) fn starting_from(draw: u128) -> Self {
        IdSequence {
            next: 1 + draw % (u128::MAX - Self::ROOM),
        }
    }

    /// The next id: never 0 nor `u128::MAX`.
    pub(crate) fn next_id(&mut self) -> u128 {
        let id = self.next;
        self.next += 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: a caller's key names one id, the same on every call, never a reserved one,
    /// and different keys (or ledgers) name different ids. Method: derive ids for a few keys.
    #[test]
    fn a_caller_chosen_id_is_stable_valid_and_per_key() {
        let alice = caller_chosen_id(&idempotency_key("alice"), 1);
        assert_eq!(alice, caller_chosen_id("sign-up:alice", 1));
        assert_ne!(alice, caller_chosen_id(&idempotency_key("bob"), 1));
        // Ids are unique for the cluster: another lane's ledger gets another id.
        assert_ne!(alice, caller_chosen_id(&idempotency_key("alice"), 2));
        for key in ["", "sign-up:alice", "sign-up:bob", "x"] {
            let id = caller_chosen_id(key, 7);
            assert!(id != 0 && id != u128::MAX, "{key}: {id}");
        }
    }

    /// Goal: a process's ids are valid and strictly increasing from any draw, and a short
    /// id tells consecutive ids apart. Method: sequences from the extreme draws.
    #[test]
    fn an_id_sequence_increases_and_never_reaches_a_reserved_id() {
        for draw in [0, 1, u128::MAX - 1, u128::MAX] {
            let mut sequence = IdSequence::starting_from(draw);
            let first = sequence.next_id();
            let second = sequence.next_id();
            assert!(
                first != 0 && second == first + 1,
                "{draw}: {first} {second}"
            );
            assert!(first < u128::MAX - IdSequence::ROOM + 1, "{draw}: {first}");
            assert_ne!(short_id(&guid_of(first)), short_id(&guid_of(second)));
        }
        assert_eq!(short_id(&guid_of(0x1234_abcd)), "1234abcd");
    }
}
