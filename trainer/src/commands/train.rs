//! `charm train`: trains (see [`crate::training`]) with Ctrl-C wired to a
//! clean stop, and says where the model went.

use crate::commands::info;
use crate::error::Error;
use crate::files::console;
use crate::training::{self, Budget, Outcome, Report, TrainSettings};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the Ctrl-C (and SIGTERM, SIGHUP) handler; the run checks it before every step.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Runs `charm train`; returns how the run ended.
pub fn run(settings: &TrainSettings) -> Result<Outcome, Error> {
    // Ctrl-C, and SIGTERM and SIGHUP (`kill PID`, a closed terminal), end
    // the run with a checkpoint and release its lock. Fails only if a
    // handler is already installed (a second run in one process, e.g. in
    // tests); then they keep their default action.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    let mut report = training::train(settings, &INTERRUPTED)?;
    match report.stdout_failure.take() {
        // The reader of the lines has gone: the model is written, nothing to add.
        Some(Error::ClosedPipe) => {}
        Some(e) => return Err(e),
        None if !settings.quiet
            && matches!(report.outcome, Outcome::Finished | Outcome::StoppedEarly) =>
        {
            let text = match report.outcome {
                Outcome::StoppedEarly => {
                    format!("{}\n{}", stopped_early(&report), finished(&report))
                }
                _ => finished(&report),
            };
            match console::print_line(&text) {
                Ok(()) | Err(Error::ClosedPipe) => {}
                Err(e) => return Err(e),
            }
        }
        None => {}
    }
    match report.outcome {
        Outcome::Interrupted => console::print_error_line(&interrupted(&report)),
        Outcome::AlreadyDone => console::print_error_line(&already_done(&report)),
        Outcome::AlreadyStopped => console::print_error_line(&already_stopped(&report)),
        Outcome::Finished | Outcome::StoppedEarly => {}
    }
    Ok(report.outcome)
}

fn finished(r: &Report) -> String {
    let fit = r
        .model_shape
        .map(|(shape, bytes)| {
            if shape.is_vanilla() {
                format!(
                    "\n{}",
                    info::fit_line(shape.hidden, shape.vocab, info::Element::F32, bytes)
                )
            } else {
                let fit = info::stacked_shape(shape.cell, shape.layers, shape.hidden, shape.vocab)
                    .map(|stacked| {
                        format!(
                            "\n{}",
                            info::stacked_fit_line(&stacked, info::Element::F32, bytes)
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "\nmodel: {} H {} as format version 5 ({bytes} bytes); charm sample, charm \
                     eval, charm quantize and charm export take it{fit}",
                    shape.describe(),
                    shape.hidden
                )
            }
        })
        .unwrap_or_default();
    let kept = match r.best {
        Some((step, val)) if step != r.steps => format!(
            "model written to {}, with the weights of the best validation loss, {val:.4} nats/char \
             ({:.4} bits/char) at step {step}",
            r.model.display(),
            val / std::f64::consts::LN_2
        ),
        _ => format!("model written to {}", r.model.display()),
    };
    format!(
        "done: {} steps, {} characters in {:.0} s; validation loss {:.4} nats/char ({:.4} bits/char) \
         on the last {} characters\n{kept}; try: {} sample --model {}{fit}",
        r.steps,
        r.chars_seen,
        r.seconds,
        r.val_loss,
        r.val_loss / std::f64::consts::LN_2,
        r.val_chars,
        charm_command(),
        r.model.display()
    )
}

/// How to run this `charm` from the current directory: `charm` when that
/// name on PATH is this program, else its path (relative when below here).
fn charm_command() -> String {
    let Ok(exe) = std::env::current_exe().and_then(|e| e.canonicalize()) else {
        return "charm".into();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .filter_map(|dir| dir.join("charm").canonicalize().ok())
            .next()
            .is_some_and(|found| found == exe)
    });
    if on_path {
        return "charm".into();
    }
    let here = std::env::current_dir().and_then(|d| d.canonicalize()).ok();
    match here.as_deref().and_then(|d| exe.strip_prefix(d).ok()) {
        Some(rel) => rel.display().to_string(),
        None => exe.display().to_string(),
    }
}

/// The one line of an early stop: where, why, and how to train on.
fn stopped_early(r: &Report) -> String {
    let (best_step, best_val) = r.best.unwrap_or((r.steps, r.val_loss));
    let at = match r.budget {
        Budget::Steps(s) => format!("at step {} of {s}", r.steps),
        Budget::Minutes(m) => format!(
            "at step {}, {:.1} of {m} minutes,",
            r.steps,
            r.seconds / 60.0
        ),
    };
    format!(
        "stopped early {at} because the validation loss has not improved on {best_val:.4} \
         nats/char (step {best_step}) for {} evaluations (--patience {}; --patience off trains to \
         the end of the budget)",
        r.since_best, r.patience
    )
}

fn already_stopped(r: &Report) -> String {
    let (best_step, best_val) = r.best.unwrap_or((r.steps, r.val_loss));
    format!(
        "nothing to do: the checkpoint {} stopped early, its validation loss not improved on \
         {best_val:.4} nats/char (step {best_step}) for {} evaluations; give a --patience above \
         {} or --patience off to train on (the files are unchanged)",
        r.state.display(),
        r.since_best,
        r.patience
    )
}

fn interrupted(r: &Report) -> String {
    format!(
        "interrupted at step {}; checkpoint written to {} and {}; continue with the same flags and --resume {}",
        r.steps,
        r.model.display(),
        r.state.display(),
        r.state.display()
    )
}

fn already_done(r: &Report) -> String {
    let (unit, more) = match r.budget {
        Budget::Steps(_) => (format!("{} steps", r.steps), "a larger --steps"),
        Budget::Minutes(_) => (
            format!("{:.1} minutes", r.seconds / 60.0),
            "a larger --minutes",
        ),
    };
    format!(
        "nothing to do: the checkpoint {} has trained {unit} already, its whole budget of {}; \
         give {more} to train on (the files are unchanged)",
        r.state.display(),
        r.budget
    )
}
