//! When a run stops, logs and checkpoints.

use std::fmt;

/// When training stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// After this many optimizer steps in total (counting resumed ones).
    Steps(u64),
    /// After this many minutes of training in total (counting resumed runs).
    Minutes(f64),
}

/// Training time when no budget is given.
pub const DEFAULT_MINUTES: f64 = 3.0;

impl Budget {
    /// The fraction of the budget used after `step` steps and `secs` seconds
    /// of training; the learning-rate schedule runs on it, and the run ends at 1.
    pub fn progress(self, step: u64, secs: f64) -> f64 {
        match self {
            Budget::Steps(s) => step as f64 / s.max(1) as f64,
            Budget::Minutes(m) => secs / (m * 60.0),
        }
    }

    /// Whether the budget is used up.
    pub fn done(self, step: u64, secs: f64) -> bool {
        match self {
            Budget::Steps(s) => step >= s,
            Budget::Minutes(m) => secs >= m * 60.0,
        }
    }

    /// Length of the progress bar: steps, or tenths of a second.
    pub fn bar_len(self) -> u64 {
        match self {
            Budget::Steps(s) => s,
            Budget::Minutes(m) => (m * 600.0) as u64,
        }
    }

    /// Position on the progress bar.
    pub fn bar_pos(self, step: u64, secs: f64) -> u64 {
        match self {
            Budget::Steps(_) => step,
            Budget::Minutes(_) => (secs * 10.0) as u64,
        }
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Budget::Steps(s) => write!(f, "{s} steps"),
            Budget::Minutes(m) => write!(f, "{m} minutes"),
        }
    }
}

/// Evaluations per run.
pub const EVALUATIONS: u64 = 20;

/// Rows of the training loss alone in the log, per run (between evaluations).
pub const TRACE_ROWS: u64 = 200;

/// Something done `times` times over a run: every `steps / times` steps, or
/// every `minutes · 60 / times` seconds (20 evaluations; 200 log rows of
/// the training loss).
#[derive(Debug, Clone, Copy)]
pub struct LogCadence {
    every_steps: u64,
    every_secs: f64,
    next_secs: f64,
}

impl LogCadence {
    /// `times` over a run with this budget, `secs` seconds into it.
    pub fn new(budget: Budget, times: u64, secs: f64) -> Self {
        let (every_steps, every_secs) = match budget {
            Budget::Steps(s) => ((s / times).max(1), f64::INFINITY),
            Budget::Minutes(m) => (u64::MAX, m * 60.0 / times as f64),
        };
        Self {
            every_steps,
            every_secs,
            next_secs: ((secs / every_secs).floor() + 1.0) * every_secs,
        }
    }

    /// Whether it is due after `step` steps and `secs` seconds (and if so,
    /// the next one is scheduled).
    pub fn due(&mut self, step: u64, secs: f64) -> bool {
        if step.is_multiple_of(self.every_steps) || secs >= self.next_secs {
            self.next_secs = ((secs / self.every_secs).floor() + 1.0) * self.every_secs;
            return true;
        }
        false
    }
}
