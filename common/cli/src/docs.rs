//! Man pages, `--help` examples and shell completions, generated from one
//! source per tool: its clap definition (options, their help, value names)
//! plus a hand-written [`Page`] kept in the tool's crate (output columns,
//! JSON fields, notes, examples). Nothing is written twice, so the man page
//! cannot drift from `--help`.
//!
//! Every tool has two documented options, handled before anything else:
//! `--generate-man` (a section-8 page in roff on stdout) and
//! `--generate-completions SHELL` (a completion script that asks the tool
//! itself for candidates, so `-c <TAB>` offers cgroups, units and
//! containers; see [`crate::complete`]).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Arg, ArgAction, ArgMatches, Command};
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};

use kernel::exit::{EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE};

/// One example: a command line and what it does.
pub struct Example {
    pub command: &'static str,
    pub what: &'static str,
}

/// A named thing and its meaning: an output column, a JSON field.
pub struct Entry {
    pub name: &'static str,
    pub meaning: &'static str,
}

/// A titled list of [`Entry`]s (`OUTPUT COLUMNS`, `JSON OUTPUT`), with an
/// introductory paragraph.
pub struct Table {
    pub title: &'static str,
    pub intro: &'static str,
    pub entries: &'static [Entry],
}

/// A section of prose (paragraphs separated by blank lines in `text`).
pub struct Section {
    pub title: &'static str,
    pub text: &'static str,
}

/// The hand-written part of a tool's documentation.
pub struct Page {
    /// Paragraphs after clap's description in the man page.
    pub description: &'static str,
    /// Output columns, JSON fields: one [`Table`] each.
    pub tables: &'static [Table],
    /// Further sections (NOTES, KERNEL SIDE, ...).
    pub sections: &'static [Section],
    /// Shown in `--help` and the man page's EXAMPLES.
    pub examples: &'static [Example],
    /// Pages besides the other contrace tools, `name(section)`.
    pub see_also: &'static [&'static str],
}

impl Page {
    /// No page of its own (helpers such as bench/benchfloor): the man page
    /// has clap's sections and the shared ones only.
    pub const NONE: Page = Page {
        description: "",
        tables: &[],
        sections: &[],
        examples: &[],
        see_also: &[],
    };
}

/// A tool's arguments with their hand-written page.
pub trait Documented: clap::Parser {
    const PAGE: &'static Page;
}

/// The contrace tools, for SEE ALSO.
const TOOLS: [&str; 5] = [
    "constat",
    "syscount",
    "unsharesnoop",
    "conbiograph",
    "contrace-exporter",
];

/// The id of the shared `-c TARGET` argument ([`crate::args::TargetArgs`]):
/// a tool with it traces targets and ends with a final report; one without
/// (the exporter) serves until stopped.
const TARGET_ARG: &str = "target";

const GENERATE_MAN: &str = "generate_man";
const GENERATE_COMPLETIONS: &str = "generate_completions";
const HEADING: &str = "Documentation";

/// The full command: the tool's clap definition, the examples after the
/// help, and the two documentation options.
pub fn command<A: Documented>() -> Command {
    let mut cmd = A::command();
    let name = cmd.get_name().to_string();
    let candidates = if has_target(&cmd) {
        "candidates as you type (-c: cgroups, units, container names and ids, pods)"
    } else {
        "candidates as you type"
    };
    if !A::PAGE.examples.is_empty() {
        cmd = cmd.after_help(examples_help(A::PAGE.examples));
    }
    cmd.arg(
        Arg::new(GENERATE_MAN)
            .long("generate-man")
            .action(ArgAction::SetTrue)
            .exclusive(true)
            .help_heading(HEADING)
            .help(format!(
                "Print this tool's man page (roff, section 8) and exit; e.g. \
                 `{name} --generate-man | man -l -`"
            )),
    )
    .arg(
        Arg::new(GENERATE_COMPLETIONS)
            .long("generate-completions")
            .value_name("SHELL")
            .value_parser(["bash", "zsh", "fish", "elvish", "powershell"])
            .exclusive(true)
            .help_heading(HEADING)
            .help(format!(
                "Print a completion script for SHELL and exit; it asks the tool for \
                 {candidates}; e.g. `source <({name} --generate-completions bash)`"
            )),
    )
}

/// Whether the tool takes `-c TARGET` (and so ends with a final report).
fn has_target(cmd: &Command) -> bool {
    cmd.get_arguments().any(|a| a.get_id() == TARGET_ARG)
}

/// Answers `--generate-man` / `--generate-completions` found in `matches`;
/// `None` when neither was given.
pub fn generate_if_asked<A: Documented>(matches: &ArgMatches) -> Result<Option<ExitCode>> {
    let out = if matches.get_flag(GENERATE_MAN) {
        man_page::<A>()?
    } else if let Some(shell) = matches.get_one::<String>(GENERATE_COMPLETIONS) {
        crate::complete::registration(&command::<A>(), shell)?
    } else {
        return Ok(None);
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(Some(ExitCode::SUCCESS))
}

/// Words of `text` in lines of at most `width` columns, each after `indent`.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `Examples:` for `--help`: each command on its own line, what it does
/// wrapped and indented below it (never a command split by a comment).
pub fn examples_help(examples: &[Example]) -> String {
    if examples.is_empty() {
        return String::new();
    }
    let mut out = String::from("Examples:\n");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("  ");
        out.push_str(e.command);
        out.push('\n');
        out.push_str(&wrap(e.what, "      ", 72));
    }
    out.trim_end().to_string()
}

/// Everything but the first render's `.ie/.el` apostrophe preamble.
fn without_preamble(rendered: &[u8]) -> &[u8] {
    let mut rest = rendered;
    while rest.starts_with(b".ie ") || rest.starts_with(b".el ") {
        match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => rest = &rest[nl + 1..],
            None => break,
        }
    }
    rest
}

fn paragraphs(roff: &mut Roff, text: &str) {
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        roff.control("PP", []);
        roff.text(inline_code(
            &para.split_whitespace().collect::<Vec<_>>().join(" "),
        ));
    }
}

/// `text` with `backquoted` spans in bold, the man-page way to show
/// something typed literally.
fn inline_code(text: &str) -> Vec<Inline> {
    text.split('`')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| if i % 2 == 1 { bold(part) } else { roman(part) })
        .collect()
}

/// `[-c|--cgroup TARGET]` for every visible option, from the definition.
fn synopsis(cmd: &Command) -> Vec<Inline> {
    let mut out = vec![bold(cmd.get_name().to_string())];
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let mut names = Vec::new();
        if let Some(s) = arg.get_short() {
            names.push(format!("-{s}"));
        }
        if let Some(l) = arg.get_long() {
            names.push(format!("--{l}"));
        }
        if names.is_empty() {
            continue;
        }
        out.push(roman(" ["));
        out.push(bold(names.join("|")));
        let takes_value = arg.get_action().takes_values();
        if let Some(values) = arg.get_value_names().filter(|_| takes_value) {
            let optional = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
            let value = values.join(" ");
            out.push(roman(if optional { "[=" } else { " " }));
            out.push(italic(value));
            if optional {
                out.push(roman("]"));
            }
        } else if takes_value {
            out.push(roman(" "));
            out.push(italic(arg.get_id().as_str().to_uppercase()));
        }
        out.push(roman("]"));
    }
    out
}

/// TARGETS: the forms `-c` takes (tools with `-c` only).
const TARGETS_TEXT: &str = "\
`-c TARGET` names one cgroup v2 directory; its descendants are included unless \
`--exact` is given. Without `-c`, the whole host is traced. The resolved cgroup (and \
container) is said on stderr and is the JSON `target` object.\n\n\
TARGET is one of: a container name (docker, podman, nerdctl); a container id or a unique prefix of at least 4 hex digits (docker, \
podman, containerd, CRI-O; a runc id of any length); a Kubernetes pod as \
`NAMESPACE/POD` (all its containers), `NAMESPACE/POD/CONTAINER` or the pod's UID; an \
absolute path (`/sys/fs/cgroup/system.slice/x.service`); `./x` or `../x`, from the \
current directory; a path relative to the cgroup2 mount (`system.slice/nginx.service`); \
`pid:N`, the cgroup of process N (a process in the root cgroup makes that the whole \
host: a note on stderr says so, and JSON `target.whole_host` is true); a systemd unit \
(`nginx.service`, `session-3.scope`, `user.slice`). A directory below the cgroup2 mount \
wins over a container of the same name.\n\n\
A cgroup v1 directory, a file, an unknown or ambiguous name or id (the candidates are \
listed), or a missing process is refused with one line on stderr and exit status 2, \
before anything is loaded into the kernel. When the target cgroup is removed (or \
removed and made again, as a restart does) or the `-p` process exits, the run ends \
with a message and the final report.";

/// SIGNALS of a tool that ends with a final report.
const SIGNALS_REPORT: &str = "\
SIGINT, SIGTERM and SIGHUP end the run: the tool prints `Received signal, \
summarizing` on stderr, then its final report on stdout. A second signal during \
that report exits at once with status 130.";

/// SIGNALS of a tool that serves until stopped (no final report).
const SIGNALS_SERVER: &str = "\
SIGINT, SIGTERM and SIGHUP stop the tool: it detaches its programs and exits with \
status 0. A second signal while it stops exits at once with status 130.";

fn shared_sections(roff: &mut Roff, tool: &str, has_target: bool) {
    if has_target {
        roff.control("SH", ["TARGETS"]);
        paragraphs(roff, TARGETS_TEXT);
    }
    roff.control("SH", ["EXIT STATUS"]);
    let interrupted = if has_target {
        "A second Ctrl-C (SIGINT, SIGTERM or SIGHUP) while the final report was \
         being written."
    } else {
        "A second SIGINT, SIGTERM or SIGHUP while the tool was stopping."
    };
    let bad_input = if has_target {
        "Bad input, said in one line: an unknown option (with a suggestion), an \
         invalid value (with the valid ones), a target that does not resolve, an \
         unknown syscall or errno name."
    } else {
        "Bad input, said in one line: an unknown option (with a suggestion), an \
         invalid value (with the valid ones), an unknown syscall name."
    };
    for (code, meaning) in [
        (
            0,
            "Success, also when the reader of stdout went away (e.g. `| head`).",
        ),
        (
            EXIT_FAILURE,
            "Runtime failure: not root and no CAP_BPF+CAP_PERFMON, no kernel BTF, \
             a kernel too old (before 5.8), the BPF program failed to load or attach.",
        ),
        (EXIT_USAGE, bad_input),
        (EXIT_INTERRUPTED, interrupted),
    ] {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text(inline_code(meaning));
    }
    roff.control("SH", ["SIGNALS"]);
    paragraphs(
        roff,
        if has_target {
            SIGNALS_REPORT
        } else {
            SIGNALS_SERVER
        },
    );
    roff.control("SH", ["PRIVILEGES"]);
    paragraphs(
        roff,
        &format!(
            "Loading BPF programs needs root, or CAP_BPF and CAP_PERFMON (`setcap \
             cap_bpf,cap_perfmon+ep {tool}`); no tracefs is needed. With `-v`, libbpf's \
             own log (debug level: object loading, relocations, attach steps, the \
             verifier's log) goes to stderr."
        ),
    );
    roff.control("SH", ["SHELL COMPLETION"]);
    let target_candidates = if has_target {
        " `-c` completes cgroup paths below the cgroup2 mount (one level at a time), \
         systemd units, container names and ids, pods and `pid:` with process ids;"
    } else {
        ""
    };
    paragraphs(
        roff,
        &format!(
            "`{tool} --generate-completions bash` prints a script that asks `{tool}` \
             for candidates as you type:{target_candidates} option values complete \
             too. Load it with `source <({tool} --generate-completions bash)`, or \
             install it where bash-completion looks (scripts/install uses \
             PREFIX/share/bash-completion/completions). zsh, fish, elvish and \
             powershell work the same way. The script runs `{tool}` with the \
             environment variable COMPLETE set; nothing is loaded into the kernel."
        ),
    );
}

/// The section-8 man page: clap's NAME, SYNOPSIS-less DESCRIPTION and
/// OPTIONS (the same text as `--help`), then the page's tables and
/// sections, the shared TARGETS, EXIT STATUS, SIGNALS, PRIVILEGES and
/// SHELL COMPLETION, EXAMPLES and SEE ALSO.
pub fn man_page<A: Documented>() -> Result<Vec<u8>> {
    let cmd = command::<A>();
    let name = cmd.get_name().to_string();
    let version = cmd.get_version().unwrap_or_default().to_string();
    let page = A::PAGE;
    let man = clap_mangen::Man::new(cmd.clone())
        .section("8")
        .source(format!("contrace {version}"))
        .manual("System Manager's Manual");
    let mut out = Vec::new();
    man.render_title(&mut out).context("writing the man page")?;
    let mut part = Vec::new();
    man.render_name_section(&mut part)?;
    out.extend_from_slice(without_preamble(&part));

    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]);
    roff.text(synopsis(&cmd));
    roff.control("SH", ["DESCRIPTION"]);
    paragraphs(
        &mut roff,
        &cmd.get_long_about()
            .or(cmd.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default(),
    );
    paragraphs(&mut roff, page.description);
    let mut rendered = Vec::new();
    roff.to_writer(&mut rendered)?;
    out.extend_from_slice(without_preamble(&rendered));

    part.clear();
    man.render_options_section(&mut part)?;
    out.extend_from_slice(without_preamble(&part));

    let mut roff = Roff::new();
    for table in page.tables {
        roff.control("SH", [table.title]);
        paragraphs(&mut roff, table.intro);
        for e in table.entries {
            roff.control("TP", []);
            roff.text([bold(e.name)]);
            roff.text(inline_code(e.meaning));
        }
    }
    for section in page.sections {
        roff.control("SH", [section.title]);
        paragraphs(&mut roff, section.text);
    }
    shared_sections(&mut roff, &name, has_target(&cmd));
    roff.control("SH", ["EXAMPLES"]);
    for e in page.examples {
        roff.control("TP", []);
        roff.text([bold(e.command)]);
        roff.text(inline_code(e.what));
    }
    roff.control("SH", ["SEE ALSO"]);
    let see: Vec<String> = TOOLS
        .iter()
        .filter(|t| **t != name)
        .map(|t| format!("{t}(8)"))
        .chain(page.see_also.iter().map(|s| s.to_string()))
        .collect();
    let mut inlines = Vec::new();
    for (i, s) in see.iter().enumerate() {
        if i > 0 {
            inlines.push(roman(", "));
        }
        inlines.push(bold(s.as_str()));
    }
    roff.text(inlines);
    rendered.clear();
    roff.to_writer(&mut rendered)?;
    out.extend_from_slice(without_preamble(&rendered));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_keep_commands_whole_and_wrap_the_rest() {
        let text = examples_help(&[Example {
            command: "constat -c system.slice/nginx.service -i 5 -d 60 --output json",
            what: "a systemd unit, a report every 5 s for a minute, each report one JSON \
                   object per line for jq or a log shipper",
        }]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Examples:");
        assert_eq!(
            lines[1],
            "  constat -c system.slice/nginx.service -i 5 -d 60 --output json"
        );
        assert!(lines[2..]
            .iter()
            .all(|l| l.starts_with("      ") && l.len() <= 78));
        assert!(lines.len() >= 4, "{text}");
    }

    #[test]
    fn inline_code_is_bold() {
        assert_eq!(
            inline_code("run `a b` now"),
            vec![roman("run "), bold("a b"), roman(" now")]
        );
    }
}
