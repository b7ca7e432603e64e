//! `charm bench`: training throughput (characters per second) as the median of
//! several timed runs, with the peak memory of the process.
//!
//! Each run takes `--steps` optimizer steps (forward, backward, clipping and an
//! update) on random windows over V characters, after one untimed warm-up step.
//!
//! `charm bench --suite` measures the standard table: batch 1 and batch 32 at
//! H 100, seq-len 25, and H ∈ {100, 256, 512, 1024} at seq-len 100, batch 32,
//! all with Adagrad. Each configuration runs in a child process of its own, so
//! that its peak memory (VmHWM) is its own. With `--numpy CORPUS` the numpy
//! reference runs in the same session and the table gives the ratios.
//!
//! The numpy reference is min-char-rnn's training written in numpy from the
//! equations ([`NUMPY_REFERENCE`], the file `numpy_rnn.py` beside this one,
//! which `scripts/numpy_rnn.py` links to). Its text is built into `charm` and
//! given to the interpreter on standard input (`python3 - CORPUS`), so the
//! comparison works from any directory and from an installed `charm`, with no
//! checkout and no temporary file. Everything it needs (the corpus, the
//! interpreter, numpy) is checked before the first configuration is timed.

use crate::error::{Error, NumpyProblem};
use crate::files::corpus::read_text;
use crate::files::memory::check_available;
use crate::math::engine::Engine;
use crate::math::optim::{Hyper, Optimizer, OptimizerKind};
use crate::math::params::{Params, Shape};
use crate::math::reference;
use crate::math::stacked_engine::StackedEngine;
use crate::math::window::Window;
use crate::training::EngineKind;
use charm_core::{Cell, Rng};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The numpy reference: `python3 - CORPUS` with this text on standard input
/// prints one JSON line whose `chars_per_s` the table divides by.
pub const NUMPY_REFERENCE: &str = include_str!("numpy_rnn.py");

/// Characters of one window of the numpy reference (seq-len 25) and its targets.
const NUMPY_WINDOW: usize = 26;

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchSettings {
    /// The recurrent cell.
    pub cell: Cell,
    /// Layers.
    pub layers: usize,
    /// Hidden units H.
    pub hidden: usize,
    /// Vocabulary size V.
    pub vocab: usize,
    /// Window length T.
    pub seq_len: usize,
    /// Streams B.
    pub batch: usize,
    /// Update rule.
    pub optimizer: OptimizerKind,
    /// Implementation.
    pub engine: EngineKind,
    /// Threads (shards of the batch); `None`: the cores, at most B.
    pub threads: Option<usize>,
    /// Optimizer steps per timed run.
    pub steps: usize,
    /// Timed runs; the median is reported.
    pub runs: usize,
    /// One JSON object instead of a sentence.
    pub json: bool,
    /// The standard table instead of one configuration.
    pub suite: bool,
    /// With `suite`: also run the numpy reference on this corpus.
    pub numpy: Option<PathBuf>,
    /// The numpy reference script; `None`: [`NUMPY_REFERENCE`], built in.
    pub numpy_script: Option<PathBuf>,
    /// The Python interpreter that runs the numpy reference.
    pub python: String,
}

/// The result of one configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    /// The cell and the depth, `"rnn×1"`.
    #[serde(default)]
    pub model: String,
    /// Hidden units.
    pub hidden: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// Window length.
    pub seq_len: usize,
    /// Streams.
    pub batch: usize,
    /// Threads.
    pub threads: usize,
    /// Median characters per second.
    pub chars_per_s: f64,
    /// Slowest run.
    pub min: f64,
    /// Fastest run.
    pub max: f64,
    /// Timed runs.
    pub runs: usize,
    /// Steps per run.
    pub steps: usize,
    /// Peak resident memory of the process in MiB (VmHWM), if known.
    pub peak_mib: Option<f64>,
}

/// Peak resident set size of this process in MiB (Linux: VmHWM).
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs the benchmark and returns the report (one line, a JSON object, or the table).
pub fn run(a: &BenchSettings) -> Result<String, Error> {
    if a.suite {
        return suite(a);
    }
    let r = measure(a)?;
    if a.json {
        return serde_json::to_string(&r).map_err(|e| Error::Usage(format!("internal error: {e}")));
    }
    Ok(format!(
        "{} H {}, V {}, seq-len {}, batch {}, {:?}, {:?} engine, {} thread(s): {:.0} chars/s \
         (median of {} runs of {} steps; min {:.0}, max {:.0}); peak memory {}",
        r.model,
        r.hidden,
        r.vocab,
        r.seq_len,
        r.batch,
        a.optimizer,
        a.engine,
        r.threads,
        r.chars_per_s,
        r.runs,
        r.steps,
        r.min,
        r.max,
        r.peak_mib
            .map_or("unknown".to_string(), |m| format!("{m:.1} MiB")),
    ))
}

/// Times one configuration in this process.
pub fn measure(a: &BenchSettings) -> Result<BenchResult, Error> {
    if a.hidden == 0
        || a.vocab == 0
        || a.seq_len == 0
        || a.batch == 0
        || a.steps == 0
        || a.runs == 0
    {
        return Err(Error::Usage(
            "every `charm bench` size must be at least 1".into(),
        ));
    }
    if !(1..=charm_core::MAX_LAYERS).contains(&a.layers) {
        return Err(Error::Usage(format!(
            "--layers must be between 1 and {}, not {}",
            charm_core::MAX_LAYERS,
            a.layers
        )));
    }
    let threads = threads(a)?;
    let (h, v, b, t) = (a.hidden, a.vocab, a.batch, a.seq_len);
    let shape = Shape {
        cell: a.cell,
        layers: a.layers,
        hidden: h,
        vocab: v,
    };
    check_memory(a, &shape, threads)?;
    let mut params = Params::<f32>::init(shape, 0.05, 1);
    let mut grads = Params::<f32>::zeros_shaped(shape);
    let mut opt = Optimizer::new(a.optimizer, params.data.len());
    let (mut engine, mut stacked) = match (a.engine, shape.is_vanilla()) {
        (EngineKind::Fast, true) => (Some(Engine::<f32>::new(h, v, b, threads)), None),
        (EngineKind::Fast, false) => (None, Some(StackedEngine::<f32>::new(shape, b, threads))),
        (EngineKind::Plain, _) => (None, None),
    };
    let mut state = vec![0.0f32; b * shape.state_len()];
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
    let mut step = |params: &mut Params<f32>| -> Result<(), Error> {
        match (&mut engine, &mut stacked) {
            (Some(engine), _) => {
                engine.forward_backward(params, &w, &mut state, None, &mut grads);
            }
            (None, Some(engine)) => {
                engine.forward_backward(params, &w, &mut state, None, &mut grads);
            }
            (None, None) => {
                reference::forward_backward(params, &w, &mut state, None, &mut grads)
                    .map_err(|e| Error::Usage(format!("internal error: {e}")))?;
            }
        }
        opt.clip_update(
            params,
            &mut grads,
            5.0,
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
    Ok(BenchResult {
        model: shape.describe(),
        hidden: h,
        vocab: v,
        seq_len: t,
        batch: b,
        threads,
        chars_per_s: rates[rates.len() / 2],
        min: rates[0],
        max: rates[rates.len() - 1],
        runs: a.runs,
        steps: a.steps,
        peak_mib: peak_memory_mib(),
    })
}

/// The threads of a benchmark: as given (at most B), or the cores, at most B.
fn threads(a: &BenchSettings) -> Result<usize, Error> {
    match a.threads {
        Some(n) if n > a.batch => Err(Error::Usage(format!(
            "--threads {n} is more than --batch {}: each thread takes a shard of at least one \
             stream; give at most {} threads",
            a.batch, a.batch
        ))),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, a.batch)),
    }
}

/// Refuses a benchmark that needs more memory than the machine has: θ, its
/// gradient and two moments; the engine; the windows and states.
fn check_memory(a: &BenchSettings, shape: &Shape, threads: usize) -> Result<(), Error> {
    let (h, v, b, t) = (a.hidden, a.vocab, a.batch, a.seq_len);
    let p = shape.len() as u64;
    let engine = if shape.is_vanilla() {
        Engine::<f32>::memory_bytes(h, v, b, t, threads)
    } else {
        StackedEngine::<f32>::memory_bytes(shape, b, t, threads)
    };
    let states = 4 * (b * shape.state_len()) as u64;
    let needed = 16 * p + engine + 12 * (b * t) as u64 + states;
    check_available(
        needed,
        "this benchmark",
        "lower --hidden, --batch or --seq-len",
    )
}

/// The standard configurations: (H, seq-len, batch, steps per run).
const SUITE: [(usize, usize, usize, usize); 6] = [
    (100, 25, 1, 2000),
    (100, 25, 32, 200),
    (100, 100, 32, 50),
    (256, 100, 32, 20),
    (512, 100, 32, 6),
    (1024, 100, 32, 2),
];

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn suite(a: &BenchSettings) -> Result<String, Error> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Usage(format!("cannot find the charm executable: {e}")))?;
    let runs = a.runs.max(5);
    if let Some(corpus) = &a.numpy {
        numpy_preflight(a, corpus)?;
    }
    let mut out = format!(
        "charm bench --suite: Adagrad, V 65, random windows; median of {runs} runs per \
         configuration, each in its own process (peak memory = its VmHWM)\n\
         load average before: {}\n",
        load_average()
    );
    let mut results = Vec::new();
    for (h, t, b, steps) in SUITE {
        let mut cmd = Command::new(&exe);
        cmd.args(["bench", "--json", "--optimizer", "adagrad"]);
        for (flag, v) in [
            ("--hidden", h),
            ("--seq-len", t),
            ("--batch", b),
            ("--steps", steps),
            ("--runs", runs),
        ] {
            cmd.args([flag.to_string(), v.to_string()]);
        }
        if let Some(th) = a.threads {
            cmd.args(["--threads".to_string(), th.to_string()]);
        }
        let o = cmd
            .output()
            .map_err(|e| Error::Usage(format!("cannot run {}: {e}", exe.display())))?;
        let text = String::from_utf8_lossy(&o.stdout);
        let r: BenchResult = serde_json::from_str(text.trim()).map_err(|e| {
            Error::Usage(format!(
                "a benchmark child failed ({e}): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        })?;
        results.push(r);
    }
    let numpy = match &a.numpy {
        Some(corpus) => Some(numpy_reference(a, corpus)?),
        None => None,
    };
    out += &format!(
        "{:<34} {:>7} {:>12} {:>12} {:>12} {:>9} {:>9}\n",
        "configuration", "threads", "chars/s", "min", "max", "peak MiB", "x numpy"
    );
    for r in &results {
        let name = format!("H {}, seq-len {}, batch {}", r.hidden, r.seq_len, r.batch);
        let ratio = numpy.map_or("-".to_string(), |n| format!("{:.1}", r.chars_per_s / n));
        out += &format!(
            "{:<34} {:>7} {:>12.0} {:>12.0} {:>12.0} {:>9} {:>9}\n",
            name,
            r.threads,
            r.chars_per_s,
            r.min,
            r.max,
            r.peak_mib.map_or("?".to_string(), |m| format!("{m:.1}")),
            ratio
        );
    }
    if let Some(n) = numpy {
        out += &format!(
            "numpy reference (H 100, seq-len 25, batch 1, Adagrad; median of 3 runs, \
             OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for it): {n:.0} chars/s\n"
        );
    }
    out += &format!("load average after: {}", load_average());
    Ok(out)
}

/// The interpreter with the environment the numpy reference runs in: two
/// variables set on some machines for old OpenBLAS builds slow a current
/// numpy down, so they are unset for it.
fn python(a: &BenchSettings) -> Command {
    let mut cmd = Command::new(&a.python);
    cmd.env_remove("OPENBLAS_CORETYPE")
        .env_remove("OPENBLAS_L2_SIZE");
    cmd
}

/// Checks, before anything is timed, what the numpy reference needs: a
/// script (when one is named), a corpus it can read with at least one
/// window, and an interpreter that imports numpy.
fn numpy_preflight(a: &BenchSettings, corpus: &Path) -> Result<(), Error> {
    if let Some(script) = &a.numpy_script {
        read_text(script)?;
    }
    let chars = read_text(corpus)?.chars().count();
    if chars < NUMPY_WINDOW {
        return Err(Error::Numpy(NumpyProblem::CorpusTooShort {
            path: corpus.into(),
            chars,
            needed: NUMPY_WINDOW,
        }));
    }
    let check = python(a)
        .args(["-c", "import numpy"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::Numpy(NumpyProblem::NoPython {
                python: a.python.clone(),
                reason: match e.kind() {
                    std::io::ErrorKind::NotFound => "not found".into(),
                    _ => e.to_string(),
                },
            })
        })?;
    if !check.status.success() {
        return Err(Error::Numpy(NumpyProblem::NoNumpy {
            python: a.python.clone(),
        }));
    }
    Ok(())
}

/// Median chars/s of three runs of the numpy reference.
fn numpy_reference(a: &BenchSettings, corpus: &Path) -> Result<f64, Error> {
    let mut rates = Vec::new();
    for _ in 0..3 {
        rates.push(numpy_run(a, corpus)?);
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[1])
}

/// One run of the numpy reference: its characters per second.
fn numpy_run(a: &BenchSettings, corpus: &Path) -> Result<f64, Error> {
    let failed = |reason: String| Error::Numpy(NumpyProblem::Failed { reason });
    let mut cmd = python(a);
    match &a.numpy_script {
        Some(script) => cmd.arg(script).stdin(Stdio::null()),
        None => cmd.arg("-").stdin(Stdio::piped()),
    };
    let mut child = cmd
        .arg(corpus)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::Numpy(NumpyProblem::NoPython {
                python: a.python.clone(),
                reason: e.to_string(),
            })
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // The interpreter reads the whole program before it runs it; a write
        // error means it ended early, and its stderr below says why.
        let _ = stdin.write_all(NUMPY_REFERENCE.as_bytes());
    }
    let o = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    let stderr = String::from_utf8_lossy(&o.stderr);
    let last_line = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty());
    if !o.status.success() {
        let reason = last_line.map_or_else(
            || format!("it exited with {}", o.status),
            |l| l.trim_start_matches("error: ").to_string(),
        );
        return Err(failed(reason));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str::<serde_json::Value>(text.trim())
        .ok()
        .and_then(|v| v["chars_per_s"].as_f64())
        .filter(|r| r.is_finite() && *r > 0.0)
        .ok_or_else(|| failed("it printed no chars_per_s".into()))
}
