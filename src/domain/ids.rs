//! Identity rules: how the demo draws and names TigerBeetle ids, keys users and numbers
//! ledgers and codes. Pure functions, shared by every layer.

/// The cluster id of every TigerBeetle the demo formats.
pub(crate) const CLUSTER_ID: u128 = 0;
/// The account code of a customer's account (the accounts the lanes create).
pub const CODE_CUSTOMER: u16 = 1;
/// The account code of the bank's own account on a ledger, the other side of deposits.
pub(crate) const CODE_BANK: u16 = 2;
/// The transfer code of a deposit.
pub(crate) const CODE_DEPOSIT: u16 = 10;

/// A stable 128-bit key of a user id (FNV-1a, 128-bit: stable across runs and machines),
/// for a design that links TigerBeetle accounts to users in `user_data_128`. No lane does:
/// they leave it 0, as the upstream example does, and the lab's history is the only link.
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

/// The first eight characters of an id, enough to tell ids apart on screen.
pub(crate) fn short_id(guid: &str) -> String {
    guid.chars().take(8).collect()
}
