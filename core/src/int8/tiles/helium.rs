use core::arch::asm;
use core::mem::MaybeUninit;

/// [`super::row_dots`] on Helium for checked arguments: `w` holds
/// `groups` (1 to N/4) groups of stride `s`, a positive multiple of 16,
/// and `h` has `s` entries. Returns the `4·groups` sums it wrote.
pub fn row_dots<'b, const N: usize>(
    w: &[i8],
    s: usize,
    h: &[i8],
    groups: usize,
    sums: &'b mut MaybeUninit<[i32; N]>,
) -> &'b mut [i32] {
    let out = sums.as_mut_ptr().cast::<i32>();
    // SAFETY: reads groups·4·s bytes of w (one stream, 16 a load) and s
    // bytes of h per group (h is rewound by s after each), writes
    // 4·groups ≤ N i32 to `sums`. Every load is 16 bytes within bounds
    // because s is a multiple of 16.
    unsafe {
        asm!(
            // per group of four rows: the first 16 columns set the sums …
            "2:",
            "vldrb.u8 q0, [{h}], #16",
            "vldrb.u8 q1, [{w}], #16",
            "vmladav.s8 r0, q1, q0",
            "vldrb.u8 q2, [{w}], #16",
            "vmladav.s8 r2, q2, q0",
            "vldrb.u8 q3, [{w}], #16",
            "vmladav.s8 r4, q3, q0",
            "vldrb.u8 q1, [{w}], #16",
            "vmladav.s8 r8, q1, q0",
            // … and each further 16 add to them: Σ_c q[r, c]·hq[c]
            "wls lr, {more}, 4f",
            "3:",
            "vldrb.u8 q0, [{h}], #16",
            "vldrb.u8 q1, [{w}], #16",
            "vmladava.s8 r0, q1, q0",
            "vldrb.u8 q2, [{w}], #16",
            "vmladava.s8 r2, q2, q0",
            "vldrb.u8 q3, [{w}], #16",
            "vmladava.s8 r4, q3, q0",
            "vldrb.u8 q1, [{w}], #16",
            "vmladava.s8 r8, q1, q0",
            "le lr, 3b",
            "4:",
            "stm {out}!, {{r0, r2, r4, r8}}",
            "sub {h}, {h}, {s}",
            "subs {groups}, #1",
            "bne 2b",
            w = inout(reg) w.as_ptr() => _,
            h = inout(reg) h.as_ptr() => _,
            out = inout(reg) out => _,
            groups = inout(reg) groups => _,
            more = in(reg) s / 16 - 1,
            s = in(reg) s,
            out("r0") _,
            out("r2") _,
            out("r4") _,
            out("r8") _,
            out("lr") _,
            out("q0") _,
            out("q1") _,
            out("q2") _,
            out("q3") _,
            options(nostack),
        );
        // SAFETY: the loop initialized these 4·groups ≤ N entries.
        core::slice::from_raw_parts_mut(out, 4 * groups)
    }
}

/// The loop head shared by [`hidden_rows`] and [`logit_rows`]: a
/// tail-predicated loop over `n` rows, four a pass, with
/// `q0 = acc as f32 · m + b` and `acc`, `m`, `b` advanced.
macro_rules! rows_loop_head {
    () => {
        concat!(
            ".arch_extension mve.fp\n",
            "dlstp.32 lr, {n}\n",
            "2:\n",
            "vldrw.u32 q0, [{acc}], #16\n",
            "vcvt.f32.s32 q0, q0\n",
            "vldrw.u32 q1, [{m}], #16\n",
            "vmul.f32 q0, q0, q1\n",
            "vldrw.u32 q1, [{b}], #16\n",
            "vadd.f32 q0, q0, q1",
        )
    };
}

/// The hidden rows four at a time on Helium lanes, each lane the scalar
/// step's operations in its order:
///
/// ```text
/// u  = (acc as f32 · m + b) + (wx as f32) · sx     VCVT, VMUL, VADD; VLDRB.S32, VCVT, VMUL, VADD
/// k  = clamp((u · 128) as i32, -400, 400)          VCVT.S32.F32 #7 (saturating, NaN → 0), VMAX, VMIN
/// hq = TABLE[k + 400]                              VLDRB.S32 gather
/// ```
///
/// (VMUL then VADD, never a fused VFMA.) A tail-predicated loop covers
/// any count. Returns the rows written: all of them, or 0 when a
/// subnormal was flushed (the caller then computes every row), so the
/// bits are IEEE-754's.
pub fn hidden_rows(acc: &[i32], m: &[f32], b: &[f32], wx: &[i8], sx: f32, out: &mut [i8]) -> usize {
    let n = acc
        .len()
        .min(m.len())
        .min(b.len())
        .min(wx.len())
        .min(out.len());
    // SAFETY: the tail-predicated loop reads n entries of acc, m, b and
    // wx and writes n of out (lanes past n neither load nor store); the
    // gather reads TABLE at offsets clamped to [-400, 400] from its
    // middle (801 entries).
    let run = || unsafe {
        asm!(
            "vdup.32 q6, {lo}",
            "vdup.32 q7, {hi}",
            rows_loop_head!(),
            "vldrb.s32 q1, [r1], #4",
            "vcvt.f32.s32 q1, q1",
            "vmul.f32 q1, q1, {sx}",
            "vadd.f32 q0, q0, q1",
            "vcvt.s32.f32 q0, q0, #7",
            "vmax.s32 q0, q0, q6",
            "vmin.s32 q0, q0, q7",
            "vldrb.s32 q1, [{middle}, q0]",
            "vstrb.32 q1, [r2], #4",
            "letp lr, 2b",
            lo = in(reg) -crate::int8::tanh_i8::HALF,
            hi = in(reg) crate::int8::tanh_i8::HALF,
            n = in(reg) n,
            acc = inout(reg) acc.as_ptr() => _,
            m = inout(reg) m.as_ptr() => _,
            b = inout(reg) b.as_ptr() => _,
            // the widening load and the narrowing store take r0–r7
            inout("r1") wx.as_ptr() => _,
            inout("r2") out.as_mut_ptr() => _,
            sx = in(reg) sx.to_bits(),
            middle = in(reg) crate::int8::tanh_i8::TABLE.as_ptr().wrapping_add(crate::int8::tanh_i8::HALF as usize),
            out("lr") _,
            out("q0") _,
            out("q1") _,
            out("q6") _,
            out("q7") _,
            options(nostack),
        );
    };
    if n > 0 && crate::kernels::helium_float::without_flush(run) {
        n
    } else {
        0
    }
}

/// The logits four at a time on Helium lanes, `y = acc as f32 · m + b`;
/// as [`hidden_rows`], the rows written or 0 after a flush.
pub fn logit_rows(acc: &[i32], m: &[f32], b: &[f32], out: &mut [f32]) -> usize {
    let n = acc.len().min(m.len()).min(b.len()).min(out.len());
    // SAFETY: the tail-predicated loop reads n entries of acc, m and b
    // and writes n of out.
    let run = || unsafe {
        asm!(
            rows_loop_head!(),
            "vstrw.32 q0, [{out}], #16",
            "letp lr, 2b",
            n = in(reg) n,
            acc = inout(reg) acc.as_ptr() => _,
            m = inout(reg) m.as_ptr() => _,
            b = inout(reg) b.as_ptr() => _,
            out = inout(reg) out.as_mut_ptr() => _,
            out("lr") _,
            out("q0") _,
            out("q1") _,
            options(nostack),
        );
    };
    if n > 0 && crate::kernels::helium_float::without_flush(run) {
        n
    } else {
        0
    }
}
