//! Files and the terminal: reading texts and models, writing checkpoints,
//! logs and progress. Nothing here knows the command-line flags.
//!
//! - [`input`]: reading an input file (regular, bounded in size);
//! - [`corpus`]: a training text, its vocabulary and train/validation split;
//! - [`model_file`]: reading `.charm` files, with one-sentence errors;
//! - [`atomic`]: writing a file so that a crash leaves the old or the new one;
//! - [`checkpoint`]: the framing of the `.state` file;
//! - [`outputs`]: where a command may write (checked against its inputs and other outputs), and the set of files one training run writes;
//! - [`lock`]: one training run per set of output files;
//! - [`log`]: the CSV log and the SVG loss curve;
//! - [`memory`]: the memory a command may still allocate (the machine's, the process's limits, its cgroup's);
//! - [`progress`]: the progress bar and the lines above it;
//! - [`pytorch`]: PyTorch's `nn.RNN` + `nn.Linear` in safetensors files, read and written;
//! - [`safetensors_header`]: a name given twice in a safetensors header, which charm refuses;
//! - [`console`]: stdout and stderr without panics (a closed pipe is a normal end).

pub mod atomic;
pub mod checkpoint;
pub mod console;
pub mod corpus;
pub mod input;
pub mod lock;
pub mod log;
pub mod memory;
pub mod model_file;
pub mod outputs;
pub mod progress;
pub mod pytorch;
pub mod safetensors_header;
