//! Which characters step `s` trains on.
//!
//! The training part of the corpus (all but the last `val_fraction`) is cut
//! into B contiguous segments, one per stream, as char-rnn does. Step `s`
//! reads window `i = s mod W` of every segment (W = windows per segment):
//! inputs `seg_b[i·T .. i·T+T]`, targets shifted by one. The hidden state of
//! each stream is carried from window to window and reset to 0 when the
//! segments start over (a new epoch), as min-char-rnn resets at the end of its
//! data. The position is a function of the step alone, so a checkpoint only
//! needs the step, the carried states, the weights and the optimizer moments.

/// The cut of the training characters into B streams of windows of T.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataPlan {
    /// Streams B.
    pub batch: usize,
    /// Window length T.
    pub seq_len: usize,
    /// Characters per stream's segment, ⌊n / B⌋.
    pub segment: usize,
    /// Windows per segment W = ⌊(segment - 1) / T⌋ (a target needs the next character).
    pub windows: u64,
}

impl DataPlan {
    /// The plan for `train_chars` characters; `None` when a segment is
    /// shorter than T + 1 (one window and its last target).
    pub fn new(train_chars: usize, batch: usize, seq_len: usize) -> Option<Self> {
        let segment = train_chars / batch.max(1);
        (segment > seq_len).then_some(Self {
            batch,
            seq_len,
            segment,
            windows: ((segment - 1) / seq_len) as u64,
        })
    }

    /// Fills `xs` and `ys` (B·T each, stream-major) with the inputs and
    /// targets of step `step`; returns whether the step starts a new pass
    /// over the segments (the carried states must then be reset to 0).
    pub fn fill(&self, train: &[u32], step: u64, xs: &mut [u32], ys: &mut [u32]) -> bool {
        let (t, i) = (self.seq_len, step % self.windows);
        let base = i as usize * t;
        for s in 0..self.batch {
            let from = s * self.segment + base;
            xs[s * t..(s + 1) * t].copy_from_slice(&train[from..from + t]);
            ys[s * t..(s + 1) * t].copy_from_slice(&train[from + 1..from + t + 1]);
        }
        i == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_walk_each_segment_and_start_over() {
        // 23 characters, B 2: segments [0, 11) and [11, 22); T 4: W = 2.
        let train: Vec<u32> = (0..23).collect();
        let plan = DataPlan::new(train.len(), 2, 4).unwrap();
        assert_eq!((plan.segment, plan.windows), (11, 2));
        let (mut xs, mut ys) = (vec![0; 8], vec![0; 8]);
        assert!(plan.fill(&train, 0, &mut xs, &mut ys));
        assert_eq!(xs, [0, 1, 2, 3, 11, 12, 13, 14]);
        assert_eq!(ys, [1, 2, 3, 4, 12, 13, 14, 15]);
        assert!(!plan.fill(&train, 1, &mut xs, &mut ys));
        assert_eq!(xs, [4, 5, 6, 7, 15, 16, 17, 18]);
        assert_eq!(ys, [5, 6, 7, 8, 16, 17, 18, 19]);
        assert!(plan.fill(&train, 2, &mut xs, &mut ys));
        assert_eq!(xs[0], 0);
        assert_eq!(DataPlan::new(9, 2, 4), None, "segments of 4 < T + 1");
    }
}
