//! The fixed layout's weights in assembly ([`super::thumb`] on the
//! Cortex-M0/M0+, [`super::thumb2`] on the others): one safe entry, the
//! frame its loops read, and the checks that keep their loads and stores
//! in the slice they are given.

use super::integer::WEIGHTS_PER_SUM;
#[cfg(charm_thumb1)]
use super::thumb::weigh_loop;
#[cfg(charm_thumb2)]
use super::thumb2::weigh_loop;

/// Overwrites each of `logits` (at most [`WEIGHTS_PER_SUM`], so that the
/// sum stays below 2³²) with its weight for the largest logit `max` and `q = m·2⁻⁸ ·
/// 2^−(shift + 17)` (`Scale::HighWord`), and returns their sum: the
/// integers of `weigh` with `Scale::t` in `super::integer`; `None`
/// (nothing done) for an empty or longer slice, or `shift` ≥ 32.
pub(super) fn weigh(
    logits: &mut [i32],
    max: i32,
    m: u32,
    shift: u32,
    d_limit: u32,
    table: &[u32; 65],
) -> Option<u32> {
    let frame = WeighFrame::new(logits, max, m, shift, d_limit, table)?;
    // SAFETY: the frame is that of `logits` (`WeighFrame::new`).
    Some(unsafe { weigh_loop(logits, &frame) })
}

/// The words a weights loop reads (`#[repr(C)]`, offsets 0 to 28): the
/// largest logit, `d`'s cap, `q`'s `m·2⁸` whole and in halves (Thumb-1
/// multiplies 16 bits at a time), its shift, the table and the end of the
/// logits. Thumb-2 loads the first six with one LDM.
#[repr(C)]
pub(super) struct WeighFrame {
    max: i32,
    d_limit: u32,
    m: u32,
    shift: u32,
    table: usize,
    end: usize,
    m_low: u32,
    m_high: u32,
}

impl WeighFrame {
    /// The frame of a loop over `logits` for the largest logit `max` and
    /// `q = m·2⁻⁸ · 2^−(shift + 17)` (`Scale::HighWord`); `None` for an empty
    /// slice, one of more than [`WEIGHTS_PER_SUM`] (so that the weights'
    /// sum, each at most 2²⁴, stays below 2³²), or `shift` ≥ 32.
    fn new(
        logits: &[i32],
        max: i32,
        m: u32,
        shift: u32,
        d_limit: u32,
        table: &[u32; 65],
    ) -> Option<Self> {
        if logits.is_empty() || logits.len() > WEIGHTS_PER_SUM || shift >= 32 {
            return None;
        }
        Some(WeighFrame {
            max,
            d_limit,
            m,
            shift,
            table: table.as_ptr() as usize,
            end: logits.as_ptr().wrapping_add(logits.len()) as usize,
            m_low: m & 0xffff,
            m_high: m >> 16,
        })
    }
}
