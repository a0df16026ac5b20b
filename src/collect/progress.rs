//! The progress line of `collect` on stderr: tenants done / total,
//! requests sent, throttling waits. Shown only when stderr is a terminal
//! (through [`crate::report::progress::Progress`]); pipes and CI logs stay quiet.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::http::Stats;
use crate::report::progress::Progress;

#[derive(Default)]
struct Counters {
    done: AtomicUsize,
    total: AtomicUsize,
    stop: AtomicBool,
}

/// Tenant counters plus a thread that refreshes the line.
pub struct Line {
    c: Arc<Counters>,
    thread: Option<JoinHandle<()>>,
}

impl Line {
    /// Starts the line (nothing is shown unless `enabled` and stderr is a terminal).
    pub fn start(stats: &Arc<Stats>, enabled: bool) -> Line {
        let c = Arc::new(Counters::default());
        c.total.store(1, Ordering::Relaxed);
        let thread = (enabled && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            let c = Arc::clone(&c);
            let stats = Arc::clone(stats);
            std::thread::spawn(move || {
                let p = Progress::start();
                while !c.stop.load(Ordering::Relaxed) {
                    p.set(format!(
                        "collect: {}/{} tenants, {} requests, {} throttling waits",
                        c.done.load(Ordering::Relaxed),
                        c.total.load(Ordering::Relaxed),
                        stats.requests.load(Ordering::Relaxed),
                        stats.throttled.load(Ordering::Relaxed)
                    ));
                    std::thread::sleep(Duration::from_millis(200));
                }
                p.finish();
            })
        });
        Line { c, thread }
    }

    pub fn tenant_done(&self) {
        self.c.done.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_total(&self, n: usize) {
        self.c.total.store(n, Ordering::Relaxed);
    }

    /// Stops and clears the line.
    pub fn finish(&self) {
        self.c.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        self.c.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
