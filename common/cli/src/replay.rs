//! Saved runs: `--record FILE` writes the NDJSON a tool prints with
//! `-o json` to FILE while the human output goes to the terminal, and
//! `--replay FILE` reads it back (sysdig's `-w`/`-r` idea at the cost of an
//! aggregate: one line per report, period or event).
//!
//! Replay reads line by line and stops at the first line it cannot use (not
//! JSON, another tool's record, a record it does not know): everything
//! before that line has been shown; the error is one line naming the file
//! and the line, exit status 2. Blank lines are skipped. `-` reads stdin.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::sink::{Render, Sink};
use kernel::exit::usage;

/// Where `--record` writes: one JSON object per line, flushed per line so
/// a run that is killed keeps everything up to its last report.
pub struct Recorder {
    out: BufWriter<File>,
    shown: String,
}

impl Recorder {
    /// Creates (or truncates) `path`; a path that cannot be written is bad
    /// input (exit status 2), said before anything is attached.
    pub fn create(path: &Path) -> Result<Self> {
        let shown = kernel::escape::path(path);
        let file = File::create(path)
            .map_err(|e| usage(format!("--record {shown}: cannot create the file: {e}")))?;
        Ok(Self {
            out: BufWriter::new(file),
            shown,
        })
    }

    /// [`Recorder::create`] for an optional `--record`.
    pub fn open(path: Option<&Path>) -> Result<Option<Self>> {
        path.map(Self::create).transpose()
    }

    /// Appends one record and flushes.
    pub fn record<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.append(value)?;
        self.flush()
    }

    /// Appends one record without flushing: the caller flushes after a
    /// batch.
    pub fn append<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let context = || format!("writing the record to {}", self.shown);
        serde_json::to_writer(&mut self.out, value).with_context(context)?;
        self.out.write_all(b"\n").with_context(context)
    }

    pub fn flush(&mut self) -> Result<()> {
        self.out
            .flush()
            .with_context(|| format!("writing the record to {}", self.shown))
    }
}

/// A sink that records every item, then hands it to `inner` (the printer).
pub struct Recording<S> {
    pub inner: S,
    pub recorder: Option<Recorder>,
}

impl<T: Serialize + Render, S: Sink<T>> Sink<T> for Recording<S> {
    fn emit(&mut self, item: &T) -> Result<()> {
        // The file first: a reader that closed stdout ends the run, and
        // the record must hold what was collected.
        if let Some(r) = &mut self.recorder {
            r.record(item)?;
        }
        self.inner.emit(item)
    }
}

/// A batch of events: each recorded as a line, the file flushed once per
/// batch, then the batch handed on.
impl<T: Serialize + Render, S: Sink<[T]>> Sink<[T]> for Recording<S> {
    fn emit(&mut self, items: &[T]) -> Result<()> {
        if let Some(r) = &mut self.recorder {
            for item in items {
                r.append(item)?;
            }
            r.flush()?;
        }
        self.inner.emit(items)
    }
}

/// The lines of a saved run.
pub struct Replay {
    reader: Box<dyn BufRead>,
    /// The file as error messages name it.
    shown: String,
    /// Line number of the last line read (1-based).
    line: usize,
    /// Records returned so far.
    pub records: usize,
    tool: &'static str,
}

/// One record: its line number and its JSON value.
pub struct Record {
    pub line: usize,
    pub value: Value,
}

impl Replay {
    /// Opens `path` (`-`: stdin) for `tool`'s `--replay`.
    pub fn open(tool: &'static str, path: &OsStr) -> Result<Self> {
        let (reader, shown): (Box<dyn BufRead>, String) = if path == "-" {
            (Box::new(BufReader::new(io::stdin())), "stdin".to_string())
        } else {
            let shown = kernel::escape::path(Path::new(path));
            let file = File::open(path)
                .map_err(|e| usage(format!("--replay {shown}: cannot open: {e}")))?;
            if file.metadata().is_ok_and(|m| m.is_dir()) {
                return Err(usage(format!(
                    "--replay {shown}: a directory; give the file written by --record or -o json"
                )));
            }
            (Box::new(BufReader::new(file)), shown)
        };
        Ok(Self {
            reader,
            shown,
            line: 0,
            records: 0,
            tool,
        })
    }

    /// The next non-blank line as JSON; `None` at the end of the file. A
    /// line that is not JSON is an error naming it.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut buf)
                .with_context(|| format!("reading {}", self.shown))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if buf.ends_with(b"\n") {
                buf.pop();
            }
            return match serde_json::from_slice::<Value>(&buf) {
                Ok(value) if value.is_object() => {
                    self.records += 1;
                    Ok(Some(Record {
                        line: self.line,
                        value,
                    }))
                }
                Ok(_) => Err(self.bad_at(self.line, self.records, "not a JSON object".into())),
                Err(e) => {
                    // One line per record: its column is what locates the damage.
                    let why = e.to_string().replace(" at line 1 column ", " at column ");
                    Err(self.bad_at(
                        self.line,
                        self.records,
                        format!("damaged line, not JSON ({why}), cut short or edited"),
                    ))
                }
            };
        }
    }

    /// Turns a record into `T`, or says (one line) whose record it is when
    /// another tool wrote it.
    pub fn parse<T: DeserializeOwned>(&self, record: Record) -> Result<T> {
        let line = record.line;
        if let Some(other) = recorded_by(&record.value).filter(|&t| t != self.tool) {
            return Err(self.bad(
                line,
                format!(
                    "{} {other} record, not {}'s; replay it with {other} --replay",
                    if other.starts_with('u') { "an" } else { "a" },
                    self.tool
                ),
            ));
        }
        serde_json::from_value(record.value)
            .map_err(|e| self.bad(line, format!("not a {} record ({e})", self.tool)))
    }

    /// The one-line error about the record on line `line` (the last one
    /// returned): the records before it were shown.
    pub fn bad(&self, line: usize, what: String) -> anyhow::Error {
        self.bad_at(line, self.records.saturating_sub(1), what)
    }

    fn bad_at(&self, line: usize, before: usize, what: String) -> anyhow::Error {
        let before = match before {
            0 => "nothing before it".to_string(),
            1 => "the 1 record before it was shown".to_string(),
            n => format!("the {n} records before it were shown"),
        };
        usage(format!(
            "{}:{line}: {what}; replay stopped there ({before})",
            self.shown
        ))
    }

    /// The error for a file that ended early (`what` says what was missing).
    pub fn ended_early(&self, what: &str) -> anyhow::Error {
        usage(format!(
            "{}: ends after line {} without {what} (the run was cut short?)",
            self.shown, self.line
        ))
    }

    /// Line number of the last line read.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The file as messages name it.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// Which tool wrote a record, from its shape (for the "another tool's
/// file" message): `None` when it is no contrace tool's.
pub fn recorded_by(value: &Value) -> Option<&'static str> {
    let has = |field: &str| value.get(field).is_some();
    match value.get("type").and_then(Value::as_str) {
        Some("period") => return Some("conbiograph"),
        Some("event") => return Some("unsharesnoop"),
        Some("summary") if has("period_ms") => return Some("conbiograph"),
        Some("summary") if has("events") => return Some("unsharesnoop"),
        _ => {}
    }
    if has("view") && (has("cgroups") || has("rows")) || has("total") && has("rows") {
        Some("constat")
    } else if has("total_count") && has("rows") {
        Some("syscount")
    } else {
        None
    }
}

/// `--replay FILE` and `--record FILE`, shared by every tool.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ReplayArgs {
    /// Write the NDJSON that -o json prints to FILE (flushed per line)
    /// while the usual output is shown.
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    pub record: Option<std::path::PathBuf>,
    /// Show a run saved with --record or -o json (FILE, or - for stdin)
    /// again, as it was printed; nothing is traced.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<OsString>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay_of(text: &str) -> Replay {
        Replay {
            reader: Box::new(io::Cursor::new(text.as_bytes().to_vec())),
            shown: "f.ndjson".into(),
            line: 0,
            records: 0,
            tool: "constat",
        }
    }

    #[test]
    fn blank_lines_are_skipped_and_damage_is_named_by_line() {
        let mut r = replay_of("{\"a\":1}\n\n{\"b\":2}\n{\"c\":\n");
        assert_eq!(r.next_record().unwrap().unwrap().line, 1);
        assert_eq!(r.next_record().unwrap().unwrap().line, 3);
        let err = r.next_record().err().unwrap().to_string();
        assert!(err.starts_with("f.ndjson:4: damaged line"), "{err}");
        assert!(err.contains("the 2 records before it were shown"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[derive(Clone, Serialize)]
    struct Event {
        n: u32,
    }

    impl Render for Event {
        fn render(&self) -> String {
            self.n.to_string()
        }
    }

    #[test]
    fn a_batch_is_recorded_line_by_line_then_handed_on() {
        struct Kept(Vec<u32>);
        impl Sink<[Event]> for Kept {
            fn emit(&mut self, items: &[Event]) -> Result<()> {
                self.0.extend(items.iter().map(|e| e.n));
                Ok(())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("run.ndjson");
        let mut sink = Recording {
            inner: Kept(Vec::new()),
            recorder: Some(Recorder::create(&file).unwrap()),
        };
        sink.emit(&[Event { n: 1 }, Event { n: 2 }][..]).unwrap();
        sink.emit(&[Event { n: 3 }][..]).unwrap();
        assert_eq!(sink.inner.0, vec![1, 2, 3]);
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
    }

    #[test]
    fn another_tools_record_is_named() {
        let mut r = replay_of("{\"type\":\"period\",\"t_ms\":0}\n");
        let rec = r.next_record().unwrap().unwrap();
        let err = r.parse::<Value>(rec).err().unwrap().to_string();
        assert!(
            err.contains(
                "a conbiograph record, not constat's; replay it with conbiograph --replay"
            ),
            "{err}"
        );
        let unshare = serde_json::json!({"type": "summary", "events": 0});
        assert_eq!(recorded_by(&unshare), Some("unsharesnoop"));
        let syscount = serde_json::json!({"rows": [], "total_count": 0});
        assert_eq!(recorded_by(&syscount), Some("syscount"));
        assert_eq!(recorded_by(&serde_json::json!({"x": 1})), None);
    }
}
