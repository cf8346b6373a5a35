//! A real terminal for the full-screen views: a detached tmux session on a
//! server of its own (`tmux -L`), driven with `send-keys` and read with
//! `capture-pane` and tmux's pane flags (alternate screen, cursor).
//!
//! The command runs under `sh -c 'CMD; echo EXIT=$?; sleep …'`, so the
//! pane outlives the tool: its exit status is on screen and the terminal
//! state it left behind can be read. The server is killed on drop.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicUsize = AtomicUsize::new(0);

pub struct Pane {
    socket: String,
}

fn quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

impl Pane {
    /// Runs `program ARGS` (with `env` set) in a `width`×`height` pane.
    pub fn start(program: &str, args: &[&str], env: &[(&str, &str)], size: (u16, u16)) -> Self {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let socket = format!("contrace-test-{}-{n}", std::process::id());
        let mut line: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        line.push(quote(program));
        line.extend(args.iter().map(|a| quote(a)));
        let script = format!("{}; echo EXIT=$?; sleep 600", line.join(" "));
        let pane = Self { socket };
        let out = pane.tmux(&[
            "new-session",
            "-d",
            "-x",
            &size.0.to_string(),
            "-y",
            &size.1.to_string(),
            "sh",
            "-c",
            &script,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pane
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            // A server needs a terminal type even when detached (CI has none).
            .env("TERM", "xterm-256color")
            .output()
            .expect("tmux (apt package tmux; scripts/setup installs it)")
    }

    /// The visible screen, one line per row.
    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `ready`; panics with the screen.
    pub fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + crate::scaled(Duration::from_secs(60));
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Keys by tmux name (`Enter`, `Escape`, `Down`, `q`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend(keys);
        assert!(self.tmux(&args).status.success(), "send-keys {keys:?}");
    }

    /// Text typed as it is.
    pub fn type_text(&self, text: &str) {
        assert!(self.tmux(&["send-keys", "-l", "--", text]).status.success());
    }

    /// A tmux format of the pane (`#{alternate_on}`, `#{cursor_flag}`).
    pub fn flag(&self, format: &str) -> String {
        let out = self.tmux(&["display-message", "-p", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The tool's exit status, once `EXIT=` is on screen.
    pub fn exit_status(&self) -> i32 {
        let screen = self.wait_for("the tool to exit", |s| s.contains("EXIT="));
        screen
            .lines()
            .find_map(|l| l.trim().strip_prefix("EXIT="))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no status in {screen}"))
    }

    /// The alternate screen is left and the cursor is visible.
    pub fn restored(&self) -> bool {
        self.flag("#{alternate_on}") == "0" && self.flag("#{cursor_flag}") == "1"
    }

    /// Pid of the tool: the child of the pane's shell.
    pub fn tool_pid(&self) -> u32 {
        let shell: u32 = self.flag("#{pane_pid}").parse().expect("tmux pane_pid");
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .unwrap_or_default();
        children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no child of the pane's shell {shell}"))
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}
