//! Fuzz the weight-file decoder: any bytes give Ok or a typed error, never a
//! panic. Each input is decoded twice: as it is, and with its CRC trailer
//! recomputed, so that the fuzzer also reaches the header, vocabulary and
//! tensor checks behind the CRC (random bytes almost never carry a valid CRC).
//! A file that decodes is then used as the firmware would use it: a capacity
//! check, then a generator priming and sampling a few characters.
#![no_main]

use charm_core::{crc32, decode_any, AlignedBytes, Buffers, Generator, SampleParams, Weights};
use libfuzzer_sys::fuzz_target;

fn exercise(data: &[u8]) {
    let bytes = AlignedBytes::from(data);
    let Ok(file) = decode_any(&bytes) else { return };
    if file.check_capacity(64, 256).is_err() {
        return;
    }
    let params = SampleParams { temperature: 0.8, top_k: 3 };
    match file.weights {
        Weights::F32(model) => {
            let mut buffers = Buffers::<64, 256>::new();
            let Ok(slices) = buffers.slices_for(&model) else { return };
            let Ok(mut g) = Generator::new(model, file.vocab, params, 1, slices) else { return };
            let _ = g.prime("ab\n");
            for _ in 0..4 {
                let _ = g.next_char();
            }
        }
        Weights::Int8(model) => {
            let mut buffers = Buffers::<64, 256, i16>::new();
            let Ok(slices) = buffers.slices_for(&model) else { return };
            let Ok(mut g) = Generator::new(model, file.vocab, params, 1, slices) else { return };
            let _ = g.prime("ab\n");
            for _ in 0..4 {
                let _ = g.next_char();
            }
        }
        Weights::Int8Fixed(model) => {
            let mut buffers = Buffers::<64, 256, i16>::new();
            let Ok(slices) = buffers.slices_for(&model) else { return };
            let Ok(mut g) = Generator::new(model, file.vocab, params, 1, slices) else { return };
            let _ = g.prime("ab\n");
            for _ in 0..4 {
                let _ = g.next_char();
            }
        }
        Weights::Int8Tiles(model) => {
            let mut buffers = Buffers::<64, 256, i8>::new();
            let Ok(slices) = buffers.slices_for(&model) else { return };
            let Ok(mut g) = Generator::new(model, file.vocab, params, 1, slices) else { return };
            let _ = g.prime("ab\n");
            for _ in 0..4 {
                let _ = g.next_char();
            }
        }
        Weights::Stacked(model) => {
            let mut buffers = Buffers::<512, 256>::new();
            let Ok(slices) = buffers.slices_for(&model) else { return };
            let Ok(mut g) = Generator::new(model, file.vocab, params, 1, slices) else { return };
            let _ = g.prime("ab\n");
            for _ in 0..4 {
                let _ = g.next_char();
            }
        }
        Weights::StackedInt8(model) => {
            let mut buffers = Buffers::<768, 256, i16>::new();
            let Ok(slices) = buffers.slices_for(&model) else { return };
            let Ok(mut g) = Generator::new(model, file.vocab, params, 1, slices) else { return };
            let _ = g.prime("ab\n");
            for _ in 0..4 {
                let _ = g.next_char();
            }
        }
        Weights::StackedTiles(model) => {
            let mut buffers = Buffers::<1280, 256, i8>::new();
            let Ok(slices) = buffers.slices_for(&model) else { return };
            let Ok(mut g) = Generator::new(model, file.vocab, params, 1, slices) else { return };
            let _ = g.prime("ab\n");
            for _ in 0..4 {
                let _ = g.next_char();
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    if data.len() >= 16 {
        let len = u32::from_le_bytes([data[8], data[9], data[10], data[11]]) as usize;
        if (16..=data.len()).contains(&len) {
            let mut fixed = data.to_vec();
            let crc = crc32(&fixed[..len - 4]);
            fixed[len - 4..len].copy_from_slice(&crc.to_le_bytes());
            exercise(&fixed);
        }
    }
});
