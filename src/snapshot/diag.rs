//! Diagnostics: every problem found in a snapshot, with where it is and what
//! was expected.
//!
//! Loading never stops at the first problem; it collects [`Diagnostic`]s and
//! lets the caller decide (the CLI aborts on errors by default). Messages
//! follow one style: lower-case, no final period, user input in backticks.

use std::fmt;

use serde::Serialize;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The input is wrong: a row or a file was rejected.
    Error,
    /// Something was ignored or guessed; the result is still complete.
    Warning,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "error",
            Level::Warning => "warning",
        })
    }
}

/// One problem in the input, located as precisely as the format allows.
///
/// Ordered for reports: file, line, column, field, message (see
/// [`Diagnostic::sort_key`]), so `sort()` gives the deterministic order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// Display path of the file (the path the user gave joined with the file name).
    pub file: String,
    /// 1-based line: where the CSV record or the JSON object starts.
    pub line: Option<u32>,
    /// 1-based column: the field's position for CSV, serde_json's column for
    /// JSON syntax errors, else `None`.
    pub column: Option<u32>,
    /// The column or key name concerned.
    pub field: Option<String>,
    /// What is wrong: lower-case, no final period, user input in backticks.
    pub message: String,
    /// What would have been accepted.
    pub expected: Option<String>,
    /// Advice, e.g. a did-you-mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    /// A new error about `file`, without a position yet.
    pub fn error(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Level::Error, file, message)
    }

    /// A new warning about `file`, without a position yet.
    pub fn warning(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Level::Warning, file, message)
    }

    fn new(level: Level, file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            level,
            file: file.into(),
            line: None,
            column: None,
            field: None,
            message: message.into(),
            expected: None,
            help: None,
        }
    }

    /// Sets the 1-based line.
    #[must_use]
    pub fn at_line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the 1-based column.
    #[must_use]
    pub fn at_column(mut self, column: u32) -> Self {
        self.column = Some(column);
        self
    }

    /// Names the column or key concerned.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Says what would have been accepted.
    #[must_use]
    pub fn with_expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Adds advice (a did-you-mean, a hint).
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// True for [`Level::Error`].
    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }

    /// The deterministic report order: file, line, column, field, message.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            &self.file,
            self.line,
            self.column,
            &self.field,
            &self.message,
            self.level,
            &self.expected,
            &self.help,
        )
    }
}

impl PartialOrd for Diagnostic {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Diagnostic {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

/// Sorts diagnostics into the deterministic report order (see
/// [`Diagnostic::sort_key`]) and drops exact duplicates.
pub fn sort_diagnostics(diags: &mut Vec<Diagnostic>) {
    diags.sort();
    diags.dedup();
}

impl fmt::Display for Diagnostic {
    /// `error: dir/principals.csv:14:3: field `enabled`: invalid boolean `maybe` (expected ...)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.level, self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(expected) = &self.expected {
            write!(f, " (expected {expected})")?;
        }
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

/// Warnings of one kind in one file kept as they are; more are folded into
/// one warning by [`fold_alike_warnings`].
pub const MAX_ALIKE: usize = 5;
/// Values a folded warning names (the rest are counted).
pub const MAX_NAMED: usize = 10;

/// The kind of a message: its text with the content of every backticked
/// span (user input, see [`quote`]) replaced by `…`; and the first span.
fn shape(message: &str) -> (String, Option<&str>) {
    let mut out = String::with_capacity(message.len());
    let mut first = None;
    let mut rest = message;
    while let Some(open) = rest.find('`') {
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        // The closing backtick is the first one not escaped by `\`.
        let mut close = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '`' if !escaped => {
                    close = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(close) = close else {
            out.push_str(after);
            return (out, first);
        };
        first.get_or_insert(&rest[open..open + close + 2]);
        out.push_str("…`");
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    (out, first)
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Folds repeated warnings: when one file has more than [`MAX_ALIKE`]
/// warnings of one kind (the same message but for the user input in
/// backticks, e.g. a million `unknown column `…` ignored`), they become one
/// warning at the first one's position that says how many there were and
/// names the first [`MAX_NAMED`] values:
/// ``unknown column `…` ignored (1,000,000 times: `c0`, `c1`, … and 999,990 more)``.
/// Errors are never folded. Keeps the order of `diags` otherwise; sorted
/// input gives sorted output.
pub fn fold_alike_warnings(diags: &mut Vec<Diagnostic>) {
    use std::collections::HashMap;
    let mut groups: HashMap<(&str, String), Vec<usize>> = HashMap::new();
    for (i, d) in diags.iter().enumerate() {
        if d.level == Level::Warning {
            groups
                .entry((d.file.as_str(), shape(&d.message).0))
                .or_default()
                .push(i);
        }
    }
    // Per folded group: its first index → the folded warning; the others go.
    let mut replace: HashMap<usize, Diagnostic> = HashMap::new();
    let mut drop = vec![false; diags.len()];
    for ((_, kind), members) in groups {
        if members.len() <= MAX_ALIKE {
            continue;
        }
        let first = &diags[members[0]];
        let mut names: Vec<&str> = Vec::with_capacity(MAX_NAMED);
        for &i in &members {
            if names.len() == MAX_NAMED {
                break;
            }
            if let Some(v) = shape(&diags[i].message).1 {
                names.push(v);
            }
        }
        let same = |f: &dyn Fn(&Diagnostic) -> &Option<String>| {
            members
                .iter()
                .all(|&i| f(&diags[i]) == f(first))
                .then(|| f(first).clone())
                .flatten()
        };
        let mut message = format!("{kind} ({} times", thousands(members.len()));
        if !names.is_empty() {
            message.push_str(": ");
            message.push_str(&names.join(", "));
            if members.len() > names.len() {
                message.push_str(" and ");
                message.push_str(&thousands(members.len() - names.len()));
                message.push_str(" more");
            }
        }
        message.push(')');
        let folded = Diagnostic {
            level: Level::Warning,
            file: first.file.clone(),
            line: first.line,
            column: first.column,
            field: same(&|d| &d.field),
            message,
            expected: same(&|d| &d.expected),
            help: same(&|d| &d.help),
        };
        for &i in &members[1..] {
            drop[i] = true;
        }
        replace.insert(members[0], folded);
    }
    if replace.is_empty() {
        return;
    }
    let old = std::mem::take(diags);
    diags.extend(old.into_iter().enumerate().filter_map(|(i, d)| {
        if drop[i] {
            None
        } else {
            Some(replace.remove(&i).unwrap_or(d))
        }
    }));
}

/// Quotes user input for a message: in backticks, control characters
/// escaped, long values shortened.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 60;
    let mut out = String::with_capacity(s.len().min(MAX) + 4);
    out.push('`');
    for (i, c) in s.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c == '`' {
            out.push_str("\\`");
        } else if c.is_control() {
            out.extend(c.escape_default());
        } else if invisible(c) {
            // A BOM or zero-width character would make the quoted value
            // look like a valid one: show it.
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    out
}

/// Characters that print as nothing (or reorder text) in a terminal:
/// BOM, zero-width spaces and joiners, bidirectional controls, soft hyphen,
/// line and paragraph separators.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_every_part() {
        let d = Diagnostic::error("fixtures/x/principals.csv", "invalid boolean `maybe`")
            .at_line(14)
            .at_column(3)
            .with_field("enabled")
            .with_expected("true/false, yes/no, 1/0 or empty");
        assert_eq!(
            d.to_string(),
            "error: fixtures/x/principals.csv:14:3: field `enabled`: invalid boolean `maybe` (expected true/false, yes/no, 1/0 or empty)"
        );
    }

    #[test]
    fn display_without_position() {
        let d = Diagnostic::warning("snap/notes.csv", "unknown table `notes`");
        assert_eq!(
            d.to_string(),
            "warning: snap/notes.csv: unknown table `notes`"
        );
        let d = Diagnostic::error("a.json", "x").at_line(3);
        assert_eq!(d.to_string(), "error: a.json:3: x");
    }

    #[test]
    fn level_serialises_lower_case() {
        assert_eq!(
            serde_json::to_string(&Level::Warning).expect("json"),
            "\"warning\""
        );
    }

    #[test]
    fn quote_escapes_and_shortens() {
        assert_eq!(quote("a`b\n"), "`a\\`b\\n`");
        assert_eq!(quote("\u{feff}ab\u{200b}c"), "`\\u{feff}ab\\u{200b}c`");
        assert_eq!(quote("x\u{202e}y"), "`x\\u{202e}y`");
        let long = "x".repeat(100);
        assert_eq!(quote(&long).chars().count(), 60 + 3);
    }

    #[test]
    fn sorted_by_file_then_line() {
        let mut v = vec![
            Diagnostic::error("b", "m").at_line(1),
            Diagnostic::warning("a", "m").at_line(9),
            Diagnostic::error("a", "m").at_line(2),
            Diagnostic::error("a", "m").at_line(2),
        ];
        sort_diagnostics(&mut v);
        let got: Vec<_> = v.iter().map(|d| (d.file.as_str(), d.line)).collect();
        assert_eq!(got, [("a", Some(2)), ("a", Some(9)), ("b", Some(1))]);
    }

    #[test]
    fn shape_hides_user_input() {
        assert_eq!(
            shape("unknown column `a\\`b` ignored; did you mean `name`?"),
            (
                "unknown column `…` ignored; did you mean `…`?".to_string(),
                Some("`a\\`b`")
            )
        );
        assert_eq!(shape("no input"), ("no input".to_string(), None));
        assert_eq!(thousands(999_990), "999,990");
        assert_eq!(thousands(12), "12");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    /// Validates that more than MAX_ALIKE warnings of one kind in one file
    /// fold into one naming the first values, while errors, other files and
    /// small groups stay as they are.
    #[test]
    fn repeated_warnings_fold_per_file() {
        let mut v: Vec<Diagnostic> = (0..1000)
            .map(|i| {
                Diagnostic::warning(
                    "s/t.csv",
                    format!("unknown column {} ignored", quote(&format!("c{i}"))),
                )
                .at_line(1)
                .at_column(i + 2)
                .with_field(format!("c{i}"))
            })
            .collect();
        v.push(Diagnostic::error("s/t.csv", "unknown column `x` ignored").at_line(2));
        v.push(Diagnostic::warning("s/u.csv", "unknown column `y` ignored").at_line(1));
        for i in 0..MAX_ALIKE {
            v.push(Diagnostic::warning(
                "s/t.csv",
                format!("member `{i}` not found"),
            ));
        }
        sort_diagnostics(&mut v);
        fold_alike_warnings(&mut v);
        let text: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 1 + 1 + 1 + MAX_ALIKE, "{text:#?}");
        assert!(text.contains(&"warning: s/t.csv:1:2: unknown column `…` ignored (1,000 times: `c0`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` and 990 more)".to_string()), "{text:#?}");
        assert!(text.contains(&"error: s/t.csv:2: unknown column `x` ignored".to_string()));
        assert!(text.contains(&"warning: s/u.csv:1: unknown column `y` ignored".to_string()));
        assert!(text.contains(&"warning: s/t.csv: member `4` not found".to_string()));
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, v, "still in report order");
    }
}
