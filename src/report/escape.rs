//! Escaping for every output syntax: snapshot strings are hostile data.
//!
//! HTML is escaped by the template engine (autoescape); everything else
//! that formats text by hand goes through one of these functions, so no
//! reporter ever writes a snapshot string raw.

/// Markdown text: ASCII punctuation that could start markup (emphasis,
/// code, links, tables, HTML, entities) is backslash-escaped, line breaks
/// become spaces (a string can never start a block) and control
/// characters become U+FFFD.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    // A leading `-`/`+` (list marker) or `1.`/`1)` (ordered list) would
    // start a block inside a list item: escape it.
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if i == digits && digits > 0 => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// XML character data and attribute values (`"` and `'` included);
/// characters XML 1.0 cannot carry become U+FFFD.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A CSV cell that a spreadsheet would read as a formula (`=`, `+`, `-`,
/// `@`, tab or CR first) gets a leading `'` so it stays text.
/// Other control characters (terminal escapes) become U+FFFD; line breaks
/// and tabs inside a cell stay (the csv writer quotes them).
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    let control = |c: char| c.is_control() && !matches!(c, '\t' | '\r' | '\n');
    if !s.starts_with(['=', '+', '-', '@', '\t', '\r']) && !s.contains(control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let clean: String = s
        .chars()
        .map(|c| if control(c) { '\u{fffd}' } else { c })
        .collect();
    if clean.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{clean}"))
    } else {
        std::borrow::Cow::Owned(clean)
    }
}

/// A file path as a URI reference: unreserved characters and `/` stay,
/// everything else is percent-encoded; an absolute path becomes `file://`.
pub fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else if b == b'\\' {
            out.push('/');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// At most `max` characters, ending in `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_specials_are_escaped() {
        assert_eq!(
            markdown("*a* _b_ `c` [d](e) <f> | g\nh"),
            "\\*a\\* \\_b\\_ \\`c\\` \\[d\\](e) \\<f\\> \\| g h"
        );
        assert_eq!(markdown("- x"), "\\- x");
        assert_eq!(markdown("12. x"), "12\\. x");
        assert_eq!(markdown("# x &amp;"), "\\# x \\&amp;");
        assert_eq!(markdown("x\u{1b}y"), "x\u{fffd}y");
    }

    #[test]
    fn xml_escapes_markup_and_control_characters() {
        assert_eq!(
            xml("<a href=\"x\">'&'</a>\u{0}"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;\u{fffd}"
        );
    }

    #[test]
    fn csv_formulas_are_neutralised() {
        for s in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(csv_cell(s), format!("'{s}"));
        }
        assert_eq!(csv_cell("plain = text"), "plain = text");
        assert_eq!(csv_cell("a\u{1b}[31m"), "a\u{fffd}[31m");
    }

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri("a b/c#d.csv"), "a%20b/c%23d.csv");
        assert_eq!(uri("/tmp/x.csv"), "file:///tmp/x.csv");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
