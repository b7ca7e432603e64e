//! The subcommands of `charm`, one file each. Each takes settings of its own
//! (plain data, validated by the command line), does its job with the math and
//! files layers, and returns what it found; the command line prints it.

pub mod bench;
pub mod eval;
pub mod export;
pub mod import;
pub mod info;
pub mod quantize;
pub mod sample;
pub mod train;
