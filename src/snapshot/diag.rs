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
}
