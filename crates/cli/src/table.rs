//! Box-drawn tables in the look of PM2's (`┌─┬─┐`, one space of padding, `…` when
//! a value does not fit its column).

use crate::output::plain;
use crate::printable::printable;

/// Paints a cell's text (after truncation, so colors never count toward width).
pub type Paint = fn(&str) -> String;

pub struct Cell {
    pub text: String,
    pub paint: Paint,
}

impl Cell {
    /// A cell of `text`, its control characters escaped (see `printable`).
    pub fn new(text: impl Into<String>) -> Cell {
        Cell::painted(text, plain)
    }

    pub fn painted(text: impl Into<String>, paint: Paint) -> Cell {
        let text = text.into();
        Cell {
            text: match printable(&text) {
                std::borrow::Cow::Borrowed(_) => text,
                escaped => escaped.into_owned(),
            },
            paint,
        }
    }
}

/// A column's header and its total width, padding included (`None`: as wide as
/// its widest value plus the two spaces of padding).
pub struct Column {
    pub header: &'static str,
    pub width: Option<usize>,
}

impl Column {
    pub const fn fixed(header: &'static str, width: usize) -> Column {
        Column {
            header,
            width: Some(width),
        }
    }

    pub const fn auto(header: &'static str) -> Column {
        Column {
            header,
            width: None,
        }
    }
}

pub fn text_width(s: &str) -> usize {
    s.chars().count()
}

/// `text` cut to `max` characters, its last one replaced by `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text_width(text) <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Resolved widths of `columns` for `rows` (headers count for automatic columns).
pub fn widths(columns: &[Column], rows: &[Vec<Cell>]) -> Vec<usize> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.width.unwrap_or_else(|| {
                let widest = rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|cell| text_width(&cell.text))
                    .chain(std::iter::once(text_width(c.header)))
                    .max()
                    .unwrap_or(0);
                widest + 2
            })
        })
        .collect()
}

/// Total printed width of a table with these column widths.
pub fn total_width(widths: &[usize]) -> usize {
    widths.iter().sum::<usize>() + widths.len() + 1
}

fn rule(widths: &[usize], left: char, mid: char, right: char) -> String {
    let mut s = String::new();
    s.push(left);
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            s.push(mid);
        }
        s.extend(std::iter::repeat_n('─', *w));
    }
    s.push(right);
    s
}

fn row_line(widths: &[usize], cells: &[Cell]) -> String {
    let mut s = String::from("│");
    for (i, w) in widths.iter().enumerate() {
        let inner = w.saturating_sub(2);
        let (text, paint) = match cells.get(i) {
            Some(c) => (truncate(&c.text, inner), c.paint),
            None => (String::new(), plain as Paint),
        };
        let pad = inner.saturating_sub(text_width(&text));
        s.push(' ');
        s.push_str(&paint(&text));
        s.extend(std::iter::repeat_n(' ', pad + 1));
        s.push('│');
    }
    s
}

/// A table with a header row.
pub fn render(columns: &[Column], rows: &[Vec<Cell>]) -> String {
    let w = widths(columns, rows);
    render_with_widths(columns, &w, rows)
}

pub fn render_with_widths(columns: &[Column], w: &[usize], rows: &[Vec<Cell>]) -> String {
    let mut out = String::new();
    out.push_str(&rule(w, '┌', '┬', '┐'));
    out.push('\n');
    let head: Vec<Cell> = columns.iter().map(|c| Cell::new(c.header)).collect();
    out.push_str(&row_line(w, &head));
    out.push('\n');
    // No rows: the header closes the table, as PM2 draws an empty list.
    if !rows.is_empty() {
        out.push_str(&rule(w, '├', '┼', '┤'));
        out.push('\n');
    }
    for r in rows {
        out.push_str(&row_line(w, r));
        out.push('\n');
    }
    out.push_str(&rule(w, '└', '┴', '┘'));
    out.push('\n');
    out
}

/// A table without a header row, every column as wide as its widest value
/// (`describe`'s key/value tables).
pub fn render_headless(rows: &[Vec<Cell>]) -> String {
    let ncols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let w: Vec<usize> = (0..ncols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| text_width(&c.text))
                .max()
                .unwrap_or(0)
                + 2
        })
        .collect();
    let mut out = String::new();
    out.push_str(&rule(&w, '┌', '┬', '┐'));
    out.push('\n');
    for r in rows {
        out.push_str(&row_line(&w, r));
        out.push('\n');
    }
    out.push_str(&rule(&w, '└', '┴', '┘'));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_boxes_with_padding_and_truncation() {
        let cols = [Column::auto("id"), Column::fixed("namespace", 13)];
        let rows = vec![vec![Cell::new("0"), Cell::new("some-long-namespace-x")]];
        let t = render(&cols, &rows);
        assert_eq!(
            t,
            "┌────┬─────────────┐\n\
             │ id │ namespace   │\n\
             ├────┼─────────────┤\n\
             │ 0  │ some-long-… │\n\
             └────┴─────────────┘\n"
        );
    }

    #[test]
    fn headless_tables_fit_their_content() {
        let rows = vec![
            vec![Cell::new("status"), Cell::new("online")],
            vec![Cell::new("name"), Cell::new("x")],
        ];
        assert_eq!(
            render_headless(&rows),
            "┌────────┬────────┐\n\
             │ status │ online │\n\
             │ name   │ x      │\n\
             └────────┴────────┘\n"
        );
    }

    #[test]
    fn truncates_with_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
