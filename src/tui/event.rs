//! The one queue of events the UI loop reads: ticks, terminal input, signals, and the
//! results the runner thread sends back. The queue is bounded; a reader thread turns
//! terminal input into events, and SIGINT, SIGTERM and SIGHUP become a request to quit.

use super::messages::RunnerEvent;
use crossterm::event::{KeyEvent, KeyEventKind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A bound on the events waiting for the UI: the runner and the input thread block
/// beyond it, which only slows them while the UI catches up.
const QUEUE_CAPACITY: usize = 1024;
/// How often the input thread checks whether it should stop.
const INPUT_POLL: Duration = Duration::from_millis(50);

/// The last of SIGINT, SIGTERM and SIGHUP received (0: none), for the exit status.
static TERMINATING_SIGNAL: std::sync::LazyLock<Arc<AtomicUsize>> =
    std::sync::LazyLock::new(|| Arc::new(AtomicUsize::new(0)));

/// The signal that asked the TUI to end, if one did: the program then exits 128 + it.
pub fn terminating_signal() -> Option<u8> {
    let signal = TERMINATING_SIGNAL.load(Ordering::SeqCst);
    u8::try_from(signal).ok().filter(|signal| *signal != 0)
}

#[derive(Debug)]
pub(crate) enum Event {
    /// Time passed: redraw waits and run autoplay.
    Tick,
    /// A key, with when it was read from the terminal.
    Key(KeyEvent, Instant),
    /// The terminal changed size (the next draw adapts).
    Resize,
    /// A signal asked the program to end.
    Terminate,
    /// A result from the runner thread.
    Runner(RunnerEvent),
}

/// The UI loop's queue. The sender side is cloned into the runner and input threads.
pub(crate) struct EventQueue {
    sender: SyncSender<Event>,
    receiver: Receiver<Event>,
    terminate: Arc<AtomicBool>,
    input: Option<InputThread>,
}

impl Default for EventQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl EventQueue {
    pub(crate) fn new() -> Self {
        let (sender, receiver) = sync_channel(QUEUE_CAPACITY);
        EventQueue {
            sender,
            receiver,
            terminate: Arc::new(AtomicBool::new(false)),
            input: None,
        }
    }

    pub(crate) fn sender(&self) -> SyncSender<Event> {
        self.sender.clone()
    }

    /// Turns SIGINT, SIGTERM and SIGHUP into [`Event::Terminate`], so the terminal is
    /// restored and every process stopped before the program ends.
    pub(crate) fn watch_signals(&self) -> std::io::Result<()> {
        for signal in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            signal_hook::flag::register(signal, Arc::clone(&self.terminate))?;
            signal_hook::flag::register_usize(
                signal,
                Arc::clone(&TERMINATING_SIGNAL),
                signal as usize,
            )?;
        }
        Ok(())
    }

    /// Starts the thread that reads the terminal's keys and resizes.
    pub(crate) fn read_terminal(&mut self) -> std::io::Result<()> {
        let stop = Arc::new(AtomicBool::new(false));
        let sender = self.sender.clone();
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("terminal-input".to_string())
            .spawn(move || read_input(&sender, &thread_stop))?;
        self.input = Some(InputThread {
            stop,
            thread: Some(thread),
        });
        Ok(())
    }

    /// The next event, or a tick once `tick` has passed without one.
    pub(crate) fn next(&self, tick: Duration) -> Event {
        if self.terminate.swap(false, Ordering::SeqCst) {
            return Event::Terminate;
        }
        match self.receiver.recv_timeout(tick) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => Event::Tick,
        }
    }

    /// An event already waiting, without blocking.
    pub(crate) fn try_next(&self) -> Option<Event> {
        if self.terminate.swap(false, Ordering::SeqCst) {
            return Some(Event::Terminate);
        }
        self.receiver.try_recv().ok()
    }
}

struct InputThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for InputThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Not joined: once the terminal is gone (its window closed: SIGHUP), crossterm's
        // `read` spins and never returns, and a join would hang the exit forever. The
        // thread stops at its next poll, or with the process.
        drop(self.thread.take());
    }
}

fn read_input(sender: &SyncSender<Event>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match crossterm::event::poll(INPUT_POLL) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(_) => return,
        }
        let event = match crossterm::event::read() {
            Ok(crossterm::event::Event::Key(key)) if key.kind != KeyEventKind::Release => {
                Event::Key(key, Instant::now())
            }
            Ok(crossterm::event::Event::Resize(_, _)) => Event::Resize,
            Ok(_) => continue,
            Err(_) => return,
        };
        if sender.send(event).is_err() {
            return;
        }
    }
}
