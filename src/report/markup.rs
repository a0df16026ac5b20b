//! Remediation texts are written in Markdown; the HTML report shows them
//! rendered (emphasis, code, lists, links) instead of their asterisks and
//! backticks. Rule files may come from anywhere, and a finding's
//! remediation may carry snapshot values, so the rendering is restricted:
//!
//! - raw HTML (blocks and inline tags, e.g. a placeholder `<principal_id>`)
//!   becomes text, escaped, never markup;
//! - links keep their target only when it is `http://` or `https://`
//!   (anything else, `javascript:` included, is shown as its text alone);
//!   images become their alt text;
//! - headings become bold paragraphs, so a remediation cannot add
//!   sections to the page's outline;
//! - hidden characters ([`escape::is_hidden`]) become U+FFFD, as everywhere.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

use super::escape;

/// Whether a link target may stay a link: `http://` or `https://` only.
fn allowed_link(url: &str) -> bool {
    let u = url.trim_start().to_ascii_lowercase();
    u.starts_with("http://") || u.starts_with("https://")
}

/// `text` (Markdown) as an HTML fragment safe to put into a page as is.
pub fn to_html(text: &str) -> String {
    let clean = escape::visible(text, |c| matches!(c, '\t' | '\n' | '\r'));
    let parser = Parser::new_ext(&clean, Options::ENABLE_STRIKETHROUGH);
    // For every open link, whether it was kept.
    let mut links: Vec<bool> = Vec::new();
    let events = parser.filter_map(|e| match e {
        Event::Html(s) | Event::InlineHtml(s) => Some(Event::Text(s)),
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
        Event::Start(Tag::Heading { .. }) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::Heading(_)) => Some(Event::End(TagEnd::Paragraph)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let keep = allowed_link(&dest_url);
            links.push(keep);
            keep.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link) => links.pop().unwrap_or(false).then_some(e),
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        Event::FootnoteReference(s) => Some(Event::Text(CowStr::from(format!("[^{s}]")))),
        other => Some(other),
    });
    let mut out = String::with_capacity(clean.len() + clean.len() / 4 + 16);
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emphasis_code_and_lists_are_rendered() {
        assert_eq!(
            to_html("Remove **Owner** with `az role assignment delete`."),
            "<p>Remove <strong>Owner</strong> with <code>az role assignment delete</code>.</p>\n"
        );
        let list = to_html("1. first\n2. *second*\n");
        assert!(
            list.contains("<ol>") && list.contains("<em>second</em>"),
            "{list}"
        );
    }

    #[test]
    fn raw_html_is_text() {
        let h = to_html("Run it for <principal_id> <script>alert(1)</script>");
        assert!(h.contains("&lt;principal_id&gt;"), "{h}");
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{h}");
        assert!(
            !h.contains("<script") && !h.contains("<principal_id"),
            "{h}"
        );
        let block = to_html("<div onclick=\"x()\">\nhi\n</div>\n");
        assert!(
            block.starts_with("<p>&lt;div onclick=\"x()\"&gt;"),
            "{block}"
        );
        assert!(!block.contains("<div"), "{block}");
    }

    #[test]
    fn only_http_links_stay_links() {
        let ok = to_html("See [the docs](https://learn.microsoft.com/x?a=1&b=\"2\").");
        assert!(
            ok.contains("<a href=\"https://learn.microsoft.com/x?a=1&amp;b=%222%22\">the docs</a>"),
            "{ok}"
        );
        for bad in [
            "[click](javascript:alert(1))",
            "[click](JavaScript:alert(1))",
            "[click](data:text/html,x)",
            "[click](mailto:a@b.c)",
            "[click](/etc/passwd)",
        ] {
            let h = to_html(bad);
            assert!(!h.contains("<a"), "{bad} -> {h}");
            assert!(h.contains("click"), "{bad} -> {h}");
        }
        let img = to_html("![alt text](https://evil.example/x.png)");
        assert!(!img.contains("<img") && img.contains("alt text"), "{img}");
    }

    #[test]
    fn headings_are_not_sections_and_hidden_characters_are_replaced() {
        let h = to_html("# Big\nx\u{202e}y\u{1b}z");
        assert!(!h.contains("<h1"), "{h}");
        assert!(h.contains("<p>Big</p>"), "{h}");
        assert!(h.contains("x\u{fffd}y\u{fffd}z"), "{h}");
    }
}
