//! Standard output and standard error, without panics.
//!
//! `println!` panics when stdout is a closed pipe (`charm info | head -1`)
//! or a full disk (`> /dev/full`). Everything charm prints goes through
//! here instead: a closed pipe becomes [`Error::ClosedPipe`], which the
//! command line treats as a normal end (exit 0, as `head` users expect);
//! any other failure becomes [`Error::Stdout`], one `error:` line and exit
//! status 1. Messages on stderr are best effort: where stderr itself fails
//! there is nowhere left to say so, and the exit status still tells.

use crate::error::Error;
use std::io::{self, Write};

/// What a failed write to stdout means for the command.
pub fn stdout_error(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Error::ClosedPipe
    } else {
        Error::Stdout(e)
    }
}

/// Writes `text` and a newline to stdout, and flushes.
pub fn print_line(text: &str) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// Writes `text` and a newline to stderr, ignoring failure (see the module docs).
pub fn print_error_line(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err
        .write_all(text.as_bytes())
        .and_then(|()| err.write_all(b"\n"))
        .and_then(|()| err.flush());
}
