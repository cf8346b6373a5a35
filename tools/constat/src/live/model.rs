//! The state of the live view, without a terminal: every cgroup seen so
//! far with its last interval and its totals since the start, per-syscall
//! details with a latency history, and what the user chose (sort, filter,
//! selection, the screen). Fed one [`Interval`] per refresh; keys arrive as
//! [`Input`]s. The view module only reads it.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use cli::terminal::Input;

use crate::report::SortKey;

/// Latency history kept per syscall: one value per interval.
pub const HISTORY: usize = 60;

/// One syscall of one cgroup in one interval.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyscallCounts {
    pub name: String,
    pub count: u64,
    pub errors: u64,
    pub denied: u64,
    /// errno name of a failure in the interval (the report's ERRNO).
    pub errno: Option<String>,
    pub elapsed_ns: u64,
    pub max_ns: u64,
}

/// One cgroup in one interval.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupCounts {
    pub id: u64,
    /// How the view names it: the container's label, else the path.
    pub name: String,
    /// Path relative to the cgroup2 mount.
    pub path: String,
    pub calls: u64,
    pub errors: u64,
    pub denied: u64,
    pub elapsed_ns: u64,
    /// The syscall with most calls in the interval.
    pub busiest: Option<String>,
    /// Per syscall; `None` when the data has cgroup totals only (a replayed
    /// one-row-per-cgroup report).
    pub syscalls: Option<Vec<SyscallCounts>>,
}

/// What one refresh brings.
#[derive(Clone, Debug, Default)]
pub struct Interval {
    /// Time the counts cover.
    pub covered: Duration,
    pub cgroups: Vec<CgroupCounts>,
    /// What the kernel side could not record in it.
    pub dropped: u64,
}

/// Running state of one syscall of one cgroup.
#[derive(Clone, Debug, Default)]
pub struct SyscallState {
    pub name: String,
    /// The last interval's counts (zero when it made none).
    pub last: SyscallCounts,
    pub count: u64,
    pub errors: u64,
    pub denied: u64,
    pub elapsed_ns: u64,
    pub max_ns: u64,
    /// The errno of the latest interval that had failures.
    pub errno: Option<String>,
    /// Mean latency per interval, oldest first (`None`: no calls then).
    pub latency: VecDeque<Option<u64>>,
}

impl SyscallState {
    /// Mean time per call that ran (denied calls never ran).
    pub fn avg_ns(&self) -> u64 {
        self.elapsed_ns
            .checked_div(self.count.saturating_sub(self.denied))
            .unwrap_or(0)
    }
}

/// Running state of one cgroup.
#[derive(Clone, Debug, Default)]
pub struct CgroupState {
    pub id: u64,
    pub name: String,
    pub path: String,
    /// The last interval's counts (zero when it made none).
    pub last: CgroupCounts,
    pub calls: u64,
    pub errors: u64,
    pub denied: u64,
    pub elapsed_ns: u64,
    /// The busiest syscall of the latest interval with calls.
    pub busiest: Option<String>,
    pub syscalls: BTreeMap<String, SyscallState>,
    /// Some interval carried per-syscall counts.
    pub detailed: bool,
}

/// Which screen is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// One row per cgroup.
    Cgroups,
    /// One cgroup's syscalls.
    Syscalls(u64),
}

/// What a key asks of the program around the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    /// The screen changed: draw again.
    Redraw,
    Quit,
    /// Replay: show the report `n` steps later (negative: earlier).
    Step(isize),
}

/// The whole live view.
#[derive(Debug)]
pub struct Model {
    cgroups: BTreeMap<u64, CgroupState>,
    pub sort: SortKey,
    pub screen: Screen,
    /// The selected cgroup (by id, so it stays put when rows move).
    selected: Option<u64>,
    /// The selected syscall on the syscalls screen (by name).
    selected_syscall: Option<String>,
    /// Case-insensitive substring of the cgroup names shown.
    pub filter: String,
    /// `/` was pressed: keys go to the filter until Enter or Esc.
    pub editing_filter: bool,
    pub intervals: u64,
    /// Time the last interval covered.
    pub covered: Duration,
    /// Updates the kernel side dropped, in all.
    pub dropped: u64,
    /// Replay: which report is shown, of how many.
    pub position: Option<(usize, usize)>,
    /// The view opened on a cgroup (`-c`) that has made no call yet.
    pub waiting_for: Option<String>,
    /// What is shown, for the header (`every cgroup of the host`, a file).
    pub title: String,
}

impl Model {
    pub fn new(sort: SortKey) -> Self {
        Self {
            cgroups: BTreeMap::new(),
            sort,
            screen: Screen::Cgroups,
            selected: None,
            selected_syscall: None,
            filter: String::new(),
            editing_filter: false,
            intervals: 0,
            covered: Duration::ZERO,
            dropped: 0,
            position: None,
            waiting_for: None,
            title: String::new(),
        }
    }

    /// Opens on the syscalls of cgroup `id` (`-c`), named `name` until its
    /// first call brings the resolved name.
    pub fn open_on(&mut self, id: u64, name: &str, path: &str) {
        let state = self.cgroups.entry(id).or_insert_with(|| CgroupState {
            id,
            name: name.to_string(),
            path: path.to_string(),
            ..CgroupState::default()
        });
        state.detailed = true;
        self.selected = Some(id);
        self.screen = Screen::Syscalls(id);
    }

    /// Adds one refresh: the last-interval columns are replaced, totals and
    /// histories grow.
    pub fn push(&mut self, interval: Interval) {
        self.intervals += 1;
        self.covered = interval.covered;
        self.dropped += interval.dropped;
        let mut seen = std::collections::HashSet::new();
        for c in interval.cgroups {
            seen.insert(c.id);
            let state = self.cgroups.entry(c.id).or_insert_with(|| CgroupState {
                id: c.id,
                ..CgroupState::default()
            });
            state.name.clone_from(&c.name);
            state.path.clone_from(&c.path);
            state.calls += c.calls;
            state.errors += c.errors;
            state.denied += c.denied;
            state.elapsed_ns += c.elapsed_ns;
            if c.busiest.is_some() {
                state.busiest.clone_from(&c.busiest);
            }
            let mut touched = std::collections::HashSet::new();
            if let Some(syscalls) = &c.syscalls {
                state.detailed = true;
                for s in syscalls {
                    touched.insert(s.name.clone());
                    let sc = state.syscalls.entry(s.name.clone()).or_default();
                    sc.name.clone_from(&s.name);
                    sc.count += s.count;
                    sc.errors += s.errors;
                    sc.denied += s.denied;
                    sc.elapsed_ns += s.elapsed_ns;
                    sc.max_ns = sc.max_ns.max(s.max_ns);
                    if s.errno.is_some() {
                        sc.errno.clone_from(&s.errno);
                    }
                    let ran = s.count.saturating_sub(s.denied);
                    push_history(&mut sc.latency, s.elapsed_ns.checked_div(ran));
                    sc.last = s.clone();
                }
            }
            for (name, sc) in state.syscalls.iter_mut() {
                if !touched.contains(name) {
                    sc.last = SyscallCounts::default();
                    push_history(&mut sc.latency, None);
                }
            }
            state.last = CgroupCounts {
                syscalls: None,
                ..c
            };
        }
        for (id, state) in self.cgroups.iter_mut() {
            if !seen.contains(id) {
                state.last = CgroupCounts::default();
                for sc in state.syscalls.values_mut() {
                    sc.last = SyscallCounts::default();
                    push_history(&mut sc.latency, None);
                }
            }
        }
        if let Some(id) = self.waiting_for_id() {
            if self.cgroups.get(&id).is_some_and(|c| c.calls > 0) {
                self.waiting_for = None;
            }
        }
    }

    fn waiting_for_id(&self) -> Option<u64> {
        self.waiting_for.as_ref()?;
        match self.screen {
            Screen::Syscalls(id) => Some(id),
            Screen::Cgroups => None,
        }
    }

    /// Per second, over the last interval.
    pub fn rate(&self, n: u64) -> f64 {
        let secs = self.covered.as_secs_f64();
        if secs > 0.0 {
            n as f64 / secs
        } else {
            0.0
        }
    }

    /// Time of the last interval, all cgroups.
    pub fn last_elapsed_ns(&self) -> u64 {
        self.cgroups.values().map(|c| c.last.elapsed_ns).sum()
    }

    pub fn cgroup(&self, id: u64) -> Option<&CgroupState> {
        self.cgroups.get(&id)
    }

    /// How many cgroups were seen.
    pub fn cgroups_seen(&self) -> usize {
        self.cgroups.len()
    }

    /// The cgroup rows shown: filtered, sorted.
    pub fn rows(&self) -> Vec<&CgroupState> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&CgroupState> = self
            .cgroups
            .values()
            .filter(|c| {
                needle.is_empty()
                    || c.name.to_lowercase().contains(&needle)
                    || c.path.to_lowercase().contains(&needle)
            })
            .collect();
        let by_name =
            |a: &&CgroupState, b: &&CgroupState| a.name.cmp(&b.name).then(a.id.cmp(&b.id));
        match self.sort {
            SortKey::Name => rows.sort_by(by_name),
            key => rows.sort_by(|a, b| {
                let (x, y) = (weight(key, &a.last, a), weight(key, &b.last, b));
                y.cmp(&x).then_with(|| by_name(a, b))
            }),
        }
        rows
    }

    /// The syscall rows of cgroup `id`, sorted like the cgroups.
    pub fn syscall_rows(&self, id: u64) -> Vec<&SyscallState> {
        let Some(state) = self.cgroups.get(&id) else {
            return Vec::new();
        };
        let mut rows: Vec<&SyscallState> = state.syscalls.values().collect();
        let key = |s: &SyscallState| match self.sort {
            SortKey::Count | SortKey::Name => (s.last.count, s.count),
            SortKey::Time => (s.last.elapsed_ns, s.elapsed_ns),
            SortKey::Errors => (s.last.errors, s.errors),
        };
        match self.sort {
            SortKey::Name => rows.sort_by(|a, b| a.name.cmp(&b.name)),
            _ => rows.sort_by(|a, b| key(b).cmp(&key(a)).then(a.name.cmp(&b.name))),
        }
        rows
    }

    /// Index of the selected row on the current screen, if any row is.
    pub fn selected_index(&self) -> Option<usize> {
        match self.screen {
            Screen::Cgroups => {
                let rows = self.rows();
                if rows.is_empty() {
                    return None;
                }
                let at = self
                    .selected
                    .and_then(|id| rows.iter().position(|c| c.id == id));
                Some(at.unwrap_or(0))
            }
            Screen::Syscalls(id) => {
                let rows = self.syscall_rows(id);
                if rows.is_empty() {
                    return None;
                }
                let at = self
                    .selected_syscall
                    .as_ref()
                    .and_then(|n| rows.iter().position(|s| &s.name == n));
                Some(at.unwrap_or(0))
            }
        }
    }

    /// The syscall selected on the syscalls screen.
    pub fn selected_syscall(&self) -> Option<&SyscallState> {
        let Screen::Syscalls(id) = self.screen else {
            return None;
        };
        let index = self.selected_index()?;
        self.syscall_rows(id).into_iter().nth(index)
    }

    /// Moves the selection by `delta` rows (clamped).
    fn move_selection(&mut self, delta: isize) {
        let Some(current) = self.selected_index() else {
            return;
        };
        let len = match self.screen {
            Screen::Cgroups => self.rows().len(),
            Screen::Syscalls(id) => self.syscall_rows(id).len(),
        };
        let next = current
            .saturating_add_signed(delta)
            .min(len.saturating_sub(1));
        match self.screen {
            Screen::Cgroups => self.selected = self.rows().get(next).map(|c| c.id),
            Screen::Syscalls(id) => {
                self.selected_syscall = self.syscall_rows(id).get(next).map(|s| s.name.clone())
            }
        }
    }

    /// Applies one key.
    pub fn handle(&mut self, input: Input) -> Action {
        if input == Input::Resize {
            return Action::Redraw;
        }
        if input == Input::Interrupt {
            return Action::Quit;
        }
        if self.editing_filter {
            match input {
                Input::Char(c) => self.filter.push(c),
                Input::Backspace => {
                    self.filter.pop();
                }
                Input::Enter => self.editing_filter = false,
                Input::Esc => {
                    self.filter.clear();
                    self.editing_filter = false;
                }
                _ => return Action::None,
            }
            self.selected = None;
            return Action::Redraw;
        }
        const PAGE: isize = 10;
        match input {
            Input::Char('q') | Input::Char('Q') => return Action::Quit,
            Input::Char('c') => self.sort = SortKey::Count,
            Input::Char('t') => self.sort = SortKey::Time,
            Input::Char('e') => self.sort = SortKey::Errors,
            Input::Char('n') => self.sort = SortKey::Name,
            Input::Char('/') => {
                // A new filter, as a new search in less or htop.
                self.filter.clear();
                self.editing_filter = true;
                self.screen = Screen::Cgroups;
            }
            Input::Up | Input::Char('k') => self.move_selection(-1),
            Input::Down | Input::Char('j') => self.move_selection(1),
            Input::PageUp => self.move_selection(-PAGE),
            Input::PageDown => self.move_selection(PAGE),
            Input::Home => self.move_selection(isize::MIN / 2),
            Input::End => self.move_selection(isize::MAX / 2),
            Input::Enter => {
                if self.screen == Screen::Cgroups {
                    let rows = self.rows();
                    if let Some(c) = self.selected_index().and_then(|i| rows.get(i)) {
                        let id = c.id;
                        self.selected = Some(id);
                        self.selected_syscall = None;
                        self.screen = Screen::Syscalls(id);
                    }
                }
            }
            Input::Esc | Input::Backspace => {
                self.screen = Screen::Cgroups;
                self.waiting_for = None;
            }
            Input::Right | Input::Char(' ') if self.position.is_some() => return Action::Step(1),
            Input::Left if self.position.is_some() => return Action::Step(-1),
            _ => return Action::None,
        }
        Action::Redraw
    }

    /// Replay: the state before any report, keeping the user's choices.
    pub fn reset_data(&mut self) {
        self.cgroups.clear();
        self.intervals = 0;
        self.covered = Duration::ZERO;
        self.dropped = 0;
    }
}

fn weight(key: SortKey, last: &CgroupCounts, all: &CgroupState) -> (u64, u64) {
    match key {
        SortKey::Count | SortKey::Name => (last.calls, all.calls),
        SortKey::Time => (last.elapsed_ns, all.elapsed_ns),
        SortKey::Errors => (last.errors, all.errors),
    }
}

fn push_history(history: &mut VecDeque<Option<u64>>, value: Option<u64>) {
    if history.len() == HISTORY {
        history.pop_front();
    }
    history.push_back(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cg(id: u64, name: &str, calls: u64, errors: u64, ns: u64) -> CgroupCounts {
        CgroupCounts {
            id,
            name: name.into(),
            path: format!("/{name}"),
            calls,
            errors,
            elapsed_ns: ns,
            busiest: Some("read".into()),
            syscalls: Some(vec![SyscallCounts {
                name: "read".into(),
                count: calls,
                errors,
                elapsed_ns: ns,
                max_ns: ns,
                ..SyscallCounts::default()
            }]),
            ..CgroupCounts::default()
        }
    }

    fn interval(cgroups: Vec<CgroupCounts>) -> Interval {
        Interval {
            covered: Duration::from_secs(2),
            cgroups,
            dropped: 0,
        }
    }

    fn names(m: &Model) -> Vec<&str> {
        m.rows().iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn keys_sort_filter_select_and_drill_down() {
        let mut m = Model::new(SortKey::Count);
        m.push(interval(vec![
            cg(1, "web", 100, 0, 10),
            cg(2, "db", 10, 5, 1000),
            cg(3, "cache", 50, 1, 100),
        ]));
        assert_eq!(names(&m), ["web", "cache", "db"]);
        assert_eq!(m.rate(100), 50.0);
        m.handle(Input::Char('e'));
        assert_eq!(names(&m), ["db", "cache", "web"]);
        m.handle(Input::Char('t'));
        assert_eq!(names(&m), ["db", "cache", "web"]);
        m.handle(Input::Char('n'));
        assert_eq!(names(&m), ["cache", "db", "web"]);
        assert_eq!(m.selected_index(), Some(0));
        m.handle(Input::Down);
        m.handle(Input::Down);
        m.handle(Input::Down);
        assert_eq!(m.selected_index(), Some(2), "clamped at the end");
        m.handle(Input::Char('c'));
        assert_eq!(m.selected_index(), Some(0), "the selection follows web");
        assert_eq!(m.handle(Input::Enter), Action::Redraw);
        assert_eq!(m.screen, Screen::Syscalls(1));
        assert_eq!(m.syscall_rows(1)[0].count, 100);
        m.handle(Input::Esc);
        assert_eq!(m.screen, Screen::Cgroups);

        m.handle(Input::Char('/'));
        for c in "DB".chars() {
            m.handle(Input::Char(c));
        }
        assert_eq!(names(&m), ["db"]);
        assert_eq!(
            m.handle(Input::Char('q')),
            Action::Redraw,
            "typed, not quit"
        );
        m.handle(Input::Backspace);
        m.handle(Input::Enter);
        assert!(!m.editing_filter);
        assert_eq!(m.filter, "DB");
        assert_eq!(names(&m), ["db"]);
        m.handle(Input::Char('/'));
        m.handle(Input::Esc);
        assert_eq!(names(&m).len(), 3);
        assert_eq!(m.handle(Input::Char('q')), Action::Quit);
        assert_eq!(m.handle(Input::Interrupt), Action::Quit);
    }

    #[test]
    fn totals_grow_and_idle_intervals_are_zero() {
        let mut m = Model::new(SortKey::Count);
        m.push(interval(vec![cg(1, "web", 100, 2, 1000)]));
        m.push(interval(vec![cg(1, "web", 50, 0, 500)]));
        m.push(interval(vec![]));
        let web = m.cgroup(1).unwrap();
        assert_eq!((web.calls, web.errors, web.last.calls), (150, 2, 0));
        let read = &web.syscalls["read"];
        assert_eq!(read.count, 150);
        assert_eq!(read.avg_ns(), 10);
        assert_eq!(
            read.latency.iter().copied().collect::<Vec<_>>(),
            [Some(10), Some(10), None]
        );
    }

    #[test]
    fn opening_on_a_cgroup_shows_its_syscalls() {
        let mut m = Model::new(SortKey::Count);
        m.open_on(7, "ctr", "/ctr");
        m.waiting_for = Some("ctr".into());
        assert_eq!(m.screen, Screen::Syscalls(7));
        m.push(interval(vec![cg(7, "ctr", 3, 0, 3)]));
        assert_eq!(m.waiting_for, None);
        assert_eq!(m.selected_syscall().unwrap().name, "read");
        m.position = Some((0, 3));
        assert_eq!(m.handle(Input::Right), Action::Step(1));
        assert_eq!(m.handle(Input::Left), Action::Step(-1));
    }
}
