//! The terminal of a full-screen view (`constat --live`, `conbiograph
//! --live`): raw mode, the alternate screen and a hidden cursor for ratatui,
//! and the terminal put back however the view ends. [`TextFrames`] is the
//! whole of a view that only redraws text.
//!
//! - [`FullScreen`] restores on drop: `q`, an error, a signal-driven stop
//!   (signals reach the run loop through a `StopHandle`; the view's loop
//!   returns and drops it).
//! - A panic hook installed by [`FullScreen::enter`] restores first, so the
//!   panic message lands on the normal screen with a visible cursor.
//! - [`restore`] is also called by `cli::signals` before a second signal
//!   ends the process.
//!
//! Restoring twice is harmless: only the first call does anything.

use std::io::{self, IsTerminal, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::Duration;

use anyhow::{Context, Result};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::Terminal;

/// The ratatui terminal of a full-screen view.
pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Set while the terminal is in raw mode on the alternate screen.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// A terminal in full-screen mode, put back when dropped.
pub struct FullScreen {
    terminal: Term,
}

/// Refuses a non-terminal stdout with one line (exit status 2): a
/// full-screen view drawn into a pipe or file is escape codes, not data.
/// `flag` names the option (`--live`), `instead` what to use there.
pub fn require_terminal(flag: &str, instead: &str) -> Result<()> {
    if io::stdout().is_terminal() {
        return Ok(());
    }
    Err(kernel::exit::usage(format!(
        "{flag} draws a full-screen view and needs a terminal, but stdout is not one; {instead}"
    )))
}

impl FullScreen {
    /// Raw mode, alternate screen, hidden cursor; the panic hook that
    /// restores them is installed once per process.
    pub fn enter() -> Result<Self> {
        install_panic_hook();
        terminal::enable_raw_mode().context("switching the terminal to raw mode")?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        if let Err(e) = execute!(out, terminal::EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e).context("entering the alternate screen");
        }
        let terminal = match Terminal::new(CrosstermBackend::new(out)) {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(e).context("setting up the terminal");
            }
        };
        Ok(Self { terminal })
    }

    pub fn terminal(&mut self) -> &mut Term {
        &mut self.terminal
    }
}

impl Drop for FullScreen {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode and the alternate screen and shows the cursor, if a
/// [`FullScreen`] set them up (otherwise nothing). Errors are ignored: the
/// terminal may be gone (hang-up), and there is nothing better to do.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = terminal::disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(out, terminal::LeaveAlternateScreen, cursor::Show);
    let _ = out.flush();
}

/// Chains a hook that restores the terminal before the default one prints
/// the panic (or the message would be lost on the alternate screen).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// A thread turning `q` and Ctrl-C into a stop of a run loop, for views
/// that only draw (`conbiograph --live`: a resize shows at the next frame,
/// which ratatui draws at the new size). Ends when dropped.
pub struct QuitKeys {
    done: std::sync::Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl QuitKeys {
    pub fn watch(handle: crate::runloop::StopHandle) -> Self {
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&done);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match next_input(Duration::from_millis(100)) {
                    Ok(Some(Input::Char('q' | 'Q') | Input::Interrupt)) => {
                        handle.stop(crate::runloop::Stop::Requested);
                        return;
                    }
                    Ok(_) => {}
                    // The terminal went away: the run ends by a signal or -d.
                    Err(_) => return,
                }
            }
        });
        Self {
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for QuitKeys {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Terminal columns from $COLUMNS (set by interactive shells), else 80:
/// the width of text drawn for a terminal when the terminal itself is
/// not asked (a pipe, a final report).
pub fn columns() -> u32 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c: &u32| c >= 40)
        .unwrap_or(80)
}

/// A view that redraws one text frame at a time (`conbiograph --live`):
/// full screen on a terminal, where `q` and Ctrl-C stop the run; frame
/// after frame on stdout into a pipe or a file.
pub struct TextFrames {
    /// The full screen and its keys; `None` when stdout is no terminal
    /// (or the view was closed).
    screen: Option<(FullScreen, QuitKeys)>,
}

impl TextFrames {
    /// Full screen when stdout is a terminal; the keys stop the run
    /// through `handle`.
    pub fn open(handle: crate::runloop::StopHandle) -> Result<Self> {
        if !io::stdout().is_terminal() {
            return Ok(Self { screen: None });
        }
        let screen = FullScreen::enter()?;
        Ok(Self {
            screen: Some((screen, QuitKeys::watch(handle))),
        })
    }

    /// Draws the frame `text(columns)` for the screen's width, with
    /// `footer` below it on the screen; printed for [`columns`] otherwise.
    pub fn draw(&mut self, text: impl FnOnce(u32) -> String, footer: &str) -> Result<()> {
        let Some((screen, _)) = &mut self.screen else {
            return crate::output::print(&text(columns()));
        };
        screen.terminal().draw(|f| {
            let area = f.area();
            let mut frame = text(u32::from(area.width));
            frame.push_str(footer);
            f.render_widget(ratatui::widgets::Paragraph::new(frame), area);
        })?;
        Ok(())
    }

    /// Back to the normal screen (a final report prints there); later
    /// frames are printed.
    pub fn close(&mut self) {
        if let Some((screen, keys)) = self.screen.take() {
            // The keys first: nothing reads the terminal once it is restored.
            drop(keys);
            drop(screen);
        }
    }
}

/// What a full-screen view reacts to, independent of the terminal library
/// (so the views' state machines are tested without a terminal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    Char(char),
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Esc,
    Backspace,
    /// Ctrl-C: raw mode turns it into a key, not SIGINT.
    Interrupt,
    /// The terminal changed size: draw again.
    Resize,
}

/// Waits up to `timeout` for a key or a resize; `None` when nothing came
/// (or the event is one no view uses: mouse, focus, key release).
pub fn next_input(timeout: Duration) -> Result<Option<Input>> {
    if !event::poll(timeout).context("waiting for terminal input")? {
        return Ok(None);
    }
    let input = match event::read().context("reading terminal input")? {
        Event::Resize(..) => Some(Input::Resize),
        Event::Key(key) => from_key(key),
        _ => None,
    };
    Ok(input)
}

fn from_key(key: KeyEvent) -> Option<Input> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Input::Interrupt,
        KeyCode::Char(c) if !ctrl => Input::Char(c),
        KeyCode::Up => Input::Up,
        KeyCode::Down => Input::Down,
        KeyCode::Left => Input::Left,
        KeyCode::Right => Input::Right,
        KeyCode::PageUp => Input::PageUp,
        KeyCode::PageDown => Input::PageDown,
        KeyCode::Home => Input::Home,
        KeyCode::End => Input::End,
        KeyCode::Enter => Input::Enter,
        KeyCode::Esc => Input::Esc,
        KeyCode::Backspace => Input::Backspace,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_inputs() {
        let key = |code, modifiers| from_key(KeyEvent::new(code, modifiers));
        assert_eq!(
            key(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Input::Interrupt)
        );
        assert_eq!(
            key(KeyCode::Char('q'), KeyModifiers::NONE),
            Some(Input::Char('q'))
        );
        assert_eq!(key(KeyCode::F(5), KeyModifiers::NONE), None);
        assert_eq!(key(KeyCode::Enter, KeyModifiers::NONE), Some(Input::Enter));
    }

    #[test]
    fn restoring_without_a_full_screen_does_nothing() {
        // Must not touch a terminal that was never set up (tests, pipes).
        restore();
        assert!(!ACTIVE.load(Ordering::SeqCst));
    }
}
