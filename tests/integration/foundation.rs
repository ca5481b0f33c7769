//! The two real stores and the supervisor, through the library's public adapters: every
//! test that needs TigerBeetle starts its own server (bounded), in a temporary directory,
//! and destroys it (process and ~1 GB data file) before it ends.

use crate::support::{run_slot, wait_until_gone};
use cabaret::domain::ids::{CODE_CUSTOMER, user_key};
use cabaret::domain::outcome::WriteOutcome;
use cabaret::domain::stored::ReferenceRow;
use cabaret::stores::record::{AccountSpec, RecordStore};
use cabaret::stores::reference::ReferenceStore;
use cabaret::stores::reference_faults::ReferenceLock;
use cabaret::stores::supervisor::{RecordServer, ServerState, default_binary};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_millis(1500);

fn started_server(directory: &std::path::Path) -> RecordServer {
    let mut server = RecordServer::prepare(&directory.join("record"), &default_binary())
        .expect("bin/tigerbeetle exists (run bin/setup)");
    server
        .start()
        .expect("TigerBeetle starts within the start timeout");
    assert_eq!(server.state(), ServerState::Ready);
    server
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime")
}

fn spec(id: u128, ledger: u32, user: &str) -> AccountSpec {
    AccountSpec {
        id,
        ledger,
        code: CODE_CUSTOMER,
        user_key: user_key(user),
    }
}

fn assert_process_gone(pid: u32) {
    let alive = wait_until_gone(&[pid], Duration::from_secs(5));
    assert!(alive.is_empty(), "TigerBeetle pid {pid} is still running");
}

/// Goal: creation is classified like the upstream example, and a query by user tag finds
/// exactly the user's accounts on one ledger (the record-first-read-record lane's read).
/// Method: create an account, look it up, create it again (exists-same), then reuse its
/// id with other values (exists-different); then add Bob's tagged account and an untagged
/// one, and query by tag, on a real server.
#[test]
fn record_create_lookup_and_classification() {
    let _slot = run_slot();
    let directory = tempfile::tempdir().expect("a temp dir");
    let server = started_server(directory.path());
    let record = RecordStore::connect(&server.address(), TIMEOUT).expect("a client");
    let runtime = runtime();

    let alice = spec(0xA11CE, 7, "alice");
    assert_eq!(
        runtime.block_on(record.create_account(alice)),
        WriteOutcome::Created
    );
    let found = runtime
        .block_on(record.lookup(alice.id))
        .expect("an answer");
    let found = found.expect("the account exists");
    assert_eq!(found.id, alice.id);
    assert_eq!(found.ledger, 7);
    assert_eq!(found.user_key, user_key("alice"));
    assert_eq!(
        runtime.block_on(record.lookup(0xB0B)).expect("an answer"),
        None
    );

    assert_eq!(
        runtime.block_on(record.create_account(alice)),
        WriteOutcome::ExistsSame
    );
    let other_user = spec(alice.id, 7, "mallory");
    assert_eq!(
        runtime.block_on(record.create_account(other_user)),
        WriteOutcome::ExistsDifferent
    );
    let other_ledger = spec(alice.id, 8, "alice");
    assert_eq!(
        runtime.block_on(record.create_account(other_ledger)),
        WriteOutcome::ExistsDifferent
    );

    let listed = runtime
        .block_on(record.accounts_on_ledger(7))
        .expect("a listing");
    assert_eq!(listed.len(), 1, "one account on ledger 7: {listed:?}");
    assert!(
        runtime
            .block_on(record.accounts_on_ledger(8))
            .expect("a listing")
            .is_empty()
    );

    let bob = spec(0xB0B0, 7, "bob");
    let untagged = AccountSpec {
        user_key: 0,
        ..spec(0xC0C0, 7, "alice")
    };
    for account in [bob, untagged] {
        assert_eq!(
            runtime.block_on(record.create_account(account)),
            WriteOutcome::Created
        );
    }
    let tagged = |ledger: u32, user: &str| -> Vec<u128> {
        runtime
            .block_on(record.accounts_tagged(ledger, user_key(user)))
            .expect("an answer")
            .iter()
            .map(|account| account.id)
            .collect()
    };
    assert_eq!(tagged(7, "alice"), [alice.id]);
    assert_eq!(tagged(7, "bob"), [bob.id]);
    assert!(tagged(8, "alice").is_empty(), "another ledger");
    assert!(tagged(7, "carol").is_empty(), "nobody's tag");

    let pid = server.pid().expect("a running server");
    server
        .destroy()
        .expect("the server stops and its file is deleted");
    assert_process_gone(pid);
}

/// Goal: a paused server yields *unknown* within the timeout, never a hang and never
/// "failed", and the very same request is applied once the server resumes: the
/// ambiguity the demo teaches. Method: SIGSTOP the server, create, time it, SIGCONT,
/// look the account up.
#[test]
fn paused_record_gives_unknown_then_the_request_lands() {
    let _slot = run_slot();
    let directory = tempfile::tempdir().expect("a temp dir");
    let mut server = started_server(directory.path());
    let record = RecordStore::connect(&server.address(), TIMEOUT).expect("a client");
    let runtime = runtime();
    // Register the client's session while the server still answers.
    assert_eq!(runtime.block_on(record.lookup(1)).expect("an answer"), None);

    server.pause().expect("SIGSTOP");
    assert_eq!(server.state(), ServerState::Paused);
    let started = Instant::now();
    let outcome = runtime.block_on(record.create_account(spec(0xBEE, 3, "bob")));
    let elapsed = started.elapsed();
    assert!(
        matches!(outcome, WriteOutcome::Unknown(_)),
        "got {outcome:?}"
    );
    assert!(
        elapsed >= TIMEOUT,
        "it waited the whole timeout: {elapsed:?}"
    );
    assert!(
        elapsed < TIMEOUT + Duration::from_secs(1),
        "bounded: {elapsed:?}"
    );
    assert!(
        runtime.block_on(record.lookup(0xBEE)).is_err(),
        "reads time out too"
    );

    server.resume().expect("SIGCONT");
    let deadline = Instant::now() + Duration::from_secs(5);
    let landed = loop {
        if let Ok(Some(account)) = runtime.block_on(record.lookup(0xBEE)) {
            break Some(account);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        landed.is_some(),
        "the timed-out request was applied after the resume"
    );
    server.destroy().expect("cleanup");
}

/// Goal: nothing committed is lost when the server is killed. Method: create accounts,
/// SIGKILL the server, see requests time out, restart it from the same file and port, and
/// find every account.
#[test]
fn killed_and_restarted_record_keeps_committed_accounts() {
    let _slot = run_slot();
    let directory = tempfile::tempdir().expect("a temp dir");
    let mut server = started_server(directory.path());
    let record = RecordStore::connect(&server.address(), TIMEOUT).expect("a client");
    let runtime = runtime();
    let ids: Vec<u128> = (1..=5).map(|index| 0x1000 + index).collect();
    for id in &ids {
        assert_eq!(
            runtime.block_on(record.create_account(spec(*id, 4, &format!("user-{id}")))),
            WriteOutcome::Created
        );
    }
    let first_pid = server.pid().expect("running");
    server.kill().expect("SIGKILL");
    assert_eq!(server.state(), ServerState::Down);
    assert_process_gone(first_pid);
    assert!(
        runtime.block_on(record.lookup(ids[0])).is_err(),
        "a down server does not answer"
    );

    server.restart().expect("restart from the same data file");
    assert_eq!(server.state(), ServerState::Ready);
    let deadline = Instant::now() + Duration::from_secs(10);
    let accounts = loop {
        match runtime.block_on(record.accounts_on_ledger(4)) {
            Ok(accounts) => break accounts,
            Err(error) => assert!(
                Instant::now() < deadline,
                "the restarted server answers: {error}"
            ),
        }
    };
    let mut found: Vec<u128> = accounts.iter().map(|account| account.id).collect();
    found.sort_unstable();
    assert_eq!(found, ids);
    server.destroy().expect("cleanup");
}

/// Goal: the reference store classifies inserts the same way, and a lock held by another
/// connection is a classified failure (not a panic, not a hang). Method: real SQLite file.
#[test]
fn reference_classification_and_locked_database() {
    let directory = tempfile::tempdir().expect("a temp dir");
    let path = directory.path().join("reference.sqlite");
    let store = ReferenceStore::open(&path).expect("open");
    let row = ReferenceRow {
        uuid: "alice".into(),
        guid: "00000000-0000-0000-0000-000000000001".into(),
        name: "Alice".into(),
    };
    assert_eq!(store.insert(&row), WriteOutcome::Created);
    assert_eq!(store.insert(&row), WriteOutcome::ExistsSame);
    let renamed = ReferenceRow {
        name: "Alicia".into(),
        ..row.clone()
    };
    assert_eq!(store.insert(&renamed), WriteOutcome::ExistsDifferent);
    let same_guid = ReferenceRow {
        uuid: "mallory".into(),
        ..row.clone()
    };
    assert_eq!(store.insert(&same_guid), WriteOutcome::ExistsDifferent);
    assert_eq!(
        store.find_by_uuid("alice").expect("a read"),
        Some(row.clone())
    );
    assert_eq!(
        store.find_by_guid(&row.guid).expect("a read"),
        Some(row.clone())
    );
    assert_eq!(store.rows().expect("a listing"), vec![row.clone()]);

    let lock = ReferenceLock::acquire(&path).expect("the lock");
    let bob = ReferenceRow {
        uuid: "bob".into(),
        guid: "00000000-0000-0000-0000-000000000002".into(),
        name: "Bob".into(),
    };
    let started = Instant::now();
    let outcome = store.insert(&bob);
    match &outcome {
        WriteOutcome::Failed(reason) => assert!(reason.contains("database is locked"), "{reason}"),
        other => panic!("expected a failed write, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded by the busy timeout"
    );
    assert_eq!(
        store
            .find_by_uuid("alice")
            .expect("readers are not blocked"),
        Some(row)
    );
    lock.release();
    assert_eq!(
        store.insert(&bob),
        WriteOutcome::Created,
        "the write goes through once unlocked"
    );
}

/// Goal: the outbox write is one transaction: the row and its message, both or neither.
/// Method: a locked database writes neither; an unlocked one writes both.
#[test]
fn outbox_row_and_message_are_atomic() {
    let directory = tempfile::tempdir().expect("a temp dir");
    let path = directory.path().join("reference.sqlite");
    let mut store = ReferenceStore::open(&path).expect("open");
    let row = ReferenceRow {
        uuid: "carol".into(),
        guid: "00000000-0000-0000-0000-000000000003".into(),
        name: "Carol".into(),
    };
    let lock = ReferenceLock::acquire(&path).expect("the lock");
    assert!(matches!(
        store.insert_with_outbox(&row),
        WriteOutcome::Failed(_)
    ));
    lock.release();
    assert!(store.rows().expect("rows").is_empty());
    assert!(store.outbox().expect("outbox").is_empty());
    assert_eq!(store.insert_with_outbox(&row), WriteOutcome::Created);
    let messages = store.outbox().expect("outbox");
    assert_eq!(messages.len(), 1);
    assert!(!messages[0].delivered);
    store.mark_delivered(&row.guid).expect("mark");
    assert!(store.outbox().expect("outbox")[0].delivered);
}

/// Goal: cluster mode: with three replicas, losing one leaves the system of record
/// available; losing two stops it answering (unknown, not failed) until one comes back,
/// and nothing committed is lost. Method: a real three-replica cluster on loopback.
#[test]
fn cluster_stays_available_with_a_majority() {
    let _slot = run_slot();
    let directory = tempfile::tempdir().expect("a temp dir");
    let mut cluster =
        RecordServer::prepare_cluster(&directory.path().join("record"), &default_binary(), 3)
            .expect("three replicas formatted");
    cluster.start().expect("the cluster starts");
    assert_eq!(cluster.replica_count(), 3);
    assert!(
        cluster.address().split(',').count() == 3,
        "{}",
        cluster.address()
    );
    // A view change after losing a replica can take a few seconds: a generous timeout.
    let record =
        RecordStore::connect(&cluster.address(), Duration::from_secs(10)).expect("a client");
    let runtime = runtime();
    assert_eq!(
        runtime.block_on(record.create_account(spec(0xC1, 9, "carol"))),
        WriteOutcome::Created
    );

    cluster.kill_replica(2).expect("SIGKILL one replica");
    assert_eq!(cluster.state(), ServerState::Ready, "a majority still runs");
    assert_eq!(
        cluster.replica_states(),
        vec![ServerState::Ready, ServerState::Ready, ServerState::Down]
    );
    assert_eq!(
        runtime.block_on(record.create_account(spec(0xC2, 9, "dave"))),
        WriteOutcome::Created
    );

    cluster.kill_replica(1).expect("SIGKILL a second replica");
    assert_eq!(cluster.state(), ServerState::Down, "no majority");
    let short =
        RecordStore::connect(&cluster.address(), Duration::from_millis(1500)).expect("a client");
    let outcome = runtime.block_on(short.create_account(spec(0xC3, 9, "erin")));
    assert!(
        matches!(outcome, WriteOutcome::Unknown(_)),
        "got {outcome:?}"
    );

    cluster
        .start()
        .expect("the two replicas restart from their files");
    assert_eq!(cluster.state(), ServerState::Ready);
    let deadline = Instant::now() + Duration::from_secs(20);
    let ids = loop {
        if let Ok(accounts) = runtime.block_on(record.accounts_on_ledger(9)) {
            let ids: Vec<u128> = accounts.iter().map(|account| account.id).collect();
            if ids.len() >= 3 || Instant::now() > deadline {
                break ids;
            }
        }
        assert!(Instant::now() < deadline, "the healed cluster answers");
    };
    assert!(
        ids.contains(&0xC1) && ids.contains(&0xC2),
        "committed accounts survive: {ids:?}"
    );
    drop(short);
    drop(record);
    cluster.destroy().expect("cleanup");
}
