//! Helpers shared by the TUI's test crates: reading a screen's columns, and finding the
//! processes and data files a run may have left behind.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A process found by its command line.
#[derive(Debug)]
pub struct Process {
    pub pid: u32,
    pub command_line: String,
}

/// The text of the columns `first..first + width` of every row: one lane's panel.
pub fn columns(screen: &str, first: usize, width: usize) -> String {
    screen
        .lines()
        .map(|line| line.chars().skip(first).take(width).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The processes whose command line names `path`: TigerBeetle names its data file, a
/// worker its lane's folder, the TUI its data directory.
pub fn processes_mentioning(path: &Path) -> Vec<Process> {
    let marker = path.to_string_lossy().into_owned();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        let Ok(command_line) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let command_line = String::from_utf8_lossy(&command_line).replace('\0', " ");
        if command_line.contains(&marker) {
            found.push(Process { pid, command_line });
        }
    }
    found
}

/// Every TigerBeetle data file under `directory` (those of a run, and those moved aside
/// to be deleted).
pub fn tigerbeetle_data_files(directory: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    for _directory_index in 0..10_000 {
        let Some(directory) = pending.pop() else {
            break;
        };
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "tigerbeetle")
            {
                found.push(path);
            }
        }
    }
    found
}
