//! Reads one `TABLE.csv` file into a [`Part`].
//!
//! The header maps schema columns to field positions (any order, names
//! case-insensitive, BOM tolerated). Records are read as [`csv::ByteRecord`]s
//! with `flexible(true)`, so a record with the wrong number of fields is
//! reported on its own and the rest keep loading; only the cells of known
//! columns are decoded, borrowed, never copied.

use std::borrow::Cow;

use csv::{ByteRecord, ReaderBuilder};

use super::diag::{quote, Diagnostic};
use super::fields::suggest;
use super::model::Loc;
use super::tables::{Cell, Part, Row, Table, MAX_COLUMNS};

/// Key under which an unnamed header column is counted.
const UNNAMED: &str = "(unnamed)";

/// Parses the CSV `bytes` of `table`, read from `file` (display path) with
/// index `file_index` in [`Snapshot::files`](super::model::Snapshot::files).
pub(crate) fn parse(bytes: &[u8], table: Table, file: &str, file_index: u16) -> Part {
    let mut part = Part::new(table);
    let mut rdr = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = ByteRecord::new();

    match rdr.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => {
            part.diagnostics.push(Diagnostic::warning(
                file,
                "empty file without a header row, read as an empty table",
            ));
            return part;
        }
        Err(e) => {
            part.diagnostics
                .push(Diagnostic::error(file, format!("unreadable CSV: {e}")));
            return part;
        }
    }
    let mut lines = LineCounter::default();
    let header_line = lines.line_of(bytes, &record);
    let names: Vec<String> = record
        .iter()
        .map(|f| {
            String::from_utf8_lossy(f)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_owned()
        })
        .collect();
    let Some(header) = Header::resolve(table, &names, file, header_line, &mut part.diagnostics)
    else {
        return part;
    };

    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // In-memory input with flexible records: not expected, but
                // never silent.
                let mut d = Diagnostic::error(file, format!("unreadable CSV: {e}"));
                d.line = e.position().map(|p| saturate(p.line()));
                part.diagnostics.push(d);
                break;
            }
        }
        let line = lines.line_of(bytes, &record);
        if record.iter().all(|f| f.trim_ascii().is_empty()) {
            // Only separators (`,,,`, as spreadsheets leave at the end): a
            // blank line, not a row.
            continue;
        }
        if record.len() != names.len() {
            part.reject_row(field_count_error(file, line, record.len(), &names));
            continue;
        }
        let mut row = Row::new(
            table,
            Loc {
                file: file_index,
                line,
            },
        );
        for (cell, field) in row.cells.iter_mut().zip(header.fields) {
            if let Some(fi) = field {
                *cell = decode(record.get(fi).unwrap_or_default());
            }
        }
        part.finish_row(row, file, |ci| header.fields[ci].map(column_number));
    }

    for (pos, name) in header.unknown {
        let key = if name.is_empty() {
            UNNAMED.to_owned()
        } else {
            name.to_ascii_lowercase()
        };
        *part.account.unknown_columns.entry(key).or_default() += part.account.rows_read;
        part.diagnostics
            .push(unknown_column_warning(table, file, header_line, pos, name));
    }
    part
}

/// The header, resolved against the table's schema.
struct Header<'n> {
    /// Schema column index → field index in the record.
    fields: [Option<usize>; MAX_COLUMNS],
    /// Columns the schema does not know: (field index, name).
    unknown: Vec<(usize, &'n str)>,
}

impl<'n> Header<'n> {
    /// Maps the header `names`; reports duplicate and missing required
    /// columns (file-level errors: `None`, the file contributes no rows).
    fn resolve(
        table: Table,
        names: &'n [String],
        file: &str,
        line: u32,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Self> {
        let columns = table.columns();
        let mut fields = [None; MAX_COLUMNS];
        let mut unknown = Vec::new();
        let mut ok = true;
        for (fi, name) in names.iter().enumerate() {
            match table.column_index(name) {
                Some(ci) => {
                    if let Some(first) = fields[ci] {
                        diags.push(
                            Diagnostic::error(
                                file,
                                format!(
                                    "duplicate column {}, already at column {}",
                                    quote(name),
                                    column_number(first)
                                ),
                            )
                            .at_line(line)
                            .at_column(column_number(fi))
                            .with_field(columns[ci].name)
                            .with_expected("each column once"),
                        );
                        ok = false;
                    } else {
                        fields[ci] = Some(fi);
                    }
                }
                None => unknown.push((fi, name.as_str())),
            }
        }
        let mut found = names
            .iter()
            .map(|n| quote(n))
            .collect::<Vec<_>>()
            .join(", ");
        if let [only] = names {
            if let Some(sep) = [';', '\t', '|'].into_iter().find(|&c| only.contains(c)) {
                found.push_str(&format!(
                    " (the header looks {}-separated; columns must be separated by `,`)",
                    sep.escape_default()
                ));
            }
        }
        let required = columns
            .iter()
            .filter(|c| c.required)
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ");
        for (ci, col) in columns.iter().enumerate() {
            if col.required && fields[ci].is_none() {
                diags.push(
                    Diagnostic::error(
                        file,
                        format!(
                            "missing required column `{}`; columns found: {found}",
                            col.name
                        ),
                    )
                    .at_line(line)
                    .with_field(col.name)
                    .with_expected(format!("a header with the required columns {required}")),
                );
                ok = false;
            }
        }
        ok.then_some(Header { fields, unknown })
    }
}

/// Decodes one CSV cell: trimmed, empty = absent, invalid UTF-8 flagged.
fn decode(bytes: &[u8]) -> Cell<'_> {
    match std::str::from_utf8(bytes) {
        Ok(s) => match s.trim() {
            "" => Cell::Absent,
            t => Cell::Text(Cow::Borrowed(t)),
        },
        Err(_) => Cell::BadUtf8,
    }
}

fn field_count_error(file: &str, line: u32, found: usize, names: &[String]) -> Diagnostic {
    let expected = names.len();
    // Point at the first missing field, or at the first extra one.
    let mut d = Diagnostic::error(
        file,
        format!("wrong number of fields: found {found}, the header has {expected}"),
    )
    .at_line(line)
    .at_column(column_number(found.min(expected)))
    .with_expected(format!("{expected} fields, one per header column"));
    if let Some(name) = names.get(found) {
        d.field = Some(name.clone());
    }
    d
}

fn unknown_column_warning(
    table: Table,
    file: &str,
    line: u32,
    pos: usize,
    name: &str,
) -> Diagnostic {
    let names = table.columns().iter().map(|c| c.name);
    let mut message = if name.is_empty() {
        "column without a name ignored".to_owned()
    } else {
        format!("unknown column {} ignored", quote(name))
    };
    suggest(&mut message, name, names);
    let mut d = Diagnostic::warning(file, message)
        .at_line(line)
        .at_column(column_number(pos));
    if !name.is_empty() {
        d.field = Some(name.to_owned());
    }
    d
}

/// 1-based column number of a 0-based field index.
fn column_number(field: usize) -> u32 {
    u32::try_from(field.saturating_add(1)).unwrap_or(u32::MAX)
}

/// Line numbers of records, counted from their byte offsets: the csv
/// crate's own line count lags by one after a CRLF record end, because the
/// `\n` is consumed only when the next record is read.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: u32,
}

impl LineCounter {
    /// The 1-based line where `record` starts (after any line ends or blank
    /// lines the reader skipped); records must come in file order.
    fn line_of(&mut self, bytes: &[u8], record: &ByteRecord) -> u32 {
        let start = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(self.offset)
            .max(self.offset);
        let skipped = bytes
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let start = start + skipped;
        let newlines = bytes
            .get(self.offset..start)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line = self
            .line
            .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        self.offset = start;
        self.line + 1
    }
}

fn saturate(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "snap/principals.csv";

    fn parse_principals(text: &[u8]) -> Part {
        parse(text, Table::Principals, FILE, 0)
    }

    #[test]
    fn reads_rows_in_any_column_order() {
        let p = parse_principals(
            b"display_name,kind,principal_id,tenant_id\n\
              Alice,user,00000000-0000-0000-0000-0000000000a1,00000000-0000-0000-0000-000000000001\n",
        );
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        assert_eq!(p.rows.principals.len(), 1);
        assert_eq!(&*p.rows.principals[0].display_name, "Alice");
        assert_eq!(p.rows.principals[0].loc, Loc { file: 0, line: 2 });
    }

    #[test]
    fn invalid_utf8_names_the_field() {
        let p = parse_principals(
            b"tenant_id,principal_id,kind,display_name\n\
              00000000-0000-0000-0000-000000000001,00000000-0000-0000-0000-0000000000a1,user,Al\xffce\n",
        );
        assert_eq!(p.account.rows_rejected, 1);
        assert_eq!(
            p.diagnostics[0].to_string(),
            "error: snap/principals.csv:2:4: field `display_name`: invalid UTF-8 (expected UTF-8 text)"
        );
    }

    #[test]
    fn duplicate_column_is_a_file_error() {
        let p = parse_principals(b"tenant_id,principal_id,kind,display_name,Tenant_ID\n");
        assert_eq!(
            p.diagnostics[0].to_string(),
            "error: snap/principals.csv:1:5: field `tenant_id`: duplicate column `Tenant_ID`, already at column 1 (expected each column once)"
        );
    }

    #[test]
    fn separator_only_lines_are_blank() {
        let p = parse_principals(
            b"tenant_id,principal_id,kind,display_name\n\
              00000000-0000-0000-0000-000000000001,00000000-0000-0000-0000-0000000000a1,user,A\n,,,\n , ,,\n",
        );
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        assert_eq!((p.account.rows_read, p.account.rows_used), (1, 1));
    }

    #[test]
    fn semicolon_header_gets_a_hint() {
        let p = parse_principals(b"tenant_id;principal_id;kind;display_name\n");
        assert!(p.diagnostics[0].message.ends_with(
            "columns found: `tenant_id;principal_id;kind;display_name` (the header looks ;-separated; columns must be separated by `,`)"
        ), "{}", p.diagnostics[0].message);
    }

    #[test]
    fn empty_file_warns() {
        let p = parse_principals(b"");
        assert_eq!(p.diagnostics.len(), 1);
        assert_eq!(p.diagnostics[0].level, super::super::diag::Level::Warning);
    }
}
