//! The two int8 layouts a stacked model's matrices may take, as the stacked
//! step sees them: the state's integer levels, the dot products (the
//! row-pair and tile kernels of the one-layer models), the epilogue's
//! scaling, and where an LSTM's f32 cell state is kept.

use super::CHUNK;
use crate::int8::row_pairs::{pair_dots_summed, paired_len, StateSum};
use crate::int8::tanh_i8::tanh_i8;
use crate::int8::tanh_q15::tanh_q15;
use crate::int8::tiles::{row_dots, tile_stride, I8_ONE, TILE_ROWS};
use crate::kernels::padded;
use crate::math::soft_f32::{div_by_32767, mul};
use crate::sample::StateElement;
use crate::{ELEMENT_INT8, ELEMENT_INT8_TILES};
use core::mem::MaybeUninit;

mod sealed {
    /// Only charm-core's layouts.
    pub trait Sealed {}
}

/// The int8 layout of a stacked model's matrices: [`RowPairs`] (a Q15
/// state, every core) or [`Tiles`] (an int8 state, Helium on the
/// Cortex-M55). Sealed: its items are the stacked step's, not an API.
pub trait Int8Layout: sealed::Sealed + Copy + core::fmt::Debug + 'static {
    /// Element of the state: `i16` (Q15) or `i8`.
    type State: StateElement;
    /// The element type code in a file.
    const ELEMENT: u8;
    /// The state's full scale: `h ≈ hq / ONE` (32767 or 127).
    const ONE: i32;
    /// State elements that hold one f32 LSTM cell state (its 32 bits).
    const C_LANES: usize;

    /// Row stride of the matrices over a state of `hidden` units.
    #[doc(hidden)]
    fn stride(hidden: usize) -> usize;
    /// Elements of a matrix of `rows` rows over `hidden` columns.
    #[doc(hidden)]
    fn matrix_len(rows: usize, hidden: usize) -> usize;
    /// The state level of `tanh(u)`: `tanh_q15` or `tanh_i8`.
    #[doc(hidden)]
    fn tanh(u: f32) -> i32;
    /// A level as f32: `q / ONE`.
    #[doc(hidden)]
    fn to_f32(q: i32) -> f32;
    /// A row's product from its integer sum and stored scale.
    #[doc(hidden)]
    fn scaled(acc: i32, scale: f32) -> f32;
    /// The stored scale of a row quantized with `s = max|w|/127`.
    #[doc(hidden)]
    fn stored_scale(s: f32) -> f32;
    /// A state element as an integer level.
    #[doc(hidden)]
    fn level(h: Self::State) -> i32;
    /// An integer level in `[-ONE, ONE]` as a state element.
    #[doc(hidden)]
    fn from_level(q: i32) -> Self::State;
    /// What the kernels need to know of a state once per product (Σh of
    /// the row pairs' Q15 state).
    #[doc(hidden)]
    fn state_sum(h: &[Self::State]) -> Option<i32>;
    /// The sums `Σ_c w[r, c]·h[c]` of the first `rows` (≤ 16) rows of the
    /// matrix `w` (its first row at a row pair's or a tile group's start),
    /// in `out`; false if `w` or `h` are too short.
    #[doc(hidden)]
    fn dots(
        w: &[i8],
        hidden: usize,
        h: &[Self::State],
        sum: Option<i32>,
        rows: usize,
        out: &mut [i32; CHUNK],
    ) -> bool;
    /// The f32 kept in `C_LANES` elements (its bits, low first).
    #[doc(hidden)]
    fn load_c(lanes: &[Self::State]) -> f32;
    /// Keeps `c` in `C_LANES` elements.
    #[doc(hidden)]
    fn store_c(lanes: &mut [Self::State], c: f32);
    /// int8 rows (natural order, `stride` bytes each, the first `hidden`
    /// real) stored in this layout.
    #[cfg(feature = "alloc")]
    #[doc(hidden)]
    fn pack(rows: &[i8], stride: usize, hidden: usize) -> alloc::vec::Vec<i8>;

    /// `σ(u)` as a level in `[0, ONE]`: `(tanh(u/2) + ONE + 1) >> 1`, i.e.
    /// `σ(u) = (1 + tanh(u/2)) / 2` from the same tanh table, rounded half
    /// up (`u/2` is exact in f32).
    #[doc(hidden)]
    #[inline]
    fn sigmoid(u: f32) -> i32 {
        (Self::tanh(mul(u, 0.5)) + Self::ONE + 1) >> 1
    }
    /// `a·b / ONE` rounded to the nearest integer (ONE is odd, so there
    /// are no ties): the product of a gate level `a ∈ [0, ONE]` and a
    /// level or difference of levels `b ∈ [−2·ONE, 2·ONE]`, exact in i32
    /// (`|a·b| + ONE/2 ≤ 32767·65534 + 16383 < 2³¹`).
    #[doc(hidden)]
    #[inline]
    fn product(a: i32, b: i32) -> i32 {
        let p = a * b;
        let half = Self::ONE / 2;
        if p >= 0 {
            (p + half) / Self::ONE
        } else {
            (p - half) / Self::ONE
        }
    }
}

/// Row pairs and a Q15 state (`h ≈ hq / 32767`): the layout of
/// [`crate::QuantModelView`], on every core.
#[derive(Debug, Clone, Copy)]
pub struct RowPairs;

/// 4 × 16 tiles and an int8 state (`h ≈ hq / 127`): the layout of
/// [`crate::TiledModelView`], for Helium.
#[derive(Debug, Clone, Copy)]
pub struct Tiles;

impl sealed::Sealed for RowPairs {}
impl sealed::Sealed for Tiles {}

impl Int8Layout for RowPairs {
    type State = i16;
    const ELEMENT: u8 = ELEMENT_INT8;
    const ONE: i32 = 32767;
    const C_LANES: usize = 2;

    fn stride(hidden: usize) -> usize {
        padded(hidden)
    }
    fn matrix_len(rows: usize, hidden: usize) -> usize {
        paired_len(rows, padded(hidden))
    }
    #[inline]
    fn tanh(u: f32) -> i32 {
        i32::from(tanh_q15(u))
    }
    #[inline]
    fn to_f32(q: i32) -> f32 {
        div_by_32767(q as f32)
    }
    #[inline]
    fn scaled(acc: i32, scale: f32) -> f32 {
        div_by_32767(mul(acc as f32, scale))
    }
    fn stored_scale(s: f32) -> f32 {
        s
    }
    #[inline]
    fn level(h: i16) -> i32 {
        i32::from(h)
    }
    #[inline]
    fn from_level(q: i32) -> i16 {
        q.clamp(-32767, 32767) as i16
    }
    #[inline]
    fn state_sum(h: &[i16]) -> Option<i32> {
        StateSum::of(h).0
    }
    #[inline]
    fn dots(
        w: &[i8],
        hidden: usize,
        h: &[i16],
        sum: Option<i32>,
        rows: usize,
        out: &mut [i32; CHUNK],
    ) -> bool {
        let mut slots = [const { MaybeUninit::uninit() }; CHUNK / 2];
        let want = rows.div_ceil(2).min(CHUNK / 2);
        let pairs = pair_dots_summed(w, padded(hidden), h, StateSum(sum), &mut slots[..want]);
        for (o, &d) in out.iter_mut().zip(pairs.as_flattened()) {
            *o = d;
        }
        pairs.len() == want
    }
    #[inline]
    fn load_c(lanes: &[i16]) -> f32 {
        match *lanes {
            [lo, hi, ..] => f32::from_bits(u32::from(lo as u16) | u32::from(hi as u16) << 16),
            _ => 0.0,
        }
    }
    #[inline]
    fn store_c(lanes: &mut [i16], c: f32) {
        let bits = c.to_bits();
        if let [lo, hi, ..] = lanes {
            (*lo, *hi) = (bits as u16 as i16, (bits >> 16) as u16 as i16);
        }
    }
    #[cfg(feature = "alloc")]
    fn pack(rows: &[i8], stride: usize, _hidden: usize) -> alloc::vec::Vec<i8> {
        crate::int8::row_pairs::pack_row_pairs(rows, stride)
    }
}

impl Int8Layout for Tiles {
    type State = i8;
    const ELEMENT: u8 = ELEMENT_INT8_TILES;
    const ONE: i32 = 127;
    const C_LANES: usize = 4;

    fn stride(hidden: usize) -> usize {
        tile_stride(hidden)
    }
    fn matrix_len(rows: usize, hidden: usize) -> usize {
        rows.div_ceil(TILE_ROWS) * TILE_ROWS * tile_stride(hidden)
    }
    #[inline]
    fn tanh(u: f32) -> i32 {
        i32::from(tanh_i8(u))
    }
    #[inline]
    fn to_f32(q: i32) -> f32 {
        q as f32 / I8_ONE
    }
    #[inline]
    fn scaled(acc: i32, scale: f32) -> f32 {
        acc as f32 * scale
    }
    fn stored_scale(s: f32) -> f32 {
        s / I8_ONE
    }
    #[inline]
    fn level(h: i8) -> i32 {
        i32::from(h)
    }
    #[inline]
    fn from_level(q: i32) -> i8 {
        q.clamp(-127, 127) as i8
    }
    #[inline]
    fn state_sum(_h: &[i8]) -> Option<i32> {
        None
    }
    #[inline]
    fn dots(
        w: &[i8],
        hidden: usize,
        h: &[i8],
        _sum: Option<i32>,
        rows: usize,
        out: &mut [i32; CHUNK],
    ) -> bool {
        let mut sums = MaybeUninit::<[i32; CHUNK]>::uninit();
        match row_dots(w, tile_stride(hidden), h, rows, &mut sums) {
            Some(sums) => {
                for (o, &d) in out.iter_mut().zip(sums.iter()) {
                    *o = d;
                }
                true
            }
            None => false,
        }
    }
    #[inline]
    fn load_c(lanes: &[i8]) -> f32 {
        match *lanes {
            [a, b, c, d, ..] => {
                f32::from_bits(u32::from_le_bytes([a as u8, b as u8, c as u8, d as u8]))
            }
            _ => 0.0,
        }
    }
    #[inline]
    fn store_c(lanes: &mut [i8], c: f32) {
        if let Some(lanes) = lanes.get_mut(..4) {
            for (lane, byte) in lanes.iter_mut().zip(c.to_bits().to_le_bytes()) {
                *lane = byte as i8;
            }
        }
    }
    #[cfg(feature = "alloc")]
    fn pack(rows: &[i8], stride: usize, hidden: usize) -> alloc::vec::Vec<i8> {
        crate::int8::tiles::pack_tiles(rows, stride, hidden)
    }
}
