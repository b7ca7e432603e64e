#!/usr/bin/env bash
# Validation loss of each cell and depth after 10 minutes of training on
# tinyshakespeare:
#
#   scripts/quality.sh                    # the quality table: 4 models x 3 seeds x 10 min, ~2 h
#   scripts/quality.sh --set choose       # the choose-a-model table's 12 models, seed 1: ~2 h
#   scripts/quality.sh --minutes 2 --seeds "1"   # a quick look
#
# Each run is `charm train --data data/tinyshakespeare.txt --minutes M
# --seed S` with the model's flags below (train on the first 90%, the
# default --val-fraction), then `charm eval` on the held-out last 10%
# (the split char-rnn and nanoGPT's shakespeare_char use). It prints one
# row per model: the median of the seeds, each seed's loss and the step of
# each run's kept (best) weights; and it adds one line per run to
# target/quality/results.tsv (CELL LAYERS H MINUTES SEED LOSS STEPS; a
# run's line replaces an earlier line of the same model, minutes and seed),
# which `scripts/tables.sh choose` reads for the choose-a-model table's
# loss column. A --minutes run depends on the machine's speed: run it
# with nothing else running, and quote the machine with the table.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
minutes=10
seeds="1 2 3"
set_name=quality
while [ $# -gt 0 ]; do
    case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --set)
        set_name="$2"
        [ "$set_name" = quality ] || [ "$set_name" = choose ] ||
            { echo "quality.sh: --set is quality or choose, not $set_name" >&2; exit 2; }
        [ "$set_name" = choose ] && seeds=1
        shift 2
        ;;
    *) echo "usage: scripts/quality.sh [--set quality|choose] [--minutes M] [--seeds \"1 2 3\"]" >&2; exit 2 ;;
    esac
done
cargo build -q --release -p charm-trainer --bin charm
charm="$root/target/release/charm"
corpus="$root/data/tinyshakespeare.txt"
out="$root/target/quality"
mkdir -p "$out"
results="$out/results.tsv"
touch "$results"
# The held-out last 10%, as charm train's default --val-fraction 0.1 keeps it.
bytes="$(wc -c <"$corpus")"
tail -c "$((bytes / 10))" "$corpus" >"$out/val.txt"

# name | cell layers hidden (the flags of the run)
models() {
    if [ "$set_name" = quality ]; then
        cat <<'EOF'
rnn×1 (the default, H 384)|rnn 1 384
rnn×2, H 256|rnn 2 256
gru×1, H 256|gru 1 256
lstm×1, H 384|lstm 1 384
EOF
    else
        local h
        for h in 128 256 384; do
            printf '%s\n' "rnn×1, H $h|rnn 1 $h" "rnn×2, H $h|rnn 2 $h" "gru×1, H $h|gru 1 $h" \
                "lstm×1, H $h|lstm 1 $h"
        done
    fi
}

echo "| model | flags | nats/char, median | seeds $seeds | steps |"
echo "|---|---|---|---|---|"
while IFS='|' read -r name shape; do
    read -r cell layers hidden <<<"$shape"
    flags="--cell $cell --layers $layers --hidden $hidden"
    losses=() steps=()
    for seed in $seeds; do
        model="$out/$cell$layers-h$hidden-m$minutes-s$seed.charm"
        # shellcheck disable=SC2086
        "$charm" train --data "$corpus" --minutes "$minutes" --seed "$seed" $flags --quiet --force \
            --out "$model" </dev/null >/dev/null
        loss="$("$charm" eval --model "$model" --data "$out/val.txt" --json </dev/null |
            sed -n 's/^ *"loss_nats_per_char": \([0-9.]*\),*$/\1/p')"
        step="$("$charm" info --model "$model" --json </dev/null | sed -n 's/^ *"steps": \([0-9]*\),*$/\1/p')"
        losses+=("$loss") steps+=("$step")
        awk -v k="$cell $layers $hidden $minutes $seed" '$1 " " $2 " " $3 " " $4 " " $5 != k' "$results" \
            >"$results.tmp"
        printf '%s %s %s %s %s %s %s\n' "$cell" "$layers" "$hidden" "$minutes" "$seed" "$loss" "$step" \
            >>"$results.tmp"
        mv "$results.tmp" "$results"
    done
    median="$(printf '%s\n' "${losses[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
    printf '| %s | `%s` | **%.4f** | %s | %s |\n' "$name" "$flags" "$median" \
        "$(printf '%.4f, ' "${losses[@]}" | sed 's/, $//')" "$(IFS=,; echo "${steps[*]}" | sed 's/,/, /g')"
done < <(models)
echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); --minutes $minutes; load average $(cut -d' ' -f1-3 /proc/loadavg)"
