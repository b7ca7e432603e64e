//! ns per generated character of the forward step (f32), for H = 100 and
//! H = 256 with V = 65 (tinyshakespeare's vocabulary). Run:
//! `cargo bench -p charm-core --bench step`.

use charm_core::{padded, tensor_lengths, ModelView, Rng};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn random_tensors(hidden: usize, vocab: usize) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(1);
    let scale = 1.0 / (hidden as f32).sqrt();
    let stride = padded(hidden);
    tensor_lengths(hidden, vocab)
        .iter()
        .map(|&n| {
            (0..n)
                .map(|i| {
                    if n != vocab && i % stride >= hidden {
                        0.0
                    } else {
                        (rng.next_f32() - 0.5) * scale
                    }
                })
                .collect()
        })
        .collect()
}

fn bench_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("step");
    group.throughput(Throughput::Elements(1));
    for (hidden, vocab) in [(100, 65), (256, 65)] {
        let t = random_tensors(hidden, vocab);
        let model = ModelView::new(hidden, vocab, &t[0], &t[1], &t[2], &t[3], &t[4]).unwrap();
        let (mut h, mut next, mut logits) =
            (vec![0f32; hidden], vec![0f32; hidden], vec![0f32; vocab]);
        let mut x = 0;
        group.bench_function(format!("H{hidden}_V{vocab}"), |b| {
            b.iter(|| {
                model
                    .step(black_box(&h), x, &mut next, &mut logits)
                    .unwrap();
                std::mem::swap(&mut h, &mut next);
                x = (x + 7) % vocab;
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_step);
criterion_main!(benches);
