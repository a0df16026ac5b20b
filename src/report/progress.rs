//! A progress line on stderr while reports are written: shown only when
//! stderr is a terminal and only once the work has taken more than a
//! second, so quick runs, pipes and CI logs never see it.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the work must run before the line appears.
const DELAY: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(100);
const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

#[derive(Default)]
struct State {
    message: String,
    done: bool,
}

/// A running progress indicator; [`Progress::finish`] (or drop) clears it.
pub struct Progress {
    shared: Arc<(Mutex<State>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the indicator (a no-op unless stderr is a terminal).
    pub fn start() -> Progress {
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let thread = std::io::stderr().is_terminal().then(|| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || run(&shared))
        });
        Progress { shared, thread }
    }

    /// Sets what is being done (plain text; callers pass printable strings).
    pub fn set(&self, message: String) {
        if let Ok(mut s) = self.shared.0.lock() {
            s.message = message;
        }
    }

    /// Stops and clears the indicator.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Ok(mut s) = self.shared.0.lock() {
            s.done = true;
        }
        self.shared.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(shared: &(Mutex<State>, Condvar)) {
    let (lock, cvar) = shared;
    let start = Instant::now();
    let mut shown = false;
    let mut tick = 0usize;
    let Ok(mut state) = lock.lock() else {
        return;
    };
    loop {
        let wait = if shown {
            TICK
        } else {
            DELAY.saturating_sub(start.elapsed())
        };
        state = match cvar.wait_timeout(state, wait) {
            Ok((s, _)) => s,
            Err(_) => return,
        };
        if state.done {
            break;
        }
        if start.elapsed() >= DELAY {
            shown = true;
            tick += 1;
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[2K{} {} ({}s)",
                SPINNER[tick % SPINNER.len()],
                state.message,
                start.elapsed().as_secs()
            );
            let _ = err.flush();
        }
    }
    if shown {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}
