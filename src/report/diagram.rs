//! Explaining paths drawn as small SVG diagrams: partner user → group(s) →
//! relationship → role → resource.
//!
//! This module computes the layout only (boxes, captions, connector
//! geometry); the HTML template draws it, so every text goes through the
//! template engine's escaping. Long names are shortened in the box and kept
//! whole in a tooltip (`<title>`) and in the diagram's accessible label.

use serde::Serialize;

use super::escape::truncate;
use super::Report;
use crate::engine::PathRef;
use crate::graph::{Hop, Node, Via};

/// Box width, height and gaps (SVG user units = CSS pixels at 100 %).
const W: u32 = 176;
const H: u32 = 46;
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
    pub label: String,
    /// Untruncated `caption: label`, for the tooltip.
    pub full: String,
    pub cx: u32,
    pub ty1: u32,
    pub ty2: u32,
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
pub fn layout(steps: &[Step]) -> Diagram {
    let n = steps.len().max(1);
    let cols = u32::try_from(n.min(PER_ROW)).unwrap_or(1);
    let rows = u32::try_from(n.div_ceil(PER_ROW)).unwrap_or(1);
    let width = 2 * PAD + cols * W + (cols - 1) * GAP_X;
    let height = 2 * PAD + rows * H + (rows - 1) * GAP_Y;
    let mut boxes = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        let col = u32::try_from(i % PER_ROW).unwrap_or(0);
        let row = u32::try_from(i / PER_ROW).unwrap_or(0);
        let x = PAD + col * (W + GAP_X);
        let y = PAD + row * (H + GAP_Y);
        boxes.push(BoxView {
            x,
            y,
            w: W,
            h: H,
            kind: s.kind,
            caption: truncate(&s.caption, 30),
            label: truncate(&s.label, 24),
            full: format!("{}: {}", s.caption, s.label),
            cx: x + W / 2,
            ty1: y + 17,
            ty2: y + 35,
        });
    }
    let mut lines = Vec::new();
    let mut heads = Vec::new();
    for pair in boxes.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.y == b.y {
            let y = a.y + H / 2;
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
            let (ax, ay) = (a.x + W / 2, a.y + H);
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
