//! Loading unsharesnoop's BPF program, attaching its syscall hooks, and
//! reading events from its ring buffer.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use identity::target::Target;
use kernel::bpf::Pod;
use kernel::collector::{EventSource, Health};
use libbpf_rs::{Link, MapCore, MapHandle, OpenObject, RingBufferBuilder};

use crate::event::{Call, Event};
use crate::target_ns::TargetNamespaces;

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
    /// Counting only (the node exporter): the exit hook alone makes each
    /// event from the saved registers, so every syscall of the host pays
    /// one hook instead of two. Events then carry no namespaces from
    /// before the call (`ns_before` equals `ns_after`), and no call is
    /// told denied (that needs the entry hook).
    pub exit_only: bool,
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
    /// Namespaces a setns from outside the target enters (with a target).
    entering: Option<TargetNamespaces>,
    skel: UnsharesnoopSkel<'obj>,
}

/// Bit of each traced call in the program's `calls_traced`.
fn call_bit(call: Call) -> u32 {
    match call {
        Call::Unshare => 1,
        Call::Setns => 2,
        Call::Clone | Call::Clone3 => 4,
    }
}

/// Mark bits of the kernel record (enum unsharesnoop_mark).
const MARK_COMPAT: u32 = 1;
const MARK_DENIED: u32 = 2;
const MARK_ENTERING: u32 = 4;

/// Decodes one kernel record as the ring buffer hands it (`struct
/// unsharesnoop_event`, also made by the syscall engine for the exporter);
/// `None` for a short record or an unknown call.
pub fn decode_record(bytes: &[u8]) -> Option<Event> {
    decode(&kernel::bpf::from_bytes::<unsharesnoop_event>(bytes)?)
}

fn decode(raw: &unsharesnoop_event) -> Option<Event> {
    Some(Event {
        ts_ns: raw.ts_ns,
        pid: raw.pid,
        tid: raw.tid,
        comm: kernel::escape::c_bytes(&raw.comm),
        call: Call::from_raw(raw.call)?,
        flags: raw.flags,
        ret: raw.ret,
        cgroup_id: raw.cgroup_id,
        fd: raw.fd,
        target_ino: raw.target_ino,
        ns_before: raw.ns_before,
        ns_after: raw.ns_after,
        compat: raw.marks & MARK_COMPAT != 0,
        denied: raw.marks & MARK_DENIED != 0,
        entering: raw.marks & MARK_ENTERING != 0,
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
            let Some(ev) = kernel::bpf::from_bytes::<unsharesnoop_event>(bytes) else {
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

/// How the program runs, decided before load from the config and the
/// kernel: what it is told in .rodata (the verifier prunes the rest) and
/// which of its maps and hooks exist.
#[derive(Clone, Copy, Debug)]
struct Mode {
    /// Bits of the traced calls ([`call_bit`]).
    calls_traced: u32,
    include_failed: bool,
    /// Setns calls from outside the target into its namespaces are marked.
    watch_entering: bool,
    exit_only: bool,
    /// Ring buffer bytes, and the backlog that forces a wakeup.
    buffer_bytes: u32,
    features: kernel::features::Features,
}

impl Mode {
    fn new(cfg: &Config) -> Self {
        Self {
            calls_traced: cfg.calls.iter().map(|&c| call_bit(c)).fold(0, |a, b| a | b),
            include_failed: cfg.include_failed,
            watch_entering: !cfg.target.is_host() && cfg.calls.contains(&Call::Setns),
            exit_only: cfg.exit_only,
            buffer_bytes: cfg.buffer_bytes,
            features: kernel::features::effective_features(),
        }
    }

    /// Calls that exit without an entry seen count as denied only once
    /// the threads already inside a call are known (the entry hook
    /// attached first).
    fn arms_denied(&self) -> bool {
        self.include_failed && !self.exit_only
    }

    /// Writes the mode and `target` into the opened program, and sizes its
    /// maps.
    fn configure(&self, open: &mut skel::OpenUnsharesnoopSkel, target: &Target) -> Result<()> {
        let rodata = kernel::bpf::mapped(open.maps.rodata_data.as_deref_mut(), ".rodata")?;
        rodata.include_failed = self.include_failed;
        rodata.wakeup_bytes = u64::from(self.buffer_bytes / 4);
        rodata.calls_traced = self.calls_traced;
        rodata.watch_entering = self.watch_entering;
        rodata.exit_only = self.exit_only;
        rodata.task_btf = self.features.task_btf;
        rodata.task_storage = self.features.task_storage;
        rodata.compat_syscalls = self.features.compat_syscalls;
        kernel::set_target_filter!(rodata, target.filter());
        open.maps
            .events
            .set_max_entries(self.buffer_bytes)
            .context("sizing the ring buffer")?;
        // Per-thread calls in flight: task storage, or a thread-id hash
        // on kernels without it.
        let task_storage = self.features.task_storage;
        open.maps
            .pending
            .set_autocreate(task_storage)
            .context("configuring the per-thread state")?;
        open.maps
            .pending_by_tid
            .set_autocreate(!task_storage)
            .context("configuring the per-thread state")?;
        Ok(())
    }
}

/// Attaches the hooks, exit before entry: an entry seen without its exit
/// would leave a stale stash; an exit seen without its entry is never
/// reported before [`arm_denied`] has armed the program.
fn attach(skel: &UnsharesnoopSkel, exit_only: bool) -> Result<Vec<Link>> {
    let p = &skel.progs;
    let mut hooks = vec![
        (&p.us_thread_exit, "sched_process_exit"),
        (&p.us_exit, "sys_exit"),
    ];
    if !exit_only {
        hooks.push((&p.us_enter, "sys_enter"));
    }
    hooks
        .into_iter()
        .map(|(prog, hook)| {
            prog.attach()
                .with_context(|| format!("attaching to tp_btf/{hook}"))
        })
        .collect()
}

/// Every entry is seen from now on: marks the threads that may still be
/// inside a call that began before, then lets exits without an entry
/// count as denied.
fn arm_denied(skel: &mut UnsharesnoopSkel) -> Result<()> {
    for tid in crate::inflight::uncertain_threads() {
        // Full map: that thread is simply not marked (rare, and only
        // its first such exit).
        let _ = skel.maps.uncertain.update(
            kernel::bpf::as_bytes(&tid),
            &[1u8],
            libbpf_rs::MapFlags::ANY,
        );
    }
    let bss = kernel::bpf::mapped(skel.maps.bss_data.as_deref_mut(), ".bss")?;
    // SAFETY: `armed` lives in the mmap'd .bss the programs read; a
    // volatile store makes it visible to them.
    unsafe { std::ptr::write_volatile(&mut bss.armed, 1) };
    Ok(())
}

/// The reader thread over the program's ring buffer: its stop flag, its
/// handle, and the batches it hands on.
type Reader = (Arc<AtomicBool>, JoinHandle<Result<()>>, Receiver<Batch>);

fn start_reader(skel: &UnsharesnoopSkel) -> Result<Reader> {
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
    Ok((stop, reader, batches))
}

impl<'obj> Collector<'obj> {
    /// Opens, configures, loads and attaches the BPF program, and starts
    /// reading its ring buffer.
    pub fn start(open_object: &'obj mut MaybeUninit<OpenObject>, cfg: &Config) -> Result<Self> {
        let mode = Mode::new(cfg);
        let builder = UnsharesnoopSkelBuilder::default();
        let mut skel = kernel::bpf::open_and_load(builder, open_object, |open| {
            mode.configure(open, cfg.target)
        })?;
        let links = attach(&skel, mode.exit_only)?;
        if mode.arms_denied() {
            arm_denied(&mut skel)?;
        }
        let entering = if mode.watch_entering {
            let mut ns = TargetNamespaces::new(cfg.target);
            ns.refresh(&skel.maps.watched_ns, true)?;
            Some(ns)
        } else {
            None
        };
        let (stop, reader, batches) = start_reader(&skel)?;
        Ok(Self {
            links,
            stop,
            reader: Some(reader),
            batches,
            entering,
            skel,
        })
    }

    /// Keeps the target's namespaces current: re-read now and then, and
    /// those the target's own events show added at once.
    fn watch_namespaces(&mut self, events: &[Event]) -> Result<()> {
        let Some(ns) = self.entering.as_mut() else {
            return Ok(());
        };
        let map = &self.skel.maps.watched_ns;
        for ev in events.iter().filter(|e| !e.entering && e.ret >= 0) {
            ns.add(map, &ev.ns_after)?;
        }
        ns.refresh(map, false)
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
            Err(RecvTimeoutError::Timeout) => Vec::new(),
            Err(RecvTimeoutError::Disconnected) => {
                self.join_reader()?;
                return Err(anyhow!("the ring-buffer reader stopped"));
            }
        };
        let events: Vec<Event> = raw.iter().filter_map(decode).collect();
        self.watch_namespaces(&events)?;
        Ok(events)
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
        kernel::bpf::wait_for_running_programs(&maps.sync_outer, &maps.sync_inner)?;
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
