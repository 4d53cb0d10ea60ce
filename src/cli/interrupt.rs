//! SIGINT (Ctrl-C) and SIGTERM for every command. During `sample` and `resume` the first
//! signal asks the run to stop after the current sweep (it then writes a checkpoint and the
//! partial outputs and exits with status 130); any other signal — a second one, or one
//! during a command that cannot stop early — removes this process's temporary output files
//! and exits at once with status 130. Every output is written by rename, so exiting at once
//! leaves the previous files whole, and no `.blockgibbs-<pid>-*` file behind.
//!
//! The signals are received by a thread (signal-hook's iterator), not in a signal handler,
//! so removing files and taking locks there is safe.

use blockgibbs_runtime::atomic_file::remove_temp_files;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};

/// Exit status of a run stopped by a signal (128 + SIGINT, as shells report Ctrl-C).
pub const INTERRUPTED_STATUS: u8 = 130;

/// The stop flag of the run that can stop gracefully, while one is running.
static GRACEFUL: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);

/// Starts, once per process, the thread that handles SIGINT and SIGTERM. Where the
/// handlers cannot be installed the default actions stay (the process ends on a signal),
/// which is said on stderr.
pub(super) fn guard() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| match Signals::new([SIGINT, SIGTERM]) {
        Ok(mut signals) => {
            let spawned = std::thread::Builder::new()
                .name("blockgibbs-signals".into())
                .spawn(move || {
                    for _ in signals.forever() {
                        let graceful = GRACEFUL.lock().unwrap_or_else(|e| e.into_inner()).clone();
                        match graceful {
                            Some(flag) if !flag.swap(true, Ordering::SeqCst) => {}
                            _ => {
                                remove_temp_files();
                                std::process::exit(INTERRUPTED_STATUS as i32);
                            }
                        }
                    }
                });
            if let Err(e) = spawned {
                eprintln!("note: cannot watch for signals ({e}); Ctrl-C may leave temporary files");
            }
        }
        Err(e) => eprintln!("note: cannot handle signals ({e}); Ctrl-C may leave temporary files"),
    });
}

/// The graceful stop of one run; dropping it makes signals exit at once again.
pub(super) struct Interrupt {
    flag: Arc<AtomicBool>,
}

impl Interrupt {
    /// Makes the first signal set this run's stop flag instead of exiting.
    pub(super) fn install() -> Interrupt {
        guard();
        let flag = Arc::new(AtomicBool::new(false));
        *GRACEFUL.lock().unwrap_or_else(|e| e.into_inner()) = Some(flag.clone());
        Interrupt { flag }
    }

    /// Whether a stop was asked for.
    pub(super) fn requested(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        *GRACEFUL.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
