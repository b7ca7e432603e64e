//! One training run: the state that changes from step to step and the named
//! steps of the algorithm — prepare (validate, resume or start), one
//! optimizer step, evaluate, checkpoint.
//!
//! Randomness: initialization from the seed; the dropout mask of step `s`
//! from (seed, s); nothing else. So the same settings give bit-identical
//! weights, and a resumed run continues exactly (the time-based parts — log
//! rows, checkpoints, a minutes budget and its learning-rate schedule — do not
//! touch the weights with a steps budget).

use crate::error::Error;
use crate::files::atomic::{process_alive, remove_stale_temps};
use crate::files::corpus::Corpus;
use crate::files::lock::OutputLock;
use crate::files::log::{self, LogRow};
use crate::files::outputs::{self, place, Input, Outputs};
use crate::files::{atomic::write_set, checkpoint};
use crate::math::engine::Engine;
use crate::math::generate::generate_with;
use crate::math::kernels::kernels_in_use;
use crate::math::loss::{batched_loss, pieces_loss};
use crate::math::optim::{clip_norm, Hyper, Optimizer};
use crate::math::params::Params;
use crate::math::reference;
use crate::math::reference::stacked::mask_len;
use crate::math::stacked_engine::StackedEngine;
use crate::math::window::{fill_dropout_mask, Window};
use crate::training::cadence::Budget;
use crate::training::config::{EngineKind, TrainConfig};
use crate::training::data::DataPlan;
use crate::training::memory;
use crate::training::settings::TrainSettings;
use crate::training::state::{Snapshot, TrainState};
use charm_core::{encode_any, Metadata, SampleParams, Vocab};
use std::path::{Path, PathBuf};

/// A training run in progress.
pub struct Run {
    /// The hyperparameters.
    pub cfg: TrainConfig,
    /// The text, its vocabulary and where its held-out part starts.
    corpus: Corpus,
    train_end: usize,
    /// Which characters each step reads.
    plan: DataPlan,
    /// When the run ends.
    pub budget: Budget,
    /// What it writes.
    pub out: Outputs,
    /// Whether it continues a checkpoint.
    pub resumed: bool,
    /// Whether a checkpoint of this run exists on disk (a resumed one does).
    pub wrote_checkpoint: bool,
    /// The step of the training state on disk, once one is.
    state_step: u64,
    /// The size of the model file the last checkpoint of this process wrote.
    pub model_bytes: Option<usize>,
    /// θ: the weights and biases.
    params: Params<f32>,
    /// The optimizer's moments.
    opt: Optimizer,
    /// The carried state of each stream (B × [`Shape::state_len`]; one tanh layer: B × H).
    h: Vec<f32>,
    /// Optimizer steps done.
    pub step: u64,
    /// Training characters consumed.
    pub chars_seen: u64,
    /// Seconds trained before this process (resumed runs).
    pub elapsed_before: f64,
    /// Smoothed training loss, nats/char.
    pub smooth: f64,
    /// Last validation loss, nats/char.
    pub val: f64,
    /// The log so far.
    pub history: Vec<LogRow>,
    /// The weights of the lowest validation loss so far: what the model
    /// file holds (the last weights when there is no validation).
    pub best: Option<Snapshot>,
    /// Whether the default H or batch was lowered for a small corpus.
    sized_to_corpus: bool,
    /// The lock of the output set, held for the run.
    _lock: OutputLock,
    /// Buffers reused by every step.
    scratch: Scratch,
}

/// Which forward/backward a run's steps take.
enum Trainer {
    /// The batched engine of one tanh layer.
    Vanilla(Engine<f32>),
    /// The batched engine of other cells and depths.
    Stacked(StackedEngine<f32>),
    /// The reference (`--engine plain`).
    Plain,
}

/// Memory one step works in, allocated once.
struct Scratch {
    engine: Trainer,
    grads: Params<f32>,
    mask: Vec<f32>,
    xs: Vec<u32>,
    ys: Vec<u32>,
}

impl Run {
    /// Checks everything that can be wrong with the settings and the input
    /// before any training: the checkpoint to resume, the hyperparameters, the
    /// corpus and the output paths; then resumes or initializes θ
    /// (min-char-rnn: weights ~ N(0, σ²), biases 0).
    pub fn prepare(settings: &TrainSettings) -> Result<Self, Error> {
        let resumed = match &settings.resume {
            Some(p) => Some(load_resumed(p)?),
            None => None,
        };
        let corpus = Corpus::load(settings.data.as_deref())?;
        let o = &settings.overrides;
        let base = match &resumed {
            Some((_, s)) => s.config.clone(),
            None => TrainConfig::fresh(settings.preset, settings.budget, corpus.len(), o),
        };
        let preset = TrainConfig::preset(settings.preset);
        let sized = resumed.is_none()
            && ((o.hidden.is_none() && base.hidden != preset.hidden)
                || (o.batch.is_none() && base.batch != preset.batch));
        let resumed_from = resumed.as_ref().map(|(p, _)| p.as_path());
        let cfg = base.with(o, resumed_from)?;
        let train_end = corpus.split_at(cfg.val_fraction);
        let plan = DataPlan::new(train_end, cfg.batch, cfg.seq_len).ok_or_else(|| {
            Error::CorpusTooShort {
                path: corpus.path.clone(),
                chars: train_end,
                needed: cfg.batch * (cfg.seq_len + 1),
                seq_len: cfg.seq_len,
                batch: cfg.batch,
            }
        })?;
        memory::check(&cfg, corpus.vocab.len(), corpus.len())?;
        let out = Outputs::beside(&settings.out_path());
        let lock = claim_outputs(&out, settings, corpus.file(), resumed_from)?;
        let (hid, voc, b, t) = (cfg.hidden, corpus.vocab.len(), cfg.batch, cfg.seq_len);
        let shape = cfg.shape(voc);
        let scratch = Scratch {
            engine: match cfg.engine {
                EngineKind::Plain => Trainer::Plain,
                EngineKind::Fast if shape.is_vanilla() => {
                    Trainer::Vanilla(Engine::new(hid, voc, b, cfg.threads))
                }
                EngineKind::Fast => Trainer::Stacked(StackedEngine::new(shape, b, cfg.threads)),
            },
            grads: Params::zeros_shaped(shape),
            mask: vec![
                0.0;
                if cfg.dropout > 0.0 {
                    mask_len(&shape, b, t)
                } else {
                    0
                }
            ],
            xs: vec![0; b * t],
            ys: vec![0; b * t],
        };
        // One tanh layer: N(0, init_std²) (min-char-rnn); others: PyTorch's U(−1/√H, 1/√H).
        let params = Params::init(shape, cfg.init_std, cfg.seed);
        let mut run = Self {
            opt: Optimizer::new(cfg.optimizer, params.data.len()),
            params,
            h: vec![0.0; b * shape.state_len()],
            step: 0,
            chars_seen: 0,
            elapsed_before: 0.0,
            smooth: (voc as f64).ln(),
            val: f64::NAN,
            history: Vec::new(),
            best: None,
            sized_to_corpus: sized,
            cfg,
            corpus,
            train_end,
            plan,
            budget: settings.budget,
            out,
            resumed: false,
            wrote_checkpoint: false,
            state_step: 0,
            model_bytes: None,
            _lock: lock,
            scratch,
        };
        if let Some((path, state)) = resumed {
            run.restore(path, state)?;
        }
        Ok(run)
    }

    /// Continues from a checkpoint: θ, moments, carried states, counters, log.
    fn restore(&mut self, path: PathBuf, s: TrainState) -> Result<(), Error> {
        if s.corpus_crc32 != self.corpus.crc32 || s.vocab != self.corpus.vocab_string() {
            return Err(Error::ResumeCorpus {
                path,
                data: self.corpus.path.clone(),
                stored: s.corpus_crc32,
                given: self.corpus.crc32,
            });
        }
        let shape = self.cfg.shape(self.corpus.vocab.len());
        let params = Params::from_vec_shaped(shape, s.params).filter(|_| s.h.len() == self.h.len());
        let Some(params) = params else {
            return Err(Error::BadCheckpoint {
                path,
                reason: "its tensors do not match its shape".into(),
            });
        };
        if s.optimizer.m.len() != params.data.len() {
            return Err(Error::BadCheckpoint {
                path,
                reason: "its optimizer state does not match its shape".into(),
            });
        }
        self.params = params;
        self.opt = s.optimizer;
        self.h = s.h;
        self.step = s.step;
        self.chars_seen = s.chars_seen;
        self.elapsed_before = s.elapsed;
        self.smooth = s.smooth_loss;
        self.val = s.val_loss;
        self.history = s.history;
        self.best = s.best;
        self.resumed = true;
        self.wrote_checkpoint = true;
        self.state_step = self.step;
        Ok(())
    }

    /// What the run is about to do, in three lines.
    pub fn describe(&self, checkpoint_every: f64) -> [String; 3] {
        let (cfg, voc) = (&self.cfg, self.corpus.vocab.len());
        let val_chars = self.corpus.len() - self.train_end;
        [
            format!(
                "training on {} ({} characters, {} distinct; {} for training, {} held out for validation)",
                self.corpus.path.display(),
                self.corpus.len(),
                voc,
                self.train_end,
                val_chars
            ),
            format!(
                "model: {} H {}, {} parameters; seq-len {}, batch {}{}, {:?} lr {}, {:?} schedule, warm-up {} \
                 steps, clip-norm {}, dropout {}, weight decay {}, {} thread(s), {}; {}",
                self.params.shape().describe(),
                cfg.hidden,
                self.params.shape().count(),
                cfg.seq_len,
                cfg.batch,
                if self.sized_to_corpus {
                    " (sized to this corpus; --hidden and --batch choose)"
                } else {
                    ""
                },
                cfg.optimizer,
                cfg.lr,
                cfg.schedule,
                cfg.warmup,
                cfg.clip_norm,
                cfg.dropout,
                cfg.weight_decay,
                cfg.threads,
                match cfg.engine {
                    EngineKind::Fast => format!("fast engine ({})", kernels_in_use()),
                    EngineKind::Plain => "plain engine (charm-core's step)".into(),
                },
                self.budget
            ),
            format!(
                "writing {} (model: the weights of the best validation loss), {} (resume state), {} and {} \
                 (log), every {} s and at the end",
                self.out.model.display(),
                self.out.state.display(),
                self.out.csv.display(),
                self.out.svg.display(),
                checkpoint_every
            ),
        ]
    }

    /// The vocabulary size V.
    pub fn vocab_len(&self) -> usize {
        self.corpus.vocab.len()
    }

    /// Characters held out for validation.
    pub fn val_chars(&self) -> usize {
        self.corpus.len() - self.train_end
    }

    /// One optimizer step at `progress` ∈ [0, 1) of the run: the window of
    /// this step (DESIGN.md: forward, then backpropagation through time with
    /// dhnext = 0 at its end), every gradient entry clipped to [-clip, clip],
    /// one update at the scheduled rate. Returns the loss in nats/char.
    ///
    /// Fails with [`Error::Diverged`] when the loss, a gradient or a weight
    /// is no longer finite; nothing is written then, so the last checkpoint
    /// stays the last good state.
    pub fn step(&mut self, progress: f64) -> Result<f64, Error> {
        let (cfg, sc) = (&self.cfg, &mut self.scratch);
        let (b, t) = (cfg.batch, cfg.seq_len);
        let train = &self.corpus.indices[..self.train_end];
        if self.plan.fill(train, self.step, &mut sc.xs, &mut sc.ys) {
            self.h.fill(0.0); // a new pass over the segments starts from h = 0
        }
        if cfg.dropout > 0.0 {
            fill_dropout_mask(&mut sc.mask, cfg.dropout, cfg.seed, self.step);
        }
        let mask = (cfg.dropout > 0.0).then_some(&sc.mask[..]);
        let w = Window {
            batch: b,
            len: t,
            inputs: &sc.xs,
            targets: &sc.ys,
        };
        let loss = match &mut sc.engine {
            Trainer::Vanilla(engine) => {
                engine.forward_backward(&self.params, &w, &mut self.h, mask, &mut sc.grads)
            }
            Trainer::Stacked(engine) => {
                engine.forward_backward(&self.params, &w, &mut self.h, mask, &mut sc.grads)
            }
            Trainer::Plain => {
                reference::forward_backward(&self.params, &w, &mut self.h, mask, &mut sc.grads)
                    .map_err(|e| Error::Usage(format!("internal error: {e}")))?
            }
        };
        let per_char = loss as f64 / (b * t) as f64;
        let lr = cfg.lr * cfg.rate_factor(progress, self.step) as f32;
        // Clip and update in one pass; it also reports non-finite values, and
        // the weights it may have spoiled then are never written anywhere.
        let hyper = Hyper {
            lr,
            weight_decay: cfg.weight_decay,
        };
        if cfg.clip_norm > 0.0 {
            clip_norm(&mut sc.grads, cfg.clip_norm);
        }
        let finite = self
            .opt
            .clip_update(&mut self.params, &mut sc.grads, cfg.clip, hyper);
        if !per_char.is_finite() || !finite.grads || !finite.params {
            return Err(Error::Diverged {
                step: self.step,
                loss: if per_char.is_finite() && finite.grads {
                    f32::INFINITY
                } else {
                    per_char as f32
                },
                checkpoint: self.wrote_checkpoint.then(|| self.out.model.clone()),
            });
        }
        self.step += 1;
        self.chars_seen += (b * t) as u64;
        self.smooth = if self.step == 1 && !self.resumed {
            per_char
        } else {
            0.99 * self.smooth + 0.01 * per_char
        };
        Ok(per_char)
    }

    /// The validation loss now (the held-out end of the corpus, batched
    /// streams from h = 0), recorded in the log at `secs` seconds of
    /// training; the weights become the best ones if it is the lowest yet.
    pub fn evaluate(&mut self, secs: f64) -> LogRow {
        let val = &self.corpus.indices[self.train_end..];
        let (seq_len, threads) = (self.cfg.seq_len, self.cfg.threads);
        self.val = if self.params.shape().is_vanilla() {
            batched_loss(&self.params, val, seq_len, threads)
        } else {
            pieces_loss(&self.params.stacked_view(), val, seq_len, threads)
        };
        let row = LogRow {
            step: self.step,
            chars: self.chars_seen,
            train_loss: self.smooth,
            val_loss: self.val,
            seconds: secs,
        };
        self.history.push(row);
        if self.val < self.best.as_ref().map_or(f64::INFINITY, |b| b.val_loss) {
            self.best = Some(Snapshot {
                step: self.step,
                chars_seen: self.chars_seen,
                smooth_loss: self.smooth,
                val_loss: self.val,
                params: self.params.data.clone(),
            });
        }
        row
    }

    /// Records the smoothed training loss in the log (no validation).
    pub fn record_train_loss(&mut self, secs: f64) {
        self.history.push(LogRow {
            step: self.step,
            chars: self.chars_seen,
            train_loss: self.smooth,
            val_loss: f64::NAN,
            seconds: secs,
        });
    }

    /// Whether the last evaluation is the best one (its weights are the model file's).
    pub fn last_is_best(&self) -> bool {
        self.best.as_ref().is_some_and(|b| b.step == self.step)
    }

    /// `len` characters sampled from the current weights at temperature 0.8.
    pub fn sample(&self, len: usize, seed: u64) -> String {
        let vocab_s = self.corpus.vocab_string();
        let Ok(vocab) = Vocab::new(&vocab_s) else {
            return String::new();
        };
        let p = SampleParams {
            temperature: 0.8,
            top_k: 0,
        };
        if self.params.shape().is_vanilla() {
            generate_with(self.params.view(), vocab, len, p, seed, "").unwrap_or_default()
        } else {
            let view = self.params.stacked_view();
            generate_with(view, vocab, len, p, seed, "").unwrap_or_default()
        }
    }

    /// Writes state, model, CSV and SVG, each atomically, the state first
    /// (see [`crate::files::checkpoint`]). The model file holds the best
    /// weights so far (see [`Run::best`]); the state the current ones too.
    ///
    /// When the first checkpoint of a run fails (a full disk), the files it
    /// had written are removed again: a run leaves a whole checkpoint or none.
    pub fn checkpoint(&mut self, elapsed: f64) -> Result<(), Error> {
        let state = self.state(elapsed).to_bytes();
        let model = self.model_file()?;
        let csv = log::csv(&self.history);
        let kept = match &self.best {
            Some(b) => format!(
                "; model file: best validation, {:.4} at step {}",
                b.val_loss, b.step
            ),
            None => String::new(),
        };
        let title = format!(
            "charm: {} H {}, seq-len {}, batch {}, {:?}, {} steps{kept}",
            self.params.shape().describe(),
            self.cfg.hidden,
            self.cfg.seq_len,
            self.cfg.batch,
            self.cfg.optimizer,
            self.step
        );
        let svg = log::svg(&self.history, &title);
        let files: [(&Path, &[u8]); 4] = [
            (&self.out.state, &state),
            (&self.out.model, &model),
            (&self.out.csv, csv.as_bytes()),
            (&self.out.svg, svg.as_bytes()),
        ];
        match write_set(&files, !self.wrote_checkpoint) {
            Ok(()) => {}
            // The first checkpoint leaves nothing: there is nothing to resume.
            Err((_, e)) if !self.wrote_checkpoint => return Err(e),
            // A later one: the state on disk is whole, this checkpoint's if
            // it was written (it goes first), else the one before.
            Err((failed, cause)) => {
                return Err(Error::CheckpointFailed {
                    cause: Box::new(cause),
                    state: self.out.state.clone(),
                    step: if failed == 0 {
                        self.state_step
                    } else {
                        self.step
                    },
                })
            }
        }
        self.wrote_checkpoint = true;
        self.state_step = self.step;
        self.model_bytes = Some(model.len());
        Ok(())
    }

    /// The bytes of the model file: the best weights (or the current ones
    /// without a validation), with their step, characters and losses.
    fn model_file(&self) -> Result<Vec<u8>, Error> {
        let vocab_s = self.corpus.vocab_string();
        let vocab =
            Vocab::new(&vocab_s).map_err(|e| Error::Usage(format!("internal error: {e}")))?;
        let shape = self.params.shape();
        let best = match &self.best {
            Some(b) => Params::from_vec_shaped(shape, b.params.clone()).map(|p| (b, p)),
            None => None,
        };
        let (step, chars, smooth, val, params) = match &best {
            Some((b, p)) => (b.step, b.chars_seen, b.smooth_loss, b.val_loss, p),
            None => (
                self.step,
                self.chars_seen,
                self.smooth,
                self.val,
                &self.params,
            ),
        };
        let meta = Metadata {
            steps: step,
            chars_seen: chars,
            train_loss: smooth as f32,
            val_loss: val as f32,
            corpus_crc32: self.corpus.crc32,
            corpus_chars: self.corpus.len() as u64,
            seed: self.cfg.seed,
        };
        // one tanh layer as format version 1, other cells and depths as version 5
        encode_any(&params.weights(), &vocab, &meta).map_err(|error| Error::Model {
            path: self.out.model.clone(),
            error,
        })
    }

    /// Everything a resumed run needs, after `elapsed` seconds of training.
    fn state(&self, elapsed: f64) -> TrainState {
        TrainState {
            config: self.cfg.clone(),
            vocab: self.corpus.vocab_string(),
            corpus_crc32: self.corpus.crc32,
            corpus_chars: self.corpus.len() as u64,
            step: self.step,
            chars_seen: self.chars_seen,
            elapsed,
            smooth_loss: self.smooth,
            val_loss: self.val,
            h: self.h.clone(),
            params: self.params.data.clone(),
            optimizer: self.opt.clone(),
            history: self.history.clone(),
            best: self.best.clone(),
        }
    }
}

/// Checks the run's output paths, its lock file included (against the
/// corpus, the checkpoint it resumes, each other and what is there: see
/// [`crate::files::outputs`]), takes the lock, and removes temporary files a
/// killed run left of them.
///
/// The lock is taken as soon as its own path is known to be safe, so that a
/// second run on an output set in use hears that first, whatever else is
/// there. Existing files are replaced only with `--force`, or when the run
/// resumes in place (its state is the one `--resume` read); a fresh run onto
/// the files of an earlier one is refused with the way to continue it.
fn claim_outputs(
    out: &Outputs,
    settings: &TrainSettings,
    corpus: Option<&Path>,
    resumed_from: Option<&Path>,
) -> Result<OutputLock, Error> {
    let in_place = resumed_from.is_some_and(|r| place(r) == place(&out.state));
    let replace = settings.force || in_place;
    let mut inputs = Vec::new();
    if let Some(path) = corpus {
        inputs.push(Input {
            path,
            what: "corpus",
        });
    }
    if let Some(path) = resumed_from.filter(|_| !in_place) {
        inputs.push(Input {
            path,
            what: "training state resumed",
        });
    }
    // Places first (no output is an input, a link or another output), then
    // the lock, then what is at the places.
    outputs::check(&out.as_outputs(true), &inputs)?;
    let lock = OutputLock::acquire(&out.model)?;
    if resumed_from.is_none() && !settings.force && out.state.is_file() {
        return Err(if checkpoint::is_state_file(&out.state) {
            Error::RunExists {
                state: out.state.clone(),
            }
        } else {
            Error::OutputExists {
                path: out.state.clone(),
                what: "training state",
                flag: "--out",
            }
        });
    }
    outputs::check(&out.as_outputs(replace), &inputs)?;
    for path in out.paths() {
        remove_stale_temps(path, process_alive);
    }
    Ok(lock)
}

/// The checkpoint `--resume PATH` names: PATH itself if it ends in `.state`,
/// else the `.state` file beside it.
fn load_resumed(p: &std::path::Path) -> Result<(PathBuf, TrainState), Error> {
    let sp = if p.extension().is_some_and(|e| e == "state") {
        p.to_path_buf()
    } else {
        checkpoint::state_path(p)
    };
    if !sp.exists() && p.exists() && sp != p {
        return Err(Error::BadCheckpoint {
            path: p.into(),
            reason: format!("its training state {} is missing", sp.display()),
        });
    }
    let state = TrainState::load(&sp)?;
    Ok((sp, state))
}
