#!/usr/bin/env bash
# Fits charm-boards' per-core cost model (firmware/boards/src/speed.rs: the
# estimated cycles of a character from H and V, which `charm info` turns
# into characters per second at each board's clock) to measurements:
#
#   scripts/fit-speed.sh                  # ~20 min on 2 cores; prints the constants
#   scripts/fit-speed.sh --element fixed  # only one element type: f32, int8 or fixed
#   scripts/fit-speed.sh --cells          # the same for models of other cells and depths
#
# It trains the fit's models into target/speed/ (`charm train --hidden H
# --steps 30 --batch 4 --seed 1 --engine plain --threads 1`, then `charm
# quantize`, and `charm quantize --layout fixed`): H 32, 64, 128, 256 and
# 384 over data/tinyshakespeare.txt (V = 65), and H 128 over texts of V = 24
# and V = 200 characters (`charm-speed-fit --corpus V`).
# scripts/measure-cycles.sh measures each model on each QEMU machine (f32 in
# software on the M0, M3 and RISC-V only up to H 128, with 1 and 3
# characters; fixed int8 on the Cortex-M4F with the firmware built with
# `--features fixed`, as its default build leaves it out); the results go
# to target/speed/measurements.tsv (lines CORE ELEMENT H V CYCLES; lines
# already there are kept, so that a run after an interrupted one measures
# only what that one did not, as long as the code measured is the same:
# measurements.stamp names the tree of core/, firmware/, tests/src/ and
# scripts/ with any uncommitted change there, and a run on another tree
# starts a new file), and `charm-speed-fit` prints each core's
# CharCost and the largest difference between its fit and the measurements
# (FIT_ERROR_PERCENT is that of all cores, rounded up). Paste the constants
# into speed.rs after a change to the firmware's step, the compiler, or the
# cycle model.
#
# --cells fits the f32 and int8 costs of models of GRU, LSTM and stacked
# layers (format version 5, firmware/boards/src/cells_speed.rs) instead: it
# trains into target/speed-cells/ (`charm train --cell C --layers L --hidden H
# --steps 30 --batch 4 --seed 1 --engine plain --threads 1`, then `charm
# quantize`: int8 row pairs) gru×1 of H 32,
# 64 and 128, lstm×1 of H 32, 64 and 128, rnn×2 of H 32, 64 and 128 and
# gru×2 of H 32 and 64 over tinyshakespeare, and gru×1 of H 64 over texts
# of V = 24 and V = 200 and of H 32 over V = 200; measures each, f32 and
# int8, on each QEMU machine with the
# firmware built with `--features cells` (f32 in software: 1 and 3
# characters, H up to 64 but gru×1 of H 128; the micro:bit's 192 KiB hold
# neither that nor gru×2 of H 64 nor the GRU of H 64 over V = 200 in f32;
# int8: every model, 2 and 12 characters); and `charm-speed-fit --cells` prints
# each core's StackedCost of each element. Measurements already in
# target/speed-cells/measurements.tsv (lines CORE ELEMENT CELL LAYERS H V
# CYCLES) are kept while the code is the same (its measurements.stamp, as
# above), so a run after an interrupted one measures only what that one did
# not.
set -euo pipefail

cells=0
elements="f32 int8 fixed"
if [ "${1:-}" = --cells ] && [ $# = 1 ]; then
    cells=1
elif [ "${1:-}" = --element ] && [ $# = 2 ] && [[ " $elements " == *" $2 "* ]]; then
    elements="$2"
elif [ $# -gt 0 ]; then
    echo "usage: scripts/fit-speed.sh [--cells | --element f32|int8|fixed]" >&2
    exit 2
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$root/target/speed"
mkdir -p "$out"
cargo build -q --release -p charm-trainer --bin charm -p charm-tests --bin charm-speed-fit

# code_stamp: the code a measurement depends on (the trees of core/,
# firmware/, tests/src/ and scripts/ at HEAD, and the diff of any change to
# them not yet committed; outside a git checkout, a value no earlier run
# wrote).
code_stamp() {
    if ! git rev-parse -q --verify HEAD >/dev/null 2>&1; then
        date +%s%N # not a git checkout: nothing to compare, so never the same
        return
    fi
    {
        git rev-parse HEAD:core HEAD:firmware HEAD:tests/src HEAD:scripts
        git diff HEAD -- core firmware tests/src scripts
    } | sha256sum | cut -d ' ' -f 1
}

# fresh_measurements DIR: keeps DIR/measurements.tsv only if it was measured
# on the code there is now (DIR/measurements.stamp); else starts it empty.
fresh_measurements() {
    local stamp
    stamp="$(code_stamp)"
    if [ "$(cat "$1/measurements.stamp" 2>/dev/null)" != "$stamp" ]; then
        : >"$1/measurements.tsv"
        printf '%s\n' "$stamp" >"$1/measurements.stamp"
    fi
    touch "$1/measurements.tsv"
}
bin="$root/target/release"

# model NAME DATA H: trains NAME.charm and quantizes it to NAME-int8.charm (row
# pairs) and NAME-fixed.charm (fixed int8).
model() {
    "$bin/charm" train --data "$2" --hidden "$3" --steps 30 --batch 4 --seed 1 --engine plain \
        --threads 1 --quiet --force --out "$out/$1.charm" >/dev/null
    "$bin/charm" quantize --model "$out/$1.charm" --out "$out/$1-int8.charm" --force >/dev/null
    "$bin/charm" quantize --model "$out/$1.charm" --out "$out/$1-fixed.charm" --layout fixed \
        --force >/dev/null
}
if [ "$cells" = 1 ]; then
    out="$root/target/speed-cells"
    mkdir -p "$out"
    # stacked NAME DATA CELL LAYERS H: trains NAME.charm and quantizes it to NAME-int8.charm.
    stacked() {
        "$bin/charm" train --data "$2" --cell "$3" --layers "$4" --hidden "$5" --steps 30 --batch 4 \
            --seed 1 --engine plain --threads 1 --quiet --force --out "$out/$1.charm" >/dev/null
        "$bin/charm" quantize --model "$out/$1.charm" --out "$out/$1-int8.charm" --force >/dev/null
    }
    # NAME CELL LAYERS H V
    models=("gru1-h32-v65 gru 1 32 65" "gru1-h64-v65 gru 1 64 65" "gru1-h128-v65 gru 1 128 65"
        "lstm1-h64-v65 lstm 1 64 65" "lstm1-h128-v65 lstm 1 128 65" "rnn2-h64-v65 rnn 2 64 65"
        "rnn2-h128-v65 rnn 2 128 65" "gru2-h64-v65 gru 2 64 65" "gru1-h64-v24 gru 1 64 24"
        "gru1-h64-v200 gru 1 64 200" "lstm1-h32-v65 lstm 1 32 65" "rnn2-h32-v65 rnn 2 32 65"
        "gru2-h32-v65 gru 2 32 65" "gru1-h32-v200 gru 1 32 200")
    for entry in "${models[@]}"; do
        read -r name cell layers h v <<<"$entry"
        data=data/tinyshakespeare.txt
        if [ "$v" != 65 ]; then
            data="$out/corpus-v$v.txt"
            "$bin/charm-speed-fit" --corpus "$v" "$data"
        fi
        [ -f "$out/$name.charm" ] && [ -f "$out/$name-int8.charm" ] ||
            stacked "$name" "$data" "$cell" "$layers" "$h"
    done
    cores=("m4 mps2-an386 -" "m7 mps2-an500 -" "m33 mps2-an505 -" "m55 mps3-an547 -"
        "m3 mps2-an385 soft" "riscv32 riscv32-virt soft" "riscv32imc riscv32imc-virt soft"
        "m0 microbit soft" "m0plus microbit soft")
    tsv="$out/measurements.tsv"
    fresh_measurements "$out"
    for entry in "${cores[@]}"; do
        read -r core board soft <<<"$entry"
        table="$core"
        [ "$core" = riscv32imc ] && table=riscv32
        for model_entry in "${models[@]}"; do
            read -r name cell layers h v <<<"$model_entry"
            for element in f32 int8; do
                # Measured before (the file keeps what an interrupted run measured).
                grep -q "^$core $element $cell $layers $h $v " "$tsv" && continue
                file="$out/$name.charm" lengths="2 12"
                [ "$element" = int8 ] && file="$out/$name-int8.charm"
                if [ "$element" = f32 ] && [ "$soft" = soft ]; then
                    [ "$h" -le 64 ] || [ "$name" = gru1-h128-v65 ] || continue
                    lengths="1 3"
                fi
                # shellcheck disable=SC2086 # the two lengths
                if log="$("$root/scripts/measure-cycles.sh" --board "$board" --core "$table" --features cells \
                    "$file" $lengths </dev/null 2>&1)"; then
                    cycles="$(printf '%s\n' "$log" | sed -n 's/^estimated cycles per character: //p')"
                    printf '%s %s %s %s %s %s %s\n' "$core" "$element" "$cell" "$layers" "$h" "$v" "$cycles" |
                        tee -a "$tsv"
                else
                    echo "fit-speed: $core $element $name not measured: $(printf '%s\n' "$log" | tail -n 1)" >&2
                fi
            done
        done
    done
    "$bin/charm-speed-fit" --cells <"$tsv"
    exit 0
fi

for h in 32 64 128 256 384; do
    [ -f "$out/h$h-v65-fixed.charm" ] || model "h$h-v65" data/tinyshakespeare.txt "$h"
done
for v in 24 200; do
    "$bin/charm-speed-fit" --corpus "$v" "$out/corpus-v$v.txt"
    [ -f "$out/h128-v$v-fixed.charm" ] || model "h128-v$v" "$out/corpus-v$v.txt" 128
done

# The QEMU machine of each core's table (charm-cycles --core NAME), and
# whether it runs f32 in software.
cores=("m0 microbit soft" "m0plus microbit soft" "m3 mps2-an385 soft" "m4 mps2-an386 -"
    "m7 mps2-an500 -" "m33 mps2-an505 -" "m55 mps3-an547 -" "riscv32 riscv32-virt soft"
    "riscv32imc riscv32imc-virt soft")

tsv="$out/measurements.tsv"
fresh_measurements "$out"
for entry in "${cores[@]}"; do
    read -r core board soft <<<"$entry"
    table="$core"
    [ "$core" = riscv32imc ] && table=riscv32
    capacity="$(cargo run -q -p charm-tests --bin charm-board -- "$board" | sed -n 's/^max_hidden=//p')"
    for name in h32-v65 h64-v65 h128-v65 h256-v65 h384-v65 h128-v24 h128-v200; do
        h="${name#h}" h="${h%%-*}" v="${name##*-v}"
        [ "$h" -le "${capacity:-512}" ] || continue
        for element in $elements; do
            # Measured before (the file keeps what an interrupted run measured).
            grep -q "^$core $element $h $v " "$tsv" && continue
            file="$out/$name.charm" lengths="2 12" features=""
            [ "$element" = f32 ] || file="$out/$name-$element.charm"
            if [ "$element" = f32 ] && [ "$soft" = soft ]; then
                [ "$h" -le 128 ] || continue
                lengths="1 3"
            fi
            # The Cortex-M4F's default build leaves the fixed layout out.
            [ "$element" = fixed ] && [ "$core" = m4 ] && features=fixed
            # shellcheck disable=SC2086 # the two lengths
            if log="$("$root/scripts/measure-cycles.sh" --board "$board" --core "$table" \
                ${features:+--features "$features"} "$file" $lengths </dev/null 2>&1)"; then
                cycles="$(printf '%s\n' "$log" | sed -n 's/^estimated cycles per character: //p')"
                printf '%s %s %s %s %s\n' "$core" "$element" "$h" "$v" "$cycles" | tee -a "$tsv"
            else
                # A file larger than the board's WEIGHTS region (the micro:bit's 192 KiB).
                echo "fit-speed: $core $element $name not measured: $(printf '%s\n' "$log" | tail -n 1)" >&2
            fi
        done
    done
done
"$bin/charm-speed-fit" <"$tsv"
