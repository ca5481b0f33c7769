//! Every word the TUI puts on screen, in one place: titles, hints, messages, the key
//! list. Texts that carry values are small functions; everything else is a constant.

use std::time::Duration;

pub(crate) const APP_TITLE: &str = "Consistency Cabaret";
pub(crate) const APP_BANNER: &str = "CABARET";
pub(crate) const APP_TAGLINE: &str =
    "Write last, read first: one request, two stores, no shared transaction.";

pub(crate) const PICKER_TITLE: &str = "Pick a scenario";
pub(crate) const PICKER_READING: &str = "Reading the scenario files…";
pub(crate) const PICKER_EMPTY: &str = "No scenario files (*.toml) in this folder.";
pub(crate) const PICKER_INVALID: &str = "cannot be played:";

pub(crate) const NARRATION_BEFORE: &str = "Before the first step";
pub(crate) const NARRATION_BY_HAND: &str = "By hand";

pub(crate) const LANE_STARTING: &str = "starting its worker…";
pub(crate) const LANE_WORKER: &str = "worker";
pub(crate) const LANE_REQUEST: &str = "request";
pub(crate) const LANE_READER: &str = "reader";
/// Said when the lane's answer came from its reader, not its worker.
pub(crate) const LANE_READER_ANSWERED: &str = "answered (another process)";
pub(crate) const LANE_TIMELINE_EMPTY: &str = "no request yet";
pub(crate) const LANE_NO_VIOLATION: &str = "✓ no property broken";
pub(crate) const LANE_UNDETERMINED: &str = "? undetermined: a store did not answer";
pub(crate) const LANE_RIGHT: &str = "✓ right";
pub(crate) const LANE_WRONG: &str = "✗ WRONG";
pub(crate) const LANE_NO_ANSWER: &str = "no answer";
pub(crate) const LANE_BY_HAND: &str = "by hand: ";

pub(crate) const BADGE_RIGHT: &str = "RIGHT";
pub(crate) const BADGE_WRONG: &str = "WRONG";
pub(crate) const BADGE_UNKNOWN: &str = "UNKNOWN";
pub(crate) const BADGE_PENDING: &str = "PENDING";
pub(crate) const PICTURE_SQLITE: &str = "SQLite row";
pub(crate) const PICTURE_TIGERBEETLE: &str = "TigerBeetle";
pub(crate) const PICTURE_NO_ROW: &str = "no row";
/// The second line of a closed TigerBeetle account's box (it takes no more money).
pub(crate) const PICTURE_CLOSED: &str = "closed";
pub(crate) const PICTURE_NO_ACCOUNT: &str = "no account";
pub(crate) const PICTURE_NOTHING: &str = "nothing written";
pub(crate) const PICTURE_NEW: &str = "new";
pub(crate) const PICTURE_ORPHAN: &str = "orphan row: names no account";
pub(crate) const PICTURE_UNTRACEABLE: &str = "untraceable: no row owns it";
pub(crate) const PICTURE_ORPHAN_SHORT: &str = "ORPHAN";
pub(crate) const PICTURE_UNTRACEABLE_SHORT: &str = "UNTRACEABLE";

/// The mark under a user's accounts when there are more than one.
pub(crate) fn picture_duplicate(count: usize) -> String {
    format!("duplicate: {count} accounts")
}

/// An account's money, where it moved.
/// The second line of an account box that carries `user`'s tag in `user_data_128`.
pub(crate) fn picture_tag(user: &str) -> String {
    format!("tag {user}")
}

pub(crate) fn picture_balance(balance: i128, pending: u128) -> String {
    match (balance, pending) {
        (balance, 0) => format!("balance {balance}"),
        (0, pending) => format!("{pending} pending"),
        (balance, pending) => format!("{balance} +{pending} pending"),
    }
}

pub(crate) const VERDICT_KEPT: &str = "kept";
pub(crate) const VERDICT_BROKEN: &str = "BROKEN";
pub(crate) const VERDICT_UNDETERMINED: &str = "undetermined";

/// "2 steps undetermined", after the verdicts: steps whose truth could not be read.
pub(crate) fn undetermined_steps(count: usize) -> String {
    let steps = if count == 1 { "step" } else { "steps" };
    format!("{count} {steps} undetermined (a store did not answer)")
}

pub(crate) const HINT_READY: &str =
    "Press n for the next step, e to run to the end, ? for every key.";
pub(crate) const HINT_HELD: &str = "Held mid-step: n moves on, c crashes the workers right here.";
pub(crate) const HINT_FINISHED: &str =
    "The scenario is over. R replays it, Esc picks another, q quits.";
pub(crate) const HINT_STARTING: &str = "Starting TigerBeetle and the lanes' workers…";
pub(crate) const HINT_FAILED: &str = "R tries again · Esc picks another scenario · q quits";

pub(crate) const EXPECTATIONS_HELD: &str = "Every expectation held.";

pub(crate) const QUITTING: &str = "Stopping the workers and TigerBeetle, deleting its data file…";
pub(crate) const HELP_TITLE: &str = "Keys";
pub(crate) const HELP_CLOSE: &str = "any key closes this list";

pub(crate) const MESSAGE_BUSY: &str = "Busy: wait for the current move to end (it is bounded).";
pub(crate) const MESSAGE_NOT_HELD: &str =
    "Nothing is held: press n to begin a step; c then crashes the workers where they hold.";
pub(crate) const MESSAGE_FINISHED: &str = "Every step has run: R replays the scenario.";
pub(crate) const MESSAGE_NOT_STARTED: &str = "The run is not ready yet.";
pub(crate) const MESSAGE_ONE_LANE_SET: &str = "Every lane is already on screen.";
pub(crate) const MESSAGE_NOTHING_TO_HEAL: &str = "Nothing is failed: there is nothing to heal.";
pub(crate) const MESSAGE_ALREADY_LOCKED: &str = "SQLite is already locked.";
pub(crate) const MESSAGE_RECORD_NOT_READY: &str = "TigerBeetle is not running: h heals it first.";
pub(crate) const MESSAGE_NO_REPLICA_RUNNING: &str =
    "Every TigerBeetle replica is already paused or down.";
/// A move the session did not make, in words.
pub(crate) fn refused(refused: &super::messages::Refused) -> String {
    use super::messages::Refused;
    use crate::engine::Refusal;
    match refused {
        Refused::Engine(Refusal::NothingHeld) => MESSAGE_NOT_HELD.to_string(),
        Refused::Engine(Refusal::NothingToHeal) => MESSAGE_NOTHING_TO_HEAL.to_string(),
        Refused::Engine(Refusal::AlreadyLocked) => MESSAGE_ALREADY_LOCKED.to_string(),
        Refused::Engine(Refusal::RecordNotReady) => MESSAGE_RECORD_NOT_READY.to_string(),
        Refused::Engine(Refusal::NoReplicaRunning) => MESSAGE_NO_REPLICA_RUNNING.to_string(),
        Refused::Engine(Refusal::NoStepLeft) | Refused::Finished => MESSAGE_FINISHED.to_string(),
        Refused::Engine(refusal @ Refusal::RequestInProgress) => refusal.to_string(),
        Refused::NotStarted => MESSAGE_NOT_STARTED.to_string(),
        Refused::Busy => MESSAGE_BUSY.to_string(),
        Refused::Failed(text) => text.clone(),
    }
}

pub(crate) const MESSAGE_AT_START: &str = "This is the state before the first step.";
pub(crate) const MESSAGE_NO_THEME: &str = "NO_COLOR is set: there is no color theme to switch.";
pub(crate) const REPLAYED: &str = "replayed";

/// A jump past the scenario's last step.
pub(crate) fn no_such_step(step: usize, count: usize) -> String {
    format!("There is no step {step}: this scenario has {count} steps.")
}

/// After a step back: how the state was rebuilt, and what it leaves out.
pub(crate) fn replayed(step: usize, elapsed: Duration) -> String {
    format!(
        "Replayed to step {step}: fresh stores, same seed, {:.1} s; by-hand moves are not replayed.",
        elapsed.as_secs_f64()
    )
}

pub(crate) fn theme_switched(light: bool) -> &'static str {
    if light {
        "Light theme (t switches back)."
    } else {
        "Dark theme (t switches back)."
    }
}

pub(crate) const MESSAGE_STOPPED: &str = "The run stopped unexpectedly; R starts it again.";

/// The title over why a run could not start, or had to stop (a full disk).
pub(crate) const FAILED_TO_START: &str = "The run stopped";
pub(crate) const FAILED_TO_OPEN: &str = "The scenario could not be opened";

/// The smallest terminal the layout is made for.
pub(crate) const MIN_WIDTH: u16 = crate::faces::doctor::SCREEN_WIDTH_MIN;
pub(crate) const MIN_HEIGHT: u16 = crate::faces::doctor::SCREEN_HEIGHT_MIN;

pub(crate) fn too_small(width: u16, height: u16) -> [String; 3] {
    [
        format!("The terminal is {width}×{height}."),
        format!("{APP_TITLE} needs at least {MIN_WIDTH}×{MIN_HEIGHT}."),
        "Enlarge the window or make the font smaller. q quits.".to_string(),
    ]
}

pub(crate) fn step_of(number: usize, count: usize) -> String {
    format!("step {number} of {count}")
}

pub(crate) fn server_state(state: &str) -> String {
    format!("TigerBeetle {state}")
}

/// "replicas 2/3 up", for a cluster.
pub(crate) fn replicas_up(up: usize, count: usize) -> String {
    format!("replicas {up}/{count} up")
}

pub(crate) fn seed(seed: Option<u64>) -> String {
    match seed {
        Some(seed) => format!("seed {seed}"),
        None => "seed …".to_string(),
    }
}

pub(crate) fn narration_title(number: usize, count: usize, action: &str) -> String {
    format!("Step {number} of {count}: {action}")
}

/// What the runner does for a request, for the status line while it lasts.
pub(crate) fn request(request: &super::messages::Request) -> &'static str {
    use super::messages::Request;
    match request {
        Request::List(_) => "reading the scenario files",
        Request::Open(_) => "starting TigerBeetle and the lanes' workers",
        Request::Advance => "moving on",
        Request::ToEnd => "running to the end",
        Request::CrashNow => "crashing the held workers",
        Request::Fail(_) => "applying the fault",
        Request::Heal => "healing",
        Request::Restart => "restarting the workers",
        Request::Recover => "running recovery",
        Request::Reset => "resetting: fresh stores, TigerBeetle and workers",
        Request::JumpTo(_) => "replaying from the start on fresh stores",
        Request::Close => "stopping the run",
        Request::Quit => "stopping the workers and TigerBeetle",
    }
}

pub(crate) fn busy(what: &str, elapsed: Duration) -> String {
    format!("{what}… {:.1} s", elapsed.as_secs_f64())
}

pub(crate) fn waiting(what: &str, elapsed: Duration, timeout: Duration) -> String {
    format!(
        "waiting for {what}… {:.1} s of {}",
        elapsed.as_secs_f64(),
        seconds(timeout)
    )
}

/// "3 s", "0.5 s", "2.5 s": a duration as a presenter reads it.
pub fn seconds(duration: Duration) -> String {
    let value = duration.as_secs_f64();
    if value.fract() == 0.0 {
        format!("{value:.0} s")
    } else {
        format!("{value:.1} s")
    }
}

pub(crate) fn autoplay(on: bool, pace: Duration) -> String {
    if on {
        format!("autoplay ▶ every {}", seconds(pace))
    } else {
        format!("autoplay ❚❚ {}", seconds(pace))
    }
}

/// A lane's place among the lanes, when some are off screen.
pub(crate) fn lane_position(position: usize, count: usize) -> String {
    format!("{position}/{count} Tab")
}

pub(crate) fn held_at(point: crate::domain::lane::HoldPoint) -> String {
    format!("held at {point}")
}

pub(crate) fn question(user: &str) -> String {
    format!("Does {user} exist?")
}

pub(crate) fn answer(answer: &str, truth: &str) -> String {
    format!("answers {answer} · truth {truth}")
}

pub(crate) fn more_violations(count: usize) -> String {
    format!("… and {count} more not shown")
}

pub(crate) fn expectation_not_met(text: &str) -> String {
    format!("Expectation not met: {text}")
}

pub(crate) fn expectations_not_met(count: usize) -> String {
    format!("{count} expectation(s) of the scenario not met")
}

pub(crate) fn transcript(path: &str) -> String {
    format!("Transcript of this run: {path}")
}

pub(crate) fn autoplay_toggled(on: bool, pace: Duration) -> String {
    if on {
        format!(
            "Autoplay on: one move every {}; space pauses, + and - change the pace.",
            seconds(pace)
        )
    } else {
        "Autoplay paused: space resumes.".to_string()
    }
}

pub(crate) fn pace_changed(pace: Duration) -> String {
    format!("Autoplay pace: one move every {}.", seconds(pace))
}

pub(crate) fn picker_position(position: usize, count: usize) -> String {
    format!("· {position} of {count}")
}

pub(crate) fn picker_entry_detail(lane_count: usize, step_count: usize) -> String {
    let plural = |count: usize, word: &str| {
        if count == 1 {
            format!("{count} {word}")
        } else {
            format!("{count} {word}s")
        }
    };
    format!(
        "{} · {}",
        plural(lane_count, "lane"),
        plural(step_count, "step")
    )
}

/// One key of the help bar and the help overlay.
pub(crate) struct KeyHelp {
    pub(crate) keys: &'static str,
    /// The full sentence of the help overlay.
    pub(crate) long: &'static str,
}

/// A group of keys in the help overlay.
pub(crate) struct KeyGroup {
    pub(crate) title: &'static str,
    pub(crate) keys: &'static [KeyHelp],
}

/// The scenario screen's keys; its last group is the screen's own (lanes, reset, back).
pub(crate) const KEY_GROUPS: [KeyGroup; 3] = [
    KeyGroup {
        title: "Stepping",
        keys: &[
            KeyHelp {
                keys: "n → Enter",
                long: "next: move one hold point on, or begin the next step",
            },
            KeyHelp {
                keys: "e",
                long: "run every remaining step to the end",
            },
            KeyHelp {
                keys: "b ← 0-9",
                long: "back one step, or to step N (replayed on fresh stores)",
            },
            KeyHelp {
                keys: "a Space",
                long: "autoplay on / off (moves by itself at the pace)",
            },
            KeyHelp {
                keys: "+ -",
                long: "autoplay faster / slower",
            },
        ],
    },
    KeyGroup {
        title: "Faults, by hand (recorded in the transcript)",
        keys: &[
            KeyHelp {
                keys: "c",
                long: "crash the held workers now, where they hold (SIGKILL)",
            },
            KeyHelp {
                keys: "s",
                long: "fail SQLite: another writer takes its write lock",
            },
            KeyHelp {
                keys: "p k",
                long: "fail TigerBeetle: p pauses it (SIGSTOP), k kills it (SIGKILL)",
            },
            KeyHelp {
                keys: "h",
                long: "heal: release SQLite, resume or restart TigerBeetle",
            },
            KeyHelp {
                keys: "r",
                long: "restart crashed workers (journals and relays resume)",
            },
            KeyHelp {
                keys: "v",
                long: "run recovery in every lane that has one",
            },
        ],
    },
    KeyGroup {
        title: "Screen",
        keys: &[
            KeyHelp {
                keys: "Tab ⇧Tab",
                long: "show the next / previous lanes",
            },
            KeyHelp {
                keys: "R",
                long: "reset: replay the scenario on fresh stores",
            },
            KeyHelp {
                keys: "Esc",
                long: "back to the scenario list",
            },
            KeyHelp {
                keys: "t",
                long: "light / dark theme (projectors wash out dark ones)",
            },
            KeyHelp {
                keys: "g",
                long: "the grid of four: write order × read source, a lane each",
            },
            KeyHelp {
                keys: "? q",
                long: "this list · quit (stops every worker and TigerBeetle)",
            },
        ],
    },
];

pub(crate) const TIMELINE_LEGEND: &str =
    "Timeline: + went through · . held · X crashed · ? unsure · ! alert · - note";

/// The help bar of the scenario screen, most needed first: it takes up to three rows on
/// narrow screens; what still does not fit is left out, except the last two.
pub(crate) const SCENARIO_BAR: [(&str, &str); 17] = [
    ("n", "next"),
    ("b", "back"),
    ("e", "to end"),
    ("c", "crash"),
    ("s", "fail SQLite"),
    ("p/k", "pause/kill TigerBeetle"),
    ("h", "heal"),
    ("r", "restart"),
    ("v", "recover"),
    ("R", "reset"),
    ("a", "autoplay"),
    ("+/-", "pace"),
    ("Tab", "lanes"),
    ("t", "theme"),
    ("Esc", "scenarios"),
    ("?", "all keys"),
    ("q", "quit"),
];

pub(crate) const PICKER_BAR: [(&str, &str); 4] = [
    ("↑ ↓", "choose"),
    ("Enter", "open"),
    ("?", "all keys"),
    ("q", "quit"),
];

pub(crate) const PICKER_KEYS: KeyGroup = KeyGroup {
    title: "Scenario list",
    keys: &[
        KeyHelp {
            keys: "↑ ↓ j k",
            long: "choose a scenario",
        },
        KeyHelp {
            keys: "Enter",
            long: "open it: TigerBeetle and one worker per lane start",
        },
        KeyHelp {
            keys: "g",
            long: "the grid of four: write order × read source, a lane each",
        },
        KeyHelp {
            keys: "? q Esc",
            long: "this list · quit",
        },
    ],
};

pub(crate) const GRID_TITLE: &str = "Write order × read source: the four corners";
pub(crate) const GRID_CLOSE: &str = "any key closes the grid";
pub(crate) const GRID_INTRO: &str = "After a crash between the two writes (scenario 21 plays it):";
/// The column heads: where the lane's answer to "does X exist?" comes from.
pub(crate) const GRID_COLUMNS: [&str; 2] = ["reads the reference", "reads the record"];
/// The row heads: which store the lane writes first, three lines each.
pub(crate) const GRID_ROWS: [[&str; 3]; 2] = [
    ["TigerBeetle", "first", ""],
    ["SQLite first,", "TigerBeetle", "last"],
];
pub(crate) const GRID_FOOTNOTE: [&str; 2] = [
    "Reading the record fixes the answers. Writing TigerBeetle last keeps every",
    "account traceable: an account with no SQLite row has no name and no terms.",
];

/// What a corner's lane gets right (`true`) or wrong after a crash between its writes:
/// its answer, then traceability, each in up to two lines (scenario 21 checks each).
pub(crate) fn grid_cell(
    lane: crate::domain::lane::Lane,
) -> [(bool, &'static str, &'static str); 2] {
    use crate::domain::lane::Lane;
    match lane {
        Lane::RecordFirst => [
            (false, "answers wrong: no row,", "so \"absent\""),
            (false, "an account with no row", ""),
        ],
        Lane::RecordFirstReadRecord => [
            (
                true,
                "answers right: TigerBeetle,",
                "asked by the user's tag",
            ),
            (false, "an account with no row", ""),
        ],
        Lane::ReadReference => [
            (false, "answers wrong: its lone row", "says \"exists\""),
            (true, "every account has its row", ""),
        ],
        // The other lanes are in no corner; write-last-read-first's words fit them too.
        _ => [
            (
                true,
                "answers right: SQLite names",
                "the id, TigerBeetle decides",
            ),
            (true, "every account has its row", ""),
        ],
    }
}
