//! `--baseline PREVIOUS/findings.json`: which findings are new since the
//! previous run and which were resolved, matched by the stable finding `id`.
//!
//! Both findings.json layouts are read: format_version 1, where each
//! finding has its `title`, and 2, where the title is the one of its rule in
//! the `rules` table (unless the finding gives its own).
//!
//! Only the baseline's open findings (its `findings` array) count: a finding
//! that was waived then and is open now is `new` (re-opened), and a baseline
//! finding that is waived now is not `resolved` (it still exists).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::waivers::{err_at, json_error, json_error_in, offset_in};
use super::{Open, Status};
use crate::engine::rule::{is_valid_id, Severity};
use crate::engine::Finding;
use crate::json_strict::Entries;
use crate::snapshot::{Diagnostic, Guid};

/// One open finding of the baseline, as much of it as reports show.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Prior {
    pub id: String,
    pub rule: String,
    pub severity: String,
    pub title: String,
    pub message: String,
    #[serde(default)]
    pub partner_tenant_id: Option<String>,
    #[serde(default)]
    pub customer_tenant_id: Option<String>,
}

/// A loaded baseline.
#[derive(Debug)]
pub struct Baseline {
    /// The path as given.
    pub file: String,
    pub findings: Vec<Prior>,
}

/// What the baseline says about this run.
#[derive(Debug, Serialize)]
pub struct Diff {
    /// The baseline's path as given.
    pub file: String,
    pub new: usize,
    pub unchanged: usize,
    /// Baseline findings that no longer exist (neither open nor waived).
    pub resolved: Vec<Prior>,
}

/// What a baseline is, for messages.
const WHAT: &str = "a findings.json object with `format_version` and `findings`, as written by `partner-audit audit --out DIR`";

impl Baseline {
    /// Reads and validates a previous findings.json: every problem names
    /// the file, line, column and field, and the run stops.
    ///
    /// Only what the diff uses is read: `format_version` (1 or 2), the
    /// rules' titles (version 2), and per finding `id`, `rule`, `severity`,
    /// `title` (version 1), `message`, `partner_tenant_id` and
    /// `customer_tenant_id`, each checked (a known severity, a well-formed
    /// rule id, an id made of the rule id and its fingerprint, GUIDs, no
    /// id twice, no key twice in an object) before it is copied into
    /// `resolved`.
    pub fn load(path: &Path) -> Result<Baseline, Vec<Diagnostic>> {
        let file = path.display().to_string();
        let text = crate::input_file::read_to_string(path)
            .map_err(|e| vec![e.diagnostic(&file).with_field("--baseline")])?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let findings = read(&file, text)?;
        Ok(Baseline {
            file: super::shown_path(path),
            findings,
        })
    }

    /// Marks each open finding `new` or `unchanged` and lists the baseline
    /// findings that are gone from `all` (the run's findings, waived ones included).
    pub fn diff(self, all: &[Finding], open: &mut [Open<'_>]) -> Diff {
        let before: BTreeSet<&str> = self.findings.iter().map(|p| p.id.as_str()).collect();
        let (mut new, mut unchanged) = (0, 0);
        for o in open.iter_mut() {
            let s = if before.contains(o.finding.id.as_str()) {
                unchanged += 1;
                Status::Unchanged
            } else {
                new += 1;
                Status::New
            };
            o.status = Some(s);
        }
        let now: BTreeSet<&str> = all.iter().map(|f| f.id.as_str()).collect();
        let mut seen = BTreeSet::new();
        let resolved = self
            .findings
            .iter()
            .filter(|p| !now.contains(p.id.as_str()) && seen.insert(p.id.clone()))
            .cloned()
            .collect();
        Diff {
            file: self.file,
            new,
            unchanged,
            resolved,
        }
    }
}

/// The baseline's findings, validated; every problem found.
fn read(file: &str, text: &str) -> Result<Vec<Prior>, Vec<Diagnostic>> {
    let expected = |d: Diagnostic| d.with_expected(WHAT);
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        // Syntax errors first: they say more than "not an object".
        let top: &RawValue =
            serde_json::from_str(text).map_err(|e| vec![expected(syntax_error(file, &e))])?;
        let found = kind(top);
        return Err(vec![expected(err_at(
            file,
            text,
            offset_in(text, top),
            "baseline",
            format!("a baseline is an object, found {found}"),
        ))]);
    }
    // One pass over the document; the findings are kept raw and read one
    // by one. `failed_in` names the key whose value was wrong.
    let mut failed_in = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let top = TopSeed(&mut failed_in)
        .deserialize(&mut de)
        .and_then(|top| de.end().map(|()| top))
        .map_err(|e| {
            let mut d = expected(syntax_error(file, &e));
            d.field = failed_in.clone();
            vec![d]
        })?;
    let mut diags = Vec::new();
    let at_start = text.len() - trimmed.len();
    let supported = [
        super::json::v1::FORMAT_VERSION,
        super::json::v2::FORMAT_VERSION,
    ];
    let mut version = None;
    match top.format_version {
        None => diags.push(expected(err_at(
            file,
            text,
            at_start,
            "format_version",
            "invalid baseline: missing field `format_version`".into(),
        ))),
        Some(v) => match supported.iter().find(|n| v.get() == n.to_string()) {
            Some(&n) => version = Some(n),
            None => diags.push(
                err_at(
                    file,
                    text,
                    offset_in(text, v),
                    "format_version",
                    format!("unsupported baseline format_version `{}`", v.get()),
                )
                .with_expected("1 or 2"),
            ),
        },
    }
    // Version 2: the titles of the rules table. Version 1 needs none.
    let titles = match (version, top.rules) {
        (Some(2), Some(raw)) => Some(rule_titles(file, text, raw, &mut diags)),
        (Some(2), None) => {
            diags.push(expected(err_at(
                file,
                text,
                at_start,
                "rules",
                "invalid baseline: missing field `rules` (format_version 2)".into(),
            )));
            None
        }
        _ => None,
    };
    let list = top.findings.unwrap_or_else(|| {
        diags.push(expected(err_at(
            file,
            text,
            at_start,
            "findings",
            "invalid baseline: missing field `findings`".into(),
        )));
        Vec::new()
    });
    let mut findings = Vec::with_capacity(list.len());
    // Id → offset of its first finding (a line is worked out for errors only).
    let mut ids: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for v in list {
        if let Some(p) = prior(file, text, v, titles.as_ref(), &mut diags) {
            match ids.get(&p.id) {
                Some(&first) => diags.push(
                    err_at(
                        file,
                        text,
                        offset_in(text, v),
                        "id",
                        format!(
                            "duplicate finding id `{}` (first on line {})",
                            p.id,
                            super::waivers::pos(text, first).0
                        ),
                    )
                    .with_expected("each finding once"),
                ),
                None => {
                    ids.insert(p.id.clone(), offset_in(text, v));
                    findings.push(p);
                }
            }
        }
    }
    if diags.is_empty() {
        Ok(findings)
    } else {
        Err(diags)
    }
}

/// A JSON syntax error (or a key twice) in the baseline, located.
fn syntax_error(file: &str, e: &serde_json::Error) -> Diagnostic {
    let mut d = json_error(file, e, "baseline");
    d.field = None;
    d.message = d
        .message
        .replacen("invalid JSON: ", "invalid baseline: ", 1);
    d
}

/// The top level of a baseline: what the diff reads of it.
struct Top<'a> {
    format_version: Option<&'a RawValue>,
    findings: Option<Vec<&'a RawValue>>,
    rules: Option<&'a RawValue>,
}

/// Reads a [`Top`]; a key given twice is an error, and the key whose
/// value could not be read is left in `.0`.
struct TopSeed<'k>(&'k mut Option<String>);

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Top<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Top<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(WHAT)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
        let mut top = Top {
            format_version: None,
            findings: None,
            rules: None,
        };
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            *self.0 = Some(key.clone());
            match key.as_str() {
                "format_version" => top.format_version = Some(map.next_value()?),
                "findings" => top.findings = Some(map.next_value()?),
                "rules" => top.rules = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            *self.0 = None;
        }
        Ok(top)
    }
}

/// What kind of JSON value `v` is, for messages.
fn kind(v: &RawValue) -> &'static str {
    match v.get().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The `rules` table of a format_version 2 baseline: rule id → title, each
/// checked (an object of objects, each with a non-empty `title`); a rule
/// whose title is not usable maps to `None`.
fn rule_titles(
    file: &str,
    text: &str,
    raw: &RawValue,
    diags: &mut Vec<Diagnostic>,
) -> HashMap<String, Option<String>> {
    // A rule whose title is bad maps to `None`: reported once, here.
    let mut titles = HashMap::new();
    let at = offset_in(text, raw);
    let what = "an object of rules by id, each with a `title`";
    if !raw.get().starts_with('{') {
        diags.push(
            err_at(file, text, at, "rules", format!("`rules` is {}", kind(raw)))
                .with_expected(what),
        );
        return titles;
    }
    let entries: Entries<'_> = match serde_json::from_str(raw.get()) {
        Ok(e) => e,
        Err(e) => {
            let mut d = json_error_in(file, text, at, &e, "rules");
            d.message = d
                .message
                .replacen("invalid JSON: ", "invalid baseline: ", 1);
            diags.push(d);
            return titles;
        }
    };
    for (id, rule) in entries.0 {
        titles.insert(id.clone(), None);
        let field = format!("rules.{id}.title");
        let at = offset_in(text, rule);
        let title = if rule.get().starts_with('{') {
            serde_json::from_str::<Entries<'_>>(rule.get())
                .ok()
                .and_then(|e| e.get("title"))
        } else {
            None
        };
        match title.map(|t| (t, serde_json::from_str::<String>(t.get()))) {
            Some((_, Ok(t))) if !t.trim().is_empty() => {
                titles.insert(id, Some(t));
            }
            Some((t, _)) => diags.push(
                err_at(
                    file,
                    text,
                    offset_in(text, t),
                    &field,
                    format!("invalid baseline: `{field}` is not a title"),
                )
                .with_expected("a non-empty string"),
            ),
            None => diags.push(
                err_at(
                    file,
                    text,
                    at,
                    &field,
                    format!("invalid baseline: missing field `{field}`"),
                )
                .with_expected(what),
            ),
        }
    }
    titles
}

/// One baseline finding, validated; `None` (with diagnostics) when it is
/// not usable. `titles` (format_version 2) supplies a title the finding
/// does not give.
fn prior(
    file: &str,
    text: &str,
    v: &RawValue,
    titles: Option<&HashMap<String, Option<String>>>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Prior> {
    let offset = offset_in(text, v);
    if !v.get().starts_with('{') {
        diags.push(
            err_at(
                file,
                text,
                offset,
                "findings",
                format!("a finding is an object, found {}", kind(v)),
            )
            .with_expected("a finding object with `id`, `rule`, `severity`, `title`, `message`"),
        );
        return None;
    }
    let obj: Entries<'_> = match serde_json::from_str(v.get()) {
        Ok(o) => o,
        Err(e) => {
            let mut d = json_error_in(file, text, offset, &e, "findings");
            d.message = d
                .message
                .replacen("invalid JSON: ", "invalid baseline: ", 1);
            diags.push(d);
            return None;
        }
    };
    let before = diags.len();
    // A string field: required (or optional, `null` allowed), not empty.
    let mut string = |key: &str, required: bool| -> Option<(String, usize)> {
        let Some(raw) = obj.get(key) else {
            if required {
                diags.push(err_at(
                    file,
                    text,
                    offset,
                    key,
                    format!("invalid baseline: missing field `{key}`"),
                ));
            }
            return None;
        };
        let at = offset_in(text, raw);
        if !required && raw.get() == "null" {
            return None;
        }
        match serde_json::from_str::<String>(raw.get()) {
            Ok(s) if !s.trim().is_empty() => Some((s, at)),
            Ok(_) => {
                diags.push(err_at(file, text, at, key, format!("`{key}` is empty")));
                None
            }
            Err(_) => {
                diags.push(
                    err_at(file, text, at, key, format!("`{key}` is {}", kind(raw))).with_expected(
                        if required {
                            "a string"
                        } else {
                            "a string or null"
                        },
                    ),
                );
                None
            }
        }
    };
    let id = string("id", true);
    let rule = string("rule", true);
    let severity = string("severity", true);
    let title = string("title", titles.is_none());
    let message = string("message", true);
    let partner = string("partner_tenant_id", false);
    let customer = string("customer_tenant_id", false);
    if let Some((r, at)) = &rule {
        if !is_valid_id(r) {
            diags.push(
                err_at(file, text, *at, "rule", format!("invalid rule id `{r}`"))
                    .with_expected("upper-case letters then digits, e.g. `DAP001`"),
            );
        }
    }
    if let (Some((i, at)), Some((r, _))) = (&id, &rule) {
        let fingerprint = i
            .strip_prefix(r.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .filter(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if fingerprint.is_none() {
            diags.push(
                err_at(file, text, *at, "id", format!("invalid finding id `{i}`")).with_expected(
                    format!("`{r}-` and 16 hexadecimal digits, as the audit writes it"),
                ),
            );
        }
    }
    let severity = severity.and_then(|(s, at)| match Severity::parse(&s) {
        Some(x) => Some(x.as_str().to_owned()),
        None => {
            diags.push(
                err_at(
                    file,
                    text,
                    at,
                    "severity",
                    format!("invalid severity `{s}`"),
                )
                .with_expected("info, low, medium or high"),
            );
            None
        }
    });
    let mut guid = |key: &str, v: Option<(String, usize)>| -> Option<String> {
        let (s, at) = v?;
        match Guid::parse(s.trim()) {
            Some(g) => Some(g.to_string()),
            None => {
                diags.push(
                    err_at(file, text, at, key, format!("invalid tenant id `{s}`"))
                        .with_expected("a GUID, e.g. 88effb8d-f0a2-4825-be43-f4148978d143"),
                );
                None
            }
        }
    };
    let partner_tenant_id = guid("partner_tenant_id", partner);
    let customer_tenant_id = guid("customer_tenant_id", customer);
    // Version 2: the rule's title, unless the finding gives its own.
    let title = match (title, titles, &rule) {
        (Some((t, _)), _, _) => Some(t),
        (None, Some(titles), Some((r, at))) => match titles.get(r) {
            Some(t) => t.clone(),
            None => {
                diags.push(
                    err_at(
                        file,
                        text,
                        *at,
                        "rule",
                        format!("invalid baseline: rule `{r}` is not in `rules`"),
                    )
                    .with_expected("every finding's rule defined in the `rules` table"),
                );
                None
            }
        },
        _ => None,
    };
    if diags.len() > before {
        return None;
    }
    Some(Prior {
        id: id?.0,
        rule: rule?.0,
        severity: severity?,
        title: title?,
        message: message?.0,
        partner_tenant_id,
        customer_tenant_id,
    })
}
