//! Explaining paths drawn as small SVG diagrams: partner user → group(s) →
//! relationship → role → resource.
//!
//! This module computes the layout only (boxes, captions, connector
//! geometry); the HTML template draws it, so every text goes through the
//! template engine's escaping. A long name wraps onto a second line inside
//! its box and is shortened (ending in `…`) only past that, measured with
//! a deliberately wide estimate of the font's advance widths, so a label
//! never runs out of its box nor off the drawing, on screen or in print;
//! the whole name stays in a tooltip (`<title>`) and in the diagram's
//! accessible label.

use serde::Serialize;

use super::Report;
use crate::engine::PathRef;
use crate::graph::{Hop, Node, Via};

/// Box width, height (one label line; two add [`LINE`]) and gaps (SVG
/// user units = CSS pixels at 100 %).
const W: u32 = 176;
const H: u32 = 46;
/// Height of a second label line.
const LINE: u32 = 15;
/// Room left and right of the text inside a box.
const INSET: u32 = 8;
/// Font sizes of the caption and the label (the stylesheet's `.cap`, `.lbl`).
const CAPTION_PX: f32 = 10.0;
const LABEL_PX: f32 = 12.5;
const GAP_X: u32 = 28;
const GAP_Y: u32 = 28;
const PAD: u32 = 4;
/// Boxes per row before the chain wraps.
const PER_ROW: usize = 5;

/// One step of an explaining path.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// CSS class: `user`, `group`, `placeholder`, `unresolved`, `service`,
    /// `elided` (groups left out of a long path), `dap`, `gdap`,
    /// `assignment`, `role`, `resource`.
    pub kind: &'static str,
    /// Small upper line: what the step is (and whose).
    pub caption: String,
    /// The name.
    pub label: String,
}

/// A laid-out box.
#[derive(Clone, Debug, Serialize)]
pub struct BoxView {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub kind: &'static str,
    pub caption: String,
    /// The name, on one or two lines, each with its baseline.
    pub label: Vec<TextLine>,
    /// Untruncated `caption: label`, for the tooltip.
    pub full: String,
    pub cx: u32,
    pub ty1: u32,
}

/// One line of text in a box.
#[derive(Clone, Debug, Serialize)]
pub struct TextLine {
    pub text: String,
    pub y: u32,
}

/// An upper bound of the width of `s` in pixels at `px` (bold): per
/// character class a width at or above what common sans-serif fonts use,
/// wide (East Asian, emoji) characters counted as a full em.
pub fn text_width(s: &str, px: f32) -> f32 {
    s.chars()
        .map(|c| {
            let em = match c {
                ' ' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | 'i' | 'j' | 'l' | 'I' => 0.34,
                'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' | '/' => 0.42,
                'm' | 'w' | 'M' | 'W' | '@' | '%' | '…' => 0.95,
                'A'..='Z' => 0.76,
                c if u32::from(c) >= 0x1100 && is_wide(c) => 1.05,
                _ => 0.64,
            };
            em * px
        })
        .sum()
}

/// East Asian wide and fullwidth characters, and emoji.
fn is_wide(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x115f | 0x2e80..=0xa4cf | 0xac00..=0xd7a3 | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f | 0xff00..=0xff60 | 0xffe0..=0xffe6 | 0x1f300..=0x1faff
        | 0x20000..=0x3fffd)
}

/// The longest prefix of `s` that fits `room` with `…` after it, plus `…`.
fn cut(s: &str, px: f32, room: f32) -> String {
    let mut out = String::new();
    let ell = text_width("…", px);
    let mut used = 0.0;
    for c in s.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]), px);
        if used + w + ell > room {
            break;
        }
        used += w;
        out.push(c);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('…');
    out
}

/// `s` in at most `max_lines` lines of at most `room` pixels: words wrap
/// at spaces (a word too long for a line is broken), and what does not
/// fit ends the last line with `…`.
pub fn wrap(s: &str, px: f32, room: f32, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if lines.len() + 1 == max_lines {
            lines.push(if text_width(rest, px) <= room {
                rest.to_string()
            } else {
                cut(rest, px, room)
            });
            return lines;
        }
        // The longest run of whole words that fits; else as many characters as fit.
        let mut end = 0;
        let mut last_space = None;
        let mut used = 0.0;
        for (i, c) in rest.char_indices() {
            let w = text_width(c.encode_utf8(&mut [0; 4]), px);
            if used + w > room {
                break;
            }
            used += w;
            end = i + c.len_utf8();
            if c == ' ' {
                last_space = Some(i);
            }
        }
        if end == rest.len() {
            lines.push(rest.to_string());
            break;
        }
        let split = match last_space {
            Some(i) if i > 0 => i,
            _ => end.max(rest.chars().next().map_or(1, char::len_utf8)),
        };
        lines.push(rest[..split].trim_end().to_string());
        rest = rest[split..].trim_start();
    }
    lines
}

/// A laid-out diagram.
#[derive(Clone, Debug, Serialize)]
pub struct Diagram {
    pub width: u32,
    pub height: u32,
    /// The whole path as text (accessible label).
    pub text: String,
    pub boxes: Vec<BoxView>,
    /// Connector polylines: `x,y x,y …`.
    pub lines: Vec<String>,
    /// Arrow heads: polygon points.
    pub heads: Vec<String>,
}

/// The steps of one explaining path.
pub fn steps(r: &Report<'_>, p: PathRef) -> Vec<Step> {
    let g = r.graph;
    let s = r.snapshot;
    let grant = &g.grants[p.grant as usize];
    let members = g.members_of(grant.holder);
    let member = &members.list[p.member as usize];
    let mut out = Vec::new();
    for hop in members.shown_path(member) {
        let n = match hop {
            Hop::Node(n) => n,
            Hop::Elided(k) => {
                out.push(Step {
                    kind: "elided",
                    caption: "nested groups".into(),
                    label: format!("… {k} more group{} …", if k == 1 { "" } else { "s" }),
                });
                continue;
            }
        };
        let step = match &g.graph[n] {
            Node::Principal(i) => {
                let pr = &s.principals[*i as usize];
                let kind = match pr.kind {
                    crate::snapshot::PrincipalKind::User => "user",
                    crate::snapshot::PrincipalKind::Group => "group",
                    crate::snapshot::PrincipalKind::ServicePrincipal => "service",
                };
                let what = match pr.kind {
                    crate::snapshot::PrincipalKind::User => "user",
                    crate::snapshot::PrincipalKind::Group => "group",
                    crate::snapshot::PrincipalKind::ServicePrincipal => "service principal",
                };
                Step {
                    kind,
                    caption: format!("{what} · {}", r.tenant_name(pr.tenant_id)),
                    label: pr.display_name.to_string(),
                }
            }
            Node::Unresolved { id } => Step {
                kind: "unresolved",
                caption: g.unresolved_home(n).map_or_else(
                    || "unresolved principal".into(),
                    |t| format!("unresolved · {}", r.tenant_name(t)),
                ),
                label: id.to_string(),
            },
            Node::App(i) => {
                let p = &s.service_principals[*i as usize];
                Step {
                    kind: "service",
                    caption: format!("app · {}", r.tenant_name(p.tenant_id)),
                    label: p.display_name.to_string(),
                }
            }
            Node::Placeholder { partner, group } => Step {
                kind: "placeholder",
                caption: format!("members unknown · {}", r.tenant_name(*partner)),
                label: group.group_name().to_string(),
            },
            Node::Resource { .. } => Step {
                kind: "resource",
                caption: "resource".into(),
                label: g.label(s, n),
            },
        };
        out.push(step);
    }
    out.push(match grant.via {
        Via::Explicit(i) => Step {
            kind: "assignment",
            caption: "explicit role assignment".into(),
            label: s.cite(s.role_assignments[i as usize].loc),
        },
        Via::Dap { relationship, .. } => {
            let rel = &s.relationships[relationship as usize];
            Step {
                kind: "dap",
                caption: format!("implicit · {}", r.tenant_name(rel.customer_tenant_id)),
                label: format!("DAP ({})", rel.state),
            }
        }
        Via::Autopilot { relationship } => {
            let rel = &s.relationships[relationship as usize];
            Step {
                kind: "dap",
                caption: format!("implicit · {}", r.tenant_name(rel.customer_tenant_id)),
                label: format!("{} ({})", rel.kind.as_str().to_uppercase(), rel.state),
            }
        }
        Via::Gdap { relationship, .. } => {
            let rel = &s.relationships[relationship as usize];
            Step {
                kind: "gdap",
                caption: "GDAP relationship".into(),
                label: rel.relationship_id.as_deref().unwrap_or("?").to_string(),
            }
        }
        Via::Lighthouse { delegation, .. } => {
            let d = &s.lighthouse_delegations[delegation as usize];
            Step {
                kind: "gdap",
                caption: format!("Azure Lighthouse · {}", r.tenant_name(d.managing_tenant_id)),
                label: grant.via.kind(s).name().to_string(),
            }
        }
        Via::App { permission } => {
            let p = &s.app_permissions[permission as usize];
            Step {
                kind: "assignment",
                caption: format!("{} permission", p.kind),
                label: s.cite(p.loc),
            }
        }
    });
    out.push(Step {
        kind: "role",
        caption: if grant.via.is_implicit() {
            "role (hidden from listings)".into()
        } else {
            "role".into()
        },
        label: s.roles.name(grant.role).to_string(),
    });
    let (caption, label) = match &g.graph[grant.resource] {
        Node::Resource { tenant, scope } if scope.is_directory() => {
            ("directory".to_string(), r.tenant_name(*tenant))
        }
        Node::Resource { tenant, scope } => (
            format!("Azure scope · {}", r.tenant_name(*tenant)),
            g.scope(*scope).as_str().to_string(),
        ),
        _ => ("resource".to_string(), g.label(s, grant.resource)),
    };
    out.push(Step {
        kind: "resource",
        caption,
        label,
    });
    out
}

/// Lays the steps out left to right, wrapping every [`PER_ROW`] boxes.
/// Labels take one line, or two when one of them needs it (then every box
/// of the diagram is one line taller).
pub fn layout(steps: &[Step]) -> Diagram {
    let room = (W - 2 * INSET) as f32;
    let labels: Vec<Vec<String>> = steps
        .iter()
        .map(|s| wrap(&s.label, LABEL_PX, room, 2))
        .collect();
    let two = labels.iter().any(|l| l.len() > 1);
    let h = if two { H + LINE } else { H };
    let n = steps.len().max(1);
    let cols = u32::try_from(n.min(PER_ROW)).unwrap_or(1);
    let rows = u32::try_from(n.div_ceil(PER_ROW)).unwrap_or(1);
    let width = 2 * PAD + cols * W + (cols - 1) * GAP_X;
    let height = 2 * PAD + rows * h + (rows - 1) * GAP_Y;
    let mut boxes = Vec::with_capacity(steps.len());
    for ((i, s), label) in steps.iter().enumerate().zip(labels) {
        let col = u32::try_from(i % PER_ROW).unwrap_or(0);
        let row = u32::try_from(i / PER_ROW).unwrap_or(0);
        let x = PAD + col * (W + GAP_X);
        let y = PAD + row * (h + GAP_Y);
        let caption = if text_width(&s.caption, CAPTION_PX) <= room {
            s.caption.clone()
        } else {
            cut(&s.caption, CAPTION_PX, room)
        };
        let mut ty = y + 35;
        let label = label
            .into_iter()
            .map(|text| {
                let line = TextLine { text, y: ty };
                ty += LINE;
                line
            })
            .collect();
        boxes.push(BoxView {
            x,
            y,
            w: W,
            h,
            kind: s.kind,
            caption,
            label,
            full: format!("{}: {}", s.caption, s.label),
            cx: x + W / 2,
            ty1: y + 17,
        });
    }
    let mut lines = Vec::new();
    let mut heads = Vec::new();
    for pair in boxes.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.y == b.y {
            let y = a.y + h / 2;
            let (x1, x2) = (a.x + W, b.x - 1);
            lines.push(format!("{x1},{y} {},{y}", x2 - 6));
            heads.push(format!(
                "{x2},{y} {},{} {},{}",
                x2 - 7,
                y - 4,
                x2 - 7,
                y + 4
            ));
        } else {
            let (ax, ay) = (a.x + W / 2, a.y + h);
            let mid = ay + GAP_Y / 2;
            let (bx, by) = (b.x + W / 2, b.y - 1);
            lines.push(format!("{ax},{ay} {ax},{mid} {bx},{mid} {bx},{}", by - 6));
            heads.push(format!(
                "{bx},{by} {},{} {},{}",
                bx - 4,
                by - 7,
                bx + 4,
                by - 7
            ));
        }
    }
    let text = steps
        .iter()
        .map(|s| format!("{}: {}", s.caption, s.label))
        .collect::<Vec<_>>()
        .join(" → ");
    Diagram {
        width,
        height,
        text,
        boxes,
        lines,
        heads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(label: &str) -> Step {
        Step {
            kind: "group",
            caption: "group · Northwind Traders".into(),
            label: label.into(),
        }
    }

    /// Validates that every label line fits inside its box, whatever the
    /// name (wide capitals, East Asian text, one long word), and that the
    /// drawing is large enough for every box.
    #[test]
    fn labels_fit_their_boxes() {
        let names = [
            "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW",
            "AdminAgents Helpdesk Tier Two Escalation Engineers (EMEA)",
            "株式会社ノースウィンド・トレーダーズ管理者グループ",
            "x",
            "/subscriptions/5d3c1a52-8f0e-4c3f-9c7a-0b1e2d3f4a5b/resourceGroups/prod-weu-01",
        ];
        let steps: Vec<Step> = names.iter().map(|n| step(n)).collect();
        let d = layout(&steps);
        let room = (W - 2 * INSET) as f32;
        for (b, name) in d.boxes.iter().zip(names) {
            assert!(!b.label.is_empty() && b.label.len() <= 2, "{name}");
            for l in &b.label {
                assert!(
                    text_width(&l.text, LABEL_PX) <= room,
                    "`{}` overflows",
                    l.text
                );
                assert!(l.y < b.y + b.h, "a line below its box");
            }
            assert!(text_width(&b.caption, CAPTION_PX) <= room);
            assert!(b.x + b.w <= d.width && b.y + b.h <= d.height);
            assert!(b.full.ends_with(name), "the tooltip keeps the whole name");
        }
        // A name that fits stays whole; a long one wraps before it is cut.
        assert_eq!(d.boxes[3].label[0].text, "x");
        let first = &d.boxes[1].label[0].text;
        assert!(
            names[1].starts_with(first.as_str()) && names[1][first.len()..].starts_with(' '),
            "`{first}` is not cut at a space"
        );
        assert!(d.boxes[0].label[1].text.ends_with('…'));
        assert_eq!(d.boxes[0].h, H + LINE);
    }

    /// Validates that short labels keep one-line boxes.
    #[test]
    fn short_labels_keep_one_line() {
        let d = layout(&[step("Helpdesk"), step("Global Administrator")]);
        assert!(d.boxes.iter().all(|b| b.label.len() == 1 && b.h == H));
        assert_eq!(d.height, 2 * PAD + H);
    }
}
