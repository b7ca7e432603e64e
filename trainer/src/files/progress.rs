//! What `charm train` shows while it runs: a progress bar on stderr (step,
//! chars/s, smoothed loss, ETA) and lines on stdout (samples, evaluations),
//! all silenced by `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress display of one training run.
pub struct Progress {
    bar: ProgressBar,
    quiet: bool,
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
        Self { bar, quiet }
    }

    /// Updates the bar: position and the `step | chars/s | loss` message.
    pub fn update(&self, pos: u64, step: u64, chars_per_sec: f64, loss: f64) {
        self.bar.set_position(pos);
        self.bar.set_message(format!(
            "step {step} | {:.1}k chars/s | loss {loss:.4} nats/char",
            chars_per_sec / 1000.0
        ));
    }

    /// Prints a line on stdout above the bar (nothing when quiet).
    pub fn line(&self, text: &str) {
        if !self.quiet {
            self.bar.suspend(|| println!("{text}"));
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
