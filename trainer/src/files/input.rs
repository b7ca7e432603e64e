//! Reading an input file: a regular file only, and no larger than the
//! reader is meant for, checked before reading (so `--data /dev/zero` or a
//! FIFO is one sentence, not a read that never ends).

use crate::error::Error;
use std::path::Path;

/// Reads a regular file of at most `max` bytes, refusing anything else
/// (a directory, a device such as `/dev/zero`, a FIFO) before reading.
pub fn read_regular(path: &Path, max: u64, what: &'static str) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let read_err = |source| Error::Read {
        path: path.into(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() {
        return Err(Error::NotRegularInput {
            path: path.into(),
            kind: crate::files::atomic::file_kind(&meta.file_type()),
            what,
        });
    }
    let too_large = |size| Error::TooLarge {
        path: path.into(),
        what,
        size,
        max,
    };
    if meta.len() > max {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // `take` guards against a file that grows while it is read.
    std::fs::File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .map_err(read_err)?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}
