//! Verification of issue #11 on the merged code with hostile inputs the
//! other integrity tests do not try: each test here is a defect found that
//! way, kept so that it stays fixed.

mod common;

use std::time::{Duration, Instant};

use partner_audit::report::waivers::WaiverSet;

/// Validates that loading a waivers file costs time linear in its size: the
/// line of each waiver used to be found by counting the newlines before it,
/// so 40,000 waivers took about 20 s (and 100,000 more than a minute, a
/// hang for a CI job). Linear, the same file loads in well under a second;
/// the bound leaves a wide margin for a slow, shared machine.
#[test]
fn many_waivers_load_in_linear_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 40_000;
    let one = r#"{"rule": "DAP001", "justification": "j", "owner": "o", "expires": "2099-01-01"}"#;
    let text = format!("[\n{}\n]\n", vec![one; n].join(",\n"));
    let path = dir.path().join("waivers.json");
    std::fs::write(&path, text).expect("write");
    let start = Instant::now();
    let set = WaiverSet::load(&path).expect("valid waivers");
    let took = start.elapsed();
    assert_eq!(set.waivers.len(), n);
    assert_eq!(set.waivers[0].line, 2, "first waiver on line 2");
    assert_eq!(set.waivers[n - 1].line, n as u32 + 1, "last waiver's line");
    assert!(
        took < Duration::from_secs(8),
        "{n} waivers took {took:?} to load"
    );
}

/// Validates that waiver warnings (a waiver matching no finding, an expired
/// one) obey the terminal's cap like every other warning: at most 20, then a
/// count of the rest, and none with `--quiet`. A waivers file of 10,000
/// stale entries used to print 10,000 lines.
#[test]
fn waiver_warnings_are_capped_on_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("waivers.toml");
    // A rule of the catalog, for a customer the demo does not have.
    let one = "[[waiver]]\nrule = \"DAP001\"\ncustomer_tenant_id = \"00000000-0000-0000-0000-00000000000f\"\njustification = \"j\"\nowner = \"o\"\nexpires = \"2099-01-01\"\n";
    std::fs::write(&path, one.repeat(30)).expect("write");
    let waivers = path.to_str().expect("utf-8 path");
    let stale = |stderr: &str| stderr.matches("matches no finding").count();

    let (code, _, stderr) = common::run(&["audit", "fixtures/demo", "--waivers", waivers]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stale(&stderr), 20, "{stderr}");
    assert!(
        stderr.contains("… and 10 more waiver warning(s)"),
        "{stderr}"
    );

    let (code, _, stderr) =
        common::run(&["audit", "fixtures/demo", "--waivers", waivers, "--quiet"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stale(&stderr), 0, "{stderr}");
}

/// Validates that a `--config` file's errors name its line and column, as
/// every other input file's do: a TOML syntax error, a duplicate key and an
/// unknown setting used to name the file alone (and the syntax error's
/// message ran over two lines).
#[test]
fn config_errors_name_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "select = [\"DAP\"]\nselect = [\"AZ\"]\n",
            ":2:1: invalid TOML: duplicate key",
        ),
        (
            "select = [\"DAP\"]\n  bogus = 1\n",
            ":2:3: unknown setting `bogus`",
        ),
        (
            "ignore = []\nautopilot_policy = 1\n",
            ":2:1: `autopilot_policy` must be a string",
        ),
        (
            "select = [1,\n  2",
            ":2:4: invalid TOML: invalid array, expected `]`",
        ),
    ];
    for (i, (text, want)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("c{i}.toml"));
        std::fs::write(&path, text).expect("write");
        let config = path.to_str().expect("utf-8 path");
        let (code, _, stderr) = common::run(&["audit", "fixtures/demo", "--config", config]);
        assert_eq!(code, 2, "{text:?}: {stderr}");
        assert!(
            stderr.contains(&format!("c{i}.toml{want}")),
            "{text:?}: expected `{want}` in: {stderr}"
        );
    }
}
