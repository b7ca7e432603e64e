//! The memory a run needs, estimated before anything is allocated, and
//! refused (with the number) when the machine does not have it.

use crate::error::Error;
use crate::files::memory::check_available;
use crate::math::engine::Engine;
use crate::math::loss::VAL_STREAMS;
use crate::math::stacked_engine::StackedEngine;
use crate::training::config::{EngineKind, TrainConfig};

/// Bytes a run of `cfg` on `train_chars + val_chars` characters of a
/// `vocab`-character corpus holds at its peak: the corpus as indices; θ, its
/// gradient, the optimizer's moments (2 for Adam, 1 for Adagrad) and the
/// best-weights snapshot; the engine of the training windows and that of the
/// validation; the dropout mask, the windows and the states; and a
/// checkpoint's serialized state (θ, moments and snapshot again).
///
/// For other cells and depths θ is the stacked layout's
/// ([`crate::math::params::Shape::len`]), the batched engine's buffers are
/// [`StackedEngine::memory_bytes`] (the reference's: one stream's tape at a
/// time, the states of T + 1 steps, each layer's input and its units' 6
/// saved values for T steps, the output's input and dy), and the
/// validation runs one stream per thread.
pub fn run_bytes(cfg: &TrainConfig, vocab: usize, chars: usize) -> u64 {
    let (h, b, t) = (cfg.hidden, cfg.batch, cfg.seq_len);
    let shape = cfg.shape(vocab);
    let p = shape.len() as u64;
    let moments = match cfg.optimizer {
        crate::math::optim::OptimizerKind::Adam => 2,
        crate::math::optim::OptimizerKind::Adagrad => 1,
    };
    let tensors = 4 * p * (3 + moments) + 4 * p * (2 + moments);
    let (layers, state) = (shape.layers as u64, shape.state_len() as u64);
    let (h64, t64, v64) = (h as u64, t as u64, vocab as u64);
    let train_engine = match cfg.engine {
        EngineKind::Fast if !shape.is_vanilla() => {
            StackedEngine::<f32>::memory_bytes(&shape, b, t, cfg.threads)
        }
        EngineKind::Plain if !shape.is_vanilla() => {
            4 * ((t64 + 1) * state + t64 * layers * h64 * 7 + t64 * (h64 + v64))
        }
        EngineKind::Fast => Engine::<f32>::memory_bytes(h, vocab, b, t, cfg.threads),
        // One stream's states, dropped states and dy at a time.
        EngineKind::Plain => 4 * (t64 + 1) * (2 * h64 + v64),
    };
    let val_engine = if shape.is_vanilla() {
        Engine::<f32>::memory_bytes(h, vocab, VAL_STREAMS, t, cfg.threads)
    } else {
        4 * cfg.threads as u64 * (2 * state + v64)
    };
    // the dropout mask (L blocks of B·T·H), the windows, the carried states
    let windows = 4 * (b * t * h) as u64 * layers + 8 * (b * t) as u64 + 8 * b as u64 * state;
    4 * chars as u64 + tensors + train_engine + val_engine + windows
}

/// Refuses a run that needs more than the machine's available memory.
pub fn check(cfg: &TrainConfig, vocab: usize, chars: usize) -> Result<(), Error> {
    check_available(
        run_bytes(cfg, vocab, chars),
        "this run",
        "lower --hidden, --batch or --seq-len",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::config::Preset;

    #[test]
    fn the_default_run_needs_tens_of_megabytes_and_a_huge_window_is_refused() {
        let cfg = TrainConfig {
            threads: 2,
            ..TrainConfig::preset(Preset::Default)
        };
        let bytes = run_bytes(&cfg, 65, 1_115_394);
        assert!((10 << 20..200 << 20).contains(&bytes), "{bytes}");
        let huge = TrainConfig {
            seq_len: 100_000,
            batch: 100_000,
            ..cfg
        };
        assert!(run_bytes(&huge, 65, 1_115_394) > 1 << 40);
    }

    #[test]
    fn a_stacked_run_counts_its_larger_tensors() {
        let one = TrainConfig {
            threads: 2,
            ..TrainConfig::preset(Preset::Default)
        };
        let lstm = TrainConfig {
            cell: charm_core::Cell::Lstm,
            layers: 2,
            ..one.clone()
        };
        // θ alone, 4 bytes × 10 copies (θ, gradient, 2 moments, snapshot;
        // the checkpoint's θ, 2 moments, snapshot) and the mask's second block
        let theta = lstm.shape(65).len() as u64;
        assert!(run_bytes(&lstm, 65, 1_115_394) > 40 * theta);
        assert!(theta > 8 * one.shape(65).len() as u64);
    }
}
