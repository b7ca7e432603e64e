#!/usr/bin/env bash
# Validation loss of each cell and depth after 10 minutes of training on
# tinyshakespeare:
#
#   scripts/quality.sh                    # the quality table: 5 models x 3 seeds x 10 min, ~2.5 h
#   scripts/quality.sh --set choose       # the choose-a-model table's 12 models, seed 1: ~2 h
#   scripts/quality.sh --minutes 2 --seeds "1"   # a quick look
#   scripts/quality.sh --set choose --redo       # train again the runs results.tsv has
#
# Each run is `charm train --data data/tinyshakespeare.txt --minutes M
# --seed S` with the model's flags below (train on the first 90%, the
# default --val-fraction), then `charm eval` on the held-out last 10%
# (the split char-rnn and nanoGPT's shakespeare_char use). It prints one
# row per model: the median of the seeds, each seed's loss and the step of
# each run's kept (best) weights; and it adds one line per run to
# target/quality/results.tsv (CELL LAYERS H MINUTES SEED LOSS STEPS FLAGS,
# FLAGS the run's other flags joined by "_", or "-"; a run's line replaces
# an earlier line of the same model, flags, minutes and seed),
# which `scripts/tables.sh choose` reads for the choose-a-model table's
# loss column. A run whose line results.tsv already has is not trained
# again (its loss and step are read from the line) unless --redo is given.
# A --minutes run depends on the machine's speed: run it
# with nothing else running, and quote the machine with the table.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
minutes=10
seeds="1 2 3"
set_name=quality
redo=0
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
    --redo) redo=1; shift ;;
    *) echo "usage: scripts/quality.sh [--set quality|choose] [--minutes M] [--seeds \"1 2 3\"] [--redo]" >&2; exit 2 ;;
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

# name | cell layers hidden | other flags of the run
models() {
    if [ "$set_name" = quality ]; then
        cat <<'EOF'
rnn×1 (the default, H 384)|rnn 1 384|
rnn×2, H 256|rnn 2 256|
gru×1, H 256|gru 1 256|
lstm×1, H 384|lstm 1 384|
lstm×2, H 256, dropout 0.4|lstm 2 256|--dropout 0.4
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
# a line's key: CELL LAYERS H MINUTES SEED FLAGS (an older line without
# FLAGS has none)
key_awk='function key() { return $1 " " $2 " " $3 " " $4 " " $5 " " (NF < 8 ? "-" : $8) }'
while IFS='|' read -r name shape extra; do
    read -r cell layers hidden <<<"$shape"
    flags="--cell $cell --layers $layers --hidden $hidden${extra:+ $extra}"
    tag="${extra// /_}"
    tag="${tag:--}"
    losses=() steps=()
    for seed in $seeds; do
        key="$cell $layers $hidden $minutes $seed $tag"
        kept="$(awk -v k="$key" "$key_awk"' key() == k { print $6, $7 }' "$results")"
        if [ "$redo" = 0 ] && [ -n "$kept" ]; then
            read -r loss step <<<"$kept"
            losses+=("$loss") steps+=("$step")
            continue
        fi
        model="$out/$cell$layers-h$hidden${extra:+-${tag//-/}}-m$minutes-s$seed.charm"
        # shellcheck disable=SC2086
        "$charm" train --data "$corpus" --minutes "$minutes" --seed "$seed" $flags --quiet --force \
            --out "$model" </dev/null >/dev/null
        loss="$("$charm" eval --model "$model" --data "$out/val.txt" --json </dev/null |
            sed -n 's/^ *"loss_nats_per_char": \([0-9.]*\),*$/\1/p')"
        step="$("$charm" info --model "$model" --json </dev/null | sed -n 's/^ *"steps": \([0-9]*\),*$/\1/p')"
        losses+=("$loss") steps+=("$step")
        awk -v k="$key" "$key_awk"' key() != k' "$results" >"$results.tmp"
        printf '%s %s %s %s %s %s %s %s\n' "$cell" "$layers" "$hidden" "$minutes" "$seed" "$loss" "$step" \
            "$tag" >>"$results.tmp"
        mv "$results.tmp" "$results"
    done
    median="$(printf '%s\n' "${losses[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
    printf '| %s | `%s` | **%.4f** | %s | %s |\n' "$name" "$flags" "$median" \
        "$(printf '%.4f, ' "${losses[@]}" | sed 's/, $//')" "$(IFS=,; echo "${steps[*]}" | sed 's/,/, /g')"
done < <(models)
echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); --minutes $minutes; load average $(cut -d' ' -f1-3 /proc/loadavg)"
