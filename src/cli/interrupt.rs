//! Ctrl-C (SIGINT) and SIGTERM during `sample` and `resume`: the first asks the run to stop
//! after the current sweep (it then writes a checkpoint and the partial outputs and exits
//! with status 130); a second one exits at once with status 130. Every output is written by
//! rename, so exiting at once leaves the previous files whole.

use signal_hook::SigId;
use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit status of a run stopped by a signal (128 + SIGINT, as shells report Ctrl-C).
pub const INTERRUPTED_STATUS: u8 = 130;

/// The signal handlers of one run; dropping it removes them.
pub(super) struct Interrupt {
    flag: Arc<AtomicBool>,
    ids: Vec<SigId>,
}

impl Interrupt {
    /// Installs the handlers. Where they cannot be installed the run goes on without them
    /// (it then stops the usual way on Ctrl-C), saying so on stderr.
    pub(super) fn install() -> Interrupt {
        let flag = Arc::new(AtomicBool::new(false));
        let mut ids = Vec::new();
        for signal in [SIGINT, SIGTERM] {
            // The shutdown goes first: on the first signal the flag is still false, so only
            // the second registration acts (it sets the flag); on the second, it exits.
            let registered = signal_hook::flag::register_conditional_shutdown(
                signal,
                INTERRUPTED_STATUS as i32,
                flag.clone(),
            )
            .and_then(|a| Ok((a, signal_hook::flag::register(signal, flag.clone())?)));
            match registered {
                Ok((a, b)) => ids.extend([a, b]),
                Err(e) => eprintln!(
                    "note: cannot handle signal {signal} ({e}); Ctrl-C stops without a checkpoint"
                ),
            }
        }
        Interrupt { flag, ids }
    }

    /// Whether a stop was asked for.
    pub(super) fn requested(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
