//! Exposure query benchmark (not part of CI): `cargo bench --bench exposure`.
//!
//! On the deterministic synthetic snapshot the scale benchmark uses
//! (default 10,000 customers, `PA_BENCH_CUSTOMERS` to change), it loads the
//! snapshot and builds the access graph once, timing each, then answers
//! `exposure` for several targets — a partner admin agent (by UPN), the
//! partner's AdminAgents group (by id), the whole partner tenant (by name)
//! and an unknown name (the error path with suggestions) — and prints each
//! query's time (best of [`RUNS`]: resolving the target, the search, and
//! both outputs rendered) next to the load time. Target: a query well
//! under a second after loading.

use std::path::PathBuf;
use std::time::Instant;

use partner_audit::exposure;
use partner_audit::generate::{generate, GenerateOptions};
use partner_audit::graph::AccessGraph;
use partner_audit::snapshot::{AgentGroup, PrincipalKind, Snapshot};

const RUNS: usize = 5;

/// One query, answered in full: resolve and search (timed apart), then the
/// JSON document, the text and the JSON bytes. Returns (search seconds,
/// items, output bytes).
fn answer(s: &Snapshot, g: &AccessGraph, q: &str) -> (f64, usize, usize) {
    let t = Instant::now();
    match exposure::resolve(s, g, q) {
        Ok(target) => {
            let e = exposure::exposure(s, g, target);
            let search = t.elapsed().as_secs_f64();
            let out = e.to_out(s, g, q);
            let text = exposure::render_text(&out);
            let mut json = Vec::new();
            exposure::write_json(&out, &mut json).expect("json");
            (search, out.summary.items, text.len() + json.len())
        }
        Err(e) => (t.elapsed().as_secs_f64(), 0, e.to_string().len()),
    }
}

fn main() {
    let customers: usize = std::env::var("PA_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let dir = root.join(format!("c{customers}-s1"));
    if !dir.join("manifest.json").exists() {
        let s = generate(
            &GenerateOptions {
                customers,
                seed: 1,
                partners: 20,
            },
            &dir,
        )
        .expect("generate snapshot");
        println!("generated {} rows, {} bytes", s.rows, s.bytes);
    }

    let t = Instant::now();
    let loaded = partner_audit::import::load_any(&dir);
    let load_s = t.elapsed().as_secs_f64();
    assert!(!loaded.has_errors(), "the generated snapshot loads");
    let s = &loaded.snapshot;
    let t = Instant::now();
    let g = AccessGraph::build(s);
    let graph_s = t.elapsed().as_secs_f64();

    // The first partner's AdminAgents group and a user in it.
    let partner = s
        .tenants
        .iter()
        .find(|t| t.kind == partner_audit::snapshot::TenantKind::Partner)
        .expect("a partner");
    let admin_agents = s
        .principals
        .iter()
        .find(|p| {
            p.tenant_id == partner.tenant_id
                && p.kind == PrincipalKind::Group
                && p.agent_group == Some(AgentGroup::AdminAgents)
        })
        .expect("AdminAgents");
    let agent = s
        .memberships
        .iter()
        .filter(|m| m.group_id == admin_agents.principal_id)
        .filter_map(|m| s.principals.iter().find(|p| p.principal_id == m.member_id))
        .find(|p| p.kind == PrincipalKind::User && p.upn.is_some())
        .expect("a user in AdminAgents");
    let targets = [
        (
            "admin agent, by UPN",
            agent.upn.as_deref().unwrap_or_default().to_string(),
        ),
        (
            "AdminAgents group, by id",
            admin_agents.principal_id.to_string(),
        ),
        ("partner tenant, by name", partner.name.to_string()),
        ("unknown name (suggestions)", "no such admin".to_string()),
    ];

    println!(
        "exposure benchmark: {customers} customers, {} principals, {} graph nodes, {} edges",
        s.principals.len(),
        g.graph.node_count(),
        g.graph.edge_count()
    );
    println!("  load {load_s:.3} s, graph {graph_s:.3} s (once)");
    for (what, q) in &targets {
        let (mut best, mut best_search) = (f64::INFINITY, f64::INFINITY);
        let mut result = (0.0, 0, 0);
        for _ in 0..RUNS {
            let t = Instant::now();
            result = answer(s, &g, q);
            best = best.min(t.elapsed().as_secs_f64());
            best_search = best_search.min(result.0);
        }
        println!(
            "  query {what:<28} {:>8.2} ms in all ({:.2}% of load + graph): resolve + search {:.2} ms, outputs {:.2} ms; {} items, {:.1} KB of text and JSON",
            best * 1e3,
            100.0 * best / (load_s + graph_s),
            best_search * 1e3,
            (best - best_search) * 1e3,
            result.1,
            result.2 as f64 / 1e3
        );
    }
}
