//! Exit codes and the `main` wrapper every tool uses.
//!
//! | code | meaning                                                   |
//! |------|-----------------------------------------------------------|
//! | 0    | success (also: stdout closed by the reader, e.g. `head`,  |
//! |      | or the terminal hung up)                                  |
//! | 1    | runtime failure: privileges, missing BTF, BPF load error  |
//! | 2    | bad input: arguments, unknown target, unknown names       |
//! | 130  | a second Ctrl-C interrupted the final report              |

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

/// Exit status for bad input (same as clap's usage errors).
pub const EXIT_USAGE: u8 = 2;
/// Exit status for runtime failures.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status when a second signal cuts the final report short.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Bad input from the user: printed as one line, exit status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Builds an [`anyhow::Error`] that exits with status 2.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// True when the error chain holds an `EPIPE`: the reader went away.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    output_gone(err, false)
}

/// True when the reader of our output went away: `EPIPE`, or `EIO` from a
/// terminal that hung up (`stdout_was_tty`: the terminal is no terminal
/// any more once it is gone, so this is known from the start).
fn output_gone(err: &anyhow::Error, stdout_was_tty: bool) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
            io.kind() == std::io::ErrorKind::BrokenPipe
                || (stdout_was_tty && io.raw_os_error() == Some(libc::EIO))
        })
    })
}

/// Runs a tool's `run()` and turns its outcome into an exit status: errors
/// become one `tool: message` line on stderr; a closed stdout exits quietly.
pub fn main_with(tool: &str, run: impl FnOnce() -> anyhow::Result<ExitCode>) -> ExitCode {
    use std::io::IsTerminal;
    let stdout_was_tty = std::io::stdout().is_terminal();
    match run() {
        Ok(code) => code,
        Err(err) if output_gone(&err, stdout_was_tty) => ExitCode::SUCCESS,
        Err(err) => {
            let code = if err.downcast_ref::<UsageError>().is_some() {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            };
            // Not eprintln!: it panics when stderr is closed.
            let _ = writeln!(std::io::stderr().lock(), "{tool}: {err:#}");
            ExitCode::from(code)
        }
    }
}
