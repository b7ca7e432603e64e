//! A batch cut into shards, one per thread: what both batched engines (the
//! one-layer engine and the stacked engine) run their passes on.
//!
//! The B streams of a window are cut into contiguous shards of near-equal
//! size; shard 0 runs on the calling thread and writes its gradient into the
//! caller's, shards 1.. run on persistent workers ([`crate::math::pool`])
//! into gradients of their own, which are then added to the caller's in
//! shard order, so the sum does not depend on which thread finished first.

use crate::math::params::Params;
use crate::math::pool::Pool;
use charm_core::Float;

/// The streams `0..batch` cut into `shards` contiguous shards (at least
/// one, at most `batch`), as (first stream, streams): one per thread.
pub(crate) fn shard_ranges(batch: usize, shards: usize) -> Vec<(usize, usize)> {
    let k = shards.clamp(1, batch.max(1));
    (0..k)
        .map(|i| (i * batch / k, (i + 1) * batch / k - i * batch / k))
        .collect()
}

/// Adds the other shards' gradients to the first shard's, in shard order (so
/// the sum does not depend on thread timing).
pub(crate) fn add_shard_gradients<F: Float>(grads: &mut Params<F>, others: &[Params<F>]) {
    for g in others {
        for (a, &b) in grads.data.iter_mut().zip(&g.data) {
            *a += b;
        }
    }
}

/// The shards of a batch, each shard's workspace `W` and gradient, and the
/// threads that run them.
#[derive(Debug)]
pub(crate) struct Shards<F, W> {
    ranges: Vec<(usize, usize)>,
    work: Vec<W>,
    /// Gradients of shards 1.. (shard 0 writes into the caller's).
    grads: Vec<Params<F>>,
    pool: Pool,
}

impl<F: Float + Send + Sync, W: Default + Send> Shards<F, W> {
    /// `batch` streams in `shards` shards (see [`shard_ranges`]), with
    /// gradients made by `zeros` for shards 1 and up.
    pub(crate) fn new(batch: usize, shards: usize, zeros: impl Fn() -> Params<F>) -> Self {
        let ranges = shard_ranges(batch, shards);
        let k = ranges.len();
        Self {
            work: (0..k).map(|_| W::default()).collect(),
            grads: (1..k).map(|_| zeros()).collect(),
            pool: Pool::new(k - 1),
            ranges,
        }
    }

    /// Runs `pass(first, n, h, workspace, gradient)` for every shard, each
    /// on its `n` streams' rows of `h` (`state` numbers a stream), and
    /// returns the sum of the passes' losses in shard order. With `grads`,
    /// shard 0's pass writes into it and the others' gradients are added to
    /// it afterwards; without, every pass gets `None` (forward only).
    pub(crate) fn run(
        &mut self,
        h: &mut [F],
        state: usize,
        mut grads: Option<&mut Params<F>>,
        pass: impl Fn(usize, usize, &mut [F], &mut W, Option<&mut Params<F>>) -> F + Sync,
    ) -> F {
        let backward = grads.is_some();
        let mut outs: Vec<Option<&mut Params<F>>> = vec![grads.as_deref_mut()];
        outs.extend(self.grads.iter_mut().map(|g| backward.then_some(g)));
        let mut losses = vec![F::ZERO; self.ranges.len()];
        let pass = &pass;
        let mut jobs: Vec<Box<dyn FnMut() + Send + '_>> = Vec::with_capacity(self.ranges.len());
        let mut rest = h;
        for (((&(first, n), ws), g), loss) in self
            .ranges
            .iter()
            .zip(self.work.iter_mut())
            .zip(outs)
            .zip(losses.iter_mut())
        {
            let (hp, tail) = std::mem::take(&mut rest).split_at_mut(n * state);
            rest = tail;
            let mut g = g;
            jobs.push(Box::new(move || {
                *loss = pass(first, n, hp, ws, g.as_deref_mut());
            }));
        }
        let mut refs: Vec<&mut (dyn FnMut() + Send)> = jobs
            .iter_mut()
            .map(|j| &mut **j as &mut (dyn FnMut() + Send))
            .collect();
        self.pool.scope(&mut refs);
        drop(refs);
        drop(jobs);
        if let Some(grads) = grads {
            add_shard_gradients(grads, &self.grads);
        }
        losses.into_iter().fold(F::ZERO, |a, b| a + b)
    }
}

/// Defines an engine's shard pass, `pub fn NAME<F: Kernels>(ARGS) -> F`, as
/// its `BODY(ARGS)` compiled twice: as is, and for AVX2 + FMA, the second run
/// where [`crate::math::kernels::has_avx2_fma`] says so. `BODY` is
/// `#[inline(always)]` with every phase of the pass inlined into it, so the
/// AVX2 build vectorizes the element-wise loops (tanh, gates, dropout, bias
/// sums) 8 lanes wide. Rust never fuses `a·b + c` on its own, so both builds
/// compute the same bits.
macro_rules! shard_pass_for_this_cpu {
    ($(#[$doc:meta])* pub fn $name:ident<F: Kernels>($($arg:ident: $ty:ty),* $(,)?) -> F = $body:ident;) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        pub fn $name<F: Kernels>($($arg: $ty),*) -> F {
            /// `BODY` compiled for AVX2 and FMA.
            ///
            /// # Safety
            ///
            /// The CPU has AVX2 and FMA (code compiled for them runs here).
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn with_avx2<F: Kernels>($($arg: $ty),*) -> F {
                $body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            if $crate::math::kernels::has_avx2_fma() {
                // SAFETY: the CPU has AVX2 and FMA (checked just above).
                return unsafe { with_avx2($($arg),*) };
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use shard_pass_for_this_cpu;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stream in exactly one shard, in order, sizes within one of
    /// each other, as many shards as asked up to the batch.
    #[test]
    fn shard_ranges_cover_the_batch_in_order() {
        for batch in 0..40 {
            for shards in 0..10 {
                let r = shard_ranges(batch, shards);
                assert_eq!(r.len(), shards.clamp(1, batch.max(1)));
                let mut next = 0;
                for &(first, n) in &r {
                    assert_eq!(first, next);
                    next += n;
                }
                assert_eq!(next, batch);
                let (lo, hi) = r
                    .iter()
                    .fold((usize::MAX, 0), |(lo, hi), &(_, n)| (lo.min(n), hi.max(n)));
                assert!(hi - lo <= 1, "{batch} in {shards}: {r:?}");
            }
        }
    }
}
