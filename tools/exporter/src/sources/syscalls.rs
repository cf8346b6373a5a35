//! Syscall counts from the syscall engine, per (cgroup, syscall), with the
//! failures per errno, and the namespace changes, all from one exit program.
//!
//! Default: the exit hook alone (the cheapest exact way: the number comes
//! from the saved registers, the errno from the return value, and a call a
//! seccomp filter denied still exits). Every cgroup's native calls go to a
//! per-CPU slot array of its own (`Mode::cgroup_slots`), failures to the
//! errno tally; the same program makes unsharesnoop's namespace-change
//! records, so a syscall pays one program run. With latency, the timed
//! mode adds the entry hook and time per call; the entry hook also tells
//! the calls seccomp denied (an exit without an entry), asked for alone
//! with `--denied`.

use std::mem::MaybeUninit;

use ::identity::target::Target;
use anyhow::Result;
use engine::{Collector, Counts, Filters, Mode};
use kernel::collector::Aggregator;
use kernel::mapsize::Sizing;
use libbpf_rs::OpenObject;

use super::{namespaces, Deltas, Source, SyscallDelta};

pub struct Syscalls<'obj> {
    collector: Collector<'obj>,
}

/// What the exporter asks of the engine.
#[derive(Clone, Copy, Debug)]
pub struct Wanted {
    pub latency: bool,
    pub denied: bool,
    /// Namespace changes, made by the same exit program.
    pub namespaces: bool,
}

impl<'obj> Syscalls<'obj> {
    /// Loads and attaches the syscall engine for every cgroup of the host,
    /// its hashes sized by `sizing` (`--max-entries`, or from the host).
    pub fn start(
        object: &'obj mut MaybeUninit<OpenObject>,
        wanted: Wanted,
        sizing: Sizing,
    ) -> Result<Self> {
        let target = Target::host();
        let filters = Filters::all(&target);
        let mode = Mode {
            by_cgroup: true,
            errno_tally: true,
            cgroup_slots: true,
            namespaces: wanted.namespaces,
            timed: wanted.latency,
            latency: wanted.latency,
            denied: wanted.denied,
            ..Mode::default()
        };
        Ok(Self {
            collector: Collector::start(object, &filters, mode, sizing)?,
        })
    }

    /// The namespace changes recorded since the previous call.
    fn add_namespaces(&mut self, out: &mut Deltas) -> Result<()> {
        let records = self.collector.namespace_records()?;
        let events: Vec<_> = records
            .iter()
            .filter_map(|r| nsevents::collect::decode_record(r))
            .collect();
        namespaces::add(&events, out);
        Ok(())
    }
}

/// Adds one drain's rows to `out`: a row is (cgroup, syscall, errno), errno
/// 0 for calls that succeeded. Restart codes are tallied under their names
/// but are no errors (the process never sees them).
fn add(counts: &Counts, out: &mut Deltas) {
    for row in &counts.rows {
        let (Some(cgroup), Some(call)) = (row.cgroup_id, row.call()) else {
            continue;
        };
        let delta = out.cgroup(cgroup);
        delta.syscalls.entry(call).or_default().add(&SyscallDelta {
            calls: row.count,
            errors: row.errors,
            denied: row.denied,
            ns: row.total_ns,
        });
        // By errno (a row per errno) or tallied (per row).
        if row.err != 0 {
            *delta.errnos.entry(row.err).or_default() += row.count;
        }
        for (&errno, &n) in &row.errnos {
            *delta.errnos.entry(errno).or_default() += n;
        }
    }
}

impl Source for Syscalls<'_> {
    fn name(&self) -> &'static str {
        "syscalls"
    }

    fn drain(&mut self, out: &mut Deltas) -> Result<()> {
        let sample = self.collector.drain()?;
        add(&sample.data, out);
        out.health.add(&sample.health);
        self.add_namespaces(out)
    }

    fn finish(&mut self, out: &mut Deltas) -> Result<()> {
        let sample = self.collector.finish()?;
        add(&sample.data, out);
        out.health.add(&sample.health);
        self.add_namespaces(out)
    }

    fn forget(&mut self, cgroups: &[u64]) -> Result<()> {
        self.collector.forget_cgroups(cgroups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{Key, Row};
    use kernel::syscalls::Call;

    #[test]
    fn rows_split_into_calls_errors_and_errnos() {
        // As the engine splits them: a row with an errno failed, unless
        // the errno is a restart code.
        let row = |cg, slot, err: i32, count| Row {
            cgroup_id: Some(cg),
            key: Key::Syscall(Call::from_slot(slot, 512)),
            err,
            count,
            errors: if err != 0 && !kernel::errno::is_restart(err) {
                count
            } else {
                0
            },
            ..Row::default()
        };
        // Slots from 512 on are 32-bit calls: 512 + 64 is i386 getppid.
        let mut denied = row(7, 257, 1, 3);
        denied.denied = 3;
        let counts = Counts {
            rows: vec![
                row(7, 257, 0, 5),
                row(7, 257, 2, 17),
                denied,
                row(7, 110, 0, 1234),
                row(7, 512 + 64, 0, 9),
                row(7, 0, 512, 4),
            ],
            ..Counts::default()
        };
        let mut out = Deltas::default();
        add(&counts, &mut out);
        let cg = &out.cgroups[&7];
        let openat = &cg.syscalls[&Call::native(257)];
        assert_eq!((openat.calls, openat.errors, openat.denied), (25, 20, 3));
        assert_eq!(cg.syscalls[&Call::native(110)].calls, 1234);
        assert_eq!(cg.syscalls[&Call::native(110)].errors, 0);
        let compat = Call {
            nr: 64,
            compat: true,
        };
        assert_eq!(cg.syscalls[&compat].calls, 9);
        assert_eq!(cg.errnos[&2], 17);
        assert_eq!(cg.errnos[&1], 3);
        assert_eq!(cg.errnos[&512], 4, "ERESTARTSYS is named");
        assert_eq!(cg.syscalls[&Call::native(0)].errors, 0, "but no error");
    }

    #[test]
    fn tallied_errnos_count_per_errno() {
        // As the engine gives rows with the errno tally (cgroup slots).
        let mut row = Row {
            cgroup_id: Some(3),
            key: Key::Syscall(Call::native(257)),
            count: 10,
            errors: 4,
            ..Row::default()
        };
        row.errnos.insert(2, 4);
        row.errnos.insert(512, 1);
        let counts = Counts {
            rows: vec![row],
            ..Counts::default()
        };
        let mut out = Deltas::default();
        add(&counts, &mut out);
        let cg = &out.cgroups[&3];
        let openat = &cg.syscalls[&Call::native(257)];
        assert_eq!((openat.calls, openat.errors), (10, 4));
        assert_eq!(cg.errnos[&2], 4);
        assert_eq!(cg.errnos[&512], 1);
    }
}
