//! `findings.json`: the stable, versioned machine contract (SPEC §6).
//!
//! Two layouts share this module's head (tool, input accounting, summary,
//! baseline and waiver keys): format_version 2 ([`v2`], the default), which
//! defines what findings repeat (rules, tenants, principals, explaining
//! chains) once in top-level tables and refers to it by key, and
//! format_version 1 ([`v1`], `--findings-format v1`, deprecated), where every
//! finding carries all of it. docs/findings-v2.md documents both and the
//! migration.
//!
//! Without `--baseline` and `--waivers` the head holds no more than the
//! version's first release. The options only add keys: with a baseline, each
//! finding gets `status` (`new`/`unchanged`) and the document gets `baseline`
//! (counts) and `resolved` (the baseline's findings that are gone); with
//! waivers, waived findings leave `findings` (and `summary`) for
//! `waivers.waived`, `summary.waived` counts them, and `waivers` also lists
//! the `expired` waivers (with the findings they re-opened, which carry
//! `reopened_by`) and the `unmatched` ones.

pub mod v1;
pub mod v2;

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::baseline::Prior;
use super::waivers::Waiver;
use super::{Open, Outcome, Report};
use crate::engine::render_evidence_into;
use crate::engine::rule::{Rule, Severity};
use crate::engine::Finding;
use crate::snapshot::{Diagnostic, Guid, Level, TableAccount};

/// Version of the default findings.json layout.
pub const FORMAT_VERSION: u32 = v2::FORMAT_VERSION;

/// The layout of findings.json (`--findings-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FindingsFormat {
    /// format_version 1: every finding self-contained (deprecated, removed in the next release).
    V1,
    /// format_version 2: shared tables referenced by key (the default).
    #[default]
    V2,
}

impl FindingsFormat {
    /// The `format_version` the layout writes.
    pub fn version(self) -> u32 {
        match self {
            FindingsFormat::V1 => v1::FORMAT_VERSION,
            FindingsFormat::V2 => v2::FORMAT_VERSION,
        }
    }
}

#[derive(Serialize)]
struct Doc<'a> {
    format_version: u32,
    tool: Tool,
    as_of: String,
    as_of_origin: &'static str,
    snapshot: SnapshotInfo<'a>,
    input: Input<'a>,
    summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<BaselineOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved: Option<&'a [Prior]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waivers: Option<WaiversOut<'a>>,
}

#[derive(Serialize)]
struct BaselineOut<'a> {
    file: &'a str,
    new: usize,
    unchanged: usize,
    resolved: usize,
}

#[derive(Serialize)]
struct WaiversOut<'a> {
    file: &'a str,
    waived: Vec<WaivedOut<'a>>,
    expired: Vec<ExpiredOut<'a>>,
    unmatched: Vec<&'a Waiver>,
}

#[derive(Serialize)]
struct WaivedOut<'a> {
    id: &'a str,
    rule: &'a str,
    severity: Severity,
    /// v1 only: v2 has it in `rules`.
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    message: &'a str,
    partner_tenant_id: Option<Guid>,
    customer_tenant_id: Option<Guid>,
    waiver: &'a Waiver,
}

#[derive(Serialize)]
struct ExpiredOut<'a> {
    #[serde(flatten)]
    waiver: &'a Waiver,
    reopened: &'a [String],
}

/// serde_json's pretty layout (two-space indent) starting `depth` levels
/// deep, so that a finding rendered on its own has the bytes it has inside
/// the whole document.
pub(crate) struct Nested {
    depth: usize,
    has_value: bool,
}

impl Nested {
    pub(crate) fn new(depth: usize) -> Nested {
        Nested {
            depth,
            has_value: false,
        }
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }

    fn indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        const SPACES: &[u8; 64] = &[b' '; 64];
        let mut n = self.depth * 2;
        while n > 0 {
            let k = n.min(SPACES.len());
            w.write_all(&SPACES[..k])?;
            n -= k;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes `value` as pretty JSON laid out as it is inside a document where
/// it sits `depth` brackets deep, so that a document can be written piece
/// by piece with the bytes serde_json's pretty printer gives it whole.
pub(crate) fn write_nested<T: Serialize + ?Sized>(
    w: &mut dyn Write,
    depth: usize,
    value: &T,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, Nested::new(depth));
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// A finding's evidence lines, rendered one at a time into one buffer as
/// they are serialized.
pub(crate) struct Evidence<'a> {
    pub(crate) report: &'a Report<'a>,
    pub(crate) lines: &'a [crate::engine::Evidence],
}

impl Serialize for Evidence<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.lines.len()))?;
        let mut text = String::with_capacity(256);
        for e in self.lines {
            text.clear();
            render_evidence_into(&mut text, self.report.snapshot, self.report.graph, e);
            seq.serialize_element(text.as_str())?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct SnapshotInfo<'a> {
    captured_at: Option<String>,
    perspective: Option<&'static str>,
    source: Option<&'a str>,
}

#[derive(Serialize)]
struct Input<'a> {
    tables: BTreeMap<&'a str, TableAccount>,
    unresolved: &'a BTreeMap<&'static str, u64>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    /// Present when the manifest lists incomplete tenants.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    incomplete_tenants: Vec<super::IncompleteTenant>,
}

/// Counts per severity and per rule.
#[derive(Serialize, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub total: usize,
    pub by_severity: BTreeMap<&'static str, usize>,
    pub by_rule: BTreeMap<String, usize>,
    /// Findings suppressed by waivers (only with `--waivers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived: Option<usize>,
}

impl Summary {
    /// Counts the findings (every severity present, zero or not).
    pub fn of<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> Summary {
        let mut s = Summary::default();
        for sev in Severity::ALL {
            s.by_severity.insert(sev.as_str(), 0);
        }
        let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
        for f in findings {
            s.total += 1;
            *s.by_severity.entry(f.severity.as_str()).or_default() += 1;
            *by_rule.entry(&f.rule).or_default() += 1;
        }
        s.by_rule = by_rule
            .into_iter()
            .map(|(rule, n)| (rule.to_owned(), n))
            .collect();
        s
    }
}

/// Writes findings.json (format_version 2) with every finding open and no
/// baseline: the plain machine contract. `rules` is the catalog the audit
/// ran with (the `rules` table's texts come from it).
pub fn write(r: &Report<'_>, rules: &[Rule], w: &mut dyn Write) -> io::Result<()> {
    write_outcome(&Outcome::plain(r, rules), w)
}

/// [`write`] in the deprecated format_version 1.
pub fn write_v1(r: &Report<'_>, w: &mut dyn Write) -> io::Result<()> {
    write_outcome_as(&Outcome::plain(r, &[]), FindingsFormat::V1, w)
}

/// Writes findings.json for an outcome in the default layout (baseline and
/// waiver keys when given).
pub fn write_outcome(o: &Outcome<'_>, w: &mut dyn Write) -> io::Result<()> {
    write_outcome_as(o, FindingsFormat::default(), w)
}

/// Writes findings.json for an outcome in the given layout.
pub fn write_outcome_as(
    o: &Outcome<'_>,
    format: FindingsFormat,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        FindingsFormat::V1 => v1::write(o, w),
        FindingsFormat::V2 => v2::write(o, w),
    }
}

/// The document's head: every key before the layout's own tables and
/// `findings`, pretty-printed, without its closing brace.
fn head(o: &Outcome<'_>, format: FindingsFormat) -> io::Result<Vec<u8>> {
    let r = o.report;
    let m = &r.snapshot.manifest;
    let v1 = format == FindingsFormat::V1;
    let doc = Doc {
        format_version: format.version(),
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        as_of: r.as_of.to_string(),
        as_of_origin: r.as_of_origin.as_str(),
        snapshot: SnapshotInfo {
            captured_at: m.captured_at.map(|t| t.to_string()),
            perspective: m.perspective.map(|p| p.as_str()),
            source: m.source.as_deref(),
        },
        input: Input {
            // File names relative to the snapshot root, like every citation.
            tables: r
                .snapshot
                .accounting
                .iter()
                .map(|(table, account)| {
                    let mut account = account.clone();
                    for f in &mut account.files {
                        *f = r.snapshot.relative(f);
                    }
                    (table.as_str(), account)
                })
                .collect(),
            unresolved: &r.graph.unresolved,
            errors: r
                .diagnostics
                .iter()
                .filter(|d| d.level == Level::Error)
                .map(|d| r.diagnostic(d))
                .collect(),
            warnings: r
                .diagnostics
                .iter()
                .filter(|d| d.level == Level::Warning)
                .map(|d| r.diagnostic(d))
                .collect(),
            incomplete_tenants: r.incomplete(),
        },
        summary: Summary {
            waived: o.waivers.as_ref().map(|_| o.waived.len()),
            ..Summary::of(o.open.iter().map(|x| x.finding))
        },
        baseline: o.baseline.as_ref().map(|d| BaselineOut {
            file: &d.file,
            new: d.new,
            unchanged: d.unchanged,
            resolved: d.resolved.len(),
        }),
        resolved: o.baseline.as_ref().map(|d| d.resolved.as_slice()),
        waivers: o.waivers.as_ref().map(|set| WaiversOut {
            file: &set.file,
            waived: o
                .waived
                .iter()
                .map(|x| WaivedOut {
                    id: &x.finding.id,
                    rule: &x.finding.rule,
                    severity: x.finding.severity,
                    title: v1.then_some(&*x.finding.title),
                    message: &x.finding.message,
                    partner_tenant_id: x.finding.partner_tenant_id,
                    customer_tenant_id: x.finding.customer_tenant_id,
                    waiver: &set.waivers[x.waiver],
                })
                .collect(),
            expired: set
                .expired_ids()
                .map(|i| ExpiredOut {
                    waiver: &set.waivers[i],
                    reopened: &set.matched[i],
                })
                .collect(),
            unmatched: set.unmatched_ids().map(|i| &set.waivers[i]).collect(),
        }),
    };
    let mut head = serde_json::to_vec_pretty(&doc).map_err(io::Error::other)?;
    if head.pop() != Some(b'}') || head.pop() != Some(b'\n') {
        return Err(io::Error::other("unexpected JSON head"));
    }
    Ok(head)
}

/// Writes `"findings": [ … ]` and the document's end: `render` makes each
/// finding's bytes (its indentation included) from its position in
/// `o.open` and the finding; findings are rendered in
/// parallel batches and appended in order ([`super::write_in_order`]), so
/// the bytes do not depend on the thread count.
fn write_findings<'a, F>(o: &'a Outcome<'a>, w: &mut dyn Write, render: F) -> io::Result<()>
where
    F: Fn(usize, &Open<'a>) -> io::Result<Vec<u8>> + Sync,
{
    if o.open.is_empty() {
        return w.write_all(b",\n  \"findings\": []\n}\n");
    }
    w.write_all(b",\n  \"findings\": [\n")?;
    super::write_in_order(&o.open, b",\n", w, render)?;
    w.write_all(b"\n  ]\n}\n")
}

/// The `reopened_by` text of an open finding: the expired waiver that re-opened it.
fn reopened_by(o: &Outcome<'_>, x: &Open<'_>) -> Option<String> {
    let i = x.reopened_by?;
    let set = o.waivers.as_ref()?;
    let w = set.waivers.get(i)?;
    Some(format!("{}:{} expired {}", set.file, w.line, w.expires))
}
