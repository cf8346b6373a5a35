//! Where reports go: the human table on stdout (with what the kernel side
//! missed said on stderr), or NDJSON; a full-screen view or an exporter
//! implements [`Sink`] too.

use anyhow::Result;
use serde::Serialize;

use crate::collector::Health;
use crate::output::{self, Format};

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

/// Says on stderr what a sample missed (nothing when it is complete).
pub fn warn(health: &Health) {
    if health.dropped > 0 {
        output::status(&format!(
            "warning: {} updates dropped by the kernel side: {}",
            health.dropped,
            crate::mapsize::drop_advice(health.maps)
        ));
    }
}
