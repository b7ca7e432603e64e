#!/usr/bin/env bash
# charm's training speed beside PyTorch's nn.RNN / nn.GRU / nn.LSTM on the
# same shapes, measured in one run, as the table in docs/performance.md:
#
#   python3 -m venv ~/venv-torch && ~/venv-torch/bin/pip install torch
#   scripts/speed-vs-pytorch.sh --python ~/venv-torch/bin/python   # ~10 min
#
# For each model (rnn×1, rnn×2, gru×1, lstm×1 at H 256, V 65, seq-len 50,
# Adam) and batch (1 and 32) it runs `charm bench` (the fast engine, its
# default threads: 1 for batch 1, the cores for batch 32) and then
# scripts/torch_bench.py (PyTorch's own modules, the same step: one-hot
# inputs, the recurrent module, nn.Linear, cross-entropy, backward through
# the window, clipping at 50, Adam) with 1 and with 2 threads, keeping
# PyTorch's faster: each figure is the median of RUNS timed runs. Run it on
# a machine with nothing else running; the ratio is the figure to compare
# across machines, the chars/s move with the machine.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python=python3
runs=5
while [ $# -gt 0 ]; do
    case "$1" in
    --python) python="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    *) echo "usage: scripts/speed-vs-pytorch.sh [--python PYTHON_WITH_TORCH] [--runs N]" >&2; exit 2 ;;
    esac
done
"$python" -c 'import torch' 2>/dev/null || {
    echo "speed-vs-pytorch.sh: $python cannot import torch; install it in a venv (see the top of this script) and pass --python" >&2
    exit 1
}
cargo build -q --release -p charm-trainer --bin charm
charm="$root/target/release/charm"

# median chars/s of charm bench's JSON line
charm_rate() { sed -n 's/.*"chars_per_s":\([0-9.]*\).*/\1/p' | awk '{ printf "%.0f", $1 }'; }
# 1234567 -> 1,234,567
commas() { echo "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
# median chars/s of torch_bench.py's line
torch_rate() { sed -n 's/.*: \([0-9]*\) chars\/s.*/\1/p'; }

at_32=()
echo "| model, H 256, seq-len 50 | batch | charm chars/s | PyTorch chars/s (threads) | × PyTorch |"
echo "|---|---|---|---|---|"
for model in "rnn 1" "rnn 2" "gru 1" "lstm 1"; do
    read -r cell layers <<<"$model"
    for batch in 1 32; do
        if [ "$batch" = 1 ]; then steps=100; else steps=10; fi
        shape=(--cell "$cell" --layers "$layers" --hidden 256 --seq-len 50 --batch "$batch" --steps "$steps" --runs "$runs")
        ours="$("$charm" bench "${shape[@]}" --json | charm_rate)"
        best=0 best_threads=0
        for threads in 1 2; do
            theirs="$("$python" scripts/torch_bench.py "${shape[@]}" --threads "$threads" | torch_rate)"
            if [ "$theirs" -gt "$best" ]; then best="$theirs" best_threads="$threads"; fi
        done
        ratio="$(awk -v a="$ours" -v b="$best" 'BEGIN { printf "%.1f", a / b }')"
        printf '| %s×%s | %s | %s | %s (%s) | %s |\n' "$cell" "$layers" "$batch" \
            "$(commas "$ours")" "$(commas "$best")" "$best_threads" "$ratio"
        if [ "$batch" = 32 ]; then at_32+=("$cell $layers $ours $best"); fi
    done
done
echo
# The share of the machine's multiply-add rate each batch-32 figure takes.
# Per character charm multiplies out its forward products three times
# (forward, input and weight gradients): recurrent G·H² per layer, the
# input G·H² of each layer after the first, the output V·H (the one-hot
# input is a column lookup); PyTorch the same plus the first layer's dense
# input product G·H·V twice (forward and weight gradient; the one-hot input
# takes no gradient). The machine: cores × 2 FMA pipes × 8 f32 lanes × GHz.
ghz="$(awk -F: '/^cpu MHz/ { printf "%.3f", $2 / 1000; exit }' /proc/cpuinfo)"
peak="$(awk -v c="$(nproc)" -v g="$ghz" 'BEGIN { printf "%.1f", c * 2 * 8 * g }')"
echo "machine: $(nproc) cores × 2 FMA pipes × 8 lanes × $ghz GHz = $peak G multiply-adds a second"
echo
echo "| model | charm: multiply-adds a char | charm at its rate | PyTorch: multiply-adds a char | PyTorch at its rate | 3× PyTorch would need of charm |"
echo "|---|---|---|---|---|---|"
for row in "${at_32[@]}"; do
    read -r cell layers ours best <<<"$row"
    case "$cell" in rnn) gates=1 ;; gru) gates=3 ;; lstm) gates=4 ;; esac
    read -r ours_macs ours_share torch_macs torch_share need <<<"$(awk -v l="$layers" -v g="$gates" \
        -v h=256 -v v=65 -v o="$ours" -v t="$best" -v p="$peak" 'BEGIN {
            m = 3 * (l * g * h * h + (l - 1) * g * h * h + v * h)
            n = m + 2 * g * h * v
            printf "%d %.0f %d %.0f %.0f", m, o * m / (p * 1e9) * 100, n, t * n / (p * 1e9) * 100, 3 * t * m / (p * 1e9) * 100
        }')"
    more=""
    if [ "$need" -gt 100 ]; then more=": more than the machine"; fi
    printf '| %s×%s | %s | %s%% | %s | %s%% | %s%%%s |\n' "$cell" "$layers" "$(commas "$ours_macs")" \
        "$ours_share" "$(commas "$torch_macs")" "$torch_share" "$need" "$more"
done
echo
echo "$("$python" -c 'import torch; print("torch", torch.__version__)'); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
