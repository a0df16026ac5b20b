//! The documentation is self-contained: every numbered fact a rule, a doc
//! page or a report cites is stated in docs/facts.md with its Microsoft Learn
//! sources, and nothing points at a document outside the repository.

mod report;

use std::collections::{BTreeMap, BTreeSet};

use partner_audit::engine::rule::Rule;
use report::common;

/// docs/facts.md: fact number → its source URLs (`<https://…>` lines of its
/// section).
fn facts() -> BTreeMap<u32, BTreeSet<String>> {
    let text =
        std::fs::read_to_string(common::root().join("docs/facts.md")).expect("docs/facts.md");
    let mut out: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            current = h
                .strip_prefix('F')
                .and_then(|n| n.trim().parse::<u32>().ok());
            if let Some(n) = current {
                assert!(
                    out.insert(n, BTreeSet::new()).is_none(),
                    "F{n} defined twice"
                );
            }
            continue;
        }
        if let (Some(n), Some(start)) = (current, line.find("<https://")) {
            let url = &line[start + 1..];
            let url = &url[..url.find('>').expect("closing >")];
            out.entry(n).or_default().insert(url.to_string());
        }
    }
    out
}

/// Every fact reference (`F` and one or two digits, standing alone) in
/// `text`, with its byte offset.
fn fact_refs(text: &str) -> Vec<(usize, u32)> {
    let b = text.as_bytes();
    let word = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphanumeric);
    let mut out = Vec::new();
    for (i, _) in text.match_indices('F') {
        if i > 0 && word(i - 1) {
            continue;
        }
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if (1..=2).contains(&digits) && !word(i + 1 + digits) {
            out.push((i, text[i + 1..=i + digits].parse().expect("digits")));
        }
    }
    out
}

/// Problems of `text` (named `what`): a mention of the specification, or
/// a fact reference docs/facts.md does not define.
fn dangling(what: &str, text: &str, known: &BTreeMap<u32, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    // `SPEC` as a word (`SPEC.md`, `SPEC §3`), not inside `PERSPECTIVE`.
    let b = text.as_bytes();
    let word = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphanumeric);
    if let Some((i, _)) = text
        .match_indices("SPEC")
        .find(|&(i, _)| (i == 0 || !word(i - 1)) && !word(i + 4))
    {
        out.push(format!("{what}: mentions `SPEC` at byte {i}"));
    }
    for (i, n) in fact_refs(text) {
        if !known.contains_key(&n) {
            out.push(format!(
                "{what}: F{n} at byte {i} has no anchor in docs/facts.md"
            ));
        }
    }
    out
}

fn rule_texts(r: &Rule) -> [(&'static str, &str); 4] {
    [
        ("summary", r.summary.as_str()),
        ("rationale", r.rationale.as_str()),
        ("example", r.example.as_str()),
        ("remediation", &*r.remediation),
    ]
}

/// Validates docs/facts.md itself: F1–F12, each with a Microsoft Learn source.
#[test]
fn facts_page_states_each_fact_with_a_learn_source() {
    let f = facts();
    assert_eq!(
        f.keys().copied().collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>()
    );
    for (n, urls) in &f {
        assert!(
            urls.iter()
                .any(|u| u.starts_with("https://learn.microsoft.com/")),
            "F{n} has no Microsoft Learn source: {urls:?}"
        );
    }
}

/// Validates that every built-in rule cites facts as links to their anchor
/// in docs/facts.md, and lists a source of each cited fact in `references`.
#[test]
fn rules_cite_facts_by_anchor_with_their_sources() {
    let known = facts();
    let mut problems = Vec::new();
    for r in common::catalog() {
        let mut cited = BTreeSet::new();
        for (field, text) in rule_texts(&r) {
            problems.extend(dangling(&format!("{} {field}", r.id), text, &known));
            for (i, n) in fact_refs(text) {
                let link = format!("F{n}](docs/facts.md#f{n})");
                if !(i > 0 && text[..i].ends_with('[') && text[i..].starts_with(&link)) {
                    problems.push(format!(
                        "{} {field}: F{n} is not written as [F{n}](docs/facts.md#f{n})",
                        r.id
                    ));
                }
                cited.insert(n);
            }
        }
        // The remediation is copied into every finding and report, where a
        // link into the repository would not resolve.
        if r.remediation.contains("facts.md") {
            problems.push(format!(
                "{} remediation links docs/facts.md: cite facts in the rationale",
                r.id
            ));
        }
        for n in cited {
            let sources = known.get(&n).cloned().unwrap_or_default();
            if !r.references.iter().any(|u| sources.contains(u)) {
                problems.push(format!(
                    "{} cites F{n} but its references list none of its sources {sources:?}",
                    r.id
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Validates the written docs (README, CHANGELOG, docs/*.md) and the rule
/// files: no mention of the specification, no fact without an anchor, and
/// every `facts.md#fN` link of docs/rules.md resolves.
#[test]
fn docs_are_self_contained() {
    let known = facts();
    let root = common::root();
    let mut files = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    for dir in ["docs", "rules"] {
        let mut more: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "md" || x == "toml"))
            .collect();
        more.sort();
        files.extend(more);
    }
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        let name = f.strip_prefix(&root).unwrap_or(f).display().to_string();
        problems.extend(dangling(&name, &text, &known));
    }
    let rules_md = std::fs::read_to_string(root.join("docs/rules.md")).expect("docs/rules.md");
    for (i, _) in rules_md.match_indices("](facts.md#f") {
        let rest = &rules_md[i + "](facts.md#f".len()..];
        let n: u32 = rest[..rest.find(')').expect(")")].parse().expect("number");
        if !known.contains_key(&n) {
            problems.push(format!(
                "docs/rules.md links facts.md#f{n}, which does not exist"
            ));
        }
    }
    assert!(
        !rules_md.contains("](docs/facts.md"),
        "docs/rules.md sits next to facts.md: its links must not go through docs/"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Validates what users see of the catalog (SARIF help, `explain`, the
/// `rules doc` reference) and every report of the demo: no mention of the
/// specification, no fact without an anchor.
#[test]
fn generated_help_and_reports_are_self_contained() {
    let known = facts();
    let rules = common::catalog();
    let mut problems = Vec::new();
    for r in &rules {
        problems.extend(dangling(
            &format!("explain {}", r.id),
            &partner_audit::app::explain(r),
            &known,
        ));
    }
    problems.extend(dangling(
        "rules doc",
        &partner_audit::engine::docs::rules_reference(&rules),
        &known,
    ));
    let a = common::audit("fixtures/demo");
    let r = report::report(&a);
    let o = partner_audit::report::Outcome::plain(&r, &rules);
    for (name, text) in report::render_all(&o) {
        problems.extend(dangling(&name, &text, &known));
        // A report travels without the repository: a fact it cites must
        // say where it is stated.
        for line in text.lines().filter(|l| !fact_refs(l).is_empty()) {
            if !line.contains("docs/facts.md") {
                problems.push(format!(
                    "{name}: cites a fact without docs/facts.md: {line}"
                ));
            }
        }
    }
    // SARIF help is where code-scanning users read a rule: check it is there.
    let sarif = report::render(&o, "findings.sarif");
    assert!(
        sarif.contains("docs/facts.md#f5"),
        "SARIF help no longer links the facts"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Validates `--help` of every command: a fact it cites names docs/facts.md,
/// since a user reading it has no repository at hand.
#[test]
fn command_help_says_where_the_facts_are() {
    let known = facts();
    let mut problems = Vec::new();
    for cmd in [
        &["--help"][..],
        &["audit", "--help"],
        &["exposure", "--help"],
        &["rules", "--help"],
        &["import", "--help"],
        &["collect", "--help"],
    ] {
        let out = common::bin(cmd);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{cmd:?}");
        let name = cmd.join(" ");
        problems.extend(dangling(&name, &text, &known));
        for line in text.lines().filter(|l| !fact_refs(l).is_empty()) {
            if !line.contains("docs/facts.md") {
                problems.push(format!(
                    "{name}: cites a fact without docs/facts.md: {line}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Validates the checker: it finds what it must find.
#[test]
fn the_checks_catch_a_dangling_fact_and_the_specification() {
    let known = facts();
    assert_eq!(
        fact_refs("(F2, F10) PF1 F123 0F5 F7x"),
        vec![(1, 2), (5, 10)]
    );
    let found = dangling("t", "see SPEC §3 and F13", &known);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(dangling("t", "shared/SPEC.md", &known).len(), 1);
    assert!(dangling("t", "--perspective <PERSPECTIVE>", &known).is_empty());
    assert!(dangling("t", "facts F1 and F12", &known).is_empty());
}
