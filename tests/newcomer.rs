//! A new user's first hour, from the README alone: how to get the command,
//! `rules test` from any folder, did-you-mean for rule ids, completions and
//! manual pages, usage errors before any input is read, and the as-of date
//! with its origin in every report.

mod common;

use std::path::Path;

use common::{root, run, run_in};

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// The commands of the README's fenced `sh` blocks, in order: one per
/// line, comments and continuation lines (`  [--flag]`) left out.
fn readme_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        let cmd = line.split(" #").next().unwrap_or("").trim();
        if in_sh && !cmd.is_empty() && !cmd.starts_with('#') && !line.starts_with(' ') {
            out.push(cmd.to_string());
        }
    }
    out
}

/// Validates that the README keeps its two first commands (the demo audit
/// and the tests) and says how to install `partner-audit` before any
/// example calls it.
#[test]
fn readme_installs_the_command_before_using_it() {
    let text = readme();
    let cmds = readme_commands(&text);
    assert_eq!(
        cmds[..2],
        [
            "cargo run --release -- audit fixtures/demo --out out",
            "cargo test"
        ],
        "{cmds:#?}"
    );
    let install = cmds
        .iter()
        .position(|c| c == "cargo install --path . --locked")
        .expect("the README says `cargo install --path . --locked`");
    let first_use = cmds
        .iter()
        .position(|c| c.starts_with("partner-audit ") || c.starts_with("target/release/"))
        .expect("the README uses the command");
    assert!(install < first_use, "{cmds:#?}");
    assert!(
        cmds.iter()
            .any(|c| c == "target/release/partner-audit --version"),
        "{cmds:#?}"
    );
    // The install section comes before the first command-line synopsis too.
    let section = text.find("### Installing the `partner-audit` command");
    let synopsis = text.find("partner-audit audit SNAPSHOT_OR_EXPORT_DIR");
    assert!(section.is_some() && section < synopsis);
}

/// Validates that every `partner-audit completions` and `man` command of
/// the README runs as written (with the home folder in a temporary one).
#[test]
fn readme_completion_and_man_commands_run() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let mut ran = 0;
    for cmd in readme_commands(&readme()) {
        let cmd = cmd.replace('~', &h.to_string_lossy());
        if let Some(dirs) = cmd.strip_prefix("mkdir -p ") {
            for dir in dirs.split_whitespace() {
                std::fs::create_dir_all(dir).expect("mkdir");
            }
            continue;
        }
        let Some(rest) = cmd.strip_prefix("partner-audit ") else {
            continue;
        };
        let (args, target) = match rest.split_once(" > ") {
            Some((a, t)) => (a, Some(t)),
            None => (rest, None),
        };
        let args: Vec<&str> = args.split_whitespace().collect();
        if !matches!(args[0], "completions" | "man")
            || args.iter().any(|a| a.contains('|') || a.contains('['))
        {
            continue;
        }
        let (code, out, err) = run_in(h, &args);
        assert_eq!(code, 0, "{cmd}: {err}");
        if let Some(t) = target {
            std::fs::write(t, &out).expect("write the script");
            assert!(out.contains("partner-audit"), "{cmd}");
        }
        ran += 1;
    }
    assert!(
        ran >= 4,
        "only {ran} completion or man command(s) in the README"
    );
    let page = h.join(".local/share/man/man1/partner-audit-audit.1");
    let page = std::fs::read_to_string(&page).expect("partner-audit-audit.1 written");
    assert!(page.contains(r"\-\-as\-of"), "{page}");
}

/// Validates that `rules test` checks the built-in catalog from a folder
/// outside the repository: its fixtures are in the binary.
#[test]
fn rules_test_runs_from_any_folder() {
    let away = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = run_in(away.path(), &["rules", "test"]);
    assert_eq!(code, 0, "{out}{err}");
    let tests: usize = common::catalog().iter().map(|r| r.tests.len()).sum();
    assert!(tests >= 40, "{tests}");
    assert!(
        out.trim_end()
            .ends_with(&format!("{tests} passed, 0 failed")),
        "{out}"
    );
    assert!(!out.contains("FAIL"), "{out}");
    assert!(out.contains("`partner-audit rules test DIR`"), "{out}");
    let (code, out, _) = run_in(away.path(), &["rules", "test", "--select", "dap00"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("PASS DAP001 ") && !out.contains("AZ001"),
        "{out}"
    );
}

/// Validates that a directory without rule files is an error that says
/// what `rules test DIR` wants, or which folder below holds rule files.
#[test]
fn rules_test_without_rule_files_says_which_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_string_lossy().into_owned();
    let (code, _, err) = run(&["rules", "test", &d]);
    assert_eq!(code, 2);
    assert!(err.contains("no rule files (*.toml) in"), "{err}");
    assert!(err.contains("`partner-audit rules test DIR`"), "{err}");
    std::fs::create_dir(dir.path().join("my-rules")).expect("mkdir");
    std::fs::copy(
        root().join("rules/DAP001.toml"),
        dir.path().join("my-rules/DAP001.toml"),
    )
    .expect("copy");
    let (code, _, err) = run(&["rules", "test", &d]);
    assert_eq!(code, 2);
    let below = dir.path().join("my-rules");
    assert!(
        err.contains(&format!(
            "did you mean `partner-audit rules test {}`?",
            below.display()
        )),
        "{err}"
    );
}

/// A snapshot path that is never read: when an error names it, the
/// snapshot was loaded before the command line was checked.
const NOWHERE: &str = "no/such/snapshot";

/// Validates did-you-mean for rule ids in `--select`, `--ignore`,
/// `explain`, `--set`, `rules test --select` and a waiver's `rule`.
#[test]
fn unknown_rule_ids_suggest_the_closest() {
    for (args, want) in [
        (
            vec!["audit", NOWHERE, "--select", "DAP01"],
            "--select `DAP01` matches no rule; did you mean `DAP001`?",
        ),
        (
            vec!["audit", NOWHERE, "--ignore", "dpa"],
            "--ignore `dpa` matches no rule; did you mean `DAP`?",
        ),
        (
            vec!["audit", NOWHERE, "--set", "DAP04.stale_after_days=9"],
            "unknown rule `DAP04`; did you mean `DAP004`?",
        ),
        (
            vec!["explain", "GDAP01"],
            "unknown rule `GDAP01`; did you mean `GDAP001`?",
        ),
        (
            vec!["rules", "test", "--select", "AZ0001"],
            "--select `AZ0001` matches no rule; did you mean `AZ001`?",
        ),
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains(NOWHERE), "{args:?}: {err}");
    }
    // A different case is the same id, not an error.
    let (code, out, _) = run(&["explain", "dap001"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("DAP001 — "), "{out}");

    let dir = tempfile::tempdir().expect("tempdir");
    let waivers = dir.path().join("waivers.toml");
    std::fs::write(
        &waivers,
        "[[waiver]]\nrule = \"dap001\"\njustification = \"case does not matter\"\nowner = \"a@b.example\"\nexpires = \"2027-01-01\"\n\n[[waiver]]\njustification = \"typo\"\nowner = \"a@b.example\"\nexpires = \"2027-01-01\"\nrule = \"AZ01\"\n",
    )
    .expect("write");
    let w = waivers.to_string_lossy().into_owned();
    let (code, _, err) = run(&["audit", NOWHERE, "--waivers", &w]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{w}:11:1: field `rule`: unknown rule `AZ01` (did you mean `AZ001`?)"
        )),
        "{err}"
    );
    assert!(!err.contains("dap001"), "{err}");
    assert!(err.trim_end().ends_with("1 error(s)"), "{err}");
}

/// Validates that completion scripts for every shell and the manual pages
/// are generated from the command-line definition: they name the
/// subcommands and their flags.
#[test]
fn completions_and_man_pages_cover_the_commands() {
    let subcommands = [
        "audit",
        "rules",
        "explain",
        "collect",
        "import",
        "generate",
        "completions",
        "man",
    ];
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, out, err) = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for word in subcommands
            .iter()
            // Flags without their dashes: fish writes `-l as-of`.
            .chain(&["as-of", "format", "fail-on", "waivers", "select"])
        {
            assert!(out.contains(word), "{shell} completions lack `{word}`");
        }
    }
    let (code, _, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid value 'tcsh'"), "{err}");

    let (code, page, err) = run(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(page.starts_with(".ie"), "roff expected: {page}");
    assert!(page.contains(".TH partner-audit 1"), "{page}");
    for name in subcommands {
        assert!(
            page.contains(&format!(
                "partner\\-audit\\-{}(1)",
                name.replace('-', "\\-")
            )),
            "man page lacks `{name}`"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_string_lossy().into_owned();
    let (code, _, err) = run(&["man", "--out", &d]);
    assert_eq!(code, 0, "{err}");
    let audit = std::fs::read_to_string(dir.path().join("partner-audit-audit.1")).expect("page");
    for flag in [
        r"\-\-as\-of",
        r"\-\-format",
        r"\-\-fail\-on",
        r"\-\-waivers",
    ] {
        assert!(audit.contains(flag), "partner-audit-audit.1 lacks {flag}");
    }
    for page in ["partner-audit.1", "partner-audit-rules-test.1"] {
        assert!(dir.path().join(page).is_file(), "{page} not written");
    }
}

/// Validates that command-line mistakes that need no input are reported
/// (exit 2, naming the flag) before the snapshot is read: the snapshot
/// given does not exist, and its error never shows.
#[test]
fn usage_errors_come_before_the_snapshot_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let file = file.to_string_lossy().into_owned();
    for (args, want) in [
        (
            vec!["--format", "html"],
            "`--format` writes files: pass `--out DIR`",
        ),
        (vec!["--out", &file], "--out `"),
        (vec!["--as-of", "yesterday"], "invalid --as-of `yesterday`"),
        (vec!["--threads", "0"], "'--threads <N>'"),
        (vec!["--threads", "many"], "'--threads <N>'"),
        (vec!["--fail-on-new"], "--baseline <FILE>"),
        (vec!["--no-builtin-rules"], "--rules <DIR>"),
        (
            vec!["--format", "pdf", "--out", "x"],
            "'--format <FORMATS>'",
        ),
        (vec!["--baseline", "no/such/findings.json"], "--baseline"),
        (vec!["--waivers", "no/such/waivers.toml"], "--waivers"),
    ] {
        let mut full = vec!["audit", NOWHERE];
        full.extend(&args);
        let (code, out, err) = run(&full);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains(NOWHERE), "{args:?} read the snapshot: {err}");
    }
}

/// The demo snapshot with its manifest's `captured_at` taken out.
fn demo_without_captured_at(dir: &Path) {
    for e in std::fs::read_dir(root().join("fixtures/demo")).expect("demo") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, dir.join(p.file_name().expect("name"))).expect("copy");
    }
    std::fs::write(
        dir.join("manifest.json"),
        "{\"format_version\": 1, \"perspective\": \"partner\"}\n",
    )
    .expect("manifest");
}

/// Validates that a snapshot without `captured_at` and no `--as-of` is
/// refused once, with the exact flag for today and how to record the date
/// in the manifest, and that the flag it names works as given.
#[test]
fn a_snapshot_without_captured_at_says_the_fix_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    demo_without_captured_at(dir.path());
    let snap = dir.path().to_string_lossy().into_owned();
    let (code, out, err) = run(&["audit", &snap, "-q"]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    assert_eq!(err.matches("captured_at").count(), 2, "{err}");
    let flag = err
        .split("add `")
        .nth(1)
        .and_then(|s| s.split('`').next())
        .unwrap_or_else(|| panic!("no flag to add: {err}"));
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    assert_eq!(flag, format!("--as-of {today}T00:00:00Z"), "{err}");
    let manifest = dir.path().join("manifest.json");
    assert!(
        err.contains(&format!(
            "`{}` (`{{\"format_version\": 1, \"captured_at\": \"{today}T00:00:00Z\"}}`)",
            manifest.display()
        )),
        "{err}"
    );
    let mut args = vec!["audit", &snap, "--fail-on", "never"];
    args.extend(flag.split(' '));
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("as of {today}T00:00:00Z (from --as-of)")),
        "{out}"
    );
}

/// The as-of date and its origin as each report file records it.
fn as_of_in_reports(dir: &Path) -> Vec<(&'static str, String)> {
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).expect(n);
    let json: serde_json::Value = serde_json::from_str(&read("findings.json")).expect("json");
    let sarif: serde_json::Value = serde_json::from_str(&read("findings.sarif")).expect("sarif");
    let props = &sarif["runs"][0]["properties"];
    let junit = read("junit.xml");
    let prop = |name: &str| {
        junit
            .split(&format!("<property name=\"{name}\" value=\""))
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_default()
            .to_string()
    };
    let md = read("report.md");
    let html = read("report.html");
    let line = |text: &str, start: &str| {
        text.lines()
            .find(|l| l.contains(start))
            .unwrap_or_default()
            .to_string()
    };
    vec![
        (
            "json",
            format!("{} {}", json["as_of"], json["as_of_origin"]),
        ),
        (
            "sarif",
            format!("{} {}", props["as_of"], props["as_of_origin"]),
        ),
        (
            "junit",
            format!("{} {}", prop("as_of"), prop("as_of_origin")),
        ),
        ("md", line(&md, "As of **")),
        ("html", line(&html, "<p class=\"meta\">As of")),
    ]
}

/// Validates that every report records the as-of date and where it came
/// from: the manifest's `captured_at`, or `--as-of`.
#[test]
fn every_report_records_the_as_of_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_string_lossy().into_owned();
    let all = "json,md,html,csv,sarif,junit";
    let base = ["audit", "fixtures/demo", "--out", &out, "--format", all];
    let (code, stdout, err) = run(&[&base[..], &["--fail-on", "never"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains("as of 2026-11-01T08:00:00Z (from the snapshot's captured_at)"),
        "{stdout}"
    );
    let got = as_of_in_reports(dir.path());
    let want = [
        "\"2026-11-01T08:00:00Z\" \"manifest\"",
        "\"2026-11-01T08:00:00Z\" \"manifest\"",
        "2026-11-01T08:00:00Z manifest",
        "As of **2026-11-01T08:00:00Z** (from the snapshot's captured\\_at)",
        "As of <b>2026-11-01T08:00:00Z</b> (from the snapshot&#x27;s captured_at)",
    ];
    for ((format, line), want) in got.iter().zip(want) {
        assert!(line.contains(want), "{format}: {line}");
    }

    let (code, stdout, err) =
        run(&[&base[..], &["--fail-on", "never", "--as-of", "2027-01-15"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains("as of 2027-01-15T00:00:00Z (from --as-of)"),
        "{stdout}"
    );
    let got = as_of_in_reports(dir.path());
    let want = [
        "\"2027-01-15T00:00:00Z\" \"flag\"",
        "\"2027-01-15T00:00:00Z\" \"flag\"",
        "2027-01-15T00:00:00Z flag",
        "As of **2027-01-15T00:00:00Z** (from \\--as-of)",
        "As of <b>2027-01-15T00:00:00Z</b> (from --as-of)",
    ];
    for ((format, line), want) in got.iter().zip(want) {
        assert!(line.contains(want), "{format}: {line}");
    }
}
