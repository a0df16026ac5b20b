//! `report.html`: the review report as one self-contained page (inline CSS,
//! inline SVG, no script, no network; a Content-Security-Policy forbids
//! both), readable on a laptop and printable.
//!
//! The page is a minijinja template (`templates/report.html`, embedded at
//! build time) with HTML autoescape on: every snapshot string is escaped by
//! the engine, and nothing in the template is marked safe, so a display
//! name like `<script>` can only ever become text. Before escaping, hidden
//! characters (controls and bidirectional controls,
//! [`escape::is_hidden`](super::escape::is_hidden)) become U+FFFD; tabs and
//! line breaks stay.

use std::io::{self, Write};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{escape_formatter, Environment, UndefinedBehavior, Value};

use super::escape;

use super::review::Review;

const TEMPLATE: &str = include_str!("templates/report.html");

/// Renders the review as HTML.
pub fn render(review: &Review) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    // The name ends in `.html`, which turns HTML autoescape on.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?,
    );
    // Every `{{ … }}` passes here: text the template did not build itself
    // loses its hidden characters before it is HTML-escaped.
    env.set_formatter(|out, state, value| {
        if !value.is_safe() {
            if let Some(text) = value.as_str() {
                let clean = escape::visible(text, |c| matches!(c, '\t' | '\n' | '\r'));
                if let std::borrow::Cow::Owned(clean) = clean {
                    return escape_formatter(out, state, &Value::from(clean));
                }
            }
        }
        escape_formatter(out, state, value)
    });
    env.add_template("report.html", TEMPLATE)?;
    env.get_template("report.html")?
        .render(Value::from(Serde(review)))
}

/// Writes report.html.
pub fn write(review: &Review, w: &mut dyn Write) -> io::Result<()> {
    let html = render(review).map_err(|e| io::Error::other(format!("report.html: {e:#}")))?;
    w.write_all(html.as_bytes())
}
