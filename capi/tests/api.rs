//! The C API called from Rust on the host, as C calls it: the characters
//! are charm-core's `Generator`'s, for every element type; every bad input
//! is a code, and every code's sentence is charm's.

use charm::*;
use charm_core::{
    decode_any, encode_any, padded, quantize, quantize_tiles, AlignedBytes, Cell, FormatError,
    GenerateError, Generator, Recurrent, SampleError, SampleParams, Slices, StateElement, Vocab,
    Weights,
};
use charm_tests::models::{random_model, random_stacked_model};
use core::ptr::{null, null_mut};
use proptest::prelude::*;

/// The file in each element type: f32, int8 row pairs, int8 tiles, fixed int8.
fn in_every_element_type(f32_file: &[u8]) -> [Vec<u8>; 4] {
    let bytes = AlignedBytes::from(f32_file);
    let file = charm_core::decode(&bytes).expect("an f32 model");
    let pairs = quantize(&file.model).expect("H <= 512");
    let tiles = quantize_tiles(&file.model);
    let fixed = charm_core::FixedModel::from_row_pairs(&pairs.view());
    let encode = |w| encode_any(&w, &file.vocab, &file.meta).expect("encode");
    [
        f32_file.to_vec(),
        encode(Weights::Int8(pairs.view())),
        encode(Weights::Int8Tiles(tiles.view())),
        encode(Weights::Int8Fixed(fixed.view())),
    ]
}

/// A version-5 file in each element type, as `charm quantize` writes them:
/// f32, int8 row pairs, int8 tiles.
#[cfg(feature = "cells")]
fn stacked_in_every_element_type(f32_file: &[u8]) -> [Vec<u8>; 3] {
    use charm_core::{quantize_stacked, RowPairs, Tiles};
    let bytes = AlignedBytes::from(f32_file);
    let file = decode_any(&bytes).expect("a model");
    let Weights::Stacked(model) = file.weights else {
        panic!("not a version-5 f32 model");
    };
    let pairs = quantize_stacked::<RowPairs>(&model).expect("H <= 512");
    let tiles = quantize_stacked::<Tiles>(&model).expect("H <= 512");
    let encode = |w| encode_any(&w, &file.vocab, &file.meta).expect("encode");
    [
        f32_file.to_vec(),
        encode(Weights::StackedInt8(pairs.view())),
        encode(Weights::StackedTiles(tiles.view())),
    ]
}

/// "abc...": `n` lowercase letters and more (as vocabularies go, ascending).
fn letters(n: usize) -> String {
    (0..n as u32)
        .map(|i| char::from_u32(u32::from('a') + i).expect("a character"))
        .collect()
}

/// Sampling parameters and a prime, as `charm sample` takes them.
#[derive(Debug, Clone)]
struct Run {
    temperature: f32,
    top_k: u32,
    seed: u64,
    prime: String,
    len: usize,
}

/// What charm-core's `Generator` draws (the loop of `charm sample`).
fn core_text(file: &[u8], run: &Run) -> String {
    fn draw<M: Recurrent>(m: M, vocab: Vocab<'_>, run: &Run) -> String
    where
        M::State: StateElement,
    {
        let n = m.state_len();
        let (mut h, mut h_next) = (vec![M::State::ZERO; n], vec![M::State::ZERO; n]);
        let mut logits = vec![0.0; m.vocab()];
        let slices = Slices {
            h: &mut h,
            h_next: &mut h_next,
            logits: &mut logits,
        };
        let params = SampleParams {
            temperature: run.temperature,
            top_k: run.top_k as usize,
        };
        let mut g = Generator::new(m, vocab, params, run.seed, slices).expect("valid");
        g.prime(&run.prime).expect("prime in the vocabulary");
        let mut text = run.prime.clone();
        text.extend((0..run.len).map(|_| g.next_char()));
        text
    }
    let bytes = AlignedBytes::from(file);
    let f = decode_any(&bytes).expect("a valid model");
    match f.weights {
        Weights::F32(m) => draw(m, f.vocab, run),
        Weights::Int8(m) => draw(m, f.vocab, run),
        Weights::Int8Tiles(m) => draw(m, f.vocab, run),
        Weights::Int8Fixed(m) => draw(m, f.vocab, run),
        Weights::Stacked(m) => draw(m, f.vocab, run),
        Weights::StackedInt8(m) => draw(m, f.vocab, run),
        Weights::StackedTiles(m) => draw(m, f.vocab, run),
    }
}

/// A model and a generator set up through the C API, in memory of this test.
struct CModel {
    _bytes: AlignedBytes,
    model: Box<CharmModel>,
}

impl CModel {
    fn new(file: &[u8]) -> Result<Self, CharmError> {
        let bytes = AlignedBytes::from(file);
        // SAFETY (here and below): every pointer is valid as the contracts ask.
        let mut model: Box<CharmModel> = Box::new(unsafe { core::mem::zeroed() });
        let mut error = CharmError {
            code: 99,
            values: [9; 4],
        };
        let status =
            unsafe { charm_model_init(&mut *model, bytes.as_ptr(), bytes.len(), &mut error) };
        assert_eq!(status, error.code, "the status is the record's code");
        if status != CHARM_OK {
            return Err(error);
        }
        assert_eq!(error.values, [0; 4], "success clears the record");
        Ok(Self {
            _bytes: bytes,
            model,
        })
    }

    fn generator_size(&self) -> usize {
        unsafe { charm_generator_size(&*self.model) }
    }
}

/// Generator memory: `u64` words, so 8-byte aligned.
fn arena(bytes: usize) -> Vec<u64> {
    vec![0xA5A5_A5A5_A5A5_A5A5; bytes.div_ceil(8)]
}

/// Checks a call's status and returns nothing; panics with the sentence.
fn ok(status: CharmStatus, error: &CharmError) {
    assert_eq!(status, error.code);
    assert!(status == CHARM_OK, "{}", sentence(error));
}

/// `charm_error_sentence` of a record, with a buffer that is large enough.
fn sentence(error: &CharmError) -> String {
    let mut buffer = vec![0u8; 512];
    let n = unsafe { charm_error_sentence(error, buffer.as_mut_ptr().cast(), buffer.len()) };
    assert!(n < buffer.len());
    assert_eq!(buffer[n], 0, "NUL-terminated");
    String::from_utf8(buffer[..n].to_vec()).expect("UTF-8")
}

/// What the C API draws for `run`.
fn c_text(file: &[u8], run: &Run) -> String {
    let m = CModel::new(file).expect("a valid model");
    let mut memory = arena(m.generator_size());
    let mut g: *mut CharmGenerator = null_mut();
    let mut e = CharmError {
        code: 0,
        values: [0; 4],
    };
    unsafe {
        ok(
            charm_generator_init(
                &mut g,
                memory.as_mut_ptr().cast(),
                memory.len() * 8,
                &*m.model,
                &mut e,
            ),
            &e,
        );
        ok(
            charm_generator_set_temperature(g, run.temperature, &mut e),
            &e,
        );
        ok(charm_generator_set_top_k(g, run.top_k, &mut e), &e);
        ok(charm_generator_set_seed(g, run.seed, &mut e), &e);
        ok(
            charm_generator_prime(g, run.prime.as_ptr().cast(), run.prime.len(), &mut e),
            &e,
        );
    }
    let mut text = run.prime.as_bytes().to_vec();
    for _ in 0..run.len {
        let mut utf8 = [0xFFu8; 5];
        let mut n = 0usize;
        unsafe {
            ok(
                charm_generator_next(g, utf8.as_mut_ptr(), 5, &mut n, &mut e),
                &e,
            )
        };
        assert!((1..=4).contains(&n));
        assert_eq!(utf8[n], 0, "a NUL after the character when there is room");
        text.extend_from_slice(&utf8[..n]);
    }
    String::from_utf8(text).expect("whole characters")
}

/// Sampling runs of every kind: defaults, a prime, top-k, greedy.
fn runs() -> [Run; 4] {
    [
        Run {
            temperature: 1.0,
            top_k: 0,
            seed: 1,
            prime: String::new(),
            len: 200,
        },
        Run {
            temperature: 0.8,
            top_k: 0,
            seed: 7,
            prime: "the c".into(),
            len: 200,
        },
        Run {
            temperature: 1.5,
            top_k: 3,
            seed: 99,
            prime: "ab".into(),
            len: 100,
        },
        Run {
            temperature: 0.0,
            top_k: 0,
            seed: 3,
            prime: "z".into(),
            len: 50,
        },
    ]
}

#[test]
fn every_element_type_draws_what_the_core_generator_draws() {
    let runs = runs();
    // H and V not multiples of the row pairs' 8 or the tiles' 16 and 4.
    for (hidden, vocab, seed) in [(1, 2, 1), (13, 28, 2), (37, 61, 3)] {
        let mut v = String::from(" ");
        v.push_str(&letters(vocab - 1));
        let f32_file = random_model(hidden, &v, seed, 0.6);
        for (file, what) in in_every_element_type(&f32_file)
            .iter()
            .zip(["f32", "int8", "tiles", "fixed"])
        {
            for run in &runs {
                let mut run = run.clone();
                run.prime.retain(|c| v.contains(c));
                assert_eq!(
                    c_text(file, &run),
                    core_text(file, &run),
                    "{what} H={hidden} V={vocab} {run:?}"
                );
            }
        }
    }
}

#[test]
fn the_embedding_examples_model_draws_what_the_core_generator_draws() {
    let tiny = include_bytes!("../../core/examples/embed/tiny.charm");
    let run = Run {
        temperature: 0.8,
        top_k: 0,
        seed: 7,
        prime: "the c".into(),
        len: 120,
    };
    for file in in_every_element_type(tiny) {
        assert_eq!(c_text(&file, &run), core_text(&file, &run));
    }
}

/// Every cell and depth (format version 5) in every element type: the C
/// API draws exactly what charm-core's `Generator` draws (the same step, so
/// the same bits; no tolerance).
#[cfg(feature = "cells")]
#[test]
fn every_cell_and_depth_draws_what_the_core_generator_draws() {
    let runs = runs();
    // H and V not multiples of the row pairs' 8 or the tiles' 16 and 4;
    // depths 1, 2 and the most a file has (4), the last at one shape.
    let shapes = [(1, 2, 1), (13, 28, 2), (37, 61, 3)];
    let mut models: Vec<(Cell, usize, (usize, usize, u64))> = Vec::new();
    for cell in Cell::ALL {
        for depth in [1, 2] {
            models.extend(shapes.iter().map(|&shape| (cell, depth, shape)));
        }
        models.push((cell, charm_core::MAX_LAYERS, (13, 28, 4)));
    }
    for (cell, depth, (hidden, vocab, seed)) in models {
        let mut v = String::from(" ");
        v.push_str(&letters(vocab - 1));
        let f32_file = random_stacked_model(cell, depth, hidden, &v, seed, 0.6);
        for (file, what) in stacked_in_every_element_type(&f32_file)
            .iter()
            .zip(["f32", "int8", "tiles"])
        {
            for run in &runs {
                let mut run = run.clone();
                run.prime.retain(|c| v.contains(c));
                assert_eq!(
                    c_text(file, &run),
                    core_text(file, &run),
                    "{cell:?} L={depth} {what} H={hidden} V={vocab} {run:?}"
                );
            }
        }
    }
}

/// The generator's memory holds each cell's state: per layer h (rnn, GRU)
/// or h and c (LSTM), twice (the state and the next), in the element
/// type's own form. Differences of `charm_generator_size` between models
/// that differ only in the cell or the depth are those states' bytes.
#[cfg(feature = "cells")]
#[test]
fn generator_memory_holds_each_cells_state() {
    let v = letters(20);
    for hidden in [5, 13, 40] {
        let size = |cell, depth, element: usize| {
            let f32_file = random_stacked_model(cell, depth, hidden, &v, 1, 0.5);
            let file = &stacked_in_every_element_type(&f32_file)[element];
            CModel::new(file).expect("valid").generator_size()
        };
        // Bytes of one state vector of H units: f32 h or c (4·H); Q15 h
        // (2·padded(H)), and an f32 c in two Q15 lanes (2·2·padded(H));
        // int8 h (tile_stride(H)), and an f32 c in four int8 lanes.
        let (s8, s16) = (charm_core::tile_stride(hidden), padded(hidden));
        let h = [4 * hidden, 2 * s16, s8];
        let c = [4 * hidden, 2 * 2 * s16, 4 * s8];
        for element in 0..3 {
            for cell in [Cell::Rnn, Cell::Gru] {
                // Another layer: its h, in the state and the next one.
                assert_eq!(
                    size(cell, 2, element) - size(cell, 1, element),
                    2 * h[element],
                    "{cell:?} element {element} H={hidden}"
                );
            }
            // An LSTM layer carries c besides h: 2 states of L·c more.
            for depth in [1, 3] {
                assert_eq!(
                    size(Cell::Lstm, depth, element) - size(Cell::Gru, depth, element),
                    2 * depth * c[element],
                    "LSTM L={depth} element {element} H={hidden}"
                );
            }
            // A GRU's state is an rnn's (h alone): the same memory.
            assert_eq!(size(Cell::Gru, 2, element), size(Cell::Rnn, 2, element));
        }
    }
}

/// Short memory for a model of several layers is a code, never a write
/// past it; the exact size works.
#[cfg(feature = "cells")]
#[test]
fn short_memory_for_layers_is_a_code() {
    let f32_file = random_stacked_model(Cell::Lstm, 2, 11, &letters(9), 5, 0.5);
    for file in stacked_in_every_element_type(&f32_file) {
        let m = CModel::new(&file).expect("valid");
        let needed = m.generator_size();
        // One guard word past `needed`, which charm must not touch.
        let mut memory = arena(needed + 8);
        let guard = *memory.last().expect("a word");
        let mut g = null_mut();
        let mut e = record();
        for given in [0, 8, needed / 2, needed - 1] {
            let status = unsafe {
                charm_generator_init(&mut g, memory.as_mut_ptr().cast(), given, &*m.model, &mut e)
            };
            assert_eq!(status, CHARM_ERR_MEMORY_TOO_SMALL);
            assert_eq!(e.values, [given as u32, needed as u32, 0, 0]);
            assert_eq!(
                sentence(&e),
                format!(
                    "the memory given holds {given} bytes, the generator for this model needs \
                     {needed}"
                )
            );
        }
        unsafe {
            ok(
                charm_generator_init(
                    &mut g,
                    memory.as_mut_ptr().cast(),
                    needed,
                    &*m.model,
                    &mut e,
                ),
                &e,
            );
        }
        assert_eq!(next_chars(g, 30).len(), 30);
        assert_eq!(memory[needed.div_ceil(8)..].to_vec(), vec![guard; 1]);
    }
}

/// `charm_model_get_info` says the cell and the layers (and, as before,
/// the element type, H, V, version and length).
#[cfg(feature = "cells")]
#[test]
fn model_info_says_the_cell_and_the_layers() {
    for (cell, code) in Cell::ALL
        .into_iter()
        .zip([CHARM_CELL_RNN, CHARM_CELL_GRU, CHARM_CELL_LSTM])
    {
        for depth in 1..=charm_core::MAX_LAYERS {
            let f32_file = random_stacked_model(cell, depth, 9, &letters(14), 2, 0.5);
            for (file, element) in stacked_in_every_element_type(&f32_file).iter().zip([
                CHARM_ELEMENT_F32,
                CHARM_ELEMENT_INT8,
                CHARM_ELEMENT_INT8_TILES,
            ]) {
                let info = info_of(file);
                assert_eq!(
                    info,
                    CharmModelInfo {
                        element,
                        hidden: 9,
                        vocab: 14,
                        version: u32::from(charm_core::VERSION_CELLS),
                        file_length: file.len() as u32,
                        cell: code,
                        layers: depth as u32,
                    }
                );
            }
        }
    }
}

/// A version-5 file that is damaged: charm's sentence, as the CLI says it.
#[cfg(feature = "cells")]
#[test]
fn damaged_files_of_layers_are_a_code_with_charms_sentence() {
    let file = random_stacked_model(Cell::Gru, 2, 6, &letters(7), 3, 0.5);
    let mut corrupted = file.clone();
    let at = corrupted.len() / 2;
    corrupted[at] ^= 0x10;
    let cases: [(&[u8], CharmStatus); 2] = [
        (&file[..file.len() - 20], CHARM_ERR_TRUNCATED),
        (&corrupted, CHARM_ERR_CRC_MISMATCH),
    ];
    for (bytes, code) in cases {
        let e = CModel::new(bytes).err().expect("refused");
        assert_eq!(e.code, code);
        let host = decode_any(&AlignedBytes::from(bytes)).expect_err("refused");
        assert_eq!(sentence(&e), host.to_string(), "as the charm CLI says it");
    }
}

/// The library without `cells` refuses a version-5 file as one of a
/// version it does not read (as the firmware without `cells` does).
#[cfg(not(feature = "cells"))]
#[test]
fn without_cells_a_version_5_file_is_a_version_this_build_does_not_read() {
    let file = random_stacked_model(Cell::Lstm, 2, 6, &letters(7), 3, 0.5);
    let e = CModel::new(&file).err().expect("refused");
    assert_eq!(e.code, CHARM_ERR_UNSUPPORTED_VERSION);
    assert_eq!(e.values, [5, 4, 0, 0]);
    let expected = FormatError::UnsupportedVersion {
        found: 5,
        supported: 4,
    };
    assert_eq!(sentence(&e), expected.to_string());
}

/// What `charm_model_get_info` says of `file`.
fn info_of(file: &[u8]) -> CharmModelInfo {
    let m = CModel::new(file).expect("valid");
    let mut info = CharmModelInfo {
        element: 9,
        hidden: 0,
        vocab: 0,
        version: 0,
        file_length: 0,
        cell: 9,
        layers: 0,
    };
    assert_eq!(
        unsafe { charm_model_get_info(&*m.model, &mut info, null_mut()) },
        CHARM_OK
    );
    info
}

/// A generator over `file` and its memory, for the tests of single calls.
fn generator(file: &[u8]) -> (CModel, Vec<u64>, *mut CharmGenerator) {
    let m = CModel::new(file).expect("a valid model");
    let mut memory = arena(m.generator_size());
    let mut g = null_mut();
    let status = unsafe {
        charm_generator_init(
            &mut g,
            memory.as_mut_ptr().cast(),
            memory.len() * 8,
            &*m.model,
            null_mut(),
        )
    };
    assert_eq!(status, CHARM_OK);
    (m, memory, g)
}

/// The next `n` characters of a generator.
fn next_chars(g: *mut CharmGenerator, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..n {
        let mut utf8 = [0u8; 4];
        let mut len = 0;
        assert_eq!(
            unsafe { charm_generator_next(g, utf8.as_mut_ptr(), 4, &mut len, null_mut()) },
            CHARM_OK
        );
        out.extend_from_slice(&utf8[..len]);
    }
    out
}

#[test]
fn reset_and_set_seed_draw_what_a_new_generator_draws() {
    let file = random_model(20, &letters(20), 5, 0.7);
    let (_m, _memory, g) = generator(&file);
    let first = next_chars(g, 80);
    unsafe {
        assert_eq!(charm_generator_reset(g, null_mut()), CHARM_OK);
        assert_eq!(charm_generator_set_seed(g, 1, null_mut()), CHARM_OK);
    }
    assert_eq!(
        next_chars(g, 80),
        first,
        "the defaults' seed is 1, as charm sample's"
    );
}

#[test]
fn a_temperature_change_takes_effect_from_the_next_character_as_in_the_core() {
    let file = random_model(16, &letters(26), 8, 0.7);
    let (_m, _memory, g) = generator(&file);
    let mut c = next_chars(g, 30);
    unsafe {
        assert_eq!(
            charm_generator_set_temperature(g, 0.3, null_mut()),
            CHARM_OK
        )
    };
    c.extend(next_chars(g, 30));

    let bytes = AlignedBytes::from(&file[..]);
    let f = charm_core::decode(&bytes).expect("valid");
    let (mut h, mut h_next, mut logits) = (vec![0.0; 16], vec![0.0; 16], vec![0.0; 26]);
    let slices = Slices {
        h: &mut h,
        h_next: &mut h_next,
        logits: &mut logits,
    };
    let mut core =
        Generator::new(f.model, f.vocab, SampleParams::default(), 1, slices).expect("valid");
    let mut expected: String = (0..30).map(|_| core.next_char()).collect();
    core.set_params(SampleParams {
        temperature: 0.3,
        top_k: 0,
    })
    .expect("valid");
    expected.extend((0..30).map(|_| core.next_char()));
    assert_eq!(String::from_utf8(c).expect("UTF-8"), expected);
}

// ------------------------------------------------------------- bad input

fn record() -> CharmError {
    CharmError {
        code: 99,
        values: [9; 4],
    }
}

#[test]
fn null_pointers_are_a_code() {
    let file = random_model(4, &letters(5), 1, 0.5);
    let (m, _memory, g) = generator(&file);
    let mut e = record();
    let mut n = 0usize;
    let mut utf8 = [0u8; 4];
    unsafe {
        assert_eq!(
            charm_model_init(null_mut(), file.as_ptr(), file.len(), &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(e.code, CHARM_ERR_NULL_POINTER);
        let mut model: CharmModel = core::mem::zeroed();
        assert_eq!(
            charm_model_init(&mut model, null(), 10, &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_model_get_info(null(), &mut core::mem::zeroed(), &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_model_get_info(&*m.model, null_mut(), &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(charm_generator_size(null()), 0);
        let mut memory = arena(1024);
        let mut g2 = null_mut();
        assert_eq!(
            charm_generator_init(
                null_mut(),
                memory.as_mut_ptr().cast(),
                8192,
                &*m.model,
                &mut e
            ),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_generator_init(&mut g2, null_mut(), 8192, &*m.model, &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_generator_init(&mut g2, memory.as_mut_ptr().cast(), 8192, null(), &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_generator_set_temperature(null_mut(), 1.0, &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_generator_set_top_k(null_mut(), 1, &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_generator_set_seed(null_mut(), 1, &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_generator_reset(null_mut(), &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_generator_prime(null_mut(), null(), 0, &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_generator_prime(g, null(), 3, &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_generator_prime(g, null(), 0, &mut e),
            CHARM_OK,
            "nothing to feed"
        );
        assert_eq!(
            charm_generator_next(null_mut(), utf8.as_mut_ptr(), 4, &mut n, &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_generator_next(g, null_mut(), 4, &mut n, &mut e),
            CHARM_ERR_NULL_POINTER
        );
        assert_eq!(
            charm_generator_next(g, utf8.as_mut_ptr(), 4, null_mut(), &mut e),
            CHARM_ERR_NULL_POINTER
        );
        // A null record is allowed everywhere: the status alone.
        assert_eq!(
            charm_generator_reset(null_mut(), null_mut()),
            CHARM_ERR_NULL_POINTER
        );
    }
    assert_eq!(sentence(&e), "a pointer the call needs is null");
    assert_eq!(
        unsafe { charm_error_sentence(null(), null_mut(), 0) },
        sentence(&e).len()
    );
}

#[test]
fn misaligned_handles_and_memory_are_a_code() {
    let file = random_model(4, &letters(5), 1, 0.5);
    let (m, _memory, g) = generator(&file);
    let mut e = record();
    let mut memory = arena(4096);
    let base = memory.as_mut_ptr().cast::<u8>();
    unsafe {
        let odd = base.add(1);
        assert_eq!(
            charm_model_init(odd.cast(), file.as_ptr(), file.len(), &mut e),
            CHARM_ERR_MISALIGNED
        );
        assert_eq!(e.values[1] as usize, core::mem::align_of::<CharmModel>());
        let mut g2 = null_mut();
        assert_eq!(
            charm_generator_init(&mut g2, base.add(4).cast(), 4000, &*m.model, &mut e),
            CHARM_ERR_MISALIGNED
        );
        assert_eq!(e.values, [(base as usize + 4) as u32, 8, 0, 0]);
        assert_eq!(
            sentence(&e),
            format!(
                "the memory at 0x{:08x} is not 8-byte aligned",
                (base as usize + 4) as u32
            )
        );
        assert_eq!(
            charm_generator_reset(g.cast::<u8>().add(4).cast(), &mut e),
            CHARM_ERR_MISALIGNED
        );
    }
}

#[test]
fn uninitialized_handles_are_a_code() {
    let mut e = record();
    let zeroed: CharmModel = unsafe { core::mem::zeroed() };
    let mut memory = arena(4096);
    let mut g = null_mut();
    unsafe {
        assert_eq!(charm_generator_size(&zeroed), 0);
        assert_eq!(
            charm_generator_init(&mut g, memory.as_mut_ptr().cast(), 4096, &zeroed, &mut e),
            CHARM_ERR_MODEL_NOT_INITIALIZED
        );
        assert_eq!(
            sentence(&e),
            "the model was not set up by a successful charm_model_init"
        );
        assert!(g.is_null(), "no handle on failure");
        let never: *mut CharmGenerator = memory.as_mut_ptr().cast();
        assert_eq!(
            charm_generator_reset(never, &mut e),
            CHARM_ERR_GENERATOR_NOT_INITIALIZED
        );
        assert_eq!(
            sentence(&e),
            "the generator was not set up by a successful charm_generator_init"
        );
    }
    // A model whose initialization failed is not initialized, even if it was before.
    let file = random_model(4, &letters(5), 1, 0.5);
    let mut m = CModel::new(&file).expect("valid");
    let garbage = b"not a model at all";
    let bytes = AlignedBytes::from(&garbage[..]);
    unsafe {
        assert_eq!(
            charm_model_init(&mut *m.model, bytes.as_ptr(), bytes.len(), &mut e),
            CHARM_ERR_BAD_MAGIC
        );
    }
    assert_eq!(m.generator_size(), 0);
}

#[test]
fn short_memory_and_buffers_are_a_code() {
    let file = random_model(10, &letters(12), 1, 0.5);
    let m = CModel::new(&file).expect("valid");
    let needed = m.generator_size();
    let mut memory = arena(needed);
    let mut g = null_mut();
    let mut e = record();
    unsafe {
        assert_eq!(
            charm_generator_init(
                &mut g,
                memory.as_mut_ptr().cast(),
                needed - 1,
                &*m.model,
                &mut e
            ),
            CHARM_ERR_MEMORY_TOO_SMALL
        );
        assert_eq!(e.values, [needed as u32 - 1, needed as u32, 0, 0]);
        assert_eq!(
            sentence(&e),
            format!(
                "the memory given holds {} bytes, the generator for this model needs {needed}",
                needed - 1
            )
        );
        ok(
            charm_generator_init(
                &mut g,
                memory.as_mut_ptr().cast(),
                needed,
                &*m.model,
                &mut e,
            ),
            &e,
        );
        let before = next_chars(g, 0);
        let mut utf8 = [0u8; 3];
        let mut n = 0;
        assert_eq!(
            charm_generator_next(g, utf8.as_mut_ptr(), 3, &mut n, &mut e),
            CHARM_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(
            sentence(&e),
            "the output buffer holds 3 bytes, a character needs up to 4"
        );
        assert!(before.is_empty());
    }
    // Nothing was drawn: the sequence is a new generator's.
    let (_m2, _mem2, fresh) = generator(&file);
    assert_eq!(next_chars(g, 40), next_chars(fresh, 40));
}

#[test]
fn bad_parameters_and_primes_are_a_code_and_change_nothing() {
    let file = random_model(8, &letters(6), 2, 0.5);
    let (_m, _memory, g) = generator(&file);
    let (_m2, _memory2, fresh) = generator(&file);
    let mut e = record();
    unsafe {
        for (t, said) in [
            (-0.5, "negative"),
            (f32::NAN, "NaN"),
            (f32::INFINITY, "infinite"),
        ] {
            assert_eq!(
                charm_generator_set_temperature(g, t, &mut e),
                CHARM_ERR_BAD_TEMPERATURE
            );
            assert_eq!(e.values[0], t.to_bits());
            assert_eq!(
                sentence(&e),
                format!("the temperature is {said}, not a finite number >= 0")
            );
            assert_eq!(
                sentence(&e),
                GenerateError::Sample(SampleError::BadTemperature(t)).to_string()
            );
        }
        let prime = "abz";
        assert_eq!(
            charm_generator_prime(g, prime.as_ptr().cast(), 3, &mut e),
            CHARM_ERR_UNKNOWN_CHARACTER
        );
        assert_eq!(e.values[0], u32::from('z'));
        assert_eq!(sentence(&e), GenerateError::UnknownChar('z').to_string());
        let not_utf8 = b"ab\xC3(";
        assert_eq!(
            charm_generator_prime(g, not_utf8.as_ptr().cast(), 4, &mut e),
            CHARM_ERR_PRIME_NOT_UTF8
        );
        assert_eq!(
            sentence(&e),
            "the prime text is not UTF-8: byte 2 starts no character"
        );
    }
    assert_eq!(
        next_chars(g, 50),
        next_chars(fresh, 50),
        "no parameter and no prime character took"
    );
}

#[test]
fn weight_file_errors_are_a_code_with_charms_sentence() {
    let file = random_model(6, &letters(7), 3, 0.5);
    let mut corrupted = file.clone();
    let at = corrupted.len() / 2;
    corrupted[at] ^= 0x10;
    let cases: [(&[u8], CharmStatus); 4] = [
        (&file[..file.len() - 20], CHARM_ERR_TRUNCATED),
        (b"\x89PNG\r\n\x1a\n not a model", CHARM_ERR_BAD_MAGIC),
        (&corrupted, CHARM_ERR_CRC_MISMATCH),
        (&[], CHARM_ERR_TRUNCATED),
    ];
    for (bytes, code) in cases {
        let e = CModel::new(bytes).err().expect("refused");
        assert_eq!(e.code, code);
        let host = decode_any(&AlignedBytes::from(bytes)).expect_err("refused");
        assert_eq!(sentence(&e), host.to_string(), "as the charm CLI says it");
    }
    // Bytes at an address that is not 4-byte aligned.
    let bytes = AlignedBytes::from(&[&[0u8][..], &file].concat()[..]);
    let mut model: CharmModel = unsafe { core::mem::zeroed() };
    let mut e = record();
    let status = unsafe { charm_model_init(&mut model, bytes.as_ptr().add(1), file.len(), &mut e) };
    assert_eq!(status, CHARM_ERR_MISALIGNED_WEIGHTS);
    assert_eq!(sentence(&e), FormatError::Misaligned.to_string());
}

#[test]
fn every_format_error_round_trips_through_its_record() {
    let errors = [
        FormatError::Truncated {
            needed: 120,
            available: 64,
        },
        FormatError::BadMagic,
        FormatError::UnsupportedVersion {
            found: 9,
            supported: 4,
        },
        FormatError::CrcMismatch {
            stored: 0xDEAD_BEEF,
            computed: 0x0123_4567,
        },
        FormatError::Malformed,
        FormatError::UnsupportedElement(7),
        FormatError::VocabularyTooLarge {
            size: 70_000,
            max: 65_536,
        },
        FormatError::BadVocabulary,
        FormatError::ShapeMismatch {
            hidden: 600,
            vocab: 80,
            max_hidden: 512,
            max_vocab: 1024,
        },
        FormatError::NonFinite {
            tensor: "why_scale",
            index: 17,
        },
        FormatError::Misaligned,
        FormatError::RetiredInt8Layout,
    ];
    for (i, error) in errors.into_iter().enumerate() {
        let record = record_of_format_error(error);
        assert_eq!(
            record.code,
            [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27][i]
        );
        assert_eq!(sentence(&record), error.to_string());
    }
}

/// The errors of version-5 files: their codes, values and charm's sentence.
#[cfg(feature = "cells")]
#[test]
fn the_errors_of_version_5_files_round_trip_through_their_records() {
    let cases = [
        (
            FormatError::UnsupportedCell(7),
            CHARM_ERR_UNSUPPORTED_CELL,
            [7, 0, 0, 0],
        ),
        (
            FormatError::UnsupportedDepth { layers: 5, max: 4 },
            CHARM_ERR_UNSUPPORTED_DEPTH,
            [5, 4, 0, 0],
        ),
        // Layer l's tensor k (wx, wh, bx, bh, wx_scale, wh_scale) is 8 + 6·(l − 1) + k.
        (
            FormatError::NonFinite {
                tensor: "layer 1 wx",
                index: 3,
            },
            CHARM_ERR_NON_FINITE,
            [8, 3, 0, 0],
        ),
        (
            FormatError::NonFinite {
                tensor: "layer 2 bh",
                index: 0,
            },
            CHARM_ERR_NON_FINITE,
            [8 + 6 + 3, 0, 0, 0],
        ),
        (
            FormatError::NonFinite {
                tensor: "layer 4 wh_scale",
                index: 99,
            },
            CHARM_ERR_NON_FINITE,
            [8 + 18 + 5, 99, 0, 0],
        ),
    ];
    for (error, code, values) in cases {
        let record = CharmError { code, values };
        assert_eq!(sentence(&record), error.to_string(), "{error:?}");
    }
    assert_eq!(
        (CHARM_ERR_UNSUPPORTED_CELL, CHARM_ERR_UNSUPPORTED_DEPTH),
        (28, 29)
    );
}

/// The record `charm_model_init` gives for `error`: made by decoding a file
/// that has it where one can be made, else by its documented code and values.
fn record_of_format_error(error: FormatError) -> CharmError {
    use FormatError::*;
    let (code, values) = match error {
        Truncated { needed, available } => {
            (CHARM_ERR_TRUNCATED, [needed as u32, available as u32, 0, 0])
        }
        BadMagic => (CHARM_ERR_BAD_MAGIC, [0; 4]),
        UnsupportedVersion { found, supported } => (
            CHARM_ERR_UNSUPPORTED_VERSION,
            [found.into(), supported.into(), 0, 0],
        ),
        CrcMismatch { stored, computed } => (CHARM_ERR_CRC_MISMATCH, [stored, computed, 0, 0]),
        Malformed => (CHARM_ERR_MALFORMED, [0; 4]),
        UnsupportedElement(e) => (CHARM_ERR_UNSUPPORTED_ELEMENT, [e.into(), 0, 0, 0]),
        VocabularyTooLarge { size, max } => (
            CHARM_ERR_VOCABULARY_TOO_LARGE,
            [size as u32, max as u32, 0, 0],
        ),
        BadVocabulary => (CHARM_ERR_BAD_VOCABULARY, [0; 4]),
        ShapeMismatch {
            hidden,
            vocab,
            max_hidden,
            max_vocab,
        } => (
            CHARM_ERR_SHAPE_MISMATCH,
            [
                hidden as u32,
                vocab as u32,
                max_hidden as u32,
                max_vocab as u32,
            ],
        ),
        NonFinite { index, .. } => (CHARM_ERR_NON_FINITE, [7, index as u32, 0, 0]),
        Misaligned => (CHARM_ERR_MISALIGNED_WEIGHTS, [0; 4]),
        RetiredInt8Layout => (CHARM_ERR_RETIRED_INT8_LAYOUT, [0; 4]),
        _ => unreachable!("every variant is listed"),
    };
    CharmError { code, values }
}

#[test]
fn unknown_codes_have_a_sentence() {
    for code in [8, 15, 30, 31, 34, 254, 255, u32::MAX] {
        let e = CharmError {
            code,
            values: [1, 2, 3, 4],
        };
        assert_eq!(
            sentence(&e),
            "charm-core reported an error this version of the C API has no code for"
        );
    }
    // Past the tensors this library names (the eight of one layer, and
    // with `cells` six per layer of up to four).
    let tensors = if cfg!(feature = "cells") { 32 } else { 8 };
    let e = CharmError {
        code: CHARM_ERR_NON_FINITE,
        values: [tensors, 0, 0, 0],
    };
    assert_eq!(
        sentence(&e),
        "charm-core reported an error this version of the C API has no code for"
    );
}

#[test]
fn model_info_says_what_the_file_is() {
    let f32_file = random_model(13, &letters(28), 1, 0.5);
    for (file, element) in in_every_element_type(&f32_file).iter().zip([0, 1, 2, 3]) {
        let info = info_of(file);
        assert_eq!(info.element, element);
        assert_eq!((info.hidden, info.vocab), (13, 28));
        assert_eq!(info.version, u32::from(file[4]));
        assert_eq!(info.file_length as usize, file.len());
        // One tanh layer: every file before format version 5.
        assert_eq!((info.cell, info.layers), (CHARM_CELL_RNN, 1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The sentence is cut at a whole character, NUL-terminated, and its
    /// full length is returned whatever the buffer.
    #[test]
    fn sentences_are_cut_at_whole_characters(capacity in 0usize..80, c in any::<char>()) {
        let e = CharmError { code: CHARM_ERR_UNKNOWN_CHARACTER, values: [u32::from(c), 0, 0, 0] };
        let full = GenerateError::UnknownChar(c).to_string();
        let mut buffer = vec![0xFFu8; capacity];
        let n = unsafe { charm_error_sentence(&e, buffer.as_mut_ptr().cast(), capacity) };
        prop_assert_eq!(n, full.len());
        if capacity > 0 {
            let end = buffer.iter().position(|&b| b == 0).expect("NUL-terminated");
            let kept = std::str::from_utf8(&buffer[..end]).expect("whole characters");
            prop_assert!(full.starts_with(kept));
            prop_assert!(kept.len() < capacity);
            // As much as fits: the next character would not have.
            if kept.len() < full.len() {
                let next = full[kept.len()..].chars().next().expect("more").len_utf8();
                prop_assert!(kept.len() + next > capacity - 1);
            }
        }
    }

    /// `CHARM_GENERATOR_BYTES_MAX(H, V)` (charm.h) bounds `charm_generator_size`
    /// for every element type.
    #[test]
    fn the_headers_bound_on_generator_memory_holds(hidden in 1usize..70, vocab in 2usize..40) {
        let f32_file = random_model(hidden, &letters(vocab), 1, 0.5);
        // The formula of CHARM_GENERATOR_BYTES_MAX in cbindgen.toml.
        let bound = CHARM_GENERATOR_HEADER_MAX + 4 * vocab + 8 * (hidden + 15);
        for file in in_every_element_type(&f32_file) {
            let m = CModel::new(&file).expect("valid");
            prop_assert!(m.generator_size() <= bound);
        }
    }
}

#[cfg(feature = "cells")]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// `CHARM_GENERATOR_LAYERS_BYTES_MAX(H, V, L)` (charm.h) bounds
    /// `charm_generator_size` for every cell, depth up to L and element type.
    #[test]
    fn the_headers_bound_on_generator_memory_for_layers_holds(
        hidden in 1usize..40,
        vocab in 2usize..30,
        cell in 0usize..3,
        depth in 1usize..=charm_core::MAX_LAYERS,
    ) {
        let cell = Cell::ALL[cell];
        let f32_file = random_stacked_model(cell, depth, hidden, &letters(vocab), 1, 0.5);
        // The formula of CHARM_GENERATOR_LAYERS_BYTES_MAX in cbindgen.toml.
        let bound = CHARM_GENERATOR_HEADER_MAX
            + core::mem::size_of::<CharmModel>()
            + 4 * vocab
            + 16 * depth * (hidden + 15);
        for file in stacked_in_every_element_type(&f32_file) {
            let m = CModel::new(&file).expect("valid");
            prop_assert!(m.generator_size() <= bound);
        }
    }
}

#[test]
fn the_header_states_the_bound_the_test_checks() {
    let header = include_str!("../include/charm.h");
    assert!(header.contains(
        "((size_t)CHARM_GENERATOR_HEADER_MAX + 4u * (size_t)(vocab) + 8u * ((size_t)(hidden) + 15u))"
    ));
    assert!(header.contains(
        "((size_t)CHARM_GENERATOR_HEADER_MAX + sizeof(charm_model) + 4u * (size_t)(vocab) + \\\n     \
         16u * (size_t)(layers) * ((size_t)(hidden) + 15u))"
    ));
}
