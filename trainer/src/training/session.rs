//! A training session: the loop that takes a [`Run`] from its start to the
//! end of its budget, to an early stop or to Ctrl-C, with the progress bar,
//! the evaluations and the checkpoints on their cadence.

use crate::error::Error;
use crate::files::progress::Progress;
use crate::training::cadence::{Budget, LogCadence, EVALUATIONS, TRACE_ROWS};
use crate::training::early_stopping::{evaluations_since_best, Patience};
use crate::training::run::Run;
use crate::training::settings::TrainSettings;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How a run ended (errors aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The budget was used up; the final model was written.
    Finished,
    /// The validation loss had not improved for the patience's evaluations;
    /// the final model (the best weights) was written before the budget was
    /// used up.
    StoppedEarly,
    /// Ctrl-C: a checkpoint was written; `--resume` continues.
    Interrupted,
    /// The resumed checkpoint had used up the budget already: nothing was
    /// trained or written.
    AlreadyDone,
    /// The resumed checkpoint had run out of patience already (it stopped
    /// early): nothing was trained or written.
    AlreadyStopped,
}

/// The end of a run, for the command's last lines.
#[derive(Debug)]
pub struct Report {
    /// How it ended.
    pub outcome: Outcome,
    /// Optimizer steps done (in total).
    pub steps: u64,
    /// Training characters consumed (in total).
    pub chars_seen: u64,
    /// Seconds of training (in total).
    pub seconds: f64,
    /// Final validation loss, nats/char.
    pub val_loss: f64,
    /// The step and validation loss of the weights in the model file (the
    /// lowest validation loss of the run), if there was a validation.
    pub best: Option<(u64, f64)>,
    /// Characters held out for validation.
    pub val_chars: usize,
    /// The model written.
    pub model: PathBuf,
    /// The training state written.
    pub state: PathBuf,
    /// The model's shape and the size in bytes of the model file written.
    pub model_shape: Option<(crate::math::params::Shape, usize)>,
    /// The budget the run had.
    pub budget: Budget,
    /// The patience the run had.
    pub patience: Patience,
    /// Evaluations since the one of the best weights (see [`Report::best`]).
    pub since_best: u64,
    /// Why the progress lines stopped, if stdout failed during the run.
    pub stdout_failure: Option<Error>,
}

/// Trains as `settings` say until the budget is used up, the validation
/// loss has not improved for `settings.patience` evaluations, or `stop` is
/// set (Ctrl-C); a checkpoint is written in each case.
pub fn train(settings: &TrainSettings, stop: &AtomicBool) -> Result<Report, Error> {
    let mut run = Run::prepare(settings)?;
    let progress = Progress::new(run.budget.bar_len(), settings.quiet);
    let report_now =
        |run: &Run, outcome| report(run, settings, outcome, run.elapsed_before, &progress);
    if run.resumed && run.budget.done(run.step, run.elapsed_before) {
        return Ok(report_now(&run, Outcome::AlreadyDone));
    }
    if run.resumed && settings.patience.exhausted(since_best(&run)) {
        return Ok(report_now(&run, Outcome::AlreadyStopped));
    }
    for line in run.describe(settings.checkpoint_every) {
        progress.line(&line);
    }
    let start = Instant::now();
    let elapsed = |before: f64| before + start.elapsed().as_secs_f64();
    let mut last_checkpoint = Instant::now();
    let mut cadence = LogCadence::new(run.budget, EVALUATIONS, elapsed(run.elapsed_before));
    let mut trace = LogCadence::new(run.budget, TRACE_ROWS, elapsed(run.elapsed_before));
    let mut rate = Throughput::new(run.chars_seen);
    let mut evaluations = 0u64;
    let outcome = loop {
        let fraction = run.budget.progress(run.step, elapsed(run.elapsed_before));
        if fraction >= 1.0 {
            break Outcome::Finished;
        }
        if stop.load(Ordering::SeqCst) || settings.interrupt_at == Some(run.step) {
            break Outcome::Interrupted;
        }
        if let Err(e) = run.step(fraction) {
            progress.finish();
            return Err(e);
        }
        let secs = elapsed(run.elapsed_before);
        let bar = run.budget.bar_pos(run.step, secs);
        progress.update(bar, run.step, rate.update(run.chars_seen), run.smooth);
        if run.budget.done(run.step, secs) {
            continue;
        }
        if cadence.due(run.step, secs) {
            log_evaluation(&mut run, secs, &progress, evaluations.is_multiple_of(4));
            evaluations += 1;
            if settings.patience.exhausted(since_best(&run)) {
                break Outcome::StoppedEarly;
            }
        } else if trace.due(run.step, secs) {
            run.record_train_loss(secs);
        }
        if last_checkpoint.elapsed().as_secs_f64() >= settings.checkpoint_every {
            run.checkpoint(elapsed(run.elapsed_before))?;
            last_checkpoint = Instant::now();
        }
    };
    let secs = elapsed(run.elapsed_before);
    if outcome == Outcome::Finished && run.history.last().map(|r| r.step) != Some(run.step) {
        log_evaluation(&mut run, secs, &progress, true);
    }
    run.checkpoint(secs)?;
    progress.finish();
    Ok(report(&run, settings, outcome, secs, &progress))
}

/// Evaluations since the one that found the run's best weights.
fn since_best(run: &Run) -> u64 {
    evaluations_since_best(&run.history, run.best.as_ref().map(|b| b.step))
}

fn report(
    run: &Run,
    settings: &TrainSettings,
    outcome: Outcome,
    seconds: f64,
    progress: &Progress,
) -> Report {
    Report {
        outcome,
        steps: run.step,
        chars_seen: run.chars_seen,
        seconds,
        val_loss: run.val,
        best: run.best.as_ref().map(|b| (b.step, b.val_loss)),
        val_chars: run.val_chars(),
        model: run.out.model.clone(),
        state: run.out.state.clone(),
        budget: run.budget,
        patience: settings.patience,
        since_best: since_best(run),
        model_shape: run.model_bytes.map(|n| (run.cfg.shape(run.vocab_len()), n)),
        stdout_failure: progress.stdout_failure(),
    }
}

/// Evaluates, prints the log line and, with `sample`, 200 sampled characters.
fn log_evaluation(run: &mut Run, secs: f64, progress: &Progress, sample: bool) {
    let row = run.evaluate(secs);
    let best = match &run.best {
        _ if run.last_is_best() => "best so far".to_string(),
        Some(b) => format!("best {:.4} at step {}", b.val_loss, b.step),
        None => "no validation part".to_string(),
    };
    progress.line(&format!(
        "step {:>7} | {:>11} chars | train {:.4} | val {:.4} nats/char ({:.4} bits/char; {best}) | {:.0} s",
        row.step,
        row.chars,
        row.train_loss,
        row.val_loss,
        row.val_loss / std::f64::consts::LN_2,
        secs
    ));
    if sample {
        let text = run.sample(200, run.step);
        progress.line(&format!(
            "----- sample at step {} -----\n{text}\n-----",
            run.step
        ));
    }
}

/// Training characters per second, measured over spans of at least a second.
struct Throughput {
    mark: (Instant, u64),
    rate: f64,
}

impl Throughput {
    fn new(chars: u64) -> Self {
        Self {
            mark: (Instant::now(), chars),
            rate: 0.0,
        }
    }

    /// The rate, remeasured when a second has passed since the last measurement.
    fn update(&mut self, chars: u64) -> f64 {
        let span = self.mark.0.elapsed().as_secs_f64();
        if span >= 1.0 {
            self.rate = (chars - self.mark.1) as f64 / span;
            self.mark = (Instant::now(), chars);
        }
        self.rate
    }
}
