#!/usr/bin/env bash
# Validation loss of each cell and depth after 10 minutes of training on
# tinyshakespeare, 3 seeds each, as the quality table in docs/training.md:
#
#   scripts/quality.sh                    # 4 models x 3 seeds x 10 min: ~2 h
#   scripts/quality.sh --minutes 2 --seeds "1"   # a quick look
#
# Each run is `charm train --data data/tinyshakespeare.txt --minutes M
# --seed S` with the model's flags below (train on the first 90%, the
# default --val-fraction), then `charm eval` on the held-out last 10%
# (the split char-rnn and nanoGPT's shakespeare_char use). It prints one
# row per model: the median of the seeds, each seed's loss and the step of
# each run's kept (best) weights. A --minutes run depends on the machine's speed: run it
# with nothing else running, and quote the machine with the table.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
minutes=10
seeds="1 2 3"
while [ $# -gt 0 ]; do
    case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    *) echo "usage: scripts/quality.sh [--minutes M] [--seeds \"1 2 3\"]" >&2; exit 2 ;;
    esac
done
cargo build -q --release -p charm-trainer --bin charm
charm="$root/target/release/charm"
corpus="$root/data/tinyshakespeare.txt"
out="$root/target/quality"
mkdir -p "$out"
# The held-out last 10%, as charm train's default --val-fraction 0.1 keeps it.
bytes="$(wc -c <"$corpus")"
tail -c "$((bytes / 10))" "$corpus" >"$out/val.txt"

# name | flags
models() {
    cat <<'EOF'
rnn×1 (the default, H 384)|
rnn×2, H 256|--cell rnn --layers 2 --hidden 256
gru×1, H 256|--cell gru --hidden 256
lstm×1, H 384|--cell lstm --hidden 384
EOF
}

echo "| model | flags | nats/char, median | seeds $seeds | steps |"
echo "|---|---|---|---|---|"
while IFS='|' read -r name flags; do
    losses=() steps=()
    for seed in $seeds; do
        model="$out/$(echo "$name" | tr -cd 'a-z0-9')-s$seed.charm"
        # shellcheck disable=SC2086
        "$charm" train --data "$corpus" --minutes "$minutes" --seed "$seed" $flags --quiet --force \
            --out "$model" </dev/null >/dev/null
        losses+=("$("$charm" eval --model "$model" --data "$out/val.txt" --json </dev/null |
            sed -n 's/^ *"loss_nats_per_char": \([0-9.]*\),*$/\1/p')")
        steps+=("$("$charm" info --model "$model" --json </dev/null | sed -n 's/^ *"steps": \([0-9]*\),*$/\1/p')")
    done
    median="$(printf '%s\n' "${losses[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
    printf '| %s | `%s` | **%.4f** | %s | %s |\n' "$name" "${flags:-(defaults)}" "$median" \
        "$(printf '%.4f, ' "${losses[@]}" | sed 's/, $//')" "$(IFS=,; echo "${steps[*]}" | sed 's/,/, /g')"
done < <(models)
echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); --minutes $minutes; load average $(cut -d' ' -f1-3 /proc/loadavg)"
