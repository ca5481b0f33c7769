//! The integration tests, one crate: the command line (`cli`), the store adapters
//! (`foundation`), the scenario library (`scenarios`), the TUI on a test backend (`tui`)
//! and in a real terminal (`tui_tmux`), and the layering of `src/` (`layering`). They
//! share `support`: the binary, the run slot, the time bounds and the checks that
//! nothing of a run is left behind. Every test that needs TigerBeetle starts a real one,
//! and takes the run slot first.

mod cli;
mod data_safety;
mod foundation;
mod hardening;
mod layering;
mod lessons;
mod scenarios;
mod stage;
mod storm;
mod support;
mod truth;
mod tui;
mod tui_tmux;
