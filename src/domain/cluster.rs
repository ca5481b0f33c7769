//! The TigerBeetle cluster as the demo runs it: how many replicas it may have, and the
//! state the presenter sees, which a majority of the replicas decides.

use serde::Serialize;

/// The replica counts a scenario may ask for. TigerBeetle answers while a majority of its
/// replicas runs, so odd counts only: an even one tolerates no more failures than the odd
/// count below it.
pub(crate) const REPLICA_COUNTS: [usize; 3] = [1, 3, 5];

/// What the presenter sees of the server (of one replica, or of the whole cluster).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ServerState {
    Starting,
    Ready,
    Paused,
    Down,
}

impl ServerState {
    /// The kebab-case name used in JSON, transcripts and on screen.
    pub(crate) fn name(self) -> &'static str {
        self.into()
    }
}

/// How many replicas are up (ready to answer).
pub(crate) fn replicas_up(replicas: &[ServerState]) -> usize {
    replicas
        .iter()
        .filter(|state| **state == ServerState::Ready)
        .count()
}

/// The cluster's state from its replicas' states: ready while a majority of replicas is
/// ready; otherwise paused (if any replica is paused), starting (if any is), or down.
pub(crate) fn cluster_state(replicas: &[ServerState]) -> ServerState {
    assert!(!replicas.is_empty(), "a cluster has at least one replica");
    let count = |wanted: ServerState| replicas.iter().filter(|state| **state == wanted).count();
    let majority = replicas.len() / 2 + 1;
    if count(ServerState::Ready) >= majority {
        ServerState::Ready
    } else if count(ServerState::Paused) > 0 {
        ServerState::Paused
    } else if count(ServerState::Starting) > 0 {
        ServerState::Starting
    } else {
        ServerState::Down
    }
}

#[cfg(test)]
mod tests {
    use super::ServerState::{Down, Paused, Ready, Starting};
    use super::*;
    use crate::domain::names::assert_names;

    /// Goal: a cluster is ready exactly while a majority of its replicas is ready, wherever
    /// they are in the list; short of that, one paused replica shows as paused (requests
    /// hang, their outcome unknown) before a starting one. Method: a table for 1, 3 and 5
    /// replicas.
    #[test]
    fn a_majority_of_ready_replicas_makes_the_cluster_ready() {
        let cases: [(&[ServerState], ServerState); 22] = [
            // One replica: its state is the cluster's.
            (&[Ready], Ready),
            (&[Paused], Paused),
            (&[Starting], Starting),
            (&[Down], Down),
            // Three: two are a majority.
            (&[Ready, Ready, Ready], Ready),
            (&[Ready, Ready, Down], Ready),
            (&[Down, Ready, Ready], Ready),
            (&[Ready, Paused, Ready], Ready),
            (&[Ready, Down, Down], Down),
            (&[Ready, Paused, Down], Paused),
            (&[Ready, Starting, Down], Starting),
            (&[Paused, Starting, Down], Paused),
            (&[Starting, Starting, Starting], Starting),
            (&[Ready, Starting, Starting], Starting),
            (&[Down, Down, Down], Down),
            // Five: three are a majority.
            (&[Ready, Ready, Ready, Ready, Ready], Ready),
            (&[Ready, Ready, Ready, Down, Down], Ready),
            (&[Paused, Ready, Paused, Ready, Ready], Ready),
            (&[Ready, Ready, Down, Down, Down], Down),
            (&[Ready, Ready, Paused, Down, Down], Paused),
            (&[Ready, Ready, Starting, Starting, Down], Starting),
            (&[Down, Down, Down, Down, Down], Down),
        ];
        for (replicas, expected) in cases {
            assert!(REPLICA_COUNTS.contains(&replicas.len()), "{replicas:?}");
            assert_eq!(cluster_state(replicas), expected, "{replicas:?}");
        }
    }

    /// Goal: the states' names in JSON and on screen stay these. Method: a table.
    #[test]
    fn server_states_keep_their_names() {
        assert_names(&[
            (Starting, "starting"),
            (Ready, "ready"),
            (Paused, "paused"),
            (Down, "down"),
        ]);
    }
}
