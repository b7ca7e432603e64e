//! `charm quantize`: an f32 model to int8 weights, 4× smaller.
//!
//! Each weight row gets one symmetric scale (`s = max|w_row| / 127`,
//! `q = round(w / s)`); biases stay f32; the file becomes format version 3
//! with element type int8 ([`charm_core::quantize`]). `charm sample`, `charm
//! eval` and the firmware run int8 files with charm-core's integer step.

use crate::commands::info;
use crate::error::Error;
use crate::files::atomic::write_output;
use crate::files::model_file::ModelBytes;
use crate::files::outputs::{self, Input, Output};
use charm_core::{encode_any, Weights};
use std::path::Path;

/// What `charm quantize` did, for its one-line report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantizeReport {
    /// Size of the f32 file in bytes.
    pub in_bytes: usize,
    /// Size of the int8 file in bytes.
    pub out_bytes: usize,
    /// Which boards the model fits ([`crate::commands::info::fit_line`]).
    pub fit: String,
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
        ) + "\n"
            + &self.fit
    }
}

/// Reads an f32 model, quantizes it and writes `output` atomically (never
/// over the input; over an existing file only with `force`).
pub fn run(input: &Path, output: &Path, force: bool) -> Result<QuantizeReport, Error> {
    let out = Output {
        path: output,
        what: "int8 model",
        flag: "--out",
        replace: force,
    };
    let model = Input {
        path: input,
        what: "f32 model",
    };
    outputs::check(&[out], &[model])?;
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
    write_output(output, &bytes)?;
    let fit = info::fit_line(model.hidden(), model.vocab(), "int8", bytes.len());
    Ok(QuantizeReport {
        in_bytes: m.size(),
        out_bytes: bytes.len(),
        fit,
    })
}
