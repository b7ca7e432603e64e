//! `charm train`: trains (see [`crate::training`]) with Ctrl-C wired to a
//! clean stop, and says where the model went.

use crate::error::Error;
use crate::training::{self, Outcome, Report, TrainSettings};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the Ctrl-C handler; the run checks it before every step.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Runs `charm train`; returns how the run ended.
pub fn run(settings: &TrainSettings) -> Result<Outcome, Error> {
    // Fails only if a handler is already installed (a second run in one
    // process, e.g. in tests); then Ctrl-C keeps its default action.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    let report = training::train(settings, &INTERRUPTED)?;
    match report.outcome {
        Outcome::Finished if !settings.quiet => println!("{}", finished(&report)),
        Outcome::Finished => {}
        Outcome::Interrupted => eprintln!("{}", interrupted(&report)),
    }
    Ok(report.outcome)
}

fn finished(r: &Report) -> String {
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
         on the last {} characters\n{kept}; try: charm sample --model {}",
        r.steps,
        r.chars_seen,
        r.seconds,
        r.val_loss,
        r.val_loss / std::f64::consts::LN_2,
        r.val_chars,
        r.model.display()
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
