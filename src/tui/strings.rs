//! Every word the TUI puts on screen, in one place: titles, hints, messages, the key
//! list. Texts that carry values are small functions; everything else is a constant.

use std::time::Duration;

pub const APP_TITLE: &str = "Consistency Cabaret";
pub const APP_BANNER: &str = "CABARET";
pub const APP_TAGLINE: &str =
    "Write last, read first: one request, two stores, no shared transaction.";

pub const PICKER_TITLE: &str = "Pick a scenario";
pub const PICKER_READING: &str = "Reading the scenario files…";
pub const PICKER_EMPTY: &str = "No scenario files (*.toml) in this folder.";
pub const PICKER_INVALID: &str = "cannot be played:";

pub const NARRATION_BEFORE: &str = "Before the first step";
pub const NARRATION_BY_HAND: &str = "By hand";

pub const LANE_STARTING: &str = "starting its worker…";
pub const LANE_WORKER: &str = "worker";
pub const LANE_REQUEST: &str = "request";
pub const LANE_TIMELINE_EMPTY: &str = "no request yet";
pub const LANE_NO_VIOLATION: &str = "✓ no property broken";
pub const LANE_UNDETERMINED: &str = "? undetermined: a store did not answer";
pub const LANE_RIGHT: &str = "✓ right";
pub const LANE_WRONG: &str = "✗ WRONG";
pub const LANE_NO_ANSWER: &str = "no answer";
pub const LANE_BY_HAND: &str = "by hand: ";

pub const BADGE_RIGHT: &str = "RIGHT";
pub const BADGE_WRONG: &str = "WRONG";
pub const BADGE_UNKNOWN: &str = "UNKNOWN";
pub const BADGE_PENDING: &str = "PENDING";
pub const PICTURE_SQLITE: &str = "SQLite row";
pub const PICTURE_TIGERBEETLE: &str = "TigerBeetle";
pub const PICTURE_NO_ROW: &str = "no row";
pub const PICTURE_NO_ACCOUNT: &str = "no account";
pub const PICTURE_NOTHING: &str = "nothing written";
pub const PICTURE_NEW: &str = "new";
pub const PICTURE_ORPHAN: &str = "orphan row: names no account";
pub const PICTURE_UNTRACEABLE: &str = "untraceable: no row owns it";
pub const PICTURE_ORPHAN_SHORT: &str = "ORPHAN";
pub const PICTURE_UNTRACEABLE_SHORT: &str = "UNTRACEABLE";

/// The mark under a user's accounts when there are more than one.
pub fn picture_duplicate(count: usize) -> String {
    format!("duplicate: {count} accounts")
}

/// An account's money, where it moved.
pub fn picture_balance(balance: i128, pending: u128) -> String {
    match (balance, pending) {
        (balance, 0) => format!("balance {balance}"),
        (0, pending) => format!("{pending} pending"),
        (balance, pending) => format!("{balance} +{pending} pending"),
    }
}

pub const SEVERITY_ERROR: &str = "BROKEN";
pub const SEVERITY_ALERT: &str = "ALERT";
pub const SEVERITY_WARNING: &str = "warning";

pub const VERDICT_KEPT: &str = "kept";
pub const VERDICT_BROKEN: &str = "BROKEN";
pub const VERDICT_UNDETERMINED: &str = "undetermined";

/// "2 steps undetermined", after the verdicts: steps whose truth could not be read.
pub fn undetermined_steps(count: usize) -> String {
    let steps = if count == 1 { "step" } else { "steps" };
    format!("{count} {steps} undetermined (a store did not answer)")
}

pub const HINT_READY: &str = "Press n for the next step, e to run to the end, ? for every key.";
pub const HINT_HELD: &str = "Held mid-step: n moves on, c crashes the workers right here.";
pub const HINT_FINISHED: &str = "The scenario is over. R replays it, Esc picks another, q quits.";
pub const HINT_STARTING: &str = "Starting TigerBeetle and the lanes' workers…";
pub const HINT_FAILED: &str = "R tries again · Esc picks another scenario · q quits";

pub const EXPECTATIONS_HELD: &str = "Every expectation held.";

pub const QUITTING: &str = "Stopping the workers and TigerBeetle, deleting its data file…";
pub const HELP_TITLE: &str = "Keys";
pub const HELP_CLOSE: &str = "any key closes this list";

pub const MESSAGE_BUSY: &str = "Busy: wait for the current move to end (it is bounded).";
pub const MESSAGE_NOT_HELD: &str =
    "Nothing is held: press n to begin a step; c then crashes the workers where they hold.";
pub const MESSAGE_FINISHED: &str = "Every step has run: R replays the scenario.";
pub const MESSAGE_NOT_STARTED: &str = "The run is not ready yet.";
pub const MESSAGE_ONE_LANE_SET: &str = "Every lane is already on screen.";
pub const MESSAGE_NOTHING_TO_HEAL: &str = "Nothing is failed: there is nothing to heal.";
pub const MESSAGE_ALREADY_LOCKED: &str = "SQLite is already locked.";
pub const MESSAGE_RECORD_NOT_READY: &str = "TigerBeetle is not running: h heals it first.";
pub const MESSAGE_NO_REPLICA_RUNNING: &str = "Every TigerBeetle replica is already paused or down.";
/// A move the session did not make, in words.
pub fn refused(refused: &super::messages::Refused) -> String {
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

pub const MESSAGE_AT_START: &str = "This is the state before the first step.";
pub const MESSAGE_NO_THEME: &str = "NO_COLOR is set: there is no color theme to switch.";
pub const REPLAYED: &str = "replayed";

/// A jump past the scenario's last step.
pub fn no_such_step(step: usize, count: usize) -> String {
    format!("There is no step {step}: this scenario has {count} steps.")
}

/// After a step back: how the state was rebuilt, and what it leaves out.
pub fn replayed(step: usize, elapsed: Duration) -> String {
    format!(
        "Replayed to step {step}: fresh stores, same seed, {:.1} s; by-hand moves are not replayed.",
        elapsed.as_secs_f64()
    )
}

pub fn theme_switched(light: bool) -> &'static str {
    if light {
        "Light theme (t switches back)."
    } else {
        "Dark theme (t switches back)."
    }
}

pub const MESSAGE_STOPPED: &str = "The run stopped unexpectedly; R starts it again.";

/// The title over why a run could not start, or had to stop (a full disk).
pub const FAILED_TO_START: &str = "The run stopped";
pub const FAILED_TO_OPEN: &str = "The scenario could not be opened";

/// The smallest terminal the layout is made for.
pub const MIN_WIDTH: u16 = crate::faces::doctor::SCREEN_WIDTH_MIN;
pub const MIN_HEIGHT: u16 = crate::faces::doctor::SCREEN_HEIGHT_MIN;

pub fn too_small(width: u16, height: u16) -> [String; 3] {
    [
        format!("The terminal is {width}×{height}."),
        format!("{APP_TITLE} needs at least {MIN_WIDTH}×{MIN_HEIGHT}."),
        "Enlarge the window or make the font smaller. q quits.".to_string(),
    ]
}

pub fn step_of(number: usize, count: usize) -> String {
    format!("step {number} of {count}")
}

pub fn server_state(state: &str) -> String {
    format!("TigerBeetle {state}")
}

/// "replicas 2/3 up", for a cluster.
pub fn replicas_up(up: usize, count: usize) -> String {
    format!("replicas {up}/{count} up")
}

pub fn seed(seed: Option<u64>) -> String {
    match seed {
        Some(seed) => format!("seed {seed}"),
        None => "seed …".to_string(),
    }
}

pub fn narration_title(number: usize, count: usize, action: &str) -> String {
    format!("Step {number} of {count}: {action}")
}

/// What the runner does for a request, for the status line while it lasts.
pub fn request(request: &super::messages::Request) -> &'static str {
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

pub fn busy(what: &str, elapsed: Duration) -> String {
    format!("{what}… {:.1} s", elapsed.as_secs_f64())
}

pub fn waiting(what: &str, elapsed: Duration, timeout: Duration) -> String {
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

pub fn autoplay(on: bool, pace: Duration) -> String {
    if on {
        format!("autoplay ▶ every {}", seconds(pace))
    } else {
        format!("autoplay ❚❚ {}", seconds(pace))
    }
}

/// A lane's place among the lanes, when some are off screen.
pub fn lane_position(position: usize, count: usize) -> String {
    format!("{position}/{count} Tab")
}

pub fn held_at(point: crate::domain::lane::HoldPoint) -> String {
    format!("held at {point}")
}

pub fn question(user: &str) -> String {
    format!("Does {user} exist?")
}

pub fn answer(answer: &str, truth: &str) -> String {
    format!("answers {answer} · truth {truth}")
}

pub fn more_violations(count: usize) -> String {
    format!("… and {count} more not shown")
}

pub fn expectation_not_met(text: &str) -> String {
    format!("Expectation not met: {text}")
}

pub fn expectations_not_met(count: usize) -> String {
    format!("{count} expectation(s) of the scenario not met")
}

pub fn transcript(path: &str) -> String {
    format!("Transcript of this run: {path}")
}

pub fn autoplay_toggled(on: bool, pace: Duration) -> String {
    if on {
        format!(
            "Autoplay on: one move every {}; space pauses, + and - change the pace.",
            seconds(pace)
        )
    } else {
        "Autoplay paused: space resumes.".to_string()
    }
}

pub fn pace_changed(pace: Duration) -> String {
    format!("Autoplay pace: one move every {}.", seconds(pace))
}

pub fn picker_position(position: usize, count: usize) -> String {
    format!("· {position} of {count}")
}

pub fn picker_entry_detail(lane_count: usize, step_count: usize) -> String {
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
pub struct KeyHelp {
    pub keys: &'static str,
    /// Short words for the help bar.
    pub short: &'static str,
    /// The full sentence of the help overlay.
    pub long: &'static str,
}

/// A group of keys in the help overlay.
pub struct KeyGroup {
    pub title: &'static str,
    pub keys: &'static [KeyHelp],
}

/// The scenario screen's keys; its last group is the screen's own (lanes, reset, back).
pub const KEY_GROUPS: [KeyGroup; 3] = [
    KeyGroup {
        title: "Stepping",
        keys: &[
            KeyHelp {
                keys: "n → Enter",
                short: "next",
                long: "next: move one hold point on, or begin the next step",
            },
            KeyHelp {
                keys: "e",
                short: "to end",
                long: "run every remaining step to the end",
            },
            KeyHelp {
                keys: "b ← 0-9",
                short: "back",
                long: "back one step, or to step N (replayed on fresh stores)",
            },
            KeyHelp {
                keys: "a Space",
                short: "autoplay",
                long: "autoplay on / off (moves by itself at the pace)",
            },
            KeyHelp {
                keys: "+ -",
                short: "pace",
                long: "autoplay faster / slower",
            },
        ],
    },
    KeyGroup {
        title: "Faults, by hand (recorded in the transcript)",
        keys: &[
            KeyHelp {
                keys: "c",
                short: "crash",
                long: "crash the held workers now, where they hold (SIGKILL)",
            },
            KeyHelp {
                keys: "s",
                short: "fail SQLite",
                long: "fail SQLite: another writer takes its write lock",
            },
            KeyHelp {
                keys: "p k",
                short: "pause/kill TigerBeetle",
                long: "fail TigerBeetle: p pauses it (SIGSTOP), k kills it (SIGKILL)",
            },
            KeyHelp {
                keys: "h",
                short: "heal",
                long: "heal: release SQLite, resume or restart TigerBeetle",
            },
            KeyHelp {
                keys: "r",
                short: "restart",
                long: "restart crashed workers (journals resume on start)",
            },
            KeyHelp {
                keys: "v",
                short: "recover",
                long: "run recovery in every lane that has one",
            },
        ],
    },
    KeyGroup {
        title: "Screen",
        keys: &[
            KeyHelp {
                keys: "Tab ⇧Tab",
                short: "lanes",
                long: "show the next / previous lanes",
            },
            KeyHelp {
                keys: "R",
                short: "reset",
                long: "reset: replay the scenario on fresh stores",
            },
            KeyHelp {
                keys: "Esc",
                short: "scenarios",
                long: "back to the scenario list",
            },
            KeyHelp {
                keys: "t",
                short: "theme",
                long: "light / dark theme (projectors wash out dark ones)",
            },
            KeyHelp {
                keys: "? q",
                short: "quit",
                long: "this list · quit (stops every worker and TigerBeetle)",
            },
        ],
    },
];

pub const TIMELINE_LEGEND: &str =
    "Timeline: + went through · . held · X crashed · ? unsure · ! alert · - note";

/// The help bar of the scenario screen, most needed first: it takes up to three rows on
/// narrow screens; what still does not fit is left out, except the last two.
pub const SCENARIO_BAR: [(&str, &str); 17] = [
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

pub const PICKER_BAR: [(&str, &str); 4] = [
    ("↑ ↓", "choose"),
    ("Enter", "open"),
    ("?", "all keys"),
    ("q", "quit"),
];

pub const PICKER_KEYS: KeyGroup = KeyGroup {
    title: "Scenario list",
    keys: &[
        KeyHelp {
            keys: "↑ ↓ j k",
            short: "choose",
            long: "choose a scenario",
        },
        KeyHelp {
            keys: "Enter",
            short: "open",
            long: "open it: TigerBeetle and one worker per lane start",
        },
        KeyHelp {
            keys: "? q Esc",
            short: "quit",
            long: "this list · quit",
        },
    ],
};
