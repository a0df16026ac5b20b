//! Reads one `TABLE.csv` file into a [`Part`].
//!
//! The file is read in pieces, never whole, and parsed in parallel: after
//! the header, the data is cut into chunks of about [`CHUNK`] bytes, each
//! read and parsed on its own (see [`Run`]), then merged in file order, so
//! the result is what one sequential pass gives, whatever the thread count.
//! A chunk starts after the first line end at or past its nominal offset.
//! That guess is wrong only when the line end is inside a quoted field; the
//! previous chunk notices (its last record runs past the guessed start),
//! keeps parsing through the next chunk and supersedes it, up to the first
//! later chunk start where it is between records again.
//!
//! The parser reads quoting leniently; each record's bytes are checked
//! against RFC 4180 ([`check_quotes`]), and after an unbalanced quote (a
//! quoted value over several lines that ends badly) reading starts again
//! on the line after the quote, so that the rows it took in are not lost.
//!
//! Records are read by the csv crate's parser, `csv_core` (default
//! settings, what `csv::ReaderBuilder` with `has_headers(false)` and
//! `flexible(true)` reads), fed each chunk's bytes as they are read; the
//! parser says where each record ends, and whether a chunk's end falls
//! inside a record. The header maps schema columns to field positions (any
//! order, names case-insensitive, BOM tolerated). A record with the wrong
//! number of fields is reported on its own and the rest keep loading; only
//! the cells of known columns are decoded, borrowed from the parser's
//! output buffer.

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use csv_core::ReadRecordResult;
use memchr::memchr;

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
            // Steps that grow with the search, so that a long line takes
            // few reads.
            let from = self.filled.max(at);
            let to = from.saturating_add(SEARCH.max(from - at));
            self.fill(buf, to)?;
        }
    }
}

fn index(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Reads records with the csv crate's parser (`csv_core`, default
/// settings, as `csv::ReaderBuilder` with `has_headers(false)` and
/// `flexible(true)` uses it) off input handed over in pieces, and counts
/// lines: csv_core counts the `\n` bytes it reads, and the line ends
/// between records are skipped here, before the parser sees them, so that
/// a record's line is that of its first byte (the csv crate's own line
/// lags by one after a CRLF record end, whose `\n` it reads only with the
/// next record).
struct Records {
    rdr: csv_core::Reader,
    /// `\n` bytes skipped between records (the parser counts the others).
    skipped: u64,
    /// The current record's fields, run together, unquoted.
    out: Vec<u8>,
    /// Where each field of the current record ends in `out`.
    ends: Vec<usize>,
    /// Bytes of `out` and entries of `ends` used so far.
    nout: usize,
    nend: usize,
    /// The current record's 1-based line.
    line: u64,
    /// Whether a record has been started and not finished.
    inside: bool,
    /// Where the current record starts, and where the record read last
    /// ends (past its line end, or its CR), in the input given to `next`.
    start: usize,
    end: usize,
    /// Blank lines skipped (nothing but line-end bytes on them).
    blank: u64,
    /// The record read last ended at a CR: a `\n` right after it ends its
    /// line, not a blank one.
    after_cr: bool,
}

/// What [`Records::next`] found.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// A record, starting on this 1-based line (counted from the start of
    /// the input the reader was given).
    Record(u64),
    /// The input ends between two records (at most line ends left).
    Between,
    /// The input ends inside a record and is not the end of the file: the
    /// reader waits for more.
    Inside,
}

impl Records {
    fn new() -> Self {
        let mut recs = Records {
            rdr: csv_core::Reader::new(),
            skipped: 0,
            out: vec![0; 1024],
            ends: vec![0; 16],
            nout: 0,
            nend: 0,
            line: 1,
            inside: false,
            start: 0,
            end: 0,
            blank: 0,
            after_cr: false,
        };
        recs.restart();
        recs
    }

    /// Makes the reader ready for input read from the start of a record,
    /// lines counted from there. (Reusing the reader spares rebuilding its
    /// transition table for every chunk, which took some 4% of the load's
    /// time; a built reader cannot be cloned instead, as csv-core 0.1.13's
    /// `Clone` copies only part of that table.)
    fn restart(&mut self) {
        self.resume(0);
        (self.line, self.blank) = (1, 0);
    }

    /// Makes the reader ready for input read from the start of a line,
    /// after `newlines` line ends (the lines of a record read again, after
    /// a quote that took in lines it should not have: see [`Run::row`]).
    fn resume(&mut self, newlines: u64) {
        self.rdr.reset();
        // csv_core strips a UTF-8 BOM from the first input it is given; the
        // loader strips the file's own, and a record mid-file keeps it (as
        // in one pass over the file). A blank line first (skipped, and its
        // line not counted) makes any later input not the first.
        let _ = self.rdr.read_record(b"\n", &mut [0], &mut [0]);
        self.rdr.set_line(1);
        (self.skipped, self.nout, self.nend) = (newlines, 0, 0);
        (self.inside, self.after_cr) = (false, false);
    }

    /// `\n` bytes read so far.
    fn newlines(&self) -> u64 {
        self.skipped + self.rdr.line() - 1
    }

    /// Reads on from `input[*pos..]`, advancing `pos` past the bytes read;
    /// `eof` says whether `input` ends where the file does. Record bytes
    /// handed over before the end of the input must not be handed again.
    fn next(&mut self, input: &[u8], pos: &mut usize, eof: bool) -> Next {
        if !self.inside {
            // Line ends between records (and blank lines) are skipped; a
            // CR does not end a line.
            while let Some(&b) = input.get(*pos) {
                match b {
                    b'\n' => {
                        self.skipped += 1;
                        if !std::mem::take(&mut self.after_cr) {
                            self.blank += 1;
                        }
                    }
                    b'\r' => {}
                    _ => break,
                }
                *pos += 1;
            }
            if *pos >= input.len() {
                return Next::Between;
            }
            self.line = self.skipped + self.rdr.line();
            (self.nout, self.nend, self.inside) = (0, 0, true);
            (self.start, self.after_cr) = (*pos, false);
        }
        loop {
            // Empty input (`eof`) tells the parser the record ends there.
            let rest = input.get(*pos..).unwrap_or_default();
            if rest.is_empty() && !eof {
                return Next::Inside;
            }
            let (res, nin, nout, nend) = self.rdr.read_record(
                rest,
                &mut self.out[self.nout..],
                &mut self.ends[self.nend..],
            );
            *pos += nin;
            self.nout += nout;
            self.nend += nend;
            match res {
                ReadRecordResult::Record => {
                    self.inside = false;
                    self.end = *pos;
                    self.after_cr = *pos > 0 && input.get(*pos - 1) == Some(&b'\r');
                    return Next::Record(self.line);
                }
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let len = self.out.len() * 2;
                    self.out.resize(len, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len() * 2;
                    self.ends.resize(len, 0);
                }
                // Only after the end of the input with no record started,
                // which is `Between`.
                ReadRecordResult::End => {
                    self.inside = false;
                    return Next::Between;
                }
            }
        }
    }

    /// The bytes of the record read last, as written (quotes, line end).
    fn raw<'i>(&self, input: &'i [u8]) -> &'i [u8] {
        input.get(self.start..self.end).unwrap_or_default()
    }

    /// The number of fields of the record read last.
    fn len(&self) -> usize {
        self.nend
    }

    /// The bytes of field `i` of the record read last.
    fn get(&self, i: usize) -> &[u8] {
        let Some(&end) = self.ends.get(i).filter(|_| i < self.nend) else {
            return &[];
        };
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1],
        };
        self.out.get(start..end).unwrap_or_default()
    }

    /// The fields of the record read last, run together, as text, if
    /// valid UTF-8.
    fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.out.get(..self.nout)?).ok()
    }

    /// Field `i` as text, given the record's [`Records::text`]; `None`
    /// when the field does not start and end on character boundaries (a
    /// character split by a separator inside quotes).
    fn get_str<'a>(&self, text: &'a str, i: usize) -> Option<&'a str> {
        if i >= self.nend {
            return None;
        }
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1],
        };
        text.get(start..self.ends[i])
    }
}

/// A thread's working memory for parsing chunks ([`Run::parse_chunk`]),
/// kept from one chunk to the next, of any file.
#[derive(Default)]
pub(crate) struct Scratch {
    /// The bytes of the chunk being parsed.
    buf: Vec<u8>,
    /// Emptied row vectors of a merged chunk, to fill again.
    rows: Rows,
    /// The record reader, built on first use.
    records: Option<Records>,
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
    /// The header ended at a CR: a `\n` right after it ends its line.
    header_cr: bool,
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
    /// The last long search for a line end: the first `\n` at or after
    /// `.0` ends at `.1` (see [`Run::boundary`]).
    known: Mutex<(u64, u64)>,
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
    let mut recs = Records::new();
    let mut pos = bom;
    let header_line = loop {
        let eof = w.filled >= w.limit;
        match recs.next(&buf, &mut pos, eof) {
            Next::Record(line) => break saturate(line),
            Next::Between if eof => {
                part.diagnostics.push(Diagnostic::warning(
                    file,
                    "empty file without a header row, read as an empty table",
                ));
                return Ok(Start::Done(Box::new(part)));
            }
            Next::Between | Next::Inside => {
                let next = w.filled + STEP;
                w.fill(&mut buf, next)?;
            }
        }
    };
    let names: Vec<String> = (0..recs.len())
        .map(|i| {
            String::from_utf8_lossy(recs.get(i))
                .trim_start_matches('\u{feff}')
                .trim()
                .to_owned()
        })
        .collect();
    // Header names that are not UTF-8 match no column: say so, rather than
    // report the required columns they may stand for as missing.
    let bad_utf8: Vec<usize> = (0..recs.len())
        .filter(|&i| std::str::from_utf8(recs.get(i)).is_err())
        .collect();
    let raw = recs.raw(&buf);
    let quotes = check_quotes(raw);
    let quote_problem = match (quotes.problem, quotes.spans) {
        (Some(q), _) => Some(quote_error(file, q, raw, header_line, &names).0),
        (None, Some(span)) => Some(span_error(file, span, raw, header_line, &names, None).0),
        (None, None) => None,
    };
    if let Some(mut d) = quote_problem {
        // The header's names are not what they look like: no row is read.
        (d.field, d.help) = (None, None);
        part.diagnostics.push(d);
        return Ok(Start::Done(Box::new(part)));
    }
    let Some(header) = Header::resolve(
        table,
        &names,
        &bad_utf8,
        file,
        header_line,
        &mut part.diagnostics,
    ) else {
        return Ok(Start::Done(Box::new(part)));
    };
    let data_start = pos as u64;
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
        header_cr: recs.after_cr,
        data_start,
        data_newlines: recs.newlines(),
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
        known: Mutex::new((0, 0)),
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

    /// Parses chunk `i` (with `scratch`, the calling thread's working
    /// memory) and merges it, and any chunk after it parsed already, if
    /// every chunk before it is merged. `scratch` gets back the emptied row
    /// vectors of a merged chunk.
    pub fn parse_chunk(&self, i: usize, scratch: &mut Scratch) {
        let rows = std::mem::take(&mut scratch.rows);
        let recs = scratch.records.get_or_insert_with(Records::new);
        recs.restart();
        let result = self.read_chunk(i, &mut scratch.buf, recs, rows);
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
                    scratch.rows = self.merge(seq, c);
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
    fn read_chunk(
        &self,
        i: usize,
        buf: &mut Vec<u8>,
        recs: &mut Records,
        rows: Rows,
    ) -> io::Result<Chunk> {
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
            self.boundary(&mut w, buf, nominal(i), false)?
        };
        // The window starts where the chunk does.
        let skip = index(start.min(w.filled).saturating_sub(w.off));
        buf.drain(..skip.min(buf.len()));
        w.off += skip as u64;
        if w.filled < start {
            (w.off, w.filled) = (start, start);
        }
        let mut j = i + 1;
        let mut end = self.chunk_end(&mut w, buf, j)?;
        let mut part = Part::new(self.table);
        part.rows = rows;
        let hint = self.rows_hint.load(Ordering::Relaxed);
        let room = hint + hint / 16;
        if part.rows.spare(self.table) < room {
            part.rows.reserve_exact(self.table, room);
        }
        let mut pos = index(start - w.off);
        // The first chunk starts right after the header: a `\n` there ends
        // the header's line when the header ended at its CR.
        recs.after_cr = i == 0 && self.header_cr;
        // The line of the previous record when it ended at a bare CR.
        let mut cut_line = None;
        // The starts of the chunks this one has run past inside a record
        // (`(offset, chunk)`), and the first of them not yet behind the
        // reader: where the reader is between records at one of them, the
        // chunk starting there reads on exactly as this one would, and
        // this one stops. (A record read again after an unbalanced quote
        // starts on a line the reader has run past.)
        let mut passed: Vec<(u64, usize)> = Vec::new();
        let mut ahead = 0;
        loop {
            let stop = passed.get(ahead).copied();
            let limit = stop.map_or(end, |(b, _)| b);
            let input = &buf[..index(limit - w.off)];
            let eof = stop.is_none() && end >= w.limit;
            let line = match recs.next(input, &mut pos, eof) {
                Next::Record(line) => line,
                Next::Between => {
                    if let Some((b, k)) = stop {
                        (end, j) = (b, k);
                    }
                    break;
                }
                Next::Inside if stop.is_some() => {
                    ahead += 1;
                    continue;
                }
                Next::Inside => {
                    // The record runs past the chunk's end: the next
                    // chunk's start was a guess inside a quoted field.
                    passed.push((end, j));
                    ahead = passed.len();
                    j += 1;
                    end = self.chunk_end(&mut w, buf, j)?;
                    continue;
                }
            };
            // The parser ends a record at a CR not followed by LF too; SPEC
            // line ends are LF or CRLF, so such a CR cut a line (chunks
            // start after an LF, so the CR's next byte is in `input`).
            let bare_cr = pos > 0
                && input.get(pos - 1) == Some(&b'\r')
                && input.get(pos).is_some_and(|&b| b != b'\n');
            let cut = Cut::of(&mut cut_line, saturate(line), bare_cr);
            let raw = recs.raw(input);
            if let Some(at) = self.row(&mut part, recs, raw, saturate(line), cut) {
                // Read the lines after the quote again, as records.
                let newlines = line - 1 + count_newlines(&raw[..at]);
                pos = recs.start + at;
                recs.resume(newlines);
                cut_line = None;
                let here = w.off + pos as u64;
                ahead = passed.partition_point(|&(b, _)| b < here);
            }
        }
        part.skip_rows(recs.blank);
        if end >= w.limit {
            j = self.chunks;
        }
        self.rows_hint
            .fetch_max(part.rows.len(self.table), Ordering::Relaxed);
        Ok(Chunk {
            part,
            newlines: recs.newlines(),
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
            self.boundary(w, buf, at, true)
        } else {
            w.fill(buf, w.limit)?;
            Ok(w.limit)
        }
    }

    /// The offset just past the first `\n` at or after `at`, or the end
    /// of the input; `w` holds the bytes up to it when `fill`.
    ///
    /// A line end found far from `at` is remembered: the chunks whose
    /// nominal starts fall inside one long line (a cell of many
    /// megabytes) all start at its end, and each would otherwise search
    /// the rest of the line again, time quadratic in the line's length.
    fn boundary(
        &self,
        w: &mut Window<'_, S>,
        buf: &mut Vec<u8>,
        at: u64,
        fill: bool,
    ) -> io::Result<u64> {
        if at < w.off {
            // The window starts at a chunk's start, the first line end
            // after a nominal start before `at`: none is between.
            return Ok(w.off);
        }
        let (from, to) = *self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if from <= at && at < to {
            if fill {
                w.fill(buf, to)?;
            }
            return Ok(to);
        }
        let found = w.boundary(buf, at)?;
        if found - at > SEARCH {
            *self.known.lock().unwrap_or_else(PoisonError::into_inner) = (at, found);
        }
        Ok(found)
    }

    /// Turns one record, `raw` as written, into a row of `part` (or a
    /// rejected or skipped row). When a quoted value took in lines it
    /// should not have (an unbalanced quote), gives the offset in `raw`
    /// of the line after the quote: the lines from there are to be read
    /// again, as records of their own, so that no row is lost to it.
    fn row(
        &self,
        part: &mut Part,
        recs: &Records,
        raw: &[u8],
        line: u32,
        cut: Cut,
    ) -> Option<usize> {
        let n = recs.len();
        let quotes = check_quotes(raw);
        let mut errors = Vec::new();
        let mut resume = None;
        if cut != Cut::Whole {
            errors.push(bare_cr_error(&self.file, line, n, &self.names, cut));
        }
        if let Some(q) = quotes.problem {
            let (d, at) = quote_error(&self.file, q, raw, line, &self.names);
            errors.push(d);
            resume = at;
        } else if cut == Cut::Whole {
            if (0..n).all(|i| recs.get(i).trim_ascii().is_empty()) {
                // Only separators (`,,,`, as spreadsheets leave at the
                // end): a blank row, set aside.
                part.skip_rows(1);
                return None;
            }
            if n != self.names.len() {
                let d = match quotes.spans {
                    Some(span) => {
                        let (d, at) = span_count_error(&self.file, span, raw, line, n, &self.names);
                        resume = Some(at);
                        d
                    }
                    None => field_count_error(&self.file, line, n, &self.names),
                };
                errors.push(d);
            }
        }
        if !errors.is_empty() {
            if cut == Cut::AfterCr {
                // The rest of a line already counted as a row.
                part.diagnostics.append(&mut errors);
            } else {
                let mut errors = errors.into_iter();
                if let Some(first) = errors.next() {
                    part.reject_row(first);
                }
                part.diagnostics.extend(errors);
            }
            return resume;
        }
        let mut row = Row::new(
            self.table,
            Loc {
                file: self.file_index,
                line,
            },
        );
        // One UTF-8 check for the whole record, not one per cell.
        let text = recs.text();
        for (cell, field) in row.cells.iter_mut().zip(self.header.fields) {
            if let Some(fi) = field {
                *cell = match text.and_then(|t| recs.get_str(t, fi)) {
                    Some(t) => decode_str(t),
                    None => decode(recs.get(fi)),
                };
            }
        }
        let header = &self.header;
        part.finish_row(row, &self.file, |ci| header.fields[ci].map(column_number));
        None
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
        part.columns = Some(self.header.fields.map(|f| f.map(column_number)));
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
            let mut scratch = Scratch::default();
            for i in 0..run.chunks() {
                run.parse_chunk(i, &mut scratch);
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
        bad_utf8: &[usize],
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
        let missing: Vec<&str> = columns
            .iter()
            .enumerate()
            .filter(|&(ci, c)| c.required && fields[ci].is_none())
            .map(|(_, c)| c.name)
            .collect();
        if !bad_utf8.is_empty() {
            // The true diagnosis: the header's text, not its columns.
            for &fi in bad_utf8 {
                let mut d = Diagnostic::error(
                    file,
                    format!(
                        "invalid UTF-8 in the header at column {}",
                        column_number(fi)
                    ),
                )
                .at_line(line)
                .at_column(column_number(fi))
                .with_expected(
                    "UTF-8 text (the file may be in another encoding, such as Windows-1252)",
                );
                if !missing.is_empty() {
                    d.help = Some(format!(
                        "the header names no column {}",
                        missing
                            .iter()
                            .map(|m| format!("`{m}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                diags.push(d);
            }
            return (ok && missing.is_empty()).then_some(Header { fields, unknown });
        }
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

/// How a record relates to a bare CR (a carriage return without a line
/// feed), which the parser takes for a record end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    /// An ordinary record.
    Whole,
    /// The record ends at a bare CR: its last field is cut short.
    EndsAtCr,
    /// The record starts right after a bare CR, on the same line.
    AfterCr,
}

impl Cut {
    /// The cut of a record on `line` that ends at a bare CR or not;
    /// `cut_line` carries the line of the previous record if it did.
    fn of(cut_line: &mut Option<u32>, line: u32, bare_cr: bool) -> Cut {
        let cut = if *cut_line == Some(line) {
            Cut::AfterCr
        } else if bare_cr {
            Cut::EndsAtCr
        } else {
            Cut::Whole
        };
        *cut_line = bare_cr.then_some(line);
        cut
    }
}

/// The rejection of a record cut by a bare CR: its line is not what it
/// looks like, so none of its cells is trusted.
fn bare_cr_error(file: &str, line: u32, fields: usize, names: &[String], cut: Cut) -> Diagnostic {
    let (message, at) = if cut == Cut::EndsAtCr {
        (
            "a carriage return without a line feed cuts this line: line ends are LF or CRLF",
            fields.saturating_sub(1),
        )
    } else {
        (
            "this part of the line follows a carriage return without a line feed: line ends are LF or CRLF",
            0,
        )
    };
    let mut d = Diagnostic::error(file, message)
        .at_line(line)
        .at_column(column_number(at))
        .with_expected("a CR inside a value quoted (\"…\"), or no CR");
    if let Some(name) = names.get(at) {
        d.field = Some(name.clone());
    }
    d
}

/// A breach of RFC 4180 quoting in one record; offsets are in the
/// record's bytes as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quoting {
    /// A `"` in a field that does not start with one, at `at`.
    Stray { field: usize, at: usize },
    /// Text after the closing quote of a quoted field.
    AfterClose {
        field: usize,
        open: usize,
        close: usize,
    },
    /// A quoted field the end of the file cuts.
    Unclosed { field: usize, open: usize },
}

/// A quoted field holding a line end: its index, and the offsets of its
/// opening and closing quotes.
type Span = (usize, usize, usize);

/// What [`check_quotes`] found.
#[derive(Debug, Default, PartialEq, Eq)]
struct QuoteCheck {
    /// The first breach of the quoting rules.
    problem: Option<Quoting>,
    /// The first quoted field (before the problem) holding a line end.
    spans: Option<Span>,
}

/// Checks the quoting of one record, `raw` as written (up to its line end
/// or the end of the file), as RFC 4180 has it: a field is quoted as a
/// whole or holds no `"`; inside quotes a `"` is doubled; the closing
/// quote is followed by `,`, the line end or the end of the file. The
/// parser reads a breach leniently (a stray `"` as data, text after a
/// closing quote as more of the value, an unclosed quote as running to
/// the end of the file); this finds it. Linear in the record's length.
fn check_quotes(raw: &[u8]) -> QuoteCheck {
    let mut out = QuoteCheck::default();
    if memchr(b'"', raw).is_none() {
        return out;
    }
    let (mut i, mut field) = (0, 0);
    loop {
        if raw.get(i) == Some(&b'"') {
            let open = i;
            let mut j = i + 1;
            let close = loop {
                match raw.get(j..).and_then(|r| memchr(b'"', r)) {
                    None => {
                        out.problem = Some(Quoting::Unclosed { field, open });
                        if out.spans.is_none() && memchr(b'\n', &raw[open..]).is_some() {
                            out.spans = Some((field, open, raw.len()));
                        }
                        return out;
                    }
                    Some(k) if raw.get(j + k + 1) == Some(&b'"') => j += k + 2,
                    Some(k) => break j + k,
                }
            };
            if out.spans.is_none() && memchr(b'\n', &raw[open..close]).is_some() {
                out.spans = Some((field, open, close));
            }
            i = close + 1;
            match raw.get(i) {
                None | Some(b'\r' | b'\n') => return out,
                Some(b',') => {}
                Some(_) => {
                    out.problem = Some(Quoting::AfterClose { field, open, close });
                    return out;
                }
            }
        } else {
            match raw.get(i..).and_then(|r| memchr::memchr2(b',', b'"', r)) {
                None => return out,
                Some(k) if raw[i + k] == b'"' => {
                    out.problem = Some(Quoting::Stray { field, at: i + k });
                    return out;
                }
                Some(k) => i += k,
            }
        }
        // At a separator.
        i += 1;
        field += 1;
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// The line of offset `at` of a record on `line`.
fn line_at(raw: &[u8], line: u32, at: usize) -> u32 {
    let n = count_newlines(raw.get(..at).unwrap_or(raw));
    saturate(u64::from(line) + n)
}

/// The number of lines the bytes from `open` to `close` are on. (A
/// message says this rather than a line number: a chunk's lines are
/// counted from its start, and only the diagnostic's line is moved.)
fn lines_over(raw: &[u8], open: usize, close: usize) -> u64 {
    1 + count_newlines(raw.get(open..close).unwrap_or_default())
}

/// An error at field `field` of a record, on the line of offset `at`.
fn record_error(
    file: &str,
    raw: &[u8],
    line: u32,
    field: usize,
    at: usize,
    message: String,
    names: &[String],
) -> Diagnostic {
    let mut d = Diagnostic::error(file, message)
        .at_line(line_at(raw, line, at))
        .at_column(column_number(field));
    d.field = names.get(field).filter(|n| !n.is_empty()).cloned();
    d
}

/// The offset of the line after the one holding the opening quote at
/// `open`, when the quoted value runs on past it: where reading starts
/// again after an unbalanced quote.
fn after_quote_line(raw: &[u8], open: usize, close: usize) -> Option<usize> {
    let p = memchr(b'\n', raw.get(open..close)?)?;
    Some(open + p + 1)
}

const REREAD: &str = "the lines after this one are read again, as rows of their own";

/// The diagnostic of a quoting breach, and where to read again (see
/// [`Run::row`]) when the quote took in lines.
fn quote_error(
    file: &str,
    q: Quoting,
    raw: &[u8],
    line: u32,
    names: &[String],
) -> (Diagnostic, Option<usize>) {
    match q {
        Quoting::Stray { field, at } => {
            let d = record_error(
                file,
                raw,
                line,
                field,
                at,
                "`\"` in a value that does not start with one".to_owned(),
                names,
            )
            .with_expected(
                "a value holding `\"` quoted as a whole, each `\"` in it doubled (`\"a \"\"b\"\"\"`)",
            );
            (d, None)
        }
        Quoting::AfterClose { field, open, close } => {
            let at = after_quote_line(raw, open, close);
            let message = match at {
                None => "text after the closing `\"` of a quoted value".to_owned(),
                Some(_) => format!(
                    "unbalanced quote: the value this `\"` opens runs over {} lines, and text follows its closing `\"`",
                    lines_over(raw, open, close)
                ),
            };
            let mut d = record_error(file, raw, line, field, open, message, names).with_expected(
                "`,` or the line end after a closing `\"`, each `\"` inside a quoted value doubled",
            );
            if at.is_some() {
                d.help = Some(REREAD.to_owned());
            }
            (d, at)
        }
        Quoting::Unclosed { field, open } => {
            let at = after_quote_line(raw, open, raw.len());
            let mut d = record_error(
                file,
                raw,
                line,
                field,
                open,
                "unbalanced quote: the value this `\"` opens is never closed (it runs to the end of the file)".to_owned(),
                names,
            )
            .with_expected("a closing `\"` for each quoted value");
            if at.is_some() {
                d.help = Some(REREAD.to_owned());
            }
            (d, at)
        }
    }
}

/// The error of a record whose quoted value runs over several lines and
/// that does not have the header's number of fields (`found`, or `None`
/// for the header itself): most likely an unbalanced quote that took in
/// the lines after it.
fn span_error(
    file: &str,
    (field, open, close): Span,
    raw: &[u8],
    line: u32,
    names: &[String],
    found: Option<usize>,
) -> (Diagnostic, usize) {
    let over = lines_over(raw, open, close);
    let (message, expected) = match found {
        Some(found) => (
            format!(
                "unbalanced quote: the value this `\"` opens runs over {over} lines, and the record then has {found} fields, the header {}",
                names.len()
            ),
            format!(
                "{} fields, one per header column, and a closing `\"` for each quoted value",
                names.len()
            ),
        ),
        None => (
            format!("unbalanced quote in the header: the value this `\"` opens runs over {over} lines"),
            "a header on one line, a closing `\"` for each quoted name".to_owned(),
        ),
    };
    let mut d = record_error(file, raw, line, field, open, message, names).with_expected(expected);
    if found.is_some() {
        d.help = Some(REREAD.to_owned());
    }
    let at = after_quote_line(raw, open, close).unwrap_or(raw.len());
    (d, at)
}

fn span_count_error(
    file: &str,
    span: Span,
    raw: &[u8],
    line: u32,
    found: usize,
    names: &[String],
) -> (Diagnostic, usize) {
    span_error(file, span, raw, line, names, Some(found))
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
        assert_eq!(
            (
                p.account.rows_read,
                p.account.rows_used,
                p.account.rows_skipped
            ),
            (3, 1, 2)
        );
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
    /// The 1-based line of the record the csv crate read from `start` on:
    /// that of its first byte, past the line ends the reader skipped.
    fn record_line(input: &[u8], start: u64) -> (u32, usize) {
        let start = usize::try_from(start).expect("offset");
        let first = input[start..]
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .map_or(input.len(), |p| start + p);
        let line = saturate(1 + input[..first].iter().filter(|&&b| b == b'\n').count() as u64);
        (line, first)
    }

    /// What one sequential pass of the csv crate over the whole of `input`
    /// gives (flexible byte records, no header handling), each record after
    /// the header made a row as the chunks make them ([`Run::row`]); for
    /// files whose quoting is valid (nothing to read again), and without
    /// blank lines counted.
    fn csv_crate_pass(input: &[u8], run: &Run<&[u8]>) -> Part {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let (mut rec, mut recs) = (csv::ByteRecord::new(), Records::new());
        let mut part = Part::new(run.table);
        let mut header = true;
        let mut cut_line = None;
        while rdr.read_byte_record(&mut rec).expect("in memory") {
            let (line, start) = record_line(input, rec.position().map_or(0, |p| p.byte()));
            // Where the reader stopped: past the record's terminator.
            let end = index(rdr.position().byte());
            let bare_cr = end > 0
                && input.get(end - 1) == Some(&b'\r')
                && input.get(end).is_some_and(|&b| b != b'\n');
            let cut = Cut::of(&mut cut_line, line, bare_cr);
            if std::mem::take(&mut header) {
                let names: Vec<&[u8]> = rec.iter().collect();
                assert_eq!(
                    names,
                    run.names.iter().map(|n| n.as_bytes()).collect::<Vec<_>>()
                );
                assert_eq!(line, run.header_line);
                continue;
            }
            recs.out = rec.as_slice().to_vec();
            recs.nout = recs.out.len();
            recs.ends = rec
                .iter()
                .scan(0, |end, f| {
                    *end += f.len();
                    Some(*end)
                })
                .collect();
            recs.nend = recs.ends.len();
            let raw = &input[start.min(end)..end];
            assert_eq!(run.row(&mut part, &recs, raw, line, cut), None);
        }
        part
    }

    /// A principals file (header without unknown columns) whose records
    /// end in random line ends and hold random display names: quoted or
    /// not, with separators, quotes, `""`, CR, LF, CRLF, non-ASCII and
    /// invalid UTF-8; now and then a record starting with a BOM. When
    /// `strict`, a quote is doubled in a quoted name and left out of an
    /// unquoted one (RFC 4180).
    fn random_file(rng: &mut impl rand::Rng, strict: bool) -> Vec<u8> {
        let alphabet: &[&[u8]] = &[
            b"a",
            b"b",
            b",",
            b"\"",
            b"\r",
            b"\n",
            b"\r\n",
            b" ",
            b"\"\"",
            "\u{e9}".as_bytes(),
            b"\xff",
        ];
        let ends: &[&[u8]] = &[b"\n", b"\r\n", b"\r", b"\r\n\r\n", b"\n,,,\n", b"\n\n\r"];
        let mut s = b"tenant_id,principal_id,kind,display_name\r\n".to_vec();
        for i in 0..rng.random_range(0..30u32) {
            if rng.random_ratio(1, 20) {
                s.extend_from_slice(b"\xEF\xBB\xBF");
            }
            s.extend_from_slice(
                format!("00000000-0000-0000-0000-000000000001,{i:08x}-0000-0000-0000-000000000000,user,")
                    .as_bytes(),
            );
            let quoted = rng.random_bool(0.5);
            if quoted {
                s.push(b'"');
            }
            for _ in 0..rng.random_range(0..8) {
                let mut piece = alphabet[rng.random_range(0..alphabet.len())];
                if strict && piece.contains(&b'"') {
                    piece = if quoted { b"\"\"" } else { b"" };
                }
                s.extend_from_slice(piece);
            }
            if quoted {
                s.push(b'"');
            }
            s.extend_from_slice(ends[rng.random_range(0..ends.len())]);
        }
        if rng.random_bool(0.2) {
            // No line end after the last record.
            while s.last().is_some_and(|b| matches!(b, b'\r' | b'\n' | b',')) {
                s.pop();
            }
        }
        s
    }

    /// The rows of `input` read in chunks of `chunk` bytes parsed in a
    /// random order.
    fn shuffled_parse(
        input: &[u8],
        chunk: u64,
        strict: bool,
        rng: &mut impl rand::Rng,
    ) -> (Part, Part) {
        use rand::seq::SliceRandom;
        let Start::Rows(run) = start(
            input,
            input.len() as u64,
            Table::Principals,
            FILE,
            0,
            chunk,
            |_| Ok(()),
        )
        .expect("in memory") else {
            panic!("no rows");
        };
        let expected = if strict {
            csv_crate_pass(input, &run)
        } else {
            Part::new(Table::Principals)
        };
        let mut order: Vec<usize> = (0..run.chunks()).collect();
        order.shuffle(rng);
        let mut scratch = Scratch::default();
        for i in order {
            run.parse_chunk(i, &mut scratch);
        }
        (run.finish().expect("in memory"), expected)
    }

    /// Rows, diagnostics and the rows used and rejected (blank lines are
    /// not records to the csv crate).
    fn records_summary(p: &Part) -> String {
        format!(
            "{:?}\n{:?}\n{:?}",
            p.rows.principals,
            p.diagnostics,
            (p.account.rows_used, p.account.rows_rejected)
        )
    }

    #[test]
    fn chunks_read_what_one_csv_crate_pass_reads() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..3_000 {
            let input = random_file(&mut rng, true);
            let chunk = rng.random_range(1..64);
            let (got, expected) = shuffled_parse(&input, chunk, true, &mut rng);
            assert_eq!(
                records_summary(&got),
                records_summary(&expected),
                "chunk {chunk}: {:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }

    /// Validates that whatever the quoting (unbalanced quotes read again
    /// from the line after them included), chunks parsed in any order give
    /// what one sequential pass gives, and every record is accounted for.
    #[test]
    fn chunks_read_what_one_pass_reads_whatever_the_quoting() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..3_000 {
            let input = random_file(&mut rng, false);
            let chunk = rng.random_range(1..64);
            let (got, _) = shuffled_parse(&input, chunk, false, &mut rng);
            let whole = parse(&input, Table::Principals, FILE, 0, input.len() as u64 + 1)
                .expect("in memory");
            let shown = String::from_utf8_lossy(&input);
            assert_eq!(
                got.diagnostics, whole.diagnostics,
                "chunk {chunk}: {shown:?}"
            );
            assert_eq!(summary(&got), summary(&whole), "chunk {chunk}: {shown:?}");
            let a = &got.account;
            assert_eq!(a.rows_read, a.rows_used + a.rows_rejected + a.rows_skipped);
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

    /// Input that counts the bytes read from it.
    struct Counted<'a>(&'a [u8], AtomicUsize);

    impl Source for Counted<'_> {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let n = self.0.read_at(buf, offset)?;
            self.1.fetch_add(n, Ordering::Relaxed);
            Ok(n)
        }
    }

    /// Validates that a file holding one huge cell (no line end in it, or
    /// line ends only inside quotes) is read in time linear in its size:
    /// every chunk whose nominal start falls inside the cell searched the
    /// rest of it for a line end, reading the file some hundreds of times
    /// over (16 GB for a 64 MB cell). Counted in bytes read, not time.
    #[test]
    fn a_huge_cell_is_read_in_linear_time() {
        const BIG: usize = 16 << 20;
        let header = "tenant_id,principal_id,kind,display_name\n";
        let row = "00000000-0000-0000-0000-000000000001,00000000-0000-0000-0000-0000000000a1,user,";
        let unquoted = [header.as_bytes(), row.as_bytes(), &vec![b'x'; BIG], b"\n"].concat();
        let quoted = [
            header.as_bytes(),
            row.as_bytes(),
            b"\"",
            format!("{}\n", "z".repeat(99)).repeat(BIG / 100).as_bytes(),
            b"\"\n",
        ]
        .concat();
        for input in [unquoted, quoted] {
            let src = Counted(&input, AtomicUsize::new(0));
            let Start::Rows(run) = start(
                &src,
                input.len() as u64,
                Table::Principals,
                FILE,
                0,
                CHUNK,
                |_| Ok(()),
            )
            .expect("in memory") else {
                panic!("no rows");
            };
            let mut scratch = Scratch::default();
            for i in 0..run.chunks() {
                run.parse_chunk(i, &mut scratch);
            }
            let p = run.finish().expect("in memory");
            assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
            assert_eq!(p.rows.principals.len(), 1);
            assert!(p.rows.principals[0].display_name.len() >= BIG - 100);
            let read = src.1.load(Ordering::Relaxed);
            assert!(
                read <= 3 * input.len(),
                "{read} bytes read for a file of {}",
                input.len()
            );
        }
    }

    /// Validates that a file where every row has an unbalanced quote is
    /// read in linear time too: each record then runs past the next line
    /// start and is read again from it, so the reader is never between
    /// records at a chunk's end, and every chunk read on to the end of the
    /// file. Counted in bytes read, not time.
    #[test]
    fn unbalanced_quotes_on_every_row_are_read_in_linear_time() {
        let mut input = b"tenant_id,principal_id,kind,display_name\n".to_vec();
        for i in 0..20_000u32 {
            input.extend(
                format!("00000000-0000-0000-0000-000000000001,{i:08x}-0000-0000-0000-000000000000,user,\"x{i}\n")
                    .as_bytes(),
            );
        }
        let src = Counted(&input, AtomicUsize::new(0));
        let Start::Rows(run) = start(
            &src,
            input.len() as u64,
            Table::Principals,
            FILE,
            0,
            4096,
            |_| Ok(()),
        )
        .expect("in memory") else {
            panic!("no rows");
        };
        let mut scratch = Scratch::default();
        for i in 0..run.chunks() {
            run.parse_chunk(i, &mut scratch);
        }
        let p = run.finish().expect("in memory");
        assert_eq!(
            (p.account.rows_read, p.account.rows_rejected),
            (20_000, 20_000)
        );
        let read = src.1.load(Ordering::Relaxed);
        assert!(
            read <= 3 * input.len(),
            "{read} bytes read for a file of {}",
            input.len()
        );
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
        let mut scratch = Scratch::default();
        for i in (0..run.chunks()).rev() {
            run.parse_chunk(i, &mut scratch);
        }
        assert_eq!(summary(&run.finish().expect("in memory")), summary(&whole));
    }
}
