//! The two clocks of `cadence run`. With `--clock virtual` the runner moves time itself, from
//! one due thing to the next, as fast as it can; with `--clock wall` (the default) it runs
//! what is due by the wall clock and sleeps until the next due time or a new input.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use crate::store::live::wall_now;

/// Which clock a run follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ClockKind {
    /// Real time: run what is due, sleep until the next due time or a new input
    #[default]
    Wall,
    /// Virtual time: run everything due up to --until as fast as possible, then exit
    Virtual,
}

/// Sleeps until `deadline`, waking early (within a tenth of a second) when `stop` is set.
pub fn sleep_until(deadline: Instant, stop: &AtomicBool) {
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(100)));
    }
}
