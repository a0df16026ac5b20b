//! Rule files: one TOML file per rule, validated once at load.
//!
//! A rule names a fact table (`from`), filters its rows with a typed
//! expression (`where`), groups matching rows into findings (`per`) and
//! words each finding with templates (`message`, `evidence`). Validation
//! reports every problem of every file at once, each with `file:line:column`
//! and the offending field, with a did-you-mean for misspelt names.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use toml_edit::{ImDocument, Item, Value as TomlValue};

use super::expr::{self, Expr, Ty};
use super::facts::{schemas, FieldDef};
use crate::snapshot::roles::{RoleId, RoleTable};
use crate::snapshot::{Diagnostic, Level};

/// True for a well-formed rule id: upper-case letters and digits, at
/// least one digit (`DAP001`, `CUST001`).
pub fn is_valid_id(id: &str) -> bool {
    id.chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && id.chars().any(|c| c.is_ascii_digit())
}

/// Finding severity, ordered from least to most severe.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 4] = [
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];
    /// Parses `info`, `low`, `medium`, `high` (any case).
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
    }
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parameter value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Str(String),
    Bool(bool),
}

/// A declared rule parameter.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub ty: Ty,
    pub value: ParamValue,
    pub doc: String,
}

/// A piece of a message template.
#[derive(Clone, Debug)]
pub enum Piece {
    Text(String),
    Field(usize),
    Param(usize),
    /// Number of fact rows grouped into the finding.
    Rows,
    /// Number of distinct enabled users in the finding.
    Principals,
}

/// A compiled `{placeholder}` template.
#[derive(Clone, Debug)]
pub struct Template(pub Vec<Piece>);

/// A part of a Markdown template (`remediation`). Snapshot values are
/// hostile, so a placeholder never lands in Markdown text: it becomes a
/// code span, whose fence is chosen when the value is known so that no
/// backtick in it can close the span.
#[derive(Clone, Debug)]
pub enum MdPart {
    /// Markdown written by the rule author, copied as is.
    Text(String),
    /// A placeholder outside the template's code spans: a code span of its own.
    Value(Piece),
    /// A code span of the template that holds placeholders (a command, say):
    /// its text and values, fenced again when rendered. Values in it are
    /// quoted for a POSIX shell when they need it.
    Code(Vec<Piece>),
}

/// A compiled Markdown template; see [`MdPart`].
#[derive(Clone, Debug)]
pub struct MdTemplate(pub Vec<MdPart>);

impl MdTemplate {
    /// Splits `t` at the code spans of its text (CommonMark: a run of
    /// backticks opens a span closed by the next run of the same length).
    fn of(t: Template) -> MdTemplate {
        // The template as characters, each placeholder a single `None`.
        let mut items: Vec<Option<char>> = Vec::new();
        let mut holes: Vec<Piece> = Vec::new();
        for p in t.0 {
            match p {
                Piece::Text(s) => items.extend(s.chars().map(Some)),
                other => {
                    items.push(None);
                    holes.push(other);
                }
            }
        }
        let mut holes = holes.into_iter();
        let run_at = |i: usize| items[i..].iter().take_while(|c| **c == Some('`')).count();
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        while i < items.len() {
            match items[i] {
                None => {
                    if !text.is_empty() {
                        parts.push(MdPart::Text(std::mem::take(&mut text)));
                    }
                    parts.extend(holes.next().map(MdPart::Value));
                    i += 1;
                }
                Some('`') => {
                    let n = run_at(i);
                    // The closing run: the next run of exactly n backticks.
                    let mut j = i + n;
                    let close = loop {
                        if j >= items.len() {
                            break None;
                        }
                        if items[j] == Some('`') {
                            let m = run_at(j);
                            if m == n {
                                break Some(j);
                            }
                            j += m;
                        } else {
                            j += 1;
                        }
                    };
                    let inner = &items[i + n..close.unwrap_or(i + n)];
                    match close {
                        Some(end) if inner.contains(&None) => {
                            if !text.is_empty() {
                                parts.push(MdPart::Text(std::mem::take(&mut text)));
                            }
                            let mut code = Vec::new();
                            let mut lit = String::new();
                            for c in inner {
                                match c {
                                    Some(c) => lit.push(*c),
                                    None => {
                                        if !lit.is_empty() {
                                            code.push(Piece::Text(std::mem::take(&mut lit)));
                                        }
                                        code.extend(holes.next());
                                    }
                                }
                            }
                            if !lit.is_empty() {
                                code.push(Piece::Text(lit));
                            }
                            parts.push(MdPart::Code(code));
                            i = end + n;
                        }
                        Some(end) => {
                            text.extend(items[i..end + n].iter().flatten());
                            i = end + n;
                        }
                        None => {
                            text.extend(std::iter::repeat_n('`', n));
                            i += n;
                        }
                    }
                }
                Some(c) => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        if !text.is_empty() {
            parts.push(MdPart::Text(text));
        }
        MdTemplate(parts)
    }
}

/// A validated rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    /// Shared with every finding of the rule.
    pub title: Arc<str>,
    pub severity: Severity,
    pub enabled: bool,
    /// What it detects.
    pub summary: String,
    /// Why it matters, citing the numbered facts of `docs/facts.md`.
    pub rationale: String,
    /// The remediation as written (Markdown; placeholders shown as
    /// `{name}`). Shared with every finding of the rule when it has no
    /// placeholders.
    pub remediation: Arc<str>,
    /// The remediation compiled, when it has placeholders: each finding
    /// gets it filled with its own values.
    pub remediation_template: Option<MdTemplate>,
    pub example: String,
    pub references: Vec<String>,
    pub params: Vec<Param>,
    /// Fact table name.
    pub from: &'static str,
    pub fields: &'static [FieldDef],
    pub where_src: String,
    pub filter: Expr,
    /// Field indexes that identify one finding.
    pub per: Vec<usize>,
    pub message: Template,
    pub evidence: Option<Template>,
    /// When set, only grants of these (built-in) roles name the finding's
    /// principals, paths and grant evidence (`query.principal_roles`).
    pub principal_roles: Option<Vec<RoleId>>,
    /// Where the rule came from (`rules/DAP001.toml` or a user path).
    pub source: String,
    /// Fixture tests (`[[test]]`), run by `partner-audit rules test`.
    pub tests: Vec<RuleTest>,
}

/// What a rule test expects.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// A JSON file (relative to the rule file) holding the expected findings.
    File(String),
    /// Expected findings written inline (`expect = []` for "does not fire").
    Inline(Vec<serde_json::Value>),
}

/// One `[[test]]` of a rule: a snapshot and the findings the rule must produce on it.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleTest {
    /// Optional name shown in reports (defaults to the snapshot's file name).
    pub name: Option<String>,
    /// Snapshot path, relative to the rule file.
    pub snapshot: String,
    pub expect: Expect,
    /// Autopilot policy for this test (`legacy` default, or `strict`).
    pub policy: Option<String>,
    /// Parameter values for this test.
    pub set: BTreeMap<String, ParamValue>,
    /// 1-based line of the `[[test]]` table in the rule file.
    pub line: u32,
}

const TOP_KEYS: &[&str] = &[
    "id",
    "title",
    "severity",
    "enabled",
    "summary",
    "rationale",
    "remediation",
    "example",
    "references",
    "parameters",
    "query",
    "test",
];
const TEST_KEYS: &[&str] = &["name", "snapshot", "expect", "policy", "set"];
const QUERY_KEYS: &[&str] = &[
    "from",
    "where",
    "per",
    "message",
    "evidence",
    "principal_roles",
];
const REQUIRED_DOCS: &[&str] = &["title", "summary", "rationale", "remediation", "example"];

struct Ctx<'a> {
    file: &'a str,
    src: &'a str,
    diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn pos(&self, offset: usize) -> (u32, u32) {
        let before = &self.src[..offset.min(self.src.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        )
    }
    fn err(&mut self, offset: Option<usize>, field: &str, message: String, help: Option<String>) {
        let (line, column) = offset.map_or((None, None), |o| {
            let (l, c) = self.pos(o);
            (Some(l), Some(c))
        });
        self.diags.push(Diagnostic {
            level: Level::Error,
            file: self.file.to_string(),
            line,
            column,
            field: Some(field.to_string()),
            message,
            expected: None,
            help,
        });
    }
}

fn did_you_mean(name: &str, options: &[&str]) -> Option<String> {
    options
        .iter()
        .map(|o| (strsim::jaro_winkler(name, o), *o))
        .filter(|(s, _)| *s > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| format!("did you mean `{o}`?"))
}

fn span_of(item: &Item) -> Option<usize> {
    match item {
        Item::Value(v) => v.span().map(|s| s.start),
        Item::Table(t) => t.span().map(|s| s.start),
        Item::ArrayOfTables(a) => a.span().map(|s| s.start),
        Item::None => None,
    }
}

/// Where the text of a string value starts (past its opening quotes).
fn string_start(src: &str, item: &Item) -> Option<usize> {
    let start = span_of(item)?;
    let rest = &src[start..];
    Some(
        start
            + if rest.starts_with("'''") || rest.starts_with("\"\"\"") {
                3 + usize::from(rest[3..].starts_with('\n'))
            } else {
                1
            },
    )
}

/// Joins hard-wrapped lines into paragraphs (a blank line separates
/// paragraphs; a line starting with `-` or `*` starts a list item).
pub fn reflow(text: &str) -> String {
    let mut out = String::new();
    for line in text.trim().lines().map(str::trim) {
        if line.is_empty() {
            out.push_str("\n\n");
        } else if out.is_empty() || out.ends_with('\n') {
            out.push_str(line);
        } else if line.starts_with("- ")
            || line.starts_with("* ")
            || line.starts_with(|c: char| c.is_ascii_digit()) && line.contains(". ")
        {
            out.push('\n');
            out.push_str(line);
        } else {
            out.push(' ');
            out.push_str(line);
        }
    }
    out
}

/// Reports every key of `table` not in `known`, with a did-you-mean.
fn unknown_keys(cx: &mut Ctx<'_>, table: &toml_edit::Table, known: &[&str], prefix: &str) {
    for (k, item) in table.iter() {
        if !known.contains(&k) {
            let at = table
                .key(k)
                .and_then(|k| k.span())
                .map(|s| s.start)
                .or_else(|| span_of(item));
            cx.err(
                at,
                k,
                format!("unknown field `{prefix}{k}`"),
                did_you_mean(k, known),
            );
        }
    }
}

struct RuleScope<'a> {
    fields: &'a [FieldDef],
    params: &'a [Param],
}

impl expr::Scope for RuleScope<'_> {
    fn field(&self, name: &str) -> Option<(usize, Ty)> {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .map(|i| (i, self.fields[i].ty))
    }
    fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name).collect()
    }
    fn param(&self, name: &str) -> Option<(usize, Ty)> {
        self.params
            .iter()
            .position(|p| p.name == name)
            .map(|i| (i, self.params[i].ty))
    }
    fn param_names(&self) -> Vec<&str> {
        self.params.iter().map(|p| p.name.as_str()).collect()
    }
}

fn compile_template(
    cx: &mut Ctx<'_>,
    key: &str,
    text: &str,
    base: Option<usize>,
    scope: &RuleScope<'_>,
) -> Option<Template> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = text.char_indices().peekable();
    let mut ok = true;
    while let Some((i, ch)) = chars.next() {
        match ch {
            '{' if chars.peek().map(|x| x.1) == Some('{') => {
                chars.next();
                lit.push('{');
            }
            '}' if chars.peek().map(|x| x.1) == Some('}') => {
                chars.next();
                lit.push('}');
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                let at = base.map(|b| b + i);
                if !closed {
                    cx.err(
                        at,
                        key,
                        "unclosed `{` in template".into(),
                        Some("write `{{` for a literal brace".into()),
                    );
                    ok = false;
                    continue;
                }
                if !lit.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut lit)));
                }
                let name = name.trim();
                let piece = if name == "n_rows" {
                    Some(Piece::Rows)
                } else if name == "n_principals" {
                    Some(Piece::Principals)
                } else if let Some(p) = name.strip_prefix("params.") {
                    expr::Scope::param(scope, p).map(|(i, _)| Piece::Param(i))
                } else {
                    expr::Scope::field(scope, name).map(|(i, _)| Piece::Field(i))
                };
                if let Some(p) = piece {
                    pieces.push(p);
                } else {
                    let mut names = expr::Scope::field_names(scope);
                    names.extend(["n_rows", "n_principals"]);
                    cx.err(
                        at,
                        key,
                        format!("unknown placeholder `{{{name}}}`"),
                        did_you_mean(name, &names),
                    );
                    ok = false;
                }
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Text(lit));
    }
    ok.then_some(Template(pieces))
}

/// Parses and validates one rule file. `file` is the path shown in messages.
pub fn parse_rule(file: &str, src: &str) -> Result<Rule, Vec<Diagnostic>> {
    let mut cx = Ctx {
        file,
        src,
        diags: Vec::new(),
    };
    let doc = match ImDocument::parse(src) {
        Ok(d) => d,
        Err(e) => {
            let at = e.span().map(|s| s.start);
            let msg = e.message().trim().trim_end_matches('.').to_string();
            cx.err(at, "toml", format!("invalid TOML: {msg}"), None);
            return Err(cx.diags);
        }
    };
    let root = doc.as_table();
    unknown_keys(&mut cx, root, TOP_KEYS, "");
    let get_str = |cx: &mut Ctx<'_>,
                   table: &toml_edit::Table,
                   key: &str,
                   required: bool|
     -> Option<(String, Option<usize>)> {
        match table.get(key) {
            Some(item) => match item.as_str() {
                Some(s) if !required || !s.trim().is_empty() => {
                    Some((s.to_string(), string_start(cx.src, item)))
                }
                Some(_) => {
                    cx.err(
                        span_of(item),
                        key,
                        format!("`{key}` must not be empty"),
                        None,
                    );
                    None
                }
                None => {
                    cx.err(
                        span_of(item),
                        key,
                        format!("`{key}` must be a string"),
                        None,
                    );
                    None
                }
            },
            None => {
                if required {
                    cx.err(None, key, format!("missing required field `{key}`"), None);
                }
                None
            }
        }
    };

    let id = get_str(&mut cx, root, "id", true).map(|x| x.0);
    if let Some(id) = &id {
        if !is_valid_id(id) {
            cx.err(
                span_of(&root["id"]),
                "id",
                format!("invalid rule id `{id}`"),
                Some("use upper-case letters then digits, e.g. `CUST001`".into()),
            );
        }
    }
    let mut docs = BTreeMap::new();
    // The remediation as written, with where it starts: its placeholders
    // are checked once the fact table is known.
    let mut remediation_src = None;
    for key in REQUIRED_DOCS {
        let found = get_str(&mut cx, root, key, true);
        if *key == "remediation" {
            remediation_src.clone_from(&found);
        }
        docs.insert(*key, reflow(&found.map(|x| x.0).unwrap_or_default()));
    }
    let severity = get_str(&mut cx, root, "severity", true).and_then(|(s, _)| {
        let sev = Severity::parse(&s);
        if sev.is_none() {
            cx.err(
                span_of(&root["severity"]),
                "severity",
                format!("invalid severity `{s}`"),
                Some("one of high, medium, low, info".into()),
            );
        }
        sev
    });
    let enabled = match root.get("enabled") {
        None => true,
        Some(item) => item.as_bool().unwrap_or_else(|| {
            cx.err(
                span_of(item),
                "enabled",
                "`enabled` must be true or false".into(),
                None,
            );
            true
        }),
    };
    let mut references = Vec::new();
    if let Some(item) = root.get("references") {
        match item.as_array() {
            Some(a) => {
                references.extend(a.iter().filter_map(TomlValue::as_str).map(str::to_string))
            }
            None => cx.err(
                span_of(item),
                "references",
                "`references` must be an array of strings".into(),
                None,
            ),
        }
    }

    // Parameters: `name = default` or `name = { default = …, doc = "…" }`.
    let mut params = Vec::new();
    if let Some(item) = root.get("parameters") {
        match item.as_table_like() {
            Some(t) => {
                for (name, v) in t.iter() {
                    let (val, doc) = match v.as_table_like() {
                        Some(inner) => (
                            inner.get("default").and_then(Item::as_value).cloned(),
                            inner
                                .get("doc")
                                .and_then(Item::as_str)
                                .unwrap_or_default()
                                .to_string(),
                        ),
                        None => (v.as_value().cloned(), String::new()),
                    };
                    let pv = match val {
                        Some(TomlValue::Integer(i)) => Some((Ty::Int, ParamValue::Int(*i.value()))),
                        Some(TomlValue::String(s)) => {
                            Some((Ty::Str, ParamValue::Str(s.value().clone())))
                        }
                        Some(TomlValue::Boolean(b)) => {
                            Some((Ty::Bool, ParamValue::Bool(*b.value())))
                        }
                        _ => None,
                    };
                    match pv {
                        Some((ty, value)) => params.push(Param {
                            name: name.to_string(),
                            ty,
                            value,
                            doc,
                        }),
                        None => cx.err(
                            span_of(v),
                            name,
                            format!(
                                "parameter `{name}` needs an integer, string or boolean default"
                            ),
                            None,
                        ),
                    }
                }
            }
            None => cx.err(
                span_of(item),
                "parameters",
                "`parameters` must be a table".into(),
                None,
            ),
        }
    }

    // Query.
    let Some(query) = root.get("query").and_then(Item::as_table) else {
        cx.err(
            None,
            "query",
            "missing required table `[query]`".into(),
            None,
        );
        return Err(cx.diags);
    };
    unknown_keys(&mut cx, query, QUERY_KEYS, "query.");
    let all = schemas();
    let table = get_str(&mut cx, query, "from", true).and_then(|(name, at)| {
        let t = all.iter().find(|(n, _, _)| *n == name);
        if t.is_none() {
            let names: Vec<&str> = all.iter().map(|x| x.0).collect();
            let help = did_you_mean(&name, &names)
                .unwrap_or_else(|| format!("fact tables: {}", names.join(", ")));
            cx.err(
                at.map(|a| a - 1),
                "query.from",
                format!("unknown fact table `{name}`"),
                Some(help),
            );
        }
        t.copied()
    });
    let Some((from, _, fields)) = table else {
        return Err(cx.diags);
    };
    let scope = RuleScope {
        fields,
        params: &params,
    };
    let filter = get_str(&mut cx, query, "where", true).and_then(|(src, at)| {
        match expr::compile(&src, &scope, Ty::Bool) {
            Ok(e) => Some((e, src)),
            Err(e) => {
                cx.err(at.map(|a| a + e.offset), "query.where", e.message, e.help);
                None
            }
        }
    });
    let mut per = Vec::new();
    match query.get("per").map(|i| (i, i.as_array())) {
        Some((_, Some(a))) => {
            for v in a.iter() {
                let name = v.as_str().unwrap_or_default();
                match fields.iter().position(|f| f.name == name) {
                    Some(i) => per.push(i),
                    None => {
                        let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                        cx.err(v.span().map(|s| s.start), "query.per", format!("unknown field `{name}`"), did_you_mean(name, &names));
                    }
                }
            }
            if per.is_empty() {
                cx.err(None, "query.per", "`per` must name at least one field".into(), None);
            }
        }
        Some((item, None)) => cx.err(span_of(item), "query.per", "`per` must be an array of field names".into(), None),
        None => cx.err(None, "query.per", "missing required field `query.per`".into(), Some("list the fields that identify one finding, e.g. [\"partner_tenant_id\", \"customer_tenant_id\"]".into())),
    }
    let message = get_str(&mut cx, query, "message", true)
        .and_then(|(t, at)| compile_template(&mut cx, "query.message", &t, at, &scope));
    let evidence = get_str(&mut cx, query, "evidence", false)
        .and_then(|(t, at)| compile_template(&mut cx, "query.evidence", &t, at, &scope));

    let remediation_template = remediation_src.and_then(|(src, at)| {
        // Placeholders are checked (and located) in the text as written;
        // the reflowed text, which only differs in white space, is compiled.
        let checked = compile_template(&mut cx, "remediation", &src, at, &scope)?;
        if checked.0.iter().all(|p| matches!(p, Piece::Text(_))) {
            return None;
        }
        let mut quiet = Ctx {
            file,
            src: &src,
            diags: Vec::new(),
        };
        let text = docs.get("remediation").map_or("", String::as_str);
        compile_template(&mut quiet, "remediation", text, None, &scope).map(MdTemplate::of)
    });

    let principal_roles = principal_roles(&mut cx, query);
    let tests = parse_tests(&mut cx, root, &params);

    if !cx.diags.is_empty() {
        return Err(cx.diags);
    }
    match (id, severity, filter, message) {
        (Some(id), Some(severity), Some((filter, where_src)), Some(message)) => Ok(Rule {
            id,
            title: docs.remove("title").unwrap_or_default().into(),
            severity,
            enabled,
            summary: docs.remove("summary").unwrap_or_default(),
            rationale: docs.remove("rationale").unwrap_or_default(),
            remediation: docs.remove("remediation").unwrap_or_default().into(),
            remediation_template,
            example: docs.remove("example").unwrap_or_default(),
            references,
            params,
            from,
            fields,
            where_src,
            filter,
            per,
            message,
            evidence,
            principal_roles,
            source: file.to_string(),
            tests,
        }),
        _ => Err(cx.diags),
    }
}

/// `query.principal_roles`: built-in role names (or template GUIDs).
fn principal_roles(cx: &mut Ctx<'_>, query: &toml_edit::Table) -> Option<Vec<RoleId>> {
    const FIELD: &str = "query.principal_roles";
    let item = query.get("principal_roles")?;
    let Some(items) = item.as_array() else {
        cx.err(
            span_of(item),
            FIELD,
            "`principal_roles` must be an array of role names".into(),
            None,
        );
        return None;
    };
    let known = RoleTable::default();
    let names: Vec<&str> = known.ids().map(|r| known.name(r)).collect();
    let mut roles = Vec::new();
    for v in items {
        let name = v.as_str().unwrap_or_default();
        match known.lookup(name) {
            Some(r) => roles.push(r),
            None => cx.err(
                v.span().map(|s| s.start),
                FIELD,
                format!("unknown role `{name}`: principal_roles names built-in roles"),
                did_you_mean(name, &names),
            ),
        }
    }
    if roles.is_empty() && items.is_empty() {
        cx.err(
            span_of(item),
            FIELD,
            "`principal_roles` must name at least one role".into(),
            None,
        );
    }
    Some(roles)
}

fn toml_to_json(v: &TomlValue) -> serde_json::Value {
    match v {
        TomlValue::String(s) => serde_json::Value::String(s.value().clone()),
        TomlValue::Integer(i) => serde_json::Value::from(*i.value()),
        TomlValue::Float(f) => serde_json::Value::from(*f.value()),
        TomlValue::Boolean(b) => serde_json::Value::Bool(*b.value()),
        TomlValue::Datetime(d) => serde_json::Value::String(d.value().to_string()),
        TomlValue::Array(a) => serde_json::Value::Array(a.iter().map(toml_to_json).collect()),
        TomlValue::InlineTable(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Parses the `[[test]]` tables.
fn parse_tests(cx: &mut Ctx<'_>, root: &toml_edit::Table, params: &[Param]) -> Vec<RuleTest> {
    let Some(item) = root.get("test") else {
        return Vec::new();
    };
    let Some(tables) = item.as_array_of_tables() else {
        cx.err(
            span_of(item),
            "test",
            "`test` must be an array of tables: write `[[test]]`".into(),
            None,
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in tables.iter() {
        let at = t.span().map(|s| s.start);
        for (k, v) in t.iter() {
            if !TEST_KEYS.contains(&k) {
                let pos = t
                    .key(k)
                    .and_then(|k| k.span())
                    .map(|s| s.start)
                    .or_else(|| span_of(v));
                cx.err(
                    pos,
                    k,
                    format!("unknown field `test.{k}`"),
                    did_you_mean(k, TEST_KEYS),
                );
            }
        }
        let snapshot = match t.get("snapshot").and_then(Item::as_str) {
            Some(s) => s.to_string(),
            None => {
                cx.err(
                    at,
                    "test.snapshot",
                    "missing required field `snapshot` (a snapshot path relative to the rule file)"
                        .into(),
                    None,
                );
                continue;
            }
        };
        let expect = match t.get("expect") {
            Some(item) => match (item.as_str(), item.as_array()) {
                (Some(path), _) => Expect::File(path.to_string()),
                (None, Some(a)) => Expect::Inline(a.iter().map(toml_to_json).collect()),
                _ => {
                    cx.err(
                        span_of(item),
                        "test.expect",
                        "`expect` must be a path to a JSON file or an inline array".into(),
                        None,
                    );
                    continue;
                }
            },
            None => {
                cx.err(
                    at,
                    "test.expect",
                    "missing required field `expect`".into(),
                    Some("write `expect = []` for a snapshot where the rule must not fire".into()),
                );
                continue;
            }
        };
        let policy = t.get("policy").and_then(Item::as_str).map(str::to_string);
        if let Some(p) = &policy {
            if p != "legacy" && p != "strict" {
                cx.err(
                    t.get("policy").and_then(span_of),
                    "test.policy",
                    format!("invalid policy `{p}`"),
                    Some("one of legacy, strict".into()),
                );
            }
        }
        let mut set = BTreeMap::new();
        if let Some(item) = t.get("set") {
            match item.as_table_like() {
                Some(tab) => {
                    for (k, v) in tab.iter() {
                        let Some(param) = params.iter().find(|p| p.name == k) else {
                            let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                            cx.err(
                                span_of(v),
                                "test.set",
                                format!("unknown parameter `{k}`"),
                                did_you_mean(k, &names),
                            );
                            continue;
                        };
                        match (param.ty, v.as_value()) {
                            (Ty::Int, Some(TomlValue::Integer(i))) => {
                                set.insert(k.to_string(), ParamValue::Int(*i.value()));
                            }
                            (Ty::Str, Some(TomlValue::String(x))) => {
                                set.insert(k.to_string(), ParamValue::Str(x.value().clone()));
                            }
                            (Ty::Bool, Some(TomlValue::Boolean(b))) => {
                                set.insert(k.to_string(), ParamValue::Bool(*b.value()));
                            }
                            _ => cx.err(
                                span_of(v),
                                "test.set",
                                format!("parameter `{k}` needs a {} value", param.ty),
                                None,
                            ),
                        }
                    }
                }
                None => cx.err(
                    span_of(item),
                    "test.set",
                    "`set` must be a table of parameter values".into(),
                    None,
                ),
            }
        }
        out.push(RuleTest {
            name: t.get("name").and_then(Item::as_str).map(str::to_string),
            snapshot,
            expect,
            policy,
            set,
            line: at.map_or(0, |a| cx.pos(a).0),
        });
    }
    out
}

/// The built-in catalog, embedded at build time from `rules/*.toml`.
const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// Loads the catalog: the built-in rules, then every `*.toml` of `dir` (a rule
/// with a built-in id replaces it; a new id extends the catalog). Every
/// problem of every file is returned at once.
pub fn load_catalog(dir: Option<&Path>, builtin: bool) -> Result<Vec<Rule>, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    // Rule id → (rule, loaded from `dir`): a directory rule may replace a
    // built-in one, but two files of the same layer may not share an id.
    let mut rules: BTreeMap<String, (Rule, bool)> = BTreeMap::new();
    let mut add =
        |file: &str, src: &str, from_dir: bool, diags: &mut Vec<Diagnostic>| match parse_rule(
            file, src,
        ) {
            Ok(r) => match rules.get(&r.id) {
                Some((prev, layer)) if *layer == from_dir => diags.push(
                    Diagnostic::error(
                        file,
                        format!("duplicate rule id `{}` (also in `{}`)", r.id, prev.source),
                    )
                    .with_field("id"),
                ),
                _ => {
                    rules.insert(r.id.clone(), (r, from_dir));
                }
            },
            Err(d) => diags.extend(d),
        };
    if builtin {
        for (name, src) in BUILTIN {
            add(&format!("rules/{name}"), src, false, &mut diags);
        }
    }
    if let Some(dir) = dir {
        let mut files: Vec<_> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect(),
            Err(e) => {
                return Err(vec![Diagnostic::error(
                    dir.display().to_string(),
                    format!("cannot read rules directory: {e}"),
                )])
            }
        };
        files.sort();
        for path in files {
            let shown = path.display().to_string();
            match crate::input_file::read_to_string(&path) {
                Ok(src) => add(&shown, &src, true, &mut diags),
                Err(e) => diags.push(e.diagnostic(&shown)),
            }
        }
    }
    let rules: BTreeMap<String, Rule> = rules.into_iter().map(|(id, (r, _))| (id, r)).collect();
    if diags.is_empty() {
        Ok(rules.into_values().collect())
    } else {
        diags.sort();
        Err(diags)
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_rule, MdPart, Piece};

    /// The parts of `remediation`'s template, shown as text.
    fn parts(remediation: &str) -> Vec<String> {
        let src = format!(
            "id = \"T1\"\ntitle = \"t\"\nseverity = \"low\"\nsummary = \"s\"\n\
             rationale = \"r\"\nexample = \"e\"\nremediation = '''{remediation}'''\n\
             [query]\nfrom = \"role_assignment\"\nwhere = \"principal_is_partner\"\n\
             per = [\"scope\"]\nmessage = \"m\"\n"
        );
        let r = parse_rule("T1.toml", &src).unwrap_or_else(|d| panic!("{d:?}"));
        let show = |p: &Piece| match p {
            Piece::Text(s) => s.clone(),
            Piece::Field(i) => format!("<{}>", r.fields[*i].name),
            _ => "<?>".into(),
        };
        r.remediation_template
            .as_ref()
            .map(|t| {
                t.0.iter()
                    .map(|p| match p {
                        MdPart::Text(s) => format!("text:{s}"),
                        MdPart::Value(p) => format!("value:{}", show(p)),
                        MdPart::Code(ps) => {
                            format!("code:{}", ps.iter().map(show).collect::<String>())
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Validates how a remediation splits into text, values and command spans.
    #[test]
    fn remediation_templates_split_at_code_spans() {
        assert!(parts("no placeholders, `a code span`").is_empty());
        assert_eq!(
            parts("Remove {role} with `az x --scope {scope}` or ``a ` {role}``, `tick"),
            [
                "text:Remove ",
                "value:<role>",
                "text: with ",
                "code:az x --scope <scope>",
                "text: or ",
                "code:a ` <role>",
                "text:, `tick",
            ]
        );
        assert_eq!(parts("`{scope}`x{{y}}"), ["code:<scope>", "text:x{y}"]);
    }
}
