//! Decoding a weight file in place: no allocation, every check in a fixed
//! order, a typed error for each way it can fail.

use super::header::{u16_at, u32_at};
use super::weights::block_len;
#[cfg(feature = "cells")]
use super::weights::stacked_block_len;
#[cfg(feature = "cells")]
use super::weights::stacked_int8_block_len;
#[cfg(feature = "cells")]
use super::VERSION_CELLS;
use super::{
    crc32, AnyCharmFile, CharmFile, FormatError, Header, Weights, ELEMENT_F32, ELEMENT_INT8,
    ELEMENT_INT8_FIXED, ELEMENT_INT8_TILES, MAGIC, MAX_HIDDEN, MAX_VOCAB, PREAMBLE_LEN,
    TENSOR_ALIGN, VERSION, VERSION_INT8_TILES,
};
#[cfg(feature = "fixed")]
use crate::int8::fixed::{fixed_tensor_lengths, FixedModelView, FixedTensors};
use crate::int8::row_pairs::{quant_tensor_lengths, QuantModelView, MAX_HIDDEN_INT8};
#[cfg(all(feature = "cells", feature = "tiles"))]
use crate::int8::stacked::Tiles;
#[cfg(feature = "cells")]
use crate::int8::stacked::{
    int8_layer_tensor_lengths, int8_layer_tensor_name, Int8LayerTensors, Int8Layout,
    Int8StackedModelView, RowPairs,
};
use crate::int8::tensors::QuantTensors;
#[cfg(feature = "tiles")]
use crate::int8::tiles::{tile_tensor_lengths, TiledModelView};
use crate::model::{tensor_lengths, ModelView};
use crate::vocab::Vocab;
#[cfg(feature = "cells")]
use crate::{
    cell::{Cell, MAX_LAYERS},
    kernels::padded,
    model::{layer_tensor_lengths, layer_tensor_name, LayerTensors, StackedModelView},
};

/// Bytes of a model's tensor block, or `None` for an impossible shape.
fn tensor_block_len(element: u8, hidden: usize, vocab: usize) -> Option<usize> {
    if hidden == 0 || hidden > MAX_HIDDEN || vocab > MAX_VOCAB {
        return None;
    }
    Some(block_len(element, hidden, vocab))
}

/// The first weight of `floats` that is NaN or infinite, as
/// [`FormatError::NonFinite`]: `floats` holds the `tensors` (name, length)
/// one after another, as a file does.
pub(super) fn check_finite(
    floats: &[f32],
    tensors: &[(&'static str, usize)],
) -> Result<(), FormatError> {
    let Some(mut index) = floats.iter().position(|w| !w.is_finite()) else {
        return Ok(());
    };
    for &(tensor, len) in tensors {
        if index < len {
            return Err(FormatError::NonFinite { tensor, index });
        }
        index -= len;
    }
    // Past the tensors named: the caller's lengths do not add up.
    Err(FormatError::Malformed)
}

/// A file whose CRC does not match and whose last [`BLANK_TAIL`] bytes or
/// more (the CRC among them) are all `0x00` or all `0xFF` was cut short where
/// that run starts: erased flash (`0xFF`) or memory never written (`0x00`)
/// follows a partial copy. Returns where the run starts. So a device, which
/// sees a whole flash region past a truncated file, gives the same reason as
/// a host, which sees the file end.
fn blank_tail(bytes: &[u8], len: usize) -> Option<usize> {
    let last = *bytes[..len].last()?;
    if last != 0x00 && last != 0xFF {
        return None;
    }
    let start = bytes[..len]
        .iter()
        .rposition(|&b| b != last)
        .map_or(0, |i| i + 1);
    (len - start >= BLANK_TAIL).then_some(start)
}

/// The shortest run of blank bytes at the end of a file that [`decode_any`]
/// reads as a truncated copy rather than a corrupted one: the CRC and 12
/// bytes before it.
pub const BLANK_TAIL: usize = 16;

/// The newest format version [`decode_any`] reads: [`VERSION`] with feature
/// `cells`, 4 without it (a firmware that runs one tanh layer leaves the
/// other cells out, and their decoding with them).
pub const READ_VERSION: u16 = if cfg!(feature = "cells") {
    VERSION
} else {
    VERSION_INT8_TILES
};

/// Decodes a weight file of either element type in place. `bytes` may
/// continue past the file (a flash region does); [`AnyCharmFile::len`] says
/// where the file ends.
///
/// Checks, in this order: length of the preamble, magic, version, declared
/// length, CRC (a mismatch over a blank tail is reported as
/// [`FormatError::Truncated`], see [`BLANK_TAIL`]), header, cell and depth
/// (version 5), element type,
/// vocabulary, sizes, alignment, finiteness.
/// Never panics and never allocates.
///
/// ```
/// use charm_core::{decode_any, FormatError};
/// assert_eq!(decode_any(b"CHR").unwrap_err(), FormatError::Truncated { needed: 12, available: 3 });
/// assert_eq!(decode_any(b"PNG\x0d........").unwrap_err(), FormatError::BadMagic);
/// ```
pub fn decode_any(bytes: &[u8]) -> Result<AnyCharmFile<'_>, FormatError> {
    if bytes.len() < PREAMBLE_LEN {
        if bytes.len() >= 4 && bytes[..4] != MAGIC {
            return Err(FormatError::BadMagic);
        }
        return Err(FormatError::Truncated {
            needed: PREAMBLE_LEN,
            available: bytes.len(),
        });
    }
    if bytes[..4] != MAGIC {
        return Err(FormatError::BadMagic);
    }
    let version = u16_at(bytes, 4);
    if !(1..=READ_VERSION).contains(&version) {
        return Err(FormatError::UnsupportedVersion {
            found: version,
            supported: READ_VERSION,
        });
    }
    let len = u32_at(bytes, 8) as usize;
    if len < PREAMBLE_LEN + 4 {
        return Err(FormatError::Malformed);
    }
    if bytes.len() < len {
        return Err(FormatError::Truncated {
            needed: len,
            available: bytes.len(),
        });
    }
    let body = &bytes[..len - 4];
    let stored = u32_at(bytes, len - 4);
    let computed = crc32(body);
    if stored != computed {
        return Err(match blank_tail(bytes, len) {
            Some(available) => FormatError::Truncated {
                needed: len,
                available,
            },
            None => FormatError::CrcMismatch { stored, computed },
        });
    }
    if u16_at(bytes, 6) != 0 {
        return Err(FormatError::Malformed);
    }
    let (header, rest) =
        Header::from_postcard(&body[PREAMBLE_LEN..]).ok_or(FormatError::Malformed)?;
    // Version 5: the cell and the depth follow the header; f32, int8 row
    // pairs, and int8 tiles with feature tiles.
    #[cfg(feature = "cells")]
    let (stack, rest) = match version {
        VERSION_CELLS.. => {
            let ((cell, depth), rest) = cell_and_depth(rest)?;
            match header.element {
                ELEMENT_F32 | ELEMENT_INT8 => {}
                #[cfg(feature = "tiles")]
                ELEMENT_INT8_TILES => {}
                other => return Err(FormatError::UnsupportedElement(other)),
            }
            (Some((cell, depth)), rest)
        }
        _ => (None, rest),
    };
    match (header.element, version) {
        (ELEMENT_F32, _)
        | (ELEMENT_INT8, 3..)
        | (ELEMENT_INT8_TILES, 4..)
        | (ELEMENT_INT8_FIXED, 4..) => {}
        (ELEMENT_INT8, 2) => return Err(FormatError::RetiredInt8Layout),
        (other, _) => return Err(FormatError::UnsupportedElement(other)),
    }
    let (hidden, vocab_size) = (header.hidden as usize, header.vocab_size as usize);
    if vocab_size > MAX_VOCAB {
        return Err(FormatError::VocabularyTooLarge {
            size: vocab_size,
            max: MAX_VOCAB,
        });
    }
    let vocab = Vocab::new(header.vocab)?;
    if vocab.len() != vocab_size {
        return Err(FormatError::BadVocabulary);
    }
    let header_end = len - 4 - rest.len();
    let data_start = header_end.next_multiple_of(TENSOR_ALIGN);
    let block = tensor_block_len(header.element, hidden, vocab_size);
    #[cfg(feature = "cells")]
    let block = match (stack, header.element) {
        (Some((cell, depth)), ELEMENT_F32) => {
            block.and(stacked_block_len(cell, hidden, vocab_size, depth))
        }
        (Some((cell, depth)), ELEMENT_INT8) => {
            int8_capacity(hidden, vocab_size)?;
            block.and(stacked_int8_block_len::<RowPairs>(
                cell, hidden, vocab_size, depth,
            ))
        }
        #[cfg(feature = "tiles")]
        (Some((cell, depth)), _) => {
            int8_capacity(hidden, vocab_size)?;
            block.and(stacked_int8_block_len::<Tiles>(
                cell, hidden, vocab_size, depth,
            ))
        }
        #[cfg(not(feature = "tiles"))]
        (Some(_), other) => return Err(FormatError::UnsupportedElement(other)),
        (None, _) => block,
    };
    let block = block.ok_or(FormatError::Malformed)?;
    if data_start.checked_add(block) != Some(len - 4) {
        return Err(FormatError::Malformed);
    }
    if body[header_end..data_start].iter().any(|&b| b != 0) {
        return Err(FormatError::Malformed);
    }
    let data = &body[data_start..];
    #[cfg(feature = "cells")]
    if let Some((cell, depth)) = stack {
        let shape = (cell, hidden, vocab_size, depth);
        let weights = match header.element {
            ELEMENT_F32 => Weights::Stacked(stacked_model(cell, hidden, vocab_size, depth, data)?),
            ELEMENT_INT8 => Weights::StackedInt8(stacked_int8_model::<RowPairs>(shape, data)?),
            #[cfg(feature = "tiles")]
            _ => Weights::StackedTiles(stacked_int8_model::<Tiles>(shape, data)?),
            #[cfg(not(feature = "tiles"))]
            other => return Err(FormatError::UnsupportedElement(other)),
        };
        return Ok(AnyCharmFile {
            version,
            vocab,
            meta: header.meta,
            weights,
            len,
        });
    }
    let weights = match header.element {
        ELEMENT_F32 => Weights::F32(f32_model(hidden, vocab_size, data)?),
        ELEMENT_INT8 => {
            int8_capacity(hidden, vocab_size)?;
            let t = int8_tensors(data, quant_tensor_lengths(hidden, vocab_size))?;
            Weights::Int8(
                QuantModelView::new(hidden, vocab_size, t).map_err(|_| FormatError::Malformed)?,
            )
        }
        #[cfg(feature = "fixed")]
        ELEMENT_INT8_FIXED => {
            int8_capacity(hidden, vocab_size)?;
            let t = fixed_tensors(data, fixed_tensor_lengths(hidden, vocab_size))?;
            Weights::Int8Fixed(
                FixedModelView::new(hidden, vocab_size, t).map_err(|_| FormatError::Malformed)?,
            )
        }
        #[cfg(feature = "tiles")]
        ELEMENT_INT8_TILES => {
            let t = int8_tensors(data, tile_tensor_lengths(hidden, vocab_size))?;
            let view =
                TiledModelView::new(hidden, vocab_size, t).map_err(|_| FormatError::Malformed)?;
            Weights::Int8Tiles(view)
        }
        other => return Err(FormatError::UnsupportedElement(other)),
    };
    Ok(AnyCharmFile {
        version,
        vocab,
        meta: header.meta,
        weights,
        len,
    })
}

/// An int8 step's i32 sums are exact up to [`MAX_HIDDEN_INT8`] hidden
/// units: a file of more is refused by its shape.
fn int8_capacity(hidden: usize, vocab: usize) -> Result<(), FormatError> {
    match hidden > MAX_HIDDEN_INT8 {
        true => Err(FormatError::ShapeMismatch {
            hidden,
            vocab,
            max_hidden: MAX_HIDDEN_INT8,
            max_vocab: MAX_VOCAB,
        }),
        false => Ok(()),
    }
}

/// The cell and the depth of a version-5 file, and the bytes after them.
#[cfg(feature = "cells")]
fn cell_and_depth(bytes: &[u8]) -> Result<((Cell, usize), &[u8]), FormatError> {
    let [code, layers, ref rest @ ..] = *bytes else {
        return Err(FormatError::Malformed);
    };
    let cell = Cell::from_code(code).ok_or(FormatError::UnsupportedCell(code))?;
    let depth = usize::from(layers);
    if !(1..=MAX_LAYERS).contains(&depth) {
        return Err(FormatError::UnsupportedDepth {
            layers: depth,
            max: MAX_LAYERS,
        });
    }
    Ok(((cell, depth), rest))
}

/// The first `n` values of `data`, which moves past them.
#[cfg(feature = "cells")]
fn take<'a, T>(data: &mut &'a [T], n: usize) -> Result<&'a [T], FormatError> {
    let (taken, rest) = data.split_at_checked(n).ok_or(FormatError::Malformed)?;
    *data = rest;
    Ok(taken)
}

/// The tensors of a version-5 model (their lengths checked by the caller's
/// block length), checked finite.
#[cfg(feature = "cells")]
fn stacked_model(
    cell: Cell,
    hidden: usize,
    vocab: usize,
    depth: usize,
    data: &[u8],
) -> Result<StackedModelView<'_, f32>, FormatError> {
    let mut data: &[f32] = bytemuck::try_cast_slice(data).map_err(|_| FormatError::Misaligned)?;
    let output = [("why", vocab * padded(hidden)), ("by", vocab)];
    let mut named = [("", 0); 4 * MAX_LAYERS + 2];
    let layer_names = (0..depth).flat_map(|l| {
        let lengths = layer_tensor_lengths(cell, hidden, vocab, l);
        (0..4).map(move |t| (layer_tensor_name(l, t), lengths[t]))
    });
    for (slot, name) in named.iter_mut().zip(layer_names.chain(output)) {
        *slot = name;
    }
    check_finite(data, &named[..4 * depth + 2])?;
    let empty = LayerTensors {
        wx: &[][..],
        wh: &[],
        bx: &[],
        bh: &[],
    };
    let mut layers = [empty; MAX_LAYERS];
    for (l, layer) in layers.iter_mut().enumerate().take(depth) {
        let [wx, wh, bx, bh] = layer_tensor_lengths(cell, hidden, vocab, l);
        *layer = LayerTensors {
            wx: take(&mut data, wx)?,
            wh: take(&mut data, wh)?,
            bx: take(&mut data, bx)?,
            bh: take(&mut data, bh)?,
        };
    }
    let why = take(&mut data, vocab * padded(hidden))?;
    let by = take(&mut data, vocab)?;
    StackedModelView::new(cell, hidden, vocab, &layers[..depth], why, by)
        .map_err(|_| FormatError::Malformed)
}

/// The tensors of an int8 version-5 model in layout `L` (their lengths
/// checked by the caller's block length), the floats checked finite.
#[cfg(feature = "cells")]
fn stacked_int8_model<L: Int8Layout>(
    (cell, hidden, vocab, depth): (Cell, usize, usize, usize),
    data: &[u8],
) -> Result<Int8StackedModelView<'_, L>, FormatError> {
    let mut n8_total = L::matrix_len(vocab, hidden);
    let mut named = [("", 0); 4 * MAX_LAYERS + 2];
    for l in 0..depth {
        let (n8, n32) = int8_layer_tensor_lengths::<L>(cell, hidden, vocab, l);
        n8_total += n8[0] + n8[1];
        for (t, &n) in n32.iter().enumerate() {
            named[4 * l + t] = (int8_layer_tensor_name(l, 2 + t), n);
        }
    }
    named[4 * depth] = ("why_scale", vocab);
    named[4 * depth + 1] = ("by", vocab);
    let (int8, floats) = data
        .split_at_checked(n8_total)
        .ok_or(FormatError::Malformed)?;
    let mut int8: &[i8] = bytemuck::cast_slice(int8);
    let mut floats: &[f32] =
        bytemuck::try_cast_slice(floats).map_err(|_| FormatError::Misaligned)?;
    check_finite(floats, &named[..4 * depth + 2])?;
    let empty = Int8LayerTensors {
        wx: &[],
        wh: &[],
        wx_scale: &[],
        wh_scale: &[],
        bx: &[],
        bh: &[],
    };
    let mut layers = [empty; MAX_LAYERS];
    for (l, layer) in layers.iter_mut().enumerate().take(depth) {
        let ([wx, wh], _) = int8_layer_tensor_lengths::<L>(cell, hidden, vocab, l);
        layer.wx = take(&mut int8, wx)?;
        layer.wh = take(&mut int8, wh)?;
    }
    let why = take(&mut int8, L::matrix_len(vocab, hidden))?;
    for (l, layer) in layers.iter_mut().enumerate().take(depth) {
        let (_, [sx, sh, bx, bh]) = int8_layer_tensor_lengths::<L>(cell, hidden, vocab, l);
        layer.wx_scale = take(&mut floats, sx)?;
        layer.wh_scale = take(&mut floats, sh)?;
        layer.bx = take(&mut floats, bx)?;
        layer.bh = take(&mut floats, bh)?;
    }
    let why_scale = take(&mut floats, vocab)?;
    let by = take(&mut floats, vocab)?;
    Int8StackedModelView::new(cell, hidden, vocab, &layers[..depth], why, why_scale, by)
        .map_err(|_| FormatError::Malformed)
}

fn f32_model(hidden: usize, vocab: usize, data: &[u8]) -> Result<ModelView<'_, f32>, FormatError> {
    let data: &[f32] = bytemuck::try_cast_slice(data).map_err(|_| FormatError::Misaligned)?;
    let [n_wxh, n_whh, n_bh, n_why, n_by] = tensor_lengths(hidden, vocab);
    check_finite(
        data,
        &[
            ("wxh", n_wxh),
            ("whh", n_whh),
            ("bh", n_bh),
            ("why", n_why),
            ("by", n_by),
        ],
    )?;
    let (wxh, data) = data.split_at_checked(n_wxh).ok_or(FormatError::Malformed)?;
    let (whh, data) = data.split_at_checked(n_whh).ok_or(FormatError::Malformed)?;
    let (bh, data) = data.split_at_checked(n_bh).ok_or(FormatError::Malformed)?;
    let (why, by) = data.split_at_checked(n_why).ok_or(FormatError::Malformed)?;
    ModelView::new(hidden, vocab, wxh, whh, bh, why, by).map_err(|_| FormatError::Malformed)
}

/// The three int8 tensors and five f32 ones of an int8 file of the given
/// lengths, the floats checked finite.
fn int8_tensors(
    data: &[u8],
    lengths: ([usize; 3], [usize; 5]),
) -> Result<QuantTensors<'_>, FormatError> {
    let ([n_wxh, n_whh, n_why], [n_sx, n_sh, n_sy, n_bh, n_by]) = lengths;
    let (int8, floats) = data
        .split_at_checked(n_wxh + n_whh + n_why)
        .ok_or(FormatError::Malformed)?;
    let int8: &[i8] = bytemuck::cast_slice(int8);
    let (wxh, int8) = int8.split_at_checked(n_wxh).ok_or(FormatError::Malformed)?;
    let (whh, why) = int8.split_at_checked(n_whh).ok_or(FormatError::Malformed)?;
    let floats: &[f32] = bytemuck::try_cast_slice(floats).map_err(|_| FormatError::Misaligned)?;
    check_finite(
        floats,
        &[
            ("wxh_scale", n_sx),
            ("whh_scale", n_sh),
            ("why_scale", n_sy),
            ("bh", n_bh),
            ("by", n_by),
        ],
    )?;
    let (sx, floats) = floats
        .split_at_checked(n_sx)
        .ok_or(FormatError::Malformed)?;
    let (sh, floats) = floats
        .split_at_checked(n_sh)
        .ok_or(FormatError::Malformed)?;
    let (sy, floats) = floats
        .split_at_checked(n_sy)
        .ok_or(FormatError::Malformed)?;
    let (bh, by) = floats
        .split_at_checked(n_bh)
        .ok_or(FormatError::Malformed)?;
    Ok(QuantTensors {
        int8: [wxh, whh, why],
        f32: [sx, sh, sy, bh, by],
    })
}

/// The three int8 tensors and six i32 ones of a fixed int8 file of the
/// given lengths (their ranges are the view's to check).
#[cfg(feature = "fixed")]
fn fixed_tensors(
    data: &[u8],
    lengths: ([usize; 3], [usize; 6]),
) -> Result<FixedTensors<'_>, FormatError> {
    let ([n_wxh, n_whh, n_why], n32) = lengths;
    let (int8, rest) = data
        .split_at_checked(n_wxh + n_whh + n_why)
        .ok_or(FormatError::Malformed)?;
    let int8: &[i8] = bytemuck::cast_slice(int8);
    let (wxh, int8) = int8.split_at_checked(n_wxh).ok_or(FormatError::Malformed)?;
    let (whh, why) = int8.split_at_checked(n_whh).ok_or(FormatError::Malformed)?;
    let mut rest: &[i32] = bytemuck::try_cast_slice(rest).map_err(|_| FormatError::Misaligned)?;
    let mut int32: [&[i32]; 6] = [&[]; 6];
    for (t, n) in int32.iter_mut().zip(n32) {
        let (taken, after) = rest.split_at_checked(n).ok_or(FormatError::Malformed)?;
        (*t, rest) = (taken, after);
    }
    Ok(FixedTensors {
        int8: [wxh, whh, why],
        int32,
    })
}

/// Decodes an f32 weight file in place (see [`decode_any`] for the checks);
/// an int8 file is [`FormatError::UnsupportedElement`], a file of another
/// cell or depth [`FormatError::NotOneTanhLayer`].
///
/// ```
/// use charm_core::{decode, FormatError};
/// assert_eq!(decode(b"CHR").unwrap_err(), FormatError::Truncated { needed: 12, available: 3 });
/// assert_eq!(decode(b"PNG\x0d........").unwrap_err(), FormatError::BadMagic);
/// ```
pub fn decode(bytes: &[u8]) -> Result<CharmFile<'_>, FormatError> {
    let file = decode_any(bytes)?;
    match file.weights {
        Weights::F32(model) => Ok(CharmFile {
            version: file.version,
            vocab: file.vocab,
            meta: file.meta,
            model,
            len: file.len,
        }),
        Weights::Int8(_) | Weights::Int8Tiles(_) | Weights::Int8Fixed(_) => {
            Err(FormatError::UnsupportedElement(file.weights.element()))
        }
        #[cfg(feature = "cells")]
        Weights::Stacked(_) | Weights::StackedInt8(_) | Weights::StackedTiles(_) => {
            Err(FormatError::NotOneTanhLayer {
                cell: file.weights.cell(),
                layers: file.weights.depth(),
            })
        }
    }
}
