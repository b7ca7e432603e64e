#!/usr/bin/env python3
"""Makes the PyTorch fixture of charm's import tests.

Trains a tiny nn.RNN(V, H, nonlinearity="tanh") + nn.Linear(H, V) for a few
Adam steps on a fixed text, saves it with safetensors.torch.save_file (the
vocabulary, in the model's own index order, as __metadata__ "charm.vocab"),
and records PyTorch's float32 logits for a fixed input from a zero state.

    python3 -m venv target/venv-torch && target/venv-torch/bin/pip install torch safetensors numpy
    target/venv-torch/bin/python scripts/pytorch_fixture.py tests/fixtures/pytorch

writes tiny_rnn.safetensors and tiny_rnn_logits.json there (a few KB). The
test tests/tests/pytorch_fixture.rs imports the first with `charm import` and
compares charm's logits with the second.
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


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/pytorch")
