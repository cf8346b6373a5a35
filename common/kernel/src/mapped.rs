//! Counters in a `BPF_F_MMAPABLE` array laid out `[cpu][epoch][nr]`
//! (bpf/include/aggregate.h), memory-mapped so a drain reads and clears them
//! without a syscall per slot (a thousand lookups per report would otherwise
//! show up as `bpf` in the counts of a host-wide run). constat and syscount
//! use it.

use std::os::fd::AsRawFd;
use std::ptr::NonNull;

use anyhow::{bail, Context, Result};
use libbpf_rs::MapCore;

/// A shared mapping of a `BPF_F_MMAPABLE` array whose values are `T`.
pub struct MappedArray<T> {
    base: NonNull<T>,
    entries: usize,
    len: usize,
}

impl<T: crate::bpf::Pod> MappedArray<T> {
    /// Maps all of `map` (an mmapable ARRAY with `T` values) read-write.
    pub fn new(map: &impl MapCore) -> Result<Self> {
        let value_size = map.value_size() as usize;
        if value_size != std::mem::size_of::<T>() || value_size & 7 != 0 {
            bail!(
                "BPF map {}: value size {value_size} does not match the slot layout",
                map.name().to_string_lossy()
            );
        }
        let entries = map.max_entries() as usize;
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
        let len = (entries * value_size).div_ceil(page) * page;
        // SAFETY: a fresh shared mapping of the map's fd, of the size the
        // kernel allocated for it (array data rounded up to pages).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.as_fd().as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("mapping BPF map {}", map.name().to_string_lossy()));
        }
        let base = NonNull::new(ptr.cast::<T>()).context("mmap returned NULL")?;
        Ok(Self { base, entries, len })
    }

    /// Reads entry `idx`; `None` past the end. Call only for entries no
    /// BPF program writes any more (the old epoch, after the wait), as for
    /// [`Self::clear`].
    pub fn get(&self, idx: usize) -> Option<T> {
        if idx >= self.entries {
            return None;
        }
        // SAFETY: idx is in bounds of the mapping; T is Pod and its size is a
        // multiple of 8, the kernel's element stride; volatile because the
        // memory is shared with the kernel.
        Some(unsafe { std::ptr::read_volatile(self.base.as_ptr().add(idx)) })
    }

    /// Zeroes entry `idx`; `None` past the end.
    pub fn clear(&mut self, idx: usize) -> Option<()> {
        if idx >= self.entries {
            return None;
        }
        // SAFETY: as in `get`.
        unsafe { std::ptr::write_volatile(self.base.as_ptr().add(idx), T::default()) };
        Some(())
    }
}

impl<T> Drop for MappedArray<T> {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region mmap returned.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// The `[cpu][epoch][nr]` counter array of aggregate.h. The BPF object
/// declares it for one CPU (`2 * nr_slots` entries): the slot count is
/// derived from that, and [`EpochSlots::size_for_all_cpus`] resizes it.
pub struct EpochSlots<T> {
    slots: MappedArray<T>,
    cpus: usize,
    nr_slots: usize,
}

/// Counters per epoch half, from the declared (one-CPU) size of the array.
pub fn slots_per_half(declared_entries: u32) -> u32 {
    declared_entries / 2
}

impl<T: crate::bpf::Pod> EpochSlots<T> {
    /// Resizes the open (not yet loaded) array for every possible CPU and
    /// returns the counters per half it was declared with.
    pub fn size_for_all_cpus(map: &mut libbpf_rs::OpenMapMut) -> Result<u32> {
        let nr_slots = slots_per_half(map.max_entries());
        let cpus = libbpf_rs::num_possible_cpus().context("counting possible CPUs")? as u32;
        map.set_max_entries(cpus * 2 * nr_slots)
            .context("sizing the counter array for every CPU")?;
        Ok(nr_slots)
    }

    /// Maps a loaded array of `nr_slots` counters per half.
    pub fn new(map: &impl MapCore, nr_slots: u32) -> Result<Self> {
        let slots = MappedArray::new(map)?;
        let cpus = libbpf_rs::num_possible_cpus().context("counting possible CPUs")?;
        Ok(Self {
            slots,
            cpus,
            nr_slots: nr_slots as usize,
        })
    }

    /// Counters per half: syscall numbers at or above it are not counted.
    pub fn nr_slots(&self) -> u32 {
        self.nr_slots as u32
    }

    /// Reads and clears half `half` of every CPU (call only after the flip
    /// and the wait). Per counter number, the CPUs' values are combined with
    /// `merge`; counters `used` says are empty are skipped and left alone.
    pub fn drain(
        &mut self,
        half: u32,
        used: impl Fn(&T) -> bool,
        merge: impl Fn(&mut T, &T),
    ) -> Result<Vec<(u32, T)>> {
        let mut sums: Vec<Option<T>> = vec![None; self.nr_slots];
        for cpu in 0..self.cpus {
            let base = (cpu * 2 + (half & 1) as usize) * self.nr_slots;
            for (nr, sum) in sums.iter_mut().enumerate() {
                let idx = base + nr;
                let outside = || format!("counter slot {idx} is outside the mapped array");
                let slot = self.slots.get(idx).with_context(outside)?;
                if !used(&slot) {
                    continue;
                }
                match sum {
                    Some(total) => merge(total, &slot),
                    None => *sum = Some(slot),
                }
                self.slots.clear(idx).with_context(outside)?;
            }
        }
        Ok(sums
            .into_iter()
            .enumerate()
            .filter_map(|(nr, s)| Some((nr as u32, s?)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::as_bytes;
    use libbpf_rs::libbpf_sys::bpf_map_create_opts;
    use libbpf_rs::{MapFlags, MapHandle, MapType};

    /// uapi BPF_F_MMAPABLE.
    const F_MMAPABLE: u32 = 1 << 10;

    #[test]
    fn reads_and_clears_through_the_mapping_and_refuses_out_of_range() {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipping: creating a BPF map needs root");
            return;
        }
        let opts = bpf_map_create_opts {
            sz: std::mem::size_of::<bpf_map_create_opts>() as _,
            map_flags: F_MMAPABLE,
            ..Default::default()
        };
        let map = MapHandle::create(MapType::Array, Some("slots_test"), 4, 8, 5, &opts)
            .expect("creating an mmapable array");
        map.update(as_bytes(&4u32), as_bytes(&77u64), MapFlags::ANY)
            .unwrap();

        let mut slots = MappedArray::<u64>::new(&map).unwrap();
        assert_eq!(slots.get(4), Some(77));
        assert_eq!(slots.get(0), Some(0));
        assert_eq!(slots.get(5), None);
        assert_eq!(slots.clear(5), None);
        assert_eq!(slots.clear(4), Some(()));
        let seen = map.lookup(as_bytes(&4u32), MapFlags::ANY).unwrap().unwrap();
        assert_eq!(seen, vec![0u8; 8], "the kernel sees the cleared slot");
    }
}
