//! The HTML review: `report.html`, an overview that stays small at any
//! number of customers, and the folder `html/` beside it with the details:
//!
//! - `html/customers/<tenant id>.html`: one page per customer (its
//!   relationships, listed vs effective administrators, lingering roles and
//!   findings, each finding a collapsed `<details>`); file names come from
//!   the tenant GUID alone, never from a name in the snapshot;
//! - `html/customers-1.html`, `-2`, …: every customer in tables of
//!   [`LIST_ROWS`] rows, for reading and printing without the script;
//! - `html/partners.html`: every partner, when the overview shows only
//!   the first [`PARTNER_ROWS`];
//! - `html/other.html`, `waivers.html`, `changes.html`, `warnings.html`:
//!   findings tied to no customer, the waivers file, the baseline
//!   comparison and the input warnings, when there are any.
//!
//! The overview holds the counts (by severity, rule and partner), the
//! [`FIRST_ROWS`] customers with the most severe findings as table rows,
//! and every customer as compact inline JSON that a small script filters
//! (severity, rule, partner, new/unchanged, name), sorts and pages. Nothing
//! is fetched: browsers refuse to read local files from a `file://` page,
//! so every page holds its own data and links to the others.
//!
//! Every page works without the script (sections open, every row there;
//! the overview links the full customer table) and prints with everything
//! shown. Each page is self-contained (inline CSS and script); a
//! Content-Security-Policy allows no network, no plugin and no script but
//! the report's own, by its SHA-256.
//!
//! Pages are minijinja templates (`templates/`, embedded at build time)
//! with HTML autoescape on: every snapshot string is escaped by the engine,
//! and only the template's own markup, the sanitised remediation
//! ([`super::markup`]) and the inline JSON (escaped for a `<script>` by
//! [`script_json`]) are marked safe. Before escaping, hidden characters
//! (controls and bidirectional controls,
//! [`escape::is_hidden`](super::escape::is_hidden)) become U+FFFD; tabs
//! and line breaks stay.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;
use std::sync::Mutex;

use base64::Engine as _;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{context, escape_formatter, Environment, UndefinedBehavior, Value};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::escape;
use super::review::{CustomerSummary, CustomerView, Review};

/// The overview's file name in `--out`.
pub const OVERVIEW: &str = "report.html";
/// The folder of the detail pages in `--out`.
pub const DIR: &str = "html";
/// Customers the overview shows as rows without the script, and per page with it.
pub const FIRST_ROWS: usize = 100;
/// Customers per page of the full customer list (a table of 10,000 rows
/// takes a browser seconds to lay out; 1,000 a fraction of one).
pub const LIST_ROWS: usize = 1000;
/// Partners the overview's table shows, most severe first; all of them are
/// on `html/partners.html` when there are more.
pub const PARTNER_ROWS: usize = 50;
/// Incomplete tenants the overview names; the others are marked in the customer table.
pub const MAX_INCOMPLETE_LISTED: usize = 50;

const SCRIPT: &str = include_str!("templates/report.js");
const TEMPLATES: [(&str, &str); 8] = [
    ("base.html", include_str!("templates/base.html")),
    ("report.css", include_str!("templates/report.css")),
    ("macros.html", include_str!("templates/macros.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("customer.html", include_str!("templates/customer.html")),
    ("customers.html", include_str!("templates/customers.html")),
    ("extra.html", include_str!("templates/extra.html")),
    ("exposure.html", include_str!("templates/exposure.html")),
];

/// The pages' Content-Security-Policy: nothing from anywhere, inline
/// styles, and the one script whose hash it names.
pub fn content_security_policy() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{hash}'"
    )
}

/// JSON made safe to sit inside `<script>`: `<`, `>` and `&` (so no
/// `</script>` nor `<!--` can close or bend the element) and U+2028/U+2029
/// are written as `\uXXXX` escapes, which JSON reads back as the same text.
pub fn script_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A customer's page name: its tenant id, which must be a GUID.
fn page_name(id: &str) -> io::Result<String> {
    if id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        Ok(format!("{id}.html"))
    } else {
        Err(io::Error::other(format!(
            "customer id `{id}` is not a GUID"
        )))
    }
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

/// One customer in the overview's tables.
#[derive(Debug, Serialize)]
struct CustomerRow<'a> {
    name: &'a str,
    id: &'a str,
    partners: Vec<&'a str>,
    high: usize,
    medium: usize,
    low: usize,
    info: usize,
    total: usize,
    new: usize,
    incomplete: bool,
    rules: BTreeSet<&'a str>,
}

/// One rule with open findings.
#[derive(Debug, Serialize)]
struct RuleRow<'a> {
    rule: &'a str,
    title: &'a str,
    severity: &'static str,
    rank: u8,
    open: usize,
    new: usize,
    customers: usize,
}

/// A link from the overview to a detail page.
#[derive(Debug, Serialize)]
struct MoreLink {
    href: &'static str,
    title: &'static str,
    note: String,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn customer_row(c: &CustomerSummary) -> CustomerRow<'_> {
    CustomerRow {
        name: &c.counts.name,
        id: &c.counts.id,
        partners: c.partners.iter().map(String::as_str).collect(),
        high: c.counts.high,
        medium: c.counts.medium,
        low: c.counts.low,
        info: c.counts.info,
        total: c.counts.total,
        new: c.new,
        incomplete: c.incomplete,
        rules: c.rules.iter().map(String::as_str).collect(),
    }
}

/// The customers, most severe first (then by name and id).
fn customer_rows<'r>(review: &'r Review<'_>) -> Vec<CustomerRow<'r>> {
    let mut rows: Vec<CustomerRow<'_>> = review.customers.iter().map(customer_row).collect();
    rows.sort_by(|a, b| {
        (b.high, b.medium, b.low, b.info)
            .cmp(&(a.high, a.medium, a.low, a.info))
            .then_with(|| (a.name, a.id).cmp(&(b.name, b.id)))
    });
    rows
}

fn rule_rows<'r>(review: &'r Review<'_>) -> Vec<RuleRow<'r>> {
    let mut rows: Vec<RuleRow<'_>> = review
        .rules
        .iter()
        .map(|x| RuleRow {
            rule: &x.rule,
            title: &x.title,
            severity: x.severity,
            rank: severity_rank(x.severity),
            open: x.open,
            new: x.new,
            customers: x.customers,
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.rank, b.open)
            .cmp(&(a.rank, a.open))
            .then_with(|| a.rule.cmp(b.rule))
    });
    rows
}

/// The overview's inline data: every customer as an array (name, id,
/// high, medium, low, info, total, new, partner indexes, rule indexes,
/// incomplete), partners and rules once each.
fn customer_data(review: &Review<'_>, rows: &[CustomerRow<'_>], rules: &[RuleRow<'_>]) -> String {
    let partners: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.partners.iter().copied())
        .collect();
    let partner_ix: BTreeMap<&str, usize> =
        partners.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    let rule_ix: BTreeMap<&str, usize> =
        rules.iter().enumerate().map(|(i, r)| (r.rule, i)).collect();
    let show = |s: &str| escape::visible(s, |_| false).into_owned();
    type Item = (
        String,
        String,
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
        Vec<usize>,
        Vec<usize>,
        u8,
    );
    let customers: Vec<Item> = rows
        .iter()
        .map(|r| {
            (
                show(r.name),
                r.id.to_string(),
                r.high,
                r.medium,
                r.low,
                r.info,
                r.total,
                r.new,
                r.partners
                    .iter()
                    .filter_map(|p| partner_ix.get(p).copied())
                    .collect(),
                r.rules
                    .iter()
                    .filter_map(|x| rule_ix.get(x).copied())
                    .collect(),
                u8::from(r.incomplete),
            )
        })
        .collect();
    let data = serde_json::json!({
        "page_size": FIRST_ROWS,
        "baseline": review.baseline.is_some(),
        "base": format!("{DIR}/customers/"),
        "partners": partners.iter().map(|p| show(p)).collect::<Vec<_>>(),
        "rules": rules.iter().map(|r| show(r.rule)).collect::<Vec<_>>(),
        "customers": customers,
    });
    script_json(&data.to_string())
}

/// The template engine with the report's templates, formatter and filters.
struct Pages {
    env: Environment<'static>,
    /// What every page shows in its frame.
    frame: Value,
}

impl Pages {
    fn new(review: &Review<'_>) -> Result<Pages, minijinja::Error> {
        let env = environment()?;
        let frame = context! {
            title => &review.title,
            tool => &review.tool,
            as_of => &review.as_of,
            as_of_origin => review.as_of_origin,
            captured_at => &review.captured_at,
            perspective => review.perspective,
            source => &review.source,
            csp => content_security_policy(),
            script => Value::from_safe_string(SCRIPT.to_string()),
        };
        Ok(Pages { env, frame })
    }
}

/// The template engine with the report's templates, formatter and filters.
fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    // The names end in `.html`, which turns HTML autoescape on.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?,
    );
    // Every `{{ … }}` passes here: text the template did not build itself
    // loses its hidden characters before it is HTML-escaped.
    env.set_formatter(|out, state, value| {
        if !value.is_safe() {
            if let Some(text) = value.as_str() {
                let clean = escape::visible(text, |c| matches!(c, '\t' | '\n' | '\r'));
                if let std::borrow::Cow::Owned(clean) = clean {
                    return escape_formatter(out, state, &Value::from(clean));
                }
            }
        }
        escape_formatter(out, state, value)
    });
    env.add_filter("markdown", |text: &str| {
        Value::from_safe_string(super::markup::to_html(text))
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
}

impl Pages {
    fn render(&self, template: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(template)?.render(ctx)
    }

    fn overview(&self, review: &Review<'_>) -> Result<String, minijinja::Error> {
        let rows = customer_rows(review);
        let rules = rule_rows(review);
        let data = customer_data(review, &rows, &rules);
        let mut more = Vec::new();
        if !review.other_findings.is_empty() {
            more.push(MoreLink {
                href: "html/other.html",
                title: "Findings tied to no customer",
                note: plural(review.other_findings.len(), "open finding", "open findings"),
            });
        }
        if let Some(w) = &review.waivers {
            more.push(MoreLink {
                href: "html/waivers.html",
                title: "Waivers",
                note: format!(
                    "{} waived, {} expired, {} matching no finding",
                    w.waived.len(),
                    plural(w.expired.len(), "waiver", "waivers"),
                    w.unmatched.len()
                ),
            });
        }
        if let Some(b) = &review.baseline {
            more.push(MoreLink {
                href: "html/changes.html",
                title: "Changes since baseline",
                note: format!(
                    "{} new, {} unchanged, {} resolved",
                    b.new,
                    b.unchanged,
                    b.resolved.len()
                ),
            });
        }
        if !review.warnings.is_empty() {
            more.push(MoreLink {
                href: "html/warnings.html",
                title: "Input warnings",
                note: plural(review.warnings.len(), "warning", "warnings"),
            });
        }
        let baseline = review.baseline.as_ref().map(|b| {
            context! { new => b.new, unchanged => b.unchanged, resolved_count => b.resolved.len() }
        });
        let incomplete = &review.incomplete[..review.incomplete.len().min(MAX_INCOMPLETE_LISTED)];
        let mut partners: Vec<&super::review::CountRow> = review.by_partner.iter().collect();
        partners.sort_by(|a, b| {
            (b.high, b.medium, b.low, b.info)
                .cmp(&(a.high, a.medium, a.low, a.info))
                .then_with(|| (&a.name, &a.id).cmp(&(&b.name, &b.id)))
        });
        partners.truncate(PARTNER_ROWS);
        self.render(
            "overview.html",
            context! {
                root => "",
                totals => Value::from(Serde(&review.totals)),
                severities => Value::from(Serde(&review.severities)),
                by_partner => Value::from(Serde(&partners)),
                partners_total => review.by_partner.len(),
                blast_radius => Value::from(Serde(&review.blast_radius)),
                baseline => baseline,
                waivers => review.waivers.is_some(),
                affected => rows.iter().filter(|r| r.total > 0).count(),
                incomplete_count => review.incomplete.len(),
                incomplete => Value::from(Serde(incomplete)),
                rules => Value::from(Serde(&rules)),
                first => Value::from(Serde(&rows[..rows.len().min(FIRST_ROWS)])),
                more => Value::from(Serde(&more)),
                data => Value::from_safe_string(data),
                ..self.frame.clone()
            },
        )
    }

    fn customer(&self, c: &CustomerView) -> Result<String, minijinja::Error> {
        self.render(
            "customer.html",
            context! { root => "../../", c => Value::from(Serde(c)), ..self.frame.clone() },
        )
    }

    /// Page `page` (from 1) of `pages` of the full customer list.
    fn customers(
        &self,
        review: &Review<'_>,
        rows: &[CustomerRow<'_>],
        page: usize,
        pages: usize,
    ) -> Result<String, minijinja::Error> {
        let from = (page - 1) * LIST_ROWS;
        self.render(
            "customers.html",
            context! {
                root => "../",
                rows => Value::from(Serde(rows)),
                from => from + 1,
                total => review.customers.len(),
                page => page,
                pages => pages,
                baseline => review.baseline.is_some(),
                ..self.frame.clone()
            },
        )
    }

    fn extra(&self, page: &str, heading: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.render(
            "extra.html",
            minijinja::value::merge_maps([
                context! { root => "../", page => page, heading => heading, ..ctx },
                self.frame.clone(),
            ]),
        )
    }
}

/// Renders every page of the review and hands each to `put` with its path
/// relative to `--out` (`/`-separated). Customer pages are rendered in
/// parallel; what `put` receives does not depend on the order.
fn each_page(
    review: &Review<'_>,
    put: &(dyn Fn(&str, String) -> io::Result<()> + Sync),
) -> io::Result<()> {
    each_page_of(review, &PageSet::default(), put)
}

/// Which pages a run writes: under `audit --shard`, shard 0 writes the
/// pages about the whole run (the overview, the lists and the other
/// pages) and each shard the pages of its customers.
pub struct PageSet<'a> {
    /// The pages about the whole run.
    pub whole_run: bool,
    /// Which customers' pages, by tenant id (`None`: every one).
    pub customer: Option<&'a (dyn Fn(&str) -> bool + Sync)>,
}

impl Default for PageSet<'_> {
    fn default() -> Self {
        PageSet {
            whole_run: true,
            customer: None,
        }
    }
}

fn each_page_of(
    review: &Review<'_>,
    set: &PageSet<'_>,
    put: &(dyn Fn(&str, String) -> io::Result<()> + Sync),
) -> io::Result<()> {
    let err = |e: minijinja::Error| io::Error::other(format!("report.html: {e:#}"));
    let pages = Pages::new(review).map_err(err)?;
    // Each customer's page is built, written and dropped on its own.
    (0..review.customers.len())
        .into_par_iter()
        .filter(|&i| {
            set.customer
                .is_none_or(|owns| owns(&review.customers[i].counts.id))
        })
        .try_for_each(|i| {
            let Some(c) = review.customer(i, true) else {
                return Ok(());
            };
            let name = page_name(&c.id)?;
            put(
                &format!("{DIR}/customers/{name}"),
                pages.customer(&c).map_err(err)?,
            )
        })?;
    if !set.whole_run {
        return Ok(());
    }
    put(OVERVIEW, pages.overview(review).map_err(err)?)?;
    let rows = customer_rows(review);
    let lists = rows.len().div_ceil(LIST_ROWS).max(1);
    for page in 1..=lists {
        let chunk = rows.chunks(LIST_ROWS).nth(page - 1).unwrap_or(&[]);
        let html = pages.customers(review, chunk, page, lists).map_err(err)?;
        put(&format!("{DIR}/customers-{page}.html"), html)?;
    }
    if review.by_partner.len() > PARTNER_ROWS {
        let ctx = context! { by_partner => Value::from(Serde(&review.by_partner)) };
        put(
            &format!("{DIR}/partners.html"),
            pages.extra("partners", "Partners", ctx).map_err(err)?,
        )?;
    }
    // Where each finding is, for the links of the waivers page.
    let mut links: BTreeMap<&str, String> = BTreeMap::new();
    if let Some(w) = &review.waivers {
        let wanted: BTreeSet<&str> = w
            .expired
            .iter()
            .flat_map(|x| x.reopened.iter().map(String::as_str))
            .collect();
        for (i, c) in review.customers.iter().enumerate() {
            for f in review
                .customer_findings(i)
                .filter(|f| wanted.contains(f.id.as_str()))
            {
                links.insert(
                    &f.id,
                    format!("customers/{}#f-{}", page_name(&c.counts.id)?, f.id),
                );
            }
        }
        for f in review
            .other_findings
            .iter()
            .filter(|f| wanted.contains(f.id.as_str()))
        {
            links.insert(&f.id, format!("other.html#{}", f.anchor));
        }
    }
    if !review.other_findings.is_empty() {
        let ctx = context! { other_findings => Value::from(Serde(&review.other_findings)) };
        put(
            &format!("{DIR}/other.html"),
            pages.extra("other", "Other findings", ctx).map_err(err)?,
        )?;
    }
    if let Some(w) = &review.waivers {
        let ctx =
            context! { waivers => Value::from(Serde(w)), links => Value::from(Serde(&links)) };
        put(
            &format!("{DIR}/waivers.html"),
            pages.extra("waivers", "Waivers", ctx).map_err(err)?,
        )?;
    }
    if let Some(b) = &review.baseline {
        let ctx = context! { baseline => Value::from(Serde(b)) };
        put(
            &format!("{DIR}/changes.html"),
            pages
                .extra("changes", "Changes since baseline", ctx)
                .map_err(err)?,
        )?;
    }
    if !review.warnings.is_empty() {
        let ctx = context! { warnings => Value::from(Serde(&review.warnings)) };
        put(
            &format!("{DIR}/warnings.html"),
            pages
                .extra("warnings", "Input warnings", ctx)
                .map_err(err)?,
        )?;
    }
    Ok(())
}

/// One page of the HTML review.
#[derive(Debug)]
pub struct Page {
    /// Relative to `--out`, `/`-separated: `report.html`, `html/…`.
    pub path: String,
    pub html: String,
}

/// Every page of the review in memory, sorted by path (for tests and
/// small snapshots; [`write`] streams them to files).
pub fn pages(review: &Review<'_>) -> io::Result<Vec<Page>> {
    let all = Mutex::new(Vec::new());
    each_page(review, &|path, html| {
        all.lock()
            .map_err(|_| io::Error::other("a page writer panicked"))?
            .push(Page {
                path: path.to_string(),
                html,
            });
        Ok(())
    })?;
    let mut all = all
        .into_inner()
        .map_err(|_| io::Error::other("a page writer panicked"))?;
    all.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(all)
}

/// Writes `report.html` and the `html/` folder into `out` (the run's
/// staging folder: the set is published whole or not at all).
pub fn write(review: &Review<'_>, out: &Path) -> io::Result<()> {
    write_set(review, &PageSet::default(), out)
}

/// [`write`], only the pages of `set`.
pub fn write_set(review: &Review<'_>, set: &PageSet<'_>, out: &Path) -> io::Result<()> {
    std::fs::create_dir_all(out.join(DIR).join("customers"))?;
    each_page_of(review, set, &|path, html| {
        let file = out.join(path);
        std::fs::write(&file, html)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", file.display())))
    })
}

/// `exposure --format html`: the blast radius as one self-contained page
/// (the report's styles, escaping and Content-Security-Policy), a table
/// per tenant reached. `as_of` is the snapshot's capture time, when it
/// has one.
pub fn write_exposure(
    x: &crate::exposure::ExposureOut,
    summary: &str,
    as_of: Option<String>,
    w: &mut dyn io::Write,
) -> io::Result<()> {
    use crate::exposure::Channel;
    let labels: BTreeMap<&str, &str> = Channel::ALL
        .iter()
        .map(|c| (c.as_str(), c.label()))
        .collect();
    let ctx = context! {
        title => format!("Exposure of {}", x.target.name),
        tool => format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
        as_of => as_of.as_deref().unwrap_or("an undated snapshot"),
        as_of_origin => "the snapshot's captured_at",
        captured_at => Value::from(()),
        perspective => Value::from(()),
        source => Value::from(()),
        csp => content_security_policy(),
        script => Value::from_safe_string(SCRIPT.to_string()),
        root => Value::from(()),
        x => Serde(x),
        summary => summary,
        labels => labels,
    };
    let html = environment()
        .and_then(|env| env.get_template("exposure.html")?.render(ctx))
        .map_err(io::Error::other)?;
    w.write_all(html.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validates that inline JSON cannot end its `<script>` element nor
    /// hold a raw line or paragraph separator, and reads back the same.
    #[test]
    fn script_json_is_inert_and_exact() {
        let text = "</script><!-- & \u{2028}\u{2029} <b>";
        let json = serde_json::to_string(&serde_json::json!({ "n": text })).expect("json");
        let safe = script_json(&json);
        for bad in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!safe.contains(bad), "{safe}");
        }
        let back: serde_json::Value = serde_json::from_str(&safe).expect("json");
        assert_eq!(back["n"], text);
    }

    /// Validates that only GUIDs name customer pages.
    #[test]
    fn customer_pages_are_named_by_guid_only() {
        assert_eq!(
            page_name("a24e022d-57ab-4419-aeae-2f3bc58a985d").expect("guid"),
            "a24e022d-57ab-4419-aeae-2f3bc58a985d.html"
        );
        for bad in [
            "../../etc/passwd",
            "a24e022d-57ab-4419-aeae-2f3bc58a985/",
            "x",
        ] {
            assert!(page_name(bad).is_err(), "{bad}");
        }
    }

    /// Validates that the policy pins the script by its hash.
    #[test]
    fn policy_pins_the_script() {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
        assert!(
            csp.ends_with(&format!("script-src 'sha256-{hash}'")),
            "{csp}"
        );
    }
}
