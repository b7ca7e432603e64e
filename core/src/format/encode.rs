//! Writing weight files (feature `alloc`).

use super::decode::check_finite;
#[cfg(feature = "cells")]
use super::VERSION_CELLS;
use super::{
    crc32, FormatError, Header, Metadata, Weights, ELEMENT_F32, ELEMENT_INT8, ELEMENT_INT8_FIXED,
    ELEMENT_INT8_TILES, MAGIC, MAX_HIDDEN, MAX_VOCAB, TENSOR_ALIGN, VERSION_F32, VERSION_INT8,
    VERSION_INT8_TILES,
};
#[cfg(feature = "cells")]
use crate::int8::stacked::{int8_layer_tensor_name, Int8Layout, Int8StackedModelView};
#[cfg(feature = "cells")]
use crate::model::layer_tensor_name;
use crate::model::ModelView;
use crate::vocab::Vocab;

/// Encodes an f32 model as a version-1 weight file (needs the `alloc` feature).
///
/// Fails if the vocabulary's size differs from the model's, or is larger than
/// [`MAX_VOCAB`], or a weight is not finite.
pub fn encode(
    model: &ModelView<'_, f32>,
    vocab: &Vocab<'_>,
    meta: &Metadata,
) -> Result<alloc::vec::Vec<u8>, FormatError> {
    encode_any(&Weights::F32(*model), vocab, meta)
}

/// Encodes a model of any element type: f32 as version 1, int8 row pairs as
/// version 3, int8 tiles as version 4, a model of any cell and depth
/// ([`Weights::Stacked`]) as version 5.
pub fn encode_any(
    weights: &Weights<'_>,
    vocab: &Vocab<'_>,
    meta: &Metadata,
) -> Result<alloc::vec::Vec<u8>, FormatError> {
    use alloc::vec::Vec;
    let (hidden, vocab_size) = (weights.hidden(), weights.vocab());
    if vocab_size > MAX_VOCAB {
        return Err(FormatError::VocabularyTooLarge {
            size: vocab_size,
            max: MAX_VOCAB,
        });
    }
    if vocab.len() != vocab_size {
        return Err(FormatError::BadVocabulary);
    }
    if hidden > MAX_HIDDEN {
        return Err(FormatError::Malformed);
    }
    let (version, element) = match weights {
        Weights::F32(m) => {
            let tensors = [
                ("wxh", m.wxh()),
                ("whh", m.whh()),
                ("bh", m.bh()),
                ("why", m.why()),
                ("by", m.by()),
            ];
            for (name, t) in tensors {
                check_finite(t, &[(name, t.len())])?;
            }
            (VERSION_F32, ELEMENT_F32)
        }
        Weights::Int8(_) | Weights::Int8Tiles(_) => {
            let [sx, sh, sy, bh, by] = weights.int8_tensors().map_or([&[][..]; 5], |t| t.f32);
            let tensors = [
                ("wxh_scale", sx),
                ("whh_scale", sh),
                ("why_scale", sy),
                ("bh", bh),
                ("by", by),
            ];
            for (name, t) in tensors {
                check_finite(t, &[(name, t.len())])?;
            }
            match weights {
                Weights::Int8(_) => (VERSION_INT8, ELEMENT_INT8),
                _ => (VERSION_INT8_TILES, ELEMENT_INT8_TILES),
            }
        }
        // the view checked every integer's range
        Weights::Int8Fixed(_) => (VERSION_INT8_TILES, ELEMENT_INT8_FIXED),
        #[cfg(feature = "cells")]
        Weights::Stacked(m) => {
            for (l, layer) in m.layers().iter().enumerate() {
                for (t, tensor) in [layer.wx, layer.wh, layer.bx, layer.bh]
                    .into_iter()
                    .enumerate()
                {
                    check_finite(tensor, &[(layer_tensor_name(l, t), tensor.len())])?;
                }
            }
            for (name, t) in [("why", m.why()), ("by", m.by())] {
                check_finite(t, &[(name, t.len())])?;
            }
            (VERSION_CELLS, ELEMENT_F32)
        }
        #[cfg(feature = "cells")]
        Weights::StackedInt8(m) => (check_int8_stacked(m)?, ELEMENT_INT8),
        #[cfg(feature = "cells")]
        Weights::StackedTiles(m) => (check_int8_stacked(m)?, ELEMENT_INT8_TILES),
    };
    let header = Header {
        hidden: hidden as u32,
        vocab_size: vocab_size as u32,
        element,
        vocab: vocab.as_str(),
        meta: *meta,
    };
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // length, filled in below
    let header_bytes = postcard::to_allocvec(&header).map_err(|_| FormatError::Malformed)?;
    out.extend_from_slice(&header_bytes);
    #[cfg(feature = "cells")]
    if version == VERSION_CELLS {
        // the view holds 1 to MAX_LAYERS layers, so the depth fits its byte
        out.extend_from_slice(&[weights.cell().code(), weights.depth() as u8]);
    }
    out.resize(out.len().next_multiple_of(TENSOR_ALIGN), 0);
    let floats: [&[f32]; 5] = match weights {
        Weights::F32(m) => [m.wxh(), m.whh(), m.bh(), m.why(), m.by()],
        #[cfg(feature = "cells")]
        Weights::Stacked(m) => {
            for layer in m.layers() {
                for t in [layer.wx, layer.wh, layer.bx, layer.bh] {
                    for w in t {
                        out.extend_from_slice(&w.to_le_bytes());
                    }
                }
            }
            [m.why(), m.by(), &[], &[], &[]]
        }
        #[cfg(feature = "cells")]
        Weights::StackedInt8(m) => {
            write_int8_stacked(&mut out, m);
            [&[]; 5]
        }
        #[cfg(feature = "cells")]
        Weights::StackedTiles(m) => {
            write_int8_stacked(&mut out, m);
            [&[]; 5]
        }
        Weights::Int8Fixed(m) => {
            let t = m.tensors();
            for q in t.int8 {
                out.extend(q.iter().map(|&b| b as u8));
            }
            for values in t.int32 {
                for v in values {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            [&[]; 5]
        }
        Weights::Int8(_) | Weights::Int8Tiles(_) => {
            let Some(t) = weights.int8_tensors() else {
                return Err(FormatError::Malformed);
            };
            for q in t.int8 {
                out.extend(q.iter().map(|&b| b as u8));
            }
            t.f32
        }
    };
    for t in floats {
        for w in t {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    let len = out.len() + 4;
    let len32 = u32::try_from(len).map_err(|_| FormatError::Malformed)?;
    out[8..12].copy_from_slice(&len32.to_le_bytes());
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Checks the f32 tensors of an int8 stacked model finite; its version.
#[cfg(feature = "cells")]
fn check_int8_stacked<L: Int8Layout>(m: &Int8StackedModelView<'_, L>) -> Result<u16, FormatError> {
    for (l, layer) in m.layers().iter().enumerate() {
        let floats = [layer.wx_scale, layer.wh_scale, layer.bx, layer.bh];
        for (t, tensor) in floats.into_iter().enumerate() {
            check_finite(tensor, &[(int8_layer_tensor_name(l, 2 + t), tensor.len())])?;
        }
    }
    for (name, t) in [("why_scale", m.why_scale()), ("by", m.by())] {
        check_finite(t, &[(name, t.len())])?;
    }
    Ok(VERSION_CELLS)
}

/// The tensors of an int8 stacked model: every layer's wx and wh, why,
/// then every layer's wx_scale, wh_scale, bx and bh, why_scale and by.
#[cfg(feature = "cells")]
fn write_int8_stacked<L: Int8Layout>(
    out: &mut alloc::vec::Vec<u8>,
    m: &Int8StackedModelView<'_, L>,
) {
    for layer in m.layers() {
        for q in [layer.wx, layer.wh] {
            out.extend(q.iter().map(|&b| b as u8));
        }
    }
    out.extend(m.why().iter().map(|&b| b as u8));
    for layer in m.layers() {
        for t in [layer.wx_scale, layer.wh_scale, layer.bx, layer.bh] {
            for w in t {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
    }
    for t in [m.why_scale(), m.by()] {
        for w in t {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
}
