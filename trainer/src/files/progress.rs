//! What `charm train` shows while it runs: a progress bar on stderr (step,
//! chars/s, smoothed loss, ETA) and lines on stdout (samples, evaluations),
//! all silenced by `--quiet`.
//!
//! Training is the job and the lines are a view of it: when stdout fails
//! (a closed pipe, a full disk), the lines stop and training goes on; the
//! failure is kept for the end of the run ([`Progress::stdout_failure`]).

use crate::error::Error;
use crate::files::console;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::RefCell;

/// The progress display of one training run.
pub struct Progress {
    bar: ProgressBar,
    quiet: bool,
    /// The first failure to write a line to stdout; no line is written after it.
    failed: RefCell<Option<Error>>,
}

impl Progress {
    /// A bar of `len` units (steps, or tenths of a second with a time budget).
    pub fn new(len: u64, quiet: bool) -> Self {
        let bar = if quiet {
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden())
        } else {
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(4))
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30.cyan/blue} {msg} [{elapsed_precise} < {eta_precise}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self {
            bar,
            quiet,
            failed: RefCell::new(None),
        }
    }

    /// Updates the bar: position and the `step | chars/s | loss` message.
    pub fn update(&self, pos: u64, step: u64, chars_per_sec: f64, loss: f64) {
        self.bar.set_position(pos);
        self.bar.set_message(format!(
            "step {step} | {:.1}k chars/s | loss {loss:.4} nats/char",
            chars_per_sec / 1000.0
        ));
    }

    /// Prints a line on stdout above the bar (nothing when quiet, or after
    /// stdout failed).
    pub fn line(&self, text: &str) {
        if self.quiet || self.failed.borrow().is_some() {
            return;
        }
        if let Err(e) = self.bar.suspend(|| console::print_line(text)) {
            *self.failed.borrow_mut() = Some(e);
        }
    }

    /// Why stdout stopped taking lines, if it did.
    pub fn stdout_failure(&self) -> Option<Error> {
        self.failed.borrow_mut().take()
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
