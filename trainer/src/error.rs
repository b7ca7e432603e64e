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
    /// A run needs more memory than the machine has available.
    #[error(
        "{what} needs about {:.1} GiB of memory, more than the {:.1} GiB this machine has \
         available; {hint}", *.needed as f64 / 1073741824.0, *.available as f64 / 1073741824.0
    )]
    NotEnoughMemory {
        /// Bytes needed (estimated).
        needed: u64,
        /// Bytes available.
        available: u64,
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
