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
/// sum stays below 2³²) with the running sum of the weights up to it, for
/// the largest logit `max` and `q = m·2⁻⁸ · 2^−(shift + 17)`
/// (`Scale::HighWord`), and returns their sum: the integers of `weigh`
/// with `Scale::t` in `super::integer`; `None` (nothing done) for an empty
/// or longer slice, `shift` ≥ 32, `d_limit` above 2²⁴, or `max` within
/// `d_limit` of `i32::MIN` (where top-k's mark would not be told from a
/// logit). `max` must be at least every logit (the sampler's largest);
/// otherwise the sums are unspecified, and still no memory outside
/// `logits` is touched. `near`: every logit is also at least `max −
/// d_limit` (none is top-k's mark), which lets the Thumb-2 loop skip its
/// test for the others (the same sums; unspecified sums otherwise, as for
/// a wrong `max`).
pub(super) fn weigh(
    logits: &mut [i32],
    max: i32,
    m: u32,
    shift: u32,
    d_limit: u32,
    tables: Exp2Tables,
    near: bool,
) -> Option<u32> {
    let frame = WeighFrame::new(logits, max, m, shift, d_limit, tables)?;
    // SAFETY: the frame is that of `logits` (`WeighFrame::new`).
    #[cfg(charm_thumb2)]
    return Some(unsafe { weigh_loop(logits, &frame, near) });
    #[cfg(charm_thumb1)]
    {
        let _ = near; // one loop on Thumb-1
                      // SAFETY: as above.
        Some(unsafe { weigh_loop(logits, &frame) })
    }
}

/// The tables of `2^(−i/64)` a weights loop reads.
#[derive(Clone, Copy)]
pub(super) struct Exp2Tables {
    /// `round(2²⁴·2^(−i/64))`, `i = 0 … 64`.
    pub(super) table: &'static [u32; 65],
    /// `table[i] − table[i + 1]`, `i = 0 … 63` (read by Thumb-2).
    pub(super) steps: &'static [u32; 64],
}

/// The words a weights loop reads (`#[repr(C)]`, offsets 0 to 44): the
/// largest logit times 2⁷ (mod 2³²), the lowest logit with a `d` below the
/// cap (`max − d_limit`), `q`'s `m·2⁸`, its shift, the table and the end of
/// the logits (Thumb-2 loads these six with one LDM); `m·2⁸` in halves
/// (Thumb-1 multiplies 16 bits at a time), the largest logit, `d`'s cap,
/// the cap times 2⁷ and the table of steps (read by Thumb-2).
#[repr(C)]
pub(super) struct WeighFrame {
    max_128: i32,
    lowest: i32,
    m: u32,
    shift: u32,
    table: usize,
    end: usize,
    m_low: u32,
    m_high: u32,
    max: i32,
    d_limit: u32,
    d_limit_128: u32,
    steps: usize,
}

/// The largest cap of `d` the loops take: `d·2⁷` stays within 32 bits.
const D_LIMIT_MAX: u32 = 1 << 24;

impl WeighFrame {
    /// The frame of a loop over `logits` for the largest logit `max` and
    /// `q = m·2⁻⁸ · 2^−(shift + 17)` (`Scale::HighWord`); `None` for an empty
    /// slice, one of more than [`WEIGHTS_PER_SUM`] (so that the weights'
    /// sum, each at most 2²⁴, stays below 2³²), `shift` ≥ 32, `d_limit`
    /// above 2²⁴, or `max − d_limit` not above `i32::MIN`.
    fn new(
        logits: &[i32],
        max: i32,
        m: u32,
        shift: u32,
        d_limit: u32,
        tables: Exp2Tables,
    ) -> Option<Self> {
        if logits.is_empty()
            || logits.len() > WEIGHTS_PER_SUM
            || shift >= 32
            || d_limit > D_LIMIT_MAX
        {
            return None;
        }
        // d_limit ≤ 2²⁴ fits i32; `lowest` > i32::MIN, so top-k's mark is
        // below it
        let lowest = max.checked_sub(d_limit as i32).filter(|&l| l > i32::MIN)?;
        Some(WeighFrame {
            max_128: max.wrapping_mul(128),
            lowest,
            m,
            shift,
            table: tables.table.as_ptr() as usize,
            end: logits.as_ptr().wrapping_add(logits.len()) as usize,
            m_low: m & 0xffff,
            m_high: m >> 16,
            max,
            d_limit,
            d_limit_128: d_limit << 7,
            steps: tables.steps.as_ptr() as usize,
        })
    }
}
