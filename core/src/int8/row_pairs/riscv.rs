//! The row pairs' dot products in RV32IM assembly, four blocks (eight
//! rows) at a time, the rest two at a time and one.
//!
//! RV32 loads sign-extended halfwords and bytes from any offset (LH, LB),
//! so a row-pair word needs no shifts: its halves read as signed halfwords
//! are `a'[2k] + 256·b[2k]` and `a'[2k+1] + 256·b[2k+1]` (`a' = a + 128` is
//! a byte in [0, 255] that never borrows from `b`), its odd bytes are
//! `b[2k]` and `b[2k+1]`. Per column pair and block:
//!
//! ```text
//! LH t0, 0(w)  LB t1, 1(w)  LH t2, 2(w)  LB t3, 3(w)
//! MUL t0, t0, h0  ADD R, R, t0      R += (a0' + 256·b0)·h0
//! MUL t1, t1, h0  ADD B, B, t1      B += b0·h0
//! MUL t2, t2, h1  ADD R, R, t2      R += (a1' + 256·b1)·h1
//! MUL t3, t3, h1  ADD B, B, t3      B += b1·h1
//! ```
//!
//! so that `R = A' + 256·B` and `B = Σ b·h` (mod 2³²), then `A' = R − 256·B`
//! and `A = A' − 128·Σh` exactly (the true `A` fits in an i32). The two
//! state halfwords `h0`, `h1` (LH, LH) serve four blocks. Per column pair
//! of four blocks: 18 loads (2 cycles each in the cycle model, which counts
//! the load-use bubble), 16 MUL and 16 ADD, 68 cycles for 16 MACs; with
//! four column pairs a turn and five pointer increments and the branch:
//! (4·68 + 5 + 3) / 64 = 4.375 cycles per MAC. The blocks left over go two
//! at a time ((4·36 + 3 + 3) / 32 = 4.69) and one at a time.

use super::DotSlot;
use core::arch::asm;

/// One column pair at byte offset `$o` of the state and of block `$w`,
/// into the sums `$r` and `$b`. Needs `h0`, `h1` loaded.
macro_rules! block_column_pair {
    ($o:literal, $o1:literal, $o2:literal, $o3:literal, $w:literal, $r:literal, $b:literal) => {
        concat!(
            "lh {t0}, ",
            $o,
            "(",
            $w,
            ")\n",
            "lb {t1}, ",
            $o1,
            "(",
            $w,
            ")\n",
            "lh {t2}, ",
            $o2,
            "(",
            $w,
            ")\n",
            "lb {t3}, ",
            $o3,
            "(",
            $w,
            ")\n",
            "mul {t0}, {t0}, {h0}\n",
            "add ",
            $r,
            ", ",
            $r,
            ", {t0}\n",
            "mul {t1}, {t1}, {h0}\n",
            "add ",
            $b,
            ", ",
            $b,
            ", {t1}\n",
            "mul {t2}, {t2}, {h1}\n",
            "add ",
            $r,
            ", ",
            $r,
            ", {t2}\n",
            "mul {t3}, {t3}, {h1}\n",
            "add ",
            $b,
            ", ",
            $b,
            ", {t3}\n",
        )
    };
}

/// A column pair of both blocks.
macro_rules! two_blocks_column_pair {
    ($o:literal, $o1:literal, $o2:literal, $o3:literal) => {
        concat!(
            "lh {h0}, ",
            $o,
            "({hp})\n",
            "lh {h1}, ",
            $o2,
            "({hp})\n",
            block_column_pair!($o, $o1, $o2, $o3, "{wp}", "{r0}", "{b0}"),
            block_column_pair!($o, $o1, $o2, $o3, "{wq}", "{r1}", "{b1}"),
        )
    };
}

/// A column pair of four blocks, the state halfwords loaded once.
macro_rules! four_blocks_column_pair {
    ($o:literal, $o1:literal, $o2:literal, $o3:literal) => {
        concat!(
            "lh {h0}, ",
            $o,
            "({hp})\n",
            "lh {h1}, ",
            $o2,
            "({hp})\n",
            block_column_pair!($o, $o1, $o2, $o3, "{wp}", "{r0}", "{b0}"),
            block_column_pair!($o, $o1, $o2, $o3, "{wq}", "{r1}", "{b1}"),
            block_column_pair!($o, $o1, $o2, $o3, "{wr}", "{r2}", "{b2}"),
            block_column_pair!($o, $o1, $o2, $o3, "{ws}", "{r3}", "{b3}"),
        )
    };
}

/// A column pair of one block.
macro_rules! one_block_column_pair {
    ($o:literal, $o1:literal, $o2:literal, $o3:literal) => {
        concat!(
            "lh {h0}, ",
            $o,
            "({hp})\n",
            "lh {h1}, ",
            $o2,
            "({hp})\n",
            block_column_pair!($o, $o1, $o2, $o3, "{wp}", "{r0}", "{b0}"),
        )
    };
}

/// [`super::pair_dots`] for `out.len()` blocks filling `w` (stride
/// `h.len()`), `h_sum = Σ h`; `false` (nothing done) unless `w` is 2-byte
/// aligned (`h` always is) and `h` has a positive multiple of 8 entries
/// (`padded(H)` always has).
#[inline]
pub fn pair_dots(w: &[i8], h: &[i16], h_sum: i32, out: &mut [DotSlot]) -> bool {
    let stride = h.len();
    if stride == 0 || stride % 8 != 0 || w.as_ptr() as usize % 2 != 0 {
        return false;
    }
    if w.len() < out.len() * 2 * stride {
        return false;
    }
    let h_range = h.as_ptr_range();
    let finish = |r: i32, b: i32| {
        // R = A' + 256·B (mod 2³²), A = A' − 128·Σh
        let a_raw = r.wrapping_sub(b.wrapping_shl(8));
        [
            a_raw.wrapping_sub(h_sum.wrapping_mul(super::PAIR_OFFSET)),
            b,
        ]
    };
    let mut blocks = w.chunks_exact(2 * stride);
    let mut quads = out.chunks_exact_mut(4);
    for quad in &mut quads {
        let (Some(p), Some(q), Some(u), Some(v)) =
            (blocks.next(), blocks.next(), blocks.next(), blocks.next())
        else {
            return false; // unreachable: w holds out.len() blocks
        };
        let mut sums = [0i32; 8];
        let [r0, b0, r1, b1, r2, b2, r3, b3] = &mut sums;
        // SAFETY: `p`, `q`, `u`, `v` (blocks of 2·stride bytes) and `h`
        // (2·stride bytes) are read 16 bytes a turn for stride/8 turns: in
        // bounds; halfword loads at even addresses (`w` and the stride are
        // even).
        unsafe {
            asm!(
                "2:",
                four_blocks_column_pair!("0", "1", "2", "3"),
                four_blocks_column_pair!("4", "5", "6", "7"),
                four_blocks_column_pair!("8", "9", "10", "11"),
                four_blocks_column_pair!("12", "13", "14", "15"),
                "addi {wp}, {wp}, 16",
                "addi {wq}, {wq}, 16",
                "addi {wr}, {wr}, 16",
                "addi {ws}, {ws}, 16",
                "addi {hp}, {hp}, 16",
                "bne {hp}, {hend}, 2b",
                wp = inout(reg) p.as_ptr() => _,
                wq = inout(reg) q.as_ptr() => _,
                wr = inout(reg) u.as_ptr() => _,
                ws = inout(reg) v.as_ptr() => _,
                hp = inout(reg) h_range.start => _,
                hend = in(reg) h_range.end,
                r0 = inout(reg) *r0,
                b0 = inout(reg) *b0,
                r1 = inout(reg) *r1,
                b1 = inout(reg) *b1,
                r2 = inout(reg) *r2,
                b2 = inout(reg) *b2,
                r3 = inout(reg) *r3,
                b3 = inout(reg) *b3,
                h0 = out(reg) _,
                h1 = out(reg) _,
                t0 = out(reg) _,
                t1 = out(reg) _,
                t2 = out(reg) _,
                t3 = out(reg) _,
                options(readonly, nostack),
            );
        }
        for (dot, rb) in quad.iter_mut().zip(sums.chunks_exact(2)) {
            dot.write(finish(rb[0], rb[1]));
        }
    }
    let mut outs = quads.into_remainder().chunks_exact_mut(2);
    for pair in &mut outs {
        let (Some(p), Some(q)) = (blocks.next(), blocks.next()) else {
            return false; // unreachable: w holds out.len() blocks
        };
        let (mut r0, mut b0, mut r1, mut b1) = (0i32, 0i32, 0i32, 0i32);
        // SAFETY: `p`, `q` (blocks of 2·stride bytes) and `h` (2·stride
        // bytes) are read 16 bytes a turn for stride/8 turns: in bounds;
        // halfword loads at even addresses (`w` and the stride are even).
        unsafe {
            asm!(
                "2:",
                two_blocks_column_pair!("0", "1", "2", "3"),
                two_blocks_column_pair!("4", "5", "6", "7"),
                two_blocks_column_pair!("8", "9", "10", "11"),
                two_blocks_column_pair!("12", "13", "14", "15"),
                "addi {wp}, {wp}, 16",
                "addi {wq}, {wq}, 16",
                "addi {hp}, {hp}, 16",
                "bne {hp}, {hend}, 2b",
                wp = inout(reg) p.as_ptr() => _,
                wq = inout(reg) q.as_ptr() => _,
                hp = inout(reg) h_range.start => _,
                hend = in(reg) h_range.end,
                r0 = inout(reg) r0,
                b0 = inout(reg) b0,
                r1 = inout(reg) r1,
                b1 = inout(reg) b1,
                h0 = out(reg) _,
                h1 = out(reg) _,
                t0 = out(reg) _,
                t1 = out(reg) _,
                t2 = out(reg) _,
                t3 = out(reg) _,
                options(readonly, nostack),
            );
        }
        pair[0].write(finish(r0, b0));
        pair[1].write(finish(r1, b1));
    }
    if let ([last], Some(p)) = (outs.into_remainder(), blocks.next()) {
        let (mut r0, mut b0) = (0i32, 0i32);
        // SAFETY: as above, one block.
        unsafe {
            asm!(
                "2:",
                one_block_column_pair!("0", "1", "2", "3"),
                one_block_column_pair!("4", "5", "6", "7"),
                one_block_column_pair!("8", "9", "10", "11"),
                one_block_column_pair!("12", "13", "14", "15"),
                "addi {wp}, {wp}, 16",
                "addi {hp}, {hp}, 16",
                "bne {hp}, {hend}, 2b",
                wp = inout(reg) p.as_ptr() => _,
                hp = inout(reg) h_range.start => _,
                hend = in(reg) h_range.end,
                r0 = inout(reg) r0,
                b0 = inout(reg) b0,
                h0 = out(reg) _,
                h1 = out(reg) _,
                t0 = out(reg) _,
                t1 = out(reg) _,
                t2 = out(reg) _,
                t3 = out(reg) _,
                options(readonly, nostack),
            );
        }
        last.write(finish(r0, b0));
    }
    true
}
