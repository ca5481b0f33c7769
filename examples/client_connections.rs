//! Measures how a TigerBeetle server started by this project treats many clients at once:
//! the first request of a new client, and one request from each of 16 live clients in
//! turn (which clients get an answer within 5 s, and how fast). With `--development`
//! alone, TigerBeetle 0.16.78 accepts 8 client connections, and the 9th client on gets no
//! answer; the supervisor raises the limit (`--limit-pipeline-requests`).
//! Run: `cargo run --example client_connections` (numbers go to BENCHMARKS.md).

use cabaret::stores::record::RecordStore;
use cabaret::stores::supervisor::{RecordServer, default_binary};
use std::time::{Duration, Instant};

const CLIENT_COUNT: usize = 16;
const ROUND_COUNT: usize = 3;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = tempfile::tempdir()?;
    let mut server = RecordServer::prepare(&directory.path().join("record"), &default_binary())?;
    server.start()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    for pause_ms in [0_u64, 50] {
        let record = RecordStore::connect(&server.address(), REQUEST_TIMEOUT)?;
        std::thread::sleep(Duration::from_millis(pause_ms));
        let started = Instant::now();
        let _ = runtime.block_on(record.lookup(1));
        let first = started.elapsed();
        let started = Instant::now();
        let _ = runtime.block_on(record.lookup(1));
        println!(
            "a new client, {pause_ms} ms after it was made: first request {:.1} ms, second {:.1} ms",
            milliseconds(first),
            milliseconds(started.elapsed())
        );
    }
    let clients = (0..CLIENT_COUNT)
        .map(|_| RecordStore::connect(&server.address(), REQUEST_TIMEOUT))
        .collect::<Result<Vec<_>, _>>()?;
    for round in 0..ROUND_COUNT {
        let times: Vec<String> = clients
            .iter()
            .map(|client| {
                let started = Instant::now();
                let answered = runtime.block_on(client.lookup(1)).is_ok();
                let time = milliseconds(started.elapsed());
                if answered {
                    format!("{time:.0}")
                } else {
                    format!("{time:.0}(no answer)")
                }
            })
            .collect();
        println!(
            "{CLIENT_COUNT} clients, round {round}, ms each: {}",
            times.join(" ")
        );
    }
    Ok(())
}
