//! Cgroups named when they are made. A small BPF program on
//! `tp_btf/cgroup_mkdir` (bpf/cgroup_births.bpf.c) reports each new
//! cgroup2 directory's id and path; a thread of its own names it then from
//! what the runtimes wrote on disk, and keeps the name after the cgroup is
//! gone. BPF knows ids and paths only: which container a path is stays
//! here, in userspace.
//!
//! A `docker run --rm` whose workload lasts 50 ms is named this way: the
//! runtime writes a container's state on disk at its creation, before its
//! cgroup is made, and removes it only after its process has exited. The
//! daemons' APIs are asked on another thread, only for containers the disk
//! does not name (a runtime that keeps no state where it is looked for), so
//! a daemon that is slow to answer (podman's API waits for the lock a
//! starting container holds) never holds up the naming of the next birth.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use libbpf_rs::skel::Skel;
use libbpf_rs::{OpenObject, RingBuffer, RingBufferBuilder};

use crate::container::{ContainerInfo, Registry, Sources};
use kernel::bpf::Pod;

#[allow(clippy::all, non_camel_case_types, dead_code, unused_imports)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/cgroup_births.skel.rs"));
}
use skel::types::cgroup_birth;
use skel::{CgroupBirthsSkel, CgroupBirthsSkelBuilder};

// SAFETY: a generated #[repr(C)] struct of integers and a byte array.
unsafe impl Pod for cgroup_birth {}

/// Names kept at most; past this the oldest are forgotten (a cgroup that
/// still exists is then found by the tree walk again).
const KEPT: usize = 1 << 16;
/// How long the thread waits for births before looking at `stop` again.
const POLL: Duration = Duration::from_millis(100);
/// Least time between two runtime queries caused by births.
const REFRESH_EVERY: Duration = Duration::from_millis(100);
/// How long a container the runtimes do not name yet is asked about.
const PATIENCE: Duration = Duration::from_secs(5);

/// What was known of a cgroup when it was first seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstSight {
    /// Relative to the cgroup2 mount.
    pub path: String,
    /// The container or pod it belongs to, as the runtimes said then.
    pub container: Option<ContainerInfo>,
}

/// The names, oldest first for forgetting.
#[derive(Default)]
struct Seen {
    by_id: HashMap<u64, FirstSight>,
    order: VecDeque<u64>,
}

impl Seen {
    fn keep(&mut self, id: u64, sight: FirstSight) {
        if self.by_id.insert(id, sight).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > KEPT {
            if let Some(old) = self.order.pop_front() {
                self.by_id.remove(&old);
            }
        }
    }
}

type Shared = Arc<Mutex<Seen>>;

/// The watcher: its naming thread runs until this is dropped (and is
/// joined); the thread asking the daemons, where `Sources` name any, ends
/// after it, once its query in flight returns.
pub struct Births {
    seen: Shared,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Births {
    /// Loads and attaches the program, names every cgroup there now, then
    /// returns; births are named from then on until the value is dropped.
    pub fn start(root: &Path) -> Result<Self> {
        Self::start_with(root, Sources::default())
    }

    /// As [`Births::start`], asking the runtimes of `sources` only.
    pub fn start_with(root: &Path, sources: Sources) -> Result<Self> {
        let seen = Shared::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready) = mpsc::sync_channel(1);
        let ask = Asker::start(root, Arc::clone(&seen), sources.clone())?;
        let thread = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            let namer = Namer::new(root, seen, sources.disk_only(), ask);
            std::thread::Builder::new()
                .name("cgroup-births".into())
                .spawn(move || watch(namer, stop, ready_tx))
                .context("starting the cgroup naming thread")?
        };
        let started = ready
            .recv()
            .map_err(|_| anyhow!("the cgroup naming thread ended before it started"))
            .and_then(|r| r);
        let births = Self {
            seen,
            stop,
            thread: Some(thread),
        };
        started.map(|()| births)
    }

    /// What cgroup `id` was when first seen, if it was.
    pub fn get(&self, id: u64) -> Option<FirstSight> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.by_id.get(&id).cloned()
    }
}

impl Drop for Births {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: attach, name what is there, then name each birth.
fn watch(mut namer: Namer, stop: Arc<AtomicBool>, ready: SyncSender<Result<()>>) {
    let mut object = MaybeUninit::uninit();
    let skel = match attach(&mut object) {
        Ok(skel) => skel,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let queue: Rc<RefCell<Vec<(u64, String)>>> = Rc::default();
    let ring = match ring_buffer(&skel, Rc::clone(&queue)) {
        Ok(ring) => ring,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    // Attached first, then the walk: a cgroup made in between is seen twice
    // (same name), never missed.
    namer.name_existing();
    let _ = ready.send(Ok(()));
    while !stop.load(Ordering::Acquire) {
        // EINTR (a signal landed on this thread) and other errors: the
        // births already queued are still named; the next poll retries.
        if ring.poll_raw(POLL) >= 0 {
            ring.consume_raw();
        }
        let born = std::mem::take(&mut *queue.borrow_mut());
        namer.born(born);
    }
}

fn attach(object: &mut MaybeUninit<OpenObject>) -> Result<CgroupBirthsSkel<'_>> {
    let mut skel =
        kernel::bpf::open_and_load(CgroupBirthsSkelBuilder::default(), object, |_| Ok(()))?;
    skel.attach().context("attaching to tp_btf/cgroup_mkdir")?;
    Ok(skel)
}

/// The ring buffer, each record parsed onto `queue`.
fn ring_buffer<'a>(
    skel: &'a CgroupBirthsSkel<'_>,
    queue: Rc<RefCell<Vec<(u64, String)>>>,
) -> Result<RingBuffer<'a>> {
    let mut builder = RingBufferBuilder::new();
    builder
        .add(&skel.maps.births, move |bytes: &[u8]| {
            if let Some(birth) = parse(bytes) {
                queue.borrow_mut().push(birth);
            }
            0
        })
        .context("setting up the cgroup births ring buffer")?;
    builder
        .build()
        .context("setting up the cgroup births ring buffer")
}

/// One ring-buffer record: (id, path); `None` for a cut path (longer than
/// the record holds: left to the tree walk) or a short record.
fn parse(bytes: &[u8]) -> Option<(u64, String)> {
    let b = kernel::bpf::from_bytes::<cgroup_birth>(bytes)?;
    let len = usize::try_from(b.len).ok()?;
    if len == 0 || len >= b.path.len() - 1 {
        return None;
    }
    let path: Vec<u8> = b.path[..len].iter().map(|&c| c as u8).collect();
    Some((b.id, String::from_utf8_lossy(&path).into_owned()))
}

/// Named: a pod's sandbox never is, and is asked about for PATIENCE (the
/// pod it shows may come from an earlier answer, so a pod alone does not
/// tell a sandbox from a container not named yet).
fn is_named(c: &ContainerInfo) -> bool {
    c.name.is_some()
}

fn keep(seen: &Shared, id: u64, path: String, container: Option<ContainerInfo>) {
    let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    seen.keep(id, FirstSight { path, container });
}

/// A container cgroup the disk did not name: (id, path, born).
type Unnamed = (u64, String, Instant);

/// Turns paths into names from what the runtimes wrote on disk (a registry
/// that asks no daemon); hands what it cannot name to the asker.
struct Namer {
    root: PathBuf,
    seen: Shared,
    registry: Registry,
    ask: Option<Sender<Unnamed>>,
}

impl Namer {
    fn new(root: &Path, seen: Shared, disk: Sources, ask: Option<Sender<Unnamed>>) -> Self {
        Self {
            root: root.to_path_buf(),
            seen,
            registry: Registry::with_sources(root, disk),
            ask,
        }
    }

    /// Every cgroup there now. What the disk does not name is asked about
    /// once (as if born PATIENCE ago): a daemon lists what exists, so asking
    /// again only repeats the answer for each pod's sandbox.
    fn name_existing(&mut self) {
        self.registry.refresh();
        let tree = crate::cgroup::CgroupNames::new(self.root.clone());
        let now = Instant::now();
        let long_ago = now.checked_sub(PATIENCE).unwrap_or(now);
        for (id, path) in tree.all() {
            self.name(id, path, long_ago);
        }
    }

    /// New cgroups: named at once from their runtime's state on disk.
    fn born(&mut self, born: Vec<(u64, String)>) {
        let now = Instant::now();
        for (id, path) in born {
            self.registry.learn_from_disk(&path);
            self.name(id, path, now);
        }
    }

    fn name(&mut self, id: u64, path: String, since: Instant) {
        let container = self.registry.identify(&path);
        if container.as_ref().is_some_and(|c| !is_named(c)) {
            if let Some(ask) = &self.ask {
                // The asker only ends after this thread.
                let _ = ask.send((id, path.clone(), since));
            }
        }
        keep(&self.seen, id, path, container);
    }
}

/// Asks the daemons about containers the disk did not name, on a thread
/// of its own, as soon as they are born and again (a few times) while the
/// daemons do not name them yet. It ends when the naming thread does (its
/// last query first, which may take up to the sources' request timeout).
struct Asker {
    seen: Shared,
    registry: Registry,
    last_refresh: Option<Instant>,
    waiting: Vec<Unnamed>,
}

impl Asker {
    /// `None` when `sources` name no daemon: nothing to ask.
    fn start(root: &Path, seen: Shared, sources: Sources) -> Result<Option<Sender<Unnamed>>> {
        if !sources.has_daemons() {
            return Ok(None);
        }
        let (ask, asked) = mpsc::channel();
        let mut asker = Self {
            seen,
            registry: Registry::with_sources(root, sources),
            last_refresh: None,
            waiting: Vec::new(),
        };
        std::thread::Builder::new()
            .name("cgroup-runtimes".into())
            .spawn(move || asker.run(&asked))
            .context("starting the runtime query thread")?;
        Ok(Some(ask))
    }

    fn run(&mut self, asked: &Receiver<Unnamed>) {
        loop {
            match asked.recv_timeout(POLL) {
                Ok(unnamed) => self.waiting.push(unnamed),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            self.waiting.extend(asked.try_iter());
            if !self.waiting.is_empty() && self.refresh_due() {
                self.registry.refresh();
                self.last_refresh = Some(Instant::now());
                self.name_waiting();
            }
        }
    }

    fn name_waiting(&mut self) {
        for (id, path, since) in std::mem::take(&mut self.waiting) {
            let container = self.registry.identify(&path);
            if container.as_ref().is_some_and(is_named) {
                keep(&self.seen, id, path, container);
            } else if since.elapsed() < PATIENCE {
                self.waiting.push((id, path, since));
            }
        }
    }

    fn refresh_due(&self) -> bool {
        self.last_refresh
            .is_none_or(|t| t.elapsed() >= REFRESH_EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_up_to_a_bound_oldest_forgotten_first() {
        let mut seen = Seen::default();
        for id in 0..(KEPT as u64 + 10) {
            seen.keep(
                id,
                FirstSight {
                    path: format!("/c{id}"),
                    container: None,
                },
            );
        }
        assert_eq!(seen.by_id.len(), KEPT);
        assert!(!seen.by_id.contains_key(&9));
        assert_eq!(seen.by_id[&10].path, "/c10");
        // Seen again: one entry, the newer name.
        let last = KEPT as u64 + 9;
        seen.keep(
            last,
            FirstSight {
                path: "/again".into(),
                container: None,
            },
        );
        assert_eq!(seen.by_id.len(), KEPT);
        assert_eq!(seen.by_id[&last].path, "/again");
    }

    #[test]
    fn records_with_cut_or_empty_paths_are_left_to_the_walk() {
        let mut b = cgroup_birth {
            id: 42,
            len: 7,
            ..Default::default()
        };
        for (i, c) in b"/docker".iter().enumerate() {
            b.path[i] = *c as _;
        }
        let bytes = kernel::bpf::as_bytes(&b).to_vec();
        assert_eq!(parse(&bytes), Some((42, "/docker".to_string())));
        b.len = (b.path.len() - 1) as u32;
        assert_eq!(parse(kernel::bpf::as_bytes(&b)), None);
        b.len = 0;
        assert_eq!(parse(kernel::bpf::as_bytes(&b)), None);
        assert_eq!(parse(&bytes[..8]), None);
    }
}
