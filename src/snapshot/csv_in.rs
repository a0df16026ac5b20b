//! Reads one `TABLE.csv` file into a [`Part`].
//!
//! The file is read in pieces, never whole, and parsed in parallel: after
//! the header, the data is cut into chunks of about [`CHUNK`] bytes, each
//! read and parsed on its own (see [`Run`]), then merged in file order, so
//! the result is what one sequential pass gives, whatever the thread count.
//! A chunk starts after the first line end at or past its nominal offset.
//! That guess is wrong only when the line end is inside a quoted field; the
//! previous chunk notices (its last record runs past the guessed start),
//! keeps parsing through the next chunk and supersedes it.
//!
//! Records follow the csv crate's reading (`csv_core`, default settings):
//! `"` quotes a field only at its start, `""` inside quotes is one `"`,
//! bytes after a closing quote are kept, `\r`, `\n` and `\r\n` all end a
//! record, blank lines are skipped, a record cut by the end of the input
//! ends there. The header maps schema columns to field positions (any
//! order, names case-insensitive, BOM tolerated). A record with the wrong
//! number of fields is reported on its own and the rest keep loading; only
//! the cells of known columns are decoded, borrowed from the input, never
//! copied.

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use memchr::{memchr, memchr2};

use super::diag::{quote, Diagnostic};
use super::fields::suggest;
use super::model::Loc;
use super::tables::{Cell, Part, Row, Rows, Table, MAX_COLUMNS};

/// Key under which an unnamed header column is counted.
const UNNAMED: &str = "(unnamed)";

/// Nominal size of the chunks a file's data is cut into.
pub(crate) const CHUNK: u64 = 128 << 10;

/// Bytes read at a time while looking for the end of the header.
const STEP: u64 = 64 * 1024;

/// Bytes read at a time while looking for the line end that ends a chunk.
const SEARCH: u64 = 2 * 1024;

/// Random access to the bytes of a table file.
pub(crate) trait Source: Sync {
    /// Reads bytes at `offset` into `buf`; 0 at the end of the input.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

impl Source for File {
    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }

    #[cfg(windows)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(self, buf, offset)
    }
}

impl<T: Source + ?Sized> Source for &T {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        (**self).read_at(buf, offset)
    }
}

impl Source for [u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let rest = self.get(start..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
}

/// Bytes of a file being read into one buffer, from `off` on.
struct Window<'s, S: ?Sized> {
    src: &'s S,
    /// File offset of the buffer's first byte.
    off: u64,
    /// File offset just past the buffer's last byte.
    filled: u64,
    /// Where the input ends (lowered if the file turns out shorter).
    limit: u64,
}

impl<S: Source + ?Sized> Window<'_, S> {
    /// Appends the bytes up to offset `to` (or the end of the input).
    fn fill(&mut self, buf: &mut Vec<u8>, to: u64) -> io::Result<()> {
        let to = to.min(self.limit);
        if to <= self.filled {
            return Ok(());
        }
        let old = buf.len();
        let want = usize::try_from(to - self.filled).map_err(io::Error::other)?;
        buf.resize(old + want, 0);
        let mut got = 0;
        while got < want {
            match self
                .src
                .read_at(&mut buf[old + got..], self.filled + got as u64)
            {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(old + got);
        self.filled += got as u64;
        if got < want {
            self.limit = self.filled;
        }
        Ok(())
    }

    /// The offset just past the first `\n` at or after `at` (read into
    /// `buf` as far as needed), or the end of the input.
    fn boundary(&mut self, buf: &mut Vec<u8>, at: u64) -> io::Result<u64> {
        let mut from = at;
        loop {
            if from < self.filled {
                let i = index(from.saturating_sub(self.off));
                if let Some(p) = buf.get(i..).and_then(|b| memchr(b'\n', b)) {
                    return Ok(from + p as u64 + 1);
                }
                from = self.filled;
            }
            if self.filled >= self.limit {
                return Ok(self.limit);
            }
            let to = self.filled.max(at).saturating_add(SEARCH);
            self.fill(buf, to)?;
        }
    }
}

fn index(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// The fields of one record: slices of the input, or of `scratch` when a
/// field was quoted (its quotes removed).
#[derive(Default)]
struct Fields {
    /// (start, end) of each field, in the input or in `scratch`.
    spans: Vec<(usize, usize)>,
    scratch: Vec<u8>,
    in_scratch: bool,
    /// (start, end) of the whole record in the input, unless `in_scratch`.
    record: (usize, usize),
}

impl Fields {
    fn len(&self) -> usize {
        self.spans.len()
    }

    fn get<'a>(&'a self, input: &'a [u8], i: usize) -> &'a [u8] {
        let Some(&(s, e)) = self.spans.get(i) else {
            return &[];
        };
        let from = if self.in_scratch {
            &self.scratch
        } else {
            input
        };
        from.get(s..e).unwrap_or_default()
    }

    /// The record's bytes (fields and separators, or, when `in_scratch`,
    /// the fields' contents run together) as text, if valid UTF-8; with
    /// the offset its fields' spans are relative to.
    fn text<'a>(&'a self, input: &'a [u8]) -> Option<(&'a str, usize)> {
        let (bytes, base) = if self.in_scratch {
            (self.scratch.as_slice(), 0)
        } else {
            (input.get(self.record.0..self.record.1)?, self.record.0)
        };
        Some((std::str::from_utf8(bytes).ok()?, base))
    }

    /// Field `i` as text, given the record's [`Fields::text`]; `None` when
    /// the field does not start and end on character boundaries (a
    /// character split by a separator inside quotes).
    fn get_str<'a>(&self, (text, base): (&'a str, usize), i: usize) -> Option<&'a str> {
        let &(s, e) = self.spans.get(i)?;
        text.get(s.checked_sub(base)?..e.checked_sub(base)?)
    }
}

/// What [`Scanner::next`] found.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// A record, starting on this 1-based line (counted from the start of
    /// the scanned input).
    Record(u64),
    /// The input ends inside a record and is not the end of the file: the
    /// scanner stays at the record's start.
    Incomplete,
    /// No record left (at most line ends).
    End,
}

/// Reads records off an input slice, counting `\n` bytes.
#[derive(Default)]
struct Scanner {
    pos: usize,
    /// `\n` bytes before `pos`.
    newlines: u64,
}

impl Scanner {
    /// Reads the next record of `input` into `fields`; `eof` says whether
    /// the input ends where the file does.
    fn next(&mut self, input: &[u8], eof: bool, fields: &mut Fields) -> Next {
        // Line ends between records (and blank lines) are skipped.
        while let Some(&b) = input.get(self.pos) {
            match b {
                b'\n' => self.newlines += 1,
                b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
        let start = self.pos;
        let Some(rest) = input.get(start..).filter(|r| !r.is_empty()) else {
            return Next::End;
        };
        let line = self.newlines + 1;
        fields.spans.clear();
        // Fast path: a line without quotes and without a `\r` but at its end.
        let (len, terminated) = match memchr(b'\n', rest) {
            Some(n) => (n, true),
            None => (rest.len(), false),
        };
        if terminated || eof {
            let content = &rest[..len];
            let content = match content.split_last() {
                Some((b'\r', c)) if terminated => c,
                _ => content,
            };
            if memchr2(b'"', b'\r', content).is_none() {
                fields.in_scratch = false;
                fields.record = (start, start + content.len());
                let mut s = start;
                for c in memchr::memchr_iter(b',', content) {
                    fields.spans.push((s, start + c));
                    s = start + c + 1;
                }
                fields.spans.push((s, start + content.len()));
                self.pos = start + content.len();
                return Next::Record(line);
            }
        } else {
            return Next::Incomplete;
        }
        self.slow(input, eof, fields, line)
    }

    /// The full state machine, for records with quotes or lone `\r`s.
    fn slow(&mut self, input: &[u8], eof: bool, fields: &mut Fields, line: u64) -> Next {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum St {
            Start,
            Plain,
            Quoted,
            /// A `"` inside quotes: `""`, or the closing quote.
            QuoteInQuoted,
        }
        let (start, newlines) = (self.pos, self.newlines);
        fields.in_scratch = true;
        fields.scratch.clear();
        let out = &mut fields.scratch;
        let spans = &mut fields.spans;
        let mut field_start = 0;
        let mut st = St::Start;
        let mut pos = start;
        while let Some(&b) = input.get(pos) {
            match (st, b) {
                (St::Quoted, b'"') => st = St::QuoteInQuoted,
                (St::Quoted, _) => {
                    if b == b'\n' {
                        self.newlines += 1;
                    }
                    out.push(b);
                }
                (St::Start, b'"') => st = St::Quoted,
                (St::QuoteInQuoted, b'"') => {
                    out.push(b'"');
                    st = St::Quoted;
                }
                (_, b',') => {
                    spans.push((field_start, out.len()));
                    field_start = out.len();
                    st = St::Start;
                }
                (_, b'\r' | b'\n') => {
                    spans.push((field_start, out.len()));
                    self.pos = pos;
                    return Next::Record(line);
                }
                (_, _) => {
                    out.push(b);
                    st = St::Plain;
                }
            }
            pos += 1;
        }
        if !eof {
            self.pos = start;
            self.newlines = newlines;
            return Next::Incomplete;
        }
        spans.push((field_start, out.len()));
        self.pos = pos;
        Next::Record(line)
    }
}

/// A CSV file whose header has been read: the data still to parse, in
/// chunks ([`Run::chunks`]) that may be parsed in any order and on any
/// thread ([`Run::parse_chunk`]); [`Run::finish`] gives the file's part.
pub(crate) struct Run<S> {
    src: S,
    table: Table,
    file: String,
    file_index: u16,
    names: Vec<String>,
    header: Header,
    header_line: u32,
    /// Offset where the data starts (the header's end).
    data_start: u64,
    /// `\n` bytes before `data_start`.
    data_newlines: u64,
    /// The input's length.
    size: u64,
    chunk: u64,
    chunks: usize,
    seq: Mutex<Seq>,
    /// The most rows a chunk has produced so far: room reserved for the next.
    rows_hint: AtomicUsize,
}

/// Chunks parsed but not yet merged, and the merged part.
struct Seq {
    /// The next chunk to merge.
    next: usize,
    pending: Vec<Option<io::Result<Chunk>>>,
    part: Part,
    /// `\n` bytes before the start of chunk `next`.
    newlines: u64,
    error: Option<io::Error>,
}

/// One parsed chunk.
struct Chunk {
    /// Its rows and diagnostics, lines counted from the chunk's start.
    part: Part,
    /// `\n` bytes in the bytes it covers.
    newlines: u64,
    /// The chunk after the last one it covers.
    next: usize,
    /// Offset just past the bytes it covers.
    end: u64,
}

/// What reading a CSV file's header gave.
pub(crate) enum Start<S> {
    /// The rows are still to read.
    Rows(Box<Run<S>>),
    /// The file holds no rows to read (empty, or a bad header): its part.
    Done(Box<Part>),
}

/// Reads the header of the CSV input `src`, `size` bytes long, of `table`
/// read from `file` (display path) with index `file_index` in
/// [`Snapshot::files`](super::model::Snapshot::files). `check` looks at
/// the first bytes (the encoding) before anything is parsed.
///
/// An I/O error is returned as such: the file is then unreadable as a
/// whole and contributes no rows.
pub(crate) fn start<S: Source>(
    src: S,
    size: u64,
    table: Table,
    file: &str,
    file_index: u16,
    chunk: u64,
    check: impl FnOnce(&[u8]) -> Result<(), Diagnostic>,
) -> io::Result<Start<S>> {
    let mut part = Part::new(table);
    let mut buf = Vec::new();
    let mut w = Window {
        src: &src,
        off: 0,
        filled: 0,
        limit: size,
    };
    w.fill(&mut buf, STEP)?;
    if let Err(d) = check(&buf) {
        part.diagnostics.push(d);
        return Ok(Start::Done(Box::new(part)));
    }
    let bom = if buf.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut sc = Scanner {
        pos: bom,
        newlines: 0,
    };
    let mut fields = Fields::default();
    let header_line = loop {
        let eof = w.filled >= w.limit;
        match sc.next(&buf, eof, &mut fields) {
            Next::Record(line) => break saturate(line),
            Next::Incomplete => {
                let next = w.filled + STEP;
                w.fill(&mut buf, next)?;
            }
            Next::End if eof => {
                part.diagnostics.push(Diagnostic::warning(
                    file,
                    "empty file without a header row, read as an empty table",
                ));
                return Ok(Start::Done(Box::new(part)));
            }
            Next::End => {
                let next = w.filled + STEP;
                w.fill(&mut buf, next)?;
            }
        }
    };
    let names: Vec<String> = (0..fields.len())
        .map(|i| {
            String::from_utf8_lossy(fields.get(&buf, i))
                .trim_start_matches('\u{feff}')
                .trim()
                .to_owned()
        })
        .collect();
    let Some(header) = Header::resolve(table, &names, file, header_line, &mut part.diagnostics)
    else {
        return Ok(Start::Done(Box::new(part)));
    };
    let data_start = sc.pos as u64;
    let size = w.limit;
    let chunk = chunk.max(1);
    let chunks = usize::try_from(size.saturating_sub(data_start).div_ceil(chunk))
        .unwrap_or(usize::MAX)
        .max(1);
    Ok(Start::Rows(Box::new(Run {
        src,
        table,
        file: file.to_owned(),
        file_index,
        names,
        header,
        header_line,
        data_start,
        data_newlines: sc.newlines,
        size,
        chunk,
        chunks,
        seq: Mutex::new(Seq {
            next: 0,
            pending: (0..chunks).map(|_| None).collect(),
            part,
            newlines: 0,
            error: None,
        }),
        rows_hint: AtomicUsize::new(0),
    })))
}

impl<S: Source> Run<S> {
    /// How many chunks the data is cut into.
    pub fn chunks(&self) -> usize {
        self.chunks
    }

    /// The input's length in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Parses chunk `i` (using `buf` for its bytes and `spare` for its
    /// rows) and merges it, and any chunk after it parsed already, if every
    /// chunk before it is merged. `spare` gets back the emptied row vectors
    /// of a merged chunk.
    pub fn parse_chunk(&self, i: usize, buf: &mut Vec<u8>, spare: &mut Rows) {
        let result = self.read_chunk(i, buf, std::mem::take(spare));
        let mut guard = self.seq.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = &mut *guard;
        if i < seq.next {
            // Superseded: an earlier chunk covered its bytes.
            return;
        }
        seq.pending[i] = Some(result);
        while let Some(slot) = seq.pending.get_mut(seq.next) {
            let Some(result) = slot.take() else { break };
            match result {
                Ok(c) => {
                    let from = seq.next + 1;
                    let to = c.next.min(self.chunks);
                    for p in &mut seq.pending[from.min(to)..to] {
                        *p = None;
                    }
                    *spare = self.merge(seq, c);
                }
                Err(e) => {
                    seq.error.get_or_insert(e);
                    seq.next = self.chunks;
                    seq.pending.clear();
                }
            }
        }
    }

    fn merge(&self, seq: &mut Seq, c: Chunk) -> Rows {
        let Chunk {
            mut part,
            newlines,
            next,
            end,
        } = c;
        let delta = seq.newlines + self.data_newlines;
        part.shift_lines(u32::try_from(delta).unwrap_or(u32::MAX));
        // Room for the rows the rest of the file suggests, so that the
        // table's vector neither doubles past what the file holds nor
        // moves repeatedly.
        let table = self.table;
        let (len, incoming) = (seq.part.rows.len(table), part.rows.len(table));
        if seq.part.rows.spare(table) < incoming && len > 0 {
            let done = end.saturating_sub(self.data_start).max(1) as f64;
            let all = self.size.saturating_sub(self.data_start) as f64;
            let want = ((len + incoming) as f64 * all / done * 1.05) as usize + 64;
            let additional = want.saturating_sub(len).max(incoming).max(len / 8 + 1);
            seq.part.rows.reserve_exact(table, additional);
        }
        let emptied = seq.part.absorb(part, &self.file);
        seq.newlines += newlines;
        seq.next = next;
        emptied
    }

    /// Reads and parses chunk `i`.
    fn read_chunk(&self, i: usize, buf: &mut Vec<u8>, rows: Rows) -> io::Result<Chunk> {
        let nominal = |j: usize| {
            self.data_start
                .saturating_add((j as u64).saturating_mul(self.chunk))
        };
        buf.clear();
        let mut w = Window {
            src: &self.src,
            off: nominal(i),
            filled: nominal(i),
            limit: self.size,
        };
        let start = if i == 0 {
            w.off
        } else {
            w.boundary(buf, nominal(i))?
        };
        let mut j = i + 1;
        let mut end = self.chunk_end(&mut w, buf, j)?;
        let mut part = Part::new(self.table);
        part.rows = rows;
        let hint = self.rows_hint.load(Ordering::Relaxed);
        let room = hint + hint / 16;
        if part.rows.spare(self.table) < room {
            part.rows.reserve_exact(self.table, room);
        }
        let mut fields = Fields::default();
        let mut sc = Scanner::default();
        let base = index(start - w.off);
        loop {
            let input = &buf[base..index(end - w.off)];
            let eof = end >= w.limit;
            let line = match sc.next(input, eof, &mut fields) {
                Next::Record(line) => saturate(line),
                Next::End => break,
                Next::Incomplete => {
                    // The record runs past the chunk's end: the next
                    // chunk's start was a guess inside a quoted field.
                    j += 1;
                    end = self.chunk_end(&mut w, buf, j)?;
                    continue;
                }
            };
            self.row(&mut part, input, &fields, line);
        }
        if end >= w.limit {
            j = self.chunks;
        }
        self.rows_hint
            .fetch_max(part.rows.len(self.table), Ordering::Relaxed);
        Ok(Chunk {
            part,
            newlines: sc.newlines,
            next: j,
            end,
        })
    }

    /// Where chunk `j - 1` ends: the start of chunk `j`, or the end of the input.
    fn chunk_end(&self, w: &mut Window<'_, S>, buf: &mut Vec<u8>, j: usize) -> io::Result<u64> {
        if j < self.chunks {
            let at = self
                .data_start
                .saturating_add((j as u64).saturating_mul(self.chunk));
            w.boundary(buf, at)
        } else {
            w.fill(buf, w.limit)?;
            Ok(w.limit)
        }
    }

    /// Turns one record into a row of `part` (or a rejected row).
    fn row(&self, part: &mut Part, input: &[u8], fields: &Fields, line: u32) {
        let n = fields.len();
        if (0..n).all(|i| fields.get(input, i).trim_ascii().is_empty()) {
            // Only separators (`,,,`, as spreadsheets leave at the end): a
            // blank line, not a row.
            return;
        }
        if n != self.names.len() {
            part.reject_row(field_count_error(&self.file, line, n, &self.names));
            return;
        }
        let mut row = Row::new(
            self.table,
            Loc {
                file: self.file_index,
                line,
            },
        );
        // One UTF-8 check for the whole record, not one per cell.
        let text = fields.text(input);
        for (cell, field) in row.cells.iter_mut().zip(self.header.fields) {
            if let Some(fi) = field {
                *cell = match text.and_then(|t| fields.get_str(t, fi)) {
                    Some(t) => decode_str(t),
                    None => decode(fields.get(input, fi)),
                };
            }
        }
        let header = &self.header;
        part.finish_row(row, &self.file, |ci| header.fields[ci].map(column_number));
    }

    /// The file's part, once every chunk is parsed; an I/O error if one
    /// chunk could not be read.
    pub fn finish(self) -> io::Result<Part> {
        let seq = self
            .seq
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = seq.error {
            return Err(e);
        }
        let mut part = seq.part;
        part.rows.shrink_to_fit();
        for &pos in &self.header.unknown {
            let name = self.names[pos].as_str();
            let key = if name.is_empty() {
                UNNAMED.to_owned()
            } else {
                name.to_ascii_lowercase()
            };
            *part.account.unknown_columns.entry(key).or_default() += part.account.rows_read;
            part.diagnostics.push(unknown_column_warning(
                self.table,
                &self.file,
                self.header_line,
                pos,
                name,
            ));
        }
        Ok(part)
    }
}

/// Parses the CSV `bytes` in one go (every chunk in order, `chunk` bytes
/// each), as the loader would a file holding them.
#[cfg(test)]
pub(crate) fn parse(
    bytes: &[u8],
    table: Table,
    file: &str,
    file_index: u16,
    chunk: u64,
) -> io::Result<Part> {
    match start(
        bytes,
        bytes.len() as u64,
        table,
        file,
        file_index,
        chunk,
        |_| Ok(()),
    )? {
        Start::Done(part) => Ok(*part),
        Start::Rows(run) => {
            let (mut buf, mut spare) = (Vec::new(), Rows::default());
            for i in 0..run.chunks() {
                run.parse_chunk(i, &mut buf, &mut spare);
            }
            run.finish()
        }
    }
}

/// The header, resolved against the table's schema.
struct Header {
    /// Schema column index → field index in the record.
    fields: [Option<usize>; MAX_COLUMNS],
    /// Field indices of the columns the schema does not know.
    unknown: Vec<usize>,
}

impl Header {
    /// Maps the header `names`; reports duplicate and missing required
    /// columns (file-level errors: `None`, the file contributes no rows).
    fn resolve(
        table: Table,
        names: &[String],
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
                None => unknown.push(fi),
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

/// [`decode`] for a cell known to be UTF-8.
fn decode_str(s: &str) -> Cell<'_> {
    // As in `decode`: trimming ASCII white space gives what `str::trim`
    // gives when what is left starts and ends with a plain ASCII byte.
    let b = s.as_bytes();
    let start = b.len() - b.trim_ascii_start().len();
    let end = b.trim_ascii_end().len();
    if start >= end {
        return Cell::Absent;
    }
    let plain = |b: u8| b.is_ascii() && b != 0x0B;
    if plain(b[start]) && plain(b[end - 1]) {
        if let Some(t) = s.get(start..end) {
            return Cell::Text(Cow::Borrowed(t));
        }
    }
    match s.trim() {
        "" => Cell::Absent,
        t => Cell::Text(Cow::Borrowed(t)),
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

fn saturate(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}
#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "snap/principals.csv";

    fn parse_principals(text: &[u8]) -> Part {
        parse(text, Table::Principals, FILE, 0, CHUNK).expect("in memory")
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
    /// Every record of `input` as the csv crate reads it (flexible byte
    /// records, no header): fields and 1-based starting line.
    fn csv_crate_records(input: &[u8]) -> Vec<(Vec<Vec<u8>>, u64)> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut out = Vec::new();
        let mut rec = csv::ByteRecord::new();
        while rdr.read_byte_record(&mut rec).expect("in memory") {
            let start = rec.position().map_or(0, |p| p.byte());
            let start = usize::try_from(start).expect("offset");
            // The line of the first byte that is not a line end.
            let first = input[start..]
                .iter()
                .position(|&b| b != b'\r' && b != b'\n')
                .map_or(input.len(), |p| start + p);
            let line = 1 + input[..first].iter().filter(|&&b| b == b'\n').count() as u64;
            out.push((rec.iter().map(<[u8]>::to_vec).collect(), line));
        }
        out
    }

    fn scanned(input: &[u8]) -> Vec<(Vec<Vec<u8>>, u64)> {
        let (mut sc, mut f, mut out) = (Scanner::default(), Fields::default(), Vec::new());
        while let Next::Record(line) = sc.next(input, true, &mut f) {
            out.push((
                (0..f.len()).map(|i| f.get(input, i).to_vec()).collect(),
                line,
            ));
        }
        out
    }

    #[test]
    fn scanner_reads_what_the_csv_crate_reads() {
        use rand::{Rng, SeedableRng};
        let alphabet: &[&[u8]] = &[
            b"a", b"b", b",", b"\"", b"\r", b"\n", b"\r\n", b" ", b"\"\"",
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..20_000 {
            let len = rng.random_range(0..24);
            let mut input = Vec::new();
            for _ in 0..len {
                input.extend_from_slice(alphabet[rng.random_range(0..alphabet.len())]);
            }
            assert_eq!(
                scanned(&input),
                csv_crate_records(&input),
                "{:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }

    /// A principals file with quoted newlines, CRLF, blank lines, bad rows
    /// and roles-free rows, large enough for many small chunks.
    fn mixed_file() -> Vec<u8> {
        let mut s = String::from("tenant_id,principal_id,kind,display_name,extra\r\n");
        for i in 0..400u32 {
            let name = match i % 5 {
                0 => "\"multi\r\nline\nname\"".to_owned(),
                1 => format!("\"quoted, \"\"{i}\"\"\""),
                _ => format!("Name {i}"),
            };
            let kind = if i % 17 == 0 { "nope" } else { "user" };
            s.push_str(&format!(
                "00000000-0000-0000-0000-000000000001,{i:08x}-0000-0000-0000-000000000000,{kind},{name},x\r\n"
            ));
            if i % 13 == 0 {
                s.push_str("\r\n,,,,\n");
            }
            if i % 29 == 0 {
                s.push_str("short,row\n");
            }
        }
        s.into_bytes()
    }

    fn summary(p: &Part) -> String {
        format!(
            "{:?}\n{:?}\n{:?}",
            p.rows.principals, p.diagnostics, p.account
        )
    }

    #[test]
    fn any_chunk_size_gives_the_sequential_result() {
        let input = mixed_file();
        let whole = parse(&input, Table::Principals, FILE, 3, CHUNK).expect("in memory");
        assert!(whole.rows.principals.len() > 300);
        assert!(!whole.diagnostics.is_empty());
        for chunk in [1, 2, 3, 7, 50, 64, 100, 333, 1000, 4096] {
            let p = parse(&input, Table::Principals, FILE, 3, chunk).expect("in memory");
            assert_eq!(summary(&p), summary(&whole), "chunk {chunk}");
        }
    }

    #[test]
    fn chunks_merge_in_file_order_whatever_order_they_finish() {
        let input = mixed_file();
        let whole = parse(&input, Table::Principals, FILE, 0, CHUNK).expect("in memory");
        let Start::Rows(run) = start(
            &input[..],
            input.len() as u64,
            Table::Principals,
            FILE,
            0,
            97,
            |_| Ok(()),
        )
        .expect("in memory") else {
            panic!("no rows");
        };
        let (mut buf, mut spare) = (Vec::new(), Rows::default());
        for i in (0..run.chunks()).rev() {
            run.parse_chunk(i, &mut buf, &mut spare);
        }
        assert_eq!(summary(&run.finish().expect("in memory")), summary(&whole));
    }
}
