//! The summary printed to the terminal.
//!
//! Rendered with ANSI styles and printed through `anstream`, which strips
//! them when stdout is not a terminal or `NO_COLOR` is set (and keeps them
//! with `CLICOLOR_FORCE`). Snapshot strings pass through [`printable`], so
//! no control character from the data reaches the terminal.

use std::fmt::Write as _;
use std::path::PathBuf;

use anstyle::{AnsiColor, Style};

use super::json::Summary;
use super::{Open, Outcome, Status};
use crate::engine::rule::Severity;

/// How many findings the summary lists in full.
const TOP: usize = 10;

fn style(s: Severity) -> Style {
    match s {
        Severity::High => AnsiColor::Red.on_default().bold(),
        Severity::Medium => AnsiColor::Yellow.on_default(),
        Severity::Low => AnsiColor::Cyan.on_default(),
        Severity::Info => Style::new().dimmed(),
    }
}

fn paint(s: Style, text: &str) -> String {
    format!("{s}{text}{s:#}")
}

/// The open findings in the order the summary lists them: under a
/// baseline the new ones first, then the unchanged ones, each part in
/// report order; else report order.
fn listed<'o, 'a>(o: &'o Outcome<'a>) -> Vec<&'o Open<'a>> {
    let mut open: Vec<&Open<'a>> = o.open.iter().collect();
    if o.baseline.is_some() {
        // A stable sort keeps report order within each part.
        open.sort_by_key(|x| x.status != Some(Status::New));
    }
    open
}

/// Where the findings the summary does not list can be read: the
/// findings.json just written, else the `--out` folder of the reports
/// written, else a hint to pass `--out`.
fn rest_hint(written: &[PathBuf]) -> String {
    let json = written
        .iter()
        .find(|p| p.file_name().is_some_and(|n| n == "findings.json"));
    match (json, written.first().and_then(|p| p.parent())) {
        (Some(p), _) => format!("all in {}", printable(&p.display().to_string())),
        (None, Some(dir)) => format!(
            "see the reports in {}",
            printable(&dir.display().to_string())
        ),
        (None, None) => "use --out DIR for findings.json".to_string(),
    }
}

/// Renders the summary: counts per severity and per rule, baseline and
/// waiver counts, then the top open findings (under a baseline the new
/// ones first, marked `NEW`). `written` are the report files of the run
/// (none without `--out`): the closing hint says where the findings not
/// listed are.
pub fn render(o: &Outcome<'_>, written: &[PathBuf]) -> String {
    let r = o.report;
    let s = Summary::of(o.open.iter().map(|x| x.finding));
    let bold = Style::new().bold();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} finding(s) as of {} (from {})",
        paint(bold, "partner-audit"),
        s.total,
        r.as_of,
        r.as_of_origin.describe()
    );
    let sev: Vec<String> = Severity::ALL
        .iter()
        .map(|x| {
            let n = s.by_severity.get(x.as_str()).copied().unwrap_or(0);
            let text = format!("{n} {x}");
            if n > 0 {
                paint(style(*x), &text)
            } else {
                text
            }
        })
        .collect();
    let _ = writeln!(out, "  by severity: {}", sev.join(", "));
    if !s.by_rule.is_empty() {
        let rules: Vec<String> = s.by_rule.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "  by rule:     {}", rules.join(", "));
    }
    if let Some(d) = &o.baseline {
        let _ = writeln!(
            out,
            "  baseline:    {} new, {} unchanged, {} resolved (vs {})",
            paint(bold, &d.new.to_string()),
            d.unchanged,
            d.resolved.len(),
            printable(&d.file)
        );
    }
    if let Some(w) = &o.waivers {
        let _ = writeln!(
            out,
            "  waivers:     {} finding(s) waived, {} expired waiver(s), {} matching nothing",
            o.waived.len(),
            w.expired_ids().count(),
            w.unmatched_ids().count()
        );
    }
    let incomplete = r.incomplete();
    if !incomplete.is_empty() {
        let names: Vec<String> = incomplete
            .iter()
            .map(|x| format!("{} ({})", printable(&x.name), x.tenant_id))
            .collect();
        let _ = writeln!(
            out,
            "  {}  {} tenant(s), findings may be missing: {}",
            paint(AnsiColor::Yellow.on_default().bold(), "incomplete:"),
            incomplete.len(),
            names.join(", ")
        );
    }
    let warnings = r.diagnostics.len();
    if warnings > 0 {
        let _ = writeln!(
            out,
            "  input:       {warnings} warning(s) (see stderr or findings.json)"
        );
    }
    if !o.open.is_empty() {
        let _ = writeln!(out, "\ntop findings:");
        let listed = listed(o);
        for x in listed.iter().take(TOP) {
            let f = x.finding;
            // Unmarked lines keep the rule ids in one column.
            let tag = match x.status {
                Some(Status::New) => format!(" {}", paint(bold, "NEW")),
                Some(Status::Unchanged) => "    ".to_string(),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "  [{}]{tag} {} {}",
                paint(style(f.severity), &format!("{:<6}", f.severity.as_str())),
                f.rule,
                printable(&f.message)
            );
        }
        if listed.len() > TOP {
            let rest = &listed[TOP..];
            let new = if o.baseline.is_some() {
                let n = rest
                    .iter()
                    .filter(|x| x.status == Some(Status::New))
                    .count();
                format!(", {n} new")
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  … and {} more{new} ({})",
                rest.len(),
                rest_hint(written)
            );
        }
    }
    out
}

/// Snapshot strings are hostile data: control characters (terminal escape
/// sequences among them) and bidirectional controls are shown as U+FFFD
/// instead of being sent to the terminal ([`super::escape::is_hidden`]).
pub fn printable(s: &str) -> String {
    super::escape::visible(s, |_| false).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(
            super::printable("a\u{1b}[31mb\nc"),
            "a\u{fffd}[31mb\u{fffd}c"
        );
        assert_eq!(
            super::printable("evil\u{202e}txt.exe\u{9b}"),
            "evil\u{fffd}txt.exe\u{fffd}"
        );
    }
}
