//! Reading one export file into items: decoding (UTF-8 with or without BOM,
//! UTF-16 as written by Windows PowerShell's `>`, Windows-1252 as Intune's
//! "ANSI" CSV), JSON paging wrappers and CSV records.
//!
//! Whatever the wrapper — one Graph / ARM page `{value, @odata.nextLink}`, a
//! Partner Center page `{totalCount, items, links}`, a bare array, an array
//! of pages, several JSON values one after another, or a single object as
//! `ConvertTo-Json` writes for a one-element result — the file becomes a flat
//! list of [`Item`]s, each with the line its object starts on. Keys are
//! looked up case-insensitively (Graph PowerShell writes PascalCase), and a
//! Graph PowerShell `AdditionalProperties` dictionary and an ARM `properties`
//! object are merged into their item (see [`Obj`]).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::snapshot::load::{sniff_wide, Wide};
use crate::snapshot::Diagnostic;

/// One exported object with case-insensitive keys.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Obj {
    /// Lower-case key → (key as written, value).
    map: BTreeMap<String, (String, Value)>,
}

impl Obj {
    /// Normalises a JSON object: keys become case-insensitive and the entries
    /// of `AdditionalProperties` (Graph PowerShell) and `properties` (ARM)
    /// are merged in where the object itself has no value for them.
    pub fn new(map: Map<String, Value>) -> Obj {
        let mut o = Obj::default();
        let mut nested = Vec::new();
        for (k, v) in map {
            let lower = k.to_ascii_lowercase();
            if matches!(lower.as_str(), "additionalproperties" | "properties") {
                if let Value::Object(m) = &v {
                    nested.push(m.clone());
                }
            }
            o.map.insert(lower, (k, v));
        }
        for m in nested {
            for (k, v) in m {
                let lower = k.to_ascii_lowercase();
                let absent = o.map.get(&lower).is_none_or(|(_, old)| old.is_null());
                if absent {
                    o.map.insert(lower, (k, v));
                }
            }
        }
        o
    }

    /// An object of text cells (a CSV record): empty cells are absent.
    pub fn from_cells<'a>(cells: impl IntoIterator<Item = (&'a str, &'a str)>) -> Obj {
        let mut o = Obj::default();
        for (k, v) in cells {
            let v = v.trim();
            if !v.is_empty() {
                o.map.insert(
                    k.trim().to_ascii_lowercase(),
                    (k.trim().to_owned(), Value::String(v.to_owned())),
                );
            }
        }
        o
    }

    /// The value of `key` (compared case-insensitively); JSON `null` is absent.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map
            .get(&key.to_ascii_lowercase())
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    /// True when `key` is present, even with a `null` or empty value.
    pub fn present(&self, key: &str) -> bool {
        self.map.contains_key(&key.to_ascii_lowercase())
    }

    /// The trimmed, non-empty text of `key`.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()),
            _ => None,
        }
    }

    /// The first of `keys` that has text.
    pub fn str_any(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.str(k))
    }

    /// A boolean: JSON `true`/`false`, or the text `true`/`false`/`yes`/`no`/`1`/`0`.
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => parse_bool(s),
            Value::Number(n) => n.as_u64().and_then(|n| match n {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            }),
            _ => None,
        }
    }

    /// The nested object under `key`, normalised.
    pub fn obj(&self, key: &str) -> Option<Obj> {
        match self.get(key)? {
            Value::Object(m) => Some(Obj::new(m.clone())),
            _ => None,
        }
    }

    /// The array under `key`.
    pub fn arr(&self, key: &str) -> Option<&Vec<Value>> {
        match self.get(key)? {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The item's `@odata.type` without `#microsoft.graph.`, lower-case.
    pub fn odata_type(&self) -> Option<String> {
        let t = self.str("@odata.type")?;
        let t = t.trim_start_matches('#');
        let t = t
            .strip_prefix("microsoft.graph.")
            .or_else(|| t.strip_prefix("Microsoft.Graph."))
            .unwrap_or(t);
        Some(t.to_ascii_lowercase())
    }

    /// Every key: (lower-case, as written, has a non-null value).
    pub fn keys(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        self.map
            .iter()
            .map(|(l, (k, v))| (l.as_str(), k.as_str(), !v.is_null()))
    }

    /// Every (key as written, text value) pair whose value is a string.
    pub fn strings(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.values().filter_map(|(k, v)| match v {
            Value::String(s) => Some((k.as_str(), s.as_str())),
            _ => None,
        })
    }
}

/// `true/false` (any case), `yes/no`, `1/0`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if ["true", "yes", "1"]
        .iter()
        .any(|t| s.eq_ignore_ascii_case(t))
    {
        Some(true)
    } else if ["false", "no", "0"]
        .iter()
        .any(|t| s.eq_ignore_ascii_case(t))
    {
        Some(false)
    } else {
        None
    }
}

/// One exported object and where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    /// 1-based line of the object's `{` (JSON) or of the record (CSV).
    pub line: u32,
    pub obj: Obj,
}

/// What a file holds once decoded and unwrapped.
#[derive(Debug, Default)]
pub(crate) struct Body {
    pub items: Vec<Item>,
    /// `@odata.context` values of the pages, in order.
    pub contexts: Vec<String>,
    /// `@odata.nextLink` / `nextLink` / `links.next.uri` values, in order.
    pub next_links: Vec<String>,
    /// Page objects read (0 for bare arrays and single objects).
    pub pages: usize,
    /// Page objects that carry no next link (the last page of a listing).
    pub last_pages: usize,
    /// The CSV header (cells as written), for CSV files.
    pub csv_header: Option<Vec<String>>,
    /// Problems with single items (not an object, ...); the file is still read.
    pub diagnostics: Vec<Diagnostic>,
    /// Records skipped on purpose (empty CSV records), each with its
    /// warning: counted as rejected rows of the file's table.
    pub skipped: Vec<Diagnostic>,
    /// How the bytes were decoded when not plain UTF-8 (for a note).
    pub encoding: Option<&'static str>,
}

/// Decodes a file's bytes: UTF-8 (BOM stripped), UTF-16 LE/BE (by BOM, or
/// by the zero bytes of ASCII text without one), else Windows-1252. UTF-32
/// (by BOM or zero bytes) is refused, with the message to report.
pub(crate) fn decode(bytes: &[u8]) -> Result<(String, Option<&'static str>), &'static str> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Ok((String::from_utf8_lossy(rest).into_owned(), None));
    }
    match sniff_wide(bytes) {
        Some(Wide::Utf32 { bom: true }) => {
            return Err("UTF-32 is not supported (the file starts with a UTF-32 byte-order mark)")
        }
        Some(Wide::Utf32 { bom: false }) => {
            return Err("UTF-32 is not supported (the file looks like UTF-32 without a byte-order mark: three zero bytes with each ASCII character)")
        }
        Some(Wide::Utf16 { bom }) => {
            let le = if bom {
                bytes.starts_with(&[0xFF, 0xFE])
            } else {
                bytes.len() >= 2 && bytes[1] == 0 && bytes[0] != 0
            };
            let body = if bom { &bytes[2..] } else { bytes };
            let units: Vec<u16> = body
                .chunks(2)
                .map(|c| {
                    let pair = [c[0], c.get(1).copied().unwrap_or(0)];
                    if le {
                        u16::from_le_bytes(pair)
                    } else {
                        u16::from_be_bytes(pair)
                    }
                })
                .collect();
            return Ok((String::from_utf16_lossy(&units), Some("UTF-16")));
        }
        None => {}
    }
    Ok(match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), None),
        Err(_) => (
            bytes.iter().map(|&b| cp1252(b)).collect(),
            Some("Windows-1252"),
        ),
    })
}

/// One Windows-1252 byte as a char.
fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// True when the text starts like JSON (`{` or `[` after whitespace).
pub(crate) fn looks_like_json(text: &str) -> bool {
    matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['))
}

/// Byte offsets of line starts, for offset → line.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Lines {
        let mut v = vec![0];
        v.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines(v)
    }

    fn line(&self, offset: usize) -> u32 {
        let i = self.0.partition_point(|&start| start <= offset);
        u32::try_from(i).unwrap_or(u32::MAX)
    }
}

/// Parses a JSON file (one or several values one after another). A syntax
/// error is a file-level error with line and column.
pub(crate) fn parse_json(text: &str, display: &str) -> Result<Body, Diagnostic> {
    let lines = Lines::new(text);
    let skim = Skim(text.as_bytes());
    let mut body = Body::default();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut pos = 0;
    loop {
        let start = skim.ws(pos);
        match stream.next() {
            None => break,
            Some(Ok(v)) => {
                collect(v, start, &skim, &lines, display, &mut body, true);
                pos = stream.byte_offset();
            }
            Some(Err(e)) => {
                let mut d =
                    Diagnostic::error(display, format!("invalid JSON: {}", json_message(&e)))
                        .with_expected(
                            "JSON as written by Graph, `az`, Partner Center or `ConvertTo-Json`",
                        );
                d.line = u32::try_from(e.line()).ok().filter(|&l| l > 0);
                d.column = u32::try_from(e.column()).ok().filter(|&c| c > 0);
                if text[start.min(text.len())..]
                    .trim_start()
                    .starts_with("\"@odata")
                {
                    d.help = Some(
                        "the file looks like part of an object: save the whole response".into(),
                    );
                }
                return Err(d);
            }
        }
    }
    Ok(body)
}

/// serde_json's message without its " at line L column C" suffix (the
/// diagnostic carries the position).
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// The key of a page's item array: `value` (Graph, ARM, Windows
/// PowerShell's array wrapper) or `items` (Partner Center).
fn page_array_key(m: &Map<String, Value>) -> Option<String> {
    m.iter()
        .find(|(k, v)| {
            (k.eq_ignore_ascii_case("value") || k.eq_ignore_ascii_case("items")) && v.is_array()
        })
        .map(|(k, _)| k.clone())
}

/// Adds one JSON value found at byte `pos`: a page, an array (of items or
/// pages) or a single item.
fn collect(
    v: Value,
    pos: usize,
    skim: &Skim<'_>,
    lines: &Lines,
    display: &str,
    body: &mut Body,
    top: bool,
) {
    match v {
        Value::Object(mut m) => match page_array_key(&m) {
            Some(key) => {
                body.pages += 1;
                let text = |m: &Map<String, Value>, k: &str| {
                    m.iter()
                        .find(|(x, _)| x.eq_ignore_ascii_case(k))
                        .and_then(|(_, v)| v.as_str())
                        .map(str::to_owned)
                };
                if let Some(c) = text(&m, "@odata.context") {
                    body.contexts.push(c);
                }
                let next = text(&m, "@odata.nextLink")
                    .or_else(|| text(&m, "nextLink"))
                    .or_else(|| {
                        m.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("links"))
                            .and_then(|(_, l)| l.get("next"))
                            .and_then(|n| n.get("uri"))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    });
                match next {
                    Some(n) => body.next_links.push(n),
                    None => body.last_pages += 1,
                }
                let at = skim.member(pos, &key).unwrap_or(pos);
                if let Some(Value::Array(a)) = m.remove(&key) {
                    let offsets = skim.elements(at);
                    for (i, item) in a.into_iter().enumerate() {
                        let p = offsets.get(i).copied().unwrap_or(at);
                        add_item(item, p, lines, display, body);
                    }
                }
            }
            None => add_item(Value::Object(m), pos, lines, display, body),
        },
        Value::Array(a) => {
            let offsets = skim.elements(pos);
            for (i, el) in a.into_iter().enumerate() {
                let p = offsets.get(i).copied().unwrap_or(pos);
                match el {
                    Value::Array(_) if top => collect(el, p, skim, lines, display, body, false),
                    Value::Object(ref m) if top && page_array_key(m).is_some() => {
                        collect(el, p, skim, lines, display, body, false)
                    }
                    other => add_item(other, p, lines, display, body),
                }
            }
        }
        other => body
            .diagnostics
            .push(not_an_object(&other, lines.line(pos), display)),
    }
}

fn add_item(v: Value, pos: usize, lines: &Lines, display: &str, body: &mut Body) {
    let line = lines.line(pos);
    match v {
        Value::Object(m) => body.items.push(Item {
            line,
            obj: Obj::new(m),
        }),
        other => body.diagnostics.push(not_an_object(&other, line, display)),
    }
}

fn not_an_object(v: &Value, line: u32, display: &str) -> Diagnostic {
    let what = crate::snapshot::json_in::value_kind(v);
    Diagnostic::error(display, format!("item is {what}, not an object"))
        .at_line(line)
        .with_expected("a JSON object per exported item")
}

/// The 1-based line (of `text`) holding a carriage return outside quotes
/// that no line feed follows. The CSV reader would end a record there, so
/// that two records started on one line and their problems could not be
/// told apart.
fn bare_cr_line(text: &str) -> Option<u32> {
    let b = text.as_bytes();
    // As the CSV reader sees quotes: a quote opens a quoted value only at
    // the start of a field, `""` inside one is a quote, elsewhere it is text.
    let (mut quoted, mut field_start) = (false, true);
    let mut line = 1u32;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\n' {
            line = line.saturating_add(1);
        }
        if quoted {
            if c == b'"' {
                if b.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else {
            match c {
                b'"' if field_start => quoted = true,
                b'\r' if b.get(i + 1) != Some(&b'\n') => return Some(line),
                _ => {}
            }
            field_start = matches!(c, b',' | b'\n' | b'\r');
        }
        i += 1;
    }
    None
}

/// Parses a CSV file: a header line, then one record per line (quoted
/// fields may span lines). A `version:v1.0` first line (Entra bulk
/// templates) is skipped.
pub(crate) fn parse_csv(text: &str, display: &str) -> Result<Body, Diagnostic> {
    let lines = Lines::new(text);
    let mut start = 0;
    if let Some(first) = text.lines().next() {
        if first.trim().to_ascii_lowercase().starts_with("version:") {
            start = first.len();
        }
    }
    let rest = &text[start..];
    if let Some(line) = bare_cr_line(rest) {
        let line = lines.line(start) + line - 1;
        return Err(Diagnostic::error(
            display,
            "a carriage return without a line feed ends a line: line ends are LF or CRLF",
        )
        .at_line(line)
        .with_expected("a CR only inside a quoted value (\"…\"), or no CR"));
    }
    // Line of a byte offset of `rest`, after line ends the reader skipped.
    let line_at = |byte: u64| {
        let mut i = start + usize::try_from(byte).unwrap_or(usize::MAX).min(rest.len());
        while matches!(text.as_bytes().get(i), Some(b'\r' | b'\n')) {
            i += 1;
        }
        lines.line(i)
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(rest.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_error(display, &e, &line_at))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut body = Body {
        csv_header: Some(header.clone()),
        ..Body::default()
    };
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(display, &e, &line_at))?;
        let line = rec.position().map_or(0, |p| line_at(p.byte()));
        if rec.iter().all(|c| c.trim().is_empty()) {
            // Counted, not silently dropped.
            body.skipped
                .push(Diagnostic::warning(display, "empty record skipped").at_line(line));
            continue;
        }
        if rec.len() > header.len() {
            body.diagnostics.push(
                Diagnostic::error(
                    display,
                    format!(
                        "record has {} fields, the header has {}",
                        rec.len(),
                        header.len()
                    ),
                )
                .at_line(line)
                .with_expected("one field per header column"),
            );
            continue;
        }
        body.items.push(Item {
            line,
            obj: Obj::from_cells(header.iter().map(String::as_str).zip(rec.iter())),
        });
    }
    Ok(body)
}

fn csv_error(display: &str, e: &csv::Error, line_at: &dyn Fn(u64) -> u32) -> Diagnostic {
    let mut d = Diagnostic::error(display, format!("malformed CSV: {}", csv_kind(e)))
        .with_expected("comma-separated values with a header line");
    if let Some(p) = e.position() {
        d.line = Some(line_at(p.byte()));
    }
    d
}

/// A csv error's message without its position (the diagnostic has it).
fn csv_kind(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_owned(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("record has {len} fields, expected {expected_len}")
        }
        _ => "unreadable record".to_owned(),
    }
}

/// A skimmer over JSON text already validated by serde_json: finds where
/// values start, to give every item its line.
struct Skim<'a>(&'a [u8]);

impl Skim<'_> {
    /// The first non-whitespace offset at or after `i`.
    fn ws(&self, mut i: usize) -> usize {
        while i < self.0.len() && self.0[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    }

    /// The offset just after the string starting at `i` (a `"`).
    fn string_end(&self, mut i: usize) -> usize {
        i += 1;
        while i < self.0.len() {
            match self.0[i] {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        i
    }

    /// The offset just after the value starting at `i`.
    fn value_end(&self, i: usize) -> usize {
        match self.0.get(i) {
            Some(b'"') => self.string_end(i),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                let mut j = i;
                while j < self.0.len() {
                    match self.0[j] {
                        b'"' => {
                            j = self.string_end(j);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return j + 1;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                j
            }
            _ => {
                let mut j = i;
                while j < self.0.len()
                    && !matches!(self.0[j], b',' | b']' | b'}')
                    && !self.0[j].is_ascii_whitespace()
                {
                    j += 1;
                }
                j
            }
        }
    }

    /// Start offsets of the elements of the array at `i`.
    fn elements(&self, i: usize) -> Vec<usize> {
        let mut out = Vec::new();
        if self.0.get(i) != Some(&b'[') {
            return out;
        }
        let mut j = self.ws(i + 1);
        while j < self.0.len() && self.0[j] != b']' {
            out.push(j);
            j = self.ws(self.value_end(j));
            if self.0.get(j) == Some(&b',') {
                j = self.ws(j + 1);
            }
        }
        out
    }

    /// Start offset of the value of member `key` of the object at `i`.
    fn member(&self, i: usize, key: &str) -> Option<usize> {
        if self.0.get(i) != Some(&b'{') {
            return None;
        }
        let mut j = self.ws(i + 1);
        while j < self.0.len() && self.0[j] == b'"' {
            let end = self.string_end(j);
            let k = &self.0[j + 1..end - 1];
            j = self.ws(end);
            j = self.ws(j + 1); // the ':'
            if k == key.as_bytes() {
                return Some(j);
            }
            j = self.ws(self.value_end(j));
            if self.0.get(j) == Some(&b',') {
                j = self.ws(j + 1);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    /// Validates that a bare CR outside quotes refuses the file at its line
    /// (found by the `export_detect` fuzz target: two records on one line,
    /// two rejected rows, one deduplicated error), while CRLF line ends and
    /// a CR inside a quoted value are read.
    #[test]
    fn bare_carriage_returns_are_refused() {
        let e = parse_csv("a,b\n1,2\n3\r4,5\n", "x.csv").expect_err("bare CR");
        assert_eq!(e.line, Some(3));
        assert!(e
            .message
            .starts_with("a carriage return without a line feed"));
        // A quote inside an unquoted value is text: it opens nothing.
        let e = parse_csv("a,b\n1,x\"y\n2,z\r3\n", "x.csv").expect_err("bare CR");
        assert_eq!(e.line, Some(3));
        let ok = parse_csv("a,b\r\n1,\"x\ry\"\"\r\"\r\n", "x.csv").expect("crlf");
        assert_eq!(ok.items.len(), 1);
    }

    /// Validates that empty and whitespace-only records are counted with a
    /// warning at their line, not dropped silently.
    #[test]
    fn empty_records_are_counted() {
        let b = parse_csv("a,b\n1,2\n,\n \t, \n3,4\n", "x.csv").expect("csv");
        assert_eq!(b.items.len(), 2);
        let lines: Vec<Option<u32>> = b.skipped.iter().map(|d| d.line).collect();
        assert_eq!(lines, [Some(3), Some(4)]);
    }

    use super::*;

    fn lines_of(text: &str) -> Vec<u32> {
        parse_json(text, "f")
            .expect("json")
            .items
            .iter()
            .map(|i| i.line)
            .collect()
    }

    #[test]
    fn pages_arrays_and_concatenations_give_item_lines() {
        let page = "{\n \"@odata.context\": \"x\",\n \"value\": [\n  {\"id\": \"a\"},\n  {\"id\": \"b\"}\n ],\n \"@odata.nextLink\": \"n\"\n}";
        assert_eq!(lines_of(page), [4, 5]);
        let body = parse_json(page, "f").expect("json");
        assert_eq!((body.pages, body.last_pages), (1, 0));
        assert_eq!(body.next_links, ["n"]);
        assert_eq!(
            lines_of("[{\"id\":1},\n{\"id\":2}]\n[\n{\"id\":3}]"),
            [1, 2, 4]
        );
        assert_eq!(lines_of("{\"id\":1}\n{\"id\":2}\n"), [1, 2]);
        assert_eq!(
            lines_of("[{\"value\":[{\"id\":1}]},\n{\"value\":[\n{\"id\":2}]}]"),
            [1, 3]
        );
        let pc = "{\"totalCount\":1,\"items\":[\n{\"id\":\"c\"}],\"links\":{\"next\":{\"uri\":\"/v1/customers?seek\"}}}";
        let body = parse_json(pc, "f").expect("json");
        assert_eq!(body.items[0].line, 2);
        assert_eq!(body.next_links, ["/v1/customers?seek"]);
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let d = parse_json("{\n \"value\": [\n  {\"id\": 1,}\n ]\n}", "x.json").expect_err("bad");
        assert_eq!(d.line, Some(3));
        assert!(d.column.is_some());
        assert!(d.message.starts_with("invalid JSON: "), "{}", d.message);
    }

    #[test]
    fn keys_are_case_insensitive_and_nested_bags_merge() {
        let v: Value = serde_json::from_str(
            r##"{"Id":"1","DisplayName":null,"AdditionalProperties":{"@odata.type":"#microsoft.graph.user","displayName":"Ann"},"properties":{"scope":"/"}}"##,
        )
        .expect("json");
        let Value::Object(m) = v else {
            panic!("object")
        };
        let o = Obj::new(m);
        assert_eq!(o.str("id"), Some("1"));
        assert_eq!(o.str("displayname"), Some("Ann"));
        assert_eq!(o.odata_type().as_deref(), Some("user"));
        assert_eq!(o.str("scope"), Some("/"));
    }

    #[test]
    fn decodes_utf16_and_windows_1252() {
        let mut le = vec![0xFF, 0xFE];
        le.extend("[1]".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&le), Ok(("[1]".to_owned(), Some("UTF-16"))));
        let be: Vec<u8> = "[1]".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decode(&be), Ok(("[1]".to_owned(), Some("UTF-16"))));
        assert_eq!(
            decode(b"caf\xe9"),
            Ok(("café".to_owned(), Some("Windows-1252")))
        );
        assert_eq!(decode(b"\xEF\xBB\xBFok"), Ok(("ok".to_owned(), None)));
    }

    /// Validates that UTF-32, with or without a byte-order mark, is
    /// refused by name rather than read as UTF-16.
    #[test]
    fn utf32_is_refused_by_name() {
        let utf32 = |le: bool| -> Vec<u8> {
            "[1]"
                .chars()
                .flat_map(|c| {
                    let c = u32::from(c);
                    if le {
                        c.to_le_bytes()
                    } else {
                        c.to_be_bytes()
                    }
                })
                .collect()
        };
        for le in [true, false] {
            let bom: &[u8] = if le {
                &[0xFF, 0xFE, 0, 0]
            } else {
                &[0, 0, 0xFE, 0xFF]
            };
            let with_bom = [bom, &utf32(le)].concat();
            let e = decode(&with_bom).expect_err("UTF-32 with a BOM");
            assert!(e.starts_with("UTF-32 is not supported"), "{e}");
            assert!(e.contains("byte-order mark"), "{e}");
            let e = decode(&utf32(le)).expect_err("UTF-32 without a BOM");
            assert!(e.contains("UTF-32 without a byte-order mark"), "{e}");
        }
    }

    #[test]
    fn csv_records_become_objects() {
        let body = parse_csv(
            "Device Serial Number,Windows Product ID,Hardware Hash\r\nPF1,,T0Fx\r\n\r\nPF2,123,\r\n",
            "f",
        )
        .expect("csv");
        assert_eq!(body.items.len(), 2);
        assert_eq!(body.items[1].line, 4);
        assert_eq!(body.items[0].obj.str("device serial number"), Some("PF1"));
        assert_eq!(body.items[0].obj.get("windows product id"), None);
    }
}
