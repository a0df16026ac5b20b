//! `report.md`: the review report as Markdown, for wikis, tickets and pull
//! requests. Same content as the HTML page, path diagrams as text.
//!
//! Every snapshot string goes through [`escape::markdown`] (or
//! [`code`] for commands and ids), so names can neither format the page nor
//! break a table. A finding's remediation is Markdown already, its snapshot
//! values in code spans the engine fenced, and is written as it is.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::escape;
use super::review::{CustomerView, FindingView, Review};

/// Markdown-escaped text, escaped as it is written.
fn md(s: &str) -> escape::Markdown<'_> {
    escape::Markdown(s)
}

/// A code span that no content can break out of: the fence is longer than
/// any backtick run inside, pipes are escaped (GFM tables split on them
/// even inside code), line breaks become spaces.
pub fn code(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| match c {
            '\r' | '\n' | '\t' => ' ',
            c if escape::is_hidden(c) => '\u{fffd}',
            c => c,
        })
        .collect::<String>()
        .replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in clean.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if clean.starts_with('`') || clean.ends_with('`') || clean.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn finding(out: &mut String, f: &FindingView) {
    let status = f.status.map(|s| format!(" · **{s}**")).unwrap_or_default();
    let _ = writeln!(
        out,
        "#### {} {} — {}{status}\n",
        f.severity.to_uppercase(),
        f.rule,
        md(&f.title)
    );
    let _ = writeln!(out, "{}\n", md(&f.message));
    if let Some(r) = &f.reopened {
        let _ = writeln!(out, "> Re-opened: {}\n", md(r));
    }
    let mut facts = Vec::new();
    if let Some(p) = &f.partner {
        facts.push(format!("partner: {}", md(p)));
    }
    if let Some(r) = &f.resource {
        facts.push(format!("resource: {}", md(r)));
    }
    if let Some(r) = &f.role {
        facts.push(format!("role: {}", md(r)));
    }
    facts.push(format!("id: {}", code(&f.id)));
    let _ = writeln!(out, "- {}", facts.join(" · "));
    if let Some(a) = &f.assignment {
        let _ = writeln!(
            out,
            "- **assignment to remove:** {} on {} held by {} {} of {} ({})\n  - {}",
            md(&a.role),
            code(&a.scope),
            md(&a.principal),
            code(&a.principal_id),
            md(&a.principal_tenant),
            md(&a.source),
            code(&a.command)
        );
    }
    if !f.principals.is_empty() {
        let mut who: Vec<String> = f.principals.iter().map(|p| escape::markdown(p)).collect();
        if f.more_principals > 0 {
            who.push(format!("… and {} more", f.more_principals));
        }
        let _ = writeln!(out, "- **who can act:** {}", who.join(", "));
    } else if !f.principals_known {
        let _ = writeln!(
            out,
            "- **who can act:** unknown (the partner's members are not in the snapshot)"
        );
    }
    if !f.paths.is_empty() {
        let _ = writeln!(out, "- **why:**");
        for p in &f.paths {
            let _ = writeln!(out, "  - {}", md(p));
        }
        if f.more_paths > 0 {
            let _ = writeln!(out, "  - … and {} more in findings.json", f.more_paths);
        }
    }
    if !f.evidence.is_empty() {
        let _ = writeln!(out, "- **evidence:**");
        for e in &f.evidence {
            let _ = writeln!(out, "  - {}", md(e));
        }
    }
    // The remediation is Markdown already: the rule's text, with every
    // snapshot value in a code span of its own. Its lines are indented to
    // stay inside this list item.
    let _ = writeln!(
        out,
        "- **remediation:** {}\n",
        escape::visible(&f.remediation, |c| c == '\n').replace('\n', "\n  ")
    );
}

/// The report's head: title, summary and the count tables.
fn head(r: &Review<'_>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = writeln!(out, "# {}\n", md(&r.title));
    let _ = write!(
        out,
        "As of **{}** (from {})",
        md(&r.as_of),
        md(r.as_of_origin)
    );
    if let Some(c) = &r.captured_at {
        let _ = write!(out, " · snapshot captured {}", md(c));
    }
    if let Some(p) = r.perspective {
        let _ = write!(out, " · {p} perspective");
    }
    let _ = writeln!(out, " · {}\n", md(&r.tool));
    if let Some(s) = &r.source {
        let _ = writeln!(out, "Snapshot: {}\n", md(s));
    }
    let _ = writeln!(out, "## Executive summary\n");
    let t = &r.totals;
    let sev: Vec<String> = r
        .severities
        .iter()
        .map(|s| format!("**{}** {}", s.count, s.severity))
        .collect();
    let _ = writeln!(
        out,
        "{} across {} and {}: {}.\n",
        plural(t.open, "open finding", "open findings"),
        plural(t.customers, "customer tenant", "customer tenants"),
        plural(t.partners, "partner", "partners"),
        sev.join(", ")
    );
    let _ = writeln!(
        out,
        "- partner directory-role grants hidden from the customers' own role listings: **{}**",
        t.hidden_admins
    );
    let _ = writeln!(
        out,
        "- lingering subscription roles (outlived DAP and GDAP): **{}**",
        t.lingering
    );
    if let Some(b) = &r.baseline {
        let _ = writeln!(
            out,
            "- since the baseline: **{}** new, {} unchanged, {} resolved",
            b.new,
            b.unchanged,
            b.resolved.len()
        );
    }
    if r.waivers.is_some() {
        let _ = writeln!(out, "- waived: {}", t.waived);
    }
    if !r.incomplete.is_empty() {
        let _ = writeln!(
            out,
            "- **incomplete input, findings may be missing** for {}:",
            plural(r.incomplete.len(), "tenant", "tenants")
        );
        for x in &r.incomplete {
            let _ = writeln!(
                out,
                "  - {} ({}): {}",
                md(&x.name),
                code(&x.id),
                md(&x.reason)
            );
        }
    }
    let _ = writeln!(out);
    let by_customer = r.customers.iter().map(|c| &c.counts);
    for (caption, rows) in [
        ("Customer", by_customer.collect::<Vec<_>>()),
        ("Partner", r.by_partner.iter().collect()),
    ] {
        let _ = writeln!(
            out,
            "| {caption} | high | medium | low | info | total |\n|---|--:|--:|--:|--:|--:|"
        );
        for c in rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                md(&c.name),
                c.high,
                c.medium,
                c.low,
                c.info,
                c.total
            );
        }
        let _ = writeln!(out);
    }
    out
}

/// One customer's section.
fn section(c: &CustomerView) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let _ = writeln!(out, "## {} ({})\n", md(&c.name), code(&c.id));
    if let Some(reason) = &c.incomplete {
        let _ = writeln!(
            out,
            "> **incomplete:** {}, findings may be missing\n",
            md(reason)
        );
    }
    let _ = writeln!(out, "### Partner relationships\n");
    if c.relationships.is_empty() {
        let _ = writeln!(out, "None in the snapshot.\n");
    } else {
        let _ = writeln!(
            out,
            "| partner | kind | state | started | ended | last activity | GDAP id |\n|---|---|---|---|---|---|---|"
        );
        for x in &c.relationships {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                md(&x.partner),
                x.kind,
                x.state,
                x.started.as_deref().unwrap_or("—"),
                x.ended.as_deref().unwrap_or("—"),
                x.last_activity.as_deref().unwrap_or("—"),
                x.relationship_id
                    .as_deref()
                    .map_or("—".into(), escape::markdown)
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "### Administrators: listed vs effective\n");
    if c.roles.is_empty() {
        let _ = writeln!(out, "Nobody holds a directory role in this tenant.\n");
    } else {
        let _ = writeln!(
            out,
            "*Listed* is what the customer's own role listing shows; *can act* counts everyone who can use the role, partner users holding it implicitly through DAP or GDAP included (facts F5, F6 of partner-audit's docs/facts.md).\n"
        );
        let _ = writeln!(
            out,
            "| directory role | listed | can act | hidden partner holders |\n|---|--:|--:|--:|"
        );
        for x in &c.roles {
            let unknown = if x.unknown { " (+ unknown)" } else { "" };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {}{unknown} |",
                md(&x.role),
                x.listed,
                x.effective,
                x.hidden
            );
        }
        let _ = writeln!(
            out,
            "\n| role | principal | home tenant | in listing | through |\n|---|---|---|---|---|"
        );
        for a in &c.admins {
            let listed = if a.listed {
                "listed"
            } else if a.foreign {
                "**hidden**"
            } else {
                "not listed"
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {listed} | {} |",
                md(&a.role),
                md(&a.name),
                md(&a.home),
                md(&a.path)
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "### Lingering subscription roles\n");
    if c.lingering.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        let _ = writeln!(
            out,
            "Removing DAP does not remove Azure role assignments (fact F10 of partner-audit's docs/facts.md). Each row is the exact assignment to remove.\n"
        );
        let _ = writeln!(
            out,
            "| subscription | scope | role | held by | relationships | remove | source |\n|---|---|---|---|---|---|---|"
        );
        for l in &c.lingering {
            let mut source = escape::markdown(&l.source);
            if l.waived {
                source.push_str(" (waived)");
            }
            for id in &l.findings {
                source.push_str(&format!(" {}", code(id)));
            }
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} of {} | {} | {} | {source} |",
                md(&l.subscription),
                code(&l.scope),
                md(&l.role),
                md(&l.principal),
                md(&l.partner),
                md(&l.relationships),
                code(&l.command)
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "### Autopilot and service requests\n");
    if c.consequences.is_empty() {
        let _ = writeln!(
            out,
            "None: no Autopilot (AP) or service-request (SR) finding for this customer.\n"
        );
    }
    for f in &c.consequences {
        finding(&mut out, f);
    }
    let _ = writeln!(out, "### Findings\n");
    if c.findings.is_empty() {
        let _ = writeln!(out, "None.\n");
    }
    for f in &c.findings {
        finding(&mut out, f);
    }
    out
}

/// The report's end: findings tied to no customer, waivers, baseline
/// changes and input warnings.
fn tail(r: &Review<'_>) -> String {
    let mut out = String::new();
    if !r.other_findings.is_empty() {
        let _ = writeln!(out, "## Other findings\n");
        for f in &r.other_findings {
            finding(&mut out, f);
        }
    }
    if let Some(w) = &r.waivers {
        let _ = writeln!(out, "## Waivers\n\nFrom {}.\n", code(&w.file));
        let _ = writeln!(out, "### Waived findings ({})\n", w.waived.len());
        if w.waived.is_empty() {
            let _ = writeln!(out, "None.\n");
        } else {
            let _ = writeln!(
                out,
                "| finding | severity | message | waiver | justification | owner | expires |\n|---|---|---|---|---|---|---|"
            );
            for x in &w.waived {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | line {}: {} | {} | {} | {} |",
                    code(&x.id),
                    x.severity,
                    md(&x.message),
                    x.line,
                    md(&x.target),
                    md(&x.justification),
                    md(&x.owner),
                    md(&x.expires)
                );
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "### Expired waivers ({})\n", w.expired.len());
        if w.expired.is_empty() {
            let _ = writeln!(out, "None.\n");
        }
        for x in &w.expired {
            let ids: Vec<String> = x.reopened.iter().map(|i| code(i)).collect();
            let _ = writeln!(
                out,
                "- line {}: {} (owner {}) expired on {}; re-opened: {}",
                x.line,
                md(&x.target),
                md(&x.owner),
                md(&x.expires),
                if ids.is_empty() {
                    "none".to_string()
                } else {
                    ids.join(", ")
                }
            );
        }
        let _ = writeln!(
            out,
            "\n### Waivers matching no finding ({})\n",
            w.unmatched.len()
        );
        if w.unmatched.is_empty() {
            let _ = writeln!(out, "None.");
        }
        for x in &w.unmatched {
            let _ = writeln!(
                out,
                "- line {}: {} (owner {}, expires {})",
                x.line,
                md(&x.target),
                md(&x.owner),
                md(&x.expires)
            );
        }
        let _ = writeln!(out);
    }
    if let Some(b) = &r.baseline {
        let _ = writeln!(
            out,
            "## Changes since baseline\n\nCompared with {}: **{}** new, {} unchanged, {} resolved.\n",
            code(&b.file),
            b.new,
            b.unchanged,
            b.resolved.len()
        );
        if !b.resolved.is_empty() {
            let _ = writeln!(
                out,
                "| resolved finding | rule | severity | message |\n|---|---|---|---|"
            );
            for p in &b.resolved {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    code(&p.id),
                    md(&p.rule),
                    md(&p.severity),
                    md(&p.message)
                );
            }
            let _ = writeln!(out);
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(out, "## Input warnings\n");
        for w in &r.warnings {
            let _ = writeln!(out, "- {}", md(w));
        }
        let _ = writeln!(out);
    }
    out
}

/// Renders the review as Markdown.
pub fn render(r: &Review<'_>) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = write(r, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes report.md: the head, each customer's section as soon as it is
/// rendered (a batch at a time, in order), then the end.
pub fn write(review: &Review<'_>, w: &mut dyn Write) -> io::Result<()> {
    let mut w = TrimEnd { w, newlines: 0 };
    w.put(&head(review))?;
    review.each_customer(false, &|_| true, &|c| Ok(section(c)), &mut |text| {
        w.put(&text)
    })?;
    w.put(&tail(review))?;
    w.finish()
}

/// A writer that ends the text with exactly one line break: line breaks
/// are held back until more text follows them.
struct TrimEnd<'w> {
    w: &'w mut dyn Write,
    newlines: usize,
}

impl TrimEnd<'_> {
    fn put(&mut self, text: &str) -> io::Result<()> {
        let body = text.trim_end_matches('\n');
        if body.is_empty() {
            self.newlines += text.len();
            return Ok(());
        }
        for _ in 0..self.newlines {
            self.w.write_all(b"\n")?;
        }
        self.w.write_all(body.as_bytes())?;
        self.newlines = text.len() - body.len();
        Ok(())
    }

    fn finish(self) -> io::Result<()> {
        if self.newlines > 0 {
            self.w.write_all(b"\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn code_spans_cannot_be_broken() {
        assert_eq!(super::code("a`b"), "``a`b``");
        assert_eq!(super::code("`x"), "`` `x ``");
        assert_eq!(super::code("a|b\nc"), "`a\\|b c`");
    }
}
