//! The plain-text summary printed to the terminal.

use std::fmt::Write as _;

use super::json::Summary;
use super::Report;
use crate::engine::rule::Severity;

/// How many findings the summary lists in full.
const TOP: usize = 10;

/// Renders the summary: counts per severity and per rule, then the top findings.
pub fn render(r: &Report<'_>) -> String {
    let s = Summary::of(r.findings);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "partner-audit: {} finding(s) as of {}",
        s.total, r.as_of
    );
    let sev: Vec<String> = Severity::ALL
        .iter()
        .map(|x| {
            format!(
                "{} {}",
                s.by_severity.get(x.as_str()).copied().unwrap_or(0),
                x
            )
        })
        .collect();
    let _ = writeln!(out, "  by severity: {}", sev.join(", "));
    if !s.by_rule.is_empty() {
        let rules: Vec<String> = s.by_rule.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "  by rule:     {}", rules.join(", "));
    }
    let warnings = r.diagnostics.len();
    if warnings > 0 {
        let _ = writeln!(
            out,
            "  input:       {warnings} warning(s) (see stderr or findings.json)"
        );
    }
    if !r.findings.is_empty() {
        let _ = writeln!(out, "\ntop findings:");
        for f in r.findings.iter().take(TOP) {
            let _ = writeln!(
                out,
                "  [{:<6}] {} {}",
                f.severity.as_str(),
                f.rule,
                printable(&f.message)
            );
        }
        if r.findings.len() > TOP {
            let _ = writeln!(
                out,
                "  … and {} more (use --out DIR for findings.json)",
                r.findings.len() - TOP
            );
        }
    }
    out
}

/// Snapshot strings are hostile data: control characters (terminal escape
/// sequences among them) are shown as U+FFFD instead of being sent to the terminal.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(
            super::printable("a\u{1b}[31mb\nc"),
            "a\u{fffd}[31mb\u{fffd}c"
        );
    }
}
