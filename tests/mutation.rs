//! Seeded mutation test of bad input (SPEC §3 snapshot format, §7 bad
//! input), through the whole audit.
//!
//! Each case starts from a valid snapshot (`fixtures/demo` or
//! `fixtures/messy`), sometimes with tables converted to JSON, JSONL or a
//! single-file snapshot, applies one to three seeded mutations, writes the
//! result to a temporary directory and audits it through the library, once
//! as the CLI does by default and once with `keep_going`. Every case checks:
//!
//! 1. nothing panics (a panic is caught and reported with its seed);
//! 2. a run that fails says why: every error names a file of the snapshot
//!    and a line in it; a CSV error has a column that agrees with its field
//!    in the header and a line where a record starts; invalid JSON has
//!    serde_json's line and column;
//! 3. no row is lost silently: per table rows read = used + rejected +
//!    skipped, rows used are the rows in the snapshot, rows read are the
//!    rows an independent reading of the file finds (for CSV, RFC 4180 as
//!    the README states it, blank lines and unbalanced quotes included),
//!    every rejected row has an error,
//!    a value made invalid is reported at its line, column and field (and
//!    the run fails), a row left valid is kept with its value as written.
//!
//! `MUTATION_SEED=N` runs case N alone; `MUTATION_CASES=N` sets the number
//! of cases. The case about to run is written to
//! `CARGO_TARGET_TMPDIR/mutation-current-case.txt` (left behind by a crash
//! that cannot be caught, such as a stack overflow), and the snapshot of
//! every failing case is kept under `CARGO_TARGET_TMPDIR/mutation-failures/`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use partner_audit::app::{self, AppError, Audit, Settings};
use partner_audit::engine::rule::Rule;
use partner_audit::snapshot::{Diagnostic, Level, Loc, Snapshot};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value as Json;

const BOM: &[u8] = b"\xEF\xBB\xBF";
const DEFAULT_CASES: u64 = 800;
/// The as-of time of the `keep_going` runs, so that they never depend on
/// a mutated manifest.
const AS_OF: &str = "2026-11-01T00:00:00Z";

// ------------------------------------------------------------------ schema

/// What a column holds (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Guid,
    Text,
    Enum(&'static [&'static str]),
    Date,
    Duration,
    Bool,
    /// One role: any name or GUID (unknown names are custom roles).
    Role,
    /// A list of roles.
    Roles,
    /// A role-assignment scope: any path.
    Scope,
    /// A Lighthouse delegation scope: a subscription or a resource group.
    DelegationScope,
    /// A list of GUIDs (`;`-separated, or a JSON array).
    Guids,
}

impl Kind {
    /// Columns where any non-empty UTF-8 text is a valid value.
    fn text_like(self) -> bool {
        matches!(self, Kind::Text | Kind::Role | Kind::Roles | Kind::Scope)
    }
}

#[derive(Debug)]
struct Col {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Col {
    Col {
        name,
        kind,
        required: true,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Col {
    Col {
        name,
        kind,
        required: false,
    }
}

const TENANT_KINDS: &[&str] = &["partner", "customer"];
const REL_KINDS: &[&str] = &["reseller", "dap", "gdap"];
const REL_STATES: &[&str] = &["pending", "active", "removed", "expired", "terminated"];
const PRINCIPAL_KINDS: &[&str] = &["user", "group", "service_principal"];
const AGENT_GROUPS: &[&str] = &["admin_agents", "helpdesk_agents", "sales_agents"];
const ADDED_VIA: &[&str] = &[
    "partner_center",
    "store_for_business",
    "store_for_education",
    "intune",
    "oem",
    "unknown",
];

/// Every table of SPEC §3 with its columns, in canonical order.
const SCHEMA: &[(&str, &[Col])] = &[
    (
        "tenants",
        &[
            req("tenant_id", Kind::Guid),
            req("name", Kind::Text),
            req("kind", Kind::Enum(TENANT_KINDS)),
            opt("domain", Kind::Text),
        ],
    ),
    (
        "relationships",
        &[
            req("partner_tenant_id", Kind::Guid),
            req("customer_tenant_id", Kind::Guid),
            req("kind", Kind::Enum(REL_KINDS)),
            req("state", Kind::Enum(REL_STATES)),
            opt("started_at", Kind::Date),
            opt("ended_at", Kind::Date),
            opt("relationship_id", Kind::Text),
            opt("roles", Kind::Roles),
            opt("auto_extend", Kind::Duration),
            opt("last_activity_at", Kind::Date),
        ],
    ),
    (
        "principals",
        &[
            req("tenant_id", Kind::Guid),
            req("principal_id", Kind::Guid),
            req("kind", Kind::Enum(PRINCIPAL_KINDS)),
            req("display_name", Kind::Text),
            opt("upn", Kind::Text),
            opt("enabled", Kind::Bool),
            opt("agent_group", Kind::Enum(AGENT_GROUPS)),
        ],
    ),
    (
        "memberships",
        &[
            req("tenant_id", Kind::Guid),
            req("group_id", Kind::Guid),
            req("member_id", Kind::Guid),
        ],
    ),
    (
        "role_assignments",
        &[
            req("tenant_id", Kind::Guid),
            req("scope", Kind::Scope),
            req("role", Kind::Role),
            req("principal_id", Kind::Guid),
            opt("principal_tenant_id", Kind::Guid),
            opt("created_at", Kind::Date),
        ],
    ),
    (
        "subscriptions",
        &[
            req("tenant_id", Kind::Guid),
            req("subscription_id", Kind::Guid),
            req("name", Kind::Text),
            opt("provisioned_by_tenant_id", Kind::Guid),
            opt("state", Kind::Text),
            opt("created_at", Kind::Date),
        ],
    ),
    (
        "devices",
        &[
            req("tenant_id", Kind::Guid),
            req("device_id", Kind::Text),
            req("added_by_tenant_id", Kind::Guid),
            req("added_via", Kind::Enum(ADDED_VIA)),
            opt("profile_id", Kind::Text),
        ],
    ),
    (
        "autopilot_profiles",
        &[
            req("tenant_id", Kind::Guid),
            req("profile_id", Kind::Text),
            req("name", Kind::Text),
            opt("created_by_tenant_id", Kind::Guid),
        ],
    ),
    (
        "invitations",
        &[
            req("partner_tenant_id", Kind::Guid),
            req("invitation_id", Kind::Text),
            req("sent_by", Kind::Guid),
            req("sent_at", Kind::Date),
            opt("customer_tenant_id", Kind::Guid),
            opt("accepted_at", Kind::Date),
            opt("includes_dap", Kind::Bool),
        ],
    ),
    (
        "gdap_access_assignments",
        &[
            req("relationship_id", Kind::Text),
            req("group_id", Kind::Guid),
            req("roles", Kind::Roles),
            opt("state", Kind::Text),
        ],
    ),
    (
        "lighthouse_delegations",
        &[
            req("tenant_id", Kind::Guid),
            req("scope", Kind::DelegationScope),
            req("definition_id", Kind::Guid),
            req("managing_tenant_id", Kind::Guid),
            opt("managing_tenant_name", Kind::Text),
            opt("offer_name", Kind::Text),
            opt("assignment_id", Kind::Guid),
            opt("state", Kind::Text),
        ],
    ),
    (
        "lighthouse_authorizations",
        &[
            req("tenant_id", Kind::Guid),
            req("definition_id", Kind::Guid),
            req("principal_id", Kind::Guid),
            req("role", Kind::Role),
            req("access", Kind::Enum(&["standing", "eligible"])),
            opt("principal_name", Kind::Text),
            opt("delegated_roles", Kind::Roles),
            opt("mfa_provider", Kind::Text),
            opt("max_activation", Kind::Duration),
            opt("approvers", Kind::Guids),
        ],
    ),
    (
        "service_principals",
        &[
            req("tenant_id", Kind::Guid),
            req("principal_id", Kind::Guid),
            req("app_id", Kind::Guid),
            req("display_name", Kind::Text),
            opt("owner_tenant_id", Kind::Guid),
            opt("enabled", Kind::Bool),
        ],
    ),
    (
        "app_permissions",
        &[
            req("tenant_id", Kind::Guid),
            req("client_id", Kind::Guid),
            req("permission", Kind::Text),
            req("kind", Kind::Enum(&["application", "delegated"])),
            opt("resource_id", Kind::Guid),
            opt("resource_name", Kind::Text),
            opt("consent_type", Kind::Enum(&["all_principals", "principal"])),
            opt("principal_id", Kind::Guid),
            opt("granted_at", Kind::Date),
        ],
    ),
];

fn schema(table: &str) -> &'static [Col] {
    SCHEMA
        .iter()
        .find(|(t, _)| *t == table)
        .map_or(&[], |(_, cols)| *cols)
}

/// The schema column a header name or JSON key stands for (names are
/// case-insensitive and trimmed).
fn column(table: &str, name: &str) -> Option<&'static Col> {
    let name = name.trim().to_ascii_lowercase();
    schema(table).iter().find(|c| c.name == name)
}

/// A header name as a reader matches it: leading BOMs and white space
/// trimmed, lower case.
fn header_name(field: &[u8]) -> String {
    String::from_utf8_lossy(field)
        .trim_start_matches('\u{feff}')
        .trim()
        .to_ascii_lowercase()
}

// ---------------------------------------------------------------- payloads

/// What a cell mutation writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Payload {
    BadGuid,
    BadEnum,
    BadDate,
    BadDuration,
    BadBool,
    Empty,
    InvalidUtf8,
    Huge,
    Control,
    ValidVariant,
    JsonNumber,
    JsonBool,
    JsonArray,
    JsonObject,
    JsonNull,
    JsonMissingKey,
    JsonBigFloat,
    JsonBigInt,
    JsonDeepBalanced,
    JsonDeepUnbalanced,
    JsonDuplicateKey,
    JsonNotObject,
}

const PAYLOADS: &[Payload] = &[
    Payload::BadGuid,
    Payload::BadEnum,
    Payload::BadDate,
    Payload::BadDuration,
    Payload::BadBool,
    Payload::Empty,
    Payload::InvalidUtf8,
    Payload::Huge,
    Payload::Control,
    Payload::ValidVariant,
    Payload::JsonNumber,
    Payload::JsonBool,
    Payload::JsonArray,
    Payload::JsonObject,
    Payload::JsonNull,
    Payload::JsonMissingKey,
    Payload::JsonBigFloat,
    Payload::JsonBigInt,
    Payload::JsonDeepBalanced,
    Payload::JsonDeepUnbalanced,
    Payload::JsonDuplicateKey,
    Payload::JsonNotObject,
];

impl Payload {
    fn name(self) -> &'static str {
        match self {
            Payload::BadGuid => "cell:bad-guid",
            Payload::BadEnum => "cell:bad-enum",
            Payload::BadDate => "cell:bad-date",
            Payload::BadDuration => "cell:bad-duration",
            Payload::BadBool => "cell:bad-bool",
            Payload::Empty => "cell:empty",
            Payload::InvalidUtf8 => "cell:invalid-utf8",
            Payload::Huge => "cell:100kb",
            Payload::Control => "cell:nul-and-control",
            Payload::ValidVariant => "cell:valid-variant",
            Payload::JsonNumber => "json:number",
            Payload::JsonBool => "json:bool",
            Payload::JsonArray => "json:array",
            Payload::JsonObject => "json:nested-object",
            Payload::JsonNull => "json:null",
            Payload::JsonMissingKey => "json:missing-key",
            Payload::JsonBigFloat => "json:number-out-of-range",
            Payload::JsonBigInt => "json:integer-too-large",
            Payload::JsonDeepBalanced => "json:deep-nesting",
            Payload::JsonDeepUnbalanced => "json:deep-unclosed",
            Payload::JsonDuplicateKey => "json:duplicate-key",
            Payload::JsonNotObject => "json:row-not-object",
        }
    }

    fn json_only(self) -> bool {
        self >= Payload::JsonNumber
    }

    /// Whether this payload is aimed at columns of kind `k` (a payload
    /// aimed at every kind says true).
    fn aims_at(self, k: Kind) -> bool {
        match self {
            Payload::BadGuid => k == Kind::Guid,
            Payload::BadEnum => matches!(k, Kind::Enum(_)),
            Payload::BadDate => k == Kind::Date,
            Payload::BadDuration => k == Kind::Duration,
            Payload::BadBool | Payload::JsonBool => k == Kind::Bool,
            Payload::JsonArray => k == Kind::Roles,
            Payload::Huge | Payload::Control | Payload::JsonBigInt | Payload::JsonNumber => {
                k == Kind::Text || k == Kind::Guid
            }
            _ => true,
        }
    }
}

/// What a mutated value must do to its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    /// The row is kept.
    Valid,
    /// The row is rejected with an error naming it.
    Invalid,
    /// Either; a row that is not kept still needs an error.
    Either,
}

/// The verdict of SPEC §3 on `p` written into column `col` (`None`: a
/// column the schema does not know, which is ignored).
fn verdict(col: Option<&Col>, p: Payload, json: bool) -> Verdict {
    use Verdict::{Either, Invalid, Valid};
    match p {
        // Not JSON at all (serde_json cannot read it), whatever key holds it.
        Payload::JsonDeepUnbalanced | Payload::JsonNotObject => return Invalid,
        Payload::InvalidUtf8 if json => return Invalid,
        Payload::JsonDuplicateKey => return Either,
        _ => {}
    }
    let Some(col) = col else {
        return match p {
            Payload::JsonBigFloat | Payload::JsonDeepBalanced => Either,
            _ => Valid,
        };
    };
    let k = col.kind;
    let text_or = |otherwise| if k.text_like() { Valid } else { otherwise };
    match p {
        Payload::BadGuid
        | Payload::BadEnum
        | Payload::BadDate
        | Payload::BadDuration
        | Payload::BadBool
        | Payload::Huge => text_or(Invalid),
        Payload::Empty | Payload::JsonNull | Payload::JsonMissingKey => {
            if col.required {
                Invalid
            } else {
                Valid
            }
        }
        Payload::Control | Payload::JsonNumber | Payload::JsonBigInt | Payload::JsonBigFloat => {
            if k.text_like() {
                Either
            } else {
                Invalid
            }
        }
        Payload::JsonBool if k == Kind::Bool => Valid,
        Payload::JsonBool => {
            if k.text_like() {
                Either
            } else {
                Invalid
            }
        }
        Payload::JsonArray if k == Kind::Roles => Valid,
        Payload::ValidVariant => Valid,
        Payload::InvalidUtf8
        | Payload::JsonArray
        | Payload::JsonObject
        | Payload::JsonDeepBalanced
        | Payload::JsonDeepUnbalanced
        | Payload::JsonNotObject => Invalid,
        Payload::JsonDuplicateKey => Either,
    }
}

/// A value to write into a cell.
enum Value {
    /// Text (CSV: the cell's bytes; JSON: a string holding them).
    Text(Vec<u8>),
    /// JSON text written as it is.
    Raw(Vec<u8>),
    /// JSON: the key is left out.
    Missing,
    /// JSON: the key is written a second time.
    Duplicate,
}

fn random_guid(rng: &mut ChaCha8Rng) -> String {
    let h: u128 = rng.random();
    let s = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &s[..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..]
    )
}

/// The 100 KB value: commas, quotes, a line end and non-ASCII included.
fn huge_text() -> String {
    let mut s = String::from("huge:");
    while s.len() < 100 * 1024 {
        s.push_str("lorem, \"ipsum\" dolor \u{e9}t\nsit ");
    }
    s.push_str("end");
    s
}

fn choose<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    *items.choose(rng).expect("a non-empty list")
}

/// The value `p` writes into a column of kind `kind` (`None`: unknown).
fn make_value(p: Payload, kind: Option<Kind>, json: bool, rng: &mut ChaCha8Rng) -> Value {
    let text = |s: &str| Value::Text(s.as_bytes().to_vec());
    match p {
        Payload::BadGuid => text(choose(
            rng,
            &[
                "not-a-guid",
                "62e90394-69f5-4237-9190-012177145e1g",
                "62e90394-69f5-4237-9190-012177145e1",
                "1234",
                "62e90394_69f5_4237_9190_012177145e10",
            ],
        )),
        Payload::BadEnum => text(choose(
            rng,
            &["actve", "bogus", "n/a", "42x", "Partner-Centre"],
        )),
        Payload::BadDate => text(choose(
            rng,
            &[
                "2026-13-45",
                "2026-02-30",
                "01/11/2026",
                "yesterday",
                "2026-11-01T25:00:00Z",
            ],
        )),
        Payload::BadDuration => text(choose(rng, &["2 years", "P", "730D", "forever"])),
        Payload::BadBool => text(choose(rng, &["maybe", "2", "enabled", "tru"])),
        Payload::Empty => text(choose(rng, &["", "   "])),
        Payload::InvalidUtf8 => Value::Text(
            choose(
                rng,
                &[
                    &b"Caf\xe9"[..],
                    b"\xff\xfe",
                    b"x\xc3",
                    b"ok\xed\xa0\x80",
                    b"\x80abc",
                ],
            )
            .to_vec(),
        ),
        Payload::Huge => Value::Text(huge_text().into_bytes()),
        Payload::Control => text("ctl\u{0}\u{1}\u{7}\u{8}\u{b}\u{c}\u{1b}[31m\u{7f}\u{85}end"),
        Payload::ValidVariant => valid_variant(kind.unwrap_or(Kind::Text), json, rng),
        Payload::JsonNumber => Value::Raw(b"42".to_vec()),
        Payload::JsonBool => Value::Raw(b"true".to_vec()),
        Payload::JsonArray => Value::Raw(br#"["Global Reader", "Security Reader"]"#.to_vec()),
        Payload::JsonObject => Value::Raw(br#"{"a": {"b": [1, {"c": null}]}, "d": "x"}"#.to_vec()),
        Payload::JsonNull => Value::Raw(b"null".to_vec()),
        Payload::JsonMissingKey => Value::Missing,
        Payload::JsonBigFloat => Value::Raw(choose(rng, &[&b"1e400"[..], b"-1e309"]).to_vec()),
        Payload::JsonBigInt => Value::Raw(b"123456789012345678901234567890".to_vec()),
        Payload::JsonDeepBalanced => Value::Raw(
            ["[".repeat(10_000), "]".repeat(10_000)]
                .concat()
                .into_bytes(),
        ),
        Payload::JsonDeepUnbalanced => Value::Raw("[".repeat(10_000).into_bytes()),
        Payload::JsonDuplicateKey => Value::Duplicate,
        // Whole rows: handled by the caller.
        Payload::JsonNotObject => Value::Raw(b"42".to_vec()),
    }
}

/// A value SPEC §3 accepts for `kind`, spelled differently from the
/// fixtures (case, braces, offsets, aliases).
fn valid_variant(kind: Kind, json: bool, rng: &mut ChaCha8Rng) -> Value {
    let text = |s: String| Value::Text(s.into_bytes());
    match kind {
        Kind::Guid => {
            let g = random_guid(rng).to_uppercase();
            text(if rng.random_bool(0.5) {
                format!("{{{g}}}")
            } else {
                g
            })
        }
        Kind::Text => text("\u{dc}n\u{ef}c\u{f8}d\u{e9}, \"quoted\"\r\nname \u{2713}".into()),
        Kind::Enum(values) => text(choose(rng, values).to_uppercase()),
        Kind::Date => text(
            choose(
                rng,
                &[
                    "2025-06-30",
                    "2025-06-30T23:59:59.1234567-08:00",
                    "2025-06-30T12:00:00",
                ],
            )
            .into(),
        ),
        Kind::Duration => text(choose(rng, &["P90D", "PT12H", "P1Y2M3D"]).into()),
        Kind::Bool if json && rng.random_bool(0.5) => Value::Raw(b"false".to_vec()),
        Kind::Bool => text(choose(rng, &["YES", "0", "False", "true"]).into()),
        Kind::Role => text(
            choose(
                rng,
                &[
                    "Global Reader",
                    "62e90394-69f5-4237-9190-012177145e10",
                    "Company Administrator",
                ],
            )
            .into(),
        ),
        Kind::Roles if json => Value::Raw(br#"["Global Reader", "Security Reader"]"#.to_vec()),
        Kind::Roles => text("Global Reader; Security Reader".into()),
        Kind::Scope => text(format!(
            "/subscriptions/{}/resourceGroups/rg-x",
            random_guid(rng)
        )),
        Kind::DelegationScope => text(format!(
            "/Subscriptions/{}/resourcegroups/rg-x/",
            random_guid(rng).to_uppercase()
        )),
        Kind::Guids if json => {
            Value::Raw(format!(r#"["{}", "{}"]"#, random_guid(rng), random_guid(rng)).into_bytes())
        }
        Kind::Guids => text(format!("{};{}", random_guid(rng), random_guid(rng))),
    }
}

/// A CSV cell holding `bytes`, quoted when needed (and now and then when not).
fn csv_cell(bytes: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let special = bytes
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if !special && !rng.random_ratio(1, 4) {
        return bytes.to_vec();
    }
    let mut out = vec![b'"'];
    for &b in bytes {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

/// A JSON string holding `bytes`; bytes that are not UTF-8 are written raw
/// (which makes the document invalid JSON).
fn json_string(bytes: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Ok(s) => serde_json::to_vec(s).expect("a string serialises"),
        Err(_) => [&b"\""[..], bytes, b"\""].concat(),
    }
}

// -------------------------------------------------------------- CSV tokens

/// One CSV record of a well-formed file: byte spans.
struct Record {
    start: usize,
    end: usize,
    /// Past the record's line end (`end` when it has none).
    term_end: usize,
    fields: Vec<(usize, usize)>,
}

/// Splits well-formed CSV into records (RFC 4180 quoting), blank lines
/// skipped; used to edit the fixtures precisely, never as the oracle of
/// what a mutated file holds ([`csv_oracle`] is).
fn tokenize(b: &[u8]) -> Vec<Record> {
    let mut recs = Vec::new();
    let mut pos = if b.starts_with(BOM) { BOM.len() } else { 0 };
    loop {
        while pos < b.len() && matches!(b[pos], b'\r' | b'\n') {
            pos += 1;
        }
        if pos >= b.len() {
            return recs;
        }
        let start = pos;
        let mut fields = Vec::new();
        loop {
            let field_start = pos;
            if b.get(pos) == Some(&b'"') {
                pos += 1;
                loop {
                    match b.get(pos) {
                        None => break,
                        Some(b'"') if b.get(pos + 1) == Some(&b'"') => pos += 2,
                        Some(b'"') => {
                            pos += 1;
                            break;
                        }
                        Some(_) => pos += 1,
                    }
                }
            }
            while pos < b.len() && !matches!(b[pos], b',' | b'\r' | b'\n') {
                pos += 1;
            }
            fields.push((field_start, pos));
            if b.get(pos) == Some(&b',') {
                pos += 1;
            } else {
                break;
            }
        }
        let end = pos;
        if b.get(pos) == Some(&b'\r') {
            pos += 1;
        }
        if b.get(pos) == Some(&b'\n') {
            pos += 1;
        }
        recs.push(Record {
            start,
            end,
            term_end: pos,
            fields,
        });
    }
}

fn count_nl(b: &[u8]) -> u32 {
    u32::try_from(b.iter().filter(|&&c| c == b'\n').count()).unwrap_or(u32::MAX)
}

/// The 1-based line holding byte `offset`.
fn line_at(b: &[u8], offset: usize) -> u32 {
    1 + count_nl(&b[..offset.min(b.len())])
}

/// The unquoted text of a raw CSV field.
fn unquote(raw: &[u8]) -> Vec<u8> {
    match raw.strip_prefix(b"\"") {
        Some(inner) => {
            let inner = inner.strip_suffix(b"\"").unwrap_or(inner);
            let mut out = Vec::with_capacity(inner.len());
            let mut i = 0;
            while i < inner.len() {
                out.push(inner[i]);
                i += if inner[i] == b'"' && inner.get(i + 1) == Some(&b'"') {
                    2
                } else {
                    1
                };
            }
            out
        }
        None => raw.to_vec(),
    }
}

fn splice(b: &mut Vec<u8>, at: (usize, usize), with: &[u8]) {
    b.splice(at.0..at.1, with.iter().copied());
}

// ----------------------------------------------------------- JSON tables

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// `[{...}, ...]`
    Array,
    /// `{"value": [{...}, ...]}`
    Value,
    /// JSONL.
    Lines,
}

/// One element of a JSON table.
#[derive(Clone, Debug)]
enum Item {
    /// An object: keys and raw JSON values, in order (duplicates allowed).
    Object(Vec<(String, Vec<u8>)>),
    /// Anything else, as raw JSON.
    Raw(Vec<u8>),
}

#[derive(Clone, Debug)]
enum Body {
    Csv(Vec<u8>),
    Json {
        items: Vec<Item>,
        layout: Layout,
        pretty: bool,
    },
}

#[derive(Clone, Debug)]
struct TableFile {
    table: &'static str,
    body: Body,
}

impl TableFile {
    fn name(&self) -> String {
        let ext = match &self.body {
            Body::Csv(_) => "csv",
            Body::Json {
                layout: Layout::Lines,
                ..
            } => "jsonl",
            Body::Json { .. } => "json",
        };
        format!("{}.{ext}", self.table)
    }

    fn is_json(&self) -> bool {
        matches!(self.body, Body::Json { .. })
    }
}

fn item_of(v: &Json) -> Item {
    match v {
        Json::Object(m) => Item::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), serde_json::to_vec(v).expect("json")))
                .collect(),
        ),
        other => Item::Raw(serde_json::to_vec(other).expect("json")),
    }
}

/// The rows of a table as JSON objects: CSV cells as strings, list
/// columns as arrays, empty cells left out.
fn to_items(table: &str, body: &Body) -> Vec<Item> {
    let bytes = match body {
        Body::Json { items, .. } => return items.clone(),
        Body::Csv(bytes) => bytes,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&bytes[..]);
    let mut records = rdr.byte_records().map_while(Result::ok);
    let Some(header) = records.next() else {
        return Vec::new();
    };
    let names: Vec<String> = header
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_owned()
        })
        .collect();
    records
        .map(|rec| {
            let entries = names
                .iter()
                .zip(rec.iter())
                .filter_map(|(name, cell)| {
                    let cell = String::from_utf8_lossy(cell);
                    let t = cell.trim();
                    if t.is_empty() {
                        return None;
                    }
                    let raw = if column(table, name).is_some_and(|c| c.kind == Kind::Roles) {
                        let items: Vec<&str> = t
                            .split(';')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .collect();
                        serde_json::to_vec(&items)
                    } else {
                        serde_json::to_vec(t)
                    };
                    Some((name.clone(), raw.expect("json")))
                })
                .collect();
            Item::Object(entries)
        })
        .collect()
}

/// The text of a raw JSON value as a CSV cell (arrays `;`-separated).
fn cell_text(raw: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Json>(raw) {
        Ok(Json::String(s)) => s.into_bytes(),
        Ok(Json::Null) => Vec::new(),
        Ok(Json::Array(a)) => a
            .iter()
            .map(|v| match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(";")
            .into_bytes(),
        Ok(other) => other.to_string().into_bytes(),
        Err(_) => raw.to_vec(),
    }
}

/// A CSV file of `items` (the union of their keys as the header).
fn to_csv(items: &[Item], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut header: Vec<&str> = Vec::new();
    for item in items {
        if let Item::Object(entries) = item {
            for (k, _) in entries {
                if !header.contains(&k.as_str()) {
                    header.push(k);
                }
            }
        }
    }
    let mut out = if rng.random_bool(0.3) {
        BOM.to_vec()
    } else {
        Vec::new()
    };
    let nl: &[u8] = if rng.random_bool(0.3) { b"\r\n" } else { b"\n" };
    for (i, h) in header.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend(csv_cell(h.as_bytes(), rng));
    }
    out.extend_from_slice(nl);
    for item in items {
        let Item::Object(entries) = item else {
            continue;
        };
        for (i, h) in header.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if let Some((_, raw)) = entries.iter().find(|(k, _)| k == h) {
                out.extend(csv_cell(&cell_text(raw), rng));
            }
        }
        out.extend_from_slice(nl);
    }
    out
}

/// Bytes being written, with their line count.
#[derive(Default)]
struct Out {
    buf: Vec<u8>,
    newlines: u32,
}

impl Out {
    fn put(&mut self, b: &[u8]) {
        self.newlines += count_nl(b);
        self.buf.extend_from_slice(b);
    }

    /// The 1-based line being written.
    fn line(&self) -> u32 {
        self.newlines + 1
    }
}

/// Writes the elements of a JSON table; gives each element's first and
/// last line.
fn render_items(
    out: &mut Out,
    items: &[Item],
    layout: Layout,
    pretty: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<(u32, u32)> {
    let lines = layout == Layout::Lines;
    let pretty = pretty && !lines;
    let mut spans = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if !lines {
            out.put(b"  ");
        }
        let start = out.line();
        match item {
            Item::Raw(raw) => out.put(raw),
            Item::Object(entries) => {
                out.put(b"{");
                for (j, (k, v)) in entries.iter().enumerate() {
                    if j > 0 {
                        out.put(b",");
                    }
                    if pretty {
                        out.put(b"\n    ");
                    } else if j > 0 {
                        out.put(b" ");
                    }
                    out.put(&serde_json::to_vec(k).expect("key"));
                    out.put(b": ");
                    out.put(v);
                }
                if pretty && !entries.is_empty() {
                    out.put(b"\n  ");
                }
                out.put(b"}");
            }
        }
        spans.push((start, out.line()));
        if !lines && i + 1 < items.len() {
            out.put(b",");
        }
        out.put(b"\n");
        if lines && rng.random_ratio(1, 12) {
            out.put(b"\n");
        }
    }
    spans
}

// ------------------------------------------------------------------- cases

/// A fixture snapshot, parsed once.
struct Base {
    name: &'static str,
    tables: Vec<TableFile>,
    manifest: Vec<u8>,
}

fn load_base(name: &'static str) -> Base {
    let dir = common::root().join("fixtures").join(name);
    let mut tables = Vec::new();
    for (table, _) in SCHEMA {
        for ext in ["csv", "json", "jsonl"] {
            let Ok(bytes) = std::fs::read(dir.join(format!("{table}.{ext}"))) else {
                continue;
            };
            let body = match ext {
                "csv" => Body::Csv(bytes),
                "json" => {
                    let v: Json = serde_json::from_slice(&bytes).expect("fixture JSON");
                    let (items, layout) = match v {
                        Json::Array(a) => (a, Layout::Array),
                        Json::Object(mut m) => match m.remove("value") {
                            Some(Json::Array(a)) => (a, Layout::Value),
                            _ => panic!("{name}/{table}.json has no value array"),
                        },
                        _ => panic!("{name}/{table}.json is not a table"),
                    };
                    Body::Json {
                        items: items.iter().map(item_of).collect(),
                        layout,
                        pretty: true,
                    }
                }
                _ => Body::Json {
                    items: bytes
                        .split(|&b| b == b'\n')
                        .filter(|l| !l.trim_ascii().is_empty())
                        .map(|l| item_of(&serde_json::from_slice(l).expect("fixture JSONL")))
                        .collect(),
                    layout: Layout::Lines,
                    pretty: false,
                },
            };
            tables.push(TableFile { table, body });
        }
    }
    let manifest = std::fs::read(dir.join("manifest.json")).expect("fixture manifest");
    Base {
        name,
        tables,
        manifest,
    }
}

/// A mutation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    // Precise, on the structure before it is written.
    RecordDuplicate,
    RecordDuplicateMany,
    RecordDelete,
    Cell(Payload),
    // Precise, keep every line where it is.
    CrlfMix,
    BomToggle,
    // Destructive, on bytes.
    Truncate,
    InsertByte,
    DeleteByte,
    UnbalancedQuote,
    LineDuplicate,
    LineDelete,
    HeaderSwap,
    HeaderDelete,
    MidBom,
}

const DESTRUCTIVE: &[Op] = &[
    Op::Truncate,
    Op::InsertByte,
    Op::DeleteByte,
    Op::UnbalancedQuote,
    Op::LineDuplicate,
    Op::LineDelete,
    Op::HeaderSwap,
    Op::HeaderDelete,
    Op::MidBom,
];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::RecordDuplicate => "record:duplicate",
            Op::RecordDuplicateMany => "record:duplicate-past-a-chunk",
            Op::RecordDelete => "record:delete",
            Op::Cell(p) => p.name(),
            Op::CrlfMix => "crlf-lf-mix",
            Op::BomToggle => "bom-at-start-toggled",
            Op::Truncate => "truncate",
            Op::InsertByte => "insert-byte",
            Op::DeleteByte => "delete-byte",
            Op::UnbalancedQuote => "unbalanced-quote",
            Op::LineDuplicate => "line:duplicate",
            Op::LineDelete => "line:delete",
            Op::HeaderSwap => "header:swap-two-names",
            Op::HeaderDelete => "header:delete-a-name",
            Op::MidBom => "bom-in-the-middle",
        }
    }

    fn destructive(self) -> bool {
        self >= Op::Truncate
    }
}

/// Every mutation and set-up kind; each must run at least once.
fn all_kinds() -> Vec<&'static str> {
    let mut kinds = vec![
        "convert:csv",
        "convert:json-array",
        "convert:json-value",
        "convert:jsonl",
        "single-file",
    ];
    kinds.extend(
        [
            Op::RecordDuplicate,
            Op::RecordDuplicateMany,
            Op::RecordDelete,
            Op::CrlfMix,
            Op::BomToggle,
        ]
        .iter()
        .chain(DESTRUCTIVE)
        .map(|o| o.name()),
    );
    kinds.extend(PAYLOADS.iter().map(|p| p.name()));
    kinds
}

/// A cell mutation's expectation before the files are written.
struct Pending {
    table: usize,
    /// CSV: the record's index (0 = header); JSON: the item's index.
    row: usize,
    /// CSV: the header position.
    position: Option<usize>,
    /// The header name (normalised) or JSON key; empty for a whole row.
    column: String,
    payload: Payload,
    verdict: Verdict,
    /// The text the row must hold in this column if it is kept.
    text: Option<String>,
}

/// What a mutated cell or row must do, located in the written file.
#[derive(Clone, Debug)]
struct Expect {
    file: String,
    table: &'static str,
    column: String,
    /// 1-based CSV column.
    csv_col: Option<u32>,
    /// First and last line of the row.
    span: (u32, u32),
    payload: Payload,
    verdict: Verdict,
    text: Option<String>,
}

/// A written file of the case.
struct RFile {
    name: String,
    /// `None`: the manifest, or a single-file snapshot.
    table: Option<&'static str>,
    bytes: Vec<u8>,
    /// Destructive mutations applied to it.
    destructive: Vec<&'static str>,
}

struct Case {
    seed: u64,
    base: &'static str,
    single: bool,
    tables: Vec<TableFile>,
    manifest: Vec<u8>,
    log: Vec<String>,
    kinds: Vec<&'static str>,
    pending: Vec<Pending>,
    files: Vec<RFile>,
    expects: Vec<Expect>,
    /// Only format changes (conversion, line ends, BOM): the findings must
    /// be those of the unmutated fixture.
    format_only: bool,
    manifest_touched: bool,
}

const SINGLE: &str = "snapshot.json";

impl Case {
    fn describe(&self) -> String {
        let mut s = format!("seed {} (fixtures/{})", self.seed, self.base);
        if self.single {
            s.push_str(", single-file snapshot");
        }
        for l in &self.log {
            let _ = write!(s, "\n    - {l}");
        }
        s
    }
}

fn build_case(seed: u64, bases: &[Base]) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let base = if rng.random_ratio(2, 3) {
        &bases[0]
    } else {
        &bases[1]
    };
    let format_only = rng.random_ratio(1, 10);
    let single = rng.random_ratio(1, 10);
    let mut case = Case {
        seed,
        base: base.name,
        single,
        tables: base.tables.clone(),
        manifest: base.manifest.clone(),
        log: Vec::new(),
        kinds: Vec::new(),
        pending: Vec::new(),
        files: Vec::new(),
        expects: Vec::new(),
        format_only,
        manifest_touched: false,
    };
    if single {
        case.kinds.push("single-file");
    }
    for i in 0..case.tables.len() {
        if single && !case.tables[i].is_json() {
            let layout = if rng.random_bool(0.5) {
                Layout::Array
            } else {
                Layout::Value
            };
            convert(&mut case, i, Some(layout), &mut rng);
        } else if !single && rng.random_ratio(1, 5) {
            convert(&mut case, i, None, &mut rng);
        }
    }

    let n = rng.random_range(1..=3);
    let mut ops: Vec<Op> = (0..n)
        .map(|_| {
            if format_only {
                return choose(&mut rng, &[Op::CrlfMix, Op::BomToggle]);
            }
            match rng.random_range(0..100) {
                0..40 => choose(&mut rng, DESTRUCTIVE),
                40..82 => Op::Cell(choose(&mut rng, PAYLOADS)),
                82..86 => Op::RecordDuplicate,
                86..89 => Op::RecordDuplicateMany,
                89..92 => Op::RecordDelete,
                92..96 => Op::CrlfMix,
                _ => Op::BomToggle,
            }
        })
        .collect();
    ops.sort();
    // JSON payloads need a JSON table (converted before any row is touched).
    let json_payload = ops
        .iter()
        .any(|o| matches!(o, Op::Cell(p) if p.json_only()));
    if json_payload && !case.tables.iter().any(TableFile::is_json) {
        let i = rng.random_range(0..case.tables.len());
        convert(&mut case, i, Some(Layout::Array), &mut rng);
    }
    for &op in ops.iter().filter(|o| **o < Op::CrlfMix) {
        match op {
            Op::RecordDuplicate | Op::RecordDuplicateMany | Op::RecordDelete => {
                record_op(&mut case, op, &mut rng);
            }
            Op::Cell(p) => cell_op(&mut case, p, &mut rng),
            _ => {}
        }
    }
    render(&mut case, &mut rng);
    for &op in ops.iter().filter(|o| **o >= Op::CrlfMix) {
        bytes_op(&mut case, op, &mut rng);
    }
    case
}

/// Converts table `i` to another format (`layout`: the JSON layout to use;
/// `None`: any other format).
fn convert(case: &mut Case, i: usize, layout: Option<Layout>, rng: &mut ChaCha8Rng) {
    let t = &case.tables[i];
    let from = t.name();
    let current = match &t.body {
        Body::Csv(_) => None,
        Body::Json { layout, .. } => Some(*layout),
    };
    let target = layout.or_else(|| {
        let options: Vec<Option<Layout>> = [
            None,
            Some(Layout::Array),
            Some(Layout::Value),
            Some(Layout::Lines),
        ]
        .into_iter()
        .filter(|o| *o != current)
        .collect();
        choose(rng, &options)
    });
    let items = to_items(t.table, &t.body);
    let (body, kind) = match target {
        None => (Body::Csv(to_csv(&items, rng)), "convert:csv"),
        Some(layout) => (
            Body::Json {
                items,
                layout,
                pretty: layout != Layout::Lines && rng.random_bool(0.5),
            },
            match layout {
                Layout::Array => "convert:json-array",
                Layout::Value => "convert:json-value",
                Layout::Lines => "convert:jsonl",
            },
        ),
    };
    case.tables[i].body = body;
    let to = case.tables[i].name();
    case.log.push(format!("{kind}: {from} rewritten as {to}"));
    case.kinds.push(kind);
}

fn record_op(case: &mut Case, op: Op, rng: &mut ChaCha8Rng) {
    let i = rng.random_range(0..case.tables.len());
    let name = case.tables[i].name();
    let copies = match op {
        Op::RecordDuplicateMany => rng.random_range(1500..=2500),
        Op::RecordDuplicate => rng.random_range(1..=2),
        _ => 0,
    };
    let what = match &mut case.tables[i].body {
        Body::Csv(bytes) => {
            let recs = tokenize(bytes);
            if recs.len() < 2 {
                return;
            }
            let r = rng.random_range(1..recs.len());
            let rec = &recs[r];
            let line = line_at(bytes, rec.start);
            if copies == 0 {
                bytes.drain(rec.start..rec.term_end);
                format!("deleted the record on line {line}")
            } else {
                let mut one = Vec::new();
                if rec.term_end == rec.end {
                    one.push(b'\n');
                }
                one.extend_from_slice(&bytes[rec.start..rec.term_end]);
                let at = rec.term_end;
                bytes.splice(at..at, one.repeat(copies));
                format!("the record on line {line} repeated {copies} more times")
            }
        }
        Body::Json { items, .. } => {
            if items.is_empty() {
                return;
            }
            let r = rng.random_range(0..items.len());
            if copies == 0 {
                items.remove(r);
                format!("deleted row #{r}")
            } else {
                let copy = items[r].clone();
                items.splice(r + 1..r + 1, std::iter::repeat_n(copy, copies));
                format!("row #{r} repeated {copies} more times")
            }
        }
    };
    case.log.push(format!("{}: {name}: {what}", op.name()));
    case.kinds.push(op.name());
}

/// The text a kept row must hold in column `col` (of kind Text) after `value`.
fn expected_text(col: Option<&Col>, value: &Value) -> Option<String> {
    let col = col?;
    if col.kind != Kind::Text {
        return None;
    }
    let text = match value {
        Value::Text(b) => {
            let t = std::str::from_utf8(b).ok()?.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        Value::Raw(r) if r.first().is_some_and(u8::is_ascii_digit) => {
            Some(String::from_utf8_lossy(r).into_owned())
        }
        _ => None,
    }?;
    // GDAP relationship ids are identifiers, compared in lower case.
    Some(if col.name == "relationship_id" {
        text.to_lowercase()
    } else {
        text
    })
}

fn cell_op(case: &mut Case, payload: Payload, rng: &mut ChaCha8Rng) {
    // Candidate (table, column) pairs; a payload aimed at some kind of
    // column goes to such a column four times out of five.
    let mut candidates: Vec<(usize, Option<usize>, String)> = Vec::new();
    for (i, t) in case.tables.iter().enumerate() {
        match &t.body {
            Body::Csv(bytes) if !payload.json_only() => {
                if let Some(h) = tokenize(bytes).first() {
                    for (p, &span) in h.fields.iter().enumerate() {
                        candidates.push((
                            i,
                            Some(p),
                            header_name(&unquote(&bytes[span.0..span.1])),
                        ));
                    }
                }
            }
            Body::Csv(_) => {}
            Body::Json { items, .. } => {
                let mut keys: BTreeSet<String> =
                    schema(t.table).iter().map(|c| c.name.to_owned()).collect();
                for item in items {
                    if let Item::Object(entries) = item {
                        keys.extend(entries.iter().map(|(k, _)| k.clone()));
                    }
                }
                candidates.extend(keys.into_iter().map(|k| (i, None, k)));
            }
        }
    }
    let aimed: Vec<_> = candidates
        .iter()
        .filter(|(i, _, name)| {
            column(case.tables[*i].table, name).is_some_and(|c| payload.aims_at(c.kind))
        })
        .cloned()
        .collect();
    let pool = if !aimed.is_empty() && rng.random_ratio(4, 5) {
        aimed
    } else {
        candidates
    };
    let Some((ti, position, name)) = pool.choose(rng).cloned() else {
        return;
    };
    let table = case.tables[ti].table;
    let file = case.tables[ti].name();
    let col = column(table, &name);
    let json = case.tables[ti].is_json();
    let value = make_value(payload, col.map(|c| c.kind), json, rng);
    let text = expected_text(col, &value);
    let v = verdict(col, payload, json);
    let (row, what) = match &mut case.tables[ti].body {
        Body::Csv(bytes) => {
            let recs = tokenize(bytes);
            let Some(p) = position.filter(|_| recs.len() > 1) else {
                return;
            };
            let r = rng.random_range(1..recs.len());
            let Some(&span) = recs[r].fields.get(p) else {
                return;
            };
            let Value::Text(cell) = &value else {
                return;
            };
            let line = line_at(bytes, recs[r].start);
            splice(bytes, span, &csv_cell(cell, rng));
            (r, format!("line {line}, column {} `{name}`", p + 1))
        }
        Body::Json { items, .. } => {
            let objects: Vec<usize> = (0..items.len())
                .filter(|&r| matches!(items[r], Item::Object(_)))
                .collect();
            let Some(&r) = objects.choose(rng) else {
                return;
            };
            if payload == Payload::JsonNotObject {
                let raw = choose(rng, &[&b"42"[..], b"\"row\"", b"[1, 2]", b"null", b"true"]);
                items[r] = Item::Raw(raw.to_vec());
                (
                    r,
                    format!("row #{r} replaced by `{}`", String::from_utf8_lossy(raw)),
                )
            } else {
                let Item::Object(entries) = &mut items[r] else {
                    return;
                };
                let at = entries.iter().position(|(k, _)| *k == name);
                match (&value, at) {
                    (Value::Missing, Some(at)) => {
                        entries.remove(at);
                    }
                    (Value::Missing, None) => {}
                    (Value::Duplicate, Some(at)) => {
                        let again = entries[at].clone();
                        entries.push(again);
                    }
                    (Value::Duplicate, None) => return,
                    (Value::Text(t), _) | (Value::Raw(t), _) => {
                        let raw = match &value {
                            Value::Text(_) => json_string(t),
                            _ => t.clone(),
                        };
                        match at {
                            Some(at) => entries[at].1 = raw,
                            None => entries.push((name.clone(), raw)),
                        }
                    }
                }
                (r, format!("row #{r}, key `{name}`"))
            }
        }
    };
    // A second mutation of the same cell replaces the first.
    case.pending
        .retain(|p| !(p.table == ti && p.row == row && p.column == name));
    if payload == Payload::JsonNotObject {
        case.pending.retain(|p| !(p.table == ti && p.row == row));
    }
    case.pending.push(Pending {
        table: ti,
        row,
        position,
        column: if payload == Payload::JsonNotObject {
            String::new()
        } else {
            name
        },
        payload,
        verdict: v,
        text,
    });
    case.log.push(format!(
        "{}: {file}: {what} (expected: {v:?})",
        payload.name()
    ));
    case.kinds.push(payload.name());
}

/// Writes every file and locates the pending expectations in them.
fn render(case: &mut Case, rng: &mut ChaCha8Rng) {
    let mut spans: BTreeMap<usize, (String, Vec<(u32, u32)>)> = BTreeMap::new();
    if case.single {
        let mut out = Out::default();
        let manifest: Json = serde_json::from_slice(&case.manifest).expect("fixture manifest");
        out.put(b"{\n\"manifest\": ");
        out.put(&serde_json::to_vec(&manifest).expect("json"));
        for (i, t) in case.tables.iter().enumerate() {
            let Body::Json {
                items,
                layout,
                pretty,
            } = &t.body
            else {
                continue;
            };
            out.put(b",\n");
            out.put(&serde_json::to_vec(t.table).expect("json"));
            let value = *layout == Layout::Value;
            out.put(if value {
                b": {\"value\": [\n"
            } else {
                b": [\n"
            });
            let s = render_items(&mut out, items, Layout::Array, *pretty, rng);
            out.put(if value { b"]}" } else { b"]" });
            spans.insert(i, (SINGLE.to_owned(), s));
        }
        out.put(b"\n}\n");
        case.files.push(RFile {
            name: SINGLE.to_owned(),
            table: None,
            bytes: out.buf,
            destructive: Vec::new(),
        });
    } else {
        for (i, t) in case.tables.iter().enumerate() {
            let name = t.name();
            let bytes = match &t.body {
                Body::Csv(b) => b.clone(),
                Body::Json {
                    items,
                    layout,
                    pretty,
                } => {
                    let mut out = Out::default();
                    match layout {
                        Layout::Array => out.put(b"[\n"),
                        Layout::Value => out.put(
                            b"{\"@odata.context\": \"https://graph.microsoft.com/v1.0/$metadata#items\",\n\"value\": [\n",
                        ),
                        Layout::Lines => {}
                    }
                    let s = render_items(&mut out, items, *layout, *pretty, rng);
                    match layout {
                        Layout::Array => out.put(b"]\n"),
                        Layout::Value => out.put(b"]}\n"),
                        Layout::Lines => {}
                    }
                    spans.insert(i, (name.clone(), s));
                    out.buf
                }
            };
            case.files.push(RFile {
                name,
                table: Some(t.table),
                bytes,
                destructive: Vec::new(),
            });
        }
        case.files.push(RFile {
            name: "manifest.json".into(),
            table: None,
            bytes: case.manifest.clone(),
            destructive: Vec::new(),
        });
    }
    for p in std::mem::take(&mut case.pending) {
        let t = &case.tables[p.table];
        let (file, span, csv_col) = match &t.body {
            Body::Csv(bytes) => {
                let recs = tokenize(bytes);
                let line = line_at(bytes, recs[p.row].start);
                let col = p.position.map(|c| u32::try_from(c + 1).unwrap_or(u32::MAX));
                (t.name(), (line, line), col)
            }
            Body::Json { .. } => {
                let (file, s) = &spans[&p.table];
                (file.clone(), s[p.row], None)
            }
        };
        case.expects.push(Expect {
            file,
            table: t.table,
            column: p.column,
            csv_col,
            span,
            payload: p.payload,
            verdict: p.verdict,
            text: p.text,
        });
    }
}

/// Splits into lines, each with its `\n`.
fn lines_of(b: &[u8]) -> Vec<&[u8]> {
    b.split_inclusive(|&c| c == b'\n').collect()
}

/// Applies a mutation that works on the written bytes.
fn bytes_op(case: &mut Case, op: Op, rng: &mut ChaCha8Rng) {
    let csv_files: Vec<usize> = (0..case.files.len())
        .filter(|&i| case.files[i].name.ends_with(".csv"))
        .collect();
    let needs_csv = matches!(op, Op::HeaderSwap | Op::HeaderDelete);
    let fi = if needs_csv {
        match csv_files.choose(rng) {
            Some(&i) => i,
            None => {
                case.log
                    .push(format!("{}: skipped, no CSV file", op.name()));
                return;
            }
        }
    } else {
        let tables: Vec<usize> = (0..case.files.len())
            .filter(|&i| case.files[i].table.is_some() || case.single)
            .collect();
        match tables.choose(rng) {
            Some(&i) if !rng.random_ratio(1, 10) => i,
            _ => case.files.len() - 1,
        }
    };
    let f = &mut case.files[fi];
    let b = &mut f.bytes;
    let csv = f.name.ends_with(".csv");
    let what = match op {
        Op::CrlfMix => {
            let mut out = Vec::with_capacity(b.len() + 64);
            if csv {
                let mut last = 0;
                for rec in tokenize(b) {
                    let term = &b[rec.end..rec.term_end];
                    if term == b"\n" || term == b"\r\n" {
                        out.extend_from_slice(&b[last..rec.end]);
                        out.extend_from_slice(if rng.random_bool(0.5) { b"\r\n" } else { b"\n" });
                        last = rec.term_end;
                    }
                }
                out.extend_from_slice(&b[last..]);
            } else {
                // Every line end of a JSON file written here is white space.
                for line in lines_of(b) {
                    match line.strip_suffix(b"\n") {
                        Some(l) => {
                            out.extend_from_slice(l.strip_suffix(b"\r").unwrap_or(l));
                            out.extend_from_slice(if rng.random_bool(0.5) {
                                b"\r\n"
                            } else {
                                b"\n"
                            });
                        }
                        None => out.extend_from_slice(line),
                    }
                }
            }
            *b = out;
            "line ends mixed (CRLF and LF)".to_owned()
        }
        Op::BomToggle => {
            if b.starts_with(BOM) {
                b.drain(..BOM.len());
                "leading BOM removed".to_owned()
            } else {
                b.splice(0..0, BOM.iter().copied());
                "leading BOM added".to_owned()
            }
        }
        Op::Truncate => {
            let at = rng.random_range(0..=b.len());
            b.truncate(at);
            format!("truncated to {at} bytes")
        }
        Op::InsertByte => {
            let at = rng.random_range(0..=b.len());
            let byte = choose(
                rng,
                &[
                    b'"', b',', b'\n', b'\r', 0, b'{', b'[', b']', b'}', 0xFF, 0xC3, b';', b'\\',
                    b'x', b' ',
                ],
            );
            b.insert(at, byte);
            format!("byte 0x{byte:02x} inserted at offset {at}")
        }
        Op::DeleteByte => {
            if b.is_empty() {
                return;
            }
            let at = rng.random_range(0..b.len());
            let byte = b.remove(at);
            format!("byte 0x{byte:02x} deleted at offset {at}")
        }
        Op::UnbalancedQuote => {
            let fields: Vec<usize> = if csv {
                tokenize(b)
                    .iter()
                    .skip(1)
                    .flat_map(|r| r.fields.iter().map(|f| f.0))
                    .collect()
            } else {
                Vec::new()
            };
            let at = match fields.choose(rng) {
                Some(&at) if rng.random_bool(0.7) => at,
                _ => rng.random_range(0..=b.len()),
            };
            b.insert(at, b'"');
            format!("`\"` inserted at offset {at} (line {})", line_at(b, at))
        }
        Op::LineDuplicate | Op::LineDelete => {
            let lines = lines_of(b);
            if lines.is_empty() {
                return;
            }
            let i = rng.random_range(0..lines.len());
            let mut out: Vec<u8> = Vec::with_capacity(b.len() + lines[i].len() + 1);
            for (j, line) in lines.iter().enumerate() {
                if j == i && op == Op::LineDelete {
                    continue;
                }
                out.extend_from_slice(line);
                if j == i {
                    if !line.ends_with(b"\n") {
                        out.push(b'\n');
                    }
                    out.extend_from_slice(line);
                }
            }
            *b = out;
            format!(
                "line {} {}",
                i + 1,
                if op == Op::LineDelete {
                    "deleted"
                } else {
                    "duplicated"
                }
            )
        }
        Op::HeaderSwap | Op::HeaderDelete => {
            let recs = tokenize(b);
            let Some(h) = recs.first().filter(|h| h.fields.len() >= 2) else {
                return;
            };
            let mut names: Vec<Vec<u8>> = h.fields.iter().map(|&(s, e)| b[s..e].to_vec()).collect();
            let i = rng.random_range(0..names.len());
            let what = if op == Op::HeaderSwap {
                let mut j = rng.random_range(0..names.len() - 1);
                if j >= i {
                    j += 1;
                }
                names.swap(i, j);
                format!(
                    "header names {} and {} swapped",
                    String::from_utf8_lossy(&names[j]),
                    String::from_utf8_lossy(&names[i])
                )
            } else {
                let gone = names.remove(i);
                format!("header name {} deleted", String::from_utf8_lossy(&gone))
            };
            let header = names.join(&b","[..]);
            let span = (h.start, h.end);
            splice(b, span, &header);
            what
        }
        Op::MidBom => {
            let starts: Vec<usize> = b
                .iter()
                .enumerate()
                .filter(|&(i, &c)| c == b'\n' && i + 1 < b.len())
                .map(|(i, _)| i + 1)
                .collect();
            let at = match starts.choose(rng) {
                Some(&at) if rng.random_bool(0.7) => at,
                _ => rng.random_range(0..=b.len()),
            };
            b.splice(at..at, BOM.iter().copied());
            format!("BOM inserted at offset {at} (line {})", line_at(b, at))
        }
        Op::RecordDuplicate | Op::RecordDuplicateMany | Op::RecordDelete | Op::Cell(_) => {
            return;
        }
    };
    if op.destructive() {
        f.destructive.push(op.name());
        // The manifest, or the single file that holds it.
        if f.table.is_none() {
            case.manifest_touched = true;
        }
    }
    case.log.push(format!("{}: {}: {what}", op.name(), f.name));
    case.kinds.push(op.name());
}

// ----------------------------------------------------------------- oracles

/// What an independent reading of a CSV file finds: RFC 4180 quoting as
/// the README states it, read byte by byte here rather than with the
/// loader's parser.
struct CsvOracle {
    /// Header names, normalised (see [`header_name`]).
    header: Vec<String>,
    header_line: u32,
    /// Required columns the header lacks, known columns it names twice.
    missing: Vec<&'static str>,
    duplicated: Vec<&'static str>,
    /// The header breaks the quoting rules (or a name spans lines).
    header_quote: bool,
    /// The lines where an error may be: where each record starts (the
    /// header's included) and where a quote that breaks the rules is.
    starts: BTreeSet<u32>,
    /// Rows after the header: records (a line cut by a bare CR is one),
    /// blank ones included, and blank lines.
    rows: u64,
}

impl CsvOracle {
    fn header_ok(&self) -> bool {
        self.missing.is_empty() && self.duplicated.is_empty() && !self.header_quote
    }
}

/// A quoting breach: what it is and the offset of its quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Breach {
    Stray(usize),
    /// Text after the closing quote (opening and closing offsets).
    AfterClose(usize, usize),
    /// Open at the end of the file.
    Unclosed(usize),
}

/// One record read by [`read_record`].
struct OracleRecord {
    fields: Vec<Vec<u8>>,
    breach: Option<Breach>,
    /// The first quoted field holding a line end: its opening quote.
    span_open: Option<usize>,
    /// Past the record's line end.
    end: usize,
    /// The record ended at a CR followed by something else than LF.
    bare_cr: bool,
}

/// Reads one record from `b[start..]` as RFC 4180 reads it, breaches
/// read on leniently (a stray quote and text after a closing quote as
/// data, an unclosed quote to the end of the file).
fn read_record(b: &[u8], start: usize) -> OracleRecord {
    let mut r = OracleRecord {
        fields: Vec::new(),
        breach: None,
        span_open: None,
        end: b.len(),
        bare_cr: false,
    };
    let mut i = start;
    loop {
        let mut field = Vec::new();
        let mut quoted_open = None;
        if b.get(i) == Some(&b'"') {
            let open = i;
            quoted_open = Some(open);
            i += 1;
            loop {
                match b.get(i) {
                    None => {
                        r.breach.get_or_insert(Breach::Unclosed(open));
                        break;
                    }
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                        field.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        if c == b'\n' && r.span_open.is_none() {
                            r.span_open = Some(open);
                        }
                        field.push(c);
                        i += 1;
                    }
                }
            }
            if let Some(&c) = b.get(i) {
                if !matches!(c, b',' | b'\r' | b'\n') {
                    r.breach.get_or_insert(Breach::AfterClose(open, i - 1));
                }
            }
        }
        // Unquoted, or what follows a closing quote.
        while let Some(&c) = b.get(i) {
            if matches!(c, b',' | b'\r' | b'\n') {
                break;
            }
            if c == b'"' && quoted_open.is_none() {
                r.breach.get_or_insert(Breach::Stray(i));
            }
            field.push(c);
            i += 1;
        }
        r.fields.push(field);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'\n') => {
                r.end = i + 1;
                return r;
            }
            Some(b'\r') => {
                r.end = i + 1;
                r.bare_cr = b.get(i + 1).is_some_and(|&c| c != b'\n');
                if b.get(i + 1) == Some(&b'\n') {
                    r.end = i + 2;
                }
                return r;
            }
            _ => {
                r.end = b.len();
                return r;
            }
        }
    }
}

fn csv_oracle(table: &str, b: &[u8]) -> CsvOracle {
    let b = strip_bom(b);
    let mut o = CsvOracle {
        header: Vec::new(),
        header_line: 0,
        missing: Vec::new(),
        duplicated: Vec::new(),
        header_quote: false,
        starts: BTreeSet::new(),
        rows: 0,
    };
    let line_of = |at: usize| 1 + count_nl(&b[..at.min(b.len())]);
    let mut pos = 0;
    let mut header = true;
    // The start line of the record read last, when it ended at a bare CR.
    let mut cut_start: Option<u32> = None;
    while pos < b.len() {
        let line = line_of(pos);
        if cut_start.is_none() {
            // At a line start: a line of nothing but CRs is blank.
            let eol = b[pos..].iter().position(|&c| c == b'\n');
            if let Some(n) = eol.filter(|&n| b[pos..pos + n].iter().all(|&c| c == b'\r')) {
                if !header {
                    o.rows += 1;
                }
                pos += n + 1;
                continue;
            }
            if eol.is_none() && b[pos..].iter().all(|&c| c == b'\r') {
                break;
            }
        } else {
            // After a bare CR: more CRs, then the rest of the line.
            while b.get(pos) == Some(&b'\r') {
                pos += 1;
            }
            match b.get(pos) {
                None => break,
                Some(b'\n') => {
                    pos += 1;
                    cut_start = None;
                    continue;
                }
                Some(_) => {}
            }
        }
        let r = read_record(b, pos);
        let after_cr = cut_start == Some(line);
        o.starts.insert(line);
        if let Some(Breach::Stray(at) | Breach::AfterClose(at, _) | Breach::Unclosed(at)) = r.breach
        {
            o.starts.insert(line_of(at));
        }
        if std::mem::take(&mut header) {
            o.header = r.fields.iter().map(|f| header_name(f)).collect();
            o.header_line = line;
            o.header_quote = r.breach.is_some() || r.span_open.is_some();
            for c in schema(table) {
                let n = o.header.iter().filter(|h| *h == c.name).count();
                if n == 0 && c.required {
                    o.missing.push(c.name);
                }
                if n > 1 {
                    o.duplicated.push(c.name);
                }
            }
            pos = r.end;
            // (Line 0: the rest of the header's line is no part of a row.)
            cut_start = r.bare_cr.then_some(0);
            continue;
        }
        if !after_cr {
            o.rows += 1;
        }
        let whole = !after_cr && !r.bare_cr;
        let blank = r.fields.iter().all(|f| f.trim_ascii().is_empty());
        // Where an unbalanced quote opened: reading starts again on the
        // line after it.
        let unbalanced = match r.breach {
            Some(Breach::Unclosed(open)) if b[open..].contains(&b'\n') => Some(open),
            Some(Breach::AfterClose(open, close)) if b[open..close].contains(&b'\n') => Some(open),
            None if whole && !blank && r.fields.len() != o.header.len() => r.span_open,
            _ => None,
        };
        if let Some(open) = unbalanced {
            o.starts.insert(line_of(open));
            let nl = b[open..]
                .iter()
                .position(|&c| c == b'\n')
                .expect("spans lines");
            pos = open + nl + 1;
            cut_start = None;
        } else {
            pos = r.end;
            cut_start = r.bare_cr.then_some(line);
        }
    }
    o
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(BOM).unwrap_or(b)
}

/// The number of rows of a JSON table value, if it is one.
fn table_len(v: &Json) -> Option<u64> {
    match v {
        Json::Array(a) => Some(a.len() as u64),
        Json::Object(m) => match m.get("value") {
            Some(Json::Array(a)) => Some(a.len() as u64),
            _ => None,
        },
        _ => None,
    }
}

/// Where serde_json finds a document's first problem. `exact` is false
/// for the recursion limit, which serde_json's value parser and its
/// skipping parser (what a validating pass uses) hit at different places.
struct JsonError {
    line: usize,
    column: usize,
    exact: bool,
}

fn json_error(e: &serde_json::Error) -> JsonError {
    JsonError {
        line: e.line(),
        column: e.column(),
        exact: !e.to_string().starts_with("recursion limit exceeded"),
    }
}

/// serde_json's verdict on a whole document.
fn parse_json(b: &[u8]) -> Result<Json, JsonError> {
    serde_json::from_slice(strip_bom(b)).map_err(|e| json_error(&e))
}

/// The first problem serde_json finds in a document: a syntax error of
/// the document (what skipping over it finds), else one that reading its
/// values finds (numbers out of range, strings that are not UTF-8 or hold
/// control characters), in document order.
fn json_problem(b: &[u8]) -> Option<JsonError> {
    let b = strip_bom(b);
    match serde_json::from_slice::<serde::de::IgnoredAny>(b) {
        Err(e) => Some(json_error(&e)),
        Ok(_) => serde_json::from_slice::<Json>(b)
            .err()
            .map(|e| json_error(&e)),
    }
}

/// JSONL: the line and serde_json's problem (if the line is not JSON) of
/// every non-blank line.
fn jsonl_lines(b: &[u8]) -> Vec<(u32, Option<JsonError>)> {
    let mut out = Vec::new();
    for (i, raw) in strip_bom(b).split(|&c| c == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = raw.strip_suffix(b"\r").unwrap_or(raw);
        // Each line is one row, read once (no validating pass first).
        let bad = serde_json::from_slice::<Json>(text)
            .err()
            .map(|e| json_error(&e));
        out.push((u32::try_from(i + 1).unwrap_or(u32::MAX), bad));
    }
    out
}

/// Whether a manifest value gives a `captured_at` (null or absent: no).
fn has_captured_at(m: &Json) -> bool {
    m.as_object().is_some_and(|m| {
        m.iter()
            .any(|(k, v)| k.trim().eq_ignore_ascii_case("captured_at") && !v.is_null())
    })
}

/// Characters that make a quoted value look like something it is not.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{feff}' | '\u{200b}'..='\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{2060}'
        )
}

// ------------------------------------------------------------------ checks

/// The last panic's message and location, recorded by the panic hook.
static PANIC: Mutex<Option<String>> = Mutex::new(None);
/// Calls of [`guarded`] running: panics inside them are recorded, not printed.
static GUARDED: AtomicUsize = AtomicUsize::new(0);

/// Runs `f`, turning a panic into its message and location.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    *PANIC.lock().unwrap_or_else(PoisonError::into_inner) = None;
    GUARDED.fetch_add(1, Ordering::SeqCst);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.fetch_sub(1, Ordering::SeqCst);
    result.map_err(|payload| {
        PANIC
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_else(|| {
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "a panic".into())
            })
    })
}

/// A written file, as the checks see it.
struct Seen<'c> {
    file: &'c RFile,
    display: String,
    lines: u32,
    csv: Option<CsvOracle>,
}

/// The checks of one case; problems are collected, never asserted one by one.
struct Checker<'c> {
    case: &'c Case,
    files: Vec<Seen<'c>>,
    dir_display: String,
    problems: BTreeSet<String>,
}

impl<'c> Checker<'c> {
    fn new(case: &'c Case, dir: &Path) -> Self {
        let files = case
            .files
            .iter()
            .map(|f| Seen {
                file: f,
                display: dir.join(&f.name).display().to_string(),
                lines: count_nl(&f.bytes) + 1,
                csv: f
                    .table
                    .filter(|_| f.name.ends_with(".csv"))
                    .map(|t| csv_oracle(t, &f.bytes)),
            })
            .collect();
        Checker {
            case,
            files,
            dir_display: dir.display().to_string(),
            problems: BTreeSet::new(),
        }
    }

    fn problem(&mut self, tag: &str, text: String) {
        self.problems.insert(format!("[{tag}] {text}"));
    }

    fn seen(&self, name: &str) -> Option<&Seen<'c>> {
        self.files.iter().find(|s| s.file.name == name)
    }

    fn precise(&self, name: &str) -> bool {
        self.seen(name)
            .is_some_and(|s| s.file.destructive.is_empty())
    }

    /// Errors about the file `name` among `diags`.
    fn errors_in<'d>(&self, diags: &'d [Diagnostic], name: &str) -> Vec<&'d Diagnostic> {
        let Some(s) = self.seen(name) else {
            return Vec::new();
        };
        diags
            .iter()
            .filter(|d| d.level == Level::Error && d.file == s.display)
            .collect()
    }

    /// Whether `d` is an error about the cell or row of `e`.
    fn names(&self, e: &Expect, d: &Diagnostic) -> bool {
        let Some(s) = self.seen(&e.file) else {
            return false;
        };
        if d.level != Level::Error || d.file != s.display {
            return false;
        }
        let Some(line) = d.line else {
            return false;
        };
        if e.csv_col.is_some() {
            line == e.span.0
                && d.column == e.csv_col
                && d.field
                    .as_deref()
                    .is_some_and(|f| f.trim().eq_ignore_ascii_case(&e.column))
        } else {
            (e.span.0..=e.span.1).contains(&line)
                && (e.column.is_empty()
                    || d.column.is_some()
                    || d.field
                        .as_deref()
                        .is_some_and(|f| f.trim().eq_ignore_ascii_case(e.column.trim())))
        }
    }

    /// Where a diagnostic points, and what it says.
    fn check_diagnostics(&mut self, diags: &[Diagnostic]) {
        for d in diags {
            self.check_diagnostic(d);
        }
        // Invalid JSON: serde_json's line and column of the whole file
        // (README: "Invalid JSON names its line and column").
        for i in 0..self.files.len() {
            let s = &self.files[i];
            let name = s.file.name.clone();
            let display = s.display.clone();
            let in_file: Vec<&Diagnostic> = diags
                .iter()
                .filter(|d| d.level == Level::Error && d.file == display)
                .collect();
            if name.ends_with(".json") {
                if let Some(e) = json_problem(&s.file.bytes) {
                    let (l, c) = (e.line, e.column);
                    let at = |d: &&Diagnostic| {
                        d.column.is_some()
                            && (!e.exact
                                || d.line.map(u64::from) == Some(l as u64)
                                    && d.column.map(u64::from) == Some(c as u64))
                    };
                    if !in_file.iter().any(at) {
                        let got: Vec<String> = in_file.iter().map(|d| d.to_string()).collect();
                        let tag = if in_file.iter().any(|d| d.column.is_some()) {
                            "JSON error position"
                        } else {
                            "invalid JSON accepted"
                        };
                        self.problem(
                            tag,
                            format!(
                                "{name} is not valid JSON (serde_json: line {l} column {c}) but no error is at {l}:{c}; errors: {got:?}"
                            ),
                        );
                    }
                }
            } else if name.ends_with(".jsonl") {
                for (line, bad) in jsonl_lines(&s.file.bytes) {
                    let Some(e) = bad else { continue };
                    let col = e.column;
                    let here: Vec<&&Diagnostic> =
                        in_file.iter().filter(|d| d.line == Some(line)).collect();
                    let at = |d: &&&Diagnostic| {
                        d.column.is_some()
                            && (!e.exact || d.column.map(u64::from) == Some(col as u64))
                    };
                    if !here.iter().any(at) {
                        let got: Vec<String> = here.iter().map(|d| d.to_string()).collect();
                        self.problem(
                            "JSONL error position",
                            format!(
                                "{name} line {line} is not valid JSON (serde_json: column {col}) but no error there gives that column; errors at the line: {got:?}"
                            ),
                        );
                    }
                }
            }
        }
    }

    fn check_diagnostic(&mut self, d: &Diagnostic) {
        if d.message.chars().count() > 1000 {
            let short: String = d.message.chars().take(120).collect();
            self.problem(
                "unbounded message",
                format!(
                    "a {} of {} characters quotes a whole value: {}: {short}…",
                    d.level,
                    d.message.chars().count(),
                    d.file
                ),
            );
        }
        for text in [Some(&d.message), d.expected.as_ref()]
            .into_iter()
            .flatten()
        {
            if let Some(c) = text.chars().find(|&c| invisible(c)) {
                self.problem(
                    "misleading message",
                    format!(
                        "a diagnostic's text holds the invisible character U+{:04X} unescaped, so the value it quotes looks like another: {:?}",
                        u32::from(c),
                        d.to_string()
                    ),
                );
            }
        }
        let Some(i) = self.files.iter().position(|s| s.display == d.file) else {
            if d.level == Level::Error || d.file != self.dir_display {
                self.problem(
                    "diagnostic without a file",
                    format!("names no file of the snapshot: {d}"),
                );
            }
            return;
        };
        if d.level != Level::Error {
            return;
        }
        let (name, lines) = (self.files[i].file.name.clone(), self.files[i].lines);
        let Some(line) = d.line else {
            self.problem("error without a line", format!("{name}: {d}"));
            return;
        };
        if line == 0 || line > lines {
            self.problem(
                "error line out of the file",
                format!("{name} has {lines} lines: {d}"),
            );
        }
        let Some(o) = &self.files[i].csv else {
            return;
        };
        let problem = match d.column {
            None => {
                let header_problem = line == o.header_line
                    && d.field
                        .as_deref()
                        .is_some_and(|f| o.missing.contains(&f) || o.duplicated.contains(&f));
                (!header_problem).then(|| ("CSV error without a column", String::new()))
            }
            Some(c) => {
                let header = usize::try_from(c)
                    .ok()
                    .and_then(|c| c.checked_sub(1))
                    .and_then(|c| o.header.get(c));
                if c == 0 {
                    Some(("CSV column 0", String::new()))
                } else if line == o.header_line && o.header_quote && d.field.is_none() {
                    // A header whose quoting is broken has no names to give.
                    None
                } else if let Some(h) = header.filter(|h| {
                    !d.field
                        .as_deref()
                        .is_some_and(|f| f.trim().eq_ignore_ascii_case(h))
                }) {
                    Some((
                        "CSV column and field disagree",
                        format!(" (column {c} is `{h}` in the header)"),
                    ))
                } else if !o.starts.contains(&line) {
                    Some((
                        "CSV error line starts no record",
                        format!(" (records start on lines {:?})", first_few(&o.starts)),
                    ))
                } else {
                    None
                }
            }
        };
        if let Some((tag, more)) = problem {
            self.problem(tag, format!("{name}: {d}{more}"));
        }
    }

    /// Errors in files that only precise mutations touched must be those
    /// the mutations predict, at their lines.
    fn check_no_spurious(&mut self, diags: &[Diagnostic]) {
        let mut spurious = Vec::new();
        for s in &self.files {
            if !s.file.destructive.is_empty() || s.file.table.is_none() && !self.case.single {
                continue;
            }
            for d in diags
                .iter()
                .filter(|d| d.level == Level::Error && d.file == s.display)
            {
                // A repeated record whose copy another mutation changed
                // conflicts with it (README "Duplicate rows").
                let conflict = d.message.starts_with("duplicate ")
                    && self.case.kinds.iter().any(|k| {
                        matches!(
                            *k,
                            "record:duplicate" | "record:duplicate-past-a-chunk" | "line:duplicate"
                        )
                    });
                let explained = conflict
                    || self.case.expects.iter().any(|e| {
                        e.file == s.file.name && e.verdict != Verdict::Valid && self.names(e, d)
                    });
                if !explained {
                    spurious.push(format!("{}: {d}", s.file.name));
                }
            }
        }
        for s in spurious {
            self.problem("error where no mutation is", s);
        }
    }

    /// The run as the CLI does it by default.
    fn check_default(&mut self, outcome: &Result<Result<Audit, AppError>, String>) {
        let precise_invalid: Vec<Expect> = self
            .case
            .expects
            .iter()
            .filter(|e| e.verdict == Verdict::Invalid && self.precise(&e.file))
            .cloned()
            .collect();
        let must_fail: Vec<String> = self
            .files
            .iter()
            .filter(|s| {
                s.file.destructive == ["header:delete-a-name"]
                    && s.csv.as_ref().is_some_and(|o| o.rows > 0)
            })
            .map(|s| s.file.name.clone())
            .collect();
        let all_valid = self.files.iter().all(|s| s.file.destructive.is_empty())
            && !self.case.manifest_touched
            && self
                .case
                .expects
                .iter()
                .all(|e| e.verdict == Verdict::Valid);
        match outcome {
            Err(p) => self.problem("panic", format!("audit: {p}")),
            Ok(Ok(a)) => {
                if let Some(d) = a.diagnostics.iter().find(|d| d.is_error()) {
                    self.problem("success with errors", format!("{d}"));
                }
                for e in &precise_invalid {
                    self.problem(
                        "invalid row accepted",
                        format!(
                            "the run succeeded although {}:{} `{}` holds {} (row kept or dropped without an error)",
                            e.file, e.span.0, e.column, e.payload.name()
                        ),
                    );
                }
                for f in &must_fail {
                    self.problem(
                        "invalid file accepted",
                        format!("the run succeeded although {f} lost a header name (every row has one field too many)"),
                    );
                }
            }
            Ok(Err(AppError::Diagnostics(ds))) => {
                if all_valid {
                    let errors: Vec<String> = ds
                        .iter()
                        .filter(|d| d.is_error())
                        .map(ToString::to_string)
                        .collect();
                    self.problem(
                        "valid snapshot rejected",
                        format!("only valid changes, yet the run failed: {errors:?}"),
                    );
                }
                if !ds.iter().any(Diagnostic::is_error) {
                    self.problem("failure without an error", format!("{ds:?}"));
                }
                self.check_diagnostics(ds);
                self.check_no_spurious(ds);
                for e in &precise_invalid {
                    // A JSON document serde_json cannot read may be
                    // rejected as a whole, at its first problem.
                    let whole_file = !e.file.ends_with(".csv")
                        && !e.file.ends_with(".jsonl")
                        && self
                            .seen(&e.file)
                            .is_some_and(|f| parse_json(&f.file.bytes).is_err())
                        && self
                            .errors_in(ds, &e.file)
                            .iter()
                            .any(|d| d.column.is_some());
                    if !whole_file && !ds.iter().any(|d| self.names(e, d)) {
                        let near: Vec<String> = self
                            .errors_in(ds, &e.file)
                            .iter()
                            .filter(|d| {
                                d.line
                                    .is_some_and(|l| l + 2 >= e.span.0 && l <= e.span.1 + 2)
                            })
                            .map(|d| d.to_string())
                            .collect();
                        self.problem(
                            "invalid value not reported",
                            format!(
                                "{}:{} column {:?} `{}` holds {}: no error names that line{} and field; errors near: {near:?}",
                                e.file,
                                e.span.0,
                                e.csv_col,
                                e.column,
                                e.payload.name(),
                                if e.csv_col.is_some() { ", column" } else { "" }
                            ),
                        );
                    }
                }
                for f in &must_fail {
                    if self.errors_in(ds, f).is_empty() {
                        self.problem(
                            "invalid file not reported",
                            format!("{f} lost a header name but has no error"),
                        );
                    }
                }
            }
            Ok(Err(AppError::Usage(m))) => {
                let manifest = match self.case.single {
                    true => self.seen(SINGLE),
                    false => self.seen("manifest.json"),
                }
                .map(|s| parse_json(&s.file.bytes));
                let no_captured_at = match manifest {
                    Some(Ok(v)) if self.case.single => {
                        !v.get("manifest").is_some_and(has_captured_at)
                    }
                    Some(Ok(v)) => !has_captured_at(&v),
                    _ => false,
                };
                if !(self.case.manifest_touched && no_captured_at) {
                    self.problem("usage error", m.clone());
                }
            }
            Ok(Err(e)) => self.problem("unexpected error", e.to_string()),
        }
    }

    /// The run with `keep_going`: accounting, rows kept and rejected, and
    /// findings.json.
    fn check_kept(&mut self, a: &Audit) {
        let s = &a.snapshot;
        self.check_diagnostics(&a.diagnostics);
        self.check_no_spurious(&a.diagnostics);
        let single = self.case.single.then(|| {
            self.seen(SINGLE)
                .map(|f| parse_json(&f.file.bytes))
                .expect("the single file is written")
        });
        let mut rejected_per_file: BTreeMap<String, u64> = BTreeMap::new();
        for (table, _) in SCHEMA {
            let Some(acc) = s.accounting.get(*table).cloned() else {
                self.problem("accounting", format!("no accounting for table {table}"));
                continue;
            };
            let (read, used, rejected, skipped) = (
                acc.rows_read,
                acc.rows_used,
                acc.rows_rejected,
                acc.rows_skipped,
            );
            if read != used + rejected + skipped {
                self.problem(
                    "accounting",
                    format!("{table}: rows read {read} != used {used} + rejected {rejected} + skipped {skipped}"),
                );
            }
            let in_snapshot = row_locs(s, table).len() as u64;
            if in_snapshot != used {
                self.problem(
                    "accounting",
                    format!("{table}: {used} rows counted as used, {in_snapshot} in the snapshot"),
                );
            }
            let file = if self.case.single {
                Some(SINGLE.to_owned())
            } else {
                self.files
                    .iter()
                    .find(|f| f.file.table == Some(*table))
                    .map(|f| f.file.name.clone())
            };
            let Some(file) = file else {
                if read != 0 {
                    self.problem(
                        "accounting",
                        format!("{table}: no file, yet {read} rows read"),
                    );
                }
                continue;
            };
            *rejected_per_file.entry(file.clone()).or_default() += rejected;
            let has_error = !self.errors_in(&a.diagnostics, &file).is_empty();
            // What an independent parse of the file holds.
            let expected: Result<u64, &str> = if let Some(doc) = &single {
                match doc {
                    Ok(Json::Object(m)) => {
                        match m.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(table)) {
                            Some((_, v)) => table_len(v).ok_or("a table that is not an array"),
                            None => Ok(0),
                        }
                    }
                    Ok(_) => Err("a document that is not an object"),
                    Err(_) => Err("invalid JSON"),
                }
            } else if file.ends_with(".csv") {
                let o = self
                    .seen(&file)
                    .and_then(|f| f.csv.as_ref())
                    .expect("CSV oracle");
                if o.header_ok() {
                    Ok(o.rows)
                } else {
                    Err("a header without a required column, or with one twice")
                }
            } else if file.ends_with(".jsonl") {
                let f = self.seen(&file).expect("written");
                Ok(jsonl_lines(&f.file.bytes).len() as u64)
            } else {
                let f = self.seen(&file).expect("written");
                match parse_json(&f.file.bytes) {
                    Ok(v) => table_len(&v).ok_or("a document that is not a table"),
                    Err(_) => Err("invalid JSON"),
                }
            };
            match expected {
                Ok(n) if n != read => self.problem(
                    "rows lost or invented",
                    format!("{table}: {file} holds {n} rows (independent parse), {read} read"),
                ),
                Err(why) if !has_error => self.problem(
                    "bad file without an error",
                    format!("{table}: {file} is {why}, yet no error names it ({read} rows read)"),
                ),
                Err(_) if file.ends_with(".csv") && read != 0 => self.problem(
                    "rows read past a bad header",
                    format!("{table}: {file} has a bad header, yet {read} rows read"),
                ),
                _ => {}
            }
        }
        // Every rejected row has an error of its own, or the warning for a
        // row that repeats an earlier one exactly (README "Duplicate rows").
        for (file, rejected) in rejected_per_file {
            let errors = self.errors_in(&a.diagnostics, &file);
            let repeats = self.seen(&file).map_or(0, |s| {
                a.diagnostics
                    .iter()
                    .filter(|d| {
                        d.level == Level::Warning
                            && d.file == s.display
                            && d.message.starts_with("duplicate ")
                    })
                    .map(|d| folded_count(&d.message))
                    .sum::<usize>()
            });
            if ((errors.len() + repeats) as u64) < rejected {
                let shown: Vec<String> = errors.iter().take(5).map(|d| d.to_string()).collect();
                self.problem(
                    "rejected rows without an error",
                    format!(
                        "{file}: {rejected} rows rejected, {} errors: {shown:?}",
                        errors.len()
                    ),
                );
            }
        }
        self.check_rows(a);
        self.check_report(a);
    }

    /// The mutated rows: kept, or rejected with an error, as predicted.
    fn check_rows(&mut self, a: &Audit) {
        let s = &a.snapshot;
        for e in self.case.expects.clone() {
            if !self.precise(&e.file) {
                continue;
            }
            let Some(display) = self.seen(&e.file).map(|f| f.display.clone()) else {
                continue;
            };
            let Some(index) = s.files.iter().position(|f| *f == display) else {
                self.problem(
                    "accounting",
                    format!("{} is not among the files read", e.file),
                );
                continue;
            };
            let loc = Loc {
                file: u16::try_from(index).unwrap_or(u16::MAX),
                line: e.span.0,
            };
            let present = row_locs(s, e.table).contains(&loc);
            let errors = self.errors_in(&a.diagnostics, &e.file);
            // A .json file that is not valid JSON contributes no row.
            let file_rejected = !e.file.ends_with(".csv")
                && !e.file.ends_with(".jsonl")
                && s.accounting
                    .get(e.table)
                    .is_some_and(|acc| acc.rows_read == 0)
                && !errors.is_empty();
            let verdicts: Vec<Verdict> = self
                .case
                .expects
                .iter()
                .filter(|o| o.file == e.file && o.span == e.span && o.table == e.table)
                .map(|o| o.verdict)
                .collect();
            // One invalid value rejects the row; otherwise any undecided
            // value leaves it undecided.
            let row_verdict = if verdicts.contains(&Verdict::Invalid) {
                Verdict::Invalid
            } else if verdicts.contains(&Verdict::Either) {
                Verdict::Either
            } else {
                Verdict::Valid
            };
            let at = format!("{}:{}", e.file, e.span.0);
            if present {
                if e.verdict == Verdict::Invalid {
                    self.problem(
                        "invalid row accepted",
                        format!(
                            "{at} kept although `{}` holds {}",
                            e.column,
                            e.payload.name()
                        ),
                    );
                }
                if let (Some(want), Some(got)) = (&e.text, stored_text(s, e.table, &e.column, loc))
                {
                    if row_verdict != Verdict::Invalid && got.as_deref() != Some(want.as_str()) {
                        let show = |t: Option<&str>| {
                            t.map(|t| {
                                let short: String = t.chars().take(80).collect();
                                format!("{short:?} ({} bytes)", t.len())
                            })
                        };
                        self.problem(
                            "value changed",
                            format!(
                                "{at} `{}` after {}: holds {:?}, the file says {:?}",
                                e.column,
                                e.payload.name(),
                                show(got.as_deref()),
                                show(Some(want))
                            ),
                        );
                    }
                }
            } else if !file_rejected {
                if row_verdict == Verdict::Valid {
                    self.problem(
                        "valid row dropped",
                        format!(
                            "{at} (after {} in `{}`) is not in the snapshot",
                            e.payload.name(),
                            e.column
                        ),
                    );
                }
                let explained = errors
                    .iter()
                    .any(|d| d.line.is_some_and(|l| (e.span.0..=e.span.1).contains(&l)));
                if !explained {
                    self.problem(
                        "row dropped silently",
                        format!("{at} is not in the snapshot and no error names its line"),
                    );
                }
            }
        }
    }

    /// findings.json of the `keep_going` run carries the same accounting
    /// and every error, located.
    fn check_report(&mut self, a: &Audit) {
        let text = match guarded(|| common::findings_json(a)) {
            Ok(t) => t,
            Err(p) => {
                self.problem("panic", format!("findings.json: {p}"));
                return;
            }
        };
        let doc: Json = match serde_json::from_str(&text) {
            Ok(d) => d,
            Err(e) => {
                self.problem("report", format!("findings.json is not JSON: {e}"));
                return;
            }
        };
        for (table, acc) in &a.snapshot.accounting {
            let t = &doc["input"]["tables"][table];
            let got = (
                t["rows_read"].as_u64(),
                t["rows_used"].as_u64(),
                t["rows_rejected"].as_u64(),
                t["rows_skipped"].as_u64(),
            );
            let want = (
                Some(acc.rows_read),
                Some(acc.rows_used),
                Some(acc.rows_rejected),
                Some(acc.rows_skipped),
            );
            if got != want {
                self.problem(
                    "report",
                    format!("findings.json input.tables.{table} = {got:?}, the snapshot's accounting {want:?}"),
                );
            }
        }
        let errors = a.diagnostics.iter().filter(|d| d.is_error()).count();
        let listed = doc["input"]["errors"].as_array().map_or(0, Vec::len);
        if listed != errors {
            self.problem(
                "report",
                format!("findings.json lists {listed} errors, the audit has {errors}"),
            );
        }
        for e in doc["input"]["errors"].as_array().into_iter().flatten() {
            if e["file"].as_str().is_none_or(str::is_empty) || !e["line"].is_u64() {
                self.problem(
                    "report",
                    format!("findings.json error without file and line: {e}"),
                );
            }
        }
        if doc["summary"]["total"].as_u64() != Some(a.findings.len() as u64) {
            self.problem(
                "report",
                "findings.json summary.total is not the number of findings".into(),
            );
        }
    }
}

fn first_few(set: &BTreeSet<u32>) -> Vec<u32> {
    set.iter().copied().take(12).collect()
}

/// Where each row of `table` came from.
fn row_locs(s: &Snapshot, table: &str) -> Vec<Loc> {
    macro_rules! locs {
        ($rows:expr) => {
            $rows.iter().map(|r| r.loc).collect()
        };
    }
    match table {
        "tenants" => locs!(s.tenants),
        "relationships" => locs!(s.relationships),
        "principals" => locs!(s.principals),
        "memberships" => locs!(s.memberships),
        "role_assignments" => locs!(s.role_assignments),
        "subscriptions" => locs!(s.subscriptions),
        "devices" => locs!(s.devices),
        "autopilot_profiles" => locs!(s.autopilot_profiles),
        "invitations" => locs!(s.invitations),
        "gdap_access_assignments" => locs!(s.gdap_access_assignments),
        "lighthouse_delegations" => locs!(s.lighthouse_delegations),
        "lighthouse_authorizations" => locs!(s.lighthouse_authorizations),
        "service_principals" => locs!(s.service_principals),
        "app_permissions" => locs!(s.app_permissions),
        _ => Vec::new(),
    }
}

/// The text the row at `loc` holds in a text column (`None`: a column not
/// looked at here; `Some(None)`: no row there, or no value).
fn stored_text(s: &Snapshot, table: &str, column: &str, loc: Loc) -> Option<Option<String>> {
    macro_rules! find {
        ($rows:expr, $get:expr) => {
            $rows
                .iter()
                .find(|r| r.loc == loc)
                .and_then($get)
                .map(|t: &str| t.to_owned())
        };
    }
    Some(match (table, column) {
        ("tenants", "name") => find!(s.tenants, |r| Some(&*r.name)),
        ("tenants", "domain") => find!(s.tenants, |r| r.domain.as_deref()),
        ("relationships", "relationship_id") => {
            find!(s.relationships, |r| r.relationship_id.as_deref())
        }
        ("gdap_access_assignments", "relationship_id") => {
            find!(s.gdap_access_assignments, |r| Some(&*r.relationship_id))
        }
        ("principals", "display_name") => find!(s.principals, |r| Some(&*r.display_name)),
        ("principals", "upn") => find!(s.principals, |r| r.upn.as_deref()),
        ("subscriptions", "name") => find!(s.subscriptions, |r| Some(&*r.name)),
        ("subscriptions", "state") => find!(s.subscriptions, |r| r.state.as_deref()),
        ("devices", "device_id") => find!(s.devices, |r| Some(&*r.device_id)),
        ("devices", "profile_id") => find!(s.devices, |r| r.profile_id.as_deref()),
        ("autopilot_profiles", "profile_id") => {
            find!(s.autopilot_profiles, |r| Some(&*r.profile_id))
        }
        ("autopilot_profiles", "name") => find!(s.autopilot_profiles, |r| Some(&*r.name)),
        ("invitations", "invitation_id") => find!(s.invitations, |r| Some(&*r.invitation_id)),
        ("gdap_access_assignments", "state") => {
            find!(s.gdap_access_assignments, |r| r.state.as_deref())
        }
        _ => return None,
    })
}

// -------------------------------------------------------------------- test

struct Failure {
    seed: u64,
    case: String,
    problems: Vec<String>,
}

fn write_case(case: &Case, dir: &Path) -> PathBuf {
    for f in &case.files {
        std::fs::write(dir.join(&f.name), &f.bytes).expect("write the case");
    }
    if case.single {
        dir.join(SINGLE)
    } else {
        dir.to_path_buf()
    }
}

/// Runs one case: its problems, and how the default run ended.
fn run_case(
    case: &Case,
    rules: &[Rule],
    baseline: &BTreeMap<&str, Vec<String>>,
) -> (Vec<String>, &'static str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_case(case, dir.path());
    let mut c = Checker::new(case, dir.path());
    let default = guarded(|| app::run_audit(&path, rules, &Settings::default(), &mut Vec::new()));
    c.check_default(&default);
    let outcome = match &default {
        Ok(Ok(_)) => "run succeeded",
        Ok(Err(AppError::Diagnostics(_))) => "run failed with diagnostics",
        Ok(Err(_)) => "run failed otherwise",
        Err(_) => "run panicked",
    };
    if case.format_only {
        if let Ok(Ok(a)) = &default {
            let mut ids: Vec<String> = a.findings.iter().map(|f| f.id.clone()).collect();
            ids.sort();
            if baseline.get(case.base) != Some(&ids) {
                c.problem(
                    "findings changed by a format change",
                    format!(
                        "{} findings, the fixture has {:?}",
                        ids.len(),
                        baseline.get(case.base).map(Vec::len)
                    ),
                );
            }
        }
    }
    let kept = match default {
        Ok(Ok(a)) => Some(a),
        _ => {
            let settings = Settings {
                keep_going: true,
                as_of: Some(AS_OF.into()),
                ..Settings::default()
            };
            match guarded(|| app::run_audit(&path, rules, &settings, &mut Vec::new())) {
                Ok(Ok(a)) => Some(a),
                Ok(Err(e)) => {
                    c.problem("keep_going failed", e.to_string());
                    None
                }
                Err(p) => {
                    c.problem("panic", format!("audit with keep_going: {p}"));
                    None
                }
            }
        }
    };
    if let Some(a) = &kept {
        c.check_kept(a);
    }
    (c.problems.into_iter().collect(), outcome)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Validates SPEC §7 on a few hundred seeded mutations of the demo and
/// messy snapshots: no panic, every error located, no row lost silently.
#[test]
fn mutated_snapshots_fail_loudly_or_load_every_row() {
    let rules = common::catalog();
    let bases = [load_base("demo"), load_base("messy")];
    // The fixtures themselves are clean, and their findings are the
    // reference for format-only changes.
    let mut baseline = BTreeMap::new();
    for b in &bases {
        let a = common::audit(&format!("fixtures/{}", b.name));
        assert!(
            !a.diagnostics.iter().any(Diagnostic::is_error),
            "fixtures/{} has errors",
            b.name
        );
        let mut ids: Vec<String> = a.findings.iter().map(|f| f.id.clone()).collect();
        ids.sort();
        assert!(!ids.is_empty(), "fixtures/{} has findings", b.name);
        baseline.insert(b.name, ids);
    }

    let seeds: Vec<u64> = match env_u64("MUTATION_SEED") {
        Some(seed) => vec![seed],
        None => (0..env_u64("MUTATION_CASES").unwrap_or(DEFAULT_CASES)).collect(),
    };
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let current = tmp.join("mutation-current-case.txt");
    let failures_dir = tmp.join("mutation-failures");
    let _ = std::fs::remove_dir_all(&failures_dir);

    let print = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        *PANIC.lock().unwrap_or_else(PoisonError::into_inner) = Some(info.to_string());
        if GUARDED.load(Ordering::SeqCst) == 0 {
            print(info);
        }
    }));
    let mut failures = Vec::new();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut verdicts: BTreeMap<Verdict, usize> = BTreeMap::new();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for &seed in &seeds {
        let _ = std::fs::write(&current, format!("seed {seed}, being built"));
        let case = build_case(seed, &bases);
        let _ = std::fs::write(&current, case.describe());
        for k in &case.kinds {
            *kinds.entry(k).or_default() += 1;
        }
        for e in &case.expects {
            *verdicts.entry(e.verdict).or_default() += 1;
        }
        let (problems, outcome) = run_case(&case, &rules, &baseline);
        *outcomes.entry(outcome).or_default() += 1;
        if !problems.is_empty() {
            let keep = failures_dir.join(format!("seed-{seed}"));
            if std::fs::create_dir_all(&keep).is_ok() {
                write_case(&case, &keep);
                let _ = std::fs::write(keep.join("CASE.txt"), case.describe());
            }
            failures.push(Failure {
                seed,
                case: case.describe(),
                problems,
            });
        }
    }
    let _ = panic::take_hook();
    let _ = std::fs::remove_file(&current);
    let stats = format!(
        "{} cases\noutcomes: {outcomes:?}\nmutated cells and rows: {verdicts:?}\nkinds: {kinds:#?}\n",
        seeds.len()
    );
    let _ = std::fs::write(tmp.join("mutation-stats.txt"), &stats);

    if seeds.len() as u64 >= DEFAULT_CASES {
        let missing: Vec<&str> = all_kinds()
            .into_iter()
            .filter(|k| !kinds.contains_key(k))
            .collect();
        assert!(
            missing.is_empty(),
            "mutation kinds that never ran: {missing:?}"
        );
        for v in [Verdict::Valid, Verdict::Invalid, Verdict::Either] {
            assert!(verdicts.contains_key(&v), "no mutated cell was {v:?}");
        }
    }
    if failures.is_empty() {
        return;
    }
    let mut by_tag: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for f in &failures {
        let seed = f.seed;
        for p in &f.problems {
            let tag = p.split(']').next().unwrap_or("").trim_start_matches('[');
            let seeds = by_tag.entry(tag.to_owned()).or_default();
            if seeds.last() != Some(&seed) {
                seeds.push(seed);
            }
        }
    }
    let mut report = format!(
        "{} of {} mutated snapshots break SPEC §7 (snapshots kept in {}):\n",
        failures.len(),
        seeds.len(),
        failures_dir.display()
    );
    for (tag, seeds) in &by_tag {
        let _ = writeln!(
            report,
            "  {tag}: {} cases, seeds {:?}",
            seeds.len(),
            &seeds[..seeds.len().min(10)]
        );
    }
    for f in &failures {
        let _ = write!(report, "\n{}\n", f.case);
        for p in &f.problems {
            let short: String = p.chars().take(600).collect();
            let _ = writeln!(report, "  * {short}");
        }
    }
    let _ = std::fs::write(tmp.join("mutation-report.txt"), &report);
    let shown: String = report.chars().take(30_000).collect();
    panic!("{shown}");
}

/// How many warnings one diagnostic stands for: repeated warnings of one
/// kind in one file are folded into one that says `(N times: …)`.
fn folded_count(message: &str) -> usize {
    message
        .rsplit_once(" times: ")
        .and_then(|(head, _)| head.rsplit_once('(').map(|(_, n)| n.replace(',', "")))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}
