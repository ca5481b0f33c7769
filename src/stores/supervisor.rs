//! The TigerBeetle supervisor: formats a data file inside the run's data directory, starts
//! the server on a free loopback port, waits (bounded) until it answers, and stops, kills,
//! pauses (SIGSTOP), resumes (SIGCONT) and restarts it from the same file. The server's
//! output goes to a log file beside its data file, never to the terminal.

pub use crate::domain::cluster::ServerState;
use crate::domain::cluster::cluster_state;
use crate::stores::{disk, process};
use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to start listening before the start fails.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);
const REAP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `tigerbeetle format` may take (it takes about 0.2 s to allocate 1.1 GB here).
pub(crate) const FORMAT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `tigerbeetle version` may take to answer.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);
/// The release of the TigerBeetle client this program is built with: the server must be
/// the same release (`tigerbeetle version` prints `TigerBeetle version 0.16.78+c3d9b09`).
pub(crate) const CLIENT_RELEASE: &str = "0.16.78";
/// How many times a start picks new ports when another process took one in between.
const PORT_ATTEMPTS: usize = 3;
/// How many client requests a replica queues beyond its prepare pipeline (8). A replica
/// accepts that many client connections plus 8 at once (`src/tigerbeetle/main.zig`:
/// `clients_limit`), and a client beyond them cannot connect, so its requests go
/// unanswered. `--development` sets this to 0, which allows only 8 clients: fewer than six
/// lanes' workers and readers. 56 gives 8 + 56 = 64 connections, one per session the
/// replica keeps (`clients_max`), so every session it can keep can also connect (the
/// flag's own maximum is `pipeline_request_queue_max` = 64 + 1 - 8 = 57,
/// `src/constants.zig`). The flag is one of the release's
/// experimental ones, which need `--experimental`: "intentionally undocumented", held to
/// "the same strict standard of safety", "without any performance or usability
/// guarantees" (`src/tigerbeetle/cli.zig`).
const PIPELINE_REQUESTS_LIMIT: u32 = 56;
/// The most replicas a cluster of the demo has (scenarios pick 1, 3 or 5).
pub(crate) const REPLICA_COUNT_MAX: usize = 5;

/// A failure of the supervisor itself (not of a request to the server).
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("the TigerBeetle server binary {path} is missing: run bin/setup (it builds it once)")]
    MissingBinary { path: PathBuf },
    #[error("{action} failed: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`tigerbeetle format` failed ({status}): {reason}; see {log}")]
    Format {
        status: String,
        reason: String,
        log: PathBuf,
    },
    #[error(
        "`tigerbeetle format` did not finish within {} s (stopped); see {log}",
        FORMAT_TIMEOUT.as_secs()
    )]
    FormatTimeout { log: PathBuf },
    #[error(
        "the TigerBeetle server binary {path} is release {found}, but this program's client is {CLIENT_RELEASE}: run bin/setup"
    )]
    WrongRelease { path: PathBuf, found: String },
    #[error(
        "not enough free disk for TigerBeetle in {folder}: {free} free, about {needed} needed (1.1 GB per replica)"
    )]
    DiskSpace {
        folder: PathBuf,
        free: String,
        needed: String,
    },
    #[error("no free loopback port on 127.0.0.1 (the port range may be exhausted): {source}")]
    NoPort {
        #[source]
        source: std::io::Error,
    },
    #[error("TigerBeetle exited while starting ({status}); see {log}")]
    ExitedWhileStarting { status: String, log: PathBuf },
    #[error("TigerBeetle did not listen on {address} within {timeout_ms} ms; see {log}")]
    StartTimeout {
        address: String,
        timeout_ms: u128,
        log: PathBuf,
    },
}

fn io_error(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> SupervisorError {
    let action = action.into();
    move |source| SupervisorError::Io { action, source }
}

/// The path of the server binary: `$CABARET_TIGERBEETLE`, else the project's `bin/tigerbeetle`.
pub fn default_binary() -> PathBuf {
    std::env::var_os("CABARET_TIGERBEETLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("bin/tigerbeetle"))
}

/// One replica: its data file, port and process.
struct Replica {
    data_file: PathBuf,
    port: u16,
    child: Option<Child>,
    state: ServerState,
}

/// A TigerBeetle cluster owned by this process: one replica (the default) or several on
/// loopback (cluster mode: kill one and the others keep answering while they are a
/// majority).
pub struct RecordServer {
    binary: PathBuf,
    directory: PathBuf,
    replicas: Vec<Replica>,
}

impl RecordServer {
    /// Prepares a single-replica server whose files live in `directory`: sweeps a server
    /// left behind by an earlier run that was killed, formats the data file if there is
    /// none, and picks a free loopback port. Does not start it.
    pub fn prepare(directory: &Path, binary: &Path) -> Result<Self, SupervisorError> {
        RecordServer::prepare_cluster(directory, binary, 1)
    }

    /// Prepares `replica_count` replicas (1 to 5) in `directory`, as [`Self::prepare`].
    pub fn prepare_cluster(
        directory: &Path,
        binary: &Path,
        replica_count: usize,
    ) -> Result<Self, SupervisorError> {
        assert!(
            (1..=REPLICA_COUNT_MAX).contains(&replica_count),
            "1 to {REPLICA_COUNT_MAX} replicas"
        );
        if !binary.is_file() {
            return Err(SupervisorError::MissingBinary {
                path: binary.to_path_buf(),
            });
        }
        check_release(binary)?;
        fs::create_dir_all(directory).map_err(io_error(format!(
            "creating the directory {}",
            directory.display()
        )))?;
        let directory = directory
            .canonicalize()
            .map_err(io_error("resolving the data directory"))?;
        let mut replicas = Vec::with_capacity(replica_count);
        for replica_index in 0..replica_count {
            let data_file = directory.join(data_file_name(replica_index));
            let pid_file = directory.join(pid_file_name(replica_index));
            process::sweep_pid_file(&pid_file, &data_file.to_string_lossy());
            replicas.push(Replica {
                data_file,
                port: free_loopback_port()?,
                child: None,
                state: ServerState::Down,
            });
        }
        let server = RecordServer {
            binary: binary.to_path_buf(),
            directory,
            replicas,
        };
        let to_format: Vec<usize> = (0..replica_count)
            .filter(|index| !server.replicas[*index].data_file.exists())
            .collect();
        server.check_free_space(to_format.len())?;
        for replica_index in to_format {
            server.format(replica_index)?;
        }
        Ok(server)
    }

    fn log_path(&self) -> PathBuf {
        self.directory.join("server.log")
    }

    fn log_file(&self) -> Result<File, SupervisorError> {
        File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(io_error("opening the TigerBeetle log"))
    }

    /// Refuses to format when the disk lacks room for `replica_count` data files.
    fn check_free_space(&self, replica_count: usize) -> Result<(), SupervisorError> {
        if replica_count == 0 {
            return Ok(());
        }
        let needed = disk::DATA_FILE_BYTES * replica_count as u64 + disk::RUN_MARGIN_BYTES;
        let free = disk::free_bytes(&self.directory)
            .map_err(io_error("reading the free space of the data directory"))?;
        if free < needed {
            return Err(SupervisorError::DiskSpace {
                folder: self.directory.clone(),
                free: disk::human_bytes(free),
                needed: disk::human_bytes(needed),
            });
        }
        Ok(())
    }

    /// Formats a replica's data file: an owned child (it dies with this process), bounded
    /// by [`FORMAT_TIMEOUT`]. A file left half-made by a failure is removed.
    fn format(&self, replica_index: usize) -> Result<(), SupervisorError> {
        let result = self.run_format(replica_index);
        if result.is_err() {
            let _ = fs::remove_file(&self.replicas[replica_index].data_file);
        }
        result
    }

    fn run_format(&self, replica_index: usize) -> Result<(), SupervisorError> {
        let log = self.log_file()?;
        let mut command = Command::new(&self.binary);
        command
            .arg("format")
            .arg(format!("--cluster={}", crate::domain::ids::CLUSTER_ID))
            .arg(format!("--replica={replica_index}"))
            .arg(format!("--replica-count={}", self.replicas.len()))
            .arg("--development")
            .arg(&self.replicas[replica_index].data_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_error("sharing the log"))?)
            .stderr(log);
        let mut child =
            process::spawn_owned(&mut command).map_err(io_error("running `tigerbeetle format`"))?;
        let waited = process::wait_for_exit(&mut child, FORMAT_TIMEOUT)
            .map_err(io_error("waiting for `tigerbeetle format`"));
        let status = match waited {
            Ok(Some(status)) => status,
            Ok(None) | Err(_) => {
                let _ = process::kill_and_reap(&mut child, REAP_TIMEOUT);
                waited?;
                return Err(SupervisorError::FormatTimeout {
                    log: self.log_path(),
                });
            }
        };
        if !status.success() {
            return Err(SupervisorError::Format {
                status: status.to_string(),
                reason: last_error_line(&self.log_path()),
                log: self.log_path(),
            });
        }
        Ok(())
    }

    /// The addresses clients connect to (comma-separated when there are several replicas).
    pub fn address(&self) -> String {
        self.replicas
            .iter()
            .map(|replica| format!("127.0.0.1:{}", replica.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn replica_count(&self) -> usize {
        self.replicas.len()
    }

    /// The state of each replica.
    pub fn replica_states(&self) -> Vec<ServerState> {
        self.replicas.iter().map(|replica| replica.state).collect()
    }

    /// The cluster's state as the presenter sees it: ready while a majority of replicas
    /// runs; otherwise paused (if any replica is paused), starting, or down.
    pub fn state(&self) -> ServerState {
        cluster_state(&self.replica_states())
    }

    /// The first replica's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.replicas[0].child.as_ref().map(Child::id)
    }

    /// Starts every replica that is not running, without waiting for it to listen.
    pub(crate) fn spawn(&mut self) -> Result<(), SupervisorError> {
        for replica_index in 0..self.replicas.len() {
            if self.replicas[replica_index].child.is_none() {
                self.spawn_replica(replica_index)?;
            }
        }
        Ok(())
    }

    fn spawn_replica(&mut self, replica_index: usize) -> Result<(), SupervisorError> {
        assert!(
            self.replicas[replica_index].child.is_none(),
            "the replica is already running"
        );
        let log = self.log_file()?;
        let addresses = self.address();
        let replica = &self.replicas[replica_index];
        let mut command = Command::new(&self.binary);
        command
            .arg("start")
            .arg(format!("--addresses={addresses}"))
            .arg("--development")
            .arg("--experimental")
            .arg(format!(
                "--limit-pipeline-requests={PIPELINE_REQUESTS_LIMIT}"
            ))
            .arg(&replica.data_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_error("sharing the log"))?)
            .stderr(log);
        let child = process::spawn_owned(&mut command).map_err(io_error("starting TigerBeetle"))?;
        tracing::info!(
            pid = child.id(),
            replica = replica_index,
            port = replica.port,
            "TigerBeetle started"
        );
        process::write_pid_file(
            &self.directory.join(pid_file_name(replica_index)),
            child.id(),
        )
        .map_err(io_error("writing the TigerBeetle pid file"))?;
        let replica = &mut self.replicas[replica_index];
        replica.child = Some(child);
        replica.state = ServerState::Starting;
        Ok(())
    }

    /// Whether every running replica listens now, on its own socket.
    pub(crate) fn poll_listening(&mut self) -> Result<bool, SupervisorError> {
        let mut all_listening = true;
        let log = self.log_path();
        for replica in &mut self.replicas {
            let Some(child) = replica.child.as_mut() else {
                continue;
            };
            if let Some(status) = child.try_wait().map_err(io_error("checking TigerBeetle"))? {
                replica.child = None;
                replica.state = ServerState::Down;
                return Err(SupervisorError::ExitedWhileStarting {
                    status: status.to_string(),
                    log,
                });
            }
            if replica.state != ServerState::Starting {
                continue;
            }
            // The replica's own socket, not a connection: another process may have
            // taken the port between choosing it and TigerBeetle binding it.
            if process::listens_on_loopback(child.id(), replica.port) {
                replica.state = ServerState::Ready;
            } else {
                all_listening = false;
            }
        }
        Ok(all_listening && self.replicas.iter().any(|replica| replica.child.is_some()))
    }

    /// Waits until every running replica listens, at most `timeout`.
    pub(crate) fn wait_ready(&mut self, timeout: Duration) -> Result<(), SupervisorError> {
        let deadline = Instant::now() + timeout;
        while !self.poll_listening()? {
            if Instant::now() >= deadline {
                return Err(SupervisorError::StartTimeout {
                    address: self.address(),
                    timeout_ms: timeout.as_millis(),
                    log: self.log_path(),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Ok(())
    }

    /// Starts every replica that is down and waits until they listen. When another
    /// process took a port between choosing it and TigerBeetle binding it, new ports
    /// are picked and the start is tried again, [`PORT_ATTEMPTS`] times in all.
    pub fn start(&mut self) -> Result<(), SupervisorError> {
        for _attempt in 1..PORT_ATTEMPTS {
            self.spawn()?;
            match self.wait_ready(START_TIMEOUT) {
                Err(SupervisorError::ExitedWhileStarting { .. })
                    if last_error_line(&self.log_path()).contains("AddressInUse") =>
                {
                    tracing::warn!("a TigerBeetle port was taken before it bound: new ports");
                    self.kill()?;
                    for replica in &mut self.replicas {
                        replica.port = free_loopback_port()?;
                    }
                }
                other => return other,
            }
        }
        self.spawn()?;
        self.wait_ready(START_TIMEOUT)
    }

    /// SIGSTOP to every replica: requests hang until [`Self::resume`].
    pub fn pause(&mut self) -> Result<(), SupervisorError> {
        for replica_index in 0..self.replicas.len() {
            self.pause_replica(replica_index)?;
        }
        Ok(())
    }

    /// SIGSTOP to one replica.
    pub(crate) fn pause_replica(&mut self, replica_index: usize) -> Result<(), SupervisorError> {
        let replica = &mut self.replicas[replica_index];
        if let Some(child) = replica.child.as_ref() {
            process::signal(child.id(), libc::SIGSTOP).map_err(io_error("pausing TigerBeetle"))?;
            replica.state = ServerState::Paused;
        }
        Ok(())
    }

    /// SIGCONT to every paused replica.
    pub fn resume(&mut self) -> Result<(), SupervisorError> {
        for replica in &mut self.replicas {
            if replica.state != ServerState::Paused {
                continue;
            }
            if let Some(child) = replica.child.as_ref() {
                process::signal(child.id(), libc::SIGCONT)
                    .map_err(io_error("resuming TigerBeetle"))?;
                replica.state = ServerState::Ready;
            }
        }
        Ok(())
    }

    /// SIGKILL to every replica: nothing committed is lost.
    pub fn kill(&mut self) -> Result<(), SupervisorError> {
        for replica_index in 0..self.replicas.len() {
            self.kill_replica(replica_index)?;
        }
        Ok(())
    }

    /// SIGKILL to one replica.
    pub fn kill_replica(&mut self, replica_index: usize) -> Result<(), SupervisorError> {
        let replica = &mut self.replicas[replica_index];
        if let Some(mut child) = replica.child.take() {
            process::kill_and_reap(&mut child, REAP_TIMEOUT)
                .map_err(io_error("killing TigerBeetle"))?;
        }
        replica.state = ServerState::Down;
        let _ = fs::remove_file(self.directory.join(pid_file_name(replica_index)));
        Ok(())
    }

    /// Reaps every replica that exited without being told to (killed from outside, or
    /// crashed): it is down from now on, and no zombie is left. Returns each one's index
    /// and how it ended. A paused replica has not exited.
    pub(crate) fn reap_exited(&mut self) -> Vec<(usize, ExitStatus)> {
        let mut exited = Vec::new();
        for (replica_index, replica) in self.replicas.iter_mut().enumerate() {
            let Some(child) = replica.child.as_mut() else {
                continue;
            };
            if let Ok(Some(status)) = child.try_wait() {
                replica.child = None;
                replica.state = ServerState::Down;
                let _ = fs::remove_file(self.directory.join(pid_file_name(replica_index)));
                exited.push((replica_index, status));
            }
        }
        exited
    }

    /// Stops every replica. TigerBeetle is built to survive a crash at any instant and does
    /// not wait for a SIGTERM, so stopping is killing: nothing committed is lost.
    pub(crate) fn stop(&mut self) -> Result<(), SupervisorError> {
        self.kill()
    }

    /// Kills every replica, then starts them again from the same files and ports.
    pub fn restart(&mut self) -> Result<(), SupervisorError> {
        self.kill()?;
        self.start()
    }

    /// Stops the cluster and deletes its data files (about 1 GB each).
    pub fn destroy(mut self) -> Result<(), SupervisorError> {
        self.stop()?;
        for replica in &self.replicas {
            fs::remove_file(&replica.data_file)
                .map_err(io_error("deleting the TigerBeetle data file"))?;
        }
        Ok(())
    }
}

impl Drop for RecordServer {
    fn drop(&mut self) {
        // Dropping the supervisor must never leave a server behind, even on a panic.
        let _ = self.kill();
    }
}

/// The name of replica `replica_index`'s data file in the server's folder.
pub(crate) fn data_file_name(replica_index: usize) -> String {
    format!(
        "{}_{replica_index}.tigerbeetle",
        crate::domain::ids::CLUSTER_ID
    )
}

/// The name of replica `replica_index`'s pid file in the server's folder. The first
/// replica keeps the plain `server.pid` name that earlier runs used.
pub(crate) fn pid_file_name(replica_index: usize) -> String {
    if replica_index == 0 {
        "server.pid".to_string()
    } else {
        format!("server-{replica_index}.pid")
    }
}

/// Checks that the server binary is the client's release, by `tigerbeetle version`
/// (an owned child, bounded by [`VERSION_TIMEOUT`]).
fn check_release(binary: &Path) -> Result<(), SupervisorError> {
    let mut command = Command::new(binary);
    command
        .arg("version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child =
        process::spawn_owned(&mut command).map_err(io_error("running `tigerbeetle version`"))?;
    let status = process::wait_for_exit(&mut child, VERSION_TIMEOUT)
        .map_err(io_error("waiting for `tigerbeetle version`"))?;
    let mut output = String::new();
    if status.is_some() {
        if let Some(mut stdout) = child.stdout.take() {
            use std::io::Read;
            let _ = stdout.read_to_string(&mut output);
        }
    } else {
        let _ = process::kill_and_reap(&mut child, REAP_TIMEOUT);
    }
    let found = output
        .split_whitespace()
        .find(|word| {
            word.chars()
                .next()
                .is_some_and(|first| first.is_ascii_digit())
        })
        .unwrap_or("unknown (`tigerbeetle version` said nothing readable)")
        .to_string();
    let release = found.split('+').next().unwrap_or_default();
    if release == CLIENT_RELEASE {
        return Ok(());
    }
    Err(SupervisorError::WrongRelease {
        path: binary.to_path_buf(),
        found,
    })
}

/// The last line of the server's log that says `error`, for a failure's message.
fn last_error_line(log: &Path) -> String {
    let text = fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    text.lines()
        .rev()
        .find(|line| line.contains("error"))
        .map(|line| {
            let line = line.trim();
            // TigerBeetle's lines begin with a timestamp: keep what follows it.
            line.split_once("Z ")
                .map_or(line, |(_, rest)| rest)
                .to_string()
        })
        .unwrap_or_else(|| "no error in the log".to_string())
}

fn free_loopback_port() -> Result<u16, SupervisorError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|source| SupervisorError::NoPort { source })?;
    let port = listener
        .local_addr()
        .map_err(io_error("reading the free port"))?
        .port();
    Ok(port)
}
