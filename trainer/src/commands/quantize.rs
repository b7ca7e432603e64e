//! `charm quantize`: an f32 model to int8 weights, 4× smaller.
//!
//! Each weight row gets one symmetric scale (`s = max|w_row| / 127`,
//! `q = round(w / s)`); biases stay f32; the file becomes format version 3
//! with element type int8 ([`charm_core::quantize`]). `charm sample`, `charm
//! eval` and the firmware run int8 files with charm-core's integer step.

use crate::error::Error;
use crate::files::atomic::{check_writable, write_atomic};
use crate::files::model_file::ModelBytes;
use charm_core::{encode_any, Weights};
use std::path::Path;

/// What `charm quantize` did, for its one-line report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantizeReport {
    /// Size of the f32 file in bytes.
    pub in_bytes: usize,
    /// Size of the int8 file in bytes.
    pub out_bytes: usize,
}

impl QuantizeReport {
    /// The line printed on stdout.
    pub fn text(&self, input: &Path, output: &Path) -> String {
        format!(
            "wrote {} (int8, {} bytes) from {} (f32, {} bytes): {:.2}x smaller",
            output.display(),
            self.out_bytes,
            input.display(),
            self.in_bytes,
            self.in_bytes as f64 / self.out_bytes as f64
        )
    }
}

/// Reads an f32 model, quantizes it and writes `output` atomically.
pub fn run(input: &Path, output: &Path) -> Result<QuantizeReport, Error> {
    check_writable(output)?;
    let m = ModelBytes::load(input)?;
    let file = m.file()?;
    let Weights::F32(model) = file.weights else {
        return Err(Error::Usage(format!(
            "{} is already an int8 model; quantize the f32 model it came from",
            input.display()
        )));
    };
    let quantized = charm_core::quantize(&model)
        .map_err(|e| Error::Usage(format!("cannot quantize {}: {e}", input.display())))?;
    let bytes =
        encode_any(&Weights::Int8(quantized.view()), &file.vocab, &file.meta).map_err(|error| {
            Error::Model {
                path: output.into(),
                error,
            }
        })?;
    write_atomic(output, &bytes)?;
    Ok(QuantizeReport {
        in_bytes: m.size(),
        out_bytes: bytes.len(),
    })
}
