#!/usr/bin/env python3
"""Training speed of PyTorch's nn.RNN / nn.GRU / nn.LSTM on the shapes `charm
bench` measures, for the side-by-side table in docs/performance.md.

One training step is what charm's is: one-hot inputs over V characters, the
recurrent module (num_layers L), nn.Linear(H, V), mean cross-entropy over a
window of B streams x T characters, backward through time, gradient
clipping at norm 50 and an Adam step. Windows are random characters, as
`charm bench` uses random windows. The figure is characters per second,
B*T*steps / seconds, the median of RUNS timed runs after two warm-up steps.

    python3 -m venv target/venv-torch && target/venv-torch/bin/pip install torch
    target/venv-torch/bin/python scripts/torch_bench.py --cell gru --layers 1 \
        --hidden 256 --seq-len 50 --batch 32 --steps 10 --runs 5 --threads 2

prints one line: `torch CELLxL H .. T .. B ..: N chars/s (median of R; min .., max ..)`.
"""
import argparse
import statistics
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cell", choices=["rnn", "gru", "lstm"], default="gru")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--seq-len", type=int, default=50)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    module = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[a.cell]
    rnn = module(a.vocab, a.hidden, num_layers=a.layers, batch_first=True)
    fc = torch.nn.Linear(a.hidden, a.vocab)
    params = list(rnn.parameters()) + list(fc.parameters())
    opt = torch.optim.Adam(params, lr=0.002)
    state = None

    def step():
        nonlocal state
        idx = torch.randint(0, a.vocab, (a.batch, a.seq_len + 1))
        x = torch.nn.functional.one_hot(idx[:, :-1], a.vocab).float()
        out, state = rnn(x, state)
        # carried state, detached: truncated BPTT over windows, as charm's
        state = tuple(s.detach() for s in state) if a.cell == "lstm" else state.detach()
        loss = torch.nn.functional.cross_entropy(
            fc(out).reshape(-1, a.vocab), idx[:, 1:].reshape(-1)
        )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 50.0)
        opt.step()

    for _ in range(2):
        step()
    rates = []
    for _ in range(a.runs):
        start = time.perf_counter()
        for _ in range(a.steps):
            step()
        rates.append(a.batch * a.seq_len * a.steps / (time.perf_counter() - start))
    print(
        f"torch {a.cell}x{a.layers} H {a.hidden} T {a.seq_len} B {a.batch}: "
        f"{statistics.median(rates):.0f} chars/s (median of {a.runs}; "
        f"min {min(rates):.0f}, max {max(rates):.0f}; torch {torch.__version__}, "
        f"{a.threads} threads)"
    )


if __name__ == "__main__":
    main()
