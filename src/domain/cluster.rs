//! The TigerBeetle cluster as the demo runs it: how many replicas it may have.

/// The replica counts a scenario may ask for. TigerBeetle answers while a majority of its
/// replicas runs, so odd counts only: an even one tolerates no more failures than the odd
/// count below it.
pub const REPLICA_COUNTS: [usize; 3] = [1, 3, 5];
