//! Reads JSON inputs: `TABLE.json` (an array of objects, or a Graph-style
//! object whose `value` array holds them), `TABLE.jsonl` (one object per
//! line), `manifest.json`, and the single-file snapshot (an object whose keys
//! are table names).
//!
//! Every JSON document is validated as a whole by serde_json, so a syntax
//! error is reported with serde_json's line and column and the file
//! contributes no rows. In parallel with that, the [`Walker`] finds the span
//! of every row object (which gives each row the line it starts on) and the
//! rows are deserialised in parallel chunks, borrowing their strings; one
//! bad row never hides the others. In JSONL a line that is not valid JSON
//! rejects that row only.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use rayon::prelude::*;
use serde_json::Value;

use super::diag::{quote, Diagnostic};
use super::fields::{self, suggest};
use super::json_walk::{kind_at, JsonObject, JsonValue, LineCounter, Walker};
use super::model::{Loc, Manifest, Perspective, TABLES};
use super::tables::{Cell, Part, Row, Table, MAX_COLUMNS};

/// Rows per parallel parsing chunk.
const CHUNK: usize = 4096;

/// Keys that are metadata, never data (`@odata.context`, `x@odata.type`, `$schema`).
fn is_annotation(key: &str) -> bool {
    key.starts_with('@') || key.starts_with('$') || key.contains("@odata.")
}

/// Validates the whole document; a syntax error becomes a file-level
/// diagnostic with serde_json's line and column.
fn validate(buf: &[u8], file: &str) -> Result<(), Vec<Diagnostic>> {
    let mut problems = Vec::new();
    // serde_json skips over the strings it ignores without checking their
    // UTF-8: the whole document is checked first (and both problems are
    // reported when it has both).
    if let Err(e) = std::str::from_utf8(buf) {
        let at = e.valid_up_to();
        let before = &buf[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = at
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        problems.push(
            Diagnostic::error(file, "invalid UTF-8")
                .at_line(u32::try_from(line).unwrap_or(u32::MAX))
                .at_column(u32::try_from(column).unwrap_or(u32::MAX))
                .with_expected("UTF-8 text"),
        );
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(buf) {
        problems.push(syntax_error(file, &e, 0, 0));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// A serde_json error as a diagnostic. For an error in a slice of the file,
/// `line_offset` is the number of lines before the slice and
/// `column_offset` the number of bytes before it on its first line.
fn syntax_error(
    file: &str,
    e: &serde_json::Error,
    line_offset: u32,
    column_offset: u32,
) -> Diagnostic {
    let text = e.to_string();
    // serde_json appends " at line L column C"; the diagnostic carries those.
    let message = text
        .rfind(" at line ")
        .map_or(text.as_str(), |i| &text[..i]);
    let mut d =
        Diagnostic::error(file, format!("invalid JSON: {message}")).with_expected("valid JSON");
    if e.line() > 0 {
        d = d
            .at_line(
                u32::try_from(e.line())
                    .unwrap_or(u32::MAX)
                    .saturating_add(line_offset),
            )
            .at_column(
                u32::try_from(e.column())
                    .unwrap_or(u32::MAX)
                    .saturating_add(if e.line() == 1 { column_offset } else { 0 }),
            );
    }
    d
}

/// The walker could not follow a document serde_json accepted: a bug, but
/// reported rather than hidden.
fn structure_error(file: &str) -> Diagnostic {
    Diagnostic::error(file, "unexpected JSON structure").with_expected("valid JSON")
}

/// The text of the key at `span`.
fn key_text(buf: &[u8], span: Range<usize>) -> String {
    let raw = buf.get(span).unwrap_or_default();
    serde_json::from_slice::<String>(raw)
        .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned())
}

/// Bytes before `offset` on its line.
fn column_offset(buf: &[u8], offset: usize) -> u32 {
    let start = buf
        .get(..offset)
        .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
        .map_or(0, |i| i + 1);
    u32::try_from(offset - start).unwrap_or(u32::MAX)
}

/// The keys of one object seen so far (trimmed, case-insensitive, as the
/// readers compare them): a key given twice would silently override the
/// first, so it is an error.
#[derive(Default)]
struct Seen(BTreeMap<String, u32>);

impl Seen {
    /// The error for the key at `span` when it was seen before.
    fn repeated(
        &mut self,
        buf: &[u8],
        span: &Range<usize>,
        line: u32,
        key: &str,
        file: &str,
        what: &str,
    ) -> Option<Diagnostic> {
        let normal = key.trim().to_ascii_lowercase();
        let Some(&first) = self.0.get(&normal) else {
            self.0.insert(normal, line);
            return None;
        };
        Some(
            Diagnostic::error(
                file,
                format!(
                    "duplicate {what} {} (first given on line {first})",
                    quote(key)
                ),
            )
            .at_line(line)
            .at_column(column_offset(buf, span.start) + 1)
            .with_field(key.to_owned())
            .with_expected("each key once per object"),
        )
    }
}

/// What kind of JSON value `v` is, for messages.
pub(crate) fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A row to parse: its byte span and the line it starts on.
type Item = (Range<usize>, u32);

/// The rows of a table given as the JSON value at `span`: an array, or an
/// object with a `value` array (`@odata.*` keys ignored). `what` names the
/// value in messages.
fn table_elements(
    buf: &[u8],
    span: Range<usize>,
    file: &str,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<Range<usize>>> {
    const EXPECTED: &str = "an array of objects, or an object with a `value` array";
    let mut lines = LineCounter::default();
    match buf.get(span.start) {
        Some(b'[') => {
            let elements = Walker::array(buf, span);
            if elements.is_none() {
                diags.push(structure_error(file));
            }
            elements
        }
        Some(b'{') => {
            let Some(entries) = Walker::object(buf, span.clone()) else {
                diags.push(structure_error(file));
                return None;
            };
            let mut elements = None;
            for (k, v) in entries {
                let key = key_text(buf, k.clone());
                let line = lines.line(buf, k.start);
                if key == "value" && buf.get(v.start) == Some(&b'[') {
                    elements = Walker::array(buf, v);
                } else if key == "@odata.nextLink" {
                    diags.push(
                        Diagnostic::warning(
                            file,
                            "`@odata.nextLink` present: this is one page of a paged export, later pages are missing",
                        )
                        .at_line(line)
                        .with_field(key)
                        .with_expected("every page, e.g. their `value` arrays concatenated"),
                    );
                } else if !is_annotation(&key) {
                    diags.push(
                        Diagnostic::warning(file, format!("unknown key {} ignored", quote(&key)))
                            .at_line(line)
                            .with_field(key),
                    );
                }
            }
            if elements.is_none() {
                diags.push(
                    Diagnostic::error(file, format!("{what} is an object without a `value` array"))
                        .at_line(lines.line(buf, span.start))
                        .with_expected(EXPECTED),
                );
            }
            elements
        }
        b => {
            diags.push(
                Diagnostic::error(file, format!("{what} is {}", kind_at(b.copied())))
                    .at_line(lines.line(buf, span.start))
                    .with_expected(EXPECTED),
            );
            None
        }
    }
}

/// Pairs element spans with their lines (one pass over the buffer).
fn with_lines(buf: &[u8], elements: Vec<Range<usize>>, lines: &mut LineCounter) -> Vec<Item> {
    elements
        .into_iter()
        .map(|span| {
            let line = lines.line(buf, span.start);
            (span, line)
        })
        .collect()
}

/// Per-file tally of unknown keys: lower-case key → (rows, first line, as written).
type Unknown = BTreeMap<String, (u64, u32, String)>;

/// Parses `items` as rows of `table`, in parallel chunks merged in order.
fn parse_items(buf: &[u8], items: &[Item], table: Table, file: &str, file_index: u16) -> Part {
    let chunks: Vec<(Part, Unknown)> = items
        .par_chunks(CHUNK)
        .map(|chunk| parse_chunk(buf, chunk, table, file, file_index))
        .collect();
    let mut part = Part::new(table);
    let mut unknown = Unknown::new();
    for (p, u) in chunks {
        part.absorb(p, file);
        for (key, (rows, line, written)) in u {
            unknown.entry(key).or_insert((0, line, written)).0 += rows;
        }
    }
    finish_unknown(&mut part, file, unknown);
    part
}

fn parse_chunk(
    buf: &[u8],
    items: &[Item],
    table: Table,
    file: &str,
    file_index: u16,
) -> (Part, Unknown) {
    let mut part = Part::new(table);
    let mut unknown = Unknown::new();
    for (span, line) in items {
        let text = buf.get(span.clone()).unwrap_or_default();
        // Bytes before the row on its first line (worked out for errors
        // only: a minified file is one long line).
        let column_offset = || {
            let before = span.start
                - buf[..span.start]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
            u32::try_from(before).unwrap_or(u32::MAX)
        };
        let first = text.iter().copied().find(|b| !b.is_ascii_whitespace());
        if first != Some(b'{') {
            // Not JSON at all (a JSONL line), or JSON of another kind.
            let d = match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
                Err(e) => syntax_error(file, &e, line - 1, column_offset()),
                Ok(_) => Diagnostic::error(file, format!("row is {}", kind_at(first)))
                    .at_line(*line)
                    .with_expected("a JSON object per row"),
            };
            part.reject_row(d);
            continue;
        }
        match serde_json::from_slice::<JsonObject<'_>>(text) {
            Ok(obj) => object_row(
                &mut part,
                &obj,
                Loc {
                    file: file_index,
                    line: *line,
                },
                file,
                &mut unknown,
            ),
            Err(e) => part.reject_row(syntax_error(file, &e, line - 1, column_offset())),
        }
    }
    (part, unknown)
}

/// Turns one JSON object into a row of `part`.
fn object_row(part: &mut Part, obj: &JsonObject<'_>, loc: Loc, file: &str, unknown: &mut Unknown) {
    let table = part.table;
    let mut row = Row::new(table, loc);
    let mut seen = [false; MAX_COLUMNS];
    for (k, v) in &obj.0 {
        let key = k.trim();
        if is_annotation(key) {
            continue;
        }
        match table.column_index(key) {
            Some(ci) if seen[ci] => row.error(
                ci,
                format!("duplicate key {}", quote(k)),
                Some("each key once per object".into()),
            ),
            Some(ci) => {
                seen[ci] = true;
                row.cells[ci] = cell(v);
            }
            None => {
                unknown
                    .entry(key.to_ascii_lowercase())
                    .or_insert_with(|| (0, loc.line, key.to_owned()))
                    .0 += 1;
            }
        }
    }
    part.finish_row(row, file, |_| None);
}

/// One JSON value as a cell.
/// Why a number too large for its digits to survive is refused.
const INEXACT: &str = "invalid value: a number too large to keep exactly (write it as a string)";

fn cell<'a>(v: &'a JsonValue<'_>) -> Cell<'a> {
    fn text(s: &str) -> Option<Cow<'_, str>> {
        let t = s.trim();
        (!t.is_empty()).then_some(Cow::Borrowed(t))
    }
    match v {
        JsonValue::Null => Cell::Absent,
        JsonValue::String(s) => text(s).map_or(Cell::Absent, Cell::Text),
        JsonValue::Number(n) => Cell::Text(Cow::Borrowed(n)),
        JsonValue::Bool(b) => Cell::Bool(*b),
        JsonValue::Inexact => Cell::Invalid(INEXACT),
        JsonValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    JsonValue::String(s) => out.extend(text(s)),
                    JsonValue::Number(n) => out.push(Cow::Borrowed(n.as_str())),
                    JsonValue::Null => {}
                    JsonValue::Inexact => return Cell::Invalid(INEXACT),
                    _ => {
                        return Cell::Invalid("invalid value: found an array holding a non-string")
                    }
                }
            }
            Cell::List(out)
        }
        JsonValue::Object => Cell::Invalid("invalid value: found a JSON object"),
    }
}

/// Reports unknown keys once per file and counts them per row.
fn finish_unknown(part: &mut Part, file: &str, unknown: Unknown) {
    let names = part.table.columns().iter().map(|c| c.name);
    for (key, (rows, line, written)) in unknown {
        let mut message = format!("unknown key {} ignored", quote(&written));
        suggest(&mut message, &key, names.clone());
        part.diagnostics.push(
            Diagnostic::warning(file, message)
                .at_line(line)
                .with_field(written),
        );
        *part.account.unknown_columns.entry(key).or_default() += rows;
    }
}

/// Parses `TABLE.json`.
pub(crate) fn parse_table(buf: &[u8], table: Table, file: &str, file_index: u16) -> Part {
    let (valid, part) = rayon::join(
        || validate(buf, file),
        || {
            let mut diags = Vec::new();
            let mut part = match Walker::document(buf) {
                None => {
                    diags.push(structure_error(file));
                    Part::new(table)
                }
                Some(doc) => match table_elements(buf, doc, file, "the document", &mut diags) {
                    Some(elements) => {
                        let items = with_lines(buf, elements, &mut LineCounter::default());
                        parse_items(buf, &items, table, file, file_index)
                    }
                    None => Part::new(table),
                },
            };
            part.diagnostics.append(&mut diags);
            part
        },
    );
    match valid {
        Ok(()) => part,
        Err(mut problems) => {
            let mut part = Part::new(table);
            part.diagnostics.append(&mut problems);
            part
        }
    }
}

/// Parses `TABLE.jsonl`: one object per non-empty line; a line that is not
/// valid JSON rejects that row only.
pub(crate) fn parse_lines(buf: &[u8], table: Table, file: &str, file_index: u16) -> Part {
    let mut items = Vec::new();
    let mut start = 0;
    for (i, raw) in buf.split(|&b| b == b'\n').enumerate() {
        let end = start + raw.len();
        if !raw.iter().all(u8::is_ascii_whitespace) {
            let text_end = if raw.ends_with(b"\r") { end - 1 } else { end };
            items.push((start..text_end, u32::try_from(i + 1).unwrap_or(u32::MAX)));
        }
        start = end + 1;
    }
    parse_items(buf, &items, table, file, file_index)
}

/// Parses `manifest.json`.
pub(crate) fn parse_manifest(buf: &[u8], file: &str) -> (Manifest, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    if let Err(mut problems) = validate(buf, file) {
        diags.append(&mut problems);
        return (Manifest::default(), diags);
    }
    let manifest = match Walker::document(buf) {
        Some(doc) => manifest_at(buf, doc, file, &mut diags),
        None => {
            diags.push(structure_error(file));
            Manifest::default()
        }
    };
    (manifest, diags)
}

/// The manifest keys SPEC §3 defines.
const MANIFEST_KEYS: &[&str] = &[
    "format_version",
    "captured_at",
    "perspective",
    "source",
    "incomplete",
];

/// What `incomplete` expects.
pub(crate) const INCOMPLETE_EXPECTED: &str =
    "an array of {\"tenant_id\": \"<tenant GUID>\", \"reason\": \"<text>\"}";

/// One problem of a manifest's `incomplete` value: field path, message, expected.
pub(crate) type IncompleteProblem = (String, String, &'static str);

/// Reads a manifest's `incomplete` value (shared by the canonical snapshot
/// manifest and the export folder's): every item names a tenant GUID and a
/// reason, and nothing else. Items with a problem are left out and reported.
pub(crate) fn incomplete_items(
    key: &str,
    value: &Value,
) -> (Vec<(super::model::Guid, String)>, Vec<IncompleteProblem>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let Some(items) = value.as_array() else {
        problems.push((
            key.to_owned(),
            format!("invalid value: found {}", value_kind(value)),
            INCOMPLETE_EXPECTED,
        ));
        return (out, problems);
    };
    for (i, item) in items.iter().enumerate() {
        let at = format!("{key}[{i}]");
        let Some(obj) = item.as_object() else {
            problems.push((
                at,
                format!("invalid value: found {}", value_kind(item)),
                "an object with `tenant_id` and `reason`",
            ));
            continue;
        };
        let mut ok = true;
        for k in obj.keys() {
            if !matches!(k.as_str(), "tenant_id" | "reason") {
                let mut message = format!("unknown key {} in an incomplete tenant", quote(k));
                suggest(
                    &mut message,
                    &k.to_ascii_lowercase(),
                    ["tenant_id", "reason"],
                );
                problems.push((format!("{at}.{k}"), message, "`tenant_id` and `reason`"));
                ok = false;
            }
        }
        let tenant = match obj.get("tenant_id") {
            Some(Value::String(t)) => match super::model::Guid::parse(t) {
                Some(g) => Some(g),
                None => {
                    problems.push((
                        format!("{at}.tenant_id"),
                        format!("invalid GUID {}", quote(t)),
                        "a tenant GUID",
                    ));
                    None
                }
            },
            Some(other) => {
                problems.push((
                    format!("{at}.tenant_id"),
                    format!("invalid value: found {}", value_kind(other)),
                    "a tenant GUID",
                ));
                None
            }
            None => {
                problems.push((
                    format!("{at}.tenant_id"),
                    "missing required value".to_owned(),
                    "a tenant GUID",
                ));
                None
            }
        };
        let reason = match obj.get("reason") {
            Some(Value::String(r)) if !r.trim().is_empty() => Some(r.trim().to_owned()),
            Some(other) => {
                problems.push((
                    format!("{at}.reason"),
                    format!("invalid value: found {}", value_kind(other)),
                    "a non-empty string saying what is missing",
                ));
                None
            }
            None => {
                problems.push((
                    format!("{at}.reason"),
                    "missing required value".to_owned(),
                    "a non-empty string saying what is missing",
                ));
                None
            }
        };
        if let (true, Some(t), Some(r)) = (ok, tenant, reason) {
            out.push((t, r));
        }
    }
    (out, problems)
}

/// Reads the manifest object at `span` of a validated document; bad values
/// are errors, unknown keys warnings.
fn manifest_at(
    buf: &[u8],
    span: Range<usize>,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) -> Manifest {
    let mut m = Manifest {
        format_version: 1,
        ..Manifest::default()
    };
    let mut lines = LineCounter::default();
    let entries = match buf.get(span.start) {
        Some(b'{') => Walker::object(buf, span.clone()),
        b => {
            diags.push(
                Diagnostic::error(file, format!("manifest is {}", kind_at(b.copied())))
                    .at_line(lines.line(buf, span.start))
                    .with_expected("a JSON object"),
            );
            return m;
        }
    };
    let Some(entries) = entries else {
        diags.push(structure_error(file));
        return m;
    };
    let mut seen = Seen::default();
    for (k, v) in entries {
        let key = key_text(buf, k.clone());
        let line = lines.line(buf, k.start);
        if let Some(d) = seen.repeated(buf, &k, line, &key, file, "manifest key") {
            diags.push(d);
            continue;
        }
        // The document is valid JSON, but a value nested deeper than
        // serde_json's recursion limit still fails here: an error, never
        // a value read as null.
        let value: Value = match serde_json::from_slice(buf.get(v.clone()).unwrap_or_default()) {
            Ok(value) => value,
            Err(e) => {
                let value_line = lines.line(buf, v.start);
                diags.push(
                    syntax_error(file, &e, value_line - 1, column_offset(buf, v.start))
                        .with_field(key.clone()),
                );
                continue;
            }
        };
        let err = |message: String, expected: &str| {
            Diagnostic::error(file, message)
                .at_line(line)
                .with_field(key.clone())
                .with_expected(expected)
        };
        let as_text = match &value {
            Value::Null => continue,
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let lower = key.trim().to_ascii_lowercase();
        if lower == "incomplete" {
            let (items, problems) = incomplete_items(key.trim(), &value);
            for (t, r) in items {
                m.mark_incomplete(t, &r);
            }
            for (field, message, expected) in problems {
                diags.push(
                    Diagnostic::error(file, message)
                        .at_line(line)
                        .with_field(field)
                        .with_expected(expected),
                );
            }
            continue;
        }
        match (lower.as_str(), as_text) {
            ("format_version", Some(t)) if t == "1" => {}
            ("format_version", t) => diags.push(err(
                format!(
                    "unsupported format_version {}",
                    quote(&t.unwrap_or_else(|| value.to_string()))
                ),
                "1",
            )),
            ("captured_at", Some(t)) => match fields::timestamp(&t) {
                Ok(ts) => m.captured_at = Some(ts),
                Err(e) => diags.push(err(e.message, fields::DATE_EXPECTED)),
            },
            ("perspective", Some(t)) => {
                match fields::vocab(&t, Perspective::parse, Perspective::ALL) {
                    Ok(p) => m.perspective = Some(p),
                    Err(e) => diags.push(err(e.message, &e.expected)),
                }
            }
            ("source", Some(t)) => m.source = Some(t),
            ("captured_at" | "perspective" | "source", None) => {
                diags.push(err(
                    format!("invalid value: found {}", value_kind(&value)),
                    "a string",
                ));
            }
            _ if is_annotation(&key) => {}
            _ => {
                let mut message = format!("unknown manifest key {} ignored", quote(&key));
                suggest(&mut message, &lower, MANIFEST_KEYS.iter().copied());
                diags.push(
                    Diagnostic::warning(file, message)
                        .at_line(line)
                        .with_field(key.clone()),
                );
            }
        }
    }
    m
}

/// What a single-file snapshot yields: one part per table key (canonical
/// table order, document order within a table), the manifest if present,
/// and file-level diagnostics.
pub(crate) type Single = (Vec<Part>, Option<Manifest>, Vec<Diagnostic>);

/// Parses a single-file snapshot: an object whose keys are table names
/// (each an array, or an object with a `value` array) and `manifest`.
/// Every row's file index is 0.
pub(crate) fn parse_single(buf: &[u8], file: &str) -> Single {
    let (valid, single) = rayon::join(|| validate(buf, file), || single_unchecked(buf, file));
    match valid {
        Ok(()) => single,
        Err(problems) => (Vec::new(), None, problems),
    }
}

fn single_unchecked(buf: &[u8], file: &str) -> Single {
    let mut diags = Vec::new();
    let mut key_lines = LineCounter::default();
    let entries = match Walker::document(buf) {
        Some(doc) if buf.get(doc.start) == Some(&b'{') => Walker::object(buf, doc),
        doc => {
            let start = doc.map_or(0, |d| d.start);
            diags.push(
                Diagnostic::error(
                    file,
                    format!("snapshot is {}", kind_at(buf.get(start).copied())),
                )
                .at_line(key_lines.line(buf, start))
                .with_expected("a JSON object whose keys are table names"),
            );
            return (Vec::new(), None, diags);
        }
    };
    let Some(entries) = entries else {
        diags.push(structure_error(file));
        return (Vec::new(), None, diags);
    };

    // (table, its rows, or `None` when the table's value is unusable).
    let mut jobs: Vec<(Table, Option<Vec<Item>>)> = Vec::new();
    let mut manifest = None;
    let mut row_lines = LineCounter::default();
    let mut seen = Seen::default();
    for (k, v) in entries {
        let key = key_text(buf, k.clone());
        let line = key_lines.line(buf, k.start);
        let known = Table::from_name(&key).is_some() || key.trim().eq_ignore_ascii_case("manifest");
        if known {
            if let Some(d) = seen.repeated(buf, &k, line, &key, file, "key") {
                diags.push(d);
                continue;
            }
        }
        if let Some(table) = Table::from_name(&key) {
            let what = format!("table `{}`", table.name());
            let items = table_elements(buf, v, file, &what, &mut diags)
                .map(|elements| with_lines(buf, elements, &mut row_lines));
            jobs.push((table, items));
        } else if key.trim().eq_ignore_ascii_case("manifest") {
            manifest = Some(manifest_at(buf, v, file, &mut diags));
        } else if !is_annotation(&key) {
            let mut message = format!("unknown table {} ignored", quote(&key));
            let candidates = TABLES.iter().copied().chain(["manifest"]);
            suggest(&mut message, &key, candidates);
            diags.push(
                Diagnostic::warning(file, message)
                    .at_line(line)
                    .with_field(key.clone())
                    .with_expected(format!("a table name: {}", TABLES.join(", "))),
            );
        }
    }
    jobs.sort_by_key(|j| j.0);
    let parts = jobs
        .into_par_iter()
        .map(|(table, items)| match items {
            Some(items) => parse_items(buf, &items, table, file, 0),
            None => Part::new(table),
        })
        .collect();
    (parts, manifest, diags)
}
