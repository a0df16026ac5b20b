//! Reads one `TABLE.csv` file into a [`Part`].
//!
//! The input is streamed (any [`Read`]; the loader passes the open file),
//! never held whole: memory stays at the csv reader's buffer plus the rows
//! built. The header maps schema columns to field positions (any order,
//! names case-insensitive, BOM tolerated). Records are read as
//! [`csv::ByteRecord`]s with `flexible(true)`, so a record with the wrong
//! number of fields is reported on its own and the rest keep loading; only
//! the cells of known columns are decoded, borrowed from the record, never
//! copied.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, Read};

use csv::{ByteRecord, ReaderBuilder};

use super::diag::{quote, Diagnostic};
use super::fields::suggest;
use super::model::Loc;
use super::tables::{Cell, Part, Row, Table, MAX_COLUMNS};

/// Key under which an unnamed header column is counted.
const UNNAMED: &str = "(unnamed)";

/// Bytes the csv reader buffers (and reads per system call).
const BUFFER: usize = 64 * 1024;

/// Rows read before the first estimate of a table's size.
const SAMPLE_ROWS: usize = 1024;

/// Parses CSV read from `input`, `size` bytes long if known, as rows of
/// `table`, read from `file` (display path) with index `file_index` in
/// [`Snapshot::files`](super::model::Snapshot::files).
///
/// An I/O error while reading is returned as such: the file is then
/// unreadable as a whole and contributes no rows.
pub(crate) fn parse<R: Read>(
    input: R,
    size: Option<u64>,
    table: Table,
    file: &str,
    file_index: u16,
) -> io::Result<Part> {
    let mut part = Part::new(table);
    let mut rdr = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(BUFFER)
        .from_reader(Lines::new(input));
    let mut record = ByteRecord::new();

    match rdr.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => {
            part.diagnostics.push(Diagnostic::warning(
                file,
                "empty file without a header row, read as an empty table",
            ));
            return Ok(part);
        }
        Err(e) => {
            let e = csv_error(e)?;
            part.diagnostics
                .push(Diagnostic::error(file, format!("unreadable CSV: {e}")));
            return Ok(part);
        }
    }
    let header_line = rdr.get_mut().line_of(&record);
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
        return Ok(part);
    };
    let sizer = Sizer::new(size, rdr.position().byte());

    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // Flexible byte records fail only on I/O (returned as
                // such): anything else is not expected, but never silent.
                let e = csv_error(e)?;
                let mut d = Diagnostic::error(file, format!("unreadable CSV: {e}"));
                d.line = e.position().map(|p| saturate(p.line()));
                part.diagnostics.push(d);
                break;
            }
        }
        let line = rdr.get_mut().line_of(&record);
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
        sizer.reserve(&mut part, rdr.position().byte());
        part.finish_row(row, file, |ci| header.fields[ci].map(column_number));
    }
    part.rows.shrink_to_fit();

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
    Ok(part)
}

/// A CSV error as such, or the I/O error it wraps as an `Err`.
fn csv_error(e: csv::Error) -> io::Result<csv::Error> {
    if !e.is_io_error() {
        return Ok(e);
    }
    match e.into_kind() {
        csv::ErrorKind::Io(e) => Err(e),
        // Not reached: `is_io_error` means `ErrorKind::Io`.
        kind => Err(io::Error::other(format!("{kind:?}"))),
    }
}

/// Grows the table's row vector to the size the file suggests, so that it
/// neither doubles past what the file holds nor moves repeatedly.
struct Sizer {
    /// Input length, when known.
    size: Option<u64>,
    /// Where the data rows start.
    data_start: u64,
}

impl Sizer {
    fn new(size: Option<u64>, data_start: u64) -> Self {
        Sizer { size, data_start }
    }

    /// Makes room for the next row of `part` when it is full, estimating
    /// the rows still to come from the bytes read so far (`read`); never
    /// more than doubles, so an odd sample cannot reserve wildly.
    fn reserve(&self, part: &mut Part, read: u64) {
        let table = part.table;
        if part.rows.spare(table) > 0 {
            return;
        }
        let len = part.rows.len(table);
        let additional = match self.size {
            Some(size) if len >= SAMPLE_ROWS && read > self.data_start => {
                let per_row = (read - self.data_start) as f64 / len as f64;
                let left = size.saturating_sub(read) as f64 / per_row;
                // 5% and a few rows of margin against a sample of short rows.
                let want = (left * 1.05) as usize + 64;
                // At least an eighth more, so that a low estimate does not
                // grow the vector row by row; at most double.
                want.clamp(len / 8 + 1, len)
            }
            _ => len.max(16),
        };
        part.rows.reserve_exact(table, additional);
    }
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
    // Fast path: trimming ASCII white space first gives what `str::trim`
    // gives when the cell then starts and ends with an ASCII byte that is
    // not white space to Unicode either (only `\x0B` is, among ASCII
    // bytes that `trim_ascii` keeps); the bytes trimmed off are valid UTF-8
    // on their own, so validating the rest validates the cell.
    let t = bytes.trim_ascii();
    let plain = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii() && b != 0x0B);
    if t.is_empty() || plain(t.first()) && plain(t.last()) {
        return match std::str::from_utf8(t) {
            Ok("") => Cell::Absent,
            Ok(t) => Cell::Text(Cow::Borrowed(t)),
            Err(_) => Cell::BadUtf8,
        };
    }
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

/// The input of the csv reader, watched for line ends as it streams past:
/// line numbers are counted from the records' byte offsets, because the
/// csv crate's own line count lags by one after a CRLF record end (the
/// `\n` is consumed only when the next record is read).
struct Lines<R> {
    inner: R,
    /// Bytes handed to the csv reader so far.
    offset: u64,
    /// `\r` and `\n` bytes read but not yet passed by a record start:
    /// offset << 1 | 1 for `\n`, offset << 1 for `\r`.
    breaks: VecDeque<u64>,
    /// `\n` bytes before `start`.
    newlines: u32,
    /// Where the last record started.
    start: u64,
}

impl<R> Lines<R> {
    fn new(inner: R) -> Self {
        Lines {
            inner,
            offset: 0,
            breaks: VecDeque::new(),
            newlines: 0,
            start: 0,
        }
    }

    /// The 1-based line where `record` starts (after any line ends or blank
    /// lines the reader skipped); records must come in input order.
    fn line_of(&mut self, record: &ByteRecord) -> u32 {
        let mut start = record
            .position()
            .map_or(self.start, |p| p.byte())
            .max(self.start);
        while let Some(&b) = self.breaks.front() {
            match (b >> 1).cmp(&start) {
                std::cmp::Ordering::Greater => break,
                // A line end right at the start: skipped, not the record's.
                std::cmp::Ordering::Equal => start += 1,
                std::cmp::Ordering::Less => {}
            }
            self.breaks.pop_front();
            self.newlines = self.newlines.saturating_add(u32::from(b & 1 == 1));
        }
        self.start = start;
        self.newlines.saturating_add(1)
    }
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        push_breaks(
            buf.get(..n).unwrap_or_default(),
            self.offset,
            &mut self.breaks,
        );
        self.offset += n as u64;
        Ok(n)
    }
}

/// Appends the offsets of the `\r` and `\n` bytes of `bytes`, which start
/// at offset `base`, to `out` (encoded as in [`Lines::breaks`]). A block of
/// 32 bytes at a time, as a bit mask (a loop the compiler vectorises).
fn push_breaks(bytes: &[u8], base: u64, out: &mut VecDeque<u64>) {
    let mut push = |at: u64, b: u8| out.push_back(at << 1 | u64::from(b == b'\n'));
    let mut blocks = bytes.chunks_exact(32);
    let mut at = base;
    for block in &mut blocks {
        let mut mask = 0u32;
        for (i, &b) in block.iter().enumerate() {
            mask |= u32::from((b == b'\n') | (b == b'\r')) << i;
        }
        while mask != 0 {
            let i = mask.trailing_zeros();
            push(
                at + u64::from(i),
                block.get(i as usize).copied().unwrap_or_default(),
            );
            mask &= mask - 1;
        }
        at += 32;
    }
    for (i, &b) in (0..).zip(blocks.remainder()) {
        if b == b'\n' || b == b'\r' {
            push(at + i, b);
        }
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
        parse(text, Some(text.len() as u64), Table::Principals, FILE, 0).expect("in memory")
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
