//! The collection loop: sleep until the next interval report, the end of
//! `-d`, a signal (SIGINT, SIGTERM, SIGHUP) or the target vanishing.
//!
//! The process blocks in `recv_timeout` between wake-ups (no busy loop);
//! signals arrive through a channel, so none is missed whatever the loop is
//! doing. A second signal while the final report is printed exits at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use std::path::Path;

use anyhow::{Context, Result};

use crate::cgroup::Cgroup;

use crate::exit::EXIT_INTERRUPTED;

/// How often the target is re-checked when nothing else wakes the loop.
const WATCH_PERIOD: Duration = Duration::from_millis(500);

static SIGNALS_SEEN: AtomicUsize = AtomicUsize::new(0);

/// Why the loop woke up.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    /// An interval elapsed: print a report and keep going.
    Report,
    /// The run is over: print the final report.
    Finish(Stop),
}

/// Why the run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    Signal,
    Duration,
    /// The traced cgroup or process went away; the text says which.
    TargetGone(String),
}

/// A check run every [`WATCH_PERIOD`]: `Some(reason)` ends the run.
pub type Watch = Box<dyn FnMut() -> Option<String>>;

pub struct RunLoop {
    signals: Receiver<()>,
    deadline: Option<Instant>,
    interval: Option<Duration>,
    next_report: Option<Instant>,
    watch: Option<Watch>,
}

impl RunLoop {
    /// Installs the signal handler and starts the clock.
    pub fn start(interval: Option<Duration>, duration: Option<Duration>) -> Result<Self> {
        let (tx, rx) = mpsc::channel();
        ctrlc::set_handler(move || {
            if SIGNALS_SEEN.fetch_add(1, Ordering::SeqCst) >= 1 {
                // Second signal: the user does not want to wait for the report.
                std::process::exit(EXIT_INTERRUPTED.into());
            }
            let _ = tx.send(());
        })
        .context("installing the SIGINT/SIGTERM handler")?;
        let now = Instant::now();
        Ok(Self {
            signals: rx,
            deadline: duration.map(|d| now + d),
            interval,
            next_report: interval.map(|i| now + i),
            watch: None,
        })
    }

    /// Ends the run when `watch` returns a reason (target removed, pid gone).
    pub fn watch(mut self, watch: Watch) -> Self {
        self.watch = Some(watch);
        self
    }

    /// Ends the run when the traced cgroup is removed or the traced process
    /// exits (whichever of the two is given).
    pub fn watch_target(self, cgroup: Option<&Cgroup>, pid: Option<u32>) -> Self {
        if cgroup.is_none() && pid.is_none() {
            return self;
        }
        let cgroup = cgroup.map(|cg| cg.path.clone());
        self.watch(Box::new(move || {
            if let Some(path) = cgroup.as_ref().filter(|p| !p.exists()) {
                return Some(format!(
                    "target cgroup {} was removed",
                    crate::escape::path(path)
                ));
            }
            pid.filter(|pid| !Path::new(&format!("/proc/{pid}")).exists())
                .map(|pid| format!("process {pid} exited"))
        }))
    }

    /// Non-blocking check for loops that block elsewhere (a ring-buffer
    /// poll with a short timeout): a signal, the end of `-d` or a vanished
    /// target, if one is due now. Interval reports come only from `wait`.
    pub fn try_wake(&mut self) -> Option<Wake> {
        match self.signals.try_recv() {
            Ok(()) | Err(TryRecvError::Disconnected) => return Some(Wake::Finish(Stop::Signal)),
            Err(TryRecvError::Empty) => {}
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(Wake::Finish(Stop::Duration));
        }
        let reason = self.watch.as_mut().and_then(|w| w())?;
        Some(Wake::Finish(Stop::TargetGone(reason)))
    }

    /// The usual report loop: `render(false)` at every interval,
    /// `render(true)` once when the run ends (after a status line saying why,
    /// when `on_signal` or the target's disappearance has something to say).
    pub fn drive(
        &mut self,
        on_signal: Option<&str>,
        mut render: impl FnMut(bool) -> Result<()>,
    ) -> Result<Stop> {
        loop {
            match self.wait() {
                Wake::Report => render(false)?,
                Wake::Finish(stop) => {
                    match &stop {
                        Stop::Signal => on_signal.into_iter().for_each(crate::output::status),
                        Stop::Duration => {}
                        Stop::TargetGone(why) => {
                            crate::output::status(&format!("{why}; summarizing"))
                        }
                    }
                    render(true)?;
                    return Ok(stop);
                }
            }
        }
    }

    /// Sleeps until the next event and says what it was.
    pub fn wait(&mut self) -> Wake {
        loop {
            let now = Instant::now();
            if self.deadline.is_some_and(|d| now >= d) {
                return Wake::Finish(Stop::Duration);
            }
            if let Some(next) = self.next_report.filter(|&n| now >= n) {
                let interval = self.interval.unwrap_or(Duration::from_secs(1));
                // Skip missed periods rather than firing a burst of reports.
                let mut following = next + interval;
                while following <= now {
                    following += interval;
                }
                self.next_report = Some(following);
                return Wake::Report;
            }
            if let Some(reason) = self.watch.as_mut().and_then(|w| w()) {
                return Wake::Finish(Stop::TargetGone(reason));
            }
            let mut until = now
                + if self.watch.is_some() {
                    WATCH_PERIOD
                } else {
                    Duration::from_secs(3600)
                };
            for t in [self.deadline, self.next_report].into_iter().flatten() {
                until = until.min(t);
            }
            match self
                .signals
                .recv_timeout(until.saturating_duration_since(now))
            {
                Ok(()) => return Wake::Finish(Stop::Signal),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Wake::Finish(Stop::Signal),
            }
        }
    }
}
