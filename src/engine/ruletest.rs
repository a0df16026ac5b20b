//! `partner-audit rules test`: runs each rule's `[[test]]` fixtures and
//! compares the findings with the expected ones.
//!
//! A finding is compared on its key fields — partner, customer, resource id,
//! role and principals — as a set, so expectations survive changes of
//! wording. The same mechanism tests the built-in catalog (`cargo test`) and
//! a user's own rules directory, without recompiling.
//!
//! The built-in catalog's fixtures are embedded in the binary (`build.rs`),
//! so `partner-audit rules test` checks it from any folder; a directory of
//! the user's rules is read from disk, each path relative to its rule file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::rule::{Expect, Rule, RuleTest};
use super::{run, Finding, Overrides, RunOptions};
use crate::graph::{AccessGraph, AutopilotPolicy};
use crate::snapshot;

/// The fields a rule test compares.
pub fn finding_key(f: &Finding) -> Value {
    json!({
        "partner_tenant_id": f.partner_tenant_id.map(|g| g.to_string()),
        "customer_tenant_id": f.customer_tenant_id.map(|g| g.to_string()),
        "resource_id": f.resource.as_deref().map(|r| r.id.clone()),
        "role": f.role,
        "principals": f.principals.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// The result of one rule test.
#[derive(Debug)]
pub struct Outcome {
    pub rule: String,
    pub name: String,
    /// `file:line` of the `[[test]]` table.
    pub location: String,
    pub passed: bool,
    /// Why it failed: a readable difference, or the error that stopped it.
    pub detail: String,
}

/// The built-in catalog's fixtures, by path from the crate root
/// (`fixtures/rules/DAP001/fires.json`).
const BUILTIN_FIXTURES: &[(&str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/builtin_fixtures.rs"));

/// Where a rule's test files are read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixtures {
    /// From disk, relative to the rule file.
    Disk,
    /// From the copies built into the binary (built-in rules only).
    Builtin,
}

fn resolve(rule: &Rule, rel: &str) -> PathBuf {
    let base = Path::new(&rule.source).parent().unwrap_or(Path::new("."));
    base.join(rel)
}

/// `path` without `.` and `name/..` steps, with `/` separators: how a
/// built-in rule's relative fixture path names an embedded file.
fn lexical(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if parts.last().is_some_and(|p| p.as_str() != "..") => {
                parts.pop();
            }
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    parts.join("/")
}

/// The text of a test file (a snapshot or expected findings) of `rule`.
fn read_fixture(rule: &Rule, rel: &str, from: Fixtures) -> Result<(String, String), String> {
    let path = resolve(rule, rel);
    match from {
        Fixtures::Disk => crate::input_file::read_to_string(&path)
            .map(|text| (path.display().to_string(), text))
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
        Fixtures::Builtin => {
            let name = lexical(&path);
            BUILTIN_FIXTURES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, text)| ((*n).to_string(), (*text).to_string()))
                .ok_or_else(|| format!("`{name}` is not among the fixtures built into the binary"))
        }
    }
}

fn normalise(v: &Value) -> Value {
    // Expected files may list principals in any order or case.
    let mut v = v.clone();
    if let Some(obj) = v.as_object_mut() {
        for (_, x) in obj.iter_mut() {
            if let Some(s) = x.as_str() {
                *x = Value::String(s.to_string());
            }
        }
        if let Some(Value::Array(p)) = obj.get_mut("principals") {
            let mut ids: Vec<String> = p
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect();
            ids.sort();
            *p = ids.into_iter().map(Value::String).collect();
        }
        for key in ["partner_tenant_id", "customer_tenant_id"] {
            if let Some(Value::String(s)) = obj.get_mut(key) {
                *s = s.to_ascii_lowercase();
            }
        }
    }
    v
}

fn run_one(rule: &Rule, t: &RuleTest, from: Fixtures) -> Result<(Vec<Value>, Vec<Value>), String> {
    let (shown, loaded) = match from {
        Fixtures::Disk => {
            let path = resolve(rule, &t.snapshot);
            (path.display().to_string(), snapshot::load(&path))
        }
        Fixtures::Builtin => {
            let (name, text) = read_fixture(rule, &t.snapshot, from)?;
            let loaded = snapshot::load::load_json_text(&text, &name);
            (name, loaded)
        }
    };
    if loaded.has_errors() {
        let mut s = format!("snapshot {shown} does not load:");
        for d in loaded.errors() {
            let _ = write!(s, "\n    {d}");
        }
        return Err(s);
    }
    let as_of = loaded
        .snapshot
        .manifest
        .captured_at
        .ok_or_else(|| format!("snapshot {shown} has no manifest captured_at"))?;
    let policy = match t.policy.as_deref() {
        Some("strict") => AutopilotPolicy::Strict,
        _ => AutopilotPolicy::Legacy,
    };
    let graph = AccessGraph::build_with(&loaded.snapshot, policy);
    let mut only = rule.clone();
    only.enabled = true;
    let mut overrides: Overrides = BTreeMap::new();
    if !t.set.is_empty() {
        overrides.insert(rule.id.clone(), t.set.clone());
    }
    let findings = run(
        std::slice::from_ref(&only),
        &loaded.snapshot,
        &graph,
        &RunOptions {
            as_of,
            overrides,
            policy,
            only: None,
        },
    );
    let expected = match &t.expect {
        Expect::Inline(v) => v.clone(),
        Expect::File(f) => {
            let (name, text) = read_fixture(rule, f, from)?;
            serde_json::from_str::<Vec<Value>>(&text)
                .map_err(|e| format!("{name}: invalid expected findings: {e}"))?
        }
    };
    let mut want: Vec<Value> = expected.iter().map(normalise).collect();
    let mut got: Vec<Value> = findings.iter().map(finding_key).collect();
    want.sort_by_key(Value::to_string);
    got.sort_by_key(Value::to_string);
    Ok((want, got))
}

fn diff(want: &[Value], got: &[Value]) -> String {
    let mut s = String::new();
    let mut rest: Vec<&Value> = got.iter().collect();
    let mut missing = Vec::new();
    for w in want {
        if let Some(i) = rest.iter().position(|g| *g == w) {
            rest.remove(i);
        } else {
            missing.push(w);
        }
    }
    let _ = writeln!(
        s,
        "    expected {} finding(s), got {}",
        want.len(),
        got.len()
    );
    for m in missing {
        let _ = writeln!(s, "    - expected, missing:  {m}");
    }
    for u in rest {
        let _ = writeln!(s, "    + unexpected finding: {u}");
    }
    s
}

/// Runs every test of every rule, in catalog order, reading fixtures from disk.
pub fn run_tests(rules: &[Rule]) -> Vec<Outcome> {
    run_tests_from(rules, &|_| Fixtures::Disk)
}

/// [`run_tests`], reading each rule's fixtures from where `from` says.
pub fn run_tests_from(rules: &[Rule], from: &dyn Fn(&Rule) -> Fixtures) -> Vec<Outcome> {
    let mut out = Vec::new();
    for rule in rules {
        let from = from(rule);
        for (i, t) in rule.tests.iter().enumerate() {
            let name = t.name.clone().unwrap_or_else(|| format!("test {}", i + 1));
            let location = format!("{}:{}", rule.source, t.line);
            let (passed, detail) = match run_one(rule, t, from) {
                Ok((want, got)) if want == got => (true, String::new()),
                Ok((want, got)) => (false, diff(&want, &got)),
                Err(e) => (false, format!("    {e}\n")),
            };
            out.push(Outcome {
                rule: rule.id.clone(),
                name,
                location,
                passed,
                detail,
            });
        }
    }
    out
}

/// The text report of a test run, ending with `N passed, M failed`.
pub fn render(rules: &[Rule], outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    for o in outcomes {
        let _ = writeln!(
            s,
            "{} {} {} ({})",
            if o.passed { "PASS" } else { "FAIL" },
            o.rule,
            o.name,
            o.location
        );
        s.push_str(&o.detail);
    }
    for r in rules.iter().filter(|r| r.tests.is_empty()) {
        let _ = writeln!(s, "NONE {} has no [[test]] fixtures ({})", r.id, r.source);
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let _ = writeln!(s, "{} passed, {failed} failed", outcomes.len() - failed);
    s
}
