//! `charm info`: what is in a model file, and which boards it fits.
//!
//! The fit check: the flash a model needs is its file (the firmware reads
//! it in place), as f32 and as int8 (the size `charm quantize` gives,
//! computed from the shape); the RAM its state needs is h and h_next
//! (padded to 8 entries; 4 bytes each for f32, 2 for the int8 path's Q15)
//! and V f32 logits; a board runs it when H and V are within the capacity
//! of the firmware built for it and the file fits its WEIGHTS region — the
//! numbers of the charm-boards table, which the firmware is built from.
//!
//! How fast it writes there: the characters per second of charm-boards'
//! per-core cost model (`Board::chars_per_second`: estimated cycles per
//! character from H and V, fitted to QEMU's instruction traces priced by
//! each core's published timings) at the board's clock. A fixed int8 file
//! (`charm quantize --layout fixed`) is priced by its own cost model
//! (`Element::Int8Fixed`), and on the Cortex-M4F boards, whose default
//! firmware leaves that layout out, it names the feature that builds it.
//!
//! A model of other cells and depths (format version 5) runs on the
//! firmware built with `--features cells`, in f32 and in int8: its flash is
//! the file (of an f32 file's int8 form: the size `charm quantize` gives,
//! computed from the shape); its RAM the state and the next state, `layers ·
//! H` f32 values each (twice that for an LSTM, whose layers carry c too), in
//! the cells firmware's f32 state buffers of `Board::max_state` values
//! (int8: their Q15 or int8 levels, `charm_boards::stacked_state_bytes_as`),
//! and V f32 logits; its
//! speed the cells cost model (`Board::stacked_chars_per_second`, whose int8
//! figure is that of int8 row pairs).

use crate::error::Error;
use crate::files::model_file::ModelBytes;
use crate::math::params::{Params, Shape};
use std::path::Path;

/// A model file's tensor element type, as `charm info` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// f32.
    F32,
    /// int8 row pairs.
    Int8,
    /// int8 tiles (the Cortex-M55's layout).
    Int8Tiles,
    /// int8 row pairs in integer arithmetic.
    Int8Fixed,
}

impl Element {
    /// The element type of decoded weights, by charm-core's element byte.
    pub fn of(weights: &charm_core::Weights<'_>) -> Self {
        match weights.element() {
            charm_core::ELEMENT_F32 => Element::F32,
            charm_core::ELEMENT_INT8_TILES => Element::Int8Tiles,
            charm_core::ELEMENT_INT8_FIXED => Element::Int8Fixed,
            _ => Element::Int8,
        }
    }

    /// `"f32"`, `"int8"` (row pairs), `"int8 tiles"` or `"int8 fixed"`:
    /// the name `charm info` prints and its JSON holds.
    pub const fn name(self) -> &'static str {
        match self {
            Element::F32 => "f32",
            Element::Int8 => "int8",
            Element::Int8Tiles => "int8 tiles",
            Element::Int8Fixed => "int8 fixed",
        }
    }
}

impl std::fmt::Display for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Element {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Everything `charm info` reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Info {
    /// The file.
    pub file: String,
    /// Size in bytes.
    pub file_size: usize,
    /// Weight format version.
    pub format_version: u16,
    /// Tensor element type.
    pub element: Element,
    /// Bytes of tensor data.
    pub tensor_bytes: usize,
    /// The recurrent cell of its layers: "rnn", "gru" or "lstm".
    pub cell: String,
    /// Layers.
    pub layers: usize,
    /// Hidden size H.
    pub hidden: usize,
    /// Vocabulary size V.
    pub vocab_size: usize,
    /// The vocabulary, in index order.
    pub vocab: String,
    /// Real parameters: 2·V·H + H·H + H + V for one rnn layer (see
    /// [`Shape::count`] for the others).
    pub parameters: usize,
    /// Optimizer steps.
    pub steps: u64,
    /// Training characters consumed.
    pub chars_seen: u64,
    /// Smoothed training loss at the end, nats/char.
    pub train_loss_nats_per_char: f64,
    /// Validation loss at the end, nats/char (trainer's estimate).
    pub val_loss_nats_per_char: f64,
    /// CRC-32 of the training corpus.
    pub corpus_crc32: String,
    /// Training corpus length in characters.
    pub corpus_chars: u64,
    /// Training seed.
    pub seed: u64,
    /// What the model needs on a device, as f32 and as int8 (for other
    /// cells and depths: as the file's element type, and an f32 file's as
    /// int8 row pairs too).
    pub device: Vec<DeviceNeeds>,
    /// Which boards it fits.
    pub boards: Vec<BoardFit>,
}

/// What a model needs on a device in one element type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceNeeds {
    /// f32, int8 (row pairs), int8 tiles or int8 fixed.
    pub element: Element,
    /// Bytes of flash: the `.charm` file in this element type.
    pub flash_bytes: u64,
    /// Bytes of RAM for the state while generating.
    pub state_ram_bytes: u64,
}

/// Whether a model runs on one board, as f32 and as int8, and how fast.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BoardFit {
    /// The board (charm-boards' name, the firmware's `board-NAME` feature).
    pub board: &'static str,
    /// What it is.
    pub summary: &'static str,
    /// `None` if the f32 model fits, else why not.
    pub f32_misfit: Option<String>,
    /// `None` if the int8 model fits, else why not.
    pub int8_misfit: Option<String>,
    /// Estimated characters per second of the f32 model on the board, if it
    /// fits and the board has a clock (QEMU's `virt` machines have none).
    pub f32_chars_per_second: Option<f64>,
    /// The same for the int8 model.
    pub int8_chars_per_second: Option<f64>,
    /// The cargo features the firmware must be built with to run the model:
    /// `"cells"` for other cells and depths, `"fixed"` for a fixed int8
    /// model on a board whose default build leaves that layout out (the
    /// Cortex-M4F boards'); absent where the default build runs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_features: Option<&'static str>,
}

impl BoardFit {
    /// What the line of `charm train` and `charm quantize` says of this
    /// board: whether the model fits, as which element type, how fast.
    fn summary_for_fit_line(&self, int8: Element) -> String {
        let int8 = int8.name();
        let speed = |element: &str, rate: Option<f64>| {
            rate.map_or(element.to_string(), |r| {
                format!("{element} {} chars/s", chars_per_second_text(r))
            })
        };
        match (&self.f32_misfit, &self.int8_misfit) {
            (None, None) => match (self.f32_chars_per_second, self.int8_chars_per_second) {
                (None, None) => format!("{} (f32 and int8)", self.board),
                (f, i) => format!("{} ({}, {})", self.board, speed("f32", f), speed(int8, i)),
            },
            (Some(why), None) => format!(
                "{} ({} only; f32: {why})",
                self.board,
                speed(int8, self.int8_chars_per_second)
            ),
            (None, Some(why)) => format!(
                "{} ({} only; {int8}: {why})",
                self.board,
                speed("f32", self.f32_chars_per_second)
            ),
            (Some(why), Some(_)) => format!("not {} ({why})", self.board),
        }
    }
}

/// Characters per second as the tables of docs/performance.md print them:
/// whole numbers with thousands separators from 100 up, one decimal from
/// 10, two below.
pub fn chars_per_second_text(rate: f64) -> String {
    if rate >= 100.0 {
        let digits = format!("{:.0}", rate);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if rate >= 10.0 {
        format!("{rate:.1}")
    } else {
        format!("{rate:.2}")
    }
}

/// Flash and RAM of a model with this shape, whose `element` file is
/// `file_bytes` long, in both element types (f32 first; then int8 row
/// pairs, or the file's own fixed int8).
pub fn device_needs(
    hidden: usize,
    vocab: usize,
    element: Element,
    file_bytes: usize,
) -> [DeviceNeeds; 2] {
    let f32_block = 4 * charm_core::tensor_lengths(hidden, vocab)
        .iter()
        .sum::<usize>();
    let (n8, n32) = charm_core::quant_tensor_lengths(hidden, vocab);
    let int8_block = n8.iter().sum::<usize>() + 4 * n32.iter().sum::<usize>();
    let (t8, t32) = charm_core::tile_tensor_lengths(hidden, vocab);
    let tiles_block = t8.iter().sum::<usize>() + 4 * t32.iter().sum::<usize>();
    let (f8, f32s) = charm_core::fixed_tensor_lengths(hidden, vocab);
    let fixed_block = f8.iter().sum::<usize>() + 4 * f32s.iter().sum::<usize>();
    // The files differ only in their tensor blocks (same header length).
    let header = file_bytes.saturating_sub(match element {
        Element::F32 => f32_block,
        Element::Int8 => int8_block,
        Element::Int8Tiles => tiles_block,
        Element::Int8Fixed => fixed_block,
    });
    let (h, v) = (hidden as u32, vocab as u32);
    // an f32 or row-pair file's int8 form is row pairs; a fixed file's is itself
    let (int8_element, int8_block) = match element {
        Element::Int8Fixed => (Element::Int8Fixed, fixed_block),
        _ => (Element::Int8, int8_block),
    };
    [
        DeviceNeeds {
            element: Element::F32,
            flash_bytes: (header + f32_block) as u64,
            state_ram_bytes: u64::from(charm_boards::state_bytes(h, v, 4)),
        },
        // fixed int8 keeps the row pairs' Q15 state
        DeviceNeeds {
            element: int8_element,
            flash_bytes: (header + int8_block) as u64,
            state_ram_bytes: u64::from(charm_boards::state_bytes(h, v, 2)),
        },
    ]
}

/// The shape of a model of other cells and depths as charm-boards sees it,
/// or `None` for a cell it does not know.
pub fn stacked_shape(
    cell: charm_core::Cell,
    layers: usize,
    hidden: usize,
    vocab: usize,
) -> Option<charm_boards::StackedShape> {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Some(charm_boards::StackedShape {
        cell: charm_boards::Cell::from_name(cell.name())?,
        layers: count(layers),
        hidden: count(hidden),
        vocab: count(vocab),
    })
}

/// Bytes of the tensor blocks of a model of other cells and depths of
/// `shape`: as f32 (every layer's four tensors, [`charm_core::layer_tensor_lengths`],
/// then `why` V·padded(H) and `by` V) and as int8 row pairs (`charm
/// quantize`: every layer's int8 matrices and f32 scales and biases,
/// [`charm_core::int8_layer_tensor_lengths`], then `why` as a matrix of V
/// rows, its V scales and `by`).
fn stacked_blocks(shape: &charm_boards::StackedShape) -> (usize, usize) {
    use charm_core::Int8Layout;
    let cell = match shape.cell {
        charm_boards::Cell::Rnn => charm_core::Cell::Rnn,
        charm_boards::Cell::Gru => charm_core::Cell::Gru,
        charm_boards::Cell::Lstm => charm_core::Cell::Lstm,
    };
    let (h, v) = (shape.hidden as usize, shape.vocab as usize);
    let (mut f32_values, mut int8_bytes) = (v * charm_core::padded(h) + v, 0usize);
    int8_bytes += charm_core::RowPairs::matrix_len(v, h) + 4 * (v + v);
    for layer in 0..shape.layers as usize {
        f32_values += charm_core::layer_tensor_lengths(cell, h, v, layer)
            .iter()
            .sum::<usize>();
        let (i8s, f32s) =
            charm_core::int8_layer_tensor_lengths::<charm_core::RowPairs>(cell, h, v, layer);
        int8_bytes += i8s.iter().sum::<usize>() + 4 * f32s.iter().sum::<usize>();
    }
    (4 * f32_values, int8_bytes)
}

/// Flash and RAM of a model of other cells and depths whose `element` file
/// is `file_bytes` long: the file itself, and the state the cells firmware
/// keeps ([`charm_boards::stacked_state_bytes_as`]); of an f32 file, its
/// int8 row pairs too (the files differ only in their tensor blocks, as the
/// one-layer models'; the blocks from the shape alone).
pub fn stacked_device_needs(
    shape: &charm_boards::StackedShape,
    element: Element,
    file_bytes: usize,
) -> Vec<DeviceNeeds> {
    let needs = |element: Element, bytes: usize| DeviceNeeds {
        element,
        flash_bytes: bytes as u64,
        state_ram_bytes: charm_boards::stacked_state_bytes_as(shape, state_layout(element)),
    };
    match element {
        Element::F32 => {
            let (f32_block, int8_block) = stacked_blocks(shape);
            let header = file_bytes.saturating_sub(f32_block);
            vec![
                needs(Element::F32, file_bytes),
                needs(Element::Int8, header + int8_block),
            ]
        }
        element => vec![needs(element, file_bytes)],
    }
}

/// How the cells firmware keeps the state of a model of other cells and
/// depths whose file's element type is `element`.
fn state_layout(element: Element) -> charm_boards::StateLayout {
    match element {
        Element::F32 => charm_boards::StateLayout::F32,
        Element::Int8 | Element::Int8Fixed => charm_boards::StateLayout::Int8RowPairs,
        Element::Int8Tiles => charm_boards::StateLayout::Int8Tiles,
    }
}

/// What `f32_misfit` says of an int8 file of other cells and depths.
const F32_OF_INT8_FILE: &str = "not estimated from an int8 file";

/// Every board of the charm-boards table, whether a model of other cells
/// and depths fits the firmware built for it with `--features cells`, and
/// how fast it writes there, in each element type of `needs`
/// ([`stacked_device_needs`]); f32 is not estimated from an int8 file.
pub fn stacked_board_fits(
    shape: &charm_boards::StackedShape,
    needs: &[DeviceNeeds],
) -> Vec<BoardFit> {
    charm_boards::BOARDS
        .iter()
        .map(|b| {
            // (misfit, chars/s) of one element type's needs
            let verdict = |n: &DeviceNeeds, element| match b.fits_stacked_as(
                shape,
                state_layout(n.element),
                n.flash_bytes,
            ) {
                Ok(()) => (None, b.stacked_chars_per_second(shape, element)),
                Err(m) => (Some(m.to_string()), None),
            };
            let f32_needs = needs.iter().find(|n| n.element == Element::F32);
            let int8_needs = needs.iter().find(|n| n.element != Element::F32);
            let (f32_misfit, f32_rate) = f32_needs.map_or_else(
                || (Some(F32_OF_INT8_FILE.to_string()), None),
                |n| verdict(n, charm_boards::Element::F32),
            );
            let (int8_misfit, int8_rate) = int8_needs.map_or_else(
                || (Some("no int8 form".to_string()), None),
                |n| verdict(n, charm_boards::Element::Int8),
            );
            BoardFit {
                board: b.name,
                summary: b.summary,
                f32_misfit,
                int8_misfit,
                f32_chars_per_second: f32_rate,
                int8_chars_per_second: int8_rate,
                firmware_features: Some("cells"),
            }
        })
        .collect()
}

/// The line `charm train` and `charm import` end with for a model of other
/// cells and depths: the boards whose cells firmware runs it, how fast, and
/// its flash.
pub fn stacked_fit_line(
    shape: &charm_boards::StackedShape,
    element: Element,
    file_bytes: usize,
) -> String {
    let needs = stacked_device_needs(shape, element, file_bytes);
    let fits = stacked_board_fits(shape, &needs);
    let speed = |name: &str, rate: Option<f64>| {
        rate.map_or(name.to_string(), |r| {
            format!("{name} {} chars/s", chars_per_second_text(r))
        })
    };
    let each: Vec<String> = fits
        .iter()
        .filter_map(|f| {
            let f32_fits = f.f32_misfit.is_none();
            let int8_fits = f.int8_misfit.is_none();
            let int8_name = needs.last().map_or(Element::Int8, |n| n.element);
            let int8 = speed(int8_name.name(), f.int8_chars_per_second);
            match (f32_fits, int8_fits) {
                (true, true) if f.f32_chars_per_second.is_none() => Some(f.board.to_string()),
                (true, true) => Some(format!(
                    "{} ({}, {int8})",
                    f.board,
                    speed("f32", f.f32_chars_per_second)
                )),
                (true, false) => Some(format!(
                    "{} ({} only)",
                    f.board,
                    speed("f32", f.f32_chars_per_second)
                )),
                (false, true) if element == Element::F32 => {
                    Some(format!("{} ({int8} only)", f.board))
                }
                (false, true) => Some(format!("{} ({int8})", f.board)),
                (false, false) => None,
            }
        })
        .collect();
    let boards = if each.is_empty() {
        "no board".to_string()
    } else {
        each.join(", ")
    };
    let flash = match &needs[..] {
        [f32, int8] => format!(
            "flash {} bytes as f32, {} as int8",
            f32.flash_bytes, int8.flash_bytes
        ),
        _ => format!(
            "flash {} bytes as {}, f32 not estimated from an int8 file",
            file_bytes, needs[0].element
        ),
    };
    format!(
        "fits: {boards}, with the firmware built with --features cells; {flash} (see `charm \
         info --model M`)"
    )
}

/// Every board of the charm-boards table, whether the model fits it, and
/// how fast it writes there.
pub fn board_fits(hidden: usize, vocab: usize, needs: &[DeviceNeeds; 2]) -> Vec<BoardFit> {
    let (h, v) = (hidden as u32, vocab as u32);
    charm_boards::BOARDS
        .iter()
        .map(|b| {
            let misfit = |n: &DeviceNeeds| b.fits(h, v, n.flash_bytes).err().map(|m| m.to_string());
            let (f32_misfit, int8_misfit) = (misfit(&needs[0]), misfit(&needs[1]));
            let rate = |misfit: &Option<String>, element| {
                misfit
                    .is_none()
                    .then(|| b.chars_per_second(h, v, element))
                    .flatten()
            };
            let fixed = needs[1].element == Element::Int8Fixed;
            let int8 = if fixed {
                charm_boards::Element::Int8Fixed
            } else {
                charm_boards::Element::Int8
            };
            BoardFit {
                board: b.name,
                summary: b.summary,
                f32_chars_per_second: rate(&f32_misfit, charm_boards::Element::F32),
                int8_chars_per_second: rate(&int8_misfit, int8),
                f32_misfit,
                int8_misfit,
                firmware_features: (fixed && !b.core.fixed_by_default).then_some("fixed"),
            }
        })
        .collect()
}

/// The one line `charm train` and `charm quantize` end with: which boards
/// the model runs on, as f32 and as int8, and how many characters a second
/// it writes on each.
pub fn fit_line(hidden: usize, vocab: usize, element: Element, file_bytes: usize) -> String {
    let needs = device_needs(hidden, vocab, element, file_bytes);
    let fits = board_fits(hidden, vocab, &needs);
    let each: Vec<String> = fits
        .iter()
        .map(|f| f.summary_for_fit_line(needs[1].element))
        .collect();
    let tiles = match element {
        Element::Int8Tiles => {
            "; int8 tiles run on the Cortex-M55 firmware (board mps3-an547) and the host, \
             `--layout pairs` on every board"
        }
        Element::Int8Fixed => {
            "; int8 fixed runs on every board's default firmware but the Cortex-M4F boards' \
             (build it there with --features fixed)"
        }
        Element::F32 | Element::Int8 => "",
    };
    format!(
        "fits: {}; flash {} bytes as f32, {} as {} (see `charm info --model M`){tiles}",
        each.join(", "),
        needs[0].flash_bytes,
        needs[1].flash_bytes,
        needs[1].element
    )
}

/// Reads a model file's facts.
pub fn run(path: &Path) -> Result<Info, Error> {
    let m = ModelBytes::load(path)?;
    let f = m.file()?;
    let (hidden, vocab_size) = (f.weights.hidden(), f.weights.vocab());
    let shape = Shape {
        cell: f.weights.cell(),
        layers: f.weights.depth(),
        hidden,
        vocab: vocab_size,
    };
    // One tanh layer runs on every build, as f32 and as int8; other cells
    // and depths on the cells firmware, as the file's element type.
    let element = Element::of(&f.weights);
    let (device, boards) = if shape.is_vanilla() {
        let device = device_needs(hidden, vocab_size, element, m.size());
        let boards = board_fits(hidden, vocab_size, &device);
        (device.to_vec(), boards)
    } else if let Some(stacked) = stacked_shape(shape.cell, shape.layers, hidden, vocab_size) {
        let needs = stacked_device_needs(&stacked, element, m.size());
        let boards = stacked_board_fits(&stacked, &needs);
        (needs, boards)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Info {
        file: path.display().to_string(),
        file_size: m.size(),
        format_version: f.version,
        element,
        tensor_bytes: f.weights.tensor_bytes(),
        cell: shape.cell.name().into(),
        layers: shape.layers,
        hidden,
        vocab_size,
        vocab: f.vocab.as_str().to_string(),
        parameters: if shape.is_vanilla() {
            Params::<f32>::count(hidden, vocab_size)
        } else {
            shape.count()
        },
        steps: f.meta.steps,
        chars_seen: f.meta.chars_seen,
        train_loss_nats_per_char: f.meta.train_loss as f64,
        val_loss_nats_per_char: f.meta.val_loss as f64,
        corpus_crc32: format!("{:08x}", f.meta.corpus_crc32),
        corpus_chars: f.meta.corpus_chars,
        seed: f.meta.seed,
        device,
        boards,
    })
}

impl Info {
    /// The human-readable report.
    pub fn text(&self) -> String {
        let vocab: String = self.vocab.escape_debug().collect();
        format!(
            "file:            {} ({} bytes)\nformat version:  {} ({} weights, {} bytes of tensors)\nlayers:          {} of {} cells\nhidden size H:   {}\nvocabulary V:    {} characters: \"{}\"\n\
             parameters:      {}\n",
            self.file,
            self.file_size,
            self.format_version,
            self.element,
            self.tensor_bytes,
            self.layers,
            self.cell,
            self.hidden,
            self.vocab_size,
            vocab,
            self.parameters,
        ) + &self.training_text()
            + &self.device_text()
    }

    /// The training record, or a line saying the file has none (a model
    /// made by `charm import` carries no steps, losses or corpus).
    fn training_text(&self) -> String {
        if self.steps == 0 && self.chars_seen == 0 && self.corpus_chars == 0 {
            return "training:        none recorded in this file (made by charm import, not charm train)"
                .into();
        }
        format!(
            "training:        {} steps, {} characters seen, seed {}\n\
             loss:            train {:.4} nats/char, validation {:.4} nats/char ({:.4} bits/char)\n\
             corpus:          {} characters, CRC-32 {}",
            self.steps,
            self.chars_seen,
            self.seed,
            self.train_loss_nats_per_char,
            self.val_loss_nats_per_char,
            self.val_loss_nats_per_char / std::f64::consts::LN_2,
            self.corpus_chars,
            self.corpus_crc32
        )
    }

    fn device_text(&self) -> String {
        let mut s = String::new();
        if self.device.is_empty() {
            return "\non a device:    none yet: the firmware runs no model of this cell; charm \
                    sample and charm eval run it"
                .into();
        }
        if self
            .boards
            .iter()
            .any(|b| b.firmware_features == Some("cells"))
        {
            return self.stacked_device_text();
        }
        for (i, n) in self.device.iter().enumerate() {
            let origin = if n.element == self.element {
                "this file"
            } else if n.element == Element::Int8 && self.element == Element::Int8Tiles {
                "as row pairs, after charm quantize --layout pairs; this file's int8 tiles \
                 run on the Cortex-M55 firmware"
            } else if n.element == Element::Int8 {
                "after charm quantize"
            } else {
                "the f32 model it came from"
            };
            s += &format!(
                "\n{:<17}{}: {} bytes of flash ({origin}), {} bytes of RAM for the state",
                if i == 0 { "on a device:" } else { "" },
                n.element,
                n.flash_bytes,
                n.state_ram_bytes
            );
        }
        let int8 = self.device.get(1).map_or(Element::Int8, |n| n.element);
        for (i, f) in self.boards.iter().enumerate() {
            let verdict = |m: &Option<String>, rate: Option<f64>| match (m, rate) {
                (None, None) => "fits".to_string(),
                (None, Some(r)) => format!("fits, {} chars/s", chars_per_second_text(r)),
                (Some(why), _) => format!("does not fit: {why}"),
            };
            let features = match (&f.int8_misfit, f.firmware_features) {
                (None, Some(features)) => {
                    format!(" (the firmware built with --features {features})")
                }
                _ => String::new(),
            };
            s += &format!(
                "\n{:<17}{}: f32 {}; {int8} {}{features} — {}",
                if i == 0 { "boards:" } else { "" },
                f.board,
                verdict(&f.f32_misfit, f.f32_chars_per_second),
                verdict(&f.int8_misfit, f.int8_chars_per_second),
                f.summary
            );
        }
        s += &format!(
            "\n{:<17}chars/s: estimated at each board's clock by its core's cost model \
             (within {}% of QEMU's cycle estimates; zero flash wait states; docs/performance.md)",
            "",
            charm_boards::FIT_ERROR_PERCENT
        );
        s
    }

    /// The device lines of a model of other cells and depths: its flash and
    /// state, then each board as the cells firmware runs it.
    fn stacked_device_text(&self) -> String {
        let mut s = String::new();
        let lstm = self.cell == "lstm";
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let shape =
            charm_boards::Cell::from_name(&self.cell).map(|cell| charm_boards::StackedShape {
                cell,
                layers: count(self.layers),
                hidden: count(self.hidden),
                vocab: count(self.vocab_size),
            });
        for (i, n) in self.device.iter().enumerate() {
            let layout = state_layout(n.element);
            let values = shape.map_or(0, |shape| shape.state_values_as(layout));
            let what = match (layout, lstm) {
                (charm_boards::StateLayout::F32, false) => "f32 values: layers x H",
                (charm_boards::StateLayout::F32, true) => "f32 values: layers x H x 2 for h and c",
                (charm_boards::StateLayout::Int8RowPairs, false) => {
                    "Q15 values: layers x H rounded up to 8"
                }
                (charm_boards::StateLayout::Int8RowPairs, true) => {
                    "Q15 values: layers x H rounded up to 8, x 3 for h and the f32 c"
                }
                (charm_boards::StateLayout::Int8Tiles, false) => {
                    "int8 values: layers x H rounded up to 16"
                }
                (charm_boards::StateLayout::Int8Tiles, true) => {
                    "int8 values: layers x H rounded up to 16, x 5 for h and the f32 c"
                }
            };
            let origin = if n.element == self.element {
                "this file"
            } else {
                "as row pairs, after charm quantize"
            };
            s += &format!(
                "\n{:<17}{}: {} bytes of flash ({origin}), {} bytes of RAM for the state \
                 ({values} {what}, as state and next state, and V logits)",
                if i == 0 { "on a device:" } else { "" },
                n.element,
                n.flash_bytes,
                n.state_ram_bytes,
            );
        }
        for (i, f) in self.boards.iter().enumerate() {
            let verdict = |m: &Option<String>, rate: Option<f64>| match (m, rate) {
                (None, None) => "fits".to_string(),
                (None, Some(r)) => format!("fits, {} chars/s", chars_per_second_text(r)),
                (Some(why), _) if why.starts_with("not estimated") => "not estimated".to_string(),
                (Some(why), _) => format!("does not fit: {why}"),
            };
            s += &format!(
                "\n{:<17}{}: f32 {}; int8 {} — {}",
                if i == 0 { "boards:" } else { "" },
                f.board,
                verdict(&f.f32_misfit, f.f32_chars_per_second),
                verdict(&f.int8_misfit, f.int8_chars_per_second),
                f.summary
            );
        }
        s += &format!(
            "\n{:<17}every board with the firmware built with --features cells \
             (scripts/build-firmware.sh --board NAME --features cells); the default build refuses \
             format version 5\n{:<17}chars/s: estimated at each board's clock by its core's \
             cost model of these cells (f32 within {}%, int8 within {}% of QEMU's cycle \
             estimates; zero flash wait states; int8 as row pairs, which are slower than tiles \
             on the Cortex-M55; docs/performance.md)",
            "",
            "",
            charm_boards::CELLS_FIT_ERROR_PERCENT,
            charm_boards::CELLS_INT8_FIT_ERROR_PERCENT
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_line_of_a_stacked_model_names_the_cells_firmware() {
        // 2 GRU layers of H 128 over V 65: 256 state values (f32, or Q15
        // as int8), which every board's buffers hold.
        let shape = stacked_shape(charm_core::Cell::Gru, 2, 128, 65).unwrap();
        // Its tensor blocks. f32: layer 1 wx 65·384, wh 384·128, bx and bh
        // 384; layer 2 wx and wh 384·128, bx and bh 384; why 65·128, by 65:
        // 182,337 values. int8 row pairs: layer 1 wx 65·384 + wh 3·128·128
        // bytes and 65 + 3·384 f32s; layer 2 2·3·128·128 bytes and 4·384
        // f32s; why 66·128 bytes (33 pairs of rows) and 2·65 f32s.
        let f32_block = 4 * 182_337;
        let int8_block = (24_960 + 49_152 + 98_304 + 8_448) + 4 * (65 + 3 * 384 + 4 * 384 + 130);
        assert_eq!(stacked_blocks(&shape), (f32_block, int8_block));
        // A file of a 100-byte header (its int8 form has the same header):
        // 729,448 bytes as f32, within the nRF52840's 896 KiB region, over
        // the STM32F411's 448 KiB and the micro:bit's 192 KiB; 192,496 as
        // int8, within all three.
        let line = stacked_fit_line(&shape, Element::F32, f32_block + 100);
        let rate = |name: &str, element| {
            let board = charm_boards::board(name).unwrap();
            chars_per_second_text(board.stacked_chars_per_second(&shape, element).unwrap())
        };
        let (f32, int8) = (charm_boards::Element::F32, charm_boards::Element::Int8);
        let both = |name: &str| {
            format!(
                "{name} (f32 {} chars/s, int8 {} chars/s)",
                rate(name, f32),
                rate(name, int8)
            )
        };
        let expected = format!(
            "fits: microbit (int8 {} chars/s only), mps2-an385, mps2-an386, mps2-an500, \
             mps2-an505, mps3-an547, riscv32-virt, riscv32imc-virt, {}, {}, {}, {}, stm32f411 \
             (int8 {} chars/s only), with the firmware built with --features cells; flash {} \
             bytes as f32, {} as int8 (see `charm info --model M`)",
            rate("microbit", int8),
            both("nrf52840"),
            both("rp2040"),
            both("rp2350"),
            both("esp32c3"),
            rate("stm32f411", int8),
            f32_block + 100,
            int8_block + 100
        );
        assert_eq!(line, expected);
        // Too large for every board: no board.
        let huge = stacked_shape(charm_core::Cell::Gru, 1, 600, 65).unwrap();
        assert!(
            stacked_fit_line(&huge, Element::F32, 100)
                .starts_with("fits: no board, with the firmware"),
            "{}",
            stacked_fit_line(&huge, Element::F32, 100)
        );
        // The RAM of the state: 256 f32 values, twice, and 65 logits; as
        // int8, 256 Q15 values, twice, and the logits.
        let needs = stacked_device_needs(&shape, Element::F32, f32_block + 100);
        assert_eq!(needs[0].state_ram_bytes, 2 * 4 * 256 + 4 * 65);
        assert_eq!(needs[0].flash_bytes, f32_block as u64 + 100);
        assert_eq!(needs[1].state_ram_bytes, 2 * 2 * 256 + 4 * 65);
        assert_eq!(needs[1].flash_bytes, int8_block as u64 + 100);
    }
}
