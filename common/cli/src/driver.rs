//! The one sequence every tracing run follows, whatever the tool:
//!
//! 1. start-up ([`Startup`]): the target resolved (a bad one is a usage
//!    error before any BPF work), privileges and kernel checked;
//! 2. a run loop that signals end from then on: one that comes during a
//!    slow load ends the run as soon as tracing starts, never lost;
//! 3. the tool loads its collector (an [`Aggregator`] or an
//!    [`EventSource`]) and says what it traces;
//! 4. [`Driver::aggregate`] or [`Driver::stream`] runs until a signal,
//!    `-d`, a stop request or the target's disappearance, turning each
//!    sample (or batch of events) into the tool's report and handing it
//!    to the tool's [`Sink`]. The last sample is taken after the programs
//!    are detached: nothing is counted after it.
//!
//! ```ignore
//! let mut driver = Driver::start(&Plan { tool: "syscount", ..plan })?;
//! let mut object = std::mem::MaybeUninit::uninit();
//! let mut collector = Collector::start(&mut object, &driver.target, mode)?;
//! output::status("Tracing syscalls... Ctrl-C to quit.");
//! let mut sink = Recording { inner: Printer { format }, recorder };
//! driver.aggregate(&mut collector, &mut sink, |d| {
//!     Ok(Report::build(d.sample, mode, d.target, d.names, top, d.last))
//! })?;
//! ```

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::args::TargetArgs;
use crate::output;
use crate::runloop::{RunLoop, Stop, StopHandle, Wake, SIGNAL_STATUS};
use crate::sink::Sink;
use crate::Startup;
use identity::cgroup::Hierarchy;
use identity::resolver::Identities;
use identity::target::Target;
use kernel::collector::{Aggregator, EventSource, Health, Sample};
use kernel::features::Needs;

/// What a run is, from the command line.
pub struct Plan<'a> {
    /// The tool's name, for messages.
    pub tool: &'static str,
    /// `-c` and `--exact`.
    pub target: &'a TargetArgs,
    /// `-p`, for the tools that have it.
    pub pid: Option<u32>,
    /// The tool has `-p` (messages suggest it only then).
    pub pid_flag: bool,
    /// What the kernel must offer (checked before loading).
    pub needs: Needs,
    /// `-v`: libbpf's log.
    pub verbose: bool,
    /// A report every `interval` ([`Driver::aggregate`] only; `None`:
    /// only at the end).
    pub interval: Option<Duration>,
    /// `-d`: the run's length, counted from when tracing starts.
    pub duration: Option<Duration>,
}

/// A run between start-up and its end: the resolved target, the names of
/// cgroups for the reports, and the loop that decides when to report.
pub struct Driver {
    pub hierarchy: Hierarchy,
    pub target: Target,
    /// Cgroup ids to paths and containers: reports resolve while built.
    pub names: Identities,
    run_loop: RunLoop,
}

/// One sample drained from an aggregator, with what a report needs.
pub struct Drained<'a, A: Aggregator> {
    pub sample: Sample<A::Data>,
    /// The run's last sample (the programs are detached).
    pub last: bool,
    /// The collector, for what it knows besides the sample (read-only).
    pub collector: &'a A,
    pub target: &'a Target,
    pub names: &'a mut Identities,
}

/// Names cgroups when they are made (containers born and gone during the
/// run keep their names); without that program, a warning, and names are
/// looked up at report time as before.
pub fn name_at_birth(names: &mut Identities) {
    if let Err(e) = names.name_at_birth() {
        output::status(&format!(
            "warning: cgroups are named at report time only ({e:#}): a container gone \
             by then shows as its cgroup id"
        ));
    }
}

/// How a stream of events is read.
pub struct Streaming {
    /// Longest wait for events: bounds the reaction to a stop.
    pub poll: Duration,
    /// The advice when events are lost (`raise --buffer-pages`).
    pub lost_advice: &'static str,
}

/// How a stream ended.
#[derive(Debug)]
pub struct Ended {
    pub stop: Stop,
    /// What the source missed over the whole run.
    pub health: Health,
    /// Events handed to the sink.
    pub events: u64,
}

/// Lost-event warnings on stderr at most this often.
const LOST_WARNING_PERIOD: Duration = Duration::from_secs(1);

impl Driver {
    /// Start-up, then the run loop with the termination signals routed to
    /// it. Call before loading the collector.
    pub fn start(plan: &Plan) -> Result<Self> {
        let Startup {
            hierarchy,
            target,
            identities,
        } = Startup::new(
            plan.tool,
            plan.target,
            plan.pid,
            plan.pid_flag,
            plan.needs,
            plan.verbose,
        )?;
        let run_loop = RunLoop::new(plan.interval, plan.duration).watch_target(&target);
        crate::signals::stop_on_signals(run_loop.handle())?;
        Ok(Self {
            hierarchy,
            target,
            names: identities,
            run_loop,
        })
    }

    /// Host-wide, names cgroups when they are made: see [`name_at_birth`].
    /// One target's run names its one cgroup at start-up already.
    pub fn name_at_birth(&mut self) {
        if self.target.is_host() {
            name_at_birth(&mut self.names);
        }
    }

    /// A handle that ends the run (a full-screen view's `q`).
    pub fn stop_handle(&self) -> StopHandle {
        self.run_loop.handle()
    }

    /// Drains `collector` at every interval and once at the end (after the
    /// signal's or the vanished target's status line), each sample made a
    /// report by `report` and emitted into `sink`.
    pub fn aggregate<A, R, S>(
        &mut self,
        collector: &mut A,
        sink: &mut S,
        mut report: impl FnMut(Drained<'_, A>) -> Result<R>,
    ) -> Result<Stop>
    where
        A: Aggregator,
        S: Sink<R>,
    {
        let Self {
            target,
            names,
            run_loop,
            ..
        } = self;
        run_loop.restart_clock();
        run_loop.drive(Some(SIGNAL_STATUS), |last| {
            let sample = if last {
                collector.finish()?
            } else {
                collector.drain()?
            };
            let item = report(Drained {
                sample,
                last,
                collector: &*collector,
                target,
                names,
            })?;
            sink.emit(&item)
        })
    }

    /// Hands `source`'s events to `sink` as they come, each batch made
    /// reportable by `report` (enriched: ids become names), warning on
    /// stderr when events are lost. When the run ends, the source is
    /// finished, its last events emitted, and the reason said.
    pub fn stream<E, T, S>(
        &mut self,
        source: &mut E,
        sink: &mut S,
        how: &Streaming,
        mut report: impl FnMut(Vec<E::Event>, &mut Identities) -> Result<Vec<T>>,
    ) -> Result<Ended>
    where
        E: EventSource,
        S: Sink<[T]>,
    {
        self.run_loop.restart_clock();
        let mut emitted = 0u64;
        let mut emit = |events: Vec<E::Event>, names: &mut Identities| -> Result<()> {
            if events.is_empty() {
                return Ok(());
            }
            emitted += events.len() as u64;
            sink.emit(&report(events, names)?)
        };
        let mut lost = LostWarnings::new(how.lost_advice);
        let stop = loop {
            let events = source.poll(how.poll)?;
            emit(events, &mut self.names)?;
            lost.check(&source.health());
            if let Some(Wake::Finish(stop)) = self.run_loop.try_wake() {
                break stop;
            }
        };
        let rest = source.finish()?;
        emit(rest, &mut self.names)?;
        match &stop {
            Stop::Signal => output::status(SIGNAL_STATUS),
            Stop::Duration | Stop::Requested => {}
            Stop::TargetGone(why) => output::status(&format!("{why}; stopping")),
        }
        Ok(Ended {
            stop,
            health: source.health(),
            events: emitted,
        })
    }
}

/// Says on stderr when events were lost since the last warning, at most
/// once per [`LOST_WARNING_PERIOD`].
struct LostWarnings {
    advice: &'static str,
    warned: u64,
    next: Instant,
}

impl LostWarnings {
    fn new(advice: &'static str) -> Self {
        Self {
            advice,
            warned: 0,
            next: Instant::now(),
        }
    }

    fn check(&mut self, health: &Health) {
        let now = Instant::now();
        if health.lost <= self.warned || now < self.next {
            return;
        }
        output::status(&format!(
            "WARNING: {} events lost (ring buffer full), {} in all; {}",
            health.lost - self.warned,
            health.lost,
            self.advice
        ));
        self.warned = health.lost;
        self.next = now + LOST_WARNING_PERIOD;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use identity::container::Registry;

    /// A driver over an empty cgroup tree, the whole host as target.
    fn driver(root: &std::path::Path, interval: Option<Duration>, duration: Duration) -> Driver {
        Driver {
            hierarchy: Hierarchy {
                root: root.to_path_buf(),
                v1: Vec::new(),
                mounts: Vec::new(),
            },
            target: Target::host(),
            names: Identities::new(root, Registry::new(root)),
            run_loop: RunLoop::new(interval, Some(duration)),
        }
    }

    /// Counts drains; each sample is the drain's number.
    #[derive(Default)]
    struct Counter {
        drains: u64,
        finished: bool,
    }

    impl Counter {
        fn next(&mut self) -> Result<Sample<u64>> {
            assert!(!self.finished, "drained after finish");
            self.drains += 1;
            Ok(Sample {
                data: self.drains,
                health: Health::default(),
            })
        }
    }

    impl Aggregator for Counter {
        type Data = u64;

        fn drain(&mut self) -> Result<Sample<u64>> {
            self.next()
        }

        fn finish(&mut self) -> Result<Sample<u64>> {
            let last = self.next();
            self.finished = true;
            last
        }
    }

    /// Keeps what it was given.
    #[derive(Default)]
    struct Kept<T: Clone>(Vec<T>);

    impl<T: Clone> Sink<T> for Kept<T> {
        fn emit(&mut self, item: &T) -> Result<()> {
            self.0.push(item.clone());
            Ok(())
        }
    }

    impl<T: Clone> Sink<[T]> for Kept<T> {
        fn emit(&mut self, items: &[T]) -> Result<()> {
            self.0.extend_from_slice(items);
            Ok(())
        }
    }

    #[test]
    fn every_sample_reaches_the_sink_and_the_last_after_finish() {
        let root = tempfile::tempdir().unwrap();
        // A report always due; -d long enough that only the stop ends the run.
        let interval = Duration::from_nanos(1);
        let mut driver = driver(root.path(), Some(interval), Duration::from_secs(600));
        let handle = driver.stop_handle();
        let mut counter = Counter::default();
        let mut sink = Kept::default();
        let stop = driver
            .aggregate(&mut counter, &mut sink, |d| {
                assert!(d.target.is_host());
                if d.sample.data == 3 {
                    handle.stop(Stop::Requested);
                }
                Ok((d.sample.data, d.last, d.collector.finished))
            })
            .unwrap();
        assert_eq!(stop, Stop::Requested);
        // One report per drain in order; the stop wins over the due
        // report; only the last is final, taken after finish.
        assert_eq!(
            sink.0,
            vec![
                (1, false, false),
                (2, false, false),
                (3, false, false),
                (4, true, true)
            ]
        );
    }

    /// Hands out the batches it was given, then its rest at finish.
    struct Batches {
        queued: Vec<Vec<u32>>,
        rest: Vec<u32>,
        lost: u64,
    }

    impl EventSource for Batches {
        type Event = u32;

        fn poll(&mut self, timeout: Duration) -> Result<Vec<u32>> {
            if self.queued.is_empty() {
                std::thread::sleep(timeout);
                return Ok(Vec::new());
            }
            Ok(self.queued.remove(0))
        }

        fn finish(&mut self) -> Result<Vec<u32>> {
            Ok(std::mem::take(&mut self.rest))
        }

        fn health(&self) -> Health {
            Health {
                lost: self.lost,
                ..Health::default()
            }
        }
    }

    #[test]
    fn a_stream_hands_on_every_event_and_ends_on_a_stop() {
        let root = tempfile::tempdir().unwrap();
        // -d long enough that only the stop request ends the run.
        let mut driver = driver(root.path(), None, Duration::from_secs(600));
        let mut source = Batches {
            queued: vec![vec![1, 2], Vec::new(), vec![3]],
            rest: vec![4, 5],
            lost: 2,
        };
        let mut sink = Kept::default();
        let handle = driver.stop_handle();
        let how = Streaming {
            poll: Duration::from_millis(1),
            lost_advice: "raise it",
        };
        let ended = driver
            .stream(&mut source, &mut sink, &how, |events, _| {
                if events.contains(&3) {
                    handle.stop(Stop::Requested);
                }
                Ok(events.into_iter().map(|e| e * 10).collect())
            })
            .unwrap();
        assert_eq!(sink.0, vec![10, 20, 30, 40, 50]);
        assert_eq!(
            (ended.stop, ended.events, ended.health.lost),
            (Stop::Requested, 5, 2)
        );
    }

    #[test]
    fn lost_events_are_said_once_per_period() {
        let mut lost = LostWarnings::new("raise it");
        let health = |n| Health {
            lost: n,
            ..Health::default()
        };
        lost.check(&health(0));
        assert_eq!(lost.warned, 0, "nothing lost, nothing said");
        lost.check(&health(3));
        assert_eq!(lost.warned, 3);
        lost.check(&health(5));
        assert_eq!(lost.warned, 3, "within the period: said later");
        lost.next = Instant::now();
        lost.check(&health(5));
        assert_eq!(lost.warned, 5);
    }
}
