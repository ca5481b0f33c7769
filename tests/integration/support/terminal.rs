//! A real terminal for the tests that drive the binary as a user would: a tmux server of
//! its own with one window running a plain shell, and a data directory for the runs typed
//! into it. Dropping it ends the server and every process of its runs.

use super::{POLL, processes_mentioning};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The window's size, as a presenter's terminal: 120×40.
pub const WIDTH: u16 = 120;
pub const HEIGHT: u16 = 40;

pub struct Terminal {
    socket: String,
    data: tempfile::TempDir,
}

impl Terminal {
    /// A new tmux server named after `name` (unique within the test crate).
    pub fn start(name: &str) -> Terminal {
        let terminal = Terminal {
            socket: format!("cabaret-test-{}-{name}", std::process::id()),
            data: tempfile::tempdir().expect("a temporary directory"),
        };
        let (width, height) = (WIDTH.to_string(), HEIGHT.to_string());
        terminal.tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "cabaret",
            "-x",
            &width,
            "-y",
            &height,
            "-c",
            env!("CARGO_MANIFEST_DIR"),
            "env PS1='$ ' bash --norc --noprofile",
        ]);
        terminal
    }

    pub fn tmux(&self, arguments: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(arguments)
            .output()
            .expect("tmux runs (is it installed?)");
        assert!(
            output.status.success(),
            "tmux {arguments:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Types a line into the shell and presses Enter.
    pub fn type_line(&self, line: &str) {
        self.tmux(&["send-keys", "-t", "cabaret", "-l", line]);
        self.tmux(&["send-keys", "-t", "cabaret", "Enter"]);
    }

    pub fn press(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "cabaret", key]);
    }

    pub fn resize(&self, width: u16, height: u16) {
        let (width, height) = (width.to_string(), height.to_string());
        self.tmux(&[
            "resize-window",
            "-t",
            "cabaret",
            "-x",
            &width,
            "-y",
            &height,
        ]);
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "cabaret"])
    }

    /// Polls the screen until `until` holds; fails with the last screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, until: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if until(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{screen}"
            );
            std::thread::sleep(POLL);
        }
    }

    pub fn data(&self) -> &Path {
        self.data.path()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
        // A last resort for a failed test: nothing of the run may outlive it.
        kill_everything_of(self.data.path());
    }
}

/// Kills every process whose command line names `directory`: a failed test leaves none.
pub fn kill_everything_of(directory: &Path) {
    for process in processes_mentioning(directory) {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(process.pid.to_string())
            .status();
    }
}
