//! `charm quantize`: an f32 model to int8 weights, 4× smaller.
//!
//! A model of other cells or depths (format version 5) stays version 5,
//! with the same element types ([`charm_core::quantize_stacked`]).
//!
//! Each weight row gets one symmetric scale (`s = max|w_row| / 127`,
//! `q = round(w / s)`); biases stay f32. [`Layout::RowPairs`] writes format
//! version 3, element type int8 ([`charm_core::quantize`]), which every
//! firmware runs; [`Layout::Tiles`] writes version 4, element type int8
//! tiles with an int8 state ([`charm_core::quantize_tiles`]), the Cortex-M55's
//! layout; [`Layout::Fixed`] writes version 4, element type int8 fixed
//! ([`charm_core::quantize_fixed`]): the row pairs' int8 bytes with integer
//! multipliers and biases, stepped and sampled in integer arithmetic.
//! `charm sample` and `charm eval` run all three with charm-core's integer
//! steps.

use crate::commands::info;
use crate::error::Error;
use crate::files::atomic::write_output;
use crate::files::model_file::ModelBytes;
use crate::files::outputs::{self, Input, Output};
use charm_core::{encode_any, quantize_stacked, RowPairs, Tiles, Weights};
use std::path::Path;

/// The int8 layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Row pairs, Q15 state ([`charm_core::QuantModelView`]).
    RowPairs,
    /// 4×16 tiles, int8 state ([`charm_core::TiledModelView`]).
    Tiles,
    /// Row pairs with integer multipliers and biases, Q15 state
    /// ([`charm_core::FixedModelView`]); one tanh layer only.
    Fixed,
}

/// What `charm quantize` did, for its one-line report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantizeReport {
    /// Size of the f32 file in bytes.
    pub in_bytes: usize,
    /// Size of the int8 file in bytes.
    pub out_bytes: usize,
    /// int8 (row pairs), int8 tiles or int8 fixed.
    pub element: info::Element,
    /// Which boards the model fits ([`crate::commands::info::fit_line`]).
    pub fit: String,
}

impl QuantizeReport {
    /// The line printed on stdout.
    pub fn text(&self, input: &Path, output: &Path) -> String {
        format!(
            "wrote {} ({}, {} bytes) from {} (f32, {} bytes): {:.2}x smaller",
            output.display(),
            self.element,
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
pub fn run(
    input: &Path,
    output: &Path,
    layout: Layout,
    force: bool,
) -> Result<QuantizeReport, Error> {
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
    let encode = |weights: &Weights<'_>| {
        encode_any(weights, &file.vocab, &file.meta).map_err(|error| Error::Model {
            path: output.into(),
            error,
        })
    };
    let refused = |e: charm_core::QuantizeError| {
        Error::Usage(format!("cannot quantize {}: {e}", input.display()))
    };
    let (bytes, shape) = match (file.weights, layout) {
        (Weights::F32(model), Layout::RowPairs) => {
            let quantized = charm_core::quantize(&model).map_err(refused)?;
            (encode(&Weights::Int8(quantized.view()))?, None)
        }
        (Weights::F32(model), Layout::Tiles) => (
            encode(&Weights::Int8Tiles(
                charm_core::quantize_tiles(&model).view(),
            ))?,
            None,
        ),
        (Weights::F32(model), Layout::Fixed) => {
            let quantized = charm_core::quantize_fixed(&model).map_err(refused)?;
            (encode(&Weights::Int8Fixed(quantized.view()))?, None)
        }
        (Weights::Stacked(_), Layout::Fixed) => {
            return Err(Error::Usage(format!(
                "{} has {} layer(s) of {} cells; --layout fixed is for models of one tanh layer: \
                 quantize it with --layout pairs",
                input.display(),
                file.weights.depth(),
                file.weights.cell().name()
            )))
        }
        (Weights::Stacked(model), Layout::RowPairs) => {
            let quantized = quantize_stacked::<RowPairs>(&model).map_err(refused)?;
            let shape = (model.cell(), model.depth());
            (
                encode(&Weights::StackedInt8(quantized.view()))?,
                Some(shape),
            )
        }
        (Weights::Stacked(model), Layout::Tiles) => {
            let quantized = quantize_stacked::<Tiles>(&model).map_err(refused)?;
            let shape = (model.cell(), model.depth());
            (
                encode(&Weights::StackedTiles(quantized.view()))?,
                Some(shape),
            )
        }
        (
            Weights::Int8(_)
            | Weights::Int8Tiles(_)
            | Weights::Int8Fixed(_)
            | Weights::StackedInt8(_)
            | Weights::StackedTiles(_),
            _,
        ) => {
            return Err(Error::Usage(format!(
                "{} is already an int8 model; quantize the f32 model it came from",
                input.display()
            )))
        }
    };
    write_output(output, &bytes)?;
    let element = match layout {
        Layout::RowPairs => info::Element::Int8,
        Layout::Tiles => info::Element::Int8Tiles,
        Layout::Fixed => info::Element::Int8Fixed,
    };
    let (hidden, vocab) = (file.weights.hidden(), file.weights.vocab());
    let fit = match shape {
        None => info::fit_line(hidden, vocab, element, bytes.len()),
        Some((cell, layers)) => format!(
            "{layers} layer(s) of {} cells: the firmware built with --features cells runs it \
             ({}), and charm sample and charm eval on the host",
            cell.name(),
            match layout {
                Layout::RowPairs => "every board",
                Layout::Tiles => "int8 tiles: the Cortex-M55, board mps3-an547",
                Layout::Fixed => "every board",
            }
        ),
    };
    Ok(QuantizeReport {
        in_bytes: m.size(),
        out_bytes: bytes.len(),
        element,
        fit,
    })
}
