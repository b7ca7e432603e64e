#!/usr/bin/env python3
"""Makes the PyTorch fixtures of charm's import tests.

Trains tiny models for a few Adam steps on a fixed text, saves each with
safetensors.torch.save_file (the vocabulary, in the model's own index order,
as __metadata__ "charm.vocab"), and records what PyTorch computes in float32
for a fixed input from a zero state:

- `rnn`: nn.RNN(V, 16, tanh) + nn.Linear -> tiny_rnn.safetensors and
  tiny_rnn_logits.json (logits and hidden states after each character);
- `cells`: nn.GRU(V, 16), nn.LSTM(V, 16), nn.RNN(V, 12, num_layers=2) and
  nn.Embedding(V, 8) + nn.GRU(8, 12, num_layers=2), each + nn.Linear ->
  tiny_{gru,lstm,rnn2,emb_gru2}.safetensors and tiny_*_steps.json: every
  layer's state (h, and c for the LSTM) and the logits after each input
  character, computed one character at a time, and PyTorch's mean
  cross-entropy over the whole input, every character scored as `charm
  eval` scores it.

    python3 -m venv target/venv-torch && target/venv-torch/bin/pip install torch safetensors numpy
    target/venv-torch/bin/python scripts/pytorch_fixture.py tests/fixtures/pytorch [rnn|cells|all]

writes them there (a few KB each). tests/tests/pytorch_fixture.rs and
tests/tests/pytorch_cells.rs import them with `charm import` and compare
charm's numbers with PyTorch's.
"""
import json
import sys

import numpy as np
import torch
from safetensors.torch import save_file

TEXT = (
    "the cat sat on the mat. a dog ran in the fog. "
    "we like tea and jam. it is a big red box. café au lait!\n"
) * 4
INPUT = "the café dog sat"
HIDDEN = 16
STEPS = 40
SEQ_LEN = 24


class CharRnn(torch.nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.rnn = torch.nn.RNN(vocab, hidden, nonlinearity="tanh", num_layers=1, batch_first=True)
        self.fc = torch.nn.Linear(hidden, vocab)

    def forward(self, x, h=None):
        out, h = self.rnn(x, h)
        return self.fc(out), h


def main(out_dir):
    torch.manual_seed(0)
    # Index order of first appearance: not sorted, so the import's reordering is exercised.
    chars = list(dict.fromkeys(TEXT))
    index = {c: i for i, c in enumerate(chars)}
    v = len(chars)
    data = torch.tensor([index[c] for c in TEXT])
    model = CharRnn(v, HIDDEN)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for step in range(STEPS):
        start = (step * SEQ_LEN) % (len(TEXT) - SEQ_LEN - 1)
        x = torch.nn.functional.one_hot(data[start : start + SEQ_LEN], v).float()[None]
        y = data[start + 1 : start + SEQ_LEN + 1]
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits[0], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    save_file(
        model.state_dict(),
        f"{out_dir}/tiny_rnn.safetensors",
        metadata={"charm.vocab": "".join(chars)},
    )
    with torch.no_grad():
        x = torch.nn.functional.one_hot(torch.tensor([index[c] for c in INPUT]), v).float()[None]
        logits, _ = model(x)
        states, _ = model.rnn(x)
    rows = [[str(np.float32(z)) for z in row] for row in logits[0].numpy()]
    state_rows = [[str(np.float32(z)) for z in row] for row in states[0].numpy()]
    record = {
        "made_by": "scripts/pytorch_fixture.py " + out_dir,
        "torch": torch.__version__,
        "final_training_loss": round(loss.item(), 4),
        "hidden": HIDDEN,
        "vocab": "".join(chars),
        "input": INPUT,
        "logits_note": "PyTorch's float32 logits after each input character from a zero state, "
        "row t = after INPUT[t], column j = the model's character j (vocab order), as shortest "
        "decimal strings that parse back to the same float32",
        "states_note": "PyTorch's float32 hidden state after each input character, same form",
        "states": state_rows,
        "logits": rows,
    }
    # One row a line.
    text = json.dumps(record, ensure_ascii=False, indent=1)
    for key, table in (("states", state_rows), ("logits", rows)):
        compact = ",\n".join("  " + json.dumps(row) for row in table)
        start = text.index(f'"{key}": [')
        end = text.index("\n ]", start) + 3
        text = text[:start] + f'"{key}": [\n' + compact + "\n ]" + text[end:]
    with open(f"{out_dir}/tiny_rnn_logits.json", "w", encoding="utf-8") as f:
        f.write(text + "\n")


CELL_INPUT = "we like the red box, café!"


class CharStack(torch.nn.Module):
    """nn.Embedding (optional) + nn.RNN / nn.GRU / nn.LSTM + nn.Linear."""

    def __init__(self, kind, vocab, hidden, layers, embed=None):
        super().__init__()
        self.kind = kind
        self.vocab = vocab
        self.emb = torch.nn.Embedding(vocab, embed) if embed else None
        size = embed or vocab
        module = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind]
        self.rnn = module(size, hidden, num_layers=layers, batch_first=True)
        self.fc = torch.nn.Linear(hidden, vocab)

    def inputs(self, idx):
        if self.emb is not None:
            return self.emb(idx)
        return torch.nn.functional.one_hot(idx, self.vocab).float()

    def forward(self, idx, state=None):
        out, state = self.rnn(self.inputs(idx), state)
        return self.fc(out), state


def cell_fixture(out_dir, name, kind, hidden, layers, embed=None):
    torch.manual_seed(1)
    chars = list(dict.fromkeys(TEXT + CELL_INPUT))
    index = {c: i for i, c in enumerate(chars)}
    v = len(chars)
    data = torch.tensor([index[c] for c in TEXT])
    model = CharStack(kind, v, hidden, layers, embed)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for step in range(STEPS):
        start = (step * SEQ_LEN) % (len(TEXT) - SEQ_LEN - 1)
        logits, _ = model(data[start : start + SEQ_LEN][None])
        loss = torch.nn.functional.cross_entropy(logits[0], data[start + 1 : start + SEQ_LEN + 1])
        opt.zero_grad()
        loss.backward()
        opt.step()
    save_file(
        model.state_dict(),
        f"{out_dir}/tiny_{name}.safetensors",
        metadata={"charm.vocab": "".join(chars)},
    )
    text = [index[c] for c in CELL_INPUT]
    f32 = lambda t: [str(np.float32(z)) for z in t.reshape(-1).numpy()]
    steps = []
    with torch.no_grad():
        state = None
        for x in text:
            logits, state = model(torch.tensor([[x]]), state)
            h, c = state if kind == "lstm" else (state, None)
            step = {"h": [f32(h[l, 0]) for l in range(layers)], "logits": f32(logits[0, 0])}
            if c is not None:
                step["c"] = [f32(c[l, 0]) for l in range(layers)]
            steps.append(step)
        logits, _ = model(torch.tensor([text]))
        # The first character is predicted from the zero state: fc(0) = fc.bias.
        first = model.fc.bias[None]
        scores = torch.cat([first, logits[0, :-1]])
        whole = torch.nn.functional.cross_entropy(scores, torch.tensor(text))
    record = {
        "made_by": "scripts/pytorch_fixture.py " + out_dir + " cells",
        "torch": torch.__version__,
        "kind": kind,
        "hidden": hidden,
        "layers": layers,
        "embed": embed or 0,
        "vocab": "".join(chars),
        "input": CELL_INPUT,
        "steps_note": "after each input character, fed one at a time from a zero state: every "
        "layer's h (and c for an LSTM) and the logits (column j = the model's character j), "
        "float32 as shortest decimal strings that parse back to the same float32",
        "loss_note": "PyTorch's float32 mean cross-entropy (nats/char) of predicting input[t] "
        "from input[..t] (the first from the zero state: fc.bias), over the whole input as one "
        "sequence, as charm eval scores a text",
        "loss": str(np.float32(whole.item())),
        "steps": steps,
    }
    body = json.dumps({k: v for k, v in record.items() if k != "steps"}, ensure_ascii=False, indent=1)
    rows = ",\n".join("  " + json.dumps(s, ensure_ascii=False) for s in steps)
    with open(f"{out_dir}/tiny_{name}_steps.json", "w", encoding="utf-8") as f:
        f.write(body[:-2] + ',\n "steps": [\n' + rows + "\n ]\n}\n")


def cells(out_dir):
    cell_fixture(out_dir, "gru", "gru", 16, 1)
    cell_fixture(out_dir, "lstm", "lstm", 16, 1)
    cell_fixture(out_dir, "rnn2", "rnn", 12, 2)
    cell_fixture(out_dir, "emb_gru2", "gru", 12, 2, embed=8)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/pytorch"
    what = sys.argv[2] if len(sys.argv) > 2 else "all"
    if what in ("rnn", "all"):
        main(out)
    if what in ("cells", "all"):
        cells(out)
