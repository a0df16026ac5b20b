//! Hostile snapshot strings (fixtures/report/hostile.json) stay data in
//! every format: text nodes in HTML (checked with a real HTML parser),
//! escaped in Markdown and XML, formula-neutralised in CSV, and never a
//! control character on the terminal.

mod report;

use report::common;
use scraper::{Html, Selector};

const HOSTILE: &str = "fixtures/report/hostile.json";

fn outputs() -> Vec<(String, String)> {
    let a = common::audit(HOSTILE);
    let rules = common::catalog();
    let r = report::report(&a);
    let o = partner_audit::report::Outcome::plain(&r, &rules);
    report::render_all(&o)
}

fn get<'a>(all: &'a [(String, String)], name: &str) -> &'a str {
    &all.iter().find(|(n, _)| n == name).expect("format").1
}

/// The HTML review's pages: report.html and everything under html/.
fn html_pages(all: &[(String, String)]) -> Vec<(&str, &str)> {
    let pages: Vec<(&str, &str)> = all
        .iter()
        .filter(|(n, _)| n.ends_with(".html"))
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    assert!(
        pages.len() >= 5,
        "overview, customer list and three customer pages expected"
    );
    pages
}

/// Validates that hostile names are text nodes on every page of the HTML
/// review (the overview, the customer pages and the others): no script
/// but the report's own (pinned by its hash in the page's policy) and its
/// inline JSON, no iframe or img element, no event-handler attribute, and
/// the names read back verbatim as text.
#[test]
fn html_hostile_names_are_text() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let all = outputs();
    let mut text = String::new();
    for (name, page) in html_pages(&all) {
        let doc = Html::parse_document(page);
        for tag in ["iframe", "img", "i", "h1 ~ h1", "object", "embed"] {
            let sel = Selector::parse(tag).expect("selector");
            assert_eq!(
                doc.select(&sel).count(),
                0,
                "{name}: a <{tag}> element was injected"
            );
        }
        let scripts = Selector::parse("script").expect("selector");
        let mut own = 0;
        for s in doc.select(&scripts) {
            let v = s.value();
            if v.attr("type") == Some("application/json") {
                continue;
            }
            assert_eq!(
                v.attr("id"),
                Some("pa-script"),
                "{name}: a foreign <script>"
            );
            own += 1;
            let body: String = s.text().collect();
            let hash = base64::engine::general_purpose::STANDARD
                .encode(sha2::Sha256::digest(body.as_bytes()));
            let csp = Selector::parse("meta[http-equiv=Content-Security-Policy]").expect("sel");
            let policy = doc
                .select(&csp)
                .next()
                .and_then(|m| m.value().attr("content"))
                .expect("a policy");
            assert!(
                policy.contains(&format!("script-src 'sha256-{hash}'"))
                    && policy.starts_with("default-src 'none';"),
                "{name}: the policy does not pin the script: {policy}"
            );
        }
        assert_eq!(own, 1, "{name}: the report's script once");
        let h1 = Selector::parse("h1").expect("selector");
        assert_eq!(
            doc.select(&h1).count(),
            1,
            "{name}: only the page title is an <h1>"
        );
        let bold = Selector::parse("b").expect("selector");
        assert!(
            doc.select(&bold)
                .all(|b| b.text().collect::<String>() != "co"),
            "{name}: the hostile <b>co</b> became an element"
        );
        let any = Selector::parse("*").expect("selector");
        for el in doc.select(&any) {
            for (attr, _) in el.value().attrs() {
                assert!(
                    !attr.to_ascii_lowercase().starts_with("on"),
                    "{name}: event handler attribute `{attr}` on <{}>",
                    el.value().name()
                );
            }
            if el.value().name() == "svg" {
                assert!(el.value().classes().any(|c| c == "path-svg"));
            }
        }
        text.push_str(&doc.root_element().text().collect::<String>());
        // The hostile source line and tenant names are text inside the header and tables.
        let td = Selector::parse("td").expect("selector");
        if name == "html/customers-1.html" {
            assert!(doc.select(&td).any(|c| c
                .text()
                .collect::<String>()
                .contains("=HYPERLINK(\"http://evil.example/x\",\"click\")")));
        }
    }
    for name in [
        "<script>alert(1)</script>",
        "=HYPERLINK(\"http://evil.example/x\",\"click\")",
        "</td></tr></table><h1>Owned</h1>",
        "<iframe src=javascript:alert(1)></iframe> prod",
        "\"><svg onload=alert(1)> ops",
        "<img src=x onerror=alert(1)>",
    ] {
        assert!(text.contains(name), "`{name}` is not shown as text");
    }
}

/// Validates that customer pages are named by tenant GUID alone and that
/// the overview links every one of them.
#[test]
fn html_customer_pages_are_named_by_guid() {
    let all = outputs();
    let pages = html_pages(&all);
    let customers: Vec<&str> = pages
        .iter()
        .filter_map(|(n, _)| n.strip_prefix("html/customers/"))
        .collect();
    assert_eq!(customers.len(), 3, "{customers:?}");
    let overview = Html::parse_document(get(&all, "report.html"));
    let links: Vec<String> = overview
        .select(&Selector::parse("#customers-table a").expect("selector"))
        .filter_map(|a| a.value().attr("href").map(str::to_string))
        .collect();
    for file in customers {
        let id = file.strip_suffix(".html").expect(".html");
        assert!(
            id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
            "`{file}` is not named by a GUID"
        );
        assert!(
            links.contains(&format!("html/customers/{file}")),
            "{links:?}"
        );
    }
}

/// Validates the overview's inline JSON: nothing in it can close the
/// `<script>` element or start markup (no raw `<`, `>`, `&`, U+2028,
/// U+2029), and it reads back with the hostile names verbatim (hidden
/// characters as U+FFFD).
#[test]
fn html_inline_data_is_escaped() {
    let all = outputs();
    let doc = Html::parse_document(get(&all, "report.html"));
    let sel = Selector::parse("script#customer-data").expect("selector");
    let raw: String = doc
        .select(&sel)
        .next()
        .expect("inline data")
        .text()
        .collect();
    for bad in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
        assert!(!raw.contains(bad), "raw `{bad}` in the inline data");
    }
    let data: serde_json::Value = serde_json::from_str(&raw).expect("JSON");
    let names: Vec<&str> = data["customers"]
        .as_array()
        .expect("customers")
        .iter()
        .filter_map(|c| c[0].as_str())
        .collect();
    assert!(
        names.contains(&"=HYPERLINK(\"http://evil.example/x\",\"click\")"),
        "{names:?}"
    );
    assert!(
        names.contains(&"Acme *bold* _u_ | [link](javascript:alert(1)) `tick` & <b>co</b>"),
        "{names:?}"
    );
    assert!(names
        .iter()
        .any(|n| n.starts_with("Bidi \u{fffd}exe.txt\u{fffd} Nul\u{fffd}")));
    let partners = data["partners"].as_array().expect("partners");
    assert!(partners
        .iter()
        .any(|p| p == "Evil <script>alert(1)</script> Partner"));
}

/// Validates Markdown escaping: no raw HTML tag, link or emphasis survives.
#[test]
fn markdown_escapes_hostile_names() {
    let all = outputs();
    let md = get(&all, "report.md");
    // Raw `<` may appear only inside code spans (literal text in CommonMark).
    for line in md.lines() {
        for (i, _) in line.match_indices('<') {
            let before = &line[..i];
            let ticks = before.matches('`').count();
            let escaped = before.ends_with('\\');
            assert!(
                escaped || ticks % 2 == 1,
                "raw `<` outside a code span: {line}"
            );
        }
    }
    assert!(md.contains("\\<script\\>alert(1)\\</script\\>"));
    assert!(!md.contains("[link](javascript"), "a live link in Markdown");
    assert!(md.contains("\\[link\\](javascript:alert(1))"));
    assert!(md.contains("Acme \\*bold\\* \\_u\\_ \\|"));
    assert!(!md.contains('\u{1b}'), "a control character in Markdown");
    // Table rows keep their column count: hostile pipes are escaped.
    for line in md
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("Mallory"))
    {
        let cells = line.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 6, "a hostile pipe broke the row: {line}");
    }
}

/// Validates CSV neutralisation: no cell starts with `=`, `+`, `-`, `@`,
/// tab or CR, and the hostile names come back prefixed with `'`.
#[test]
fn csv_cells_are_neutralised() {
    let all = outputs();
    for file in ["findings.csv", "access.csv"] {
        let mut rdr = csv::Reader::from_reader(get(&all, file).as_bytes());
        let mut cells = Vec::new();
        for rec in rdr.records() {
            for c in rec.expect("csv record").iter() {
                assert!(
                    !c.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{file}: formula cell `{c}`"
                );
                assert!(!c.contains('\u{1b}'), "{file}: control character in `{c}`");
                cells.push(c.to_string());
            }
        }
        if file == "access.csv" {
            for expected in [
                "'=HYPERLINK(\"http://evil.example\",\"x\")",
                "'@SUM(1+1)",
                "'+cmd|' /C calc'!A0",
            ] {
                assert!(
                    cells.iter().any(|c| c == expected),
                    "{file}: `{expected}` missing"
                );
            }
            assert!(cells.iter().any(|c| c.starts_with("'-2+3 ")));
            // The loader trims leading tabs and CRs; `escape::csv_cell`'s unit
            // test covers those two.
        }
    }
}

/// Validates XML escaping in junit.xml and JSON escaping in SARIF.
#[test]
fn junit_and_sarif_escape_hostile_names() {
    let all = outputs();
    let xml = get(&all, "junit.xml");
    assert!(!xml.contains("<script"), "raw <script> in junit.xml");
    assert!(xml.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!xml.contains('\u{1b}'));
    if let Err(e) = report::validate_sarif(get(&all, "findings.sarif")) {
        panic!("findings.sarif is invalid:\n{e}");
    }
    let sarif: serde_json::Value =
        serde_json::from_str(get(&all, "findings.sarif")).expect("sarif is JSON");
    let text = sarif.to_string();
    assert!(text.contains("Evil <script>alert(1)</script> Partner"));
}

/// Validates that control characters from the snapshot never reach the terminal.
#[test]
fn terminal_output_has_no_control_characters() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .args(["audit", HOSTILE, "--fail-on", "never"])
        .current_dir(common::root())
        .env("CLICOLOR_FORCE", "1")
        .env_remove("NO_COLOR")
        .output()
        .expect("run");
    let out = String::from_utf8_lossy(&o.stdout);
    let plain = anstream_strip(&out);
    assert!(
        plain.contains("Evil <script>alert(1)</script> Partner"),
        "{plain}"
    );
    assert!(
        !plain.contains('\u{1b}'),
        "snapshot escape reached the terminal"
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains('\u{1b}'));
}

/// Removes the summary's own colour codes (`ESC [ … m`), keeping everything else.
fn anstream_strip(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters that hide or disguise text: C0 and C1 controls, DEL and the
/// bidirectional controls. Tab, LF and CR are listed apart.
fn hidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Validates that no NUL, ESC, DEL, C1 or bidi control from the snapshot
/// (the `44444444` tenant and two partner users of the hostile fixture)
/// reaches any page of the HTML review or report.md, and that they read
/// as U+FFFD.
#[test]
fn html_and_markdown_have_no_hidden_characters() {
    let all = outputs();
    let mut files: Vec<(&str, &str)> = html_pages(&all);
    files.push(("report.md", get(&all, "report.md")));
    files.push(("junit.xml", get(&all, "junit.xml")));
    for (name, text) in files {
        if let Some(c) = text.chars().find(|&c| hidden(c)) {
            panic!("{name}: hidden character U+{:04X}", u32::from(c));
        }
    }
    let doc = Html::parse_document(get(
        &all,
        "html/customers/44444444-4444-4444-8444-444444444444.html",
    ));
    let text: String = doc.root_element().text().collect();
    assert!(
        text.contains(
            "Bidi \u{fffd}exe.txt\u{fffd} Nul\u{fffd}Esc\u{fffd}[2JDel\u{fffd}Csi\u{fffd}31m"
        ),
        "the hostile tenant name is not shown with placeholders"
    );
    assert!(get(&all, "report.md").contains("Bidi \u{fffd}exe.txt\u{fffd} Nul\u{fffd}"));
}

/// Validates that junit.xml holds only characters XML 1.0 allows
/// (`Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | …`).
#[test]
fn junit_is_well_formed_xml_text() {
    let all = outputs();
    let xml = get(&all, "junit.xml");
    assert!(xml.contains("Bidi"), "the hostile tenant is in junit.xml");
    for c in xml.chars() {
        let ok = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            || u32::from(c) >= 0x10000;
        assert!(
            ok,
            "junit.xml: U+{:04X} is not an XML 1.0 character",
            u32::from(c)
        );
    }
}

/// Validates that fullwidth `＝＋－＠` count as formula starts in CSV.
#[test]
fn csv_fullwidth_formula_starts_are_neutralised() {
    let all = outputs();
    let mut rdr = csv::Reader::from_reader(get(&all, "access.csv").as_bytes());
    let mut cells = Vec::new();
    for rec in rdr.records() {
        for c in rec.expect("csv record").iter() {
            assert!(
                !c.starts_with(['\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}']),
                "access.csv: fullwidth formula cell `{c}`"
            );
            assert!(!c.contains(hidden), "access.csv: hidden character in `{c}`");
            cells.push(c.to_string());
        }
    }
    assert!(cells
        .iter()
        .any(|c| c == "'\u{ff1d}HYPERLINK(\"http://evil.example\",\"wide\")"));
    assert!(cells
        .iter()
        .any(|c| c == "'\u{ff20}SUM(1+1) \u{fffd}gnp.exe"));
}

/// Validates that a bidi override (U+202E) in a tenant name is not printed
/// raw in the terminal summary, nor on stderr.
#[test]
fn terminal_output_has_no_bidi_controls() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .args(["audit", HOSTILE, "--fail-on", "never"])
        .current_dir(common::root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Bidi \u{fffd}exe.txt\u{fffd}"), "{out}");
    for (name, text) in [
        ("stdout", out.as_ref()),
        ("stderr", &String::from_utf8_lossy(&o.stderr)),
    ] {
        if let Some(c) = text.chars().find(|&c| hidden(c)) {
            panic!("{name}: hidden character U+{:04X}", u32::from(c));
        }
    }
}
