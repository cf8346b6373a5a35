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

/// Where the loop reads the time and waits for the next wake-up: the
/// monotonic clock, or in tests a simulated one that jumps to each wake-up,
/// so their verdicts never hang on how fast the machine is.
trait Clock: Send {
    fn now(&self) -> Instant;
    /// A stop sent before `until`, else a timeout once `until` is reached.
    fn wait(&self, stops: &Receiver<Stop>, until: Instant) -> Result<Stop, RecvTimeoutError>;
}

struct Monotonic;

impl Clock for Monotonic {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wait(&self, stops: &Receiver<Stop>, until: Instant) -> Result<Stop, RecvTimeoutError> {
        stops.recv_timeout(until.saturating_duration_since(Instant::now()))
    }
}

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
    clock: Box<dyn Clock>,
}

impl RunLoop {
    /// Starts the clock: reports every `interval`, the end after `duration`.
    pub fn new(interval: Option<Duration>, duration: Option<Duration>) -> Self {
        Self::with_clock(interval, duration, Box::new(Monotonic))
    }

    fn with_clock(
        interval: Option<Duration>,
        duration: Option<Duration>,
        clock: Box<dyn Clock>,
    ) -> Self {
        let (tx, stops) = mpsc::channel();
        let now = clock.now();
        Self {
            stops,
            tx,
            deadline: duration.map(|d| now + d),
            duration,
            interval,
            next_report: interval.map(|i| now + i),
            watch: None,
            watched: now,
            clock,
        }
    }

    /// Starts `-d` and the interval clock again from now. Tools create the
    /// loop (and route signals to it) before loading BPF, so that a signal
    /// during a slow start-up ends the run instead of being lost; the
    /// clock then starts once tracing does.
    pub fn restart_clock(&mut self) {
        let now = self.clock.now();
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
        let now = self.clock.now();
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
            let now = self.clock.now();
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
            match self.clock.wait(&self.stops, until) {
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
    use std::sync::{Arc, Mutex};

    /// Simulated time: it moves when the test says so, and a wait jumps
    /// straight to its wake-up (or returns a stop already sent).
    #[derive(Clone)]
    struct SimClock(Arc<Mutex<Instant>>);

    impl SimClock {
        fn new() -> Self {
            Self(Arc::new(Mutex::new(Instant::now())))
        }

        fn advance(&self, by: Duration) {
            *self.0.lock().unwrap() += by;
        }

        fn run_loop(&self, interval: Option<Duration>, duration: Option<Duration>) -> RunLoop {
            RunLoop::with_clock(interval, duration, Box::new(self.clone()))
        }
    }

    impl Clock for SimClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap()
        }

        fn wait(&self, stops: &Receiver<Stop>, until: Instant) -> Result<Stop, RecvTimeoutError> {
            if let Ok(stop) = stops.try_recv() {
                return Ok(stop);
            }
            let mut now = self.0.lock().unwrap();
            *now = (*now).max(until);
            Err(RecvTimeoutError::Timeout)
        }
    }

    #[test]
    fn a_stop_wins_over_a_due_report() {
        let clock = SimClock::new();
        let mut run = clock.run_loop(Some(Duration::from_nanos(1)), None);
        clock.advance(Duration::from_millis(2));
        run.handle().stop(Stop::Signal);
        assert_eq!(run.wait(), Wake::Finish(Stop::Signal));
    }

    #[test]
    fn reports_then_duration() {
        let clock = SimClock::new();
        let mut run = clock.run_loop(
            Some(Duration::from_millis(5)),
            Some(Duration::from_millis(30)),
        );
        let mut reports = 0;
        loop {
            match run.wait() {
                Wake::Report => reports += 1,
                Wake::Finish(stop) => {
                    assert_eq!(stop, Stop::Duration);
                    break;
                }
            }
        }
        // At 5, 10, 15, 20 and 25 ms; at 30 the end wins over the report.
        assert_eq!(reports, 5);
    }

    #[test]
    fn missed_periods_are_skipped_not_fired_in_a_burst() {
        let clock = SimClock::new();
        let start = clock.now();
        let mut run = clock.run_loop(Some(Duration::from_millis(10)), None);
        // Five periods missed: one report now, the next at 60 ms.
        clock.advance(Duration::from_millis(55));
        assert_eq!(run.wait(), Wake::Report);
        assert_eq!(run.wait(), Wake::Report);
        assert_eq!(clock.now() - start, Duration::from_millis(60));
    }

    #[test]
    fn a_report_always_due_cannot_starve_the_target_watch() {
        let clock = SimClock::new();
        let mut run = clock
            .run_loop(Some(Duration::from_millis(1)), None)
            .watch(Box::new(|| Some("gone".to_string())));
        let start = clock.now();
        let mut reports = 0;
        let stop = loop {
            // Each "report" takes longer than the interval.
            match run.wait() {
                Wake::Report => {
                    reports += 1;
                    clock.advance(Duration::from_millis(5));
                }
                Wake::Finish(stop) => break stop,
            }
            assert!(reports < 1000, "watch starved");
        };
        assert_eq!(stop, Stop::TargetGone("gone".into()));
        assert!(reports > 10, "{reports}");
        let took = clock.now() - start;
        assert!(took < WATCH_PERIOD * 3, "{took:?}");
    }

    #[test]
    fn a_stop_before_the_clock_restarts_still_ends_the_run() {
        let clock = SimClock::new();
        let mut run = clock.run_loop(None, Some(Duration::from_millis(1)));
        run.handle().stop(Stop::Signal);
        clock.advance(Duration::from_millis(5));
        run.restart_clock();
        assert_eq!(run.try_wake(), Some(Wake::Finish(Stop::Signal)));
        let mut run = clock.run_loop(None, Some(Duration::from_millis(50)));
        clock.advance(Duration::from_millis(60));
        run.restart_clock();
        assert_eq!(run.try_wake(), None, "the deadline counts from the restart");
        clock.advance(Duration::from_millis(50));
        assert_eq!(run.try_wake(), Some(Wake::Finish(Stop::Duration)));
    }

    /// The real clock: a stop from another thread ends a wait that would
    /// otherwise last an hour (no verdict on how long it took).
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
