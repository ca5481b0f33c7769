//! What every face does around its runs so that nothing is lost that isn't ours: it takes
//! the data folder (one run per folder), removes what runs killed earlier left behind,
//! and, for the headless faces, turns SIGINT, SIGTERM and SIGHUP into removing the
//! running run's TigerBeetle data file before exiting with 128 + the signal. A panic's
//! message goes to the terminal, not only to the log.

use crate::engine::layout::{DataDir, DataDirLock, LayoutError, Swept};
use crate::stores::disk;
use std::io::Write;

/// Takes the data folder for this process and sweeps what killed runs left; returns the
/// lock (hold it until the program ends) and one line about what was freed, if anything.
pub fn take_data_dir(data_dir: &DataDir) -> Result<(DataDirLock, Option<String>), LayoutError> {
    let lock = data_dir.lock()?;
    let swept = data_dir.sweep_killed_runs();
    Ok((lock, swept_line(&swept)))
}

fn swept_line(swept: &Swept) -> Option<String> {
    if swept.bytes == 0 {
        return None;
    }
    let folders: Vec<String> = swept
        .folders
        .iter()
        .map(|folder| folder.display().to_string())
        .collect();
    let place = if folders.is_empty() {
        String::new()
    } else {
        format!(" in {}", folders.join(", "))
    };
    Some(format!(
        "removed {} of TigerBeetle data left{place} by a run that was killed",
        disk::human_bytes(swept.bytes)
    ))
}

/// Removes the data files of the runs this process has going (their markers name its
/// pid); returns the bytes freed.
pub fn remove_own_data(data_dir: &DataDir) -> u64 {
    data_dir
        .own_running_runs()
        .iter()
        .map(|layout| {
            layout.sweep_processes();
            let bytes = layout.remove_data_files();
            let _ = layout.finish(false);
            bytes
        })
        .sum()
}

/// For headless faces: on SIGINT, SIGTERM or SIGHUP, removes the running run's data file,
/// says so on `terminal` (the real stderr), and exits with 128 + the signal. The children
/// die with this process (their parent-death signal).
pub fn exit_cleanly_on_signals(data_dir: &DataDir, terminal: std::fs::File) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let data_dir = data_dir.clone();
    std::thread::Builder::new()
        .name("signals".to_string())
        .spawn(move || {
            let Some(signal) = signals.forever().next() else {
                return;
            };
            let freed = remove_own_data(&data_dir);
            let name = match signal {
                SIGINT => "SIGINT",
                SIGTERM => "SIGTERM",
                _ => "SIGHUP",
            };
            let removed = if freed > 0 {
                format!(
                    "; removed the run's TigerBeetle data ({})",
                    disk::human_bytes(freed)
                )
            } else {
                String::new()
            };
            let mut terminal = &terminal;
            let _ = writeln!(terminal, "cabaret: stopped by {name}{removed}");
            std::process::exit(128 + signal);
        })?;
    Ok(())
}

/// Sends a panic's message to `terminal` (the real stderr) as well as to the log.
pub fn report_panics_on(terminal: std::fs::File, log: std::path::PathBuf) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let mut terminal = &terminal;
        let _ = writeln!(
            terminal,
            "cabaret: internal error: {info}; details in {}",
            log.display()
        );
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_swept_says_nothing_and_a_sweep_says_how_much() {
        assert_eq!(swept_line(&Swept::default()), None);
        let swept = Swept {
            folders: vec!["/data/02".into()],
            bytes: disk::DATA_FILE_BYTES,
        };
        assert_eq!(
            swept_line(&swept).as_deref(),
            Some("removed 1.1 GB of TigerBeetle data left in /data/02 by a run that was killed")
        );
    }
}
