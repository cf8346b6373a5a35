//! The drainer thread: owns the collectors (their BPF objects live on its
//! stack), drains them when a scrape asks (fresh values) and at least every
//! background period (kernel maps never fill), adds the deltas to the
//! store, and retires removed cgroups. Scrapes never wait on the kernel
//! longer than [`SCRAPE_WAIT`]; the drainer never waits on a scrape.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use cli::runloop::{Stop, StopHandle};
use libbpf_rs::OpenObject;

use crate::bpf_stats::{self, StatsEnabled};
use crate::identity::{HostPaths, Labeler, Paths};
use crate::labels::CgroupLabel;
use crate::sources::block::Block;
use crate::sources::syscalls::{Syscalls, Wanted};
use crate::sources::{Deltas, Source};
use crate::store::Store;

/// How long a scrape waits for its drain before serving the totals as
/// they are.
pub const SCRAPE_WAIT: Duration = Duration::from_secs(5);
/// How often removed cgroups are looked for.
const SWEEP_PERIOD: Duration = Duration::from_secs(1);

/// What the drainer is asked.
pub enum Request {
    /// Drain now, then answer on the channel.
    Drain(Sender<()>),
    /// Detach, drain the rest, end.
    Stop,
}

/// Which collectors run, and how.
#[derive(Clone, Debug)]
pub struct Config {
    pub cgroup_root: PathBuf,
    pub latency: bool,
    /// Count seccomp-denied calls (the entry hook).
    pub denied: bool,
    pub namespaces: bool,
    /// Count block I/O (conbiograph's per-cgroup collector).
    pub block: bool,
    /// Background drain period.
    pub interval: Duration,
    /// How the syscall counters' kernel hashes are sized (`--max-entries`).
    pub sizing: kernel::mapsize::Sizing,
    /// Where container names are looked up.
    pub names: ::identity::container::Sources,
    /// Read the programs' run count and time into the store on each drain.
    pub bpf_stats: bool,
}

/// Asks the drainer for a drain and waits for it (at most [`SCRAPE_WAIT`]).
/// False when it did not answer in time: the caller serves what is there.
pub fn request_drain(requests: &Mutex<Sender<Request>>) -> bool {
    let (tx, rx) = mpsc::channel();
    let sent = requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(Request::Drain(tx))
        .is_ok();
    sent && rx.recv_timeout(SCRAPE_WAIT).is_ok()
}

/// A running drainer.
pub struct Drainer {
    pub requests: Sender<Request>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Drainer {
    /// Starts the thread, which loads and attaches the programs; `started`
    /// gets the outcome. `ready` is set once they are attached. A failure
    /// while running stops `stop` and ends the thread with its error.
    pub fn spawn(
        config: Config,
        store: Arc<Mutex<Store>>,
        ready: Arc<AtomicBool>,
        stop: StopHandle,
        started: Sender<Result<()>>,
    ) -> Result<Self> {
        let (requests, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("drainer".into())
            .spawn(move || {
                let result = run(&config, &store, &ready, &rx, &started);
                ready.store(false, Ordering::Release);
                if result.is_err() {
                    stop.stop(Stop::Requested);
                }
                result
            })
            .context("starting the drainer thread")?;
        Ok(Self {
            requests,
            thread: Some(thread),
        })
    }

    /// Asks the drainer to detach and finish, and waits for it.
    pub fn stop(mut self) -> Result<()> {
        let _ = self.requests.send(Request::Stop);
        match self.thread.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(anyhow!("the drainer thread panicked")),
        }
    }
}

/// The collectors of this configuration, loaded and attached.
/// The syscall engine makes the counts and the namespace changes in one
/// program per hook; block I/O keeps its own hooks.
fn start_sources<'obj>(
    config: &Config,
    syscalls: &'obj mut MaybeUninit<OpenObject>,
    block: &'obj mut MaybeUninit<OpenObject>,
) -> Result<Vec<Box<dyn Source + 'obj>>> {
    let mut sources: Vec<Box<dyn Source + 'obj>> = Vec::new();
    let wanted = Wanted {
        latency: config.latency,
        denied: config.denied,
        namespaces: config.namespaces,
    };
    sources.push(Box::new(
        Syscalls::start(syscalls, wanted, config.sizing)
            .context("starting the syscall and namespace-change counters")?,
    ));
    if config.block {
        sources.push(Box::new(
            Block::start(block).context("starting the block I/O counters")?,
        ));
    }
    Ok(sources)
}

/// What runs while the exporter does: the BPF statistics switched on (with
/// `--bpf-stats`, before the programs load), the sources, the labeler.
type Started<'obj> = (Option<StatsEnabled>, Vec<Box<dyn Source + 'obj>>, Labeler);

fn start_all<'obj>(
    config: &Config,
    syscalls: &'obj mut MaybeUninit<OpenObject>,
    block: &'obj mut MaybeUninit<OpenObject>,
) -> Result<Started<'obj>> {
    let stats = config.bpf_stats.then(bpf_stats::enable).transpose()?;
    let sources = start_sources(config, syscalls, block)?;
    let labeler = Labeler::start(&config.cgroup_root, config.names.clone())?;
    Ok((stats, sources, labeler))
}

fn run(
    config: &Config,
    store: &Arc<Mutex<Store>>,
    ready: &AtomicBool,
    requests: &Receiver<Request>,
    started: &Sender<Result<()>>,
) -> Result<()> {
    let mut syscalls_object = MaybeUninit::uninit();
    let mut block_object = MaybeUninit::uninit();
    let sources = start_all(config, &mut syscalls_object, &mut block_object);
    let (_stats, mut sources, labeler) = match sources {
        Ok(started) => started,
        Err(e) => {
            let _ = started.send(Err(e));
            return Ok(());
        }
    };
    let mut names = Names {
        paths: HostPaths::new(&config.cgroup_root, config.names.clone()),
        labeler,
    };
    ready.store(true, Ordering::Release);
    let _ = started.send(Ok(()));

    let mut next_sweep = Instant::now() + SWEEP_PERIOD;
    loop {
        let mut waiting = Vec::new();
        let mut stopping = false;
        match requests.recv_timeout(config.interval) {
            Ok(Request::Drain(reply)) => waiting.push(reply),
            Ok(Request::Stop) | Err(RecvTimeoutError::Disconnected) => stopping = true,
            Err(RecvTimeoutError::Timeout) => {}
        }
        // Every request made before this drain starts is answered by it.
        while let Ok(request) = requests.try_recv() {
            match request {
                Request::Drain(reply) => waiting.push(reply),
                Request::Stop => stopping = true,
            }
        }
        if stopping {
            break;
        }
        drain(&mut sources, store, &mut names, false)?;
        if config.bpf_stats {
            lock(store).programs = bpf_stats::read_own()?;
        }
        for reply in waiting {
            let _ = reply.send(());
        }
        if Instant::now() >= next_sweep {
            let removed = sweep(store, &mut names);
            for source in sources.iter_mut() {
                source
                    .forget(&removed)
                    .with_context(|| format!("forgetting removed cgroups in {}", source.name()))?;
            }
            next_sweep = Instant::now() + SWEEP_PERIOD;
        }
    }
    ready.store(false, Ordering::Release);
    drain(&mut sources, store, &mut names, true)
}

/// Paths looked up here, containers by the labeler thread.
struct Names<P: Paths> {
    paths: P,
    labeler: Labeler,
}

/// One drain of every source into the store. Paths of new cgroups are
/// looked up without holding the store (scrapes read it meanwhile); their
/// containers are asked for and land in the store when the runtimes answer.
fn drain<P: Paths>(
    sources: &mut [Box<dyn Source + '_>],
    store: &Mutex<Store>,
    names: &mut Names<P>,
    last: bool,
) -> Result<()> {
    let mut deltas = Deltas::default();
    for source in sources.iter_mut() {
        let name = source.name();
        let result = if last {
            source.finish(&mut deltas)
        } else {
            source.drain(&mut deltas)
        };
        result.with_context(|| format!("draining the {name} collector"))?;
    }
    // Containers the labeler found since the last drain.
    for answer in names.labeler.answers() {
        lock(store).set_container(answer.id, &answer.path, answer.labels);
    }
    let unknown = lock(store).unknown(&deltas);
    names.paths.new_drain();
    let labels: HashMap<_, _> = unknown
        .into_iter()
        .map(|id| (id, names.paths.name(id)))
        .collect();
    lock(store).apply(&deltas, &labels);
    for (id, (path, container)) in &labels {
        if let (Some(path), true) = (path.path(), container.name.is_empty()) {
            names.labeler.ask(*id, path);
        }
    }
    // Cgroups counted before the resolver knew their path get it as soon
    // as it does.
    let pending = lock(store).unresolved(Instant::now());
    for id in pending {
        if let (CgroupLabel::Path(path), container) = names.paths.name(id) {
            if container.name.is_empty() {
                names.labeler.ask(id, &path);
            }
            lock(store).relabel(id, path, container);
        }
    }
    Ok(())
}

/// Marks removed cgroups and forgets those past their grace period; asks
/// again for the names of young containers the runtimes had not named yet.
/// Returns the cgroups found removed.
fn sweep<P: Paths>(store: &Mutex<Store>, names: &mut Names<P>) -> Vec<u64> {
    let now = Instant::now();
    for (id, path) in lock(store).unnamed(now) {
        names.labeler.ask(id, &path);
    }
    let live = lock(store).live();
    let removed: Vec<u64> = live
        .into_iter()
        .filter(|(id, path)| !names.paths.exists(*id, path))
        .map(|(id, _)| id)
        .collect();
    let forgotten = lock(store).expire(&removed, now);
    if forgotten > 0 {
        // A burst of churn raised the heap; hand the freed pages back so the
        // exporter's memory follows the cgroups it serves, not its peak.
        // SAFETY: malloc_trim only releases free memory of the allocator.
        unsafe { libc::malloc_trim(0) };
    }
    removed
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}
