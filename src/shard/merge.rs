//! `partner-audit merge`: combines the folders of `audit --shard I/N`
//! runs into the bytes the unsharded run writes.
//!
//! Nothing is audited again: each report is made of parts the shards
//! wrote, put in report order with the keys of their [`INDEX_FILE`]s.
//!
//! - findings.json: the head (everything before `summary`) must be the
//!   same in every shard, since every shard read the whole snapshot; the
//!   `summary` counts are added up; each table's entries (keyed by content)
//!   are merged in key order, an entry two shards both hold being the same
//!   bytes; findings are interleaved in report order.
//! - findings.csv: the header, then the rows in report order.
//! - findings.sarif: the run's head and end, the same in every shard,
//!   around the results interleaved in report order.
//! - junit.xml: the heads written again with the counts summed, each
//!   suite's cases interleaved in subject order; the `input` suite and
//!   the end, the same in every shard.
//! - access.csv: the header, then each tenant's rows, ordered by tenant
//!   name and id like the unsharded file.
//! - html/: shard 0's folder and every shard's customer pages.
//! - report.html, report.md, opengraph.json: about the whole run,
//!   written whole by shard 0, copied.
//!
//! Memory holds the shards' indexes and one table of findings.json at a
//! time; the findings and rows are copied through.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{AccessGroup, Index, INDEX_FILE, INDEX_VERSION};
use crate::report::emit::{Staging, COMPLETE};
use crate::report::write_atomic;

/// What a merge wrote.
#[derive(Debug)]
pub struct Merged {
    /// The published files.
    pub written: Vec<PathBuf>,
    pub shards: u32,
    pub findings: usize,
}

/// A merge that cannot be done: the message names the folder or file.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The shards given are not a complete, consistent set.
    #[error("{0}")]
    Shards(String),
    /// A shard's file is not what a shard writes.
    #[error("`{path}`: {message}")]
    Damaged { path: String, message: String },
    #[error("cannot write `{path}`: {source}")]
    Io { path: String, source: io::Error },
}

fn damaged(path: &Path, message: impl Into<String>) -> MergeError {
    MergeError::Damaged {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// One shard folder and its index.
struct Part {
    dir: PathBuf,
    index: Index,
}

/// Reads and checks the shards' indexes; sorted by shard index.
fn parts(dirs: &[PathBuf]) -> Result<Vec<Part>, MergeError> {
    if dirs.is_empty() {
        return Err(MergeError::Shards("no shard folder given".into()));
    }
    let mut parts = Vec::with_capacity(dirs.len());
    for dir in dirs {
        if !dir.join(COMPLETE).is_file() {
            return Err(MergeError::Shards(format!(
                "`{}` holds no complete shard: `{COMPLETE}` is missing (the shard's run failed, is still running, or this is not a shard's --out folder)",
                dir.display()
            )));
        }
        let path = dir.join(INDEX_FILE);
        let bytes = std::fs::read(&path).map_err(|e| {
            damaged(
                &path,
                format!("{e} (a folder written by `audit --shard I/N` holds it)"),
            )
        })?;
        let index: Index = serde_json::from_slice(&bytes).map_err(|e| {
            damaged(
                &path,
                format!("line {}, column {}: {e}", e.line(), e.column()),
            )
        })?;
        if index.format_version != INDEX_VERSION {
            return Err(damaged(
                &path,
                format!(
                    "format_version {} (this version reads {INDEX_VERSION})",
                    index.format_version
                ),
            ));
        }
        let mine = env!("CARGO_PKG_VERSION");
        if index.tool_version != mine {
            return Err(damaged(
                &path,
                format!(
                    "written by partner-audit {}; merge with the same version ({mine} here)",
                    index.tool_version
                ),
            ));
        }
        parts.push(Part {
            dir: dir.clone(),
            index,
        });
    }
    parts.sort_by_key(|p| p.index.shard);
    let count = parts[0].index.of;
    for p in &parts {
        if p.index.of != count {
            return Err(MergeError::Shards(format!(
                "`{}` is shard {} of {}, `{}` of {count}: the shards come from different runs",
                p.dir.display(),
                p.index.shard,
                p.index.of,
                parts[0].dir.display()
            )));
        }
        if p.index.files != parts[0].index.files {
            return Err(MergeError::Shards(format!(
                "`{}` holds {}, `{}` holds {}: every shard must write the same formats",
                p.dir.display(),
                p.index.files.join(", "),
                parts[0].dir.display(),
                parts[0].index.files.join(", ")
            )));
        }
    }
    for pair in parts.windows(2) {
        if pair[0].index.shard == pair[1].index.shard {
            return Err(MergeError::Shards(format!(
                "`{}` and `{}` are both shard {}/{count}",
                pair[0].dir.display(),
                pair[1].dir.display(),
                pair[0].index.shard
            )));
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|i| !parts.iter().any(|p| p.index.shard == *i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(20).map(String::as_str).collect();
        return Err(MergeError::Shards(format!(
            "shard{} {}{} of {count} missing: the merge needs every shard's folder",
            if missing.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if missing.len() > shown.len() {
                ", …"
            } else {
                ""
            },
        )));
    }
    Ok(parts)
}

/// The shard each finding comes from, in report order. Two shards never
/// hold findings with the same key (a customer is in one shard, findings
/// without a customer in shard 0).
fn finding_order(parts: &[Part]) -> Result<Vec<u32>, MergeError> {
    let mut all: Vec<(u32, u32)> = Vec::new();
    for (s, p) in parts.iter().enumerate() {
        let keys = &p.index.findings;
        for pair in keys.windows(2) {
            if pair[0].order(&pair[1]).is_gt() {
                return Err(damaged(
                    &p.dir.join(INDEX_FILE),
                    "findings are not in report order",
                ));
            }
        }
        all.extend((0..keys.len() as u32).map(|i| (s as u32, i)));
    }
    let key = |&(s, i): &(u32, u32)| &parts[s as usize].index.findings[i as usize];
    // A stable sort keeps each shard's own order for equal keys.
    all.sort_by(|a, b| key(a).order(key(b)));
    for pair in all.windows(2) {
        if pair[0].0 != pair[1].0 && key(&pair[0]) == key(&pair[1]) {
            return Err(MergeError::Shards(format!(
                "`{}` and `{}` both hold {} findings of customer {}: the shards overlap",
                parts[pair[0].0 as usize].dir.display(),
                parts[pair[1].0 as usize].dir.display(),
                key(&pair[0]).1,
                key(&pair[0])
                    .2
                    .map_or_else(|| "(none)".into(), |g| g.to_string()),
            )));
        }
    }
    Ok(all.into_iter().map(|(s, _)| s).collect())
}

/// A shard's report file, read a line (or a CSV record) at a time.
struct Reader {
    path: PathBuf,
    inner: BufReader<File>,
    line: Vec<u8>,
}

impl Reader {
    fn open(path: PathBuf) -> Result<Reader, MergeError> {
        let file = File::open(&path).map_err(|e| damaged(&path, e.to_string()))?;
        Ok(Reader {
            path,
            inner: BufReader::with_capacity(1 << 16, file),
            line: Vec::new(),
        })
    }

    /// The next line, its `\n` included; empty at the end.
    fn next_line(&mut self) -> Result<&[u8], MergeError> {
        self.line.clear();
        self.inner
            .read_until(b'\n', &mut self.line)
            .map_err(|e| damaged(&self.path, e.to_string()))?;
        Ok(&self.line)
    }

    /// The next `n` bytes; fewer at the end of the file.
    fn next_bytes(&mut self, n: usize) -> Result<&[u8], MergeError> {
        self.line.clear();
        (&mut self.inner)
            .take(n as u64)
            .read_to_end(&mut self.line)
            .map_err(|e| damaged(&self.path, e.to_string()))?;
        Ok(&self.line)
    }

    /// The next CSV record, its line end included: lines are joined while
    /// a quoted cell is open (an odd number of `"` so far).
    fn next_record(&mut self) -> Result<&[u8], MergeError> {
        self.line.clear();
        let mut quotes = 0usize;
        loop {
            let start = self.line.len();
            let n = self
                .inner
                .read_until(b'\n', &mut self.line)
                .map_err(|e| damaged(&self.path, e.to_string()))?;
            quotes += self.line[start..].iter().filter(|&&b| b == b'"').count();
            if n == 0 || quotes % 2 == 0 {
                return Ok(&self.line);
            }
        }
    }

    fn expect_end(&mut self) -> Result<(), MergeError> {
        if self.next_line()?.is_empty() {
            Ok(())
        } else {
            Err(damaged(&self.path, "more rows than its shard.json lists"))
        }
    }

    fn unexpected(&self, what: &str) -> MergeError {
        let got = String::from_utf8_lossy(&self.line);
        let got: String = got.trim_end().chars().take(80).collect();
        damaged(
            &self.path,
            format!(
                "expected {what}, found `{got}` (the file was changed after the shard wrote it)"
            ),
        )
    }
}

/// A line without its `\n` and without the `,` that separates it from the next.
fn item(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b",").unwrap_or(line)
}

/// findings.json's `summary`, added up over the shards.
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Summary {
    total: u64,
    by_severity: BTreeMap<String, u64>,
    by_rule: BTreeMap<String, u64>,
}

impl Summary {
    fn add(&mut self, other: Summary) {
        self.total += other.total;
        for (k, v) in other.by_severity {
            *self.by_severity.entry(k).or_default() += v;
        }
        for (k, v) in other.by_rule {
            *self.by_rule.entry(k).or_default() += v;
        }
    }
}

const SUMMARY: &[u8] = b"  \"summary\": {\n";
const FINDINGS: &[u8] = b"  \"findings\": [";

/// Merges findings.json: see the module's documentation.
fn merge_json(parts: &[Part], order: &[u32], w: &mut dyn Write) -> Result<(), MergeError> {
    let mut readers = parts
        .iter()
        .map(|p| Reader::open(p.dir.join("findings.json")))
        .collect::<Result<Vec<_>, _>>()?;
    let out = |e: io::Error| MergeError::Io {
        path: "findings.json".into(),
        source: e,
    };
    // The head, which every shard must share.
    let mut heads: Vec<Vec<u8>> = Vec::with_capacity(readers.len());
    let mut summary = Summary::default();
    for r in &mut readers {
        let mut head = Vec::new();
        loop {
            let line = r.next_line()?;
            if line.is_empty() {
                return Err(r.unexpected("`summary`"));
            }
            if line == SUMMARY {
                break;
            }
            head.extend_from_slice(line);
        }
        let mut text = b"{\n".to_vec();
        loop {
            let line = r.next_line()?;
            if line.is_empty() {
                return Err(r.unexpected("the end of `summary`"));
            }
            if line == b"  },\n" {
                break;
            }
            text.extend_from_slice(line);
        }
        text.extend_from_slice(b"}");
        let part: Summary = serde_json::from_slice(&text)
            .map_err(|e| damaged(&r.path, format!("its `summary` cannot be read: {e}")))?;
        summary.add(part);
        heads.push(head);
    }
    same_in_every_shard(&readers, &heads, "before `summary`")?;
    w.write_all(&heads[0]).map_err(out)?;
    w.write_all(SUMMARY).map_err(out)?;
    let pretty = serde_json::to_string_pretty(&summary).map_err(|e| out(io::Error::other(e)))?;
    // The summary sits one level deep: every line after `{` moves right by two.
    let body = pretty.strip_prefix("{\n").unwrap_or(&pretty);
    for (i, line) in body.lines().enumerate() {
        if i > 0 {
            w.write_all(b"\n").map_err(out)?;
        }
        write!(w, "  {line}").map_err(out)?;
    }
    merge_tables(&mut readers, w)?;
    // Findings, in report order.
    let total = order.len();
    if total == 0 {
        w.write_all(b",\n  \"findings\": []\n}\n").map_err(out)?;
    } else {
        w.write_all(b",\n  \"findings\": [\n").map_err(out)?;
    }
    for (written, &s) in order.iter().enumerate() {
        let r = &mut readers[s as usize];
        let line = r.next_line()?;
        if !line.starts_with(b"    {") {
            return Err(r.unexpected("a finding"));
        }
        if written > 0 {
            w.write_all(b",\n").map_err(out)?;
        }
        w.write_all(item(line)).map_err(out)?;
    }
    if total > 0 {
        w.write_all(b"\n  ]\n}\n").map_err(out)?;
    }
    for (r, p) in readers.iter_mut().zip(parts) {
        if p.index.findings.is_empty() {
            continue; // `"findings": []` and `}` were read with the last table.
        }
        for end in [&b"  ]\n"[..], b"}\n"] {
            if r.next_line()? != end {
                return Err(r.unexpected(String::from_utf8_lossy(end).trim_end()));
            }
        }
    }
    for r in &mut readers {
        r.expect_end()?;
    }
    Ok(())
}

/// Merges the tables between `summary` and `findings`, table by table,
/// and reads each shard's `"findings": [` line.
fn merge_tables(readers: &mut [Reader], w: &mut dyn Write) -> Result<(), MergeError> {
    let out = |e: io::Error| MergeError::Io {
        path: "findings.json".into(),
        source: e,
    };
    // What was written last (the summary, a table) ends with its closing
    // brace: each table starts with the comma that follows it.
    loop {
        let mut name: Option<Vec<u8>> = None;
        let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for r in readers.iter_mut() {
            let line = r.next_line()?.to_vec();
            if line.starts_with(FINDINGS) {
                if name.is_some() {
                    return Err(r.unexpected("a table"));
                }
                if line != b"  \"findings\": [\n" && line != b"  \"findings\": []\n" {
                    return Err(r.unexpected("`\"findings\": [`"));
                }
                if line == b"  \"findings\": []\n" && r.next_line()? != b"}\n" {
                    return Err(r.unexpected("`}`"));
                }
                continue;
            }
            let Some(table) = line
                .strip_suffix(b"{},\n")
                .or_else(|| line.strip_suffix(b"{\n"))
                .filter(|t| t.starts_with(b"  \"") && t.ends_with(b"\": "))
            else {
                return Err(r.unexpected("a table"));
            };
            if name.as_deref().is_some_and(|n| n != table) {
                return Err(r.unexpected(&format!(
                    "table {}",
                    String::from_utf8_lossy(name.as_deref().unwrap_or_default()).trim()
                )));
            }
            name = Some(table.to_vec());
            if line.ends_with(b"{},\n") {
                continue;
            }
            loop {
                let line = r.next_line()?;
                if line == b"  },\n" {
                    break;
                }
                if !line.starts_with(b"    \"") {
                    return Err(r.unexpected("a table entry"));
                }
                let entry = item(line).to_vec();
                let key = serde_json::Deserializer::from_slice(&entry[4..])
                    .into_iter::<String>()
                    .next()
                    .and_then(Result::ok)
                    .ok_or_else(|| r.unexpected("a table entry"))?;
                match entries.get(&key) {
                    Some(have) if *have != entry => {
                        return Err(damaged(
                            &r.path,
                            format!(
                                "entry `{key}` differs from another shard's: the shards were not run on the same snapshot"
                            ),
                        ))
                    }
                    Some(_) => {}
                    None => {
                        entries.insert(key, entry);
                    }
                }
            }
        }
        let Some(table) = name else {
            return Ok(());
        };
        w.write_all(b",\n").map_err(out)?;
        w.write_all(&table).map_err(out)?;
        if entries.is_empty() {
            w.write_all(b"{}").map_err(out)?;
            continue;
        }
        w.write_all(b"{").map_err(out)?;
        for (i, e) in entries.values().enumerate() {
            w.write_all(if i == 0 { b"\n" } else { b",\n" })
                .map_err(out)?;
            w.write_all(e).map_err(out)?;
        }
        w.write_all(b"\n  }").map_err(out)?;
    }
}

const RESULTS: &[u8] = b"      \"results\": ";

/// Merges findings.sarif: the run's head (tool, rules, invocations) and its
/// end (properties) are the same in every shard; the results (one per
/// finding) are interleaved in report order, each copied whole by the byte
/// length its shard's index records.
fn merge_sarif(parts: &[Part], order: &[u32], w: &mut dyn Write) -> Result<(), MergeError> {
    let name = "findings.sarif";
    let mut readers = open_all(parts, name)?;
    let out = |e| MergeError::Io {
        path: name.into(),
        source: e,
    };
    let mut heads: Vec<Vec<u8>> = Vec::with_capacity(readers.len());
    for r in &mut readers {
        let mut head = Vec::new();
        loop {
            let line = r.next_line()?;
            if line.is_empty() {
                return Err(r.unexpected("`results`"));
            }
            if line.starts_with(RESULTS) {
                let open = line == b"      \"results\": [\n";
                if !open && line != b"      \"results\": [],\n" {
                    return Err(r.unexpected("`\"results\": [`"));
                }
                break;
            }
            head.extend_from_slice(line);
        }
        heads.push(head);
    }
    same_in_every_shard(&readers, &heads, "before `results`")?;
    w.write_all(&heads[0]).map_err(out)?;
    if order.is_empty() {
        w.write_all(b"      \"results\": [],\n").map_err(out)?;
    } else {
        w.write_all(b"      \"results\": [\n").map_err(out)?;
    }
    // Each result is copied whole, by the length its shard's index gives;
    // within a shard's file the results are separated by `,\n` and the last
    // is followed by a line end.
    for (r, p) in readers.iter().zip(parts) {
        if p.index.sarif_results.len() != p.index.findings.len() {
            return Err(damaged(
                &r.path,
                format!(
                    "{} holds {} SARIF result length(s) for {} finding(s)",
                    super::INDEX_FILE,
                    p.index.sarif_results.len(),
                    p.index.findings.len()
                ),
            ));
        }
    }
    let mut next = vec![0usize; readers.len()];
    for (i, &s) in order.iter().enumerate() {
        let s = s as usize;
        let lengths = &parts[s].index.sarif_results;
        let r = &mut readers[s];
        let len = usize::try_from(lengths[next[s]]).unwrap_or(usize::MAX);
        next[s] += 1;
        let last = next[s] == lengths.len();
        let result = r.next_bytes(len)?;
        if !(result.starts_with(b"        {\n") && result.ends_with(b"\n        }")) {
            return Err(r.unexpected("a result of the length shard.json gives"));
        }
        if i > 0 {
            w.write_all(b",\n").map_err(out)?;
        }
        w.write_all(result).map_err(out)?;
        let sep: &[u8] = if last { b"\n" } else { b",\n" };
        if r.next_bytes(sep.len())? != sep {
            return Err(r.unexpected("the end of a result"));
        }
    }
    if !order.is_empty() {
        w.write_all(b"\n      ],\n").map_err(out)?;
    }
    for (r, p) in readers.iter_mut().zip(parts) {
        if !p.index.findings.is_empty() && r.next_line()? != b"      ],\n" {
            return Err(r.unexpected("the end of `results`"));
        }
    }
    copy_common_rest(&mut readers, name, "after `results`", w)
}

/// Writes what is left of file `name`, which must be the same bytes in
/// every shard (`what` says where, for the error).
fn copy_common_rest(
    readers: &mut [Reader],
    name: &str,
    what: &str,
    w: &mut dyn Write,
) -> Result<(), MergeError> {
    let mut rests: Vec<Vec<u8>> = Vec::with_capacity(readers.len());
    for r in readers.iter_mut() {
        let mut rest = Vec::new();
        r.inner
            .read_to_end(&mut rest)
            .map_err(|e| damaged(&r.path, e.to_string()))?;
        rests.push(rest);
    }
    same_in_every_shard(readers, &rests, what)?;
    w.write_all(&rests[0]).map_err(|source| MergeError::Io {
        path: name.into(),
        source,
    })
}

/// Merges junit.xml. Every shard writes the cases of its own subjects
/// (customers; on shard 0 also partners and the whole snapshot) in every
/// suite, with counts of its own; the heads are written again with the
/// counts summed, each suite's properties must be alike in every shard,
/// and the cases are interleaved in subject order, each copied whole by
/// the byte length its shard's index records. The `input` suite and the
/// end are alike in every shard.
fn merge_junit(parts: &[Part], w: &mut dyn Write) -> Result<(), MergeError> {
    use crate::report::junit;
    let name = "junit.xml";
    let out = |e| MergeError::Io {
        path: name.into(),
        source: e,
    };
    let mut layouts = Vec::with_capacity(parts.len());
    for p in parts {
        let index = p.dir.join(super::INDEX_FILE);
        let Some(l) = &p.index.junit else {
            return Err(damaged(&index, "lists junit.xml without its layout"));
        };
        let first = parts[0].index.junit.as_ref().unwrap_or(l);
        if l.suites.len() != first.suites.len()
            || l.incomplete != first.incomplete
            || l.suites.iter().any(|x| x.cases.len() != l.subjects.len())
        {
            return Err(damaged(
                &index,
                "junit.xml's layout does not fit the other shards'",
            ));
        }
        layouts.push(l);
    }
    // Every subject, in case order, with its shard and its place there.
    let mut subjects: Vec<(&junit::CaseKey, usize, usize)> = layouts
        .iter()
        .enumerate()
        .flat_map(|(s, l)| l.subjects.iter().enumerate().map(move |(i, k)| (k, s, i)))
        .collect();
    subjects.sort();
    if let Some(pair) = subjects.windows(2).find(|p| p[0].0 == p[1].0) {
        return Err(MergeError::Shards(format!(
            "`{}` and `{}` both hold the junit.xml cases of one subject: the shards overlap",
            parts[pair[0].1].dir.display(),
            parts[pair[1].1].dir.display()
        )));
    }
    let n = subjects.len() as u64;
    let suites = layouts[0].suites.len();
    let sum = |f: &dyn Fn(&junit::SuiteLayout) -> u64, i: usize| -> u64 {
        layouts.iter().map(|l| f(&l.suites[i])).sum()
    };
    let failures: Vec<u64> = (0..suites).map(|i| sum(&|x| x.failures, i)).collect();
    let skipped: Vec<u64> = (0..suites).map(|i| sum(&|x| x.skipped, i)).collect();
    let incomplete = layouts[0].incomplete;
    let mut readers = open_all(parts, name)?;
    for r in &mut readers {
        if r.next_line()? != b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" {
            return Err(r.unexpected("the XML declaration"));
        }
        if !r
            .next_line()?
            .starts_with(b"<testsuites name=\"partner-audit\" ")
        {
            return Err(r.unexpected("`<testsuites`"));
        }
    }
    let head = junit::testsuites_head(
        suites as u64 * n + incomplete,
        failures.iter().sum::<u64>() + incomplete,
        skipped.iter().sum::<u64>(),
    );
    w.write_all(head.as_bytes()).map_err(out)?;
    const OPEN: &[u8] = b"  <testsuite name=\"";
    for i in 0..suites {
        let mut names: Vec<Vec<u8>> = Vec::with_capacity(readers.len());
        let mut properties: Vec<Vec<u8>> = Vec::with_capacity(readers.len());
        for r in &mut readers {
            let line = r.next_line()?;
            let rest = line.strip_prefix(OPEN).unwrap_or_default();
            let Some(end) = rest.iter().position(|&b| b == b'"') else {
                return Err(r.unexpected("`<testsuite name=`"));
            };
            names.push(rest[..end].to_vec());
            let mut block = Vec::new();
            loop {
                let line = r.next_line()?;
                if line.is_empty() {
                    return Err(r.unexpected("`</properties>`"));
                }
                block.extend_from_slice(line);
                if line == b"    </properties>\n" {
                    break;
                }
            }
            properties.push(block);
        }
        same_in_every_shard(&readers, &names, "in a suite's name")?;
        same_in_every_shard(&readers, &properties, "in a suite's properties")?;
        let suite_name = String::from_utf8_lossy(&names[0]);
        let open = junit::suite_open(&suite_name, n, failures[i], skipped[i]);
        w.write_all(open.as_bytes()).map_err(out)?;
        w.write_all(&properties[0]).map_err(out)?;
        for &(_, s, local) in &subjects {
            let len = usize::try_from(layouts[s].suites[i].cases[local]).unwrap_or(usize::MAX);
            let r = &mut readers[s];
            let case = r.next_bytes(len)?;
            if !(case.starts_with(b"    <testcase ") && case.ends_with(b"\n")) {
                return Err(r.unexpected("a test case of the length shard.json gives"));
            }
            w.write_all(case).map_err(out)?;
        }
        for r in &mut readers {
            if r.next_line()? != junit::SUITE_END.as_bytes() {
                return Err(r.unexpected("`</testsuite>`"));
            }
        }
        w.write_all(junit::SUITE_END.as_bytes()).map_err(out)?;
    }
    // The `input` suite and the end.
    copy_common_rest(&mut readers, name, "after the rules' suites", w)
}

/// Checks that a part of a file is the same bytes in every shard.
fn same_in_every_shard(
    readers: &[Reader],
    parts: &[Vec<u8>],
    what: &str,
) -> Result<(), MergeError> {
    for (i, p) in parts.iter().enumerate().skip(1) {
        if *p != parts[0] {
            return Err(MergeError::Shards(format!(
                "`{}` and `{}` differ {what}: the shards were not run on the same snapshot with the same options and version",
                readers[0].path.display(),
                readers[i].path.display()
            )));
        }
    }
    Ok(())
}

/// Merges findings.csv: the shared header, then the rows in report order.
fn merge_findings_csv(parts: &[Part], order: &[u32], w: &mut dyn Write) -> Result<(), MergeError> {
    merge_csv(
        parts,
        "findings.csv",
        order.iter().map(|&s| (s as usize, 1)),
        w,
    )
}

/// Merges access.csv: the shared header, then each tenant's rows, by
/// tenant name and id.
fn merge_access_csv(parts: &[Part], w: &mut dyn Write) -> Result<(), MergeError> {
    let mut groups: Vec<(&AccessGroup, usize)> = parts
        .iter()
        .enumerate()
        .flat_map(|(s, p)| p.index.access.iter().map(move |g| (g, s)))
        .collect();
    groups.sort_by(|a, b| (&a.0 .0, a.0 .1).cmp(&(&b.0 .0, b.0 .1)));
    for pair in groups.windows(2) {
        if pair[0].0 .1 == pair[1].0 .1 {
            return Err(MergeError::Shards(format!(
                "`{}` and `{}` both hold access rows of tenant {}: the shards overlap",
                parts[pair[0].1].dir.display(),
                parts[pair[1].1].dir.display(),
                pair[0].0 .1
            )));
        }
    }
    merge_csv(
        parts,
        "access.csv",
        groups.into_iter().map(|(g, s)| (s, g.2)),
        w,
    )
}

/// Writes the header every shard's `name` shares, then, run by run, that
/// many records of that shard's file; checks that each file ends there.
fn merge_csv(
    parts: &[Part],
    name: &str,
    runs: impl Iterator<Item = (usize, u64)>,
    w: &mut dyn Write,
) -> Result<(), MergeError> {
    let mut readers = open_all(parts, name)?;
    header(&mut readers, name, w)?;
    let out = |e| MergeError::Io {
        path: name.into(),
        source: e,
    };
    for (s, rows) in runs {
        let r = &mut readers[s];
        for _ in 0..rows {
            let rec = r.next_record()?;
            if rec.is_empty() {
                return Err(damaged(&r.path, "fewer rows than its shard.json lists"));
            }
            w.write_all(rec).map_err(out)?;
        }
    }
    for r in &mut readers {
        r.expect_end()?;
    }
    Ok(())
}

/// The files merge puts together from every shard's part; the others
/// (but `html/`) shard 0 writes whole.
const COMBINED: [&str; 5] = [
    "findings.json",
    "findings.csv",
    "access.csv",
    "findings.sarif",
    "junit.xml",
];

/// Merges `html/`: shard 0's folder (the lists and other whole-run pages,
/// and its customers' pages), and every other shard's customer pages.
fn merge_html(parts: &[Part], to: &Path) -> Result<(), MergeError> {
    let dir = crate::report::html::DIR;
    copy_tree(&parts[0].dir.join(dir), to)?;
    let pages = to.join("customers");
    std::fs::create_dir_all(&pages).map_err(|e| MergeError::Io {
        path: pages.display().to_string(),
        source: e,
    })?;
    for p in &parts[1..] {
        let from = p.dir.join(dir);
        for e in read_dir(&from)? {
            if e != "customers" {
                return Err(damaged(
                    &from.join(&e),
                    "a shard other than 0 writes only customer pages",
                ));
            }
        }
        let from = from.join("customers");
        for name in read_dir(&from)? {
            let target = pages.join(&name);
            if target.exists() {
                return Err(MergeError::Shards(format!(
                    "customer page `{name}` is in `{}` and in another shard: the shards overlap",
                    p.dir.display()
                )));
            }
            let source = from.join(&name);
            std::fs::copy(&source, &target).map_err(|e| damaged(&source, e.to_string()))?;
        }
    }
    Ok(())
}

/// The names in a folder, sorted.
fn read_dir(dir: &Path) -> Result<Vec<String>, MergeError> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| damaged(dir, e.to_string()))? {
        let e = e.map_err(|e| damaged(dir, e.to_string()))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Copies a folder of files and folders.
fn copy_tree(from: &Path, to: &Path) -> Result<(), MergeError> {
    std::fs::create_dir_all(to).map_err(|e| MergeError::Io {
        path: to.display().to_string(),
        source: e,
    })?;
    for name in read_dir(from)? {
        let (a, b) = (from.join(&name), to.join(&name));
        if a.is_dir() {
            copy_tree(&a, &b)?;
        } else {
            std::fs::copy(&a, &b).map_err(|e| damaged(&a, e.to_string()))?;
        }
    }
    Ok(())
}

fn open_all(parts: &[Part], name: &str) -> Result<Vec<Reader>, MergeError> {
    parts
        .iter()
        .map(|p| Reader::open(p.dir.join(name)))
        .collect()
}

/// Copies the header record, which every shard must have alike.
fn header(readers: &mut [Reader], name: &str, w: &mut dyn Write) -> Result<(), MergeError> {
    let first = readers[0].next_record()?.to_vec();
    for r in readers.iter_mut().skip(1) {
        if r.next_record()? != first.as_slice() {
            return Err(r.unexpected("the header of the other shards"));
        }
    }
    w.write_all(&first).map_err(|e| MergeError::Io {
        path: name.into(),
        source: e,
    })
}

/// Merges the shard folders `dirs` into `out`, published as one set like
/// an audit's reports.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Merged, MergeError> {
    let parts = parts(dirs)?;
    let order = finding_order(&parts)?;
    let io_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| MergeError::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let staging = Staging::create(out).map_err(io_err(out))?;
    for name in &parts[0].index.files {
        let path = staging.dir().join(name);
        if name == crate::report::html::DIR {
            merge_html(&parts, &path)?;
            continue;
        }
        if !COMBINED.contains(&name.as_str()) {
            // A report about the whole run: shard 0 wrote it whole.
            let from = parts[0].dir.join(name);
            std::fs::copy(&from, &path).map_err(|e| damaged(&from, e.to_string()))?;
            continue;
        }
        let mut failed = None;
        let result = write_atomic(&path, |w| {
            let r = match name.as_str() {
                "findings.json" => merge_json(&parts, &order, w),
                "findings.csv" => merge_findings_csv(&parts, &order, w),
                "access.csv" => merge_access_csv(&parts, w),
                "findings.sarif" => merge_sarif(&parts, &order, w),
                "junit.xml" => merge_junit(&parts, w),
                _ => Ok(()),
            };
            r.map_err(|e| {
                failed = Some(e);
                io::Error::other("merge failed")
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        result.map_err(io_err(&out.join(name)))?;
    }
    let written = staging.publish().map_err(|(path, source)| MergeError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(Merged {
        written,
        shards: parts[0].index.of,
        findings: order.len(),
    })
}
