//! The block I/O collector: each bio charged to the container that caused
//! it, per period for one target ([`collect::Collector`], conbiograph's
//! chart) or per cgroup for all of them at once ([`CgroupCollector`], the
//! exporter's counters). BPF knows cgroup ids only; naming them is
//! identity's work, showing them the tools'.
//!
//! # Who a bio is charged to
//!
//! One rule, in the kernel at `block_bio_queue`, for both collectors:
//!
//! - **Writeback of page-cache pages** (a write of a file's cached pages,
//!   whoever submits it: the flusher threads, `sync` run anywhere, another
//!   cgroup's `fsync`, the dirtier's own `fsync`) belongs to the cgroup that
//!   dirtied the pages. Where the io controller is on cgroup v2 the bio's
//!   blkcg says which (cgroup writeback: the inode's owning cgroup, what the
//!   kernel bills in `io.stat`), refined to the exact dirtier's cgroup when
//!   that one shares the blkcg's io domain (a child without its own io
//!   state). Elsewhere (hybrid hosts: the blkcg is a v1 id) the inode's
//!   last dirtier since the start, recorded at `writeback_dirty_folio` in
//!   the dirtying task's context.
//! - **Everything else** (direct I/O, reads, the block-device page cache
//!   that holds filesystem metadata) belongs to the submitting task's
//!   cgroup; when a kernel thread submits it, to the bio's blkcg where that
//!   is a cgroup v2 (dm-crypt, swap), else to nobody.
//!
//! I/O of nobody (the journal, metadata written back by the flusher,
//! writeback of pages dirtied before the start on hosts without a v2
//! blkcg) is counted as [`Owner::Unattributed`].
//!
//! # Kernels
//!
//! 5.10 and later, probed at start from the kernel's BTF ([`Features`]),
//! never from its version: `bpf_get_current_task_btf` or
//! `bpf_get_current_task` with probe reads, `block_bio_queue(bio)` or
//! `(queue, bio)`, `bio->bi_bdev` or `bi_disk` + `bi_partno`,
//! `writeback_dirty_folio` or `writeback_dirty_page`. Counts are the same on
//! every kernel.
//!
//! # Library use: every cgroup at once (an exporter)
//!
//! [`CgroupCollector`] is a [`kernel::collector::Aggregator`]: each
//! [`drain`](kernel::collector::Aggregator::drain) returns the bytes and
//! bios per direction of every cgroup with I/O since the previous drain
//! (deltas: nothing is lost or counted twice between drains, however far
//! apart they are). [`Totals`] turns them into monotonic counters.
//!
//! ```no_run
//! use kernel::collector::Aggregator;
//! use blockio::{CgroupCollector, CgroupConfig, Owner, Totals};
//!
//! # fn main() -> anyhow::Result<()> {
//! let mut object = std::mem::MaybeUninit::uninit();
//! let mut collector = CgroupCollector::start(&mut object, &CgroupConfig::default())?;
//! let mut totals = Totals::default();
//! loop {
//!     std::thread::sleep(std::time::Duration::from_secs(15));
//!     let sample = collector.drain()?;
//!     totals.add(&sample.data);
//!     for (owner, io) in totals.iter() {
//!         if let Owner::Cgroup(id) = owner {
//!             // contrace_block_io_bytes_total{cgroup=<path of id>, direction="write"}
//!             let _ = (id, io.bytes[blockio::Dir::Write as usize], io.writeback_bytes);
//!         }
//!     }
//! #   break;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Sizing: [`CgroupConfig::max_cgroups`] cgroups with I/O between two drains
//! (default [`cgroups::MAX_CGROUPS`]; entries are allocated on first use,
//! each costs one value per possible CPU, and every drain frees them). When
//! the table is full, further cgroups' I/O lands in [`Owner::Overflow`]:
//! the bytes still count, only their owner is lost, and the sample's
//! `health.dropped` counts the bios. The dirtier table remembers
//! [`CgroupConfig::dirty_inodes`] inodes (an LRU).
//!
//! # Pieces
//!
//! [`object`] probes the kernel and loads the programs that fit it;
//! [`collect::Collector`] is the per-period kernel side of one target (an
//! [`kernel::collector::Aggregator`] of [`Period`]s); [`cgroups`] is the
//! per-cgroup one.

pub mod cgroups;
pub mod collect;
pub mod object;
pub mod period;

pub use cgroups::{CgroupCollector, CgroupConfig, CgroupIo, IoCounts, Owner, Totals};
pub use collect::{Collector, Config, DeviceTotals};
pub use object::{Blkcg, DirtyHook, Features};
pub use period::{Dir, Metric, Period};
