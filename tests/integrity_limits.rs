//! Input integrity: limits on what a rule file, a snapshot or the command
//! line may ask for, so that no input crashes the process or exhausts the
//! machine (issue #11: unbounded recursion, memory and numbers; warning
//! floods).

mod common;

use common::run;

/// A custom rule whose `where` string is on line 13, starting at column 10.
fn rule_with_where(expr: &str) -> String {
    format!(
        r#"
id = "CUST001"
title = "No partner may hold Owner on any subscription"
severity = "high"
summary = "Any Owner assignment held by a partner principal."
rationale = "Owner lets a partner grant itself anything (F9, F10)."
remediation = "Replace Owner with a narrower role."
example = "AdminAgents holds Owner on Production."

[query]
from = "role_assignment"
per = ["tenant_id", "scope", "principal_id"]
where = '{expr}'
message = "{{partner_name}} holds Owner on {{scope}}"
"#
    )
}

/// Validates that the `where` expressions of issue #11 item 9 (10,000 nested
/// parentheses, 100,000 `!`, 30,000 `&&` terms) and a merely too-deep one
/// are load errors naming the rule file, line and column, with exit status
/// 2, never a stack overflow.
#[test]
fn huge_or_deep_where_expressions_are_load_errors() {
    let cases = [
        (
            format!(
                "{}principal_is_partner{}",
                "(".repeat(10_000),
                ")".repeat(10_000)
            ),
            10_000 + 10,
            "the expression has more than 10000 tokens",
        ),
        (
            format!("{}principal_is_partner", "!".repeat(100_000)),
            10_000 + 10,
            "the expression has more than 10000 tokens",
        ),
        (
            vec!["principal_is_partner"; 30_000].join(" && "),
            5_000 * 24 + 10,
            "the expression has more than 10000 tokens",
        ),
        (
            format!("{}principal_is_partner{}", "(".repeat(200), ")".repeat(200)),
            64 + 10,
            "the expression is nested more than 64 levels deep",
        ),
        (
            format!("{}principal_is_partner", "! ".repeat(200)),
            2 * 64 + 10,
            "the expression is nested more than 64 levels deep",
        ),
    ];
    for (expr, column, message) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("deep.toml"), rule_with_where(&expr)).expect("write");
        let rules = dir.path().to_string_lossy().into_owned();
        for args in [
            vec!["rules", "--rules", &rules],
            vec!["audit", "fixtures/demo", "--rules", &rules],
        ] {
            let (code, _, err) = run(&args);
            assert_eq!(code, 2, "{args:?}: {err}");
            let want = format!("deep.toml:13:{column}: field `query.where`: {message}");
            assert!(err.contains(&want), "{args:?}: want {want}\n{err}");
        }
    }
}

/// Validates that the largest accepted expressions (64 levels, a 4,999-term
/// chain) load and run.
#[test]
fn large_but_bounded_where_expressions_run() {
    for expr in [
        format!("{}principal_is_partner{}", "(".repeat(64), ")".repeat(64)),
        vec!["principal_is_partner"; 4_999].join(" && "),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("big.toml"), rule_with_where(&expr)).expect("write");
        let rules = dir.path().to_string_lossy().into_owned();
        let (code, out, err) = run(&[
            "audit",
            "fixtures/demo",
            "--rules",
            &rules,
            "--no-builtin-rules",
        ]);
        assert_eq!(code, 1, "{err}");
        assert!(out.contains("CUST001"), "{out}");
    }
}

/// Validates that `--threads` outside 1..=1024 is a usage error (exit 2)
/// naming the option and the bound, and that the bound itself is accepted.
#[test]
fn threads_are_bounded() {
    for (value, want) in [
        ("100000", "must be at most 1024"),
        ("1025", "must be at most 1024"),
        ("0", "must be at least 1"),
        ("-3", "`-3` is not a whole number from 1 to 1024"),
        ("many", "`many` is not a whole number from 1 to 1024"),
    ] {
        let arg = format!("--threads={value}");
        let (code, out, err) = run(&["audit", "fixtures/demo", &arg]);
        assert_eq!(code, 2, "--threads {value}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("--threads <N>"), "{err}");
        assert!(err.contains(want), "--threads {value}: want {want}\n{err}");
    }
    let (code, _, err) = run(&["audit", "fixtures/demo", "--threads", "1024"]);
    assert_eq!(code, 1, "{err}");
}

/// Validates that `generate --customers` outside 1..=1,000,000 and
/// `--partners` above 10,000 are usage errors that write nothing.
#[test]
fn generate_sizes_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snap");
    let out_s = out.to_string_lossy().into_owned();
    for (args, want) in [
        (["--customers", "68000000"], "must be at most 1,000,000"),
        (["--customers", "1000001"], "must be at most 1,000,000"),
        (["--customers", "0"], "must be at least 1"),
        (["--partners", "10001"], "must be at most 10,000"),
    ] {
        let (code, _, err) = run(&["generate", args[0], args[1], &out_s]);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(args[0]), "{err}");
        assert!(err.contains(want), "{args:?}: want {want}\n{err}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    let (code, _, err) = run(&["generate", "--customers", "1", "--partners", "0", &out_s]);
    assert_eq!(code, 0, "{err}");
    assert!(out.join("tenants.csv").exists());
}

use common::{nested_group_id as gid, NESTED_CUSTOMER as CUSTOMER, NESTED_PARTNER as PARTNER};

/// A snapshot where the partner's AdminAgents (group 0, DAP with one
/// customer) contains group 1, which contains group 2, … down to group
/// `depth`, which contains the user `Deep Dana` (id 999999999999).
fn chain_snapshot(depth: u32) -> tempfile::TempDir {
    common::nested_groups_snapshot(depth)
}

/// The `paths` of the DAP001 finding of an audit, from findings.json.
fn dap001_paths(a: &partner_audit::app::Audit) -> Vec<String> {
    let doc: serde_json::Value =
        serde_json::from_str(&common::findings_json(a)).expect("findings.json");
    let f = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "DAP001")
        .expect("a DAP001 finding");
    assert_eq!(f["principals"], serde_json::json!([gid_user()]));
    f["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| p.as_str().expect("path text").to_string())
        .collect()
}

fn gid_user() -> String {
    "aaaaaaaa-0000-0000-0000-999999999999".into()
}

/// Validates issue #11 item 11: a chain of 100,000 nested groups under an
/// AdminAgents group expands in memory linear in its members (the old
/// per-member path copies needed about 20 GB and 55 s here), the one user
/// at the bottom holds Global Administrator, and the printed path keeps 8
/// principals at each end with the count of the groups between.
#[test]
fn a_chain_of_100000_nested_groups_expands_linearly() {
    let depth = 100_000;
    let dir = chain_snapshot(depth);
    let started = std::time::Instant::now();
    let a = common::audit(&dir.path().to_string_lossy());
    let took = started.elapsed();
    let admin = a
        .graph
        .principal(
            &a.snapshot,
            &partner_audit::snapshot::Guid::parse(&gid(0)).expect("guid"),
        )
        .expect("AdminAgents node");
    let members = a.graph.members_of(admin);
    assert_eq!(
        members.list.len(),
        depth as usize + 2,
        "every group and the user"
    );
    let dana = members.list.last().expect("the user");
    assert_eq!(dana.path_len(), depth as usize + 2);
    assert_eq!(members.full_path(dana).count(), depth as usize + 2);
    let paths = dap001_paths(&a);
    assert_eq!(paths.len(), 1);
    let (chain, grant) = paths[0].split_once(" ⇒ ").expect("path ⇒ grant");
    assert_eq!(grant, "Global Administrator in Customer (DAP)");
    let hops: Vec<&str> = chain.split(" → ").collect();
    let mut want = vec!["Deep Dana".to_string()];
    want.extend((depth - 6..=depth).rev().map(|g| format!("Group {g}")));
    want.push(format!("… {} more groups …", depth + 2 - 16));
    want.extend((1..=7).rev().map(|g| format!("Group {g}")));
    want.push("Group 0 (Partner)".into());
    assert_eq!(hops, want);
    // Generous for a debug build on a shared machine; quadratic copying
    // took close to a minute even in release.
    assert!(took.as_secs() < 60, "took {took:?}");
}

/// Validates that the shortened path shows exactly the ends of the full
/// path, for every member of a chain just longer and just shorter than the
/// cap, and that HTML diagrams get the same elision.
#[test]
fn long_paths_show_their_ends() {
    let dir = chain_snapshot(40);
    let a = common::audit(&dir.path().to_string_lossy());
    let admin = a
        .graph
        .principal(
            &a.snapshot,
            &partner_audit::snapshot::Guid::parse(&gid(0)).expect("guid"),
        )
        .expect("AdminAgents node");
    let members = a.graph.members_of(admin);
    for m in &members.list {
        let full: Vec<_> = members.full_path(m).collect();
        assert_eq!(full.len(), m.path_len());
        assert_eq!(full.first(), Some(&m.node));
        assert_eq!(full.last(), Some(&admin));
        let shown = members.shown_path(m);
        use partner_audit::graph::Hop;
        if full.len() <= 17 {
            let nodes: Vec<_> = full.iter().map(|&n| Hop::Node(n)).collect();
            assert_eq!(shown, nodes);
        } else {
            let mut want: Vec<_> = full[..8].iter().map(|&n| Hop::Node(n)).collect();
            want.push(Hop::Elided(full.len() - 16));
            want.extend(full[full.len() - 8..].iter().map(|&n| Hop::Node(n)));
            assert_eq!(shown, want);
        }
    }
    let paths = dap001_paths(&a);
    assert!(
        paths[0].contains(" → … 26 more groups … → "),
        "{}",
        paths[0]
    );
    let out = tempfile::tempdir().expect("tempdir");
    let out_s = out.path().to_string_lossy().into_owned();
    let snap = dir.path().to_string_lossy().into_owned();
    let (code, _, err) = run(&["audit", &snap, "--out", &out_s, "--format", "html,csv"]);
    assert_eq!(code, 1, "{err}");
    let html = String::from_utf8(common::read_report(&out.path().join("html"))).expect("utf-8");
    assert!(html.contains("… 26 more groups …"), "diagram elides");
    assert!(!html.contains("Group 20<"), "a middle group is not drawn");
    let access = std::fs::read_to_string(out.path().join("access.csv")).expect("access.csv");
    assert!(access.contains("… 26 more groups …"), "{access}");
}

/// The depth-1 chain snapshot plus a flood: `tenants.csv` with `columns`
/// unknown columns, `files` unknown tables (one warning each) and, when
/// `bad_row`, a principal of an invalid kind.
fn flooded_snapshot(columns: usize, files: usize, bad_row: bool) -> tempfile::TempDir {
    let dir = chain_snapshot(1);
    let extra: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
    let empty = ",".repeat(columns);
    let tenants = format!(
        "tenant_id,name,kind,{}\n{PARTNER},Partner,partner{empty}\n{CUSTOMER},Customer,customer{empty}\n",
        extra.join(",")
    );
    std::fs::write(dir.path().join("tenants.csv"), tenants).expect("write");
    for i in 0..files {
        std::fs::write(dir.path().join(format!("notes{i:02}.csv")), "a\n1\n").expect("write");
    }
    if bad_row {
        let p = dir.path().join("principals.csv");
        let mut text = std::fs::read_to_string(&p).expect("read");
        text.push_str(&format!("{PARTNER},{},robot,R2,\n", gid(77)));
        std::fs::write(p, text).expect("write");
    }
    dir
}

fn warning_lines(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .count()
}

/// Validates issue #11 item 14: 100,000 unknown columns give one warning
/// naming the first ten and counting the rest, findings.json stays small
/// (at most 100 unknown columns listed per table), and the terminal shows
/// 20 warnings and counts the others.
#[test]
fn warning_floods_are_folded_and_capped() {
    let snap = flooded_snapshot(100_000, 30, false);
    let snap_s = snap.path().to_string_lossy().into_owned();
    let out = tempfile::tempdir().expect("tempdir");
    let out_s = out.path().to_string_lossy().into_owned();
    let (code, stdout, err) = run(&["audit", &snap_s, "--out", &out_s]);
    assert_eq!(code, 1, "{err}");
    assert!(stdout.contains("DAP001"), "{stdout}");
    let path = out.path().join("findings.json");
    let size = std::fs::metadata(&path).expect("findings.json").len();
    assert!(size < 100_000, "findings.json is {size} bytes");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let warnings = doc["input"]["warnings"].as_array().expect("warnings");
    let columns: Vec<_> = warnings
        .iter()
        .filter(|w| {
            w["message"]
                .as_str()
                .is_some_and(|m| m.contains("unknown column"))
        })
        .collect();
    assert_eq!(columns.len(), 1, "{columns:#?}");
    assert_eq!(
        columns[0]["message"],
        "unknown column `…` ignored (100,000 times: `c0`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` and 99,990 more)"
    );
    assert_eq!(columns[0]["line"], 1);
    assert_eq!(columns[0]["column"], 4);
    let listed = doc["input"]["tables"]["tenants"]["unknown_columns"]
        .as_object()
        .expect("unknown_columns");
    assert_eq!(listed.len(), 100);
    // 30 unknown tables (one file each, so not folded) and the folded columns.
    assert!(warnings.len() >= 31, "{}", warnings.len());
    assert_eq!(warning_lines(&err), 20, "{err}");
    let more = format!(
        "… and {} more warning(s) (all in findings.json)",
        warnings.len() - 20
    );
    assert!(err.contains(&more), "want {more}\n{err}");
    // Without findings.json the hint says how to get one.
    let (_, _, err) = run(&["audit", &snap_s]);
    assert_eq!(warning_lines(&err), 20, "{err}");
    assert!(
        err.contains("more warning(s) (use --out DIR to list them all in findings.json)"),
        "{err}"
    );
    // With --out but no findings.json, the hint does not suggest --out again.
    let csv_out = out.path().join("csv");
    let (_, _, err) = run(&[
        "audit",
        &snap_s,
        "--out",
        &csv_out.to_string_lossy(),
        "--format",
        "csv",
    ]);
    assert!(
        err.contains("more warning(s) (add json to --format to list them all in findings.json)"),
        "{err}"
    );
}

/// Validates `--quiet`: no warning reaches the terminal, the summary does,
/// and errors are still printed.
#[test]
fn quiet_hides_warnings_but_not_errors() {
    let snap = flooded_snapshot(3, 2, true);
    let snap_s = snap.path().to_string_lossy().into_owned();
    let (code, stdout, err) = run(&["audit", &snap_s, "--keep-going"]);
    assert_eq!(code, 1, "{err}");
    assert!(warning_lines(&err) >= 5, "{err}");
    for quiet in ["--quiet", "-q"] {
        let (code, stdout_q, err_q) = run(&["audit", &snap_s, "--keep-going", quiet]);
        assert_eq!(code, 1, "{err_q}");
        assert_eq!(warning_lines(&err_q), 0, "{err_q}");
        assert!(
            err_q.contains("error: ") && err_q.contains("`robot`"),
            "{err_q}"
        );
        assert_eq!(stdout_q, stdout, "the summary is unchanged");
    }
    let (code, _, err) = run(&["audit", &snap_s, "--quiet"]);
    assert_eq!(code, 2, "an input error still stops the run");
    assert!(err.contains("`robot`"), "{err}");
}
