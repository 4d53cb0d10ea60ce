//! The progress bar of `fit`: drawn on stderr when it is a terminal and `--quiet` is not
//! given, absent otherwise (so scripts and logs see only the JSON line).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// A progress bar that may be switched off; every method is a no-op then.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar on stderr if it is a terminal and `quiet` is false.
    pub fn new(quiet: bool) -> Progress {
        Progress {
            bar: (!quiet && std::io::stderr().is_terminal()).then(ProgressBar::hidden),
        }
    }

    /// Starts (or restarts) the bar over `len` steps called `unit` (e.g. "epochs",
    /// "EM steps").
    pub fn start(&self, len: u64, unit: &str) {
        if let Some(bar) = &self.bar {
            let template = format!(
                "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} {{msg}}"
            );
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style);
            }
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_length(len);
            bar.set_position(0);
            bar.set_message("");
        }
    }

    /// Moves the bar to step `pos`.
    pub fn set(&self, pos: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(pos);
        }
    }

    /// Shows what is being done after the steps (e.g. "exact log-likelihood").
    pub fn message(&self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(text.to_string());
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An error path leaves no half-drawn bar above the error message.
        self.finish();
    }
}
