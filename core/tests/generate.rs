//! The generator (the sampling loop of host and device) and the vocabulary.

mod common_model;
use charm_core::{Buffers, GenerateError, Generator, SampleParams, Slices, Vocab, VocabError};
use common_model::{vocab_text, OwnedModel};
use proptest::prelude::*;

fn generate(
    model: &OwnedModel<f32>,
    vocab: &str,
    params: SampleParams,
    seed: u64,
    prime: &str,
    n: usize,
) -> String {
    let vocab = Vocab::new(vocab).unwrap();
    let (mut h, mut hn, mut y) = (
        vec![0.0; model.hidden],
        vec![0.0; model.hidden],
        vec![0.0; model.vocab],
    );
    let slices = Slices {
        h: &mut h,
        h_next: &mut hn,
        logits: &mut y,
    };
    let mut g = Generator::new(model.view(), vocab, params, seed, slices).unwrap();
    g.prime(prime).unwrap();
    (0..n).map(|_| g.next_char()).collect()
}

#[test]
fn same_seed_same_text_other_seed_other_text() {
    let model = OwnedModel::random(32, 40, 0.8, 5);
    let vocab = vocab_text(40, 'a' as u32);
    let p = SampleParams::default();
    let a = generate(&model, &vocab, p, 1, "", 300);
    assert_eq!(a, generate(&model, &vocab, p, 1, "", 300));
    assert_ne!(a, generate(&model, &vocab, p, 2, "", 300));
    assert_eq!(a.chars().count(), 300);
    assert!(a.chars().all(|c| vocab.contains(c)));
}

#[test]
fn heap_slices_and_fixed_buffers_agree() {
    let model = OwnedModel::random(20, 10, 0.8, 9);
    let vocab = vocab_text(10, 'a' as u32);
    let params = SampleParams {
        temperature: 0.7,
        top_k: 4,
    };
    let expected = generate(&model, &vocab, params, 3, "abc", 100);
    let mut buffers = Buffers::<24, 16>::new();
    let slices = buffers.slices_for(&model.view()).unwrap();
    let mut g =
        Generator::new(model.view(), Vocab::new(&vocab).unwrap(), params, 3, slices).unwrap();
    g.prime("abc").unwrap();
    let got: String = (0..100).map(|_| g.next_char()).collect();
    assert_eq!(got, expected);
}

#[test]
fn priming_changes_the_state_and_unknown_prime_is_an_error() {
    let model = OwnedModel::random(16, 6, 0.8, 2);
    let vocab = Vocab::new("abcdef").unwrap();
    let mut buffers = Buffers::<16, 8>::new();
    let slices = buffers.slices_for(&model.view()).unwrap();
    let mut g = Generator::new(model.view(), vocab, SampleParams::default(), 1, slices).unwrap();
    assert!(g.hidden_state().iter().all(|&h| h == 0.0));
    assert_eq!(g.prime("abz"), Err(GenerateError::UnknownChar('z')));
    assert!(
        g.hidden_state().iter().all(|&h| h == 0.0),
        "nothing fed on error"
    );
    g.prime("abc").unwrap();
    assert!(g.hidden_state().iter().any(|&h| h != 0.0));
}

#[test]
fn capacity_and_parameter_errors() {
    let model = OwnedModel::random(16, 6, 0.8, 2);
    let mut small = Buffers::<8, 8>::new();
    assert_eq!(
        small.slices_for(&model.view()).unwrap_err(),
        GenerateError::Capacity {
            hidden: 16,
            vocab: 6,
            max_hidden: 8,
            max_vocab: 8
        }
    );
    let mut buffers = Buffers::<16, 8>::new();
    let slices = buffers.slices_for(&model.view()).unwrap();
    let bad = SampleParams {
        temperature: -1.0,
        top_k: 0,
    };
    assert!(matches!(
        Generator::new(model.view(), Vocab::new("abcdef").unwrap(), bad, 1, slices),
        Err(GenerateError::Sample(_))
    ));
}

#[test]
fn vocabulary_of_thousands_of_characters() {
    // 5000 characters from the CJK block: index and character round trip.
    let text = vocab_text(5000, 0x4E00);
    let v = Vocab::new(&text).unwrap();
    assert_eq!(v.len(), 5000);
    for (i, c) in text.chars().enumerate().step_by(97) {
        assert_eq!(v.index_of(c), Some(i));
        assert_eq!(v.char_at(i), Some(c));
    }
    assert_eq!(v.char_at(5000), None);
    assert_eq!(v.index_of('a'), None);
}

#[test]
fn vocabulary_errors() {
    assert_eq!(Vocab::new(""), Err(VocabError::Empty));
    assert_eq!(
        Vocab::new("abca"),
        Err(VocabError::NotAscending { index: 3 })
    );
    assert_eq!(Vocab::new("ba"), Err(VocabError::NotAscending { index: 1 }));
}

proptest! {
    /// Any set of characters, sorted and deduplicated, is a vocabulary whose
    /// index_of and char_at are inverse.
    #[test]
    fn vocab_index_round_trip(mut chars in prop::collection::vec(any::<char>(), 1..200)) {
        chars.sort_unstable();
        chars.dedup();
        let text: String = chars.iter().collect();
        let v = Vocab::new(&text).unwrap();
        prop_assert_eq!(v.len(), chars.len());
        for (i, &c) in chars.iter().enumerate() {
            prop_assert_eq!(v.index_of(c), Some(i));
            prop_assert_eq!(v.char_at(i), Some(c));
        }
    }
}
