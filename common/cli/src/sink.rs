//! Where reports go: the human table on stdout (with what the kernel side
//! missed said on stderr), or NDJSON; a full-screen view or an exporter
//! implements [`Sink`] too. A stream of events goes in batches (`[T]`):
//! one buffered write and one flush per batch, so a burst costs few
//! write(2) calls.

use std::io::{self, BufWriter, Write};

use anyhow::Result;
use serde::Serialize;

use crate::output::{self, Format};
use kernel::collector::Health;
use kernel::mapsize::MapSize;

/// A report that can show itself to people.
pub trait Render {
    /// The text printed on stdout (a trailing newline is added if missing).
    fn render(&self) -> String;

    /// What the report's sample missed, warned about beside the text.
    fn health(&self) -> Health {
        Health::default()
    }
}

/// Takes reports (or events, or periods) one at a time.
pub trait Sink<T: ?Sized> {
    fn emit(&mut self, item: &T) -> Result<()>;
}

/// Table or NDJSON on stdout, per `--output`.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    pub format: Format,
    /// What the collector's keyed kernel hashes got, for the advice when
    /// updates are dropped (`None`: it has none, or a replay, which does not
    /// know). Set from the collector once it is loaded.
    pub maps: Option<MapSize>,
}

impl Printer {
    pub fn new(format: Format) -> Self {
        Self { format, maps: None }
    }
}

impl<T: Serialize + Render> Sink<T> for Printer {
    fn emit(&mut self, item: &T) -> Result<()> {
        match self.format {
            Format::Table => {
                warn(&item.health(), self.maps);
                output::print(&item.render())
            }
            // JSON carries the health fields itself; the advice goes to stderr.
            Format::Json => {
                warn(&item.health(), self.maps);
                output::json_line(item)
            }
        }
    }
}

/// A batch of events, each a line: the table line or its NDJSON object.
impl<T: Serialize + Render> Sink<[T]> for Printer {
    fn emit(&mut self, items: &[T]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        output::end_progress();
        let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
        for item in items {
            warn(&item.health(), self.maps);
            match self.format {
                Format::Table => {
                    let text = item.render();
                    out.write_all(text.as_bytes())?;
                    if !text.ends_with('\n') {
                        out.write_all(b"\n")?;
                    }
                }
                Format::Json => {
                    serde_json::to_writer(&mut out, item)?;
                    out.write_all(b"\n")?;
                }
            }
        }
        out.flush()?;
        Ok(())
    }
}

/// Says on stderr what a sample missed (nothing when it is complete), with
/// the advice that fits the map sizes `maps` the collector got.
pub fn warn(health: &Health, maps: Option<MapSize>) {
    if health.dropped > 0 {
        output::status(&format!(
            "warning: {} updates dropped by the kernel side: {}",
            health.dropped,
            kernel::mapsize::drop_advice(maps)
        ));
    }
}
