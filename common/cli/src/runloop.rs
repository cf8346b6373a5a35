//! The collection loop: sleep until the next interval report, the end of
//! `-d`, a stop request or the target vanishing.
//!
//! Stops arrive through a channel fed by [`StopHandle`]s: the CLI routes
//! signals to one (`cli::signals`), a full-screen view routes its `q` key,
//! an exporter its shutdown. Nothing here ends the process. The loop blocks
//! in `recv_timeout` between wake-ups (no busy loop) and looks for a stop
//! before anything else, so even a tiny `-i` cannot starve it.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

use anyhow::Result;

use identity::target::Target;

/// What every tool says on stderr when a signal ends the run, before its
/// final report (stdout carries only data: syscount's tables stay those of
/// libbpf-tools, whose syscount says nothing).
pub const SIGNAL_STATUS: &str = "Received signal, summarizing";

/// How often the target is re-checked when nothing else wakes the loop.
const WATCH_PERIOD: Duration = Duration::from_millis(500);

/// Why the loop woke up.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    /// An interval elapsed: print a report and keep going.
    Report,
    /// The run is over: print the final report.
    Finish(Stop),
}

/// Why the run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT, SIGTERM or SIGHUP.
    Signal,
    /// `-d` elapsed.
    Duration,
    /// The traced cgroup or process went away; the text says which.
    TargetGone(String),
    /// The program asked (a key, an exporter shutdown).
    Requested,
}

/// Ends a [`RunLoop`] from anywhere (another thread, a signal handler
/// thread, a UI). Cheap to clone.
#[derive(Clone, Debug)]
pub struct StopHandle {
    tx: Sender<Stop>,
}

impl StopHandle {
    /// Asks the loop to finish; the first request wins.
    pub fn stop(&self, why: Stop) {
        // The loop may be gone already: nothing left to stop.
        let _ = self.tx.send(why);
    }
}

/// A check run every [`WATCH_PERIOD`]: `Some(reason)` ends the run.
pub type Watch = Box<dyn FnMut() -> Option<String> + Send>;

pub struct RunLoop {
    stops: Receiver<Stop>,
    tx: Sender<Stop>,
    deadline: Option<Instant>,
    duration: Option<Duration>,
    interval: Option<Duration>,
    next_report: Option<Instant>,
    watch: Option<Watch>,
    /// When the watch last ran.
    watched: Instant,
}

impl RunLoop {
    /// Starts the clock: reports every `interval`, the end after `duration`.
    pub fn new(interval: Option<Duration>, duration: Option<Duration>) -> Self {
        let (tx, stops) = mpsc::channel();
        let now = Instant::now();
        Self {
            stops,
            tx,
            deadline: duration.map(|d| now + d),
            duration,
            interval,
            next_report: interval.map(|i| now + i),
            watch: None,
            watched: now,
        }
    }

    /// Starts `-d` and the interval clock again from now. Tools create the
    /// loop (and route signals to it) before loading BPF, so that a signal
    /// during a slow start-up ends the run instead of being lost; the
    /// clock then starts once tracing does.
    pub fn restart_clock(&mut self) {
        let now = Instant::now();
        self.deadline = self.duration.map(|d| now + d);
        self.next_report = self.interval.map(|i| now + i);
    }

    /// A handle that ends this loop.
    pub fn handle(&self) -> StopHandle {
        StopHandle {
            tx: self.tx.clone(),
        }
    }

    /// Ends the run when `watch` returns a reason (target removed, pid gone).
    pub fn watch(mut self, watch: Watch) -> Self {
        self.watch = Some(watch);
        self
    }

    /// Ends the run when the traced cgroup is removed (or replaced by a new
    /// one of the same name) or the traced process exits.
    pub fn watch_target(self, target: &Target) -> Self {
        if target.is_host() {
            return self;
        }
        let target = target.clone();
        self.watch(Box::new(move || target.gone()))
    }

    /// Runs the watch if it is due (every [`WATCH_PERIOD`]): a reason the
    /// run must end. Due by time, not by idleness, so a report that is
    /// always due (tiny `-i`) cannot starve it.
    fn watch_due(&mut self, now: Instant) -> Option<String> {
        if now.duration_since(self.watched) < WATCH_PERIOD {
            return None;
        }
        self.watched = now;
        self.watch.as_mut().and_then(|w| w())
    }

    fn pending_stop(&mut self) -> Option<Stop> {
        match self.stops.try_recv() {
            Ok(stop) => Some(stop),
            // Unreachable while we hold `tx`; treat it as a stop all the same.
            Err(TryRecvError::Disconnected) => Some(Stop::Requested),
            Err(TryRecvError::Empty) => None,
        }
    }

    /// Non-blocking check for loops that block elsewhere (a ring-buffer
    /// poll with a short timeout): a stop, the end of `-d` or a vanished
    /// target, if one is due now. Interval reports come only from `wait`.
    pub fn try_wake(&mut self) -> Option<Wake> {
        if let Some(stop) = self.pending_stop() {
            return Some(Wake::Finish(stop));
        }
        let now = Instant::now();
        if self.deadline.is_some_and(|d| now >= d) {
            return Some(Wake::Finish(Stop::Duration));
        }
        let reason = self.watch_due(now)?;
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
                        Stop::Duration | Stop::Requested => {}
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
            // A stop first: with a short interval a report is always due.
            if let Some(stop) = self.pending_stop() {
                return Wake::Finish(stop);
            }
            let now = Instant::now();
            if self.deadline.is_some_and(|d| now >= d) {
                return Wake::Finish(Stop::Duration);
            }
            if let Some(reason) = self.watch_due(now) {
                return Wake::Finish(Stop::TargetGone(reason));
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
            let mut until = if self.watch.is_some() {
                self.watched + WATCH_PERIOD
            } else {
                now + Duration::from_secs(3600)
            };
            for t in [self.deadline, self.next_report].into_iter().flatten() {
                until = until.min(t);
            }
            match self
                .stops
                .recv_timeout(until.saturating_duration_since(now))
            {
                Ok(stop) => return Wake::Finish(stop),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Wake::Finish(Stop::Requested),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_wins_over_a_due_report() {
        let mut run = RunLoop::new(Some(Duration::from_nanos(1)), None);
        std::thread::sleep(Duration::from_millis(2));
        run.handle().stop(Stop::Signal);
        assert_eq!(run.wait(), Wake::Finish(Stop::Signal));
    }

    #[test]
    fn reports_then_duration() {
        let mut run = RunLoop::new(
            Some(Duration::from_millis(5)),
            Some(Duration::from_millis(30)),
        );
        assert_eq!(run.wait(), Wake::Report);
        let mut reports = 1;
        loop {
            match run.wait() {
                Wake::Report => reports += 1,
                Wake::Finish(stop) => {
                    assert_eq!(stop, Stop::Duration);
                    break;
                }
            }
        }
        assert!((2..=6).contains(&reports), "{reports}");
    }

    #[test]
    fn a_report_always_due_cannot_starve_the_target_watch() {
        let mut run = RunLoop::new(Some(Duration::from_millis(1)), None)
            .watch(Box::new(|| Some("gone".to_string())));
        let start = Instant::now();
        let mut reports = 0;
        let stop = loop {
            // Each "report" takes longer than the interval.
            match run.wait() {
                Wake::Report => {
                    reports += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Wake::Finish(stop) => break stop,
            }
            assert!(start.elapsed() < Duration::from_secs(5), "watch starved");
        };
        assert_eq!(stop, Stop::TargetGone("gone".into()));
        assert!(reports > 10, "{reports}");
        assert!(start.elapsed() < WATCH_PERIOD * 3, "{:?}", start.elapsed());
    }

    #[test]
    fn a_stop_before_the_clock_restarts_still_ends_the_run() {
        let mut run = RunLoop::new(None, Some(Duration::from_millis(1)));
        run.handle().stop(Stop::Signal);
        std::thread::sleep(Duration::from_millis(5));
        run.restart_clock();
        assert_eq!(run.try_wake(), Some(Wake::Finish(Stop::Signal)));
        let mut run = RunLoop::new(None, Some(Duration::from_millis(50)));
        std::thread::sleep(Duration::from_millis(60));
        run.restart_clock();
        assert_eq!(run.try_wake(), None, "the deadline counts from the restart");
    }

    #[test]
    fn a_handle_from_another_thread_ends_the_wait() {
        let mut run = RunLoop::new(None, None);
        let handle = run.handle();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            handle.stop(Stop::Requested);
        });
        assert_eq!(run.wait(), Wake::Finish(Stop::Requested));
    }
}
