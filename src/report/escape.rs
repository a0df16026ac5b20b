//! Escaping for every output syntax: snapshot strings are hostile data.
//!
//! HTML is escaped by the template engine (autoescape); everything else
//! that formats text by hand goes through one of these functions, so no
//! reporter ever writes a snapshot string raw.
//!
//! Characters that hide or disguise text ([`is_hidden`]: C0 and C1
//! controls, DEL, bidirectional controls) are shown as U+FFFD in every
//! human-facing output (terminal, HTML, Markdown, CSV, XML), one rule for
//! all; the JSON outputs (findings.json, SARIF) keep the exact data, as
//! JSON escapes control characters itself.

use std::borrow::Cow;

/// A character no human-facing report shows raw: a C0 control, DEL, a C1
/// control (`is_control`), or a bidirectional control (U+061C, U+200E,
/// U+200F, U+202A–U+202E, U+2066–U+2069) that could reorder what a reader
/// sees (a name ending in U+202E reads backwards).
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every [`is_hidden`] character except those `keep` accepts
/// replaced by U+FFFD (borrowed when there is none).
pub fn visible(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let hidden = |c: char| is_hidden(c) && !keep(c);
    // An ASCII character is hidden when it is a control character: bytes
    // decide for the ASCII text before the first non-ASCII character
    // (all of most strings), characters for the rest.
    let hidden_byte = |b: &u8| (*b < 0x20 || *b == 0x7f) && !keep(char::from(*b));
    let ascii = s.bytes().position(|b| b >= 0x80).unwrap_or(s.len());
    let clean = !s.as_bytes()[..ascii].iter().any(hidden_byte) && !s[ascii..].contains(hidden);
    if clean {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if hidden(c) { '\u{fffd}' } else { c })
            .collect(),
    )
}

/// Markdown text: ASCII punctuation that could start markup (emphasis,
/// code, links, tables, HTML, entities) is backslash-escaped, line breaks
/// become spaces (a string can never start a block) and hidden characters
/// ([`is_hidden`]) become U+FFFD.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let _ = markdown_into(&mut out, s);
    out
}

/// [`markdown`], written to `out` (no string of its own); runs of
/// characters that need no escape are copied whole.
pub fn markdown_into(out: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    // A leading `-`/`+` (list marker) or `1.`/`1)` (ordered list) would
    // start a block inside a list item: escape it. The digits are ASCII,
    // so their count is also the byte offset of what follows them.
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let mut plain = 0;
    for (at, c) in s.char_indices() {
        let with: Option<char> = match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' => None,
            '-' | '+' if at == 0 => None,
            '.' | ')' if at == digits && digits > 0 => None,
            '\r' | '\n' | '\t' => Some(' '),
            c if is_hidden(c) => Some('\u{fffd}'),
            _ => continue,
        };
        out.write_str(&s[plain..at])?;
        match with {
            Some(r) => out.write_char(r)?,
            None => {
                out.write_char('\\')?;
                out.write_char(c)?;
            }
        }
        plain = at + c.len_utf8();
    }
    out.write_str(&s[plain..])
}

/// Text shown through `{}` escaped as [`markdown`] does, written straight
/// into the output.
pub struct Markdown<'s>(pub &'s str);

impl std::fmt::Display for Markdown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        markdown_into(f, self.0)
    }
}

/// XML character data and attribute values (`"` and `'` included);
/// characters XML 1.0 cannot carry and hidden characters ([`is_hidden`])
/// become U+FFFD.
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
            c if is_hidden(c) || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Characters a spreadsheet reads as the start of a formula: `=`, `+`,
/// `-`, `@`, tab and CR, and the fullwidth `＝＋－＠` (U+FF1D, U+FF0B,
/// U+FF0D, U+FF20), which spreadsheets normalise to their ASCII forms.
const FORMULA_STARTS: [char; 10] = [
    '=', '+', '-', '@', '\t', '\r', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}',
];

/// A CSV cell that a spreadsheet would read as a formula (one of
/// [`FORMULA_STARTS`] first) gets a leading `'` so it stays text.
/// Other hidden characters ([`is_hidden`]: terminal escapes, bidi
/// controls) become U+FFFD; line breaks and tabs inside a cell stay (the
/// csv writer quotes them).
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    let clean = visible(s, |c| matches!(c, '\t' | '\r' | '\n'));
    if clean.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{clean}"))
    } else {
        clean
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
    fn fullwidth_formula_starts_are_neutralised() {
        for s in ["\u{ff1d}1+1", "\u{ff0b}1", "\u{ff0d}1", "\u{ff20}SUM(A1)"] {
            assert_eq!(csv_cell(s), format!("'{s}"));
        }
        assert_eq!(csv_cell("a\u{ff1d}b"), "a\u{ff1d}b");
    }

    #[test]
    fn hidden_characters_are_replaced_everywhere() {
        let s = "a\u{0}b\u{7f}c\u{85}d\u{9b}e\u{202e}f\u{2066}g\u{200f}h\u{61c}i";
        let want = "a\u{fffd}b\u{fffd}c\u{fffd}d\u{fffd}e\u{fffd}f\u{fffd}g\u{fffd}h\u{fffd}i";
        assert_eq!(visible(s, |_| false), want);
        assert_eq!(markdown(s), want);
        assert_eq!(xml(s), want);
        assert_eq!(csv_cell(s), want);
        assert_eq!(visible("a\tb\nc", |c| c == '\t'), "a\tb\u{fffd}c");
        assert!(matches!(visible("plain ü", |_| false), Cow::Borrowed(_)));
    }

    /// Validates the byte scan of ASCII text and the character scan after
    /// the first non-ASCII character: kept characters stay, hidden ones
    /// are found before, at and after that point.
    #[test]
    fn hidden_characters_are_found_in_ascii_and_beyond() {
        let keep_lf = |c: char| c == '\n';
        assert!(matches!(visible("plain text", keep_lf), Cow::Borrowed(_)));
        assert!(matches!(visible("a\nb", keep_lf), Cow::Borrowed(_)));
        assert!(matches!(visible("é\nb", keep_lf), Cow::Borrowed(_)));
        assert_eq!(visible("a\u{1}é", keep_lf), "a\u{fffd}é");
        assert_eq!(visible("é\u{1}", keep_lf), "é\u{fffd}");
        assert_eq!(visible("a\u{7f}", keep_lf), "a\u{fffd}");
        assert_eq!(visible("ab\u{202e}", keep_lf), "ab\u{fffd}");
        assert_eq!(visible("a\rb", keep_lf), "a\u{fffd}b");
        assert_eq!(visible("a\nb", |_| false), "a\u{fffd}b");
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
