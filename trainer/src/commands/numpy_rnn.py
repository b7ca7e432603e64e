#!/usr/bin/env python3
"""min-char-rnn's training in numpy: the yardstick of `charm bench --suite --numpy`.

One stream (batch 1) of a vanilla tanh RNN over the characters of CORPUS, trained
as the seed's example code does: windows of --seq-len characters, the hidden
state carried from one window to the next, full backpropagation through time
within a window, every gradient entry clipped to [-5, 5], Adagrad. It prints one
JSON line; `chars_per_s` is what `charm bench` reads (training characters per
second of wall-clock time, the loop only).

    python3 scripts/numpy_rnn.py CORPUS [--hidden 100] [--seq-len 25] [--steps 2000]
                                        [--lr 0.1] [--seed 1]

`charm bench` carries this file (trainer/src/commands/numpy_rnn.py, which
scripts/numpy_rnn.py links to) inside the `charm` binary and runs it with
`python3 - CORPUS`, so an installed `charm` needs no checkout. A problem (no numpy, a missing or unreadable corpus) is one line
starting with `error:` on stderr and exit status 2, never a traceback.

The equations (V characters, H hidden units, x_t the index of character t):

    u_t = Wxh[:, x_t] + Whh · h_{t-1} + bh        Wxh · onehot(x_t) is a column lookup
    h_t = tanh(u_t)
    y_t = Why · h_t + by                           logits
    p_t = softmax(y_t)
    loss = Σ_t -ln p_t[target_t]                   nats

and backwards through the window, with dhnext = 0 after its last character:

    dy     = p_t - onehot(target_t)                 ∂loss/∂y_t of softmax + cross-entropy
    dWhy  += dy · h_tᵀ,  dby += dy
    dh     = Whyᵀ · dy + dhnext
    du     = (1 - h_t ⊙ h_t) ⊙ dh                   tanh'(u) = 1 - tanh(u)²
    dbh   += du,  dWxh[:, x_t] += du,  dWhh += du · h_{t-1}ᵀ
    dhnext = Whhᵀ · du

then for each tensor θ with gradient g (clipped entry by entry to [-5, 5]):

    m += g ⊙ g
    θ -= lr · g / sqrt(m + 1e-8)                    Adagrad
"""

import argparse
import json
import sys
import time

CLIP = 5.0
ADAGRAD_EPS = 1e-8
INIT_STD = 0.01


def fail(sentence):
    """One line on stderr, exit status 2: what charm bench passes on to its user."""
    print(f"error: {sentence}", file=sys.stderr)
    sys.exit(2)


def parse_args():
    ap = argparse.ArgumentParser(
        prog="numpy_rnn.py",
        description="min-char-rnn's training in numpy; prints one JSON line",
    )
    ap.add_argument("corpus", help="UTF-8 text to train on")
    ap.add_argument("--hidden", type=int, default=100, help="hidden units H")
    ap.add_argument("--seq-len", type=int, default=25, help="characters per window T")
    ap.add_argument("--steps", type=int, default=2000, help="optimizer steps to time")
    ap.add_argument("--lr", type=float, default=0.1, help="Adagrad's learning rate")
    ap.add_argument("--seed", type=int, default=1, help="seed of the initialization")
    a = ap.parse_args()
    if a.hidden < 1 or a.seq_len < 1 or a.steps < 1 or not a.lr > 0:
        fail("--hidden, --seq-len and --steps must be at least 1 and --lr positive")
    return a


def read_corpus(path, seq_len):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        fail(f"cannot read {path}: no such file; check the path")
    except UnicodeDecodeError as e:
        fail(f"{path} is not UTF-8 text (byte {e.start}); give a text file")
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    if len(text) < seq_len + 1:
        fail(f"{path} has {len(text)} characters; a window needs {seq_len + 1}")
    return text


class Rnn:
    """θ = (Wxh, Whh, Why, bh, by) and Adagrad's sums of squared gradients."""

    def __init__(self, np, vocab, hidden, seed):
        rng = np.random.default_rng(seed)
        normal = lambda *shape: rng.standard_normal(shape) * INIT_STD  # N(0, 0.01²)
        self.np = np
        self.wxh = normal(hidden, vocab)
        self.whh = normal(hidden, hidden)
        self.why = normal(vocab, hidden)
        self.bh = np.zeros(hidden)
        self.by = np.zeros(vocab)
        self.sums = [np.zeros_like(t) for t in self.tensors()]

    def tensors(self):
        return [self.wxh, self.whh, self.why, self.bh, self.by]

    def loss_and_gradients(self, inputs, targets, h_prev):
        """Forward over one window from h_prev, then BPTT; returns (loss in nats,
        gradients in the order of tensors(), the last hidden state)."""
        np = self.np
        steps = len(inputs)
        hs = np.empty((steps + 1, h_prev.shape[0]))  # hs[t + 1] = h_t; hs[0] = h_{-1}
        ps = np.empty((steps, self.by.shape[0]))
        hs[0] = h_prev
        loss = 0.0
        for t in range(steps):
            u = self.wxh[:, inputs[t]] + self.whh @ hs[t] + self.bh
            hs[t + 1] = np.tanh(u)
            y = self.why @ hs[t + 1] + self.by
            e = np.exp(y - y.max())  # softmax, shifted by the largest logit
            ps[t] = e / e.sum()
            loss -= np.log(ps[t, targets[t]])
        dwxh, dwhh, dwhy = (np.zeros_like(w) for w in (self.wxh, self.whh, self.why))
        dbh, dby = np.zeros_like(self.bh), np.zeros_like(self.by)
        dh_next = np.zeros_like(h_prev)
        for t in reversed(range(steps)):
            dy = ps[t].copy()
            dy[targets[t]] -= 1.0
            dwhy += np.outer(dy, hs[t + 1])
            dby += dy
            dh = self.why.T @ dy + dh_next
            du = (1.0 - hs[t + 1] * hs[t + 1]) * dh
            dbh += du
            dwxh[:, inputs[t]] += du
            dwhh += np.outer(du, hs[t])
            dh_next = self.whh.T @ du
        return loss, [dwxh, dwhh, dwhy, dbh, dby], hs[steps]

    def adagrad(self, grads, lr):
        np = self.np
        for theta, g, m in zip(self.tensors(), grads, self.sums):
            np.clip(g, -CLIP, CLIP, out=g)
            m += g * g
            theta -= lr * g / np.sqrt(m + ADAGRAD_EPS)


def main():
    a = parse_args()
    try:
        import numpy as np
    except ImportError:
        fail(
            f"numpy is not installed for {sys.executable}; install it "
            "(`python3 -m pip install numpy`, or the python3-numpy package of your system)"
        )
    text = read_corpus(a.corpus, a.seq_len)
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    data = np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
    rnn = Rnn(np, len(vocab), a.hidden, a.seed)
    t_len = a.seq_len
    h = np.zeros(a.hidden)
    pos = 0
    loss = 0.0
    start = time.perf_counter()
    for _ in range(a.steps):
        if pos + t_len + 1 > len(data):  # the end of the text: start again from h = 0
            pos = 0
            h = np.zeros(a.hidden)
        inputs, targets = data[pos : pos + t_len], data[pos + 1 : pos + t_len + 1]
        loss, grads, h = rnn.loss_and_gradients(inputs, targets, h)
        rnn.adagrad(grads, a.lr)
        pos += t_len
    seconds = time.perf_counter() - start
    chars = a.steps * t_len
    print(
        json.dumps(
            {
                "implementation": "numpy",
                "hidden": a.hidden,
                "vocab": len(vocab),
                "seq_len": t_len,
                "steps": a.steps,
                "chars": chars,
                "seconds": round(seconds, 3),
                "chars_per_s": round(chars / seconds, 1),
                "last_loss_per_char": round(float(loss) / t_len, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
