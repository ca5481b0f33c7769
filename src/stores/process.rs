//! Child processes that never outlive the program: every child the demo starts gets a
//! parent-death signal (SIGKILL) and its own process group (so a terminal's Ctrl-C reaches
//! only the controller, which then ends its children in order), and leaves a pid file that
//! the next start sweeps if the program was killed before it could clean up.

use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, getppid};
use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Starts `command` as an owned child: killed by the kernel if this process dies.
pub(crate) fn spawn_owned(command: &mut Command) -> io::Result<Child> {
    let parent = Pid::this();
    // Its own process group: std calls setpgid(0, 0) in the child before exec.
    command.process_group(0);
    // SAFETY: `pre_exec` stays unsafe whatever the closure calls: the closure runs in the
    // child between fork and exec, where only async-signal-safe calls are sound. This one
    // makes two system calls through nix's thin wrappers (prctl, getppid), which neither
    // allocate nor lock, and its error is a bare errno value, which allocates nothing.
    unsafe {
        command.pre_exec(move || {
            prctl::set_pdeathsig(Signal::SIGKILL)?;
            // The parent may have died before prctl ran: then nobody would kill us. Failing
            // here ends the child before exec (std's child side then calls `_exit`).
            if getppid() != parent {
                return Err(Errno::ESRCH.into());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// `pid` as the pid of one process; `None` for 0 and for pids past `i32::MAX`, which
/// kill(2) would take for a process group (0 is this process's own group).
fn process_id(pid: u32) -> Option<Pid> {
    match i32::try_from(pid) {
        Ok(raw) if raw > 0 => Some(Pid::from_raw(raw)),
        _ => None,
    }
}

/// Sends `signal` to `pid`; a process that is already gone is not an error.
pub(crate) fn signal(pid: u32, signal: libc::c_int) -> io::Result<()> {
    let Some(target) = process_id(pid) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{pid} is not the pid of one process"),
        ));
    };
    let signal = Signal::try_from(signal)?;
    match kill(target, signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Whether a process with this pid exists (kill(2) with no signal checks without sending
/// anything; EPERM means it exists but belongs to someone else).
/// A killed child that has been reaped no longer exists.
pub(crate) fn is_alive(pid: u32) -> bool {
    process_id(pid).is_some_and(|target| matches!(kill(target, None), Ok(()) | Err(Errno::EPERM)))
}

/// Kills the child and reaps it, waiting at most `timeout` for it to be reaped.
pub(crate) fn kill_and_reap(child: &mut Child, timeout: Duration) -> io::Result<()> {
    // A reaped child's pid may already belong to another process: never signal it.
    if child.try_wait()?.is_some() {
        return Ok(());
    }
    signal(child.id(), libc::SIGCONT)?;
    signal(child.id(), libc::SIGKILL)?;
    wait_for_exit(child, timeout).map(drop)
}

/// Waits, polling, until the child exits or `timeout` passes.
pub(crate) fn wait_for_exit(
    child: &mut Child,
    timeout: Duration,
) -> io::Result<Option<std::process::ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Takes an exclusive advisory lock (flock) on `file` without waiting; false when
/// another open file holds it. The kernel drops the lock when the holder dies, so a
/// SIGKILL never leaves it stuck.
pub(crate) fn try_lock_exclusive(file: &fs::File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor the File owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Ok(false);
    }
    Err(error)
}

/// Writes a pid file for a child so a later start can sweep it.
pub(crate) fn write_pid_file(path: &Path, pid: u32) -> io::Result<()> {
    fs::write(path, format!("{pid}\n"))
}

/// Kills the process named in the pid file at `path` if it is still alive and its command
/// line contains `marker` (so a recycled pid of an unrelated process is left alone), then
/// removes the file. Returns whether a process was killed.
pub(crate) fn sweep_pid_file(path: &Path, marker: &str) -> bool {
    let Ok(text) = fs::read_to_string(path) else {
        return false;
    };
    let _ = fs::remove_file(path);
    let Ok(pid) = text.trim().parse::<u32>() else {
        return false;
    };
    let Ok(command_line) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let command_line = String::from_utf8_lossy(&command_line).replace('\0', " ");
    if !command_line.contains(marker) {
        return false;
    }
    let _ = signal(pid, libc::SIGCONT);
    signal(pid, libc::SIGKILL).is_ok()
}

/// Sends this process's stderr (fd 2) to `path`, so that the TigerBeetle client library's
/// own warnings never reach the terminal. Returns the original stderr, for the messages
/// the user must still see.
pub fn redirect_stderr(path: &Path) -> io::Result<fs::File> {
    let log = fs::File::options().create(true).append(true).open(path)?;
    let original = nix::unistd::dup(io::stderr())?;
    nix::unistd::dup2_stderr(&log)?;
    Ok(fs::File::from(original))
}

/// How a child ended, in words: "killed by SIGKILL", "exited with status 1".
pub(crate) fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = status.signal() {
        return format!("killed by {}", signal_name(signal));
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => status.to_string(),
    }
}

/// The usual name of a signal number ("SIGKILL"), or "signal N".
pub(crate) fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

/// The resident memory of process `pid` in KiB (`VmRSS` in `/proc/<pid>/status`), or
/// `None` when it cannot be read (the process is gone).
pub(crate) fn resident_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether process `pid` itself holds a TCP socket listening on 127.0.0.1:`port`: one of
/// its file descriptors is a socket whose inode `/proc/<pid>/net/tcp` lists in state
/// LISTEN (0A) at that address. A connection attempt cannot tell this apart from another
/// process that took the port first.
pub(crate) fn listens_on_loopback(pid: u32, port: u16) -> bool {
    let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    let inodes: Vec<String> = entries
        .flatten()
        .filter_map(|entry| fs::read_link(entry.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
            Some(inode.to_string())
        })
        .collect();
    let Ok(table) = fs::read_to_string(format!("/proc/{pid}/net/tcp")) else {
        return false;
    };
    // The kernel writes 127.0.0.1 as 0100007F (little-endian) and the port in hex.
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() > 9
            && fields[1] == local
            && fields[3] == "0A"
            && inodes.iter().any(|inode| inode == fields[9])
    })
}
