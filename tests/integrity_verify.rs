//! Verification of issue #11 on the merged code with hostile inputs the
//! other integrity tests do not try: each test here is a defect found that
//! way, kept so that it stays fixed.

use std::time::{Duration, Instant};

use partner_audit::report::waivers::WaiverSet;

/// Validates that loading a waivers file costs time linear in its size: the
/// line of each waiver used to be found by counting the newlines before it,
/// so 40,000 waivers took about 20 s (and 100,000 more than a minute, a
/// hang for a CI job). Linear, the same file loads in well under a second;
/// the bound leaves a wide margin for a slow, shared machine.
#[test]
fn many_waivers_load_in_linear_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 40_000;
    let one = r#"{"rule": "DAP001", "justification": "j", "owner": "o", "expires": "2099-01-01"}"#;
    let text = format!("[\n{}\n]\n", vec![one; n].join(",\n"));
    let path = dir.path().join("waivers.json");
    std::fs::write(&path, text).expect("write");
    let start = Instant::now();
    let set = WaiverSet::load(&path).expect("valid waivers");
    let took = start.elapsed();
    assert_eq!(set.waivers.len(), n);
    assert_eq!(set.waivers[0].line, 2, "first waiver on line 2");
    assert_eq!(set.waivers[n - 1].line, n as u32 + 1, "last waiver's line");
    assert!(
        took < Duration::from_secs(8),
        "{n} waivers took {took:?} to load"
    );
}
