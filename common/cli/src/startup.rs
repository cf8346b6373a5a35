//! The command-line layer every tool's thin `main` goes through: argument
//! parsing (one-line usage errors, man pages and completions), the shared
//! start-up sequence, and signal handling. Only this layer may end the
//! process; library code stops through a [`crate::runloop::StopHandle`].

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Result;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgMatches, Command, Parser};

use crate::docs::Documented;
use identity::cgroup::Hierarchy;
use identity::target::Target;
use kernel::features::Needs;

/// The whole life of a tool: `main` is `crate::main::<Args>("tool", run)`.
///
/// Reads the local time offset while single-threaded, answers a shell's
/// completion request (see [`crate::complete`]), parses the arguments (a
/// bad one is one line and exit 2), answers `--generate-man` /
/// `--generate-completions`, then runs `run` and turns its outcome into the
/// exit status (see [`kernel::exit`]).
pub fn main<A: Documented>(tool: &str, run: impl FnOnce(A) -> Result<ExitCode>) -> ExitCode {
    crate::timefmt::init_local_offset();
    kernel::exit::main_with(tool, || {
        if crate::complete::answer_if_asked(crate::docs::command::<A>)? {
            return Ok(ExitCode::SUCCESS);
        }
        let argv: Vec<OsString> = std::env::args_os().collect();
        let parsed = parse_matches::<A>(
            crate::docs::command::<A>(),
            argv,
            crate::docs::generate_if_asked::<A>,
        )?;
        match parsed {
            Parsed::Run(args) => run(args),
            Parsed::Done(code) => Ok(code),
        }
    })
}

/// What parsing the command line ended with.
pub enum Parsed<A> {
    /// Arguments to run with.
    Run(A),
    /// `--help`, `--version`, or a generated man page or completion script
    /// was printed.
    Done(ExitCode),
}

#[cfg(test)]
/// Parses `argv` (bytes, never assumed UTF-8). A bad argument becomes one
/// line (exit 2) that keeps clap's help: the valid values of a choice and
/// the "did you mean" of a misspelled flag.
pub fn parse_from<A: Parser>(argv: Vec<OsString>) -> Result<Parsed<A>> {
    parse_matches::<A>(A::command(), argv, |_| Ok(None))
}

/// [`parse_from`] with the full command `cmd` (A's definition plus the
/// documentation options), letting `answer` act on the matches first.
fn parse_matches<A: Parser>(
    cmd: Command,
    argv: Vec<OsString>,
    answer: impl FnOnce(&ArgMatches) -> Result<Option<ExitCode>>,
) -> Result<Parsed<A>> {
    let matches = match cmd.try_get_matches_from(argv) {
        Ok(m) => m,
        Err(err) => return handle_error(err),
    };
    if let Some(code) = answer(&matches)? {
        return Ok(Parsed::Done(code));
    }
    let mut matches = matches;
    match A::from_arg_matches_mut(&mut matches) {
        Ok(args) => Ok(Parsed::Run(args)),
        Err(err) => handle_error(err),
    }
}

fn handle_error<A>(err: clap::Error) -> Result<Parsed<A>> {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            Ok(Parsed::Done(ExitCode::SUCCESS))
        }
        _ => Err(kernel::exit::usage(one_line(&err))),
    }
}

/// clap's error as one line: the first line of its message, then the
/// valid values or the suggestion it would have printed below.
fn one_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    let mut line = first.strip_prefix("error: ").unwrap_or(first).to_string();
    let values = |kind: ContextKind| match err.get(kind) {
        Some(ContextValue::Strings(v)) if !v.is_empty() => Some(v.join(", ")),
        Some(ContextValue::String(v)) => Some(v.clone()),
        _ => None,
    };
    if let Some(valid) = values(ContextKind::ValidValue) {
        line.push_str(&format!("; possible values: {valid}"));
    }
    if let Some(similar) = values(ContextKind::SuggestedArg) {
        line.push_str(&format!("; did you mean '{similar}'?"));
    } else if let Some(similar) = values(ContextKind::SuggestedValue) {
        line.push_str(&format!("; did you mean '{similar}'?"));
    }
    format!("{line} (see --help)")
}

/// The start-up every tool shares, after parsing: resolve the target (a bad
/// one is a usage error before any BPF work), check privileges and kernel
/// support, and route libbpf's log.
pub struct Startup {
    pub hierarchy: Hierarchy,
    pub target: Target,
    /// Cgroup ids to paths and containers, for the reports.
    pub identities: identity::resolver::Identities,
}

impl Startup {
    /// Resolves the target and checks privileges and the kernel.
    /// `pid_flag`: the tool has `-p` (messages suggest it only then).
    pub fn new(
        tool: &str,
        target: &crate::args::TargetArgs,
        pid: Option<u32>,
        pid_flag: bool,
        needs: Needs,
        verbose: bool,
    ) -> Result<Self> {
        let hierarchy = Hierarchy::detect()?;
        let mut registry = identity::container::Registry::new(&hierarchy.root);
        let resolved = Target::resolve(
            &hierarchy,
            &mut registry,
            target.target.as_deref(),
            target.exact,
            pid,
        )?;
        kernel::preflight::check(tool, needs)?;
        let given = target.target.as_deref().unwrap_or_default();
        if let Some(note) = resolved.whole_host_note(given, pid_flag) {
            crate::output::status(&note);
        }
        let target = resolved;
        kernel::bpf::init_libbpf_log(verbose);
        // The cgroup tree is walked now, before anything is attached: the
        // walk's own syscalls stay out of the counts.
        let identities = identity::resolver::Identities::new(&hierarchy.root, registry);
        Ok(Self {
            hierarchy,
            target,
            identities,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    #[command(name = "t")]
    struct Args {
        #[arg(long, value_enum, default_value_t = Sort::Count)]
        sort: Sort,
        #[arg(long)]
        time: bool,
    }

    #[derive(Clone, Copy, Debug, clap::ValueEnum)]
    enum Sort {
        Count,
        Name,
    }

    fn err(args: &[&str]) -> String {
        let argv = args.iter().map(OsString::from).collect();
        match parse_from::<Args>(argv) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{args:?} parsed"),
        }
    }

    #[test]
    fn usage_errors_are_one_line_with_choices_and_suggestions() {
        let e = err(&["t", "--sort", "foo"]);
        assert!(e.contains("possible values: count, name"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = err(&["t", "--tme"]);
        assert!(e.contains("did you mean '--time'?"), "{e}");
        assert!(e.ends_with("(see --help)"), "{e}");
    }

    #[test]
    fn non_utf8_arguments_are_usage_errors_not_panics() {
        use std::os::unix::ffi::OsStringExt;
        let argv = vec![OsString::from("t"), OsString::from_vec(b"--\xff".to_vec())];
        assert!(parse_from::<Args>(argv).is_err());
    }
}
