//! Namespace-change records made by the engine's exit program
//! ([`Mode::namespaces`](crate::Mode)): unsharesnoop's event records
//! (`struct unsharesnoop_event`), taken from the ring buffer when the
//! engine is drained. common/nsevents decodes them (one decoder, the
//! one unsharesnoop uses).

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use libbpf_rs::{MapHandle, RingBuffer, RingBufferBuilder};

/// Ring buffer size with namespace events: changes are rare; 256 KiB holds
/// about 1 600 records between two drains.
pub(crate) const RING_BYTES: u32 = 256 * 1024;
/// Without them: the smallest ring the kernel takes (one page).
pub(crate) const NO_RING_BYTES: u32 = 4096;

pub(crate) struct NamespaceRing {
    ring: RingBuffer<'static>,
    records: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Keeps the map open as long as the ring reads it.
    _map: MapHandle,
}

impl NamespaceRing {
    pub(crate) fn new(events: &libbpf_rs::Map<'_>) -> Result<Self> {
        let map = MapHandle::try_from(events).context("opening the namespace event ring")?;
        let records = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&records);
        let mut builder = RingBufferBuilder::new();
        builder
            .add(&map, move |data: &[u8]| {
                lock(&sink).push(data.to_vec());
                0
            })
            .context("reading the namespace event ring")?;
        let ring = builder
            .build()
            .context("reading the namespace event ring")?;
        Ok(Self {
            ring,
            records,
            _map: map,
        })
    }

    /// Every record submitted so far, oldest first.
    pub(crate) fn take(&mut self) -> Result<Vec<Vec<u8>>> {
        self.ring
            .consume()
            .context("reading the namespace event ring")?;
        Ok(std::mem::take(&mut *lock(&self.records)))
    }
}

fn lock(records: &Mutex<Vec<Vec<u8>>>) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
    records.lock().unwrap_or_else(|p| p.into_inner())
}
