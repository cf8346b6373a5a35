//! Man pages and shell completions generated from a tool's clap definition,
//! so they can never drift from `--help`.
//!
//! Every tool answers two hidden first arguments:
//! `--generate-man` (roff on stdout) and `--generate-completions SHELL`.
//! `scripts/install` uses them.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::exit::usage;

/// Handles the generation flags when they come first in `argv` (the whole
/// command line, program name included); `None` otherwise.
pub fn generate_if_asked<A: CommandFactory>(argv: &[OsString]) -> Result<Option<ExitCode>> {
    let args: Vec<&str> = argv
        .iter()
        .skip(1)
        .take(2)
        .filter_map(|a| a.to_str())
        .collect();
    let mut cmd = A::command();
    let name = cmd.get_name().to_string();
    // Render into memory first: the generators panic on a closed pipe.
    let mut out = Vec::new();
    match args.first().copied() {
        Some("--generate-man") => {
            clap_mangen::Man::new(cmd)
                .section("8")
                .render(&mut out)
                .context("writing the man page")?;
        }
        Some("--generate-completions") => {
            let shell: Shell = args.get(1).and_then(|s| s.parse().ok()).ok_or_else(|| {
                usage("--generate-completions needs a shell: bash, zsh, fish, elvish or powershell")
            })?;
            clap_complete::generate(shell, &mut cmd, name, &mut out);
        }
        _ => return Ok(None),
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(Some(ExitCode::SUCCESS))
}
