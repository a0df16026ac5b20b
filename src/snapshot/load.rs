//! Loading a snapshot (SPEC §3): a directory of per-table CSV / JSON /
//! JSONL files plus an optional `manifest.json`, or one JSON file whose keys
//! are table names.
//!
//! Files are parsed in parallel (rayon), largest first, each into a
//! [`Part`] that keeps its role cells as file-local texts. CSV files are
//! read in chunks, never whole, parsed in parallel and merged in order
//! (see [`csv_in`]). Parts are then merged sequentially in
//! canonical table order, then file-name order, and role texts are interned
//! in that order, so role ids, row order and diagnostics are the same
//! whatever the thread count. Nothing here returns early: every problem
//! found becomes a [`Diagnostic`] and the caller decides what to do.

use std::fs::{self, File};

use crate::input_file::{self, io_message};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::dedup::{reject_duplicates, ColumnMaps};
use super::diag::{quote, sort_diagnostics, Diagnostic};
use super::fields::suggest;
use super::model::{Manifest, Snapshot, TABLES};
use super::roles::RoleId;
use super::tables::{append_vec, too_many_roles, Part, Table};
use super::{csv_in, json_in};

/// A loaded snapshot and every problem found while loading it.
#[derive(Debug)]
pub struct Loaded {
    /// The rows that passed validation.
    pub snapshot: Snapshot,
    /// Errors and warnings, sorted by file, line, column, field, message.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// The error diagnostics (rejected rows and files).
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// True when any row or file was rejected.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

/// Loads the snapshot at `path` (a directory or a single `.json` file).
///
/// Never panics and never stops at the first problem: rejected rows and
/// files are reported in [`Loaded::diagnostics`] and counted in
/// [`Snapshot::accounting`].
pub fn load(path: &Path) -> Loaded {
    let display = path.display().to_string();
    let mut b = Builder::default();
    match fs::metadata(path) {
        Err(e) => b.diagnostics.push(
            Diagnostic::error(
                &display,
                format!("cannot read snapshot: {}", io_message(&e)),
            )
            .with_expected("a snapshot directory or a single `.json` file"),
        ),
        Ok(m) if m.is_dir() => b.load_dir(path),
        Ok(m) if m.is_file() && extension(path).as_deref() == Some("json") => {
            b.load_single(path, &display)
        }
        Ok(_) => b.diagnostics.push(
            Diagnostic::error(&display, "not a snapshot")
                .with_expected("a snapshot directory or a single `.json` file"),
        ),
    }
    let mut loaded = b.finish();
    let root = if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(Path::new(""))
    };
    loaded.snapshot.set_root(root);
    loaded
}

/// Loads a single-file JSON snapshot held in memory (a fixture built into
/// the binary); `display` names it in diagnostics, as a path would.
pub fn load_json_text(text: &str, display: &str) -> Loaded {
    let mut b = Builder::default();
    b.snapshot.files.push(display.to_owned());
    match check_encoding(text.as_bytes(), display) {
        Err(d) => b.diagnostics.push(d),
        Ok(()) => {
            let (parts, manifest, mut diags) =
                json_in::parse_single(strip_bom(text.as_bytes()), display);
            b.diagnostics.append(&mut diags);
            if let Some(m) = manifest {
                b.snapshot.manifest = m;
            }
            for part in parts {
                b.merge(part, display);
            }
        }
    }
    let mut loaded = b.finish();
    let root = Path::new(display).parent().unwrap_or(Path::new(""));
    loaded.snapshot.set_root(root);
    loaded
}

/// How a table file is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
    Jsonl,
}

/// One table file of a snapshot directory.
struct Job {
    table: Table,
    path: PathBuf,
    display: String,
    format: Format,
    /// File size in bytes: the largest files are parsed first.
    size: u64,
}

#[derive(Default)]
struct Builder {
    snapshot: Snapshot,
    diagnostics: Vec<Diagnostic>,
    /// CSV column numbers per file, for diagnostics raised after parsing.
    columns: ColumnMaps,
}

impl Builder {
    fn load_dir(&mut self, dir: &Path) {
        let mut names = Vec::new();
        match fs::read_dir(dir) {
            Err(e) => {
                self.diagnostics.push(Diagnostic::error(
                    dir.display().to_string(),
                    format!("cannot read snapshot directory: {}", io_message(&e)),
                ));
                return;
            }
            Ok(entries) => {
                for entry in entries {
                    match entry {
                        Ok(e) => names.push(e.file_name().to_string_lossy().into_owned()),
                        Err(e) => self.diagnostics.push(Diagnostic::error(
                            dir.display().to_string(),
                            format!("cannot list snapshot directory: {}", io_message(&e)),
                        )),
                    }
                }
            }
        }
        names.sort();

        let mut jobs = Vec::new();
        let mut manifest = None;
        for name in names {
            let path = dir.join(&name);
            let (stem, format) = match name.rsplit_once('.') {
                Some((stem, ext)) => match ext.to_ascii_lowercase().as_str() {
                    "csv" => (stem, Format::Csv),
                    "json" => (stem, Format::Json),
                    "jsonl" => (stem, Format::Jsonl),
                    _ => continue,
                },
                None => continue,
            };
            let display = path.display().to_string();
            if stem.eq_ignore_ascii_case("manifest") && format == Format::Json {
                manifest = Some((path, display));
            } else if let Some(table) = Table::from_name(stem) {
                // A table file that is no regular file (a directory, a
                // FIFO, a device, a dangling link) is not an absent table:
                // opening it in `prepare` reports it.
                let size = fs::metadata(&path).map_or(0, |m| m.len());
                jobs.push(Job {
                    table,
                    path,
                    display,
                    format,
                    size,
                });
            } else {
                self.diagnostics.push(unknown_table_file(&display, stem));
            }
        }
        // Canonical table order, file-name order within a table (stable sort).
        jobs.sort_by_key(|j| j.table);
        if jobs.len() > usize::from(u16::MAX) + 1 {
            for j in jobs.drain(usize::from(u16::MAX) + 1..) {
                self.diagnostics.push(
                    Diagnostic::error(j.display, "too many files in one snapshot, file not read")
                        .with_expected(format!("at most {} table files", u32::from(u16::MAX) + 1)),
                );
            }
        }
        if jobs.is_empty() {
            self.diagnostics.push(
                Diagnostic::warning(dir.display().to_string(), "no table files found")
                    .with_expected(format!(
                        "files named TABLE.csv, TABLE.json or TABLE.jsonl with TABLE one of {}",
                        TABLES.join(", ")
                    )),
            );
        }

        // Largest files first (one big file should not start last), one
        // file per task: JSON files are parsed whole, CSV files only have
        // their header read here.
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].size));
        let mut prepared: Vec<(usize, Prepared)> = order
            .into_par_iter()
            .with_max_len(1)
            .map(|i| (i, prepare(&jobs[i], u16::try_from(i).unwrap_or(u16::MAX))))
            .collect();
        prepared.sort_unstable_by_key(|&(i, _)| i);
        parse_csv_chunks(&prepared);
        // Parts are merged in job order whatever the order they were
        // parsed in.
        let parts = prepared.into_iter().map(|(i, p)| {
            let part = match p {
                Prepared::Done(part) => *part,
                Prepared::Csv(run) => run
                    .finish()
                    .unwrap_or_else(|e| failed(jobs[i].table, read_error(&jobs[i].display, &e))),
            };
            (i, part)
        });
        self.snapshot.files = jobs.iter().map(|j| j.display.clone()).collect();
        for (job, (_, part)) in jobs.iter().zip(parts) {
            self.merge(part, &job.display);
        }

        if let Some((path, display)) = manifest {
            match read(&path, &display) {
                Ok(bytes) => {
                    let (m, mut diags) = json_in::parse_manifest(strip_bom(&bytes), &display);
                    self.snapshot.manifest = m;
                    self.diagnostics.append(&mut diags);
                }
                Err(d) => self.diagnostics.push(d),
            }
            self.snapshot.files.push(display);
        }
    }

    fn load_single(&mut self, path: &Path, display: &str) {
        self.snapshot.files.push(display.to_owned());
        let bytes = match read(path, display) {
            Ok(b) => b,
            Err(d) => {
                self.diagnostics.push(d);
                return;
            }
        };
        let (parts, manifest, mut diags) = json_in::parse_single(strip_bom(&bytes), display);
        self.diagnostics.append(&mut diags);
        if let Some(m) = manifest {
            self.snapshot.manifest = m;
        }
        for part in parts {
            self.merge(part, display);
        }
    }

    /// Adds one part: interns its roles (sequentially, in merge order),
    /// accounts for it and appends its rows and diagnostics.
    fn merge(&mut self, part: Part, file: &str) {
        let Part {
            table,
            mut rows,
            roles,
            account,
            mut diagnostics,
            columns,
        } = part;
        if let Some(columns) = columns {
            self.columns.insert(file.to_owned(), columns);
        }
        let map: Vec<Option<RoleId>> = roles
            .texts
            .iter()
            .map(|t| self.snapshot.roles.intern(t))
            .collect();
        let lost = rows.remap_roles(&map);
        diagnostics.extend(lost.iter().map(|&loc| too_many_roles(file, loc)));

        let acc = self
            .snapshot
            .accounting
            .entry(table.name().to_owned())
            .or_default();
        let lost = lost.len() as u64;
        acc.rows_read += account.rows_read;
        acc.rows_used += account.rows_used.saturating_sub(lost);
        acc.rows_rejected += account.rows_rejected + lost;
        acc.rows_skipped += account.rows_skipped;
        for (column, n) in account.unknown_columns {
            *acc.unknown_columns.entry(column).or_default() += n;
        }
        if !acc.files.iter().any(|f| f == file) {
            acc.files.push(file.to_owned());
        }
        self.diagnostics.append(&mut diagnostics);

        let s = &mut self.snapshot;
        append_vec(&mut s.tenants, rows.tenants);
        append_vec(&mut s.relationships, rows.relationships);
        append_vec(&mut s.principals, rows.principals);
        append_vec(&mut s.memberships, rows.memberships);
        append_vec(&mut s.role_assignments, rows.role_assignments);
        append_vec(&mut s.subscriptions, rows.subscriptions);
        append_vec(&mut s.devices, rows.devices);
        append_vec(&mut s.autopilot_profiles, rows.autopilot_profiles);
        append_vec(&mut s.invitations, rows.invitations);
        append_vec(&mut s.gdap_access_assignments, rows.gdap_access_assignments);
        append_vec(&mut s.lighthouse_delegations, rows.lighthouse_delegations);
        append_vec(
            &mut s.lighthouse_authorizations,
            rows.lighthouse_authorizations,
        );
        append_vec(&mut s.service_principals, rows.service_principals);
        append_vec(&mut s.app_permissions, rows.app_permissions);
    }

    fn finish(mut self) -> Loaded {
        reject_duplicates(&mut self.snapshot, &self.columns, &mut self.diagnostics);
        for t in TABLES {
            self.snapshot.accounting.entry((*t).to_owned()).or_default();
        }
        if self.snapshot.manifest.format_version == 0 {
            self.snapshot.manifest = Manifest {
                format_version: 1,
                ..std::mem::take(&mut self.snapshot.manifest)
            };
        }
        sort_diagnostics(&mut self.diagnostics);
        Loaded {
            snapshot: self.snapshot,
            diagnostics: self.diagnostics,
        }
    }
}

/// A table file after its first look: parsed already, or a CSV file
/// whose rows are still to parse, in chunks.
enum Prepared {
    Done(Box<Part>),
    Csv(Box<csv_in::Run<File>>),
}

/// Parses every chunk of every CSV file of `prepared`: each thread takes
/// the next chunk in line, the largest file's first, so that a file's
/// chunks are parsed (and merged, in order) roughly front to back.
fn parse_csv_chunks(prepared: &[(usize, Prepared)]) {
    let mut runs: Vec<&csv_in::Run<File>> = prepared
        .iter()
        .filter_map(|(_, p)| match p {
            Prepared::Csv(run) => Some(&**run),
            Prepared::Done(_) => None,
        })
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.size()));
    let tasks: Vec<(usize, usize)> = runs
        .iter()
        .enumerate()
        .flat_map(|(r, run)| (0..run.chunks()).map(move |c| (r, c)))
        .collect();
    let next = AtomicUsize::new(0);
    let (runs, tasks, next) = (&runs, &tasks, &next);
    rayon::scope(|s| {
        for _ in 0..rayon::current_num_threads().min(tasks.len()) {
            s.spawn(move |_| {
                let mut scratch = csv_in::Scratch::default();
                while let Some(&(r, c)) = tasks.get(next.fetch_add(1, Ordering::Relaxed)) {
                    runs[r].parse_chunk(c, &mut scratch);
                }
            });
        }
    });
}

/// Reads and parses one JSON table file, or the header of a CSV one; a
/// file that cannot be read gives a part holding just that error.
fn prepare(job: &Job, file_index: u16) -> Prepared {
    let (table, file) = (job.table, job.display.as_str());
    let parsed = match job.format {
        Format::Csv => {
            // The size is the opened file's, within the size cap: the
            // chunked reader never reads past it.
            let (f, size) = match input_file::open(&job.path) {
                Ok(opened) => opened,
                Err(e) => return Prepared::Done(Box::new(failed(table, e.diagnostic(file)))),
            };
            return match csv_in::start(f, size, table, file, file_index, csv_in::CHUNK, |head| {
                check_encoding(head, file)
            }) {
                Ok(csv_in::Start::Rows(run)) => Prepared::Csv(run),
                Ok(csv_in::Start::Done(part)) => Prepared::Done(part),
                Err(e) => Prepared::Done(Box::new(failed(table, read_error(file, &e)))),
            };
        }
        Format::Json => read(&job.path, file)
            .map(|bytes| json_in::parse_table(strip_bom(&bytes), table, file, file_index)),
        Format::Jsonl => read(&job.path, file)
            .map(|bytes| json_in::parse_lines(strip_bom(&bytes), table, file, file_index)),
    };
    Prepared::Done(Box::new(parsed.unwrap_or_else(|d| failed(table, d))))
}

/// The part of a file that could not be read.
fn failed(table: Table, d: Diagnostic) -> Part {
    let mut part = Part::new(table);
    part.diagnostics.push(d);
    part
}

/// Reads a whole file; unreadable, oversized, non-regular files and files
/// not in UTF-8 are file-level errors.
fn read(path: &Path, display: &str) -> Result<Vec<u8>, Diagnostic> {
    let bytes = input_file::read(path).map_err(|e| e.diagnostic(display))?;
    check_encoding(&bytes, display)?;
    Ok(bytes)
}

/// A file in UTF-16 or UTF-32 is a file-level error that says which: by
/// its byte-order mark, or without one by where the zero bytes of ASCII
/// text fall among the first bytes (UTF-8 text has no zero bytes there).
/// `bytes` is the file, or its first bytes.
fn check_encoding(bytes: &[u8], display: &str) -> Result<(), Diagnostic> {
    let message = match sniff_wide(bytes) {
        None => return Ok(()),
        Some(Wide::Utf32 { bom: true }) => {
            "UTF-32 is not supported (the file starts with a UTF-32 byte-order mark)"
        }
        Some(Wide::Utf32 { bom: false }) => {
            "UTF-32 is not supported (the file looks like UTF-32 without a byte-order mark: three zero bytes with each ASCII character)"
        }
        Some(Wide::Utf16 { bom: true }) => "file is UTF-16 encoded",
        Some(Wide::Utf16 { bom: false }) => {
            "file looks like UTF-16 without a byte-order mark (a zero byte with each ASCII character); UTF-16 is not supported"
        }
    };
    Err(Diagnostic::error(display, message).with_expected("UTF-8, with or without BOM"))
}

/// A text encoding of two or four bytes per ASCII character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wide {
    /// UTF-16, little- or big-endian; `bom` when it starts with one.
    Utf16 { bom: bool },
    /// UTF-32, little- or big-endian.
    Utf32 { bom: bool },
}

/// Recognises UTF-16 and UTF-32 from the first bytes of a file: by a
/// byte-order mark, or by ASCII text's zero bytes (most characters of the
/// first 512 bytes with their zero bytes where one encoding puts them).
pub(crate) fn sniff_wide(bytes: &[u8]) -> Option<Wide> {
    if bytes.starts_with(&[0xFF, 0xFE, 0, 0]) || bytes.starts_with(&[0, 0, 0xFE, 0xFF]) {
        return Some(Wide::Utf32 { bom: true });
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Some(Wide::Utf16 { bom: true });
    }
    let head = &bytes[..bytes.len().min(512)];
    if !head.contains(&0) {
        return None;
    }
    // Most units (at least one, and at least half) shaped like an ASCII
    // character in the encoding, little- or big-endian.
    let most = |width: usize, le: fn(&[u8]) -> bool, be: fn(&[u8]) -> bool| {
        let units = head.chunks_exact(width);
        let n = units.len();
        let (l, b) = units.fold((0, 0), |(l, b), u| {
            (l + usize::from(le(u)), b + usize::from(be(u)))
        });
        n > 0 && (2 * l >= n.max(2) || 2 * b >= n.max(2))
    };
    if most(
        4,
        |u| u[0] != 0 && u[1..] == [0, 0, 0],
        |u| u[..3] == [0, 0, 0] && u[3] != 0,
    ) {
        return Some(Wide::Utf32 { bom: false });
    }
    if most(2, |u| u[0] != 0 && u[1] == 0, |u| u[0] == 0 && u[1] != 0) {
        return Some(Wide::Utf16 { bom: false });
    }
    None
}

fn read_error(display: &str, e: &io::Error) -> Diagnostic {
    Diagnostic::error(display, format!("cannot read file: {}", io_message(e)))
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// The lower-case extension of `path`.
fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

fn unknown_table_file(display: &str, stem: &str) -> Diagnostic {
    let mut message = format!("unknown table {}, file ignored", quote(stem));
    suggest(&mut message, stem, TABLES.iter().copied());
    Diagnostic::warning(display, message)
        .with_expected(format!("a file named after a table: {}", TABLES.join(", ")))
}
