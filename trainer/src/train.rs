//! `charm train`: the training loop.
//!
//! Data: the training part of the corpus (all but the last `--val-fraction`) is
//! cut into B contiguous segments, one per stream, as char-rnn does. Step `s`
//! reads window `i = s mod W` of every segment (W = windows per segment):
//! inputs `seg_b[i·T .. i·T+T]`, targets shifted by one. The hidden state of
//! each stream is carried from window to window and reset to 0 when the
//! segments start over (a new epoch), as min-char-rnn resets at the end of its
//! data. The position is a function of the step alone, so a checkpoint only
//! needs the step, the carried states, the weights and the optimizer moments.
//!
//! Randomness: initialization from `--seed`; the dropout mask of step `s` from
//! an RNG seeded with (seed, s); nothing else. So the same flags give
//! bit-identical weights, and a resumed run continues exactly (the time-based
//! parts—log rows, checkpoints, a `--minutes` budget and its learning-rate
//! schedule—do not touch the weights with a `--steps` budget).

use crate::backward::{self, Window};
use crate::checkpoint::{self, TrainState};
use crate::cli::TrainArgs;
use crate::corpus::Corpus;
use crate::error::CliError;
use crate::fast::Engine;
use crate::optim::{Hyper, Optimizer, OptimizerKind, Schedule};
use crate::params::Params;
use crate::plot::{self, LogRow};
use crate::progress::Progress;
use charm_core::{Generator, Metadata, Rng, SampleParams, Vocab};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Which forward/backward implementation trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum EngineKind {
    /// Batched matrix-matrix products on all cores ([`crate::fast`]).
    Fast,
    /// `ModelView::step` per character and rank-1 updates ([`crate::backward`]): the reference.
    Plain,
}

/// Named sets of defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// What trains best in a few minutes on two cores (see README).
    Default,
    /// min-char-rnn exactly: H 100, seq-len 25, batch 1, Adagrad lr 0.1, clip 5,
    /// N(0, 0.01²) init, no dropout, no decay, constant rate, plain engine.
    MinCharRnn,
}

/// The hyperparameters of a run, fixed from its start (kept in checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Hidden units H.
    pub hidden: usize,
    /// Window length T (steps of backpropagation through time).
    pub seq_len: usize,
    /// Parallel streams B.
    pub batch: usize,
    /// Update rule.
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    pub lr: f32,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Gradient entries are clipped to [-clip, clip].
    pub clip: f32,
    /// Decoupled weight decay (Adam).
    pub weight_decay: f32,
    /// Dropout probability on the hidden-to-output path.
    pub dropout: f32,
    /// Standard deviation of the N(0, σ²) weight initialization.
    pub init_std: f64,
    /// Seed of initialization and dropout.
    pub seed: u64,
    /// Held-out fraction at the end of the corpus.
    pub val_fraction: f64,
    /// Shards of the batch (one thread each); part of the arithmetic, so kept.
    pub threads: usize,
    /// Implementation.
    pub engine: EngineKind,
}

impl TrainConfig {
    /// The defaults of a preset.
    pub fn preset(p: Preset) -> Self {
        match p {
            Preset::Default => Self {
                hidden: 384,
                seq_len: 50,
                batch: 64,
                optimizer: OptimizerKind::Adam,
                lr: 4e-3,
                schedule: Schedule::Cosine,
                clip: 5.0,
                weight_decay: 0.0,
                dropout: 0.25,
                init_std: 0.05,
                seed: 1,
                val_fraction: 0.1,
                threads: 0,
                engine: EngineKind::Fast,
            },
            Preset::MinCharRnn => Self {
                hidden: 100,
                seq_len: 25,
                batch: 1,
                optimizer: OptimizerKind::Adagrad,
                lr: 0.1,
                schedule: Schedule::Constant,
                clip: 5.0,
                weight_decay: 0.0,
                dropout: 0.0,
                init_std: 0.01,
                seed: 1,
                val_fraction: 0.1,
                threads: 1,
                engine: EngineKind::Plain,
            },
        }
    }

    fn validate(&self) -> Result<(), CliError> {
        let bad = |m: String| Err(CliError::Usage(m));
        if self.hidden == 0 || self.hidden > charm_core::MAX_HIDDEN {
            return bad(format!(
                "--hidden must be between 1 and {}",
                charm_core::MAX_HIDDEN
            ));
        }
        if self.seq_len == 0 || self.batch == 0 || self.threads == 0 {
            return bad("--seq-len, --batch and --threads must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("--lr must be a positive number, not {}", self.lr));
        }
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return bad(format!(
                "--clip must be a positive number, not {}",
                self.clip
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("--dropout must be in [0, 1), not {}", self.dropout));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(format!(
                "--weight-decay must be >= 0, not {}",
                self.weight_decay
            ));
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            return bad(format!(
                "--val-fraction must be in [0, 1), not {}",
                self.val_fraction
            ));
        }
        if !(self.init_std.is_finite() && self.init_std >= 0.0) {
            return bad(format!("--init-std must be >= 0, not {}", self.init_std));
        }
        Ok(())
    }
}

/// When training stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// After this many optimizer steps in total (counting resumed ones).
    Steps(u64),
    /// After this many minutes of training in total (counting resumed runs).
    Minutes(f64),
}

/// How a run ended (errors aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The budget was used up; the final model was written.
    Finished,
    /// Ctrl-C: a checkpoint was written; `--resume` continues.
    Interrupted,
}

/// Set by the Ctrl-C handler, polled once per step.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Applies the flags given on the command line over `base`; with a resumed
/// checkpoint, a flag that contradicts it is an error.
fn resolve(
    args: &TrainArgs,
    mut cfg: TrainConfig,
    resumed: Option<&Path>,
) -> Result<TrainConfig, CliError> {
    fn set<T: PartialEq + std::fmt::Display + Copy>(
        field: &mut T,
        given: Option<T>,
        flag: &'static str,
        resumed: Option<&Path>,
    ) -> Result<(), CliError> {
        if let Some(v) = given {
            if let Some(path) = resumed {
                if *field != v {
                    return Err(CliError::ResumeMismatch {
                        path: path.into(),
                        flag,
                        stored: field.to_string(),
                        given: v.to_string(),
                    });
                }
            }
            *field = v;
        }
        Ok(())
    }
    let name = |o: OptimizerKind| match o {
        OptimizerKind::Adagrad => "adagrad",
        OptimizerKind::Adam => "adam",
    };
    set(&mut cfg.hidden, args.hidden, "--hidden", resumed)?;
    set(&mut cfg.seq_len, args.seq_len, "--seq-len", resumed)?;
    set(&mut cfg.batch, args.batch, "--batch", resumed)?;
    let mut opt = name(cfg.optimizer);
    set(&mut opt, args.optimizer.map(name), "--optimizer", resumed)?;
    cfg.optimizer = if opt == "adam" {
        OptimizerKind::Adam
    } else {
        OptimizerKind::Adagrad
    };
    set(&mut cfg.lr, args.lr, "--lr", resumed)?;
    let sched = |s: Schedule| {
        if s == Schedule::Cosine {
            "cosine"
        } else {
            "constant"
        }
    };
    let mut sc = sched(cfg.schedule);
    set(&mut sc, args.schedule.map(sched), "--schedule", resumed)?;
    cfg.schedule = if sc == "cosine" {
        Schedule::Cosine
    } else {
        Schedule::Constant
    };
    set(&mut cfg.clip, args.clip, "--clip", resumed)?;
    set(
        &mut cfg.weight_decay,
        args.weight_decay,
        "--weight-decay",
        resumed,
    )?;
    set(&mut cfg.dropout, args.dropout, "--dropout", resumed)?;
    set(&mut cfg.init_std, args.init_std, "--init-std", resumed)?;
    set(&mut cfg.seed, args.seed, "--seed", resumed)?;
    set(
        &mut cfg.val_fraction,
        args.val_fraction,
        "--val-fraction",
        resumed,
    )?;
    set(&mut cfg.threads, args.threads, "--threads", resumed)?;
    let eng = |e: EngineKind| {
        if e == EngineKind::Fast {
            "fast"
        } else {
            "plain"
        }
    };
    let mut en = eng(cfg.engine);
    set(&mut en, args.engine.map(eng), "--engine", resumed)?;
    cfg.engine = if en == "fast" {
        EngineKind::Fast
    } else {
        EngineKind::Plain
    };
    if cfg.threads == 0 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cfg.threads = cores.min(cfg.batch).max(1);
    }
    cfg.validate()?;
    Ok(cfg)
}

/// The dropout mask of one step: entries 0 or 1/(1-p), layout of [`backward::Mask`].
fn fill_mask(mask: &mut [f32], p: f32, seed: u64, step: u64) {
    let mut rng = Rng::new(seed ^ 0xD1B5_4A32_D192_ED03u64.wrapping_mul(step.wrapping_add(1)));
    rng.next_u64();
    let keep = 1.0 - p;
    let scale = 1.0 / keep;
    for m in mask {
        *m = if rng.next_f32() < keep { scale } else { 0.0 };
    }
}

/// Mean loss (nats/char) over `data` cut into up to [`VAL_STREAMS`] streams, each from a zero
/// state, scoring every character after a stream's first. With the batched
/// forward; `charm eval` gives the one-stream figure.
pub fn val_loss(params: &Params<f32>, data: &[u32], seq_len: usize, threads: usize) -> f64 {
    if data.len() < 2 {
        return f64::NAN;
    }
    let k = ((data.len() - 1) / seq_len.max(1)).clamp(1, VAL_STREAMS);
    let l = data.len() / k;
    let hid = params.hidden();
    let mut engine = Engine::new(hid, params.vocab(), k, threads);
    let mut h = vec![0.0f32; k * hid];
    let (mut total, mut count, mut pos) = (0.0f64, 0usize, 0usize);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    while pos + 1 < l {
        let len = seq_len.min(l - 1 - pos);
        xs.clear();
        ys.clear();
        for b in 0..k {
            xs.extend_from_slice(&data[b * l + pos..b * l + pos + len]);
            ys.extend_from_slice(&data[b * l + pos + 1..b * l + pos + len + 1]);
        }
        let w = Window {
            batch: k,
            len,
            inputs: &xs,
            targets: &ys,
        };
        total += engine.forward(params, &w, &mut h, None) as f64;
        count += k * len;
        pos += len;
    }
    total / count as f64
}

/// A sample from the current weights (for the progress output).
fn sample_text(params: &Params<f32>, vocab: &str, len: usize, seed: u64) -> String {
    let Ok(vocab) = Vocab::new(vocab) else {
        return String::new();
    };
    let (hid, voc) = (params.hidden(), params.vocab());
    let (mut h, mut hn, mut y) = (vec![0.0f32; hid], vec![0.0f32; hid], vec![0.0f32; voc]);
    let slices = charm_core::Slices {
        h: &mut h,
        h_next: &mut hn,
        logits: &mut y,
    };
    let params_s = SampleParams {
        temperature: 0.8,
        top_k: 0,
    };
    match Generator::new(params.view(), vocab, params_s, seed, slices) {
        Ok(mut g) => (0..len).map(|_| g.next_char()).collect(),
        Err(_) => String::new(),
    }
}

/// Paths of everything a run writes.
struct Outputs {
    model: PathBuf,
    state: PathBuf,
    csv: PathBuf,
    svg: PathBuf,
}

/// The mutable part of a run.
struct Run {
    cfg: TrainConfig,
    params: Params<f32>,
    opt: Optimizer,
    h: Vec<f32>,
    step: u64,
    chars_seen: u64,
    elapsed_before: f64,
    smooth: f64,
    val: f64,
    history: Vec<LogRow>,
}

impl Run {
    fn state(&self, corpus: &Corpus, elapsed: f64) -> TrainState {
        TrainState {
            config: self.cfg.clone(),
            vocab: corpus.vocab_string(),
            corpus_crc32: corpus.crc32,
            corpus_chars: corpus.len() as u64,
            step: self.step,
            chars_seen: self.chars_seen,
            elapsed,
            smooth_loss: self.smooth,
            val_loss: self.val,
            h: self.h.clone(),
            params: self.params.data.clone(),
            optimizer: self.opt.clone(),
            history: self.history.clone(),
        }
    }

    /// Writes state, model, CSV and SVG, each atomically.
    fn checkpoint(&self, corpus: &Corpus, out: &Outputs, elapsed: f64) -> Result<(), CliError> {
        let state = self.state(corpus, elapsed);
        checkpoint::write_atomic(&out.state, &state.to_bytes())?;
        let vocab_s = corpus.vocab_string();
        let vocab =
            Vocab::new(&vocab_s).map_err(|e| CliError::Usage(format!("internal error: {e}")))?;
        let meta = Metadata {
            steps: self.step,
            chars_seen: self.chars_seen,
            train_loss: self.smooth as f32,
            val_loss: self.val as f32,
            corpus_crc32: corpus.crc32,
            corpus_chars: corpus.len() as u64,
            seed: self.cfg.seed,
        };
        let bytes = charm_core::encode(&self.params.view(), &vocab, &meta).map_err(|error| {
            CliError::Model {
                path: out.model.clone(),
                error,
            }
        })?;
        checkpoint::write_atomic(&out.model, &bytes)?;
        checkpoint::write_atomic(&out.csv, plot::csv(&self.history).as_bytes())?;
        let title = format!(
            "charm: H {}, seq-len {}, batch {}, {:?}, {} steps",
            self.cfg.hidden, self.cfg.seq_len, self.cfg.batch, self.cfg.optimizer, self.step
        );
        checkpoint::write_atomic(&out.svg, plot::svg(&self.history, &title).as_bytes())?;
        Ok(())
    }
}

/// Runs `charm train`.
pub fn run(args: &TrainArgs) -> Result<Outcome, CliError> {
    // 1. Everything that can be wrong with the input is checked before training.
    let resumed = match &args.resume {
        Some(p) => {
            let sp = if p.extension().is_some_and(|e| e == "state") {
                p.clone()
            } else {
                checkpoint::state_path(p)
            };
            if !sp.exists() && p.exists() && sp != *p {
                return Err(CliError::BadCheckpoint {
                    path: p.clone(),
                    reason: format!("its training state {} is missing", sp.display()),
                });
            }
            Some((sp.clone(), TrainState::load(&sp)?))
        }
        None => None,
    };
    let base = match &resumed {
        Some((_, s)) => s.config.clone(),
        None => TrainConfig::preset(args.preset),
    };
    let cfg = resolve(args, base, resumed.as_ref().map(|(p, _)| p.as_path()))?;
    let corpus = Corpus::load(args.data.as_deref())?;
    let budget = match (args.steps, args.minutes) {
        (Some(s), _) => Budget::Steps(s),
        (None, Some(m)) if m.is_finite() && m > 0.0 => Budget::Minutes(m),
        (None, Some(m)) => {
            return Err(CliError::Usage(format!(
                "--minutes must be a positive number, not {m}"
            )))
        }
        (None, None) => Budget::Minutes(DEFAULT_MINUTES),
    };
    let train_end = corpus.split_at(cfg.val_fraction);
    let (train, val) = corpus.indices.split_at(train_end);
    let (b, t, hid, voc) = (cfg.batch, cfg.seq_len, cfg.hidden, corpus.vocab.len());
    let seg = train.len() / b;
    if seg < t + 1 {
        return Err(CliError::CorpusTooShort {
            path: corpus.path.clone(),
            chars: train.len(),
            needed: b * (t + 1),
            seq_len: t,
            batch: b,
        });
    }
    let windows = ((seg - 1) / t) as u64;
    let out_path = match (&args.out, &args.resume) {
        (Some(p), _) => p.clone(),
        (None, Some(r)) if r.extension().is_some_and(|e| e == "state") => r.with_extension("charm"),
        (None, Some(r)) => r.clone(),
        (None, None) => PathBuf::from("charm.charm"),
    };
    let out = Outputs {
        model: out_path.clone(),
        state: checkpoint::state_path(&out_path),
        csv: out_path.with_extension("csv"),
        svg: out_path.with_extension("svg"),
    };
    if out.state == out.model {
        return Err(CliError::Usage(format!(
            "--out {} ends in .state, the extension of the training state; use e.g. model.charm",
            out_path.display()
        )));
    }
    checkpoint::check_writable(&out.model)?;
    let mut run = match resumed {
        Some((path, s)) => {
            if s.corpus_crc32 != corpus.crc32 || s.vocab != corpus.vocab_string() {
                return Err(CliError::ResumeCorpus {
                    path,
                    data: corpus.path.clone(),
                    stored: s.corpus_crc32,
                    given: corpus.crc32,
                });
            }
            let params = Params::from_vec(hid, voc, s.params).filter(|_| s.h.len() == b * hid);
            let Some(params) = params else {
                return Err(CliError::BadCheckpoint {
                    path,
                    reason: "its tensors do not match its shape".into(),
                });
            };
            if s.optimizer.m.len() != params.data.len() {
                return Err(CliError::BadCheckpoint {
                    path,
                    reason: "its optimizer state does not match its shape".into(),
                });
            }
            Run {
                cfg: cfg.clone(),
                params,
                opt: s.optimizer,
                h: s.h,
                step: s.step,
                chars_seen: s.chars_seen,
                elapsed_before: s.elapsed,
                smooth: s.smooth_loss,
                val: s.val_loss,
                history: s.history,
            }
        }
        None => {
            let params = Params::init_normal(hid, voc, cfg.init_std, cfg.seed);
            let n = params.data.len();
            Run {
                cfg: cfg.clone(),
                params,
                opt: Optimizer::new(cfg.optimizer, n),
                h: vec![0.0; b * hid],
                step: 0,
                chars_seen: 0,
                elapsed_before: 0.0,
                smooth: (voc as f64).ln(),
                val: f64::NAN,
                history: Vec::new(),
            }
        }
    };
    let resumed_run = args.resume.is_some();

    // 2. Set up.
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        // Fails only if a handler is already installed (a second run in one
        // process, e.g. in tests); then Ctrl-C keeps its default action.
        let _ = ctrlc::set_handler(move || {
            flag.store(true, Ordering::SeqCst);
            INTERRUPTED.store(true, Ordering::SeqCst);
        });
    }
    let progress_len = match budget {
        Budget::Steps(s) => s,
        Budget::Minutes(m) => (m * 600.0) as u64,
    };
    let progress = Progress::new(progress_len, args.quiet);
    progress.line(&format!(
        "training on {} ({} characters, {} distinct; {} for training, {} held out for validation)",
        corpus.path.display(),
        corpus.len(),
        voc,
        train.len(),
        val.len()
    ));
    progress.line(&format!(
        "model: H {hid}, {} parameters; seq-len {t}, batch {b}, {:?} lr {}, {:?} schedule, dropout {}, \
         weight decay {}, {} thread(s), {:?} engine; {}",
        Params::<f32>::count(hid, voc),
        cfg.optimizer,
        cfg.lr,
        cfg.schedule,
        cfg.dropout,
        cfg.weight_decay,
        cfg.threads,
        cfg.engine,
        match budget {
            Budget::Steps(s) => format!("{s} steps"),
            Budget::Minutes(m) => format!("{m} minutes"),
        }
    ));
    progress.line(&format!(
        "writing {} (model), {} (resume state), {} and {} (log), every {} s and at the end",
        out.model.display(),
        out.state.display(),
        out.csv.display(),
        out.svg.display(),
        args.checkpoint_every
    ));
    let mut engine = Engine::<f32>::new(hid, voc, b, cfg.threads);
    let mut grads = Params::<f32>::zeros(hid, voc);
    let mut mask = vec![0.0f32; if cfg.dropout > 0.0 { b * t * hid } else { 0 }];
    let (mut xs, mut ys) = (vec![0u32; b * t], vec![0u32; b * t]);
    let start = Instant::now();
    let elapsed = |before: f64| before + start.elapsed().as_secs_f64();
    let mut last_ckpt = Instant::now();
    let mut wrote_ckpt = resumed_run;
    let log_every_steps = match budget {
        Budget::Steps(s) => (s / 20).max(1),
        Budget::Minutes(_) => u64::MAX,
    };
    let log_every_secs = match budget {
        Budget::Minutes(m) => m * 60.0 / 20.0,
        Budget::Steps(_) => f64::INFINITY,
    };
    let mut next_log_time =
        ((elapsed(run.elapsed_before) / log_every_secs).floor() + 1.0) * log_every_secs;
    let mut rate_mark = (Instant::now(), run.chars_seen);
    let mut rate = 0.0f64;
    let mut logs = 0u64;
    let log_point = |run: &mut Run,
                     secs: f64,
                     progress: &Progress,
                     logs: &mut u64,
                     final_: bool| {
        run.val = val_loss(&run.params, val, t, cfg.threads);
        run.history.push(LogRow {
            step: run.step,
            chars: run.chars_seen,
            train_loss: run.smooth,
            val_loss: run.val,
            seconds: secs,
        });
        progress.line(&format!(
            "step {:>7} | {:>11} chars | train {:.4} | val {:.4} nats/char ({:.4} bits/char) | {:.0} s",
            run.step,
            run.chars_seen,
            run.smooth,
            run.val,
            run.val / std::f64::consts::LN_2,
            secs
        ));
        if *logs % 4 == 0 || final_ {
            let s = sample_text(&run.params, &corpus.vocab_string(), 200, run.step);
            progress.line(&format!(
                "----- sample at step {} -----\n{s}\n-----",
                run.step
            ));
        }
        *logs += 1;
    };

    // 3. Train.
    let outcome = loop {
        let secs = elapsed(run.elapsed_before);
        let progress_frac = match budget {
            Budget::Steps(s) => run.step as f64 / s.max(1) as f64,
            Budget::Minutes(m) => secs / (m * 60.0),
        };
        if progress_frac >= 1.0 {
            break Outcome::Finished;
        }
        if interrupted.load(Ordering::SeqCst) || args.interrupt_at == Some(run.step) {
            break Outcome::Interrupted;
        }
        let i = run.step % windows;
        if i == 0 {
            run.h.fill(0.0); // a new pass over the segments starts from h = 0
        }
        let base = i as usize * t;
        for s in 0..b {
            let from = s * seg + base;
            xs[s * t..(s + 1) * t].copy_from_slice(&train[from..from + t]);
            ys[s * t..(s + 1) * t].copy_from_slice(&train[from + 1..from + t + 1]);
        }
        if cfg.dropout > 0.0 {
            fill_mask(&mut mask, cfg.dropout, cfg.seed, run.step);
        }
        let m = (cfg.dropout > 0.0).then_some(&mask[..]);
        let w = Window {
            batch: b,
            len: t,
            inputs: &xs,
            targets: &ys,
        };
        let loss = match cfg.engine {
            EngineKind::Fast => engine.forward_backward(&run.params, &w, &mut run.h, m, &mut grads),
            EngineKind::Plain => {
                backward::forward_backward(&run.params, &w, &mut run.h, m, &mut grads)
                    .map_err(|e| CliError::Usage(format!("internal error: {e}")))?
            }
        };
        let per_char = loss as f64 / (b * t) as f64;
        let lr = cfg.lr * cfg.schedule.factor(progress_frac) as f32;
        // Clip and update in one pass; it also reports non-finite values, and
        // the weights it may have spoiled then are never written anywhere.
        let finite = run.opt.clip_update(
            &mut run.params,
            &mut grads,
            cfg.clip,
            Hyper {
                lr,
                weight_decay: cfg.weight_decay,
            },
        );
        if !per_char.is_finite() || !finite.grads || !finite.params {
            progress.finish();
            return Err(CliError::Diverged {
                step: run.step,
                loss: if per_char.is_finite() && finite.grads {
                    f32::INFINITY
                } else {
                    per_char as f32
                },
                checkpoint: wrote_ckpt.then(|| out.model.clone()),
            });
        }
        run.step += 1;
        run.chars_seen += (b * t) as u64;
        run.smooth = if run.step == 1 && !resumed_run {
            per_char
        } else {
            0.99 * run.smooth + 0.01 * per_char
        };
        let secs = elapsed(run.elapsed_before);
        if rate_mark.0.elapsed().as_secs_f64() >= 1.0 {
            rate = (run.chars_seen - rate_mark.1) as f64 / rate_mark.0.elapsed().as_secs_f64();
            rate_mark = (Instant::now(), run.chars_seen);
        }
        let pos = match budget {
            Budget::Steps(_) => run.step,
            Budget::Minutes(_) => (secs * 10.0) as u64,
        };
        progress.update(pos, run.step, rate, run.smooth);
        let done = match budget {
            Budget::Steps(s) => run.step >= s,
            Budget::Minutes(m) => secs >= m * 60.0,
        };
        if !done && (run.step % log_every_steps == 0 || secs >= next_log_time) {
            next_log_time = ((secs / log_every_secs).floor() + 1.0) * log_every_secs;
            log_point(&mut run, secs, &progress, &mut logs, false);
        }
        if !done && last_ckpt.elapsed().as_secs_f64() >= args.checkpoint_every {
            run.checkpoint(&corpus, &out, elapsed(run.elapsed_before))?;
            wrote_ckpt = true;
            last_ckpt = Instant::now();
        }
    };

    // 4. Final evaluation and checkpoint.
    let secs = elapsed(run.elapsed_before);
    if outcome == Outcome::Finished && run.history.last().map(|r| r.step) != Some(run.step) {
        log_point(&mut run, secs, &progress, &mut logs, true);
    }
    run.checkpoint(&corpus, &out, secs)?;
    progress.finish();
    match outcome {
        Outcome::Finished => progress.line(&format!(
            "done: {} steps, {} characters in {:.0} s; validation loss {:.4} nats/char ({:.4} bits/char) \
             on the last {} characters\nmodel written to {}; try: charm sample --model {}",
            run.step,
            run.chars_seen,
            secs,
            run.val,
            run.val / std::f64::consts::LN_2,
            val.len(),
            out.model.display(),
            out.model.display()
        )),
        Outcome::Interrupted => eprintln!(
            "interrupted at step {}; checkpoint written to {} and {}; continue with the same flags and --resume {}",
            run.step,
            out.model.display(),
            out.state.display(),
            out.state.display()
        ),
    }
    Ok(outcome)
}

/// Training time when neither --steps nor --minutes is given.
pub const DEFAULT_MINUTES: f64 = 3.0;

/// Streams the validation part is cut into during training (more streams make
/// bigger, faster matrix products; each costs a few characters of warm-up from
/// h = 0, which `charm eval`'s single stream pays once).
pub const VAL_STREAMS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim;

    #[test]
    fn dropout_mask_is_deterministic_and_has_the_right_rate() {
        let (mut a, mut b) = (vec![0.0f32; 10_000], vec![0.0f32; 10_000]);
        fill_mask(&mut a, 0.25, 1, 7);
        fill_mask(&mut b, 0.25, 1, 7);
        assert_eq!(a, b);
        let kept = a.iter().filter(|&&m| m > 0.0).count() as f64 / a.len() as f64;
        assert!((kept - 0.75).abs() < 0.02, "{kept}");
        assert!(a.iter().all(|&m| m == 0.0 || (m - 1.0 / 0.75).abs() < 1e-6));
        fill_mask(&mut b, 0.25, 1, 8);
        assert_ne!(a, b);
    }

    /// Five optimizer steps on the plain path (clip, then update) and on the
    /// fast path as training runs it (engine, then the fused clip + update);
    /// returns the worst relative difference of the weights (floor 1e-2).
    #[allow(clippy::too_many_arguments)]
    fn fast_vs_plain(
        (hid, voc, batch, len): (usize, usize, usize, usize),
        threads: usize,
        kind: OptimizerKind,
        dropout: bool,
        lr: f32,
    ) -> f32 {
        let mut p1 = Params::<f32>::init_normal(hid, voc, 0.1, 5);
        let mut p2 = p1.clone();
        let (mut o1, mut o2) = (
            Optimizer::new(kind, p1.data.len()),
            Optimizer::new(kind, p1.data.len()),
        );
        let (mut h1, mut h2) = (vec![0.0f32; batch * hid], vec![0.0f32; batch * hid]);
        let mut engine = Engine::new(hid, voc, batch, threads);
        let (mut g1, mut g2) = (Params::zeros(hid, voc), Params::zeros(hid, voc));
        let mut mask = vec![0.0f32; batch * len * hid];
        for step in 0..5u64 {
            let (xs, ys) = crate::backward::tests::random_window(batch, len, voc, 100 + step);
            let w = Window {
                batch,
                len,
                inputs: &xs,
                targets: &ys,
            };
            fill_mask(&mut mask, 0.2, 3, step);
            let m = dropout.then_some(&mask[..]);
            backward::forward_backward(&p1, &w, &mut h1, m, &mut g1).unwrap();
            engine.forward_backward(&p2, &w, &mut h2, m, &mut g2);
            let hp = Hyper {
                lr,
                weight_decay: 0.0,
            };
            optim::clip(&mut g1, 5.0);
            o1.update(&mut p1, &g1, hp);
            let finite = o2.clip_update(&mut p2, &mut g2, 5.0, hp);
            assert!(finite.grads && finite.params);
        }
        let mut worst = 0.0f32;
        for (i, (&a, &b)) in p1.data.iter().zip(&p2.data).enumerate() {
            let rel = (a - b).abs() / a.abs().max(b.abs()).max(1e-2);
            assert!(rel <= 1e-5, "{:?}: {a} vs {b}", p1.locate(i));
            worst = worst.max(rel);
        }
        worst
    }

    /// The fast path against the plain path after a few optimizer steps: both
    /// optimizers, batch 1 (the seed's algorithm, at its real size), shards
    /// on two threads, small and large windows per shard, dropout.
    ///
    /// Adam and Adagrad both normalize the step (the first one is about ±lr
    /// per entry whatever the gradient's size), so an entry whose gradient is
    /// near 0 turns a rounding difference into a step difference; a small rate
    /// keeps that below the tolerance.
    #[test]
    fn fast_and_plain_paths_give_the_same_weights_after_steps() {
        let cases = [
            ((24, 9, 4, 12), 2, OptimizerKind::Adam, true, 1e-4),
            ((100, 65, 1, 25), 1, OptimizerKind::Adagrad, false, 1e-4),
            ((24, 9, 8, 12), 2, OptimizerKind::Adagrad, false, 1e-4),
            ((24, 9, 16, 20), 2, OptimizerKind::Adagrad, true, 1e-4),
        ];
        for (shape, threads, kind, dropout, lr) in cases {
            let worst = fast_vs_plain(shape, threads, kind, dropout, lr);
            eprintln!(
                "fast vs plain after 5 {kind:?} steps, (H, V, B, T) {shape:?}, {threads} thread(s): \
                 worst relative difference {worst:e}"
            );
        }
    }
}
