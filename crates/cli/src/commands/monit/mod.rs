//! `pm2 monit` (`dashboard`, `dash`): a terminal dashboard over the same
//! client as the rest of the CLI. The list comes from the daemon's `list`
//! about once a second, the logs from its bus as `pm2 logs` reads them.
//!
//! - [`board`]: what is shown (list, selection, bounded logs), no terminal.
//! - [`view`]: how it is drawn (ratatui).
//! - this module: the terminal (raw mode and alternate screen, given back on
//!   every way out, panics included) and the event loop.

mod board;
mod view;

use super::{connect, logs, Ctx, Failure, Outcome};
use crate::{listing, output};
use board::Board;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use pm2_client::bus::BusClient;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often the process list is asked for again.
const REFRESH: Duration = Duration::from_secs(1);
/// Log events are drawn in batches at most this often, so a log flood does
/// not turn into a redraw per line.
const LOG_REDRAW: Duration = Duration::from_millis(100);
/// Lines read from a process's log file the first time it is shown.
const TAIL_LINES: usize = 20;

pub async fn run(ctx: &Ctx) -> Outcome {
    if !output::is_tty(0) || !output::is_tty(1) {
        return Err(Failure::Error(
            "pm2 monit needs a terminal (stdin and stdout must be a TTY)".into(),
        ));
    }
    let client = connect(ctx, true).await?;
    let mut board = Board::default();
    board.set_list(client.list().await?);
    let mut bus = BusClient::connect(&client.paths.pub_sock).await.ok();

    let _terminal_back = TerminalGuard::enter()
        .map_err(|e| Failure::Error(format!("Cannot set up the terminal: {e}")))?;
    let mut term = Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .map_err(|e| Failure::Error(format!("Cannot set up the terminal: {e}")))?;
    let mut keys = terminal_events();
    let mut stop = stop_signals()?;
    let mut refresh = tokio::time::interval(REFRESH);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut log_redraw = tokio::time::interval(LOG_REDRAW);
    let mut dirty = true;

    loop {
        if dirty {
            read_tail_of_selected(&mut board);
            let now = listing::now_ms();
            term.draw(|f| view::draw(f, &board, now))
                .map_err(|e| Failure::Error(format!("Cannot draw: {e}")))?;
            dirty = false;
        }
        tokio::select! {
            event = keys.recv() => match event {
                Some(Event::Key(key)) if key.kind != KeyEventKind::Release => {
                    match key_action(key) {
                        KeyAction::Quit => break,
                        KeyAction::Move(delta) => {
                            board.move_selection(delta);
                            dirty = true;
                        }
                        KeyAction::None => {}
                    }
                }
                Some(Event::Resize(..)) => {
                    let _ = term.autoresize();
                    dirty = true;
                }
                Some(_) => {}
                // The terminal is gone (hung up): nothing left to show.
                None => break,
            },
            _ = stop.recv() => break,
            _ = refresh.tick() => {
                match client.list().await {
                    Ok(list) => board.set_list(list),
                    Err(e) => board.problem = Some(format!("PM2 daemon not reachable: {e}")),
                }
                dirty = true;
            }
            Some((event, packet)) = next_bus_event(&mut bus) => {
                on_bus_event(&mut board, &event, &packet);
            }
            _ = log_redraw.tick() => {
                // Logs that came in since the last draw.
                dirty = board_changed_by_logs(&mut board);
            }
        }
    }
    drop(term);
    Ok(())
}

/// Log lines arrived since the last draw.
fn board_changed_by_logs(board: &mut Board) -> bool {
    std::mem::take(&mut board.logs_arrived)
}

fn on_bus_event(board: &mut Board, event: &str, packet: &Value) {
    let err = match event {
        "log:out" => false,
        "log:err" => true,
        _ => return,
    };
    let Some(id) = pm2_client::target::pm_id(&packet["process"]) else {
        return;
    };
    board.push_log(id, err, packet["data"].as_str().unwrap_or(""));
    board.logs_arrived = true;
}

/// The next bus event; pending forever once the bus is gone (the daemon
/// stopped), so the loop goes on with the list refreshes only.
async fn next_bus_event(bus: &mut Option<BusClient>) -> Option<(String, Value)> {
    match bus {
        Some(b) => match b.next().await {
            Some(ev) => Some(ev),
            None => {
                *bus = None;
                std::future::pending().await
            }
        },
        None => std::future::pending().await,
    }
}

/// The selected app's recent lines from its out log, the first time it is
/// shown: what it printed before the dashboard opened.
fn read_tail_of_selected(board: &mut Board) {
    let Some(p) = board.selected() else { return };
    let Some(id) = pm2_client::target::pm_id(p) else {
        return;
    };
    if board.has_logs(id) {
        return;
    }
    let path = listing::env(p, "pm_out_log_path")
        .as_str()
        .map(String::from);
    let lines = path
        .map(|f| logs::tail(std::path::Path::new(&f), TAIL_LINES))
        .unwrap_or_default();
    board.push_tail(id, &lines);
}

enum KeyAction {
    Quit,
    Move(isize),
    None,
}

fn key_action(key: KeyEvent) -> KeyAction {
    match key.code {
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => KeyAction::Quit,
        KeyCode::Char('q') | KeyCode::Esc => KeyAction::Quit,
        KeyCode::Down | KeyCode::Char('j') => KeyAction::Move(1),
        KeyCode::Up | KeyCode::Char('k') => KeyAction::Move(-1),
        KeyCode::PageDown => KeyAction::Move(10),
        KeyCode::PageUp => KeyAction::Move(-10),
        KeyCode::Home => KeyAction::Move(isize::MIN / 2),
        KeyCode::End => KeyAction::Move(isize::MAX / 2),
        _ => KeyAction::None,
    }
}

/// Terminal events, read on a thread of their own (crossterm's reads block).
fn terminal_events() -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::spawn(move || {
        while let Ok(event) = crossterm::event::read() {
            if tx.blocking_send(event).is_err() {
                break;
            }
        }
    });
    rx
}

/// SIGTERM and SIGHUP end the dashboard like `q` does, so the terminal is
/// given back (raw mode turns Ctrl-C into a key, handled above).
fn stop_signals() -> Result<mpsc::Receiver<()>, Failure> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(|e| Failure::Error(e.to_string()))?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| Failure::Error(e.to_string()))?;
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(()).await;
    });
    Ok(rx)
}

/// Raw mode, the alternate screen and a hidden cursor while alive; the
/// terminal as it was once dropped, and on a panic before the panic message.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> std::io::Result<TerminalGuard> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
        crossterm::terminal::enable_raw_mode()?;
        let guard = TerminalGuard;
        crossterm::execute!(
            std::io::stdout(),
            crossterm::terminal::EnterAlternateScreen,
            crossterm::cursor::Hide
        )?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn restore_terminal() {
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(
        out,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_move_and_quit() {
        let key = |code, modifiers| key_action(KeyEvent::new(code, modifiers));
        let none = KeyModifiers::NONE;
        assert!(matches!(key(KeyCode::Char('j'), none), KeyAction::Move(1)));
        assert!(matches!(key(KeyCode::Down, none), KeyAction::Move(1)));
        assert!(matches!(key(KeyCode::Char('k'), none), KeyAction::Move(-1)));
        assert!(matches!(key(KeyCode::Up, none), KeyAction::Move(-1)));
        for quit in [
            key(KeyCode::Char('q'), none),
            key(KeyCode::Esc, none),
            key(KeyCode::Char('c'), KeyModifiers::CONTROL),
        ] {
            assert!(matches!(quit, KeyAction::Quit));
        }
        assert!(matches!(key(KeyCode::Char('c'), none), KeyAction::None));
    }

    #[test]
    fn log_events_go_to_their_process() {
        let mut board = Board::default();
        board.set_list(vec![json!({"pm_id": 3, "name": "a", "pm2_env": {}})]);
        on_bus_event(
            &mut board,
            "log:err",
            &json!({"process": {"pm_id": 3, "name": "a"}, "data": "boom\n"}),
        );
        on_bus_event(
            &mut board,
            "process:event",
            &json!({"process": {"pm_id": 3}}),
        );
        let lines: Vec<_> = board.logs_of_selected().collect();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].err && lines[0].text == "boom");
        assert!(board_changed_by_logs(&mut board));
        assert!(!board_changed_by_logs(&mut board));
    }
}
