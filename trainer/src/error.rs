//! The errors the CLI reports: each one sentence naming the file and what to do.

use charm_core::FormatError;
use std::path::PathBuf;

/// Everything that can stop a `charm` command. `Display` is the one line the
/// CLI prints after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}: {}", .path.display(), io_reason(.source))]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {}", .path.display(), io_reason(.source))]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An input path names something that is not a regular file.
    #[error("{} is a {kind}, not a regular file; give a {what} file", .path.display())]
    NotRegularInput {
        /// The path.
        path: PathBuf,
        /// What is there.
        kind: &'static str,
        /// What was expected ("text", "model").
        what: &'static str,
    },
    /// An input file is larger than charm reads.
    #[error(
        "{} is {size} bytes, more than the {max} bytes charm reads as a {what} file; give a \
         smaller file", .path.display()
    )]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// What was expected.
        what: &'static str,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A run needs more memory than the process may allocate.
    #[error(
        "{what} needs about {} of memory, more than the {} {}; {hint}",
        gib(*.needed), gib(*.available), .bound
    )]
    NotEnoughMemory {
        /// Bytes needed (estimated).
        needed: u64,
        /// Bytes available.
        available: u64,
        /// The bound that gives `available`, as the clause that ends "more
        /// than the N GiB …" (`MemorySource::clause` of the files layer).
        bound: &'static str,
        /// What needs it.
        what: &'static str,
        /// What to change.
        hint: &'static str,
    },
    /// The corpus has no characters.
    #[error("the corpus {} is empty; give a text file with at least {needed} characters", .path.display())]
    EmptyCorpus {
        /// The corpus.
        path: PathBuf,
        /// Characters needed.
        needed: usize,
    },
    /// The training part of the corpus is shorter than one window per stream.
    #[error(
        "the corpus {} is too short: its training part has {chars} characters, but --seq-len {seq_len} \
         with --batch {batch} needs at least {needed} (seq-len + 1 per stream); use a longer text or \
         lower --seq-len/--batch/--val-fraction", .path.display()
    )]
    CorpusTooShort {
        /// The corpus.
        path: PathBuf,
        /// Training characters available.
        chars: usize,
        /// Characters needed.
        needed: usize,
        /// Window length.
        seq_len: usize,
        /// Streams.
        batch: usize,
    },
    /// The corpus is not UTF-8.
    #[error(
        "{} is not valid UTF-8 text (first bad byte at offset {offset}); convert it to UTF-8, \
         e.g. with iconv", .path.display()
    )]
    InvalidUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// Too many distinct characters for the weight format.
    #[error(
        "the corpus {} has {size} distinct characters, more than the {max} a charm model can hold; \
         use a text with fewer distinct characters", .path.display()
    )]
    VocabTooLarge {
        /// The corpus.
        path: PathBuf,
        /// Distinct characters.
        size: usize,
        /// The limit (charm_core::MAX_VOCAB).
        max: usize,
    },
    /// A model file that cannot be used.
    #[error("{}", model_sentence(.path, .error))]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        error: FormatError,
    },
    /// A training state file that cannot be used.
    #[error("{} is not a usable charm training checkpoint ({reason}); resume from the .state file \
             written beside the model by `charm train`, or start without --resume", .path.display())]
    BadCheckpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// --resume with flags that contradict the checkpoint.
    #[error(
        "the checkpoint {} was trained with {flag} {stored}, but {flag} {given} was given; drop {flag} \
         to continue with the checkpoint's value, or train from scratch without --resume", .path.display()
    )]
    ResumeMismatch {
        /// The checkpoint.
        path: PathBuf,
        /// The flag.
        flag: &'static str,
        /// Its value in the checkpoint.
        stored: String,
        /// The value given.
        given: String,
    },
    /// --resume with a different corpus.
    #[error(
        "the checkpoint {} was trained on a different corpus (CRC-32 {stored:08x}, {} has {given:08x}); \
         resume with the same --data", .path.display(), .data.display()
    )]
    ResumeCorpus {
        /// The checkpoint.
        path: PathBuf,
        /// The corpus given.
        data: PathBuf,
        /// CRC in the checkpoint.
        stored: u32,
        /// CRC of the corpus given.
        given: u32,
    },
    /// The directory of an output path does not exist.
    #[error(
        "the output directory {} of {} does not exist; create it first or choose another --out",
        .dir.display(), .path.display()
    )]
    OutDirMissing {
        /// The output file.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
    },
    /// A directory has the name of a file the command derives from a flag.
    #[error(
        "{} is a directory, and this run would write its {what} there; charm never replaces a \
         directory: choose another {flag}", .path.display()
    )]
    SideFileIsDirectory {
        /// The path.
        path: PathBuf,
        /// What would be written.
        what: &'static str,
        /// The flag its name comes from.
        flag: &'static str,
    },
    /// An output path names something that is not a regular file.
    #[error(
        "{} is a {kind}, not a regular file; charm writes only regular files, which it replaces \
         whole: give another path", .path.display()
    )]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What is there.
        kind: &'static str,
    },
    /// An output path is one of the command's inputs.
    #[error(
        "{} is the {input} this command reads; writing the {what} there would destroy it: choose \
         another {flag}", .path.display()
    )]
    OutputIsInput {
        /// The path.
        path: PathBuf,
        /// What would be written.
        what: &'static str,
        /// What it is as an input.
        input: &'static str,
        /// The flag to change.
        flag: &'static str,
    },
    /// Two outputs of one command are the same file.
    #[error(
        "the {first} and the {second} would both be written to {}; choose another {flag}{}",
        .path.display(),
        if *.flag == "--out" { " (a model name ending in .charm, e.g. model.charm)" } else { "" }
    )]
    OutputsCollide {
        /// The path.
        path: PathBuf,
        /// One output.
        first: &'static str,
        /// The other.
        second: &'static str,
        /// The flag to change.
        flag: &'static str,
    },
    /// An output path holds a file the command was not asked to replace.
    #[error(
        "{} exists and charm replaces a file only when asked: choose another {flag}, or add \
         --force to replace it with the {what}", .path.display()
    )]
    OutputExists {
        /// The path.
        path: PathBuf,
        /// What would be written.
        what: &'static str,
        /// The flag that named it.
        flag: &'static str,
    },
    /// Another run holds the lock of the output set.
    #[error(
        "another charm train{} is writing {} and its side files; wait for it to end, or choose \
         another --out",
        .owner.map(|p| format!(" (process {p})")).unwrap_or_default(),
        .model.display()
    )]
    Locked {
        /// The model path of the set.
        model: PathBuf,
        /// The process that holds it, if the lock file says.
        owner: Option<u32>,
    },
    /// A file that is not charm's lock file has the lock's name.
    #[error(
        "{} exists and is not a charm lock file, but charm train locks the run writing {} and its \
         side files with a file of that name; move it away, or choose another --out",
        .path.display(), .model.display()
    )]
    LockNameTaken {
        /// The lock's path.
        path: PathBuf,
        /// The model of the output set.
        model: PathBuf,
    },
    /// A fresh run would replace the files of an earlier one.
    #[error(
        "{} holds the training state of an earlier run, which this run would replace with its \
         model, log and state: continue that run with --resume {}, choose another --out, or add \
         --force to start over", .state.display(), .state.display()
    )]
    RunExists {
        /// The state file.
        state: PathBuf,
    },
    /// A checkpoint after the first could not be written; the state of an
    /// earlier (or this) one is whole on disk.
    #[error(
        "{cause}; the checkpoint of step {step} in {} is whole and nothing was lost: free some \
         space (or mend the cause) and continue with the same flags and --resume {}",
        .state.display(), .state.display()
    )]
    CheckpointFailed {
        /// Why a file of the checkpoint could not be written.
        cause: Box<Error>,
        /// The training state on disk.
        state: PathBuf,
        /// Its step.
        step: u64,
    },
    /// The loss became NaN or infinite.
    #[error("training diverged at step {step}: {}; {}", diverged_what(*.loss), diverged_hint(.checkpoint))]
    Diverged {
        /// The step.
        step: u64,
        /// The loss value (infinite when the weights overflowed).
        loss: f32,
        /// The last good checkpoint, if one was written.
        checkpoint: Option<PathBuf>,
    },
    /// The prime text has characters outside the vocabulary.
    #[error(
        "the prime text contains {}, not in the vocabulary of {}; use characters the model was \
         trained on (see `charm info --model {}`)",
        list_chars(.chars), .path.display(), .path.display()
    )]
    PrimeChars {
        /// The model.
        path: PathBuf,
        /// The distinct characters outside it, in order of appearance.
        chars: Vec<char>,
    },
    /// A training state given where a model is expected.
    #[error(
        "{} is a training state (what --resume continues), not a model; the model is the .charm \
         file beside it: {}", .path.display(), .model.display()
    )]
    StateNotModel {
        /// The state file given.
        path: PathBuf,
        /// The model beside it.
        model: PathBuf,
    },
    /// `charm bench --numpy` cannot run its numpy reference.
    #[error("{0}")]
    Numpy(NumpyProblem),
    /// A safetensors file that is not a model charm runs.
    #[error("{}: {problem}", .path.display())]
    Import {
        /// The safetensors file.
        path: PathBuf,
        /// What was found, and what charm runs instead.
        problem: ImportProblem,
    },
    /// `charm export` of an int8 model: PyTorch's nn.RNN holds f32 weights.
    #[error(
        "{} is an int8 model; export the f32 model it was quantized from (PyTorch's nn.RNN holds \
         f32 weights)", .path.display()
    )]
    ExportInt8 {
        /// The model given.
        path: PathBuf,
    },
    /// A flag value that makes no sense.
    #[error("{0}")]
    Usage(String),
    /// Standard output is a pipe whose reader has gone (`charm info | head -1`):
    /// a normal end, not reported.
    #[error("standard output was closed")]
    ClosedPipe,
    /// Standard output cannot be written (a full disk, an I/O error).
    #[error("cannot write to standard output: {}", io_reason(.0))]
    Stdout(std::io::Error),
}

/// Bytes in GiB with one decimal, or in MiB below one GiB (where one decimal
/// of a GiB would read 0.0).
fn gib(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / 1073741824.0)
    } else {
        format!("{:.0} MiB", (bytes as f64 / 1048576.0).ceil())
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file; check the path".into(),
        std::io::ErrorKind::PermissionDenied => {
            "permission denied; check the file's permissions".into()
        }
        std::io::ErrorKind::IsADirectory => "it is a directory; give a file".into(),
        _ => e.to_string(),
    }
}

/// Why `charm bench --suite --numpy` cannot compare with its numpy
/// reference: each says what is missing and what to install or give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumpyProblem {
    /// The interpreter cannot be started.
    #[error(
        "charm bench --numpy runs its numpy reference with {python}, which cannot be run ({reason}); \
         install Python 3 and numpy (for example `apt install python3-numpy`), or name an \
         interpreter with --python"
    )]
    NoPython {
        /// The interpreter named by --python.
        python: String,
        /// Why it could not be started.
        reason: String,
    },
    /// The interpreter runs but cannot import numpy.
    #[error(
        "charm bench --numpy needs numpy, which {python} cannot import; install it (`{python} -m \
         pip install numpy`, or the python3-numpy package of your system), or name an interpreter \
         that has it with --python"
    )]
    NoNumpy {
        /// The interpreter named by --python.
        python: String,
    },
    /// The text is too short for the reference's windows.
    #[error(
        "{} has {chars} characters, fewer than the {needed} of one window of the numpy reference; \
         give a longer text", .path.display()
    )]
    CorpusTooShort {
        /// The corpus.
        path: PathBuf,
        /// Its characters.
        chars: usize,
        /// One window and its targets.
        needed: usize,
    },
    /// The reference ran and failed, or printed no rate.
    #[error("the numpy reference failed: {reason}")]
    Failed {
        /// Its last line on stderr, or what was wrong with its output.
        reason: String,
    },
}

/// `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`.
fn list_chars(chars: &[char]) -> String {
    let quoted: Vec<String> = chars.iter().map(|c| format!("{c:?}")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn diverged_what(loss: f32) -> String {
    if loss.is_infinite() {
        "the weights overflowed to infinity".into()
    } else {
        format!("the loss is {loss}")
    }
}

fn diverged_hint(checkpoint: &Option<PathBuf>) -> String {
    match checkpoint {
        Some(p) => format!(
            "the last good checkpoint is kept in {}; lower --lr (or --clip) and resume or restart",
            p.display()
        ),
        None => "no checkpoint had been written yet; lower --lr (or --clip) and start again".into(),
    }
}

/// The sentence for a model file that cannot be used, one per [`FormatError`] variant.
pub fn model_sentence(path: &std::path::Path, e: &FormatError) -> String {
    let p = path.display();
    match *e {
        FormatError::BadMagic => format!(
            "{p} is not a charm model file (it does not start with the bytes CHRM); give a .charm file written by `charm train`"
        ),
        FormatError::Truncated { needed, available } => format!(
            "{p} is truncated ({available} of {needed} bytes); the copy is incomplete, copy it again or retrain"
        ),
        FormatError::UnsupportedVersion { found, supported } => format!(
            "{p} has weight format version {found}, but this charm reads versions up to {supported}; upgrade charm to read it"
        ),
        FormatError::CrcMismatch { stored, computed } => format!(
            "{p} is corrupted (CRC-32 is {computed:08x}, the file says {stored:08x}); copy it again or retrain"
        ),
        FormatError::VocabularyTooLarge { size, max } => format!(
            "{p} has a vocabulary of {size} characters, more than the {max} allowed; it was not written by a compatible charm"
        ),
        FormatError::RetiredInt8Layout => format!(
            "{p} is an int8 model of format version 2, whose layout this charm no longer reads; quantize its f32 model again with `charm quantize`"
        ),
        FormatError::Misaligned => format!("{p} could not be read in place (misaligned buffer); this is a bug in charm, please report it"),
        other => format!("{p} is not a valid charm model: {other}; retrain it with `charm train`"),
    }
}

/// What charm runs, for the end of every [`ImportProblem`] sentence.
const RUNS: &str = "charm runs nn.RNN(tanh), nn.GRU or nn.LSTM (num_layers 1 to 4, one direction, \
                    an nn.Embedding(V, E) in front or one-hot inputs) followed by nn.Linear(H, V), in float32";

/// Why a safetensors file cannot be imported: each says what was found and
/// ends with what charm runs (or what to give).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportProblem {
    /// The bytes are not a safetensors file.
    #[error("this is not a safetensors file ({reason}); save the model with safetensors.torch.save_file")]
    NotSafetensors {
        /// What the safetensors reader said.
        reason: String,
    },
    /// No tensor ends in a name the model needs.
    #[error("no tensor named *{suffix} ({what}) was found among {}; {RUNS}", list_names(.found))]
    Missing {
        /// The suffix looked for.
        suffix: &'static str,
        /// The tensor's role, in words.
        what: &'static str,
        /// The tensors the file has.
        found: Vec<String>,
    },
    /// More than one tensor could be the one needed.
    #[error(
        "{} could each be {what}; keep one recurrent module and one nn.Linear in the file \
         (e.g. save_file(model.state_dict()) of that model alone)", list_names(.candidates)
    )]
    Ambiguous {
        /// The tensor's role, in words.
        what: &'static str,
        /// The candidates.
        candidates: Vec<String>,
    },
    /// The recurrent weights' rows are not 1, 3 or 4 times H (nn.RNN, nn.GRU, nn.LSTM).
    #[error(
        "{name} has shape {}: {rows} rows for H {hidden} (the columns of W_hh), where nn.RNN has H, \
         nn.GRU 3·H and nn.LSTM 4·H rows; {RUNS}", shape_text(.shape)
    )]
    Gates {
        /// The tensor.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
        /// Its rows.
        rows: usize,
        /// Hidden size H (from `weight_hh_l0`'s columns).
        hidden: usize,
    },
    /// More layers than charm runs.
    #[error("{name} belongs to layer {} of the recurrent module; {RUNS}", .layer + 1)]
    Depth {
        /// A tensor of the deepest layer.
        name: String,
        /// Its layer index (`_l{layer}`, 0 the first).
        layer: usize,
    },
    /// A layer below the deepest one is missing.
    #[error(
        "the file has {deepest} but no {missing}; save the whole model's state_dict(); {RUNS}"
    )]
    LayerMissing {
        /// A tensor of the deepest layer found.
        deepest: String,
        /// The name of the missing tensor.
        missing: String,
    },
    /// Tensors of the reverse direction.
    #[error("{name} belongs to the reverse direction of a bidirectional RNN; {RUNS}")]
    Bidirectional {
        /// A reverse-direction tensor.
        name: String,
    },
    /// The metadata names a nonlinearity other than tanh.
    #[error("the metadata says {key} = {found:?}; {RUNS}")]
    Nonlinearity {
        /// The metadata key.
        key: String,
        /// Its value.
        found: String,
    },
    /// A tensor is not float32.
    #[error("{name} is {dtype}; convert the model with model.float() before saving: {RUNS}")]
    Dtype {
        /// The tensor.
        name: String,
        /// Its element type, as safetensors names it (F16, BF16, F64, ...).
        dtype: String,
    },
    /// A tensor's shape disagrees with the others.
    #[error("{name} has shape {}, but {expected}; {RUNS}", shape_text(.shape))]
    Shape {
        /// The tensor.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
        /// What the other tensors imply, in words.
        expected: String,
    },
    /// The model is larger than the weight format holds.
    #[error("the model has H {hidden} and V {vocab}; a charm model holds at most H {max_hidden} and V {max_vocab}")]
    TooLarge {
        /// Hidden size.
        hidden: usize,
        /// Vocabulary size.
        vocab: usize,
        /// charm_core::MAX_HIDDEN.
        max_hidden: usize,
        /// charm_core::MAX_VOCAB.
        max_vocab: usize,
    },
    /// A weight is NaN or infinite.
    #[error("{name}[{index}] is not a finite number; charm runs finite weights only")]
    NonFinite {
        /// The tensor.
        name: String,
        /// Flat index within it.
        index: usize,
    },
    /// Neither the metadata nor `--vocab` gives the characters.
    #[error(
        "the file has no __metadata__ entry charm.vocab; give the characters in index order with \
         --vocab FILE, or save with save_file(..., metadata={{\"charm.vocab\": \"\".join(chars)}})"
    )]
    VocabMissing,
    /// The vocabulary's length is not V.
    #[error(
        "the vocabulary ({source_name}) has {chars} characters but the model has V {vocab}{}",
        if *.ends_in_newline { " (its final newline counts as a character: write the file without one unless \\n is in the vocabulary)" } else { "" }
    )]
    VocabLength {
        /// Where it came from (`charm.vocab` or the --vocab file).
        source_name: String,
        /// Its characters.
        chars: usize,
        /// V.
        vocab: usize,
        /// Whether it ends in a newline (a likely accident in a --vocab file).
        ends_in_newline: bool,
    },
    /// A character appears twice in the vocabulary.
    #[error("the vocabulary ({source_name}) has {character:?} at indices {first} and {second}; each character must appear once")]
    VocabRepeated {
        /// Where it came from.
        source_name: String,
        /// The character.
        character: char,
        /// Its first index.
        first: usize,
        /// Its second index.
        second: usize,
    },
    /// A charm.* metadata entry that does not parse.
    #[error("the metadata entry {key} = {value:?} is not a number; remove it or write what charm export writes")]
    BadMetadata {
        /// The key.
        key: String,
        /// Its value.
        value: String,
    },
    /// A charm.* loss entry that is a number, but no loss.
    #[error(
        "the metadata entry {key} = {value:?} is no loss: a loss in nats/char is a finite number \
         of at least 0 (or NaN, unknown); remove it or write what charm export writes"
    )]
    BadLoss {
        /// The key.
        key: String,
        /// Its value.
        value: String,
    },
    /// A tensor or metadata entry named twice in the header.
    #[error(
        "the header names {key:?} twice, and readers keep different ones of the two; write the \
         file again with safetensors.torch.save_file, which writes each name once"
    )]
    DuplicateKey {
        /// The name.
        key: String,
    },
}

/// `a`, `a and b`, `a, b and c` (tensor names), or `no tensors`.
fn list_names(names: &[String]) -> String {
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => "no tensors".into(),
    }
}

/// `[64, 40]`.
fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}
