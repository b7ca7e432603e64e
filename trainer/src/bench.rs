//! `charm bench`: training throughput (characters per second) of one
//! configuration, as the median of several timed runs.
//!
//! Each run takes `--steps` optimizer steps (forward, backward, clipping and an
//! update) on random windows over V characters, after one untimed warm-up step.

use crate::backward::{self, Window};
use crate::error::CliError;
use crate::fast::Engine;
use crate::optim::{self, Hyper, Optimizer, OptimizerKind};
use crate::params::Params;
use crate::train::EngineKind;
use charm_core::Rng;
use std::time::Instant;

/// What to measure.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Hidden units H.
    #[arg(long, default_value_t = 384)]
    pub hidden: usize,
    /// Vocabulary size V.
    #[arg(long, default_value_t = 65)]
    pub vocab: usize,
    /// Window length T.
    #[arg(long, default_value_t = 50)]
    pub seq_len: usize,
    /// Streams B.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Update rule.
    #[arg(long, value_enum, default_value = "adam")]
    pub optimizer: OptimizerKind,
    /// Implementation.
    #[arg(long, value_enum, default_value = "fast")]
    pub engine: EngineKind,
    /// Threads (shards of the batch) [default: cores, at most --batch].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Optimizer steps per timed run.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Timed runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

/// Runs the benchmark and returns the report line.
pub fn run(a: &BenchArgs) -> Result<String, CliError> {
    if a.hidden == 0
        || a.vocab == 0
        || a.seq_len == 0
        || a.batch == 0
        || a.steps == 0
        || a.runs == 0
    {
        return Err(CliError::Usage(
            "every `charm bench` size must be at least 1".into(),
        ));
    }
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, a.batch);
    let (h, v, b, t) = (a.hidden, a.vocab, a.batch, a.seq_len);
    let mut params = Params::<f32>::init_normal(h, v, 0.05, 1);
    let mut grads = Params::<f32>::zeros(h, v);
    let mut opt = Optimizer::new(a.optimizer, params.data.len());
    let mut engine = Engine::<f32>::new(h, v, b, threads);
    let mut state = vec![0.0f32; b * h];
    let mut rng = Rng::new(7);
    let xs: Vec<u32> = (0..b * (t + 1))
        .map(|_| (rng.next_u64() % v as u64) as u32)
        .collect();
    let (inputs, targets) = (&xs[..b * t], &xs[b..b + b * t]);
    let w = Window {
        batch: b,
        len: t,
        inputs,
        targets,
    };
    let mut step = |params: &mut Params<f32>| -> Result<(), CliError> {
        match a.engine {
            EngineKind::Fast => {
                engine.forward_backward(params, &w, &mut state, None, &mut grads);
            }
            EngineKind::Plain => {
                backward::forward_backward(params, &w, &mut state, None, &mut grads)
                    .map_err(|e| CliError::Usage(format!("internal error: {e}")))?;
            }
        }
        optim::clip(&mut grads, 5.0);
        opt.update(
            params,
            &grads,
            Hyper {
                lr: 1e-4,
                weight_decay: 0.0,
            },
        );
        Ok(())
    };
    step(&mut params)?; // warm-up
    let mut rates = Vec::with_capacity(a.runs);
    for _ in 0..a.runs {
        let start = Instant::now();
        for _ in 0..a.steps {
            step(&mut params)?;
        }
        rates.push((a.steps * b * t) as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    Ok(format!(
        "H {h}, V {v}, seq-len {t}, batch {b}, {:?}, {:?} engine, {threads} thread(s): {:.0} chars/s \
         (median of {} runs of {} steps; min {:.0}, max {:.0})",
        a.optimizer,
        a.engine,
        median,
        a.runs,
        a.steps,
        rates[0],
        rates[rates.len() - 1]
    ))
}
