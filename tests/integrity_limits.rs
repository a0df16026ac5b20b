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
