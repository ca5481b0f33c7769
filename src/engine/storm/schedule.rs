//! The storm's schedule: for every request, whether a crash is scheduled in it and where,
//! and the windows of requests sent while a store is failed. It is a function of the seed
//! alone, computed as the storm goes (nothing is stored per request), so the same seed
//! gives the same schedule and memory does not grow with the number of requests.

use crate::domain::lane::HoldPoint;
use crate::domain::scenario::Fault;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How many requests (in every lane) one fault window spans: the store is failed before
/// the first is sent and healed after the last has ended.
pub const FAULT_WINDOW_REQUESTS: u64 = 10;
/// The faults a storm makes, drawn in turn at random: SQLite's write lock taken,
/// TigerBeetle paused (SIGSTOP), TigerBeetle killed (SIGKILL).
pub(crate) const STORM_FAULTS: [Fault; 3] = [
    Fault::ReferenceLocked,
    Fault::RecordPaused,
    Fault::RecordKilled,
];
/// The random streams of the schedule: crashes per request, fault windows in sequence.
const CRASH_STREAM_BASE: u64 = 1 << 40;
const FAULT_STREAM: u64 = 7;

/// A storm's schedule, from its seed and rates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    pub seed: u64,
    pub request_count: u64,
    /// The chance, per request, of a crash at a random crash point.
    pub crash_rate: f64,
    /// The share of requests sent while a store is failed (in windows of
    /// [`FAULT_WINDOW_REQUESTS`]).
    pub fault_rate: f64,
}

/// Requests `start..end` (in every lane) are sent while `fault` is in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultWindow {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) fault: Fault,
}

impl Schedule {
    /// The user of request `index`: its own, so that every request is a new account.
    pub(crate) fn user(index: u64) -> String {
        format!("user-{index:07}")
    }

    pub(crate) fn name(index: u64) -> String {
        format!("User {index}")
    }

    /// Where request `index` crashes its worker, if it does: drawn from a stream of its
    /// own, so any lane can ask for any request in any order.
    pub fn crash_at(&self, index: u64) -> Option<HoldPoint> {
        let mut random = ChaCha8Rng::seed_from_u64(self.seed);
        random.set_stream(CRASH_STREAM_BASE + index);
        random
            .gen_bool(self.crash_rate)
            .then(|| HoldPoint::CRASH_POINTS[random.gen_range(0..HoldPoint::CRASH_POINTS.len())])
    }

    /// The fault windows, in order, none overlapping: a window begins at a request with
    /// the chance that makes the share of requests inside windows about `fault_rate`.
    pub fn windows(&self) -> FaultWindows {
        let mut random = ChaCha8Rng::seed_from_u64(self.seed);
        random.set_stream(FAULT_STREAM);
        let start_chance = (self.fault_rate / FAULT_WINDOW_REQUESTS as f64).clamp(0.0, 1.0);
        FaultWindows {
            random,
            start_chance,
            next: 0,
            request_count: self.request_count,
        }
    }

    /// How many requests crash (counted by walking the schedule, without storing it).
    pub fn crash_count(&self) -> u64 {
        (0..self.request_count)
            .filter(|index| self.crash_at(*index).is_some())
            .count() as u64
    }
}

/// The fault windows of a schedule, drawn as they are asked for.
pub struct FaultWindows {
    random: ChaCha8Rng,
    start_chance: f64,
    next: u64,
    request_count: u64,
}

impl Iterator for FaultWindows {
    type Item = FaultWindow;

    fn next(&mut self) -> Option<FaultWindow> {
        while self.next < self.request_count {
            let start = self.next;
            self.next += 1;
            if self.random.gen_bool(self.start_chance) {
                let fault = STORM_FAULTS[self.random.gen_range(0..STORM_FAULTS.len())];
                let end = (start + FAULT_WINDOW_REQUESTS).min(self.request_count);
                self.next = end;
                return Some(FaultWindow { start, end, fault });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(seed: u64) -> Schedule {
        Schedule {
            seed,
            request_count: 2_000,
            crash_rate: 0.1,
            fault_rate: 0.05,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        let (first, again) = (schedule(3), schedule(3));
        let crashes: Vec<_> = (0..2_000).map(|index| first.crash_at(index)).collect();
        let crashes_again: Vec<_> = (0..2_000).map(|index| again.crash_at(index)).collect();
        assert_eq!(crashes, crashes_again);
        assert_eq!(
            first.windows().collect::<Vec<_>>(),
            again.windows().collect::<Vec<_>>()
        );
        let other = schedule(4);
        let crashes_other: Vec<_> = (0..2_000).map(|index| other.crash_at(index)).collect();
        assert_ne!(crashes, crashes_other);
    }

    #[test]
    fn the_rates_are_about_what_was_asked() {
        let schedule = schedule(1);
        let crashes = schedule.crash_count();
        assert!((120..=280).contains(&crashes), "{crashes} crashes in 2,000");
        let faulted: u64 = schedule
            .windows()
            .map(|window| window.end - window.start)
            .sum();
        assert!((40..=180).contains(&faulted), "{faulted} faulted in 2,000");
    }

    #[test]
    fn windows_are_in_order_apart_and_inside_the_storm() {
        let schedule = Schedule {
            fault_rate: 0.9,
            ..schedule(2)
        };
        let mut end = 0;
        for window in schedule.windows() {
            assert!(window.start >= end && window.start < window.end);
            assert!(window.end <= schedule.request_count);
            end = window.end;
        }
        let none = Schedule {
            fault_rate: 0.0,
            crash_rate: 0.0,
            ..schedule
        };
        assert_eq!(none.windows().count(), 0);
        assert_eq!(none.crash_count(), 0);
    }
}
