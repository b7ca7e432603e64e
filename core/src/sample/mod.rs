//! From logits to text: softmax, the seeded sampler, and the generator that
//! steps a model one character at a time (the loop `charm sample` and the
//! firmware share).

mod generator;
#[cfg(all(feature = "helium", target_arch = "arm"))]
#[allow(unsafe_code)]
mod helium;
mod integer;
#[cfg(any(charm_thumb1, charm_thumb2))]
#[allow(unsafe_code)]
mod largest_asm;
mod rng;
mod sampler;
mod softmax;
#[cfg(charm_thumb1)]
#[allow(unsafe_code)]
mod thumb;
#[cfg(charm_thumb2)]
#[allow(unsafe_code)]
mod thumb2;
#[cfg(any(charm_thumb1, charm_thumb2))]
#[allow(unsafe_code)]
mod weigh_asm;

pub use generator::{
    Buffers, GenerateError, Generator, Recurrent, Slices, StateElement, StepNotes,
};
pub use integer::sample_fixed;
pub use rng::Rng;
pub use sampler::{sample, SampleError, SampleParams};
pub use softmax::{exp_shifted, log_softmax_at, softmax};
