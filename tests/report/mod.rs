//! Shared helpers for the report tests (`tests/report_*.rs`).
#![allow(dead_code)]

use std::io::Write as _;
use std::path::Path;

use partner_audit::app::Audit;
use partner_audit::engine::rule::Rule;
use partner_audit::report::baseline::Baseline;
use partner_audit::report::waivers::WaiverSet;
use partner_audit::report::{csv, html, json, junit, markdown, review, sarif, Outcome, Report};

#[path = "../common/mod.rs"]
pub mod common;

/// The report view of an audit.
pub fn report(a: &Audit) -> Report<'_> {
    Report {
        snapshot: &a.snapshot,
        graph: &a.graph,
        as_of: a.as_of,
        as_of_origin: a.as_of_origin,
        findings: &a.findings,
        diagnostics: &a.diagnostics,
        shard: None,
    }
}

/// Every format rendered for one outcome, by file name (the HTML review's
/// pages by their path under `--out`: `report.html`, `html/…`).
pub fn render_all(o: &Outcome<'_>) -> Vec<(String, String)> {
    let rv = review::build(o);
    let mut out = Vec::new();
    let mut put = |name: &str, f: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut buf = Vec::new();
        f(&mut buf).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name.to_string(), String::from_utf8(buf).expect("utf-8")));
    };
    put("findings.json", &|w| json::write_outcome(o, w));
    put("report.md", &|w| markdown::write(&rv, w));
    for page in html::pages(&rv).expect("html pages") {
        put(&page.path, &|w| w.write_all(page.html.as_bytes()));
    }
    put("findings.csv", &|w| csv::write_findings(o, w));
    put("access.csv", &|w| csv::write_access(o, w));
    put("findings.sarif", &|w| sarif::write(o, w));
    put("junit.xml", &|w| junit::write(o, w));
    out
}

/// The HTML review's pages (`report.html` and `html/…`) of an outcome.
pub fn html_pages(o: &Outcome<'_>) -> Vec<(String, String)> {
    render_all(o)
        .into_iter()
        .filter(|(n, _)| n.ends_with(".html"))
        .collect()
}

/// One format of an outcome.
pub fn render(o: &Outcome<'_>, name: &str) -> String {
    render_all(o)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| t)
        .unwrap_or_else(|| panic!("no format {name}"))
}

/// An outcome with optional baseline and waivers files.
pub fn outcome<'a>(
    r: &'a Report<'a>,
    rules: &'a [Rule],
    baseline: Option<&Path>,
    waivers: Option<&Path>,
) -> Outcome<'a> {
    let b = baseline.map(|p| Baseline::load(p).expect("baseline loads"));
    let w = waivers.map(|p| WaiverSet::load(p).expect("waivers load"));
    Outcome::new(r, rules, b, w)
}

/// Validates a SARIF log against the official SARIF 2.1.0 schema
/// (tests/data/sarif-schema-2.1.0.json, see tests/data/README.md).
pub fn validate_sarif(sarif: &str) -> Result<(), String> {
    use serde_json::Value;
    let schema: Value =
        serde_json::from_str(include_str!("../data/sarif-schema-2.1.0.json")).expect("schema json");
    let url = partner_audit::report::sarif::SCHEMA;
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(url, schema).expect("add schema");
    let idx = compiler.compile(url, &mut schemas).expect("compile schema");
    let doc: Value = serde_json::from_str(sarif).map_err(|e| e.to_string())?;
    schemas.validate(&doc, idx).map_err(|e| format!("{e:#}"))
}

/// A JSON value that keeps object keys in the order the document has them
/// (serde_json's `Value` sorts them), so that writing it again shows the
/// layout serde_json gives the same document whole.
pub enum Ordered {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Uint(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Ordered, E> {
                Ok(Ordered::Str(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = a.next_element()? {
                    out.push(x);
                }
                Ok(Ordered::Array(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = a.next_entry()? {
                    out.push(entry);
                }
                Ok(Ordered::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl serde::Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Ordered::Null => s.serialize_unit(),
            Ordered::Bool(v) => s.serialize_bool(*v),
            Ordered::Int(v) => s.serialize_i64(*v),
            Ordered::Uint(v) => s.serialize_u64(*v),
            Ordered::Float(v) => s.serialize_f64(*v),
            Ordered::Str(v) => s.serialize_str(v),
            Ordered::Array(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for x in v {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Ordered::Object(v) => {
                let mut map = s.serialize_map(Some(v.len()))?;
                for (k, x) in v {
                    map.serialize_entry(k, x)?;
                }
                map.end()
            }
        }
    }
}

/// `json` parsed and pretty-printed again by serde_json whole (keys in
/// their order, trailing newline): a document written piece by piece must
/// equal it byte for byte.
pub fn pretty_again(json: &str) -> String {
    let doc: Ordered = serde_json::from_str(json).expect("JSON");
    let mut out = serde_json::to_string_pretty(&doc).expect("serialize");
    out.push('\n');
    out
}

/// The byte offset where two texts first differ, with a little of each
/// from there (a whole report is too large for an assertion message).
pub fn first_difference(a: &str, b: &str) -> Option<String> {
    let at = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))?;
    let near = |s: &str| {
        let b = s.as_bytes();
        String::from_utf8_lossy(&b[at.saturating_sub(80).min(b.len())..(at + 80).min(b.len())])
            .into_owned()
    };
    Some(format!("byte {at}:\n{:?}\nvs\n{:?}", near(a), near(b)))
}

/// A generated snapshot of `customers` customers (seed 3) under `dir`, as
/// the path the binary is given.
pub fn generated(customers: usize, dir: &std::path::Path) -> String {
    let snap = dir.join("snap");
    partner_audit::generate::generate(
        &partner_audit::generate::GenerateOptions::new(customers, 3),
        &snap,
    )
    .expect("generate");
    snap.display().to_string()
}

/// `--format FORMAT` of the snapshot at `snap`, run with `threads` threads.
pub fn written(
    snap: &str,
    format: &str,
    file: &str,
    threads: &str,
    dir: &std::path::Path,
) -> String {
    let out = dir.join(format!("{format}-{threads}"));
    let (code, _, err) = common::run(&[
        "audit",
        snap,
        "--out",
        &out.to_string_lossy(),
        "--format",
        format,
        "--fail-on",
        "never",
        "--threads",
        threads,
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::read_to_string(out.join(file)).expect("report written")
}
