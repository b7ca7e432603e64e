//! Early stopping: a run whose validation loss has stopped improving ends
//! before its budget, and its model file keeps the best weights.
//!
//! The rule counts evaluations, which come [`EVALUATIONS`] times a run (every
//! 1/20 of the budget, in steps or in minutes): with patience N, the run ends
//! after an evaluation when the last N evaluations all scored above the best
//! validation loss so far, that is when the best is N evaluations old.
//!
//! The count is read from the run's log and the best weights' step, both of
//! which a checkpoint keeps, so a resumed run counts on where it left off.
//!
//! [`EVALUATIONS`]: crate::training::cadence::EVALUATIONS

use crate::files::log::LogRow;
use std::fmt;

/// Evaluations without a better validation loss after which a run stops,
/// by default: a quarter of a run ([`crate::training::cadence::EVALUATIONS`]
/// is 20).
pub const DEFAULT_PATIENCE: u64 = 5;

/// When a run stops before its budget is used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Never: the run trains to the end of its budget.
    Off,
    /// After this many evaluations in a row without a lower validation loss
    /// than the best so far (at least 1).
    Evaluations(u64),
}

impl Default for Patience {
    fn default() -> Self {
        Patience::Evaluations(DEFAULT_PATIENCE)
    }
}

impl Patience {
    /// Whether a run whose best validation loss is `since_best` evaluations
    /// old has run out of patience.
    pub fn exhausted(self, since_best: u64) -> bool {
        match self {
            Patience::Off => false,
            Patience::Evaluations(n) => since_best >= n,
        }
    }
}

impl fmt::Display for Patience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Patience::Off => f.write_str("off"),
            Patience::Evaluations(n) => write!(f, "{n}"),
        }
    }
}

/// Evaluations in the log after the one that found the best weights, taken
/// at step `best_step` (0 when there is no best: a run without a validation
/// part never stops early). Rows without a validation loss (NaN: the
/// training loss alone) are not evaluations.
pub fn evaluations_since_best(history: &[LogRow], best_step: Option<u64>) -> u64 {
    let Some(best_step) = best_step else {
        return 0;
    };
    history
        .iter()
        .filter(|r| !r.val_loss.is_nan() && r.step > best_step)
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: u64, val_loss: f64) -> LogRow {
        LogRow {
            step,
            chars: step * 100,
            train_loss: 2.0,
            val_loss,
            seconds: step as f64,
        }
    }

    /// The best (1.8) at step 30, then 1.9, a training-loss row, 1.85, 1.8
    /// again (not lower: no improvement), 2.0: four evaluations since it.
    fn log() -> Vec<LogRow> {
        vec![
            row(10, 2.5),
            row(20, 2.0),
            row(30, 1.8),
            row(35, f64::NAN),
            row(40, 1.9),
            row(45, f64::NAN),
            row(50, 1.85),
            row(60, 1.8),
            row(70, 2.0),
        ]
    }

    #[test]
    fn counts_the_evaluations_after_the_best_and_not_the_training_rows() {
        assert_eq!(evaluations_since_best(&log(), Some(30)), 4);
        assert_eq!(evaluations_since_best(&log(), Some(70)), 0);
        assert_eq!(evaluations_since_best(&log(), Some(10)), 6);
    }

    #[test]
    fn a_run_without_validation_never_counts() {
        let rows: Vec<LogRow> = (1..=30).map(|s| row(s, f64::NAN)).collect();
        assert_eq!(evaluations_since_best(&rows, None), 0);
        assert!(!Patience::Evaluations(1).exhausted(0));
    }

    #[test]
    fn stops_when_the_best_is_patience_evaluations_old() {
        let since = evaluations_since_best(&log(), Some(30));
        assert!(Patience::Evaluations(4).exhausted(since));
        assert!(Patience::Evaluations(3).exhausted(since));
        assert!(!Patience::Evaluations(5).exhausted(since));
        assert!(!Patience::Off.exhausted(since));
        assert!(!Patience::Off.exhausted(u64::MAX));
    }

    #[test]
    fn the_default_is_five_evaluations_and_prints_as_given() {
        assert_eq!(Patience::default(), Patience::Evaluations(5));
        assert_eq!(Patience::Evaluations(7).to_string(), "7");
        assert_eq!(Patience::Off.to_string(), "off");
    }
}
