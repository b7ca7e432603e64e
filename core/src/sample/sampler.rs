//! Drawing a character index from logits: temperature, top-k, a seeded RNG.

use crate::exp_f32::exp_f32;
use crate::sentence::{display_sentence, Explain, SentenceOut};
use crate::Rng;
#[cfg(all(feature = "helium", target_arch = "arm"))]
use core::ops::ControlFlow;

/// How to turn logits into a choice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleParams {
    /// Divides the logits before softmax: < 1 sharper, > 1 flatter. `0.0`
    /// means greedy (always the most likely character). Must be finite and ≥ 0.
    pub temperature: f32,
    /// Keep only the `k` most likely characters (ties broken by lower index);
    /// `0` keeps all.
    pub top_k: usize,
}

impl Default for SampleParams {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_k: 0,
        }
    }
}

/// Why sampling parameters were refused.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleError {
    /// Temperature negative, NaN or infinite.
    BadTemperature(f32),
    /// No logits to sample from.
    Empty,
}

impl Explain for SampleError {
    fn explain(&self, out: &mut dyn SentenceOut) {
        match *self {
            // Said without the number: a device has no float formatting.
            SampleError::BadTemperature(t) => {
                out.text("the temperature is ");
                out.text(if t.is_nan() {
                    "NaN"
                } else if t.is_infinite() {
                    "infinite"
                } else {
                    "negative"
                });
                out.text(", not a finite number >= 0");
            }
            SampleError::Empty => out.text("there are no logits to sample from"),
        }
    }
}

impl core::fmt::Display for SampleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        display_sentence(self, f)
    }
}

impl SampleParams {
    /// Checks the parameters once, so that [`sample`] need not.
    pub fn validate(&self) -> Result<(), SampleError> {
        if self.temperature.is_finite() && self.temperature >= 0.0 {
            Ok(())
        } else {
            Err(SampleError::BadTemperature(self.temperature))
        }
    }
}

/// Draws an index with probability `softmax(logits / T)` restricted to the
/// top k. Overwrites `logits` with unnormalized probabilities.
///
/// Method: `e_i = exp((y_i - max)/T)` ([`exp_f32`]), entries outside the top
/// k set to 0, then one uniform `u` in [0, 1) from `rng` and the first `i`
/// whose running sum of `e` exceeds `u · Σ e`. Every operation is sequential
/// f32 arithmetic, so the same logits and RNG state pick the same index on
/// every target. Exactly one RNG draw per call, also when greedy.
///
/// On the Cortex-M55 (feature `helium`) the max, the weights and the search
/// run four entries at a time on Helium lanes, each lane with the scalar
/// code's operations and the sums still one scalar add at a time in index
/// order, so the index and the weights are the same bits (the module
/// `helium` below says how; NaN weights, which only non-finite logits give,
/// may differ in their payload, as between x86 and Arm already).
///
/// ```
/// use charm_core::{sample, Rng, SampleParams};
/// let mut rng = Rng::new(7);
/// let mut logits = [0.0f32, 10.0, 0.0];
/// let p = SampleParams { temperature: 0.0, top_k: 0 };
/// assert_eq!(sample(&mut logits, p, &mut rng), Ok(1));
/// ```
pub fn sample(
    logits: &mut [f32],
    params: SampleParams,
    rng: &mut Rng,
) -> Result<usize, SampleError> {
    params.validate()?;
    if logits.is_empty() {
        return Err(SampleError::Empty);
    }
    let u = rng.next_f32();
    if params.temperature == 0.0 {
        return Ok(argmax(logits));
    }
    let k = params.top_k;
    if k > 0 && k < logits.len() {
        keep_top_k(logits, k);
    }
    let total = exp_weights(logits, params.temperature);
    Ok(pick(logits, u * total))
}

/// The first `i` whose running sum of the weights `e_j > 0`, `j ≤ i`,
/// exceeds `target`; when rounding leaves every running sum at or below it,
/// the last `i` with `e_i > 0` (0 if there is none).
fn pick(weights: &[f32], target: f32) -> usize {
    #[cfg(all(feature = "helium", target_arch = "arm"))]
    let (start, mut running) = match helium::pick(weights, target) {
        ControlFlow::Break(i) => return i,
        ControlFlow::Continue(resume) => resume,
    };
    #[cfg(not(all(feature = "helium", target_arch = "arm")))]
    let (start, mut running) = (0, 0.0f32);
    for (i, &e) in weights.iter().enumerate().skip(start) {
        if e > 0.0 {
            running += e;
            if running > target {
                return i;
            }
        }
    }
    // Rounding can leave the running sum a hair below u·Σ; take the last candidate.
    weights.iter().rposition(|&e| e > 0.0).unwrap_or(0)
}

/// In place: `e_i = exp((y_i - max y) / T)` by [`exp_f32`]; returns `Σ e_i`.
/// Every exponent is ≤ 0, so `e_i ∈ [0, 1]` and the largest is exactly 1.
fn exp_weights(logits: &mut [f32], temperature: f32) -> f32 {
    #[cfg(all(feature = "helium", target_arch = "arm"))]
    if let Some(sum) = helium::exp_weights(logits, temperature) {
        return sum;
    }
    let max = logits
        .iter()
        .fold(f32::NEG_INFINITY, |m, &y| if y > m { y } else { m });
    let mut sum = 0.0f32;
    for y in logits.iter_mut() {
        *y = exp_f32((*y - max) / temperature);
        sum += *y;
    }
    sum
}

/// Index of the largest value; the lowest index wins ties; NaN never wins.
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] || values[best].is_nan() {
            best = i;
        }
    }
    best
}

/// Sets every logit outside the `k` largest to -inf (so its weight becomes 0).
///
/// Without allocation: k passes, each finding the next element in the order
/// (value descending, index ascending); O(k·V), fine for the small k used.
fn keep_top_k(logits: &mut [f32], k: usize) {
    // (value, index) of the k-th largest so far; "a before b" in the order.
    let before = |a: (f32, usize), b: (f32, usize)| a.0 > b.0 || (a.0 == b.0 && a.1 < b.1);
    let mut threshold: Option<(f32, usize)> = None;
    for _ in 0..k {
        let mut best: Option<(f32, usize)> = None;
        for (i, &v) in logits.iter().enumerate() {
            let cand = (v, i);
            let after_threshold = match threshold {
                Some(t) => before(t, cand),
                None => true,
            };
            if after_threshold && best.is_none_or(|b| before(cand, b)) {
                best = Some(cand);
            }
        }
        threshold = best;
    }
    if let Some(t) = threshold {
        for (i, v) in logits.iter_mut().enumerate() {
            if before(t, (*v, i)) {
                *v = f32::NEG_INFINITY;
            }
        }
    }
}

/// The sampler on Helium (MVE, the Cortex-M55), feature `helium`: four
/// entries at a time, each lane with the scalar code's operations, and the
/// sums still one scalar VADD per entry in index order, so the index and the
/// weights are the scalar code's bits.
///
/// - `max`: four lane maxima by VMAXNM in a tail-predicated loop, then
///   VMAXNMV. maxNum skips quiet NaNs as the fold does; it may choose
///   another zero than the fold among +0 and −0, which changes no weight
///   (`±0 − max` is ±0 for both, `exp` of either 1, and `y − (+0) = y −
///   (−0)` for every other `y`). A signalling NaN (IOC) or a flushed
///   subnormal (IDC) leaves everything to the scalar code.
/// - `exp_weights`: per lane `(y − max) / T` and [`exp_f32`]'s formula,
///   the division scalar (VDIV on the S registers). `max` is the largest
///   logit, so the argument is ≤ 0 or NaN, and `exp_f32`'s upper clamp and
///   +inf case never apply. Lanes below −87, which `exp_f32` sets to 0,
///   compute the formula at −88 instead ([`exp_f32_clamped`]`(−88) = +0`):
///   a VPT block (compare, then `−87 − 1` where below) instead of the clamp
///   and the select.
/// - `pick`: the prefix sums `P_i = P_{i−1} + e_i` (the scalar code's
///   running sum: adding `e = +0` changes no sum), one scalar VADD per
///   entry, eight entries a step, and one VCMP of the step's last four
///   against the target; the last `len % 8` entries go to the scalar loop,
///   from the running sum so far. The sums are nondecreasing, so the first
///   `P_i > target` has `e_i > 0` and is the scalar loop's answer.
///
/// Subnormals: Helium's f32 instructions read subnormal inputs as zero and
/// flush tiny results to zero, where the scalar code keeps them.
///
/// - The max: VMAXNM reads every logit, so a subnormal one raises IDC
///   ([`crate::helium_float`]) and the scalar code takes over.
/// - `y − max`: no input is subnormal then, and the difference of two
///   floats that are 0 or at least 2⁻¹⁰¹ in magnitude is 0 or at least 2⁻¹²⁴
///   (a multiple of the smaller one's unit in the last place), so with `max`
///   0, infinite or at least 2⁻¹⁰⁰ in magnitude (checked) no difference is
///   subnormal either (`y ≤ max`: a `y` within 2⁻¹²⁶ of such a max is above
///   2⁻¹⁰¹ itself).
/// - The formula: for every f32 `x` in [−88, 0], and −inf and NaN, the lane
///   operations with inputs and tiny results flushed give `exp_f32(x)`'s
///   bits (a NaN for a NaN): where they meet a subnormal, `|x|` or `r` is
///   below 2⁻²³ and the flushed terms vanish in `r + 1`. The test
///   `helium_lanes_equal_exp_f32` checks a sample of it on the host with a
///   model of the lanes; `helium_lanes_equal_exp_f32_exhaustively`
///   (ignored: a minute) all 1.1·10⁹ such `x`.
/// - The search: every `e` is 0 or at least `1.4·2⁻¹²⁶` (or NaN), so every
///   `P` is 0 or normal, and the target `u·Σe` is 0 or at least `2⁻²⁴` (u is
///   a multiple of 2⁻²⁴, Σe ≥ 1 holds the max's 1) or NaN.
///
/// NaNs: a NaN logit or an infinite max makes NaN weights, whose payload
/// Helium's default NaN may change (as x86 and Arm already differ there);
/// they make the target NaN too, so no running sum exceeds it on any
/// target and the index is the last positive weight's.
///
/// [`exp_f32`]: fn@crate::exp_f32
/// [`exp_f32_clamped`]: crate::exp_f32::exp_f32_clamped
#[cfg(all(feature = "helium", target_arch = "arm"))]
#[allow(unsafe_code)]
mod helium {
    use crate::exp_f32::{C3, C4, C5, C6, LN2_HI, LN2_LO, LOG2_E, ROUNDER};
    use crate::helium_float::{without_flags, FLUSH_FLAGS, INVALID_FLAG};
    use core::arch::asm;
    use core::ops::ControlFlow;

    /// 2⁻¹⁰⁰: a nonzero max below it in magnitude could leave a subnormal
    /// `y − max` (module docs).
    const SMALLEST_MAX: f32 = f32::from_bits((127 - 100) << 23);

    /// [`super::exp_weights`] on Helium lanes: the weights in place and
    /// their sum, or `None` (nothing written) if the logits are empty, a
    /// subnormal or a signalling NaN among them, or their max is nonzero
    /// and below 2⁻¹⁰⁰ in magnitude.
    pub fn exp_weights(logits: &mut [f32], temperature: f32) -> Option<f32> {
        let max = max(logits)?;
        if max != 0.0 && max.abs() < SMALLEST_MAX {
            return None;
        }
        Some(exp_lanes(logits, max, temperature))
    }

    /// The max of all logits, or `None` if there are none or a signalling
    /// NaN or a subnormal was read.
    fn max(logits: &[f32]) -> Option<f32> {
        let mut max = f32::NEG_INFINITY.to_bits();
        // SAFETY (called only for a nonempty slice): the tail-predicated
        // loop reads exactly the logits.len() entries.
        let run = || unsafe {
            asm!(
                ".arch_extension mve.fp",
                "vdup.32 q0, {max}",
                "dlstp.32 lr, {n}",
                "2:",
                "vldrw.u32 q1, [{p}], #16",
                "vmaxnm.f32 q0, q0, q1",
                "letp lr, 2b",
                "vmaxnmv.f32 {max}, q0",
                max = inout(reg) max,
                n = in(reg) logits.len(),
                p = inout(reg) logits.as_ptr() => _,
                out("lr") _,
                out("q0") _,
                out("q1") _,
                options(readonly, nostack),
            );
        };
        (!logits.is_empty() && without_flags(FLUSH_FLAGS | INVALID_FLAG, run))
            .then(|| f32::from_bits(max))
    }

    /// [`crate::exp_f32::exp_f32_clamped`]'s constants in the order the
    /// LDM of [`exp_lanes`] loads them into r1–r5, r8–r10.
    static EXP_CONSTANTS: [f32; 8] = [LOG2_E, ROUNDER, LN2_HI, LN2_LO, C6, C5, C4, C3];

    /// One vector of [`exp_lanes`]: `y` in Q0 to `e` in Q1.
    macro_rules! exp_vector {
        () => {
            concat!(
                // x = (y − max) / T
                "vsub.f32 q0, q0, {max}\n",
                "vdiv.f32 s0, s0, s24\n",
                "vdiv.f32 s1, s1, s24\n",
                "vdiv.f32 s2, s2, s24\n",
                "vdiv.f32 s3, s3, s24\n",
                // c = x < −87 ? −88 : x
                "vpt.f32 lt, q0, q5\n",
                "vsubt.f32 q0, q5, q7\n",
                // t = c·log2e + R, n = t − R
                "vmul.f32 q1, q0, r1\n",
                "vadd.f32 q1, q1, r2\n",
                "vsub.f32 q2, q1, r2\n",
                // r = (c − n·ln2_hi) − n·ln2_lo
                "vmul.f32 q3, q2, r3\n",
                "vsub.f32 q0, q0, q3\n",
                "vmul.f32 q3, q2, r4\n",
                "vsub.f32 q0, q0, q3\n",
                // p = ((((C6·r + C5)·r + C4)·r + C3)·r + C2)·r·r + r + 1
                "vmul.f32 q2, q0, r5\n",
                "vadd.f32 q2, q2, r8\n",
                "vmul.f32 q2, q2, q0\n",
                "vadd.f32 q2, q2, r9\n",
                "vmul.f32 q2, q2, q0\n",
                "vadd.f32 q2, q2, r10\n",
                "vmul.f32 q2, q2, q0\n",
                "vadd.f32 q2, q2, q4\n",
                "vmul.f32 q2, q2, q0\n",
                "vmul.f32 q2, q2, q0\n",
                "vadd.f32 q2, q2, q0\n",
                "vadd.f32 q2, q2, q7\n",
                // e = f32((t.bits << 23) + 1.0.bits) · p
                "vshl.i32 q1, q1, #23\n",
                "vadd.i32 q1, q1, q7\n",
                "vmul.f32 q1, q1, q2\n",
            )
        };
    }

    /// `e_i = exp_f32((y_i − max) / T)` in place, four at a time; returns
    /// `Σ e_i` summed in index order from 0.
    ///
    /// Per vector (Q0 the arguments, then c and r; Q1 t, then the exponent
    /// bits and e; Q2 n, then p; Q3 products; Q4 = C2 = 0.5, Q5 = −87, Q7 =
    /// 1.0; S24 = T, S25 = the sum, S26 = the length), as
    /// [`crate::exp_f32::exp_f32_clamped`]:
    ///
    /// ```text
    /// x = (y − max) / T                    VSUB, 4 scalar VDIV
    /// c = x < −87 ? −88 : x                VPT lt, VSUBT (−87 − 1)
    /// t = c·log2e + R,  n = t − R          R = 1.5·2²³
    /// r = (c − n·ln2_hi) − n·ln2_lo
    /// p = ((((C6·r + C5)·r + C4)·r + C3)·r + C2)·r·r + r + 1
    /// e = f32((t.bits << 23) + 1.0.bits) · p
    /// Σ += e_0; Σ += e_1; Σ += e_2; Σ += e_3   4 scalar VADD
    /// ```
    ///
    /// The exponent bits are the scalar `((n + 127) & 0xFF) << 23` with `n
    /// = t.bits − R.bits`: `R.bits << 23` is 0 mod 2³² and `127 << 23` is
    /// `1.0.bits`, and for n ∈ [−127, 127] the `& 0xFF` drops nothing of
    /// what `<< 23` keeps. The last 1–3 entries take one more pass with the
    /// load and the store predicated (VCTP) and only their sums added; its
    /// other lanes compute from `max` (or 0) and are neither stored nor
    /// summed.
    fn exp_lanes(logits: &mut [f32], max: f32, temperature: f32) -> f32 {
        let sum: u32;
        // SAFETY: reads and writes the logits.len() entries (the tail's
        // load and store predicated to the entries left); r1–r5, r8–r10
        // and Q0–Q7 are declared clobbered (Q4–Q7, AAPCS's s16–s31, are
        // saved by the caller).
        unsafe {
            asm!(
                ".arch_extension mve.fp",
                "ldm r1, {{r1, r2, r3, r4, r5, r8, r9, r10}}",
                "vmov.i32 q6, #0",
                "vmov s24, {ts}",
                "vmov s26, lr",
                "vmov.f32 q4, #0.5",
                "vmov.i32 q5, #0xc2000000",
                "vorr.i32 q5, #0xae0000",
                "vmov.f32 q7, #1.0",
                "lsrs lr, lr, #2",
                "wls lr, lr, 3f",
                "2:",
                "vldrw.u32 q0, [{p}]",
                exp_vector!(),
                "vstrw.32 q1, [{p}], #16",
                "vadd.f32 s25, s25, s4",
                "vadd.f32 s25, s25, s5",
                "vadd.f32 s25, s25, s6",
                "vadd.f32 s25, s25, s7",
                "le lr, 2b",
                "3:",
                // the last len % 4 entries
                "vmov lr, s26",
                "ands lr, lr, #3",
                "beq 5f",
                "vdup.32 q0, {max}",
                "vctp.32 lr",
                "vpst",
                "vldrwt.u32 q0, [{p}]",
                exp_vector!(),
                "vctp.32 lr",
                "vpst",
                "vstrwt.32 q1, [{p}]",
                "vadd.f32 s25, s25, s4",
                "cmp lr, #2",
                "blo 5f",
                "vadd.f32 s25, s25, s5",
                "beq 5f",
                "vadd.f32 s25, s25, s6",
                "5:",
                "vmov {ts}, s25",
                ts = inout(reg) temperature.to_bits() => sum,
                p = inout(reg) logits.as_mut_ptr() => _,
                max = in(reg) max.to_bits(),
                inout("r1") EXP_CONSTANTS.as_ptr() => _,
                out("r2") _,
                out("r3") _,
                out("r4") _,
                out("r5") _,
                out("r8") _,
                out("r9") _,
                out("r10") _,
                inout("lr") logits.len() => _,
                out("q0") _,
                out("q1") _,
                out("q2") _,
                out("q3") _,
                out("q4") _,
                out("q5") _,
                out("q6") _,
                out("q7") _,
                options(nostack),
            );
        }
        f32::from_bits(sum)
    }

    /// [`super::pick`] over whole steps of eight entries: `Break(i)` with
    /// the first `i` whose prefix sum exceeds `target`, or `Continue((n,
    /// P_{n−1}))` to go on after the `n` entries searched.
    pub fn pick(weights: &[f32], target: f32) -> ControlFlow<usize, (usize, f32)> {
        let steps = weights.len() / 8;
        if steps == 0 {
            return ControlFlow::Continue((0, 0.0));
        }
        let start = weights.as_ptr();
        let (end, lanes, running): (*const f32, u32, u32);
        // SAFETY: reads at most 8·steps entries of weights.
        unsafe {
            asm!(
                ".arch_extension mve.fp",
                "vmov.i32 q3, #0",
                "dls lr, lr",
                "2:",
                // q1 = P_{8k} .. P_{8k+3} from P_{8k−1} in s15 and e in q0,
                // q3 = P_{8k+4} .. P_{8k+7} from s7 and e in q2
                "vldrw.u32 q0, [{p}], #16",
                "vldrw.u32 q2, [{p}], #16",
                "vadd.f32 s4, s15, s0",
                "vadd.f32 s5, s4, s1",
                "vadd.f32 s6, s5, s2",
                "vadd.f32 s7, s6, s3",
                "vadd.f32 s12, s7, s8",
                "vadd.f32 s13, s12, s9",
                "vadd.f32 s14, s13, s10",
                "vadd.f32 s15, s14, s11",
                // P nondecreasing: one of the eight exceeds the target iff P_{8k+7} does
                "vcmp.f32 gt, q3, {target}",
                "vmrs r0, p0",
                "cbnz r0, 3f",
                "le lr, 2b",
                "b 4f",
                // which of the eight: the first four if one of them exceeds it
                "3:",
                "vcmp.f32 gt, q1, {target}",
                "vmrs r1, p0",
                "cbz r1, 4f",
                "mov r0, r1",
                "sub {p}, {p}, #16",
                "4:",
                "vmov {running}, s15",
                p = inout(reg) start => end,
                target = in(reg) target.to_bits(),
                running = out(reg) running,
                out("r0") lanes,
                out("r1") _,
                inout("lr") steps => _,
                out("q0") _,
                out("q1") _,
                out("q2") _,
                out("q3") _,
                options(readonly, nostack),
            );
        }
        let searched = (end as usize - start as usize) / 4;
        if lanes == 0 {
            ControlFlow::Continue((searched, f32::from_bits(running)))
        } else {
            // VPR.P0 has four bits per 32-bit lane; `end` is past the four compared.
            ControlFlow::Break(searched - 4 + lanes.trailing_zeros() as usize / 4)
        }
    }
}

/// Host models of the arguments the Helium sampler (module `helium`) rests
/// on; they run on every target, the lanes themselves only on the M55 (the
/// QEMU tests compare its output with the host's).
#[cfg(test)]
mod tests {
    extern crate std;

    use super::pick;
    use crate::exp_f32::{exp_f32, C2, C3, C4, C5, C6, LN2_HI, LN2_LO, LOG2_E, ROUNDER};
    use crate::Rng;

    /// Helium's f32 arithmetic (FPSCR's standard value: flush to zero,
    /// round to nearest): subnormal inputs read as zero, tiny results a
    /// zero of their sign, otherwise IEEE-754. Tiny means below 2⁻¹²⁶
    /// before rounding (Arm's FPRound) when `before_rounding`, after it
    /// otherwise; the lanes must agree with `exp_f32` either way.
    #[derive(Clone, Copy)]
    struct Flushing {
        before_rounding: bool,
    }

    fn read(v: f32) -> f32 {
        if v.is_subnormal() {
            0.0f32.copysign(v)
        } else {
            v
        }
    }

    impl Flushing {
        /// `f32` and `f64` forms of one operation: the f64 result is exact
        /// for a product of two f32 and for a sum below 2⁻¹²⁵ (a multiple of
        /// 2⁻¹⁴⁹), so it tells tininess before rounding.
        fn op(
            self,
            a: f32,
            b: f32,
            single: fn(f32, f32) -> f32,
            double: fn(f64, f64) -> f64,
        ) -> f32 {
            let (a, b) = (read(a), read(b));
            let rounded = single(a, b);
            let exact = double(f64::from(a), f64::from(b));
            let tiny = if self.before_rounding {
                exact != 0.0 && exact.abs() < f64::from(f32::MIN_POSITIVE)
            } else {
                rounded.is_subnormal() || (rounded == 0.0 && exact != 0.0)
            };
            if tiny {
                0.0f32.copysign(exact as f32)
            } else {
                rounded
            }
        }
        fn mul(self, a: f32, b: f32) -> f32 {
            self.op(a, b, |a, b| a * b, |a, b| a * b)
        }
        fn add(self, a: f32, b: f32) -> f32 {
            self.op(a, b, |a, b| a + b, |a, b| a + b)
        }
        fn sub(self, a: f32, b: f32) -> f32 {
            self.op(a, b, |a, b| a - b, |a, b| a - b)
        }

        /// `helium::exp_lanes` from `x` in Q0 (after the division) to `e`,
        /// instruction by instruction.
        fn lane(self, x: f32) -> f32 {
            // VPT lt (the compare reads x flushed), VSUBT −87 − 1
            let c = if read(x) < -87.0 {
                self.sub(-87.0, 1.0)
            } else {
                x
            };
            let t = self.add(self.mul(c, LOG2_E), ROUNDER);
            let n = self.sub(t, ROUNDER);
            let r = self.sub(self.sub(c, self.mul(n, LN2_HI)), self.mul(n, LN2_LO));
            let mut p = self.mul(r, C6);
            for k in [C5, C4, C3, C2] {
                p = self.mul(self.add(p, k), r);
            }
            p = self.add(self.add(self.mul(p, r), r), 1.0);
            let bits = (t.to_bits() << 23).wrapping_add(1.0f32.to_bits());
            self.mul(f32::from_bits(bits), p)
        }
    }

    /// Asserts that the lanes give `exp_f32(x)`'s bits (a NaN for a NaN).
    fn check_lane(x: f32) {
        let want = exp_f32(x);
        for before_rounding in [true, false] {
            let got = Flushing { before_rounding }.lane(x);
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "x = {x:e} ({:#010x}), tiny {}: lanes {got:e}, exp_f32 {want:e}",
                x.to_bits(),
                if before_rounding {
                    "before rounding"
                } else {
                    "after rounding"
                },
            );
        }
    }

    /// −88: the bits of the arguments the sampler's lanes see, from −0 down.
    const MINUS_88: u32 = 0xC2B0_0000;

    /// The sampler's lanes equal `exp_f32` on every 61st f32 of [−88, −0]
    /// (all exponents, subnormals included), around −87 and −88, around
    /// each `n·ln 2` (where `r` is tiny), and at the ends.
    #[test]
    fn helium_lanes_equal_exp_f32() {
        for bits in (0x8000_0000..=MINUS_88).step_by(61) {
            check_lane(f32::from_bits(bits));
        }
        let around = |x: f32| (x.to_bits() - 4096)..=(x.to_bits() + 4096);
        for bits in around(-87.0).chain(around(-88.0)) {
            check_lane(f32::from_bits(bits));
        }
        for n in 1..=126 {
            let x = -(f64::from(n) * core::f64::consts::LN_2) as f32;
            for bits in around(x) {
                check_lane(f32::from_bits(bits));
            }
        }
        for x in [
            0.0,
            -0.0,
            f32::NEG_INFINITY,
            -1e30,
            f32::NAN,
            -f32::MIN_POSITIVE,
        ] {
            check_lane(x);
        }
    }

    /// All 1.1·10⁹ f32 of [−88, −0]; a minute on two cores:
    /// `cargo test -p charm-core --release -- --ignored exhaustively`.
    #[test]
    #[ignore = "a minute; run with --ignored"]
    fn helium_lanes_equal_exp_f32_exhaustively() {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        std::thread::scope(|s| {
            for first in 0..threads {
                s.spawn(move || {
                    for bits in (0x8000_0000 + first..=MINUS_88).step_by(threads as usize) {
                        check_lane(f32::from_bits(bits));
                    }
                });
            }
        });
    }

    /// `helium::pick`'s search: the first `i` whose prefix sum over all
    /// weights (zeros and NaNs included) exceeds the target, else the last
    /// positive weight's index; on the nonnegative weights `exp_weights`
    /// makes (zeros, ties, NaNs among them), that is [`pick`].
    #[test]
    fn prefix_sums_pick_as_the_running_sum() {
        let first_above = |weights: &[f32], target: f32| {
            let mut p = 0.0f32;
            for (i, &e) in weights.iter().enumerate() {
                p += e;
                if p > target {
                    return i;
                }
            }
            weights.iter().rposition(|&e| e > 0.0).unwrap_or(0)
        };
        let mut rng = Rng::new(5);
        for case in 0..20_000 {
            let len = 1 + (rng.next_u64() % 40) as usize;
            let weights: std::vec::Vec<f32> = (0..len)
                .map(|_| match rng.next_u64() % 8 {
                    0 | 1 => 0.0,
                    2 => 1.0,
                    3 if case % 50 == 0 => f32::NAN,
                    _ => rng.next_f32(),
                })
                .collect();
            let total = weights.iter().fold(0.0f32, |s, &e| s + e);
            for u in [0.0, rng.next_f32(), 1.0 - 1.0 / 16_777_216.0] {
                let target = u * total;
                assert_eq!(
                    first_above(&weights, target),
                    pick(&weights, target),
                    "{weights:?}, u {u}"
                );
            }
        }
    }
}
