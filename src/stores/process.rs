//! Child processes that never outlive the program: every child the demo starts gets a
//! parent-death signal (SIGKILL) and its own process group (so a terminal's Ctrl-C reaches
//! only the controller, which then ends its children in order), and leaves a pid file that
//! the next start sweeps if the program was killed before it could clean up.

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Starts `command` as an owned child: killed by the kernel if this process dies.
pub fn spawn_owned(command: &mut Command) -> io::Result<Child> {
    let parent_pid = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec and calls only
    // async-signal-safe functions (prctl, getppid, setpgid, _exit).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl ran: then nobody would kill us.
            if libc::getppid() != parent_pid {
                libc::_exit(1);
            }
            if libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Sends `signal` to `pid`; a process that is already gone is not an error.
pub fn signal(pid: u32, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill has no memory-safety preconditions.
    let result = unsafe { libc::kill(pid as libc::pid_t, signal) };
    if result == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::ESRCH) {
        return Ok(());
    }
    Err(error)
}

/// Whether a process with this pid exists (signal 0 checks without sending anything).
/// A killed child that has been reaped no longer exists.
pub fn is_alive(pid: u32) -> bool {
    // SAFETY: kill has no memory-safety preconditions; signal 0 sends nothing.
    let result = unsafe { libc::kill(pid as libc::pid_t, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Kills the child and reaps it, waiting at most `timeout` for it to be reaped.
pub fn kill_and_reap(child: &mut Child, timeout: Duration) -> io::Result<()> {
    // A reaped child's pid may already belong to another process: never signal it.
    if child.try_wait()?.is_some() {
        return Ok(());
    }
    signal(child.id(), libc::SIGCONT)?;
    signal(child.id(), libc::SIGKILL)?;
    wait_for_exit(child, timeout).map(drop)
}

/// Waits, polling, until the child exits or `timeout` passes.
pub fn wait_for_exit(
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

/// Writes a pid file for a child so a later start can sweep it.
pub fn write_pid_file(path: &Path, pid: u32) -> io::Result<()> {
    fs::write(path, format!("{pid}\n"))
}

/// Kills the process named in the pid file at `path` if it is still alive and its command
/// line contains `marker` (so a recycled pid of an unrelated process is left alone), then
/// removes the file. Returns whether a process was killed.
pub fn sweep_pid_file(path: &Path, marker: &str) -> bool {
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
    use std::os::fd::{AsRawFd, FromRawFd};
    let log = fs::File::options().create(true).append(true).open(path)?;
    // SAFETY: dup and dup2 on valid descriptors; the duplicate is owned by the File.
    unsafe {
        let original = libc::dup(2);
        if original < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::dup2(log.as_raw_fd(), 2) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(fs::File::from_raw_fd(original))
    }
}

/// The resident memory of process `pid` in KiB (`VmRSS` in `/proc/<pid>/status`), or
/// `None` when it cannot be read (the process is gone).
pub fn resident_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
