//! The count-only / -L counters: a BPF array of `[cpu][epoch][nr]` slots,
//! memory-mapped here so a drain reads and clears them without a syscall
//! (1024 lookups per report would otherwise show up as `bpf` in the counts).

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

impl<T: common::bpf::Pod> MappedArray<T> {
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

    /// Reads entry `idx`. Call only for entries no BPF program writes any
    /// more (the old epoch, after the wait), as for [`Self::clear`].
    pub fn get(&self, idx: usize) -> T {
        assert!(idx < self.entries, "slot {idx} out of range");
        // SAFETY: idx is in bounds of the mapping; T is Pod and its size is a
        // multiple of 8, the kernel's element stride; volatile because the
        // memory is shared with the kernel.
        unsafe { std::ptr::read_volatile(self.base.as_ptr().add(idx)) }
    }

    /// Zeroes entry `idx`.
    pub fn clear(&mut self, idx: usize) {
        assert!(idx < self.entries, "slot {idx} out of range");
        // SAFETY: as in `get`.
        unsafe { std::ptr::write_volatile(self.base.as_ptr().add(idx), T::default()) }
    }
}

impl<T> Drop for MappedArray<T> {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region mmap returned.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}
