//! The scenario picker's data: every `*.toml` file of the scenarios folder, loaded and
//! validated, with its title and one-line summary, or why it cannot be played. Read on
//! the runner thread, never while drawing.

use crate::domain::scenario::{self, Scenario};
use std::path::{Path, PathBuf};

/// A bound on the files listed: a scenario library is a handful of files.
const ENTRY_COUNT_MAX: usize = 200;

/// One file of the scenarios folder.
#[derive(Clone, Debug)]
pub struct PickerEntry {
    pub(crate) path: PathBuf,
    pub(crate) scenario: Result<Box<Scenario>, String>,
}

impl PickerEntry {
    pub(crate) fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The scenarios folder: `scenarios/` in the working directory, else the project's own.
pub fn default_folder() -> PathBuf {
    let local = PathBuf::from("scenarios");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// Every scenario file of `folder`, sorted by name (the files are numbered).
pub(crate) fn list(folder: &Path) -> Result<Vec<PickerEntry>, String> {
    let reading = std::fs::read_dir(folder)
        .map_err(|error| format!("cannot read {}: {error}", folder.display()))?;
    let mut paths: Vec<PathBuf> = reading
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .take(ENTRY_COUNT_MAX)
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| PickerEntry {
            scenario: scenario::load(&path)
                .map(Box::new)
                .map_err(|error| error.to_string()),
            path,
        })
        .collect())
}
