//! `--waivers FILE`: accepted risks, each with a justification, an owner
//! and an expiry date.
//!
//! A waiver names one finding by `id`, or a `rule` narrowed by any of
//! `customer_tenant_id`, `partner_tenant_id` and `resource`. A valid waiver
//! suppresses the findings it matches from report bodies and the exit
//! status (they are still counted and listed as waived). A waiver whose
//! `expires` lies before the audit's as-of — never the wall clock — re-opens
//! its findings and is itself reported; a waiver that matches nothing is
//! reported as a warning.
//!
//! The file is TOML (`[[waiver]]` tables) or, when its name ends in
//! `.json`, JSON (an array of objects, or `{"waivers": [...]}`). Every
//! problem names the file, line, column and field.

use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::value::RawValue;
use toml_edit::{ImDocument, Item};

use super::{Open, Waived};
use crate::engine::rule::Rule;
use crate::engine::Finding;
use crate::json_strict::Entries;
use crate::snapshot::{fields::parse_timestamp, Diagnostic, Guid};

/// The keys a waiver may have.
pub const KEYS: &[&str] = &[
    "id",
    "rule",
    "customer_tenant_id",
    "partner_tenant_id",
    "resource",
    "justification",
    "owner",
    "expires",
];

/// One validated waiver.
#[derive(Clone, Debug, Serialize)]
pub struct Waiver {
    /// 1-based line of the entry in the waivers file.
    pub line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_tenant_id: Option<Guid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_tenant_id: Option<Guid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub justification: String,
    pub owner: String,
    /// As written in the file.
    pub expires: String,
    #[serde(skip)]
    pub expires_at: Timestamp,
}

impl Waiver {
    /// True when the waiver covers `f`.
    pub fn matches(&self, f: &Finding) -> bool {
        if let Some(id) = &self.id {
            return id.eq_ignore_ascii_case(&f.id);
        }
        let Some(rule) = &self.rule else {
            return false;
        };
        rule.eq_ignore_ascii_case(&f.rule)
            && self
                .customer_tenant_id
                .is_none_or(|c| f.customer_tenant_id == Some(c))
            && self
                .partner_tenant_id
                .is_none_or(|p| f.partner_tenant_id == Some(p))
            && self.resource.as_deref().is_none_or(|r| {
                f.resource.as_deref().is_some_and(|x| {
                    x.id.eq_ignore_ascii_case(r)
                        || x.scope.as_ref().is_some_and(|s| s.eq_ignore_ascii_case(r))
                })
            })
    }

    /// What the waiver covers, for reports: `DAP001-…` or `rule AZ003, customer …`.
    pub fn target(&self) -> String {
        if let Some(id) = &self.id {
            return format!("finding {id}");
        }
        let mut s = format!("rule {}", self.rule.as_deref().unwrap_or("?"));
        if let Some(c) = self.customer_tenant_id {
            s.push_str(&format!(", customer {c}"));
        }
        if let Some(p) = self.partner_tenant_id {
            s.push_str(&format!(", partner {p}"));
        }
        if let Some(r) = &self.resource {
            s.push_str(&format!(", resource {r}"));
        }
        s
    }
}

/// A loaded waivers file and, once applied, what each waiver matched.
#[derive(Debug)]
pub struct WaiverSet {
    /// The path as given.
    pub file: String,
    pub waivers: Vec<Waiver>,
    /// Per waiver: ids of the findings it matches (filled by [`WaiverSet::apply`]).
    pub matched: Vec<Vec<String>>,
    /// Per waiver: expired as of the audit (filled by [`WaiverSet::apply`]).
    pub expired: Vec<bool>,
}

impl WaiverSet {
    /// Splits `findings` into open and waived; records matches and expiry.
    pub fn apply<'a>(
        &mut self,
        findings: &'a [Finding],
        as_of: Timestamp,
    ) -> (Vec<Open<'a>>, Vec<Waived<'a>>) {
        self.expired = self.waivers.iter().map(|w| w.expires_at < as_of).collect();
        self.matched = vec![Vec::new(); self.waivers.len()];
        let mut open = Vec::new();
        let mut waived = Vec::new();
        for f in findings {
            let mut valid = None;
            let mut expired = None;
            for (i, w) in self.waivers.iter().enumerate() {
                if w.matches(f) {
                    self.matched[i].push(f.id.clone());
                    if self.expired[i] {
                        expired = expired.or(Some(i));
                    } else {
                        valid = valid.or(Some(i));
                    }
                }
            }
            match valid {
                Some(waiver) => waived.push(Waived { finding: f, waiver }),
                None => open.push(Open {
                    finding: f,
                    status: None,
                    reopened_by: expired,
                }),
            }
        }
        (open, waived)
    }

    /// Indexes of the expired waivers.
    pub fn expired_ids(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.waivers.len()).filter(|&i| self.expired.get(i).copied().unwrap_or(false))
    }

    /// Indexes of the waivers that match no finding.
    pub fn unmatched_ids(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.waivers.len()).filter(|&i| self.matched.get(i).is_none_or(Vec::is_empty))
    }

    /// Warnings for the terminal: expired waivers and waivers matching nothing.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for i in self.expired_ids() {
            let w = &self.waivers[i];
            out.push(format!(
                "warning: {}:{}: waiver for {} (owner `{}`) expired on {}: {} finding(s) re-opened",
                self.file,
                w.line,
                w.target(),
                w.owner,
                w.expires,
                self.matched[i].len()
            ));
        }
        for i in self.unmatched_ids() {
            let w = &self.waivers[i];
            out.push(format!(
                "warning: {}:{}: waiver for {} matches no finding",
                self.file,
                w.line,
                w.target()
            ));
        }
        out
    }

    /// Reads and validates a waivers file (TOML, or JSON by extension).
    pub fn load(path: &Path) -> Result<WaiverSet, Vec<Diagnostic>> {
        Self::load_for(path, None)
    }

    /// [`WaiverSet::load`], and with `rules` (the catalog) a `rule` that
    /// names no rule of it is an error, with the id it most likely means:
    /// such a waiver would otherwise waive nothing, silently.
    pub fn load_for(path: &Path, rules: Option<&[Rule]>) -> Result<WaiverSet, Vec<Diagnostic>> {
        let file = path.display().to_string();
        let text = crate::input_file::read_to_string(path)
            .map_err(|e| vec![e.diagnostic(&file).with_field("--waivers")])?;
        let text = text.trim_start_matches('\u{feff}');
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let entries = if is_json {
            json_entries(&file, text)?
        } else {
            toml_entries(&file, text)?
        };
        let mut diags = Vec::new();
        let mut waivers = Vec::new();
        // Where each line starts, found once: counting the newlines before
        // every waiver would cost time quadratic in the file's size.
        let newlines: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
        for e in &entries {
            match validate(&file, text, e, rules) {
                Ok(mut w) => {
                    let line = newlines.partition_point(|&nl| nl < e.offset) + 1;
                    w.line = u32::try_from(line).unwrap_or(u32::MAX);
                    waivers.push(w);
                }
                Err(mut d) => diags.append(&mut d),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        Ok(WaiverSet {
            file: super::shown_path(path),
            matched: vec![Vec::new(); waivers.len()],
            expired: vec![false; waivers.len()],
            waivers,
        })
    }
}

/// A value as read, before validation.
enum Raw {
    Str(String),
    Other(&'static str),
}

struct Entry {
    offset: usize,
    fields: Vec<(String, usize, Raw)>,
}

/// 1-based line and column of a byte offset.
pub(super) fn pos(text: &str, offset: usize) -> (u32, u32) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

pub(super) fn err_at(
    file: &str,
    text: &str,
    offset: usize,
    field: &str,
    message: String,
) -> Diagnostic {
    let (l, c) = pos(text, offset);
    Diagnostic::error(file, message)
        .at_line(l)
        .at_column(c)
        .with_field(field)
}

fn toml_entries(file: &str, text: &str) -> Result<Vec<Entry>, Vec<Diagnostic>> {
    let doc = ImDocument::parse(text).map_err(|e| {
        let mut d = Diagnostic::error(
            file,
            format!(
                "invalid TOML: {}",
                e.message().trim_end().trim_end_matches('.')
            ),
        )
        .with_field("waiver");
        if let Some(span) = e.span() {
            let (l, c) = pos(text, span.start);
            d = d.at_line(l).at_column(c);
        }
        vec![d]
    })?;
    let root = doc.as_table();
    let mut diags = Vec::new();
    for (k, _) in root.iter() {
        if k != "waiver" {
            let at = root.key(k).and_then(|k| k.span()).map_or(0, |s| s.start);
            diags.push(
                err_at(file, text, at, k, format!("unknown key `{k}`"))
                    .with_expected("`[[waiver]]` tables"),
            );
        }
    }
    let mut entries = Vec::new();
    match root.get("waiver") {
        None => {}
        Some(Item::ArrayOfTables(a)) => {
            for t in a.iter() {
                let offset = t.span().map_or(0, |s| s.start);
                let mut fields = Vec::new();
                for (k, item) in t.iter() {
                    let at = t.key(k).and_then(|k| k.span()).map_or(offset, |s| s.start);
                    let raw = match item.as_str() {
                        Some(s) => Raw::Str(s.to_string()),
                        None => Raw::Other(item.type_name()),
                    };
                    fields.push((k.to_string(), at, raw));
                }
                entries.push(Entry { offset, fields });
            }
        }
        Some(other) => {
            let at = root
                .key("waiver")
                .and_then(|k| k.span())
                .map_or(0, |s| s.start);
            diags.push(
                err_at(
                    file,
                    text,
                    at,
                    "waiver",
                    format!("`waiver` is {}", other.type_name()),
                )
                .with_expected("an array of tables: `[[waiver]]`"),
            );
        }
    }
    if diags.is_empty() {
        Ok(entries)
    } else {
        Err(diags)
    }
}

pub(super) fn json_error(file: &str, e: &serde_json::Error, field: &str) -> Diagnostic {
    let message = e.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m);
    let mut d = Diagnostic::error(file, format!("invalid JSON: {message}")).with_field(field);
    if e.line() > 0 {
        d = d
            .at_line(u32::try_from(e.line()).unwrap_or(u32::MAX))
            .at_column(u32::try_from(e.column()).unwrap_or(u32::MAX));
    }
    d
}

/// [`json_error`] for an error in the value starting at byte `offset` of
/// `text`: its line and column are made relative to the whole file.
pub(super) fn json_error_in(
    file: &str,
    text: &str,
    offset: usize,
    e: &serde_json::Error,
    field: &str,
) -> Diagnostic {
    let mut d = json_error(file, e, field);
    let (line, column) = pos(text, offset);
    if let (Some(l), Some(c)) = (d.line, d.column) {
        d.column = Some(if l == 1 { c + column - 1 } else { c });
        d.line = Some(l + line - 1);
    }
    d
}

pub(super) fn offset_in(text: &str, raw: &RawValue) -> usize {
    (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

fn json_entries(file: &str, text: &str) -> Result<Vec<Entry>, Vec<Diagnostic>> {
    let list: Vec<&RawValue> = if text.trim_start().starts_with('{') {
        let top: Entries<'_> =
            serde_json::from_str(text).map_err(|e| vec![json_error(file, &e, "waivers")])?;
        let mut diags = Vec::new();
        for (k, v) in &top.0 {
            if k != "waivers" {
                diags.push(
                    err_at(
                        file,
                        text,
                        offset_in(text, v),
                        k,
                        format!("unknown key `{k}`"),
                    )
                    .with_expected("`waivers`"),
                );
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        match top.get("waivers") {
            None => Vec::new(),
            Some(v) => serde_json::from_str(v.get()).map_err(|_| {
                vec![err_at(
                    file,
                    text,
                    offset_in(text, v),
                    "waivers",
                    "`waivers` must be an array of objects".into(),
                )]
            })?,
        }
    } else {
        serde_json::from_str(text).map_err(|e| vec![json_error(file, &e, "waivers")])?
    };
    let mut entries = Vec::new();
    let mut diags = Vec::new();
    for v in list {
        let offset = offset_in(text, v);
        if !v.get().starts_with('{') {
            diags.push(err_at(
                file,
                text,
                offset,
                "waivers",
                "a waiver must be an object".into(),
            ));
            continue;
        }
        // A key given twice (an `expires` overridden) is an error.
        let obj: Entries<'_> = match serde_json::from_str(v.get()) {
            Ok(o) => o,
            Err(e) => {
                diags.push(json_error_in(file, text, offset, &e, "waivers"));
                continue;
            }
        };
        let mut fields = Vec::new();
        for (k, raw) in obj.0 {
            let at = offset_in(text, raw);
            let value = match serde_json::from_str::<String>(raw.get()) {
                Ok(s) => Raw::Str(s),
                Err(_) => Raw::Other(match raw.get().as_bytes().first() {
                    Some(b'{') => "an object",
                    Some(b'[') => "an array",
                    Some(b't' | b'f') => "a boolean",
                    Some(b'n') => "null",
                    _ => "a number",
                }),
            };
            fields.push((k, at, value));
        }
        entries.push(Entry { offset, fields });
    }
    if diags.is_empty() {
        Ok(entries)
    } else {
        Err(diags)
    }
}

fn did_you_mean(name: &str) -> Option<String> {
    KEYS.iter()
        .map(|o| (strsim::jaro_winkler(name, o), *o))
        .filter(|(s, _)| *s > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| format!("did you mean `{o}`?"))
}

fn validate(
    file: &str,
    text: &str,
    e: &Entry,
    rules: Option<&[Rule]>,
) -> Result<Waiver, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut get = |key: &str| -> Option<(String, usize)> {
        let (_, at, raw) = e.fields.iter().find(|(k, _, _)| k == key)?;
        match raw {
            Raw::Str(s) => Some((s.trim().to_string(), *at)),
            Raw::Other(t) => {
                diags.push(
                    err_at(file, text, *at, key, format!("`{key}` is {t}"))
                        .with_expected("a string"),
                );
                None
            }
        }
    };
    let id = get("id");
    let rule = get("rule");
    let customer = get("customer_tenant_id");
    let partner = get("partner_tenant_id");
    let resource = get("resource");
    let justification = get("justification");
    let owner = get("owner");
    let expires = get("expires");
    for (k, at, _) in &e.fields {
        if !KEYS.contains(&k.as_str()) {
            let mut d = err_at(file, text, *at, k, format!("unknown key `{k}`"))
                .with_expected(KEYS.join(", "));
            if let Some(h) = did_you_mean(k) {
                d = d.with_help(h);
            }
            diags.push(d);
        }
    }
    let scoped = customer.is_some() || partner.is_some() || resource.is_some();
    match (&id, &rule) {
        (None, None) => diags.push(err_at(
            file,
            text,
            e.offset,
            "id",
            "a waiver needs `id` (one finding) or `rule` (optionally narrowed by customer_tenant_id, partner_tenant_id, resource)".into(),
        )),
        (Some((_, at)), Some(_)) => diags.push(err_at(
            file,
            text,
            *at,
            "id",
            "give either `id` or `rule`, not both".into(),
        )),
        (Some((_, at)), None) if scoped => diags.push(err_at(
            file,
            text,
            *at,
            "id",
            "an `id` waiver names one finding: drop `customer_tenant_id`, `partner_tenant_id` and `resource`, or use `rule`".into(),
        )),
        _ => {}
    }
    for (name, v) in [("id", &id), ("rule", &rule), ("resource", &resource)] {
        if let Some((s, at)) = v {
            if s.is_empty() {
                diags.push(err_at(file, text, *at, name, format!("`{name}` is empty")));
            }
        }
    }
    if let (Some((r, at)), Some(rules)) = (&rule, rules) {
        if !r.is_empty() && !rules.iter().any(|x| x.id.eq_ignore_ascii_case(r)) {
            let mut d = err_at(file, text, *at, "rule", format!("unknown rule `{r}`"));
            if let Some(c) = crate::engine::config::closest_rule_id(r, rules, false) {
                d = d.with_help(format!("did you mean `{c}`?"));
            }
            diags.push(d);
        }
    }
    let mut guid = |name: &str, v: &Option<(String, usize)>| -> Option<Guid> {
        let (s, at) = v.as_ref()?;
        let g = Guid::parse(s);
        if g.is_none() {
            diags.push(
                err_at(file, text, *at, name, format!("invalid tenant id `{s}`"))
                    .with_expected("a GUID, e.g. 88effb8d-f0a2-4825-be43-f4148978d143"),
            );
        }
        g
    };
    let customer_tenant_id = guid("customer_tenant_id", &customer);
    let partner_tenant_id = guid("partner_tenant_id", &partner);
    let mut required = |name: &str, v: &Option<(String, usize)>| -> String {
        match v {
            Some((s, _)) if !s.is_empty() => s.clone(),
            Some((_, at)) => {
                diags.push(err_at(file, text, *at, name, format!("`{name}` is empty")));
                String::new()
            }
            // Present with the wrong type: already reported by `get`.
            None if e.fields.iter().any(|(k, _, _)| k == name) => String::new(),
            None => {
                diags.push(err_at(
                    file,
                    text,
                    e.offset,
                    name,
                    format!("missing `{name}`"),
                ));
                String::new()
            }
        }
    };
    let justification = required("justification", &justification);
    let owner = required("owner", &owner);
    let expires_text = required("expires", &expires);
    let expires_at = if expires_text.is_empty() {
        None
    } else {
        let t = parse_timestamp(&expires_text);
        if t.is_none() {
            let at = expires.as_ref().map_or(e.offset, |x| x.1);
            diags.push(
                err_at(
                    file,
                    text,
                    at,
                    "expires",
                    format!("invalid date `{expires_text}`"),
                )
                .with_expected("an ISO 8601 date or date-time, e.g. 2027-03-31"),
            );
        }
        t
    };
    match expires_at {
        Some(expires_at) if diags.is_empty() => Ok(Waiver {
            // Set by the caller, from the line starts it finds once.
            line: 0,
            id: id.map(|x| x.0),
            rule: rule.map(|x| x.0),
            customer_tenant_id,
            partner_tenant_id,
            resource: resource.map(|x| x.0),
            justification,
            owner,
            expires: expires_text,
            expires_at,
        }),
        _ => Err(diags),
    }
}
