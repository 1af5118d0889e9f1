//! Draws the dashboard: the process list and the selected app's logs on top,
//! its custom metrics and metadata below, a key help line at the bottom.
//! Sized by proportions so it fits an 80×24 terminal and grows with a larger one.

use super::board::{self, Board};
use crate::listing;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, board: &Board, now: u64) {
    let [top, bottom, footer] = Layout::vertical([
        Constraint::Percentage(45),
        Constraint::Min(6),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let [list_area, logs_area] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Min(20)]).areas(top);
    // A little wider than the list: metric names run long (`Event Loop Latency p95`).
    let [metrics_area, meta_area] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Min(20)]).areas(bottom);

    draw_list(frame, board, list_area);
    draw_logs(frame, board, logs_area);
    draw_metrics(frame, board, metrics_area);
    draw_metadata(frame, board, meta_area, now);

    let mut help = vec![
        Span::styled(" ↑↓ j k", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(" select   "),
        Span::styled("q Esc Ctrl-C", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(" quit"),
    ];
    if let Some(problem) = &board.problem {
        help.push(Span::styled(
            format!("   {problem}"),
            Style::new().fg(Color::Red),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(help)), footer);
}

fn titled(title: String) -> Block<'static> {
    Block::bordered().title(Span::styled(
        title,
        Style::new().add_modifier(Modifier::BOLD),
    ))
}

fn status_color(status: &str) -> Color {
    match status {
        "online" => Color::Green,
        "errored" => Color::Red,
        "stopped" | "stopping" => Color::Yellow,
        _ => Color::Gray,
    }
}

fn draw_list(frame: &mut Frame, board: &Board, area: Rect) {
    let rows = board.procs().iter().map(|p| {
        let status = listing::env(p, "status").as_str().unwrap_or("");
        Row::new([
            Cell::new(listing::text(&p["pm_id"])),
            Cell::new(listing::name(p)).style(Style::new().fg(status_color(status))),
            Cell::new(listing::cpu(p)),
            Cell::new(listing::memory(p)),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(3),
            Constraint::Min(6),
            Constraint::Length(6),
            Constraint::Length(8),
        ],
    )
    .header(Row::new(["id", "name", "cpu", "mem"]).style(Style::new().fg(Color::Cyan)))
    .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
    .block(titled(" Process List ".into()));
    let mut state = TableState::default().with_selected(board.selected_index());
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_logs(frame: &mut Frame, board: &Board, area: Rect) {
    let name = board.selected().map(listing::name).unwrap_or_default();
    let height = area.height.saturating_sub(2) as usize;
    let lines: Vec<_> = board.logs_of_selected().collect();
    let shown = lines[lines.len().saturating_sub(height)..]
        .iter()
        .map(|l| {
            let style = if l.err {
                Style::new().fg(Color::Red)
            } else {
                Style::new()
            };
            Line::styled(l.text.clone(), style)
        })
        .collect::<Vec<_>>();
    frame.render_widget(
        Paragraph::new(shown).block(titled(format!(" {name} Logs "))),
        area,
    );
}

fn key_value_table(rows: Vec<(String, String)>, key_width: u16, title: &str) -> Table<'static> {
    Table::new(
        rows.into_iter().map(|(k, v)| {
            Row::new([
                Cell::new(k).style(Style::new().fg(Color::Cyan)),
                Cell::new(v),
            ])
        }),
        [Constraint::Length(key_width), Constraint::Min(4)],
    )
    .block(titled(title.to_string()))
}

fn draw_metrics(frame: &mut Frame, board: &Board, area: Rect) {
    let rows = board.selected().map(board::metrics).unwrap_or_default();
    let widest = |f: fn(&(String, String)) -> &String| {
        rows.iter().map(|r| f(r).chars().count()).max().unwrap_or(0) as u16
    };
    // Names as wide as the values leave room for (values are short: `4.7 MiB`),
    // and at least half the pane.
    let inner = area.width.saturating_sub(2);
    let room = inner.saturating_sub(widest(|r| &r.1) + 1).max(inner / 2);
    let key_width = widest(|r| &r.0).min(room);
    frame.render_widget(key_value_table(rows, key_width, " Custom Metrics "), area);
}

fn draw_metadata(frame: &mut Frame, board: &Board, area: Rect, now: u64) {
    // Paths are told apart by their end: a long value keeps its tail.
    let room = area.width.saturating_sub(2 + 17 + 1) as usize;
    let rows: Vec<(String, String)> = board
        .selected()
        .map(|p| {
            board::metadata(p, now)
                .into_iter()
                .map(|(k, v)| (k.to_string(), keep_tail(&v, room)))
                .collect()
        })
        .unwrap_or_default();
    frame.render_widget(key_value_table(rows, 17, " Metadata "), area);
}

/// `value`, or `…` and its last characters when it is wider than `room`.
fn keep_tail(value: &str, room: usize) -> String {
    let len = value.chars().count();
    if len <= room || room == 0 {
        return value.to_string();
    }
    let tail: String = value.chars().skip(len - (room - 1)).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use serde_json::json;

    fn screen(board: &Board, width: u16, height: u16) -> String {
        let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
        term.draw(|f| draw(f, board, 10_000)).unwrap();
        let buf = term.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..height {
            for x in 0..width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn every_pane_fits_an_80_by_24_terminal() {
        let mut board = Board::default();
        board.set_list(vec![
            json!({"pm_id": 0, "name": "api", "pid": 4242, "monit": {"cpu": 3.5, "memory": 44_040_192},
                "pm2_env": {"status": "online", "restart_time": 2, "pm_uptime": 5_000,
                    "pm_exec_path": "/srv/api.js", "exec_mode": "fork_mode", "node_version": "20.1.0",
                    "exec_interpreter": "node", "axm_monitor": {"Queue": {"value": 7, "unit": "jobs"}}}}),
            json!({"pm_id": 1, "name": "worker", "pid": 4343, "monit": {"cpu": 0, "memory": 1024},
                "pm2_env": {"status": "stopped"}}),
        ]);
        board.push_log(0, false, "listening on 3000\n");
        board.push_log(0, true, "a warning\n");
        let s = screen(&board, 80, 24);
        for expected in [
            "Process List",
            "api",
            "worker",
            "3.5%",
            "42.0mb",
            "api Logs",
            "listening on 3000",
            "a warning",
            "Custom Metrics",
            "Queue",
            "7 jobs",
            "Metadata",
            "/srv/api.js",
            "fork_mode",
            "20.1.0",
            "4242",
            "q Esc Ctrl-C",
        ] {
            assert!(s.contains(expected), "{expected:?} missing from\n{s}");
        }
        let mut long = board;
        long.set_list(vec![json!({"pm_id": 0, "name": "api", "pm2_env": {
            "pm_exec_path": "/a/very/long/path/that/does/not/fit/in/the/pane/at/all/server.js"}})]);
        let s = screen(&long, 80, 24);
        assert!(s.contains("…") && s.contains("/at/all/server.js"), "{s}");
        assert_eq!(keep_tail("abcdef", 4), "…def");
        assert_eq!(keep_tail("abc", 4), "abc");
        // Names as long as the agent's fit beside short values.
        let mut metrics = long;
        metrics.set_list(vec![
            json!({"pm_id": 0, "name": "api", "pm2_env": {"axm_monitor": {
            "Event Loop Latency p95": {"value": 12.28, "unit": "ms"}}}}),
        ]);
        assert!(screen(&metrics, 80, 24).contains("Event Loop Latency p95 12.28 ms"));
        // Tiny terminals draw what fits instead of failing.
        screen(&metrics, 20, 5);
        screen(&Board::default(), 80, 24);
    }
}
