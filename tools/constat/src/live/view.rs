//! Drawing the live view with ratatui: a header line, the table of the
//! current screen (cgroups, or one cgroup's syscalls with a latency
//! sparkline), and a footer naming the keys. Reads the [`Model`] only.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Sparkline, Table, TableState, Wrap};
use ratatui::Frame;

use super::model::{CgroupState, Model, Screen, SyscallState};
use crate::cells::{ms, pct, us};
use crate::report::SortKey;

/// Drawing state kept between frames (the table's scroll offset).
#[derive(Default)]
pub struct View {
    table: TableState,
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

/// Names of a cgroup or process are chosen by whoever made them: escaped.
fn safe(text: &str) -> String {
    kernel::escape::for_terminal(text.as_bytes())
}

fn rate(v: f64) -> String {
    format!("{v:.1}")
}

/// A sparkline of `values` in one text cell, `width` characters wide (the
/// latest at the right; gaps where nothing was called).
pub fn sparkline_text(values: impl Iterator<Item = Option<u64>>, width: usize) -> String {
    let values: Vec<Option<u64>> = values.collect();
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail.iter().flatten().copied().max().unwrap_or(0);
    let levels = [
        symbols::bar::ONE_EIGHTH,
        symbols::bar::ONE_QUARTER,
        symbols::bar::THREE_EIGHTHS,
        symbols::bar::HALF,
        symbols::bar::FIVE_EIGHTHS,
        symbols::bar::THREE_QUARTERS,
        symbols::bar::SEVEN_EIGHTHS,
        symbols::bar::FULL,
    ];
    tail.iter()
        .map(|v| match v {
            None => " ",
            Some(_) if max == 0 => levels[0],
            Some(v) => levels[((v * 7 / max) as usize).min(7)],
        })
        .collect()
}

fn sort_name(key: SortKey) -> &'static str {
    match key {
        SortKey::Count => "calls",
        SortKey::Time => "time",
        SortKey::Errors => "errors",
        SortKey::Name => "name",
    }
}

impl View {
    pub fn draw(&mut self, frame: &mut Frame, model: &Model) {
        let [header, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        frame.render_widget(Paragraph::new(self.header(model)), header);
        match model.screen {
            Screen::Cgroups => self.cgroups(frame, body, model),
            Screen::Syscalls(id) => self.syscalls(frame, body, model, id),
        }
        frame.render_widget(Paragraph::new(footer_line(model)), footer);
    }

    fn header(&self, model: &Model) -> Line<'static> {
        let mut parts = vec![Span::styled("constat --live", bold())];
        let mut text = format!("  {}", model.title);
        match model.screen {
            Screen::Cgroups => text.push_str(&format!(
                "  {} cgroup{}",
                model.cgroups_seen(),
                if model.cgroups_seen() == 1 { "" } else { "s" }
            )),
            Screen::Syscalls(_) => {}
        }
        text.push_str(&format!(
            "  interval {:.2}s  sort: {}",
            model.covered.as_secs_f64(),
            sort_name(model.sort)
        ));
        if let Some((at, of)) = model.position {
            text.push_str(&format!("  report {}/{of}", at + 1));
        }
        if !model.filter.is_empty() && !model.editing_filter {
            text.push_str(&format!("  filter: {}", safe(&model.filter)));
        }
        parts.push(Span::raw(text));
        if model.dropped > 0 {
            parts.push(Span::styled(
                format!("  {} updates dropped", model.dropped),
                bold(),
            ));
        }
        Line::from(parts)
    }

    fn cgroups(&mut self, frame: &mut Frame, area: Rect, model: &Model) {
        let rows = model.rows();
        let total_ns = model.last_elapsed_ns();
        let header = Row::new([
            "CONTAINER",
            "CALLS/s",
            "ERRORS/s",
            "TIME%",
            "BUSIEST",
            "CALLS",
            "ERRORS",
            "DENIED",
        ])
        .style(bold());
        let body: Vec<Row> = rows
            .iter()
            .map(|c: &&CgroupState| {
                Row::new([
                    safe(&c.name),
                    rate(model.rate(c.last.calls)),
                    rate(model.rate(c.last.errors)),
                    pct(c.last.elapsed_ns, total_ns),
                    c.busiest.clone().unwrap_or_default(),
                    c.calls.to_string(),
                    c.errors.to_string(),
                    c.denied.to_string(),
                ])
            })
            .collect();
        let widths = [
            Constraint::Fill(1),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(22),
            Constraint::Length(11),
            Constraint::Length(9),
            Constraint::Length(7),
        ];
        self.table.select(model.selected_index());
        let table = Table::new(body, widths)
            .header(header)
            .column_spacing(2)
            .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
            .highlight_symbol("> ");
        frame.render_stateful_widget(table, area, &mut self.table);
    }

    /// One cgroup's screen: what it is, its syscalls, and the latency of
    /// the selected one over time.
    fn syscalls(&mut self, frame: &mut Frame, area: Rect, model: &Model, id: u64) {
        let Some(cg) = model.cgroup(id) else {
            return;
        };
        let [about, table_area, spark_area] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(3),
            Constraint::Length(6),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(about_cgroup(model, cg)), about);
        if !cg.detailed {
            let text = format!(
                "This recording has one row per cgroup, not its syscalls (record with \
                 --by-syscall, or with --live --record, to have them). Busiest syscall: {}.",
                cg.busiest.as_deref().unwrap_or("none")
            );
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), table_area);
            return;
        }
        self.table.select(model.selected_index());
        let table = syscall_table(model, id);
        frame.render_stateful_widget(table, table_area, &mut self.table);
        if let Some(s) = model.selected_syscall() {
            frame.render_widget(latency_sparkline(s, spark_area.width), spark_area);
        }
    }
}

/// Sparkline columns in the syscall table.
const SPARK_WIDTH: usize = 20;

/// The lines above a cgroup's syscalls: its name, path and rates.
fn about_cgroup(model: &Model, cg: &CgroupState) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(vec![
        Span::styled(safe(&cg.name), bold()),
        Span::raw(format!(
            "  {}  calls/s {}  errors/s {}  since start: {} calls, {} errors, {} denied",
            if cg.path == cg.name {
                String::new()
            } else {
                safe(&cg.path)
            },
            rate(model.rate(cg.last.calls)),
            rate(model.rate(cg.last.errors)),
            cg.calls,
            cg.errors,
            cg.denied
        )),
    ])];
    if let Some(name) = &model.waiting_for {
        lines.push(Line::from(format!(
            "waiting for the first call of {}",
            safe(name)
        )));
    }
    lines
}

/// One cgroup's syscalls as a table, one row each.
fn syscall_table(model: &Model, id: u64) -> Table<'static> {
    let header = Row::new([
        "SYSCALL", "CALLS/s", "COUNT", "ERRORS", "ERRNO", "TIME(ms)", "AVG(us)", "MAX(us)",
        "LATENCY",
    ])
    .style(bold());
    let body: Vec<Row> = model
        .syscall_rows(id)
        .iter()
        .map(|s| {
            Row::new([
                Cell::from(s.name.clone()),
                Cell::from(rate(model.rate(s.last.count))),
                Cell::from(s.count.to_string()),
                Cell::from(s.errors.to_string()),
                Cell::from(s.errno.clone().unwrap_or_default()),
                Cell::from(ms(s.elapsed_ns)),
                Cell::from(us(s.avg_ns())),
                Cell::from(us(s.max_ns)),
                Cell::from(sparkline_text(s.latency.iter().copied(), SPARK_WIDTH)),
            ])
        })
        .collect();
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(10),
        Constraint::Length(11),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(12),
        Constraint::Length(11),
        Constraint::Length(12),
        Constraint::Length(SPARK_WIDTH as u16),
    ];
    Table::new(body, widths)
        .header(header)
        .column_spacing(2)
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ")
}

/// The selected syscall's mean latency per interval, as wide as fits.
fn latency_sparkline(s: &SyscallState, area_width: u16) -> Sparkline<'static> {
    let width = area_width.saturating_sub(2) as usize;
    let history: Vec<Option<u64>> = s.latency.iter().copied().collect();
    let tail = history[history.len().saturating_sub(width)..].to_vec();
    let max = tail.iter().flatten().copied().max().unwrap_or(0);
    let title = format!(
        " mean latency of {} per interval, last {} (max {} us) ",
        s.name,
        tail.len(),
        us(max)
    );
    Sparkline::default()
        .block(Block::default().borders(Borders::ALL).title(title))
        .data(tail)
}

fn footer_line(model: &Model) -> Line<'static> {
    if model.editing_filter {
        return Line::from(vec![
            Span::styled("filter: ", bold()),
            Span::raw(format!("{}_", safe(&model.filter))),
            Span::raw("   Enter keep  Esc clear"),
        ]);
    }
    let mut spans = vec![Span::raw("q quit  ↑↓ select  ")];
    match model.screen {
        Screen::Cgroups => spans.push(Span::raw("Enter syscalls  / filter  ")),
        Screen::Syscalls(_) => spans.push(Span::raw("Esc back  / filter  ")),
    }
    if model.position.is_some() {
        spans.push(Span::raw("←→ report  "));
    }
    spans.push(Span::raw("sort:"));
    for (key, sort, label) in [
        ('c', SortKey::Count, "calls"),
        ('t', SortKey::Time, "time"),
        ('e', SortKey::Errors, "errors"),
        ('n', SortKey::Name, "name"),
    ] {
        let text = format!(" {key} {label}");
        if model.sort == sort {
            spans.push(Span::styled(format!("{text}*"), bold()));
        } else {
            spans.push(Span::raw(text));
        }
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::super::model::{CgroupCounts, Interval, SyscallCounts};
    use super::*;

    fn screen_text(model: &Model, view: &mut View) -> String {
        let mut terminal = Terminal::new(TestBackend::new(130, 20)).unwrap();
        terminal.draw(|f| view.draw(f, model)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    #[test]
    fn draws_rows_keys_and_the_drill_down() {
        let mut model = Model::new(SortKey::Count);
        model.title = "every cgroup of the host".into();
        model.push(Interval {
            covered: Duration::from_secs(2),
            dropped: 0,
            cgroups: vec![CgroupCounts {
                id: 9,
                name: "web\x1b[2J".into(),
                path: "/docker/abc".into(),
                calls: 4000,
                errors: 2,
                elapsed_ns: 8_000_000,
                busiest: Some("getppid".into()),
                syscalls: Some(vec![SyscallCounts {
                    name: "getppid".into(),
                    count: 4000,
                    errors: 2,
                    errno: Some("ENOENT".into()),
                    elapsed_ns: 8_000_000,
                    max_ns: 9000,
                    ..SyscallCounts::default()
                }]),
                ..CgroupCounts::default()
            }],
        });
        let mut view = View::default();
        let text = screen_text(&model, &mut view);
        assert!(text.contains("CONTAINER"), "{text}");
        assert!(text.contains("> web\\e[2J"), "escaped and selected: {text}");
        assert!(text.contains("2000.0"), "calls/s: {text}");
        assert!(
            text.contains("sort: c calls* t time e errors n name"),
            "{text}"
        );
        model.handle(cli::terminal::Input::Enter);
        let text = screen_text(&model, &mut view);
        assert!(text.contains("SYSCALL"), "{text}");
        assert!(text.contains("ENOENT"), "{text}");
        assert!(text.contains("2.000"), "avg us: {text}");
        assert!(text.contains("mean latency of getppid"), "{text}");
    }

    #[test]
    fn sparkline_scales_to_the_largest() {
        let s = sparkline_text([Some(1), None, Some(8), Some(4)].into_iter(), 10);
        assert_eq!(s, "▁ █▄");
        assert_eq!(sparkline_text([Some(5)].into_iter(), 0), "");
    }
}
