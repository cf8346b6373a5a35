//! Loading unsharesnoop's BPF program, attaching the chosen calls'
//! tracepoints, and reading events from its ring buffer.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use common::bpf::Pod;
use common::collector::{EventSource, Health};
use common::target::Target;
use libbpf_rs::{Link, MapHandle, OpenObject, RingBufferBuilder};

use crate::event::{Call, Event};

#[allow(clippy::all, non_camel_case_types, dead_code, unused_imports)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/unsharesnoop.skel.rs"));
}
use skel::types::unsharesnoop_event;
use skel::{UnsharesnoopSkel, UnsharesnoopSkelBuilder};

// SAFETY: generated #[repr(C)] struct of integers and integer arrays; every
// bit pattern is a valid value.
unsafe impl Pod for unsharesnoop_event {}

/// What the BPF program is told before load.
pub struct Config<'a> {
    pub calls: &'a [Call],
    /// The cgroup (`-c`, `--exact`) and process (`-p`) traced.
    pub target: &'a Target,
    pub include_failed: bool,
    /// Ring buffer size in bytes (a power of two, at least one page).
    pub buffer_bytes: u32,
}

/// The reader hands events on in batches of at least this many while a
/// burst lasts (and whatever it has after each poll otherwise).
const BATCH: usize = 4096;
/// Events the reader holds while the printer is busy. Beyond that it waits,
/// the ring buffer fills and the kernel counts what it cannot store: memory
/// stays bounded (about 170 bytes an event) and loss stays visible.
const MAX_HELD: usize = 1 << 16;
/// How long the reader's epoll may sleep: events submitted without a wakeup
/// (see WAKEUP_PERIOD_NS in the BPF program) wait at most this long.
const READ_PERIOD: Duration = Duration::from_millis(50);

type Batch = Vec<unsharesnoop_event>;

/// Passes `held` to the printer if it has room; waits for room only when
/// the reader holds too much (or `wait`). False when the printer is gone.
fn hand_off(tx: &SyncSender<Batch>, held: &mut Batch, wait: bool) -> bool {
    if held.is_empty() {
        return true;
    }
    if wait || held.len() >= MAX_HELD {
        return tx.send(std::mem::take(held)).is_ok();
    }
    match tx.try_send(std::mem::take(held)) {
        Ok(()) => true,
        Err(TrySendError::Full(back)) => {
            *held = back;
            true
        }
        Err(TrySendError::Disconnected(_)) => false,
    }
}

/// unsharesnoop's kernel side: one event per traced call, read from a ring
/// buffer by a thread of its own.
pub struct Collector<'obj> {
    links: Vec<Link>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<Result<()>>>,
    batches: Receiver<Batch>,
    skel: UnsharesnoopSkel<'obj>,
}

fn decode(raw: &unsharesnoop_event) -> Option<Event> {
    Some(Event {
        ts_ns: raw.ts_ns,
        pid: raw.pid,
        tid: raw.tid,
        comm: common::escape::c_bytes(&raw.comm),
        call: Call::from_raw(raw.call)?,
        flags: raw.flags,
        ret: raw.ret,
        cgroup_id: raw.cgroup_id,
        fd: raw.fd,
        target_ino: raw.target_ino,
        ns_before: raw.ns_before,
        ns_after: raw.ns_after,
    })
}

/// The reader thread: drains the ring buffer as fast as the kernel fills
/// it (a copy per event, no formatting) and passes batches on. After `stop`
/// it reads what is left once and ends.
fn read_ring(ring_map: MapHandle, stop: Arc<AtomicBool>, tx: SyncSender<Batch>) -> Result<()> {
    let batch = Rc::new(RefCell::new(Vec::with_capacity(BATCH)));
    let sink = Rc::clone(&batch);
    let sink_tx = tx.clone();
    let mut builder = RingBufferBuilder::new();
    builder
        .add(&ring_map, move |bytes: &[u8]| {
            let Some(ev) = common::bpf::from_bytes::<unsharesnoop_event>(bytes) else {
                return 0;
            };
            let mut held = sink.borrow_mut();
            held.push(ev);
            if held.len() % BATCH == 0 && !hand_off(&sink_tx, &mut held, false) {
                return -1; // the printer is gone: stop reading
            }
            0
        })
        .context("setting up the ring buffer")?;
    let ring = builder.build().context("setting up the ring buffer")?;
    loop {
        let last = stop.load(Ordering::Acquire);
        // Events submitted without a wakeup are not signalled to epoll:
        // after each poll (or timeout) take whatever is there.
        let mut ret = if last { 0 } else { ring.poll_raw(READ_PERIOD) };
        if ret >= 0 {
            ret = ring.consume_raw();
        }
        // EINTR: a signal (Ctrl-C) landed on this thread; the main loop acts on it.
        if ret < 0 && ret != -libc::EINTR {
            return Err(std::io::Error::from_raw_os_error(-ret))
                .context("reading the BPF ring buffer");
        }
        if !hand_off(&tx, &mut batch.borrow_mut(), last) || last {
            return Ok(());
        }
    }
}

impl<'obj> Collector<'obj> {
    /// Opens, configures, loads and attaches the BPF program, and starts
    /// reading its ring buffer.
    pub fn start(open_object: &'obj mut MaybeUninit<OpenObject>, cfg: &Config) -> Result<Self> {
        let traced = |c: Call| cfg.calls.contains(&c);
        let builder = UnsharesnoopSkelBuilder::default();
        let skel = common::bpf::open_and_load(builder, open_object, |open| {
            let rodata = common::bpf::mapped(open.maps.rodata_data.as_deref_mut(), ".rodata")?;
            rodata.include_failed = cfg.include_failed;
            rodata.wakeup_bytes = u64::from(cfg.buffer_bytes / 4);
            common::set_target_filter!(rodata, cfg.target);
            open.maps
                .events
                .set_max_entries(cfg.buffer_bytes)
                .context("sizing the ring buffer")?;
            // Programs of calls not asked for are not even loaded.
            let progs = &mut open.progs;
            progs.unshare_enter.set_autoload(traced(Call::Unshare));
            progs.unshare_exit.set_autoload(traced(Call::Unshare));
            progs.setns_enter.set_autoload(traced(Call::Setns));
            progs.setns_exit.set_autoload(traced(Call::Setns));
            for p in [
                &mut progs.clone_enter,
                &mut progs.clone_exit,
                &mut progs.clone3_enter,
                &mut progs.clone3_exit,
            ] {
                p.set_autoload(traced(Call::Clone));
            }
            Ok(())
        })?;

        // Exit programs first: an entry seen without its exit would leave a
        // stale stash, the reverse only misses a call already under way.
        let p = &skel.progs;
        let mut wanted = Vec::new();
        if traced(Call::Unshare) {
            wanted.extend([(&p.unshare_exit, "unshare"), (&p.unshare_enter, "unshare")]);
        }
        if traced(Call::Setns) {
            wanted.extend([(&p.setns_exit, "setns"), (&p.setns_enter, "setns")]);
        }
        if traced(Call::Clone) {
            wanted.extend([
                (&p.clone_exit, "clone"),
                (&p.clone_enter, "clone"),
                (&p.clone3_exit, "clone3"),
                (&p.clone3_enter, "clone3"),
            ]);
        }
        let mut links = Vec::with_capacity(wanted.len());
        for (prog, call) in wanted {
            links.push(
                prog.attach().with_context(|| {
                    format!("attaching to the syscalls/sys_*_{call} tracepoints")
                })?,
            );
        }

        let ring_map = MapHandle::try_from(&skel.maps.events).context("opening the ring buffer")?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, batches) = mpsc::sync_channel(1);
        let reader = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("ringbuf-reader".into())
                .spawn(move || read_ring(ring_map, stop, tx))
                .context("starting the ring-buffer reader thread")?
        };
        Ok(Self {
            links,
            stop,
            reader: Some(reader),
            batches,
            skel,
        })
    }

    fn join_reader(&mut self) -> Result<()> {
        match self.reader.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(anyhow!("the ring-buffer reader thread panicked")),
        }
    }
}

impl EventSource for Collector<'_> {
    type Event = Event;

    /// Waits up to `timeout` for events and returns those that arrived.
    fn poll(&mut self, timeout: Duration) -> Result<Vec<Event>> {
        let raw = match self.batches.recv_timeout(timeout) {
            Ok(batch) => batch,
            Err(RecvTimeoutError::Timeout) => return Ok(Vec::new()),
            Err(RecvTimeoutError::Disconnected) => {
                self.join_reader()?;
                return Err(anyhow!("the ring-buffer reader stopped"));
            }
        };
        Ok(raw.iter().filter_map(decode).collect())
    }

    /// Detaches the programs, lets the reader take what is left in the
    /// ring buffer, and returns every event not yet returned: after this no
    /// new event can arrive.
    fn finish(&mut self) -> Result<Vec<Event>> {
        self.links.clear();
        // A program that was already running when its link went can still
        // submit: wait for it, or its event would come after the last read
        // (neither printed nor counted lost).
        let maps = &self.skel.maps;
        common::bpf::wait_for_running_programs(&maps.sync_outer, &maps.sync_inner)?;
        self.stop.store(true, Ordering::Release);
        let mut raw = Vec::new();
        // Drain while the reader finishes: it may wait for room in the queue.
        loop {
            match self.batches.recv_timeout(Duration::from_millis(20)) {
                Ok(batch) => raw.extend(batch),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.join_reader()?;
        Ok(raw.iter().filter_map(decode).collect())
    }

    /// The kernel's counters so far: events lost, calls untraced.
    fn health(&self) -> Health {
        match self.skel.maps.bss_data.as_deref() {
            // SAFETY: .bss is mmap'd and written by BPF programs: volatile
            // reads see their latest stores.
            Some(bss) => unsafe {
                Health {
                    lost: std::ptr::read_volatile(&bss.lost),
                    untraced: std::ptr::read_volatile(&bss.no_storage),
                    ..Health::default()
                }
            },
            None => Health::default(),
        }
    }
}
