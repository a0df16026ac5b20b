//! `junit.xml`: one test case per rule × customer for CI dashboards.
//!
//! A case fails when the rule has open findings for that customer, is
//! skipped when all of them are waived, and passes otherwise. Findings tied
//! to no customer get a case per partner (`partner NAME (ID)`), or one for
//! the whole snapshot when they name no partner either. A tenant the snapshot lists
//! as incomplete gets a failed case in the `input` suite. Every interpolated value
//! goes through [`xml`]; no times are written, so the file is reproducible.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::escape::xml;
use super::Outcome;
use crate::engine::Finding;
use crate::snapshot::{Guid, TenantKind};

struct Case<'a> {
    name: String,
    open: Vec<&'a Finding>,
    waived: Vec<&'a Finding>,
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

/// Renders junit.xml.
pub fn render(o: &Outcome<'_>) -> String {
    let r = o.report;
    // (sort name, subject, case name): customers by name, then partners by
    // name, then the snapshot.
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
    let mut seen: std::collections::BTreeSet<Subject> = subjects.iter().map(|s| s.1).collect();
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
    subjects.sort_by(|a, b| {
        let rank = |s: &Subject| match s {
            Subject::Customer(_) => 0,
            Subject::Partner(_) => 1,
            Subject::Snapshot => 2,
        };
        (rank(&a.1), &a.0, a.1).cmp(&(rank(&b.1), &b.0, b.1))
    });
    let order: BTreeMap<Subject, usize> =
        subjects.iter().enumerate().map(|(i, s)| (s.1, i)).collect();
    let mut suites = String::new();
    let (mut tests, mut failures, mut skipped) = (0usize, 0usize, 0usize);
    // Every suite records the as-of date and its origin (not a clock time).
    let as_of = format!(
        "      <property name=\"as_of\" value=\"{}\"/>\n      <property name=\"as_of_origin\" value=\"{}\"/>\n",
        xml(&r.as_of.to_string()),
        xml(r.as_of_origin.as_str())
    );
    let mut rules: Vec<_> = o.rules.iter().filter(|x| x.enabled).collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    for rule in rules {
        let mut cases: Vec<Case<'_>> = subjects
            .iter()
            .map(|(_, _, label)| Case {
                name: label.clone(),
                open: Vec::new(),
                waived: Vec::new(),
            })
            .collect();
        let key = |f: &Finding| order.get(&Subject::of(f)).copied();
        for x in o.open.iter().filter(|x| *x.finding.rule == *rule.id) {
            if let Some(c) = key(x.finding).and_then(|k| cases.get_mut(k)) {
                c.open.push(x.finding);
            }
        }
        for x in o.waived.iter().filter(|x| *x.finding.rule == *rule.id) {
            if let Some(c) = key(x.finding).and_then(|k| cases.get_mut(k)) {
                c.waived.push(x.finding);
            }
        }
        let (mut s_fail, mut s_skip) = (0, 0);
        let mut body = String::new();
        for c in &cases {
            let _ = write!(
                body,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&format!("partner-audit.{}", rule.id)),
                xml(&c.name)
            );
            if !c.open.is_empty() {
                s_fail += 1;
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
                let _ =
                    write!(
                    body,
                    ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                    xml(c.open[0].severity.as_str()),
                    xml(&format!("{} finding(s): {}", c.open.len(), c.open[0].message)),
                    xml(&text)
                );
            } else if !c.waived.is_empty() {
                s_skip += 1;
                let ids: Vec<&str> = c.waived.iter().map(|f| f.id.as_str()).collect();
                let _ = write!(
                    body,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    xml(&format!("waived: {}", ids.join(", ")))
                );
            } else {
                body.push_str("/>\n");
            }
        }
        tests += cases.len();
        failures += s_fail;
        skipped += s_skip;
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{s_fail}\" errors=\"0\" skipped=\"{s_skip}\">\n    <properties>\n      <property name=\"severity\" value=\"{}\"/>\n      <property name=\"title\" value=\"{}\"/>\n{as_of}    </properties>\n{body}  </testsuite>\n",
            xml(&rule.id),
            cases.len(),
            xml(rule.severity.as_str()),
            xml(&rule.title)
        );
    }
    // One failed case per incomplete tenant: a tenant whose findings may be
    // missing never passes.
    let incomplete = r.incomplete();
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
        tests += incomplete.len();
        failures += incomplete.len();
        let _ = write!(
            suites,
            "  <testsuite name=\"input\" tests=\"{n}\" failures=\"{n}\" errors=\"0\" skipped=\"0\">\n{body}  </testsuite>\n",
            n = incomplete.len()
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"partner-audit\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n{suites}</testsuites>\n"
    )
}

/// Writes junit.xml.
pub fn write(o: &Outcome<'_>, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(render(o).as_bytes())
}
