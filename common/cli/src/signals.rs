//! SIGINT, SIGTERM and SIGHUP for a command-line run.
//!
//! The first signal asks the run loop to stop (final report). A second one
//! while that report is still being written ends the process at once with
//! status 130 — but only when it is deliberate: `timeout -s INT` and a
//! terminal's process-group delivery send the same SIGINT twice within
//! microseconds, and that duplicate must not cut the report short.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::runloop::{Stop, StopHandle};
use kernel::exit::EXIT_INTERRUPTED;

/// Signals closer together than this are one delivery seen twice.
pub const DUPLICATE_WINDOW: Duration = Duration::from_millis(300);

/// What a signal means, given when the first one came.
#[derive(Debug, PartialEq, Eq)]
enum Meaning {
    /// Stop the run and print the final report.
    Stop,
    /// The same delivery again: ignore it.
    Duplicate,
    /// The user insists: exit now.
    Abort,
}

fn meaning(first: Option<Instant>, now: Instant) -> Meaning {
    match first {
        None => Meaning::Stop,
        Some(t) if now.duration_since(t) < DUPLICATE_WINDOW => Meaning::Duplicate,
        Some(_) => Meaning::Abort,
    }
}

/// Routes the termination signals to `handle` (once per process).
pub fn stop_on_signals(handle: StopHandle) -> Result<()> {
    let first: Mutex<Option<Instant>> = Mutex::new(None);
    ctrlc::set_handler(move || {
        // ctrlc runs this on its own thread, not in signal context: locking is fine.
        let mut first = first.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match meaning(*first, now) {
            Meaning::Stop => {
                *first = Some(now);
                handle.stop(Stop::Signal);
            }
            Meaning::Duplicate => {}
            Meaning::Abort => {
                // A full-screen view must not leave the terminal raw.
                #[cfg(feature = "full-screen")]
                crate::terminal::restore();
                std::process::exit(EXIT_INTERRUPTED.into())
            }
        }
    })
    .context("installing the SIGINT/SIGTERM/SIGHUP handler")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_delivery_is_not_a_second_ctrl_c() {
        let t0 = Instant::now();
        assert_eq!(meaning(None, t0), Meaning::Stop);
        assert_eq!(
            meaning(Some(t0), t0 + Duration::from_micros(50)),
            Meaning::Duplicate
        );
        assert_eq!(
            meaning(Some(t0), t0 + DUPLICATE_WINDOW + Duration::from_millis(1)),
            Meaning::Abort
        );
    }
}
