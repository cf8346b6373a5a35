//! The documentation cannot drift from the tools (issue 26).
//!
//! (a) Each tool runs in each of its output modes against the examples'
//! workload; every table column and every JSON field it prints must be
//! documented on its man page (the column and JSON sections) and on its
//! page in docs/, and every column the man page lists must be printed by
//! one of those runs. The exporter's metric and label names likewise.
//!
//! (b) Each command of examples/<tool>.txt runs again against the same
//! workload (examples/workload, which scripts/examples also runs): its
//! header lines and JSON fields must be those the file shows, so the
//! examples are regenerated (`sudo scripts/examples`) when a format changes.
//! The README's pictures, taken from the examples, must show their headers.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use contrace_tests::exporter::{Exporter, Series, WAIT};
use contrace_tests::*;
use serde_json::Value;

/// The cgroup name the examples were made in (scripts/examples).
const EXAMPLE_CGROUP: &str = "contrace-examples";

fn read(rel: &str) -> String {
    let path = repo_path(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The examples' workload running in `cg` until the cgroup is removed: a
/// shell that moves itself in, then runs `workload ACTIONS` in a loop.
struct ExampleWorkload {
    shell: Child,
    data: PathBuf,
}

impl ExampleWorkload {
    fn start(cg: &TestCgroup) -> Self {
        let data = PathBuf::from(format!("/var/tmp/contrace-docs-{}.dat", std::process::id()));
        let actions = read("examples/workload").replace("DATA", &data.display().to_string());
        let script = format!(
            "echo $$ > '{}/cgroup.procs' && while :; do '{}' --no-wait {}; sleep 0.2; done",
            cg.path.display(),
            bin("workload").display(),
            actions.trim()
        );
        let shell = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the workload shell");
        let procs = cg.path.join("cgroup.procs");
        let deadline = Instant::now() + scaled(Duration::from_secs(20));
        while std::fs::read_to_string(&procs)
            .unwrap_or_default()
            .trim()
            .is_empty()
        {
            assert!(
                Instant::now() < deadline,
                "the workload never entered its cgroup"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { shell, data }
    }
}

impl Drop for ExampleWorkload {
    fn drop(&mut self) {
        let _ = self.shell.kill();
        let _ = self.shell.wait();
        let _ = std::fs::remove_file(&self.data);
    }
}

/// Runs `tool ARGS` to its end (`-d`), expecting success.
fn run_ok(tool: &str, args: &[&str]) -> Finished {
    let done = run_tool(tool, args);
    assert_eq!(done.code, Some(0), "{tool} {args:?}: {}", done.stderr);
    done
}

/// A run's table (stdout) and its NDJSON (the `--record` file).
fn run_recorded(tool: &str, args: &[&str]) -> (String, Vec<Value>) {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let path = file.path().display().to_string();
    let mut all = args.to_vec();
    all.extend(["--record", &path]);
    let done = run_ok(tool, &all);
    let json = std::fs::read_to_string(file.path())
        .expect("record file")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (done.stdout, json)
}

// ---- man pages ---------------------------------------------------------

/// A man page's sections: title, `.TP` entry names, all of its text.
struct ManSection {
    title: String,
    entries: Vec<String>,
    text: String,
}

/// roff as text: no font changes or escapes.
fn unroff(line: &str) -> String {
    line.replace("\\fB", "")
        .replace("\\fR", "")
        .replace("\\fI", "")
        .replace("\\fP", "")
        .replace("\\-", "-")
        .replace("\\*(Aq", "'")
        .replace("\\(aq", "'")
        .replace("\\e", "\\")
}

fn man_sections(tool: &str) -> Vec<ManSection> {
    let roff = run_ok(tool, &["--generate-man"]).stdout;
    let mut sections: Vec<ManSection> = Vec::new();
    let mut entry_next = false;
    for line in roff.lines() {
        if let Some(title) = line.strip_prefix(".SH ") {
            sections.push(ManSection {
                title: title.trim_matches('"').to_string(),
                entries: Vec::new(),
                text: String::new(),
            });
            continue;
        }
        let Some(section) = sections.last_mut() else {
            continue;
        };
        if line == ".TP" {
            entry_next = true;
            continue;
        }
        if line.starts_with('.') {
            continue;
        }
        let text = unroff(line);
        if std::mem::take(&mut entry_next) {
            section.entries.push(text.clone());
        }
        section.text.push_str(&text);
        section.text.push('\n');
    }
    sections
}

/// What a man page documents about a tool's output.
struct Documented {
    /// Column names, each entry split at ", " (`COUNT, (%)`).
    columns: Vec<String>,
    /// Every word of the column sections (titles such as SLOWEST that
    /// only the meaning names).
    column_words: BTreeSet<String>,
    /// Every word of the JSON sections: field names are among them.
    json_words: BTreeSet<String>,
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn documented(tool: &str) -> Documented {
    let sections = man_sections(tool);
    let column_sections = || {
        sections
            .iter()
            .filter(|s| s.title.contains("COLUMNS") || s.title == "OUTPUT")
    };
    let columns = column_sections()
        .flat_map(|s| s.entries.iter())
        .flat_map(|e| e.split(", ").map(str::to_string).collect::<Vec<_>>())
        .collect();
    let column_words = column_sections().flat_map(|s| words(&s.text)).collect();
    let json_words = sections
        .iter()
        .filter(|s| s.title.contains("JSON"))
        .flat_map(|s| words(&s.text))
        .collect();
    Documented {
        columns,
        column_words,
        json_words,
    }
}

// ---- what the tools print ----------------------------------------------

/// Whitespace collapsed to one space.
fn collapse(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A table's header line: column titles only (upper case outside
/// parentheses, no digits), or a histogram's `usecs : count distribution`.
fn is_header(line: &str) -> bool {
    let line = line.trim();
    if line.contains(": count") && line.ends_with("distribution") {
        return true;
    }
    let mut depth = 0;
    let mut outside = String::new();
    for c in line.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    let tokens: Vec<&str> = outside.split_whitespace().collect();
    tokens.len() >= 2
        && outside.is_ascii()
        && !outside
            .chars()
            .any(|c| c.is_ascii_digit() || c.is_lowercase())
        && tokens
            .iter()
            .any(|t| t.chars().filter(char::is_ascii_uppercase).count() >= 2)
}

/// The header lines of an output, whitespace collapsed.
fn headers(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter(|l| is_header(l))
        .map(collapse)
        .collect()
}

/// Every field of a JSON value as a path (`rows[].syscall`); the keys of
/// `errnos` (errno names, data) are not fields.
fn json_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = format!("{prefix}{key}");
                out.insert(path.clone());
                if key != "errnos" {
                    json_paths(v, &format!("{path}."), out);
                }
            }
        }
        Value::Array(items) => {
            let prefix = format!("{}[].", prefix.trim_end_matches('.'));
            for item in items {
                json_paths(item, &prefix, out);
            }
        }
        _ => {}
    }
}

fn field_names(values: &[Value]) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for v in values {
        json_paths(v, "", &mut paths);
    }
    paths
        .iter()
        .map(|p| {
            p.rsplit(['.'])
                .next()
                .unwrap_or(p)
                .trim_end_matches("[]")
                .to_string()
        })
        .collect()
}

/// Splits a header into documented column names, longest first; returns
/// what no name covers.
fn undocumented_columns(header: &str, doc: &Documented) -> Vec<String> {
    let tokens: Vec<&str> = header.split(' ').collect();
    let mut names: Vec<Vec<&str>> = doc.columns.iter().map(|c| c.split(' ').collect()).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut left = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match names.iter().find(|n| tokens[i..].starts_with(n)) {
            Some(n) => i += n.len(),
            None if doc.column_words.contains(tokens[i]) => i += 1,
            None => {
                left.push(tokens[i].to_string());
                i += 1;
            }
        }
    }
    left
}

/// One tool's output across its modes.
#[derive(Default)]
struct Seen {
    headers: BTreeSet<String>,
    json: Vec<Value>,
}

impl Seen {
    fn add(&mut self, (table, json): (String, Vec<Value>)) {
        self.headers.extend(headers(&table));
        self.json.extend(json);
    }
}

/// Every mode of `tool` that prints other columns or fields.
fn outputs(tool: &str, cg: &str) -> Seen {
    let mut seen = Seen::default();
    let d = ["-d", "1.5"];
    let modes: Vec<Vec<&str>> = match tool {
        "constat" => vec![
            vec!["-c", cg],
            vec!["-T", "3"],
            vec!["-T", "3", "-t"],
            vec!["-T", "3", "--sort", "errors"],
            vec!["-T", "1", "--by-syscall"],
        ],
        "syscount" => vec![
            vec!["-c", cg, "--errno", "--denied", "--by-cgroup", "-L", "-m"],
            vec!["-c", cg, "-P", "-L"],
            vec!["-c", cg, "--histogram", "--syscall", "nanosleep"],
        ],
        "unsharesnoop" => vec![vec!["-c", cg, "--all"]],
        "conbiograph" => vec![vec!["-c", cg], vec!["--write"]],
        _ => panic!("no modes for {tool}"),
    };
    for mode in modes {
        let mut args = mode.clone();
        args.extend(d);
        seen.add(run_recorded(tool, &args));
    }
    if tool == "conbiograph" {
        let csv = run_ok(tool, &["-c", cg, "-d", "1", "-o", "csv"]).stdout;
        let header = csv.lines().next().unwrap_or_default();
        let fields = header.split(',').map(|f| (f.to_string(), Value::Null));
        seen.json.push(Value::Object(fields.collect()));
    }
    seen
}

/// What `tool` prints that is not on its man page or its docs/ page, and
/// columns the man page lists that no run printed.
fn undocumented(tool: &str, seen: &Seen) -> Vec<String> {
    let doc = documented(tool);
    let page = read(&format!("docs/{tool}.md"));
    let page_words = words(&page);
    let mut problems = Vec::new();
    for header in &seen.headers {
        for col in undocumented_columns(header, &doc) {
            problems.push(format!(
                "column {col:?} (header {header:?}) not on the man page"
            ));
        }
        for col in header.split(' ').filter(|c| c.len() > 1) {
            if !page.contains(col) {
                problems.push(format!("column {col:?} not in docs/{tool}.md"));
            }
        }
    }
    let printed: String = seen.headers.iter().cloned().collect::<Vec<_>>().join("\n");
    for col in &doc.columns {
        if !printed
            .split('\n')
            .any(|h| format!(" {h} ").contains(&format!(" {col} ")))
        {
            problems.push(format!("man page column {col:?} printed by no run"));
        }
    }
    for field in field_names(&seen.json) {
        if !doc.json_words.contains(&field) {
            problems.push(format!("JSON field {field:?} not on the man page"));
        }
        if !page_words.contains(&field) {
            problems.push(format!("JSON field {field:?} not in docs/{tool}.md"));
        }
    }
    problems.iter().map(|p| format!("{tool}: {p}")).collect()
}

root_test!(every_column_and_json_field_is_documented, {
    let cg = TestCgroup::new("docs");
    let _work = ExampleWorkload::start(&cg);
    let mut problems = Vec::new();
    for tool in TOOLS {
        let seen = outputs(tool, &cg.arg());
        assert!(!seen.headers.is_empty() && !seen.json.is_empty(), "{tool}");
        problems.extend(undocumented(tool, &seen));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
});

// ---- the exporter --------------------------------------------------------

/// The metric names and the label names of some series.
fn names_of(series: &[Series]) -> (BTreeSet<String>, BTreeSet<String>) {
    let ours = || series.iter().filter(|s| s.name.starts_with("contrace_"));
    let names = ours().map(|s| s.name.clone()).collect();
    let labels = ours().flat_map(|s| s.labels.keys().cloned()).collect();
    (names, labels)
}

fn metric_names(exposition: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut names = BTreeSet::new();
    let mut labels = BTreeSet::new();
    for line in exposition.lines().filter(|l| l.starts_with("contrace_")) {
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        names.insert(line[..end].to_string());
        if let Some(inner) = line[end..]
            .strip_prefix('{')
            .and_then(|r| r.split_once('}'))
        {
            for pair in inner.0.split("\",") {
                if let Some((key, _)) = pair.split_once('=') {
                    labels.insert(key.trim_start_matches(',').to_string());
                }
            }
        }
    }
    (names, labels)
}

/// A metric the METRICS section names, in full or as a `_suffix` of the
/// name before it (`contrace_block_io_bytes_total{direction}, _ops_total`).
fn metric_documented(name: &str, section: &str) -> bool {
    let tokens: Vec<&str> = section
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
        .collect();
    tokens.contains(&name)
        || tokens.iter().enumerate().any(|(i, t)| {
            t.starts_with('_')
                && tokens[..i]
                    .iter()
                    .rev()
                    .find(|p| p.starts_with("contrace_"))
                    .is_some_and(|p| name.strip_suffix(t).is_some_and(|stem| p.starts_with(stem)))
        })
}

root_test!(the_exporters_metrics_are_documented_and_in_its_example, {
    let cg = TestCgroup::new("docs-exporter");
    let _work = ExampleWorkload::start(&cg);
    let (shown, _) = metric_names(&read("examples/contrace-exporter.txt"));
    // Judged once the workload has made every metric the example shows
    // (its loop makes each within a round), or after the wait, whichever
    // comes first: the differences are then reported below.
    let exporter = Exporter::start(&["--latency"]);
    let deadline = std::time::Instant::now() + scaled(WAIT);
    let served = loop {
        let series = exporter.scrape();
        let (names, _) = names_of(&series);
        if shown.is_subset(&names) || std::time::Instant::now() > deadline {
            break series;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    drop(exporter);
    let (names, labels) = names_of(&served);
    let sections = man_sections("contrace-exporter");
    let metrics = sections
        .iter()
        .find(|s| s.title == "METRICS")
        .expect("a METRICS section");
    let page = read("docs/contrace-exporter.md");
    let mut problems = Vec::new();
    for name in &names {
        if !metric_documented(name, &metrics.text) {
            problems.push(format!("metric {name} not on the man page"));
        }
        if !metric_documented(name, &page) {
            problems.push(format!("metric {name} not in docs/contrace-exporter.md"));
        }
    }
    for label in &labels {
        if !words(&metrics.text).contains(label) || !words(&page).contains(label) {
            problems.push(format!("label {label} not documented"));
        }
    }
    for name in shown.difference(&names) {
        problems.push(format!(
            "examples/contrace-exporter.txt shows {name}, no longer served"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
});

// ---- examples/<tool>.txt -----------------------------------------------

/// The `$ sudo TOOL ARGS` commands of an example file with what each printed.
fn example_blocks(text: &str) -> Vec<(Vec<String>, String)> {
    let mut blocks: Vec<(Vec<String>, String)> = Vec::new();
    for line in text.lines() {
        if let Some(cmd) = line.strip_prefix("$ sudo ") {
            blocks.push((
                cmd.split_whitespace().map(str::to_string).collect(),
                String::new(),
            ));
        } else if let Some((_, out)) = blocks.last_mut() {
            out.push_str(line);
            out.push('\n');
        }
    }
    blocks
}

fn json_lines(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn all_paths(values: &[Value]) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for v in values {
        json_paths(v, "", &mut paths);
    }
    paths
}

root_test!(the_examples_show_the_tools_current_format, {
    let cg = TestCgroup::new("docs-examples");
    let _work = ExampleWorkload::start(&cg);
    let mut problems = Vec::new();
    for tool in TOOLS {
        let file = format!("examples/{tool}.txt");
        let blocks = example_blocks(&read(&file));
        assert!(!blocks.is_empty(), "{file} has no `$ sudo {tool}` command");
        for (cmd, shown) in blocks {
            assert_eq!(cmd[0], tool, "{file}: {cmd:?}");
            let args: Vec<String> = cmd[1..]
                .iter()
                .map(|a| {
                    if a == EXAMPLE_CGROUP {
                        cg.arg()
                    } else {
                        a.clone()
                    }
                })
                .collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let now = run_ok(tool, &args);
            let printed = format!("{}{}", now.stdout, now.stderr);
            if headers(&shown) != headers(&printed) {
                problems.push(format!(
                    "{file}: `{}` shows headers {:?}, the tool prints {:?}",
                    cmd.join(" "),
                    headers(&shown),
                    headers(&printed)
                ));
            }
            let (was, is) = (
                all_paths(&json_lines(&shown)),
                all_paths(&json_lines(&printed)),
            );
            if was != is {
                problems.push(format!(
                    "{file}: `{}` JSON fields differ: only in the file {:?}, only now {:?}",
                    cmd.join(" "),
                    was.difference(&is).collect::<Vec<_>>(),
                    is.difference(&was).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "regenerate with `sudo scripts/examples`:\n{}",
        problems.join("\n")
    );
});

#[test]
fn header_lines_are_told_from_data() {
    assert!(is_header(
        "SYSCALL         COUNT     (%)  ERRORS  DENIED  ERRNO   ELAPSED(ms)"
    ));
    assert!(is_header("PID    COMM               COUNT"));
    assert!(is_header(
        "     usecs               : count    distribution"
    ));
    assert!(is_header(
        "TIME   TID  COMM  CALL  RET  FLAGS  FLAGS(human)  CGROUP"
    ));
    assert!(!is_header(
        "ALL (2 cgroups)     59507   13508       0  74497.350     ---"
    ));
    assert!(!is_header("getppid         20000  90.31%       0       0"));
    assert!(!is_header("[05:48:57]"));
    assert!(!is_header("write bytes per 0.5s (MiB):"));
    assert!(!is_header("(unattributed)   0 B   0  4.0 KiB   1   0 B"));
}

#[test]
fn metric_suffixes_count_as_documented() {
    let section = "contrace_block_io_bytes_total{direction}, _ops_total, _writeback_bytes_total \
                   contrace_exporter_series, _cgroups, _dropped_total";
    assert!(metric_documented("contrace_block_io_ops_total", section));
    assert!(metric_documented(
        "contrace_block_io_writeback_bytes_total",
        section
    ));
    assert!(metric_documented("contrace_exporter_cgroups", section));
    assert!(!metric_documented(
        "contrace_block_io_latency_total",
        section
    ));
}

#[test]
fn the_readme_shows_the_examples_headers() {
    let readme = read("README.md");
    let mut problems = Vec::new();
    for (cmd, shown) in example_blocks(&readme) {
        let Some(tool) = TOOLS
            .iter()
            .find(|t| cmd.first().map(String::as_str) == Some(**t))
        else {
            continue;
        };
        let examples = headers(&read(&format!("examples/{tool}.txt")));
        for header in headers(&shown).difference(&examples) {
            problems.push(format!("README.md: `{}` shows {header:?}", cmd.join(" ")));
        }
    }
    assert!(
        problems.is_empty(),
        "headers the examples no longer show (copy the new ones from examples/):\n{}",
        problems.join("\n")
    );
}
