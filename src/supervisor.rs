//! The TigerBeetle supervisor: formats a data file inside the run's data directory, starts
//! the server on a free loopback port, waits (bounded) until it answers, and stops, kills,
//! pauses (SIGSTOP), resumes (SIGCONT) and restarts it from the same file. The server's
//! output goes to a log file beside its data file, never to the terminal.

use crate::process;
use serde::Serialize;
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to start listening before the start fails.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// What the presenter sees of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerState {
    Starting,
    Ready,
    Paused,
    Down,
}

impl ServerState {
    pub fn name(self) -> &'static str {
        match self {
            ServerState::Starting => "starting",
            ServerState::Ready => "ready",
            ServerState::Paused => "paused",
            ServerState::Down => "down",
        }
    }
}

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
    #[error("`tigerbeetle format` failed ({status}); see {log}")]
    Format { status: String, log: PathBuf },
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

/// One single-replica TigerBeetle server owned by this process.
pub struct RecordServer {
    binary: PathBuf,
    directory: PathBuf,
    data_file: PathBuf,
    port: u16,
    child: Option<Child>,
    state: ServerState,
}

impl RecordServer {
    /// Prepares a server whose files live in `directory`: sweeps a server left behind by
    /// an earlier run that was killed, formats the data file if there is none, and picks
    /// a free loopback port. Does not start it.
    pub fn prepare(directory: &Path, binary: &Path) -> Result<Self, SupervisorError> {
        if !binary.is_file() {
            return Err(SupervisorError::MissingBinary {
                path: binary.to_path_buf(),
            });
        }
        fs::create_dir_all(directory).map_err(io_error(format!(
            "creating the directory {}",
            directory.display()
        )))?;
        let directory = directory
            .canonicalize()
            .map_err(io_error("resolving the data directory"))?;
        let data_file = directory.join("0_0.tigerbeetle");
        process::sweep_pid_file(&directory.join("server.pid"), &data_file.to_string_lossy());
        let server = RecordServer {
            binary: binary.to_path_buf(),
            directory,
            data_file,
            port: free_loopback_port()?,
            child: None,
            state: ServerState::Down,
        };
        if !server.data_file.exists() {
            server.format()?;
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

    fn format(&self) -> Result<(), SupervisorError> {
        let log = self.log_file()?;
        let status = Command::new(&self.binary)
            .arg("format")
            .arg("--cluster=0")
            .arg("--replica=0")
            .arg("--replica-count=1")
            .arg("--development")
            .arg(&self.data_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_error("sharing the log"))?)
            .stderr(log)
            .status()
            .map_err(io_error("running `tigerbeetle format`"))?;
        if !status.success() {
            return Err(SupervisorError::Format {
                status: status.to_string(),
                log: self.log_path(),
            });
        }
        Ok(())
    }

    /// The address clients connect to.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn state(&self) -> ServerState {
        self.state
    }

    pub fn data_file(&self) -> &Path {
        &self.data_file
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the server from its data file, without waiting for it to listen.
    pub fn spawn(&mut self) -> Result<(), SupervisorError> {
        assert!(self.child.is_none(), "the server is already running");
        let log = self.log_file()?;
        let mut command = Command::new(&self.binary);
        command
            .arg("start")
            .arg(format!("--addresses={}", self.address()))
            .arg("--development")
            .arg(&self.data_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_error("sharing the log"))?)
            .stderr(log);
        let child = process::spawn_owned(&mut command).map_err(io_error("starting TigerBeetle"))?;
        tracing::info!(pid = child.id(), address = %self.address(), "TigerBeetle started");
        process::write_pid_file(&self.directory.join("server.pid"), child.id())
            .map_err(io_error("writing the TigerBeetle pid file"))?;
        self.child = Some(child);
        self.state = ServerState::Starting;
        Ok(())
    }

    /// Whether the server is listening now: one short connection attempt.
    pub fn poll_listening(&mut self) -> Result<bool, SupervisorError> {
        let Some(child) = self.child.as_mut() else {
            return Ok(false);
        };
        if let Some(status) = child.try_wait().map_err(io_error("checking TigerBeetle"))? {
            self.child = None;
            self.state = ServerState::Down;
            return Err(SupervisorError::ExitedWhileStarting {
                status: status.to_string(),
                log: self.log_path(),
            });
        }
        let address = SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port);
        let listening =
            TcpStream::connect_timeout(&address.into(), Duration::from_millis(100)).is_ok();
        if listening && self.state == ServerState::Starting {
            self.state = ServerState::Ready;
        }
        Ok(listening)
    }

    /// Waits until the server listens, at most `timeout`.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), SupervisorError> {
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

    /// Starts the server and waits until it listens.
    pub fn start(&mut self) -> Result<(), SupervisorError> {
        self.spawn()?;
        self.wait_ready(START_TIMEOUT)
    }

    /// Stops the server: SIGSTOP freezes it, requests hang until [`Self::resume`].
    pub fn pause(&mut self) -> Result<(), SupervisorError> {
        if let Some(pid) = self.pid() {
            process::signal(pid, libc::SIGSTOP).map_err(io_error("pausing TigerBeetle"))?;
            self.state = ServerState::Paused;
        }
        Ok(())
    }

    /// Resumes a paused server.
    pub fn resume(&mut self) -> Result<(), SupervisorError> {
        if let Some(pid) = self.pid() {
            process::signal(pid, libc::SIGCONT).map_err(io_error("resuming TigerBeetle"))?;
            self.state = ServerState::Ready;
        }
        Ok(())
    }

    /// Kills the server with SIGKILL: nothing it committed is lost.
    pub fn kill(&mut self) -> Result<(), SupervisorError> {
        if let Some(mut child) = self.child.take() {
            process::kill_and_reap(&mut child, REAP_TIMEOUT)
                .map_err(io_error("killing TigerBeetle"))?;
        }
        let _ = fs::remove_file(self.directory.join("server.pid"));
        self.state = ServerState::Down;
        Ok(())
    }

    /// Stops the server politely (SIGTERM), killing it if it does not exit in time.
    pub fn stop(&mut self) -> Result<(), SupervisorError> {
        if let Some(child) = self.child.as_mut() {
            let _ = process::signal(child.id(), libc::SIGCONT);
            let _ = process::signal(child.id(), libc::SIGTERM);
            let _ = process::wait_for_exit(child, STOP_TIMEOUT);
        }
        self.kill()
    }

    /// Kills the server if it runs, then starts it again from the same file and port.
    pub fn restart(&mut self) -> Result<(), SupervisorError> {
        self.kill()?;
        self.start()
    }

    /// Stops the server and deletes its data file (about 1 GB).
    pub fn destroy(mut self) -> Result<(), SupervisorError> {
        self.stop()?;
        fs::remove_file(&self.data_file).map_err(io_error("deleting the TigerBeetle data file"))
    }
}

impl Drop for RecordServer {
    fn drop(&mut self) {
        // Dropping the supervisor must never leave a server behind, even on a panic.
        let _ = self.kill();
    }
}

fn free_loopback_port() -> Result<u16, SupervisorError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(io_error("finding a free loopback port"))?;
    let port = listener
        .local_addr()
        .map_err(io_error("reading the free port"))?
        .port();
    Ok(port)
}
