//! `junit.xml`: one test case per rule × customer for CI dashboards.
//!
//! A case fails when the rule has open findings for that customer, is
//! skipped when all of them are waived, and passes otherwise. Findings tied
//! to no customer get a case per partner (`partner NAME (ID)`), or one for
//! the whole snapshot when they name no partner either. A tenant the snapshot lists
//! as incomplete gets a failed case in the `input` suite. Every interpolated value
//! goes through [`xml`]; no times are written, so the file is reproducible.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use super::escape::xml;
use super::Outcome;
use crate::engine::rule::Rule;
use crate::engine::Finding;
use crate::shard::Shard;
use crate::snapshot::{Guid, TenantKind};
use serde::{Deserialize, Serialize};

/// The findings of one rule about one subject.
#[derive(Default)]
struct Case<'a> {
    open: Vec<&'a Finding>,
    waived: Vec<&'a Finding>,
}

/// One rule's suite: a case per subject, of which those with findings are
/// kept (by subject position), and the counts its head carries.
struct Suite<'a> {
    rule: &'a Rule,
    /// `partner-audit.RULE`, escaped: every case's classname.
    classname: String,
    cases: BTreeMap<usize, Case<'a>>,
    failures: usize,
    skipped: usize,
}

/// What a test case is about: a customer, or, for a finding tied to no
/// customer, its partner (or the whole snapshot when it names neither).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Subject {
    Customer(Guid),
    Partner(Guid),
    Snapshot,
}

impl Subject {
    fn of(f: &Finding) -> Subject {
        match (f.customer_tenant_id, f.partner_tenant_id) {
            (Some(c), _) => Subject::Customer(c),
            (None, Some(p)) => Subject::Partner(p),
            (None, None) => Subject::Snapshot,
        }
    }
}

/// Every suite's subjects in case order, as (sort name, subject, case
/// name): customers by name, then partners by name, then the snapshot.
/// Under `audit --shard`, only the shard's: its customers, and on shard 0
/// the partners and the snapshot.
fn subjects(o: &Outcome<'_>, shard: Option<Shard>) -> Vec<(String, Subject, String)> {
    let r = o.report;
    let mut subjects: Vec<(String, Subject, String)> = r
        .snapshot
        .tenants
        .iter()
        .filter(|t| t.kind == TenantKind::Customer)
        .map(|t| {
            let name = t.name.to_string();
            let label = format!("{name} ({})", t.tenant_id);
            (name, Subject::Customer(t.tenant_id), label)
        })
        .collect();
    let mut seen: BTreeSet<Subject> = subjects.iter().map(|s| s.1).collect();
    for f in r.findings {
        let key = Subject::of(f);
        if seen.insert(key) {
            subjects.push(match key {
                Subject::Customer(c) => {
                    let name = r.tenant_name(c);
                    let label = format!("{name} ({c})");
                    (name, key, label)
                }
                Subject::Partner(p) => {
                    let name = r.tenant_name(p);
                    let label = format!("partner {name} ({p})");
                    (name, key, label)
                }
                Subject::Snapshot => (String::new(), key, "whole snapshot".to_string()),
            });
        }
    }
    if let Some(shard) = shard {
        subjects.retain(|s| match s.1 {
            Subject::Customer(c) => shard.owns_tenant(c),
            Subject::Partner(_) | Subject::Snapshot => shard.index == 0,
        });
    }
    subjects.sort_by_cached_key(|a| a.1.sort_key(&a.0));
    subjects
}

impl Subject {
    /// Where its cases go in a suite: customers by name, then partners by
    /// name, then the snapshot (the id breaks ties between equal names).
    fn sort_key(self, name: &str) -> CaseKey {
        let (rank, id) = match self {
            Subject::Customer(c) => (0, Some(c)),
            Subject::Partner(p) => (1, Some(p)),
            Subject::Snapshot => (2, None),
        };
        CaseKey(rank, name.to_string(), id)
    }
}

/// A subject's place in every suite, as a shard's index records it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CaseKey(pub u8, pub String, pub Option<Guid>);

/// What a shard's junit.xml holds, for `merge`: its subjects in case order
/// and, per suite (rules by id), its counts and each case's byte length.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub subjects: Vec<CaseKey>,
    pub suites: Vec<SuiteLayout>,
    /// Test cases of the `input` suite (one per incomplete tenant), which
    /// every shard writes alike.
    pub incomplete: u64,
}

/// One suite of a shard's junit.xml.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteLayout {
    pub failures: u64,
    pub skipped: u64,
    /// The byte length of each case, one per subject.
    pub cases: Vec<u64>,
}

/// Renders junit.xml.
pub fn render(o: &Outcome<'_>) -> String {
    let mut out = Vec::new();
    // Writing into memory cannot fail, and every case renders.
    let _ = write(o, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes junit.xml.
///
/// The counts the heads carry are taken first; then the cases of every
/// suite are rendered in parallel batches and written in order as they
/// come, so that a large run is never held whole.
pub fn write(o: &Outcome<'_>, w: &mut dyn Write) -> io::Result<()> {
    write_with(o, None, w).map(drop)
}

/// Writes a shard's junit.xml: the cases of its own subjects only, with
/// counts of its own; returns their layout for its index.
pub fn write_part(o: &Outcome<'_>, shard: Shard, w: &mut dyn Write) -> io::Result<Layout> {
    write_with(o, Some(shard), w)
}

/// The head of junit.xml, with the run's counts.
pub(crate) fn testsuites_head(tests: u64, failures: u64, skipped: u64) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"partner-audit\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n"
    )
}

/// The line that opens a rule's suite (`name` already escaped).
pub(crate) fn suite_open(name: &str, tests: u64, failures: u64, skipped: u64) -> String {
    format!(
        "  <testsuite name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n"
    )
}

/// The line that closes a suite.
pub(crate) const SUITE_END: &str = "  </testsuite>\n";

fn write_with(o: &Outcome<'_>, shard: Option<Shard>, w: &mut dyn Write) -> io::Result<Layout> {
    let r = o.report;
    let subjects = subjects(o, shard);
    let order: BTreeMap<Subject, usize> =
        subjects.iter().enumerate().map(|(i, s)| (s.1, i)).collect();
    let labels: Vec<String> = subjects.iter().map(|s| xml(&s.2)).collect();
    let key = |f: &Finding| order.get(&Subject::of(f)).copied();
    let mut rules: Vec<&Rule> = o.rules.iter().filter(|x| x.enabled).collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let suites: Vec<Suite<'_>> = rules
        .into_iter()
        .map(|rule| {
            let mut cases: BTreeMap<usize, Case<'_>> = BTreeMap::new();
            for x in o.open.iter().filter(|x| *x.finding.rule == *rule.id) {
                if let Some(k) = key(x.finding) {
                    cases.entry(k).or_default().open.push(x.finding);
                }
            }
            for x in o.waived.iter().filter(|x| *x.finding.rule == *rule.id) {
                if let Some(k) = key(x.finding) {
                    cases.entry(k).or_default().waived.push(x.finding);
                }
            }
            let failures = cases.values().filter(|c| !c.open.is_empty()).count();
            let skipped = cases
                .values()
                .filter(|c| c.open.is_empty() && !c.waived.is_empty())
                .count();
            Suite {
                rule,
                classname: xml(&format!("partner-audit.{}", rule.id)),
                cases,
                failures,
                skipped,
            }
        })
        .collect();
    let incomplete = r.incomplete();
    let tests = suites.len() * subjects.len() + incomplete.len();
    let failures = suites.iter().map(|s| s.failures).sum::<usize>() + incomplete.len();
    let skipped: usize = suites.iter().map(|s| s.skipped).sum();
    w.write_all(testsuites_head(tests as u64, failures as u64, skipped as u64).as_bytes())?;
    // Every suite records the as-of date and its origin (not a clock time).
    let as_of = format!(
        "      <property name=\"as_of\" value=\"{}\"/>\n      <property name=\"as_of_origin\" value=\"{}\"/>\n",
        xml(&r.as_of.to_string()),
        xml(r.as_of_origin.as_str())
    );
    let n = subjects.len();
    let suite_head = |s: &Suite<'_>, out: &mut String| {
        out.push_str(&suite_open(
            &xml(&s.rule.id),
            n as u64,
            s.failures as u64,
            s.skipped as u64,
        ));
        let _ = write!(
            out,
            "    <properties>\n      <property name=\"severity\" value=\"{}\"/>\n      <property name=\"title\" value=\"{}\"/>\n{as_of}    </properties>\n",
            xml(s.rule.severity.as_str()),
            xml(&s.rule.title)
        );
    };
    // Each case's byte length, for a shard's index.
    let case_lengths: Vec<std::sync::atomic::AtomicU64> = (0..suites.len() * n)
        .map(|_| std::sync::atomic::AtomicU64::new(0))
        .collect();
    if n == 0 {
        for s in &suites {
            let mut out = String::new();
            suite_head(s, &mut out);
            out.push_str(SUITE_END);
            w.write_all(out.as_bytes())?;
        }
    } else {
        // Case `c` of suite `s`, for every suite and subject: the first
        // case of a suite opens it, the last closes it.
        let units: Vec<(usize, usize)> = (0..suites.len())
            .flat_map(|s| (0..n).map(move |c| (s, c)))
            .collect();
        super::write_in_order(&units, b"", w, |i, &(s, c)| {
            let (Some(suite), Some(label)) = (suites.get(s), labels.get(c)) else {
                return Err(io::Error::other("junit.xml: case out of range"));
            };
            let mut out = String::with_capacity(256);
            if c == 0 {
                suite_head(suite, &mut out);
            }
            let start = out.len();
            render_case(o, suite, label, suite.cases.get(&c), &mut out);
            if let Some(len) = case_lengths.get(i) {
                len.store(
                    (out.len() - start) as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
            if c + 1 == n {
                out.push_str(SUITE_END);
            }
            Ok(out.into_bytes())
        })?;
    }
    // One failed case per incomplete tenant: a tenant whose findings may be
    // missing never passes.
    if !incomplete.is_empty() {
        let mut body = String::new();
        for x in &incomplete {
            let _ = write!(
                body,
                "    <testcase classname=\"partner-audit.input\" name=\"{}\">\n      <failure type=\"incomplete\" message=\"{}\">{}</failure>\n    </testcase>\n",
                xml(&format!("{} ({}) complete", x.name, x.tenant_id)),
                xml(&format!("incomplete, findings may be missing: {}", x.reason)),
                xml(&x.reason)
            );
        }
        write!(
            w,
            "  <testsuite name=\"input\" tests=\"{n}\" failures=\"{n}\" errors=\"0\" skipped=\"0\">\n{body}  </testsuite>\n",
            n = incomplete.len()
        )?;
    }
    w.write_all(b"</testsuites>\n")?;
    let mut lengths = case_lengths.into_iter().map(|l| l.into_inner());
    Ok(Layout {
        subjects: subjects.iter().map(|s| s.1.sort_key(&s.0)).collect(),
        suites: suites
            .iter()
            .map(|s| SuiteLayout {
                failures: s.failures as u64,
                skipped: s.skipped as u64,
                cases: lengths.by_ref().take(n).collect(),
            })
            .collect(),
        incomplete: incomplete.len() as u64,
    })
}

/// One test case: failed with its open findings, skipped when all of them
/// are waived, passed when there are none. `label` is the escaped case name.
fn render_case(
    o: &Outcome<'_>,
    suite: &Suite<'_>,
    label: &str,
    case: Option<&Case<'_>>,
    out: &mut String,
) {
    let r = o.report;
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{label}\"",
        suite.classname
    );
    let Some(c) = case else {
        out.push_str("/>\n");
        return;
    };
    if let Some(first) = c.open.first() {
        let mut text = String::new();
        for f in &c.open {
            let _ = writeln!(text, "[{}] {} {}", f.severity, f.id, f.message);
            for p in &f.paths {
                let _ = writeln!(
                    text,
                    "  path: {}",
                    crate::engine::render_path(r.snapshot, r.graph, *p)
                );
            }
            let _ = writeln!(text, "  remediation: {}", f.remediation);
        }
        let _ = write!(
            out,
            ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
            xml(first.severity.as_str()),
            xml(&format!("{} finding(s): {}", c.open.len(), first.message)),
            xml(&text)
        );
    } else if !c.waived.is_empty() {
        let ids: Vec<&str> = c.waived.iter().map(|f| f.id.as_str()).collect();
        let _ = write!(
            out,
            ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
            xml(&format!("waived: {}", ids.join(", ")))
        );
    } else {
        out.push_str("/>\n");
    }
}
