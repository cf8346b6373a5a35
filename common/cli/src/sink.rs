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
}

impl<T: Serialize + Render> Sink<T> for Printer {
    fn emit(&mut self, item: &T) -> Result<()> {
        match self.format {
            Format::Table => {
                warn(&item.health());
                output::print(&item.render())
            }
            // JSON carries the health fields itself; the advice goes to stderr.
            Format::Json => {
                warn(&item.health());
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
            warn(&item.health());
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

/// Says on stderr what a sample missed (nothing when it is complete).
pub fn warn(health: &Health) {
    if health.dropped > 0 {
        output::status(&format!(
            "warning: {} updates dropped by the kernel side: {}",
            health.dropped,
            kernel::mapsize::drop_advice(health.maps)
        ));
    }
}
