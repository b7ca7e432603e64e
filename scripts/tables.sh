#!/usr/bin/env bash
# The tables of measured figures in the docs, made by measurement instead of
# by hand.
#
#   scripts/tables.sh measure [MODEL.charm]   measure every QEMU board (slow: ~30 min on 2 cores)
#   scripts/tables.sh measure-formats [MODEL] only the file sizes and losses of the formats table
#   scripts/tables.sh measure-cells           measure the GRU and LSTM models of the cells table
#   scripts/tables.sh measure-fixed           measure row pairs against fixed int8 on the cores without an FPU
#   scripts/tables.sh per-core                print docs/performance.md's per-core table
#   scripts/tables.sh cells                   print its GRU and LSTM table (H 128, f32 and int8)
#   scripts/tables.sh fixed                   print the fixed int8 table (H 128 and 384, against row pairs)
#   scripts/tables.sh boards                  print README.md's boards table (chars/s)
#   scripts/tables.sh formats                 print the f32 / int8 / tiles table (size, loss)
#   scripts/tables.sh measure-choose          measure the models of the choose-a-model table
#   scripts/tables.sh choose                  print its board columns (int8 bytes, nRF52840 chars/s)
#   scripts/tables.sh cycle-tables            print the cycle model's tables (no measurement)
#   scripts/tables.sh measure-flash           build every QEMU board's firmware, default and --features cells
#   scripts/tables.sh flash                   print docs/boards.md's table of their text bytes
#   scripts/tables.sh measure-capi            build libcharm.a for every core and the C example
#   scripts/tables.sh capi                    print docs/c-api.md's table of the libraries' sizes
#   scripts/tables.sh capi-example            print its table of the C example's flash and RAM
#   scripts/tables.sh update [NAME...]        paste the tables into the docs
#   scripts/tables.sh check [NAME...]         exit 1 if a pasted table differs from its script output
#
# `measure` trains the model every row runs (unless MODEL.charm is given):
#   charm train --data data/tinyshakespeare.txt --hidden 128 --steps 1000 --batch 16 \
#       --seed 1 --engine plain --threads 2
# and an H=384 model for the boards table's last column, the same with
# --hidden 384 --steps 100 (its speed, not its loss, is measured),
# (the plain engine is charm-core's step, whose operation order is fixed, and
# the threads fix how the batch is cut, so the training steps do not depend on
# the CPU's kernels; the validation loss that picks the kept weights does, by
# rounding, which matters only if two evaluations tie to the last bits), quantizes it to int8 row
# pairs and int8 tiles, and runs scripts/measure-cycles.sh for each QEMU
# board and each model; `text` is llvm-size of the same firmware. The
# results go to target/tables/measurements.tsv, which the other commands
# read. `measure-cells` trains a GRU and an LSTM of H 128 (`charm train
# --data data/tinyshakespeare.txt --cell gru|lstm --hidden 128 --steps 100
# --batch 16 --seed 1 --engine plain --threads 2`), quantizes them to int8
# row pairs and int8 tiles, and measures them on every QEMU board (the
# tiles on the Cortex-M55 only) with the firmware built with `--features cells`, into
# target/tables/cells.tsv (`cells` reads it). QEMU's instruction counts (-icount) and the cycle model are
# deterministic for a given model and firmware build, so `check` after
# `measure` on another machine fails only when the code, the compiler or
# the model changed. `measure-choose` trains rnn×1, rnn×2, GRU and LSTM
# models of H 128, 256 and 384 over tinyshakespeare (`charm train --data
# data/tinyshakespeare.txt --cell C --layers L --hidden H --steps 1 --batch 1
# --seed 1 --engine plain --threads 1`: their size and speed, which do not
# depend on training, not their loss), quantizes each to int8 row pairs, and measures each on
# the Cortex-M4F (`mps2-an386`) with the firmware built with `--features
# cells`, into target/tables/choose.tsv (`choose` reads it, with `charm
# info`'s fit check of the nRF52840). `measure-fixed` quantizes `measure`'s
# H 128 and H 384 models (training them as `measure` does when they are
# missing) to int8 row pairs and to fixed int8 (`charm quantize --layout
# fixed`) and measures both on the cores without an FPU and on the
# Cortex-M4F (its firmware built with `--features fixed`), into
# target/tables/fixed.tsv (`fixed` reads it). The docs hold no wall-clock
# figure of this script.
#
# Pasted tables sit between the marker comments
#   <!-- tables.sh NAME -->  and  <!-- end tables.sh NAME -->
# in README.md, docs/performance.md, docs/int8.md and docs/choosing-a-model.md.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out_dir="$root/target/tables"
tsv="$out_dir/measurements.tsv"
corpus="$root/data/tinyshakespeare.txt"

usage() {
    sed -n '5,23p' "$0"| sed 's/^# \{0,1\}//'
    exit 2
}

# The board each QEMU machine stands for in the chars/s columns: name and
# clock in MHz (chars/s = clock / estimated cycles per character, at zero
# wait states). The RP2040 runs the micro:bit's Thumb-1 code, priced by the
# Cortex-M0+ table; the RP2350 the AN505's Cortex-M33 code; the ESP32-C3 the
# RV32IMC code, priced by the RV32IMAC table.
# row: key board core-option(- for the board's own) label clock-label clocks(MHz, space-separated)
rows() {
    cat <<'EOF'
m0	microbit	-	Cortex-M0 (`microbit`)	micro:bit (nRF51) 16 MHz	16
m0plus	microbit	m0plus	Cortex-M0+ (the M0 code; RP2040)	Raspberry Pi Pico 133 MHz	133
m3	mps2-an385	-	Cortex-M3 (`mps2-an385`)	STM32F103 72 MHz	72
m4	mps2-an386	-	Cortex-M4F (`mps2-an386`)	nRF52840 64 MHz / STM32F411 100 MHz	64 100
m7	mps2-an500	-	Cortex-M7 (`mps2-an500`)	STM32F746 216 MHz	216
m33	mps2-an505	-	Cortex-M33 (`mps2-an505`)	nRF5340 128 MHz / Raspberry Pi Pico 2 150 MHz	128 150
m55	mps3-an547	-	Cortex-M55 (`mps3-an547`)	Alif Ensemble E3 HP core 400 MHz	400
riscv32	riscv32-virt	-	RV32IMAC (`virt`)	GD32VF103 108 MHz	108
rv32imc	riscv32imc-virt	-	RV32IMC (`virt`, `-cpu rv32,a=off`)	ESP32-C3 160 MHz	160
EOF
}

# f32 in software costs millions of instructions a character: fewer characters.
lengths_for() {
    case "$1" in
    microbit | mps2-an385 | riscv32-virt | riscv32imc-virt) echo "1 3" ;;
    *) echo "2 12" ;;
    esac
}

find_charm() {
    cargo build -q --release -p charm-trainer --bin charm
    charm="$root/target/release/charm"
}

size_tool() {
    command -v llvm-size || ls /usr/lib/llvm-*/bin/llvm-size 2>/dev/null | tail -n 1 ||
        { echo "tables.sh: llvm-size not found (apt-get install llvm)" >&2; exit 1; }
}

# measure_one BOARD CORE MODEL [FEATURES]: "instructions cycles" per character.
measure_one() {
    local board="$1" core="$2" model="$3" features="${4:-}" log
    [ "$core" = - ] && core=""
    # shellcheck disable=SC2046 # the two lengths
    # stdin from /dev/null: QEMU's console would read the rows of the loop.
    log="$("$root/scripts/measure-cycles.sh" --board "$board" ${core:+--core "$core"} ${features:+--features "$features"} "$model" $(lengths_for "$board") </dev/null)"
    printf '%s\n' "$log" >&2
    echo "$(printf '%s\n' "$log" | sed -n 's/^instructions per character: //p') $(printf '%s\n' "$log" | sed -n 's/^estimated cycles per character: //p')"
}

# The rows' models: H 128 (its loss matters: 1000 steps) and H 384 (its
# speed only: 100 steps).
train_h128() {
    [ -f "$corpus" ] || { echo "tables.sh: $corpus is missing" >&2; exit 1; }
    "$charm" train --data "$corpus" --hidden 128 --steps 1000 --batch 16 --seed 1 --engine plain \
        --threads 2 --quiet --force --out "$out_dir/h128.charm"
}
train_h384() {
    [ -f "$corpus" ] || { echo "tables.sh: $corpus is missing" >&2; exit 1; }
    "$charm" train --data "$corpus" --hidden 384 --steps 100 --batch 16 --seed 1 --engine plain \
        --threads 2 --quiet --force --out "$out_dir/h384.charm"
}

measure() {
    mkdir -p "$out_dir"
    find_charm
    local model="${1:-}"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    if [ -z "$model" ]; then
        model="$out_dir/h128.charm"
        train_h128
    fi
    "$charm" quantize --model "$model" --out "$out_dir/h128-int8.charm" --force >&2
    "$charm" quantize --model "$model" --out "$out_dir/h128-tiles.charm" --layout tiles --force >&2
    train_h384
    "$charm" quantize --model "$out_dir/h384.charm" --out "$out_dir/h384-int8.charm" --force >&2
    local size
    size="$(size_tool)"
    local tmp="$tsv.tmp"
    {
        printf 'key\tboard\ttext\tf32_instr\tf32_cycles\tint8_instr\tint8_cycles\ttiles_instr\ttiles_cycles\tint8_h384_instr\tint8_h384_cycles\n'
        while IFS=$'\t' read -r key board core _ _ _; do
            echo "tables.sh: measuring $key ($board)" >&2
            local elf="$work/$board.elf" text f32 int8 tiles="- -" h384="- -"
            CHARM_FIRMWARE_TARGET_DIR="$root/firmware/target/measure" \
                "$root/scripts/build-firmware.sh" --board "$board" --out "$elf" </dev/null >&2
            text="$("$size" "$elf" | awk 'NR == 2 { print $1 }')"
            f32="$(measure_one "$board" "$core" "$model")"
            int8="$(measure_one "$board" "$core" "$out_dir/h128-int8.charm")"
            [ "$board" = mps3-an547 ] && tiles="$(measure_one "$board" "$core" "$out_dir/h128-tiles.charm")"
            # The micro:bit's firmware runs H <= 256.
            [ "$board" != microbit ] && h384="$(measure_one "$board" "$core" "$out_dir/h384-int8.charm")"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$board" "$text" "${f32// /$'\t'}" "${int8// /$'\t'}" "${tiles// /$'\t'}" "${h384// /$'\t'}"
        done < <(rows)
    } >"$tmp"
    mv "$tmp" "$tsv"
    measure_formats "$model"
    echo "tables.sh: wrote $tsv and $out_dir/formats.tsv" >&2
}

# measure_cells: the cells table's GRU and LSTM of H 128 on every QEMU
# board, with the firmware built with --features cells.
measure_cells() {
    mkdir -p "$out_dir"
    find_charm
    [ -f "$corpus" ] || { echo "tables.sh: $corpus is missing" >&2; exit 1; }
    local cell
    for cell in gru lstm; do
        "$charm" train --data "$corpus" --cell "$cell" --hidden 128 --steps 100 --batch 16 --seed 1 \
            --engine plain --threads 2 --quiet --force --out "$out_dir/h128-$cell.charm" >&2
    done
    for cell in gru lstm; do
        "$charm" quantize --model "$out_dir/h128-$cell.charm" --out "$out_dir/h128-$cell-int8.charm" --force >&2
        "$charm" quantize --model "$out_dir/h128-$cell.charm" --out "$out_dir/h128-$cell-tiles.charm" \
            --layout tiles --force >&2
    done
    local tmp="$out_dir/cells.tsv.tmp"
    {
        printf 'key\tboard\tgru_instr\tgru_cycles\tlstm_instr\tlstm_cycles'
        printf '\tgru_int8_instr\tgru_int8_cycles\tlstm_int8_instr\tlstm_int8_cycles'
        printf '\tgru_tiles_instr\tgru_tiles_cycles\tlstm_tiles_instr\tlstm_tiles_cycles\n'
        while IFS=$'\t' read -r key board core _ _ _; do
            echo "tables.sh: measuring the cells of $key ($board)" >&2
            local gru="- -" lstm="- -" gru8 lstm8 gru_tiles="- -" lstm_tiles="- -"
            # The micro:bit's 192 KiB WEIGHTS region holds neither f32 file
            # (333,176 and 433,016 bytes): no M0 or M0+ f32 figures.
            if [ "$board" != microbit ]; then
                gru="$(measure_one "$board" "$core" "$out_dir/h128-gru.charm" cells)"
                lstm="$(measure_one "$board" "$core" "$out_dir/h128-lstm.charm" cells)"
            fi
            gru8="$(measure_one "$board" "$core" "$out_dir/h128-gru-int8.charm" cells)"
            # The LSTM's int8 state, 3 · 128 Q15 values (h, and c in two
            # slots a unit), is over the micro:bit's 256.
            lstm8="- -"
            [ "$board" != microbit ] && lstm8="$(measure_one "$board" "$core" "$out_dir/h128-lstm-int8.charm" cells)"
            # Tiles run on the Cortex-M55 alone; there the LSTM's tiles state,
            # 5 · 128 int8 values (h, and c in four slots a unit), is over the
            # 512 its buffers hold.
            [ "$board" = mps3-an547 ] &&
                gru_tiles="$(measure_one "$board" "$core" "$out_dir/h128-gru-tiles.charm" cells)"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$board" "${gru// /$'\t'}" "${lstm// /$'\t'}" \
                "${gru8// /$'\t'}" "${lstm8// /$'\t'}" "${gru_tiles// /$'\t'}" "${lstm_tiles// /$'\t'}"
        done < <(rows)
    } >"$tmp"
    mv "$tmp" "$out_dir/cells.tsv"
    echo "tables.sh: wrote $out_dir/cells.tsv" >&2
}

# The cores of the fixed int8 table: KEY, and the features its firmware
# needs for the fixed layout (the Cortex-M4F's default build leaves it out).
fixed_cores() {
    printf '%s\n' "m0 -" "m0plus -" "m3 -" "m4 fixed" "riscv32 -" "rv32imc -"
}

# measure_fixed: `measure`'s H 128 and H 384 models as int8 row pairs and as
# fixed int8 on the cores of fixed_cores.
measure_fixed() {
    mkdir -p "$out_dir"
    find_charm
    [ -f "$out_dir/h128.charm" ] || train_h128
    [ -f "$out_dir/h384.charm" ] || train_h384
    local h layout
    for h in 128 384; do
        "$charm" quantize --model "$out_dir/h$h.charm" --out "$out_dir/h$h-int8.charm" --force >&2
        "$charm" quantize --model "$out_dir/h$h.charm" --out "$out_dir/h$h-fixed.charm" --layout fixed \
            --force >&2
    done
    local tmp="$out_dir/fixed.tsv.tmp" key features board core pairs fixed pairs384 fixed384
    {
        printf 'key\tboard\tpairs_instr\tpairs_cycles\tfixed_instr\tfixed_cycles'
        printf '\tpairs_h384_instr\tpairs_h384_cycles\tfixed_h384_instr\tfixed_h384_cycles\n'
        while read -r key features; do
            [ "$features" = - ] && features=""
            read -r board core < <(rows | awk -F '\t' -v k="$key" '$1 == k { print $2, $3 }')
            echo "tables.sh: measuring fixed int8 on $key ($board)" >&2
            pairs="$(measure_one "$board" "$core" "$out_dir/h128-int8.charm" "$features")"
            fixed="$(measure_one "$board" "$core" "$out_dir/h128-fixed.charm" "$features")"
            pairs384="- -" fixed384="- -"
            # The micro:bit's firmware runs H <= 256.
            if [ "$board" != microbit ]; then
                pairs384="$(measure_one "$board" "$core" "$out_dir/h384-int8.charm" "$features")"
                fixed384="$(measure_one "$board" "$core" "$out_dir/h384-fixed.charm" "$features")"
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$board" "${pairs// /$'\t'}" "${fixed// /$'\t'}" \
                "${pairs384// /$'\t'}" "${fixed384// /$'\t'}"
        done < <(fixed_cores)
    } >"$tmp"
    mv "$tmp" "$out_dir/fixed.tsv"
    echo "tables.sh: wrote $out_dir/fixed.tsv" >&2
}

# The models of the choose-a-model table: NAME CELL LAYERS H.
choose_models() {
    local h
    for h in 128 256 384; do
        printf '%s\n' "rnn1-h$h rnn 1 $h" "rnn2-h$h rnn 2 $h" "gru1-h$h gru 1 $h" "lstm1-h$h lstm 1 $h"
    done
}

# measure_choose: each model of choose_models as int8 row pairs: its file's
# bytes and its cycles per character on the Cortex-M4F.
measure_choose() {
    mkdir -p "$out_dir/choose"
    find_charm
    [ -f "$corpus" ] || { echo "tables.sh: $corpus is missing" >&2; exit 1; }
    local tmp="$out_dir/choose.tsv.tmp" name cell layers h file m4
    {
        printf 'name\tcell\tlayers\thidden\tint8_bytes\tm4_instr\tm4_cycles\n'
        while read -r name cell layers h; do
            echo "tables.sh: measuring $name for the choose-a-model table" >&2
            file="$out_dir/choose/$name.charm"
            "$charm" train --data "$corpus" --cell "$cell" --layers "$layers" --hidden "$h" --steps 1 \
                --batch 1 --seed 1 --engine plain --threads 1 --quiet --force --out "$file" >&2
            "$charm" quantize --model "$file" --out "${file%.charm}-int8.charm" --force >&2
            # "- -" when the firmware refuses the model (its state over the buffers)
            m4="$(measure_one mps2-an386 - "${file%.charm}-int8.charm" cells)"
            [ "$m4" = " " ] && m4="- -"
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$cell" "$layers" "$h" \
                "$(stat -c %s "${file%.charm}-int8.charm")" "${m4// /$'\t'}"
        done < <(choose_models)
    } >"$tmp"
    mv "$tmp" "$out_dir/choose.tsv"
    echo "tables.sh: wrote $out_dir/choose.tsv" >&2
}

# measure_formats MODEL: the file sizes of the three forms and their loss on
# the held-out last 10% of the corpus (as charm train holds it out).
measure_formats() {
    local model="$1" n val
    [ -n "${charm:-}" ] || find_charm
    [ -n "${work:-}" ] || { work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT; }
    n="$(wc -m <"$corpus")"
    val="$work/val.txt"
    # tinyshakespeare is ASCII: the last floor(n/10) characters are as many bytes.
    tail -c "$((n / 10))" "$corpus" >"$val"
    {
        printf 'format\tbytes\tnats\n'
        for kind in f32:"$model" int8:"$out_dir/h128-int8.charm" tiles:"$out_dir/h128-tiles.charm"; do
            local file="${kind#*:}"
            printf '%s\t%s\t%s\n' "${kind%%:*}" "$(stat -c %s "$file")" \
                "$("$charm" eval --model "$file" --data "$val" --json | sed -n 's/.*"loss_nats_per_char": *\([0-9.e+-]*\).*/\1/p')"
        done
    } >"$out_dir/formats.tsv"
}

need_tsv() {
    [ -f "$tsv" ] || { echo "tables.sh: no measurements yet: run scripts/tables.sh measure" >&2; exit 1; }
}

# awk helpers: thousands separators, per-MAC ratios, chars/s.
AWK_LIB='
function commas(n,   s, r) { s = sprintf("%d", n); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) } return s r }
function per_mac(n,   x) { x = n / MACS; return x >= 100 ? sprintf("%d", x + 0.5) : x >= 10 ? sprintf("%.1f", x) : x >= 1 ? sprintf("%.2f", x) : sprintf("%.3f", x) }
function rate(mhz, cycles,   r) { r = mhz * 1e6 / cycles; return r >= 100 ? commas(int(r + 0.5)) : r >= 10 ? sprintf("%.1f", r) : sprintf("%.2f", r) }
function rates(clocks, cycles,   c, n, i, s) { n = split(clocks, c, " "); s = ""; for (i = 1; i <= n; i++) s = s (i > 1 ? " / " : "") rate(c[i], cycles); return s }
'
# A character of the H=128, V=65 model: H·H + V·H multiply-accumulates.
MACS=$((128 * 128 + 65 * 128))

per_core() {
    need_tsv
    echo '| core (QEMU machine) | clock for chars/s | flash: `text` | f32: instructions / char (per MAC) | f32: est. cycles / char (per MAC) | f32 chars/s | int8: instructions / char (per MAC) | int8: est. cycles / char (per MAC) | int8 chars/s |'
    echo '|---|---|---|---|---|---|---|---|---|'
    rows | awk -F '\t' -v MACS="$MACS" "$AWK_LIB"'
        NR == FNR { if (FNR > 1) { text[$1] = $3; fi[$1] = $4; fc[$1] = $5; ii[$1] = $6; ic[$1] = $7; ti[$1] = $8; tc[$1] = $9 } next }
        {
            k = $1
            printf "| %s | %s | %s | %s (%s) | %s (%s) | %s | %s (%s) | %s (%s) | **%s** |\n", $4, $5, commas(text[k]),
                commas(fi[k]), per_mac(fi[k]), commas(fc[k]), per_mac(fc[k]), rates($6, fc[k]),
                commas(ii[k]), per_mac(ii[k]), commas(ic[k]), per_mac(ic[k]), rates($6, ic[k])
            if (ti[k] != "-")
                printf "| Cortex-M55, int8 tiles | the same | the same | – | – | – | %s (%s) | %s (%s) | **%s** |\n",
                    commas(ti[k]), per_mac(ti[k]), commas(tc[k]), per_mac(tc[k]), rates($6, tc[k])
        }' "$tsv" -
}

# A character of the H=128, V=65 GRU and LSTM: G·H·H + V·H multiply-accumulates
# (G = 3 and 4 gates).
GRU_MACS=$((3 * 128 * 128 + 65 * 128))
LSTM_MACS=$((4 * 128 * 128 + 65 * 128))

cells() {
    [ -f "$out_dir/cells.tsv" ] || { echo "tables.sh: no cells.tsv: run scripts/tables.sh measure-cells" >&2; exit 1; }
    echo '| core (QEMU machine) | clock for chars/s | weights | GRU: instructions / char (per MAC) | GRU: est. cycles / char (per MAC) | GRU chars/s | LSTM: instructions / char (per MAC) | LSTM: est. cycles / char (per MAC) | LSTM chars/s |'
    echo '|---|---|---|---|---|---|---|---|---|'
    # f32 rows of every core, then int8 row pairs, then the M55's int8 tiles
    # (the columns of cells.tsv where each form's four figures start).
    local form
    for form in 3:f32 7:int8 11:tiles; do
        rows | awk -F '\t' -v GRU="$GRU_MACS" -v LSTM="$LSTM_MACS" -v at="${form%%:*}" -v form="${form#*:}" "$AWK_LIB"'
            NR == FNR { if (FNR > 1) { gi[$1] = $at; gc[$1] = $(at + 1); li[$1] = $(at + 2); lc[$1] = $(at + 3) } next }
            {
                k = $1
                label = form == "f32" ? "f32" : form == "int8" ? "int8 row pairs" : "int8 tiles"
                if (form == "tiles" && gc[k] == "-") next
                MACS = GRU; g = gc[k] == "-" ? "– | – | –" : sprintf("%s (%s) | %s (%s) | %s", commas(gi[k]), per_mac(gi[k]), commas(gc[k]), per_mac(gc[k]), rates($6, gc[k]))
                MACS = LSTM; l = lc[k] == "-" ? "– | – | –" : sprintf("%s (%s) | %s (%s) | %s", commas(li[k]), per_mac(li[k]), commas(lc[k]), per_mac(lc[k]), rates($6, lc[k]))
                printf "| %s | %s | %s | %s | %s |\n", $4, $5, label, g, l
            }' "$out_dir/cells.tsv" -
    done
}

# The board columns of the choose-a-model table: the int8 file's bytes,
# whether it fits the nRF52840 (`charm info`'s check of the board: "yes", or
# why not), and its characters per second there (64 MHz over the
# Cortex-M4F's measured cycles); and the validation loss after 10 minutes of
# training on tinyshakespeare, the median of the seeds scripts/quality.sh ran
# for that model (its target/quality/results.tsv; `--set choose` runs them
# all), or "not measured yet".
choose() {
    [ -f "$out_dir/choose.tsv" ] || { echo "tables.sh: no choose.tsv: run scripts/tables.sh measure-choose" >&2; exit 1; }
    find_charm
    echo '| model (V 65) | H | validation loss, nats/char | int8 file bytes (flash) | fits the nRF52840 (`charm info`) | nRF52840 (Cortex-M4F, 64 MHz) int8 chars/s |'
    echo '|---|---|---|---|---|---|'
    local name cell layers h bytes _instr cycles misfit model loss
    local results="$root/target/quality/results.tsv"
    while IFS=$'\t' read -r name cell layers h bytes _instr cycles; do
        [ "$name" = name ] && continue
        model="$out_dir/choose/$name-int8.charm"
        [ -f "$model" ] || { echo "tables.sh: $model is missing: run scripts/tables.sh measure-choose" >&2; exit 1; }
        # the nRF52840's "int8_misfit": null, or a sentence
        misfit="$("$charm" info --model "$model" --json | awk '
            /"board": "nrf52840"/ { on = 1 }
            on && /"int8_misfit":/ { sub(/^[^:]*: */, ""); sub(/,$/, ""); gsub(/"/, ""); print; exit }')"
        # lines CELL LAYERS H MINUTES SEED LOSS STEPS FLAGS: the median of the
        # seeds' losses of the runs with no other flags (FLAGS "-")
        loss="$( { [ ! -f "$results" ] || awk -v k="$cell $layers $h 10" '$1 " " $2 " " $3 " " $4 == k && (NF < 8 || $8 == "-") { print $6 }' "$results"; } |
            sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "not measured yet"; else if (NR == 1) printf "%.4f (one seed)", a[1]; else printf "%.4f (median of %d seeds)", a[int((NR + 1) / 2)], NR }')"
        awk -v name="$cell" -v layers="$layers" -v h="$h" -v bytes="$bytes" -v cycles="$cycles" -v misfit="$misfit" -v loss="$loss" "$AWK_LIB"'BEGIN {
            label = name == "rnn" ? "rnn (tanh)" : toupper(name)
            fits = misfit == "null"
            printf "| %s×%s | %s | %s | %s | %s | %s |\n", label, layers, h, loss, commas(bytes),
                fits ? "yes" : "no: " misfit, fits && cycles != "-" ? rate(64, cycles) : "–"
        }'
    done <"$out_dir/choose.tsv"
}

# The fixed int8 table: each core's row pairs and fixed int8 at H 128 (est.
# cycles per MAC, chars/s at the board's clock) and at H 384 (chars/s), and
# the int8 floor of that core, per MAC, with fixed int8's whole character
# over it (the floors derived in docs/performance.md, "The int8 floor of
# each core").
fixed() {
    [ -f "$out_dir/fixed.tsv" ] || { echo "tables.sh: no fixed.tsv: run scripts/tables.sh measure-fixed" >&2; exit 1; }
    echo '| core (QEMU machine) | clock for chars/s | row pairs: est. cycles / char (per MAC) | fixed: instructions / char (per MAC) | fixed: est. cycles / char (per MAC) | floor per MAC (× 1.3) | fixed ÷ floor | row pairs → fixed chars/s | H=384: row pairs → fixed chars/s |'
    echo '|---|---|---|---|---|---|---|---|---|'
    rows | awk -F '\t' -v MACS="$MACS" -v MACS384="$((384 * 384 + 65 * 384))" "$AWK_LIB"'
        NR == FNR { if (FNR > 1) { pc[$1] = $4; fi[$1] = $5; fc[$1] = $6; qc[$1] = $8; gc[$1] = $10 } next }
        BEGIN { floor["m0"] = 4.08; floor["m0plus"] = 4.08; floor["m3"] = 3.75; floor["m4"] = 1.19; floor["riscv32"] = 4.14; floor["rv32imc"] = 4.14 }
        ($1 in fc) {
            k = $1
            h384 = gc[k] == "-" ? "–" : rates($6, qc[k]) " → **" rates($6, gc[k]) "**"
            printf "| %s | %s | %s (%s) | %s (%s) | %s (%s) | %s (%.2f) | %.2f | %s → **%s** | %s |\n", $4, $5,
                commas(pc[k]), per_mac(pc[k]), commas(fi[k]), per_mac(fi[k]), commas(fc[k]), per_mac(fc[k]),
                floor[k], floor[k] * 1.3, fc[k] / MACS / floor[k], rates($6, pc[k]), rates($6, fc[k]), h384
        }' "$out_dir/fixed.tsv" -
}

boards() {
    need_tsv
    echo '| core, board and clock | int8 chars/s | f32 chars/s | int8 chars/s, H=384 |'
    echo '|---|---|---|---|'
    rows | awk -F '\t' -v MACS="$MACS" "$AWK_LIB"'
        NR == FNR { if (FNR > 1) { fc[$1] = $5; ic[$1] = $7; tc[$1] = $9; hc[$1] = $11 } next }
        {
            k = $1; name = $4; sub(/ \(.*/, "", name)
            tiles = tc[k] != "-" ? "; **" rates($6, tc[k]) "** as int8 tiles" : ""
            h384 = hc[k] != "-" && hc[k] != "" ? rates($6, hc[k]) : "–"
            printf "| %s, %s | %s%s | %s | %s |\n", name, $5, rates($6, ic[k]), tiles, rates($6, fc[k]), h384
        }' "$tsv" -
}

formats() {
    need_tsv
    [ -f "$out_dir/formats.tsv" ] || { echo "tables.sh: no formats.tsv: run scripts/tables.sh measure" >&2; exit 1; }
    echo '| H=128 model as | file bytes | loss on the held-out 10%, nats/char |'
    echo '|---|---|---|'
    awk -F '\t' "$AWK_LIB"'FNR > 1 {
        name = $1 == "f32" ? "f32 (`charm train`)" : $1 == "int8" ? "int8 row pairs (`charm quantize`)" : "int8 tiles (`charm quantize --layout tiles`)"
        printf "| %s | %s | %.4f |\n", name, commas($2), $3
    }' "$out_dir/formats.tsv"
}

# measure_flash: the text bytes (llvm-size) of each QEMU board's firmware,
# default and with --features cells, as scripts/build-firmware.sh builds it.
measure_flash() {
    mkdir -p "$out_dir"
    local size key board default cells tmp="$out_dir/flash.tsv.tmp"
    size="$(size_tool)"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    {
        printf 'board\tdefault_text\tcells_text\n'
        while IFS=$'\t' read -r key board _; do
            # the M0+ and the RV32IMC rows run the M0's and RV32IMAC's builds
            [ "$key" = m0plus ] || [ "$key" = rv32imc ] && continue
            echo "tables.sh: building $board, default and cells" >&2
            CHARM_FIRMWARE_TARGET_DIR="$root/firmware/target/measure" \
                "$root/scripts/build-firmware.sh" --board "$board" --out "$work/default.elf" </dev/null >&2
            CHARM_FIRMWARE_TARGET_DIR="$root/firmware/target/measure-cells" \
                "$root/scripts/build-firmware.sh" --board "$board" --features cells \
                --out "$work/cells.elf" </dev/null >&2
            default="$("$size" "$work/default.elf" | awk 'NR == 2 { print $1 }')"
            cells="$("$size" "$work/cells.elf" | awk 'NR == 2 { print $1 }')"
            printf '%s\t%s\t%s\n' "$board" "$default" "$cells"
        done < <(rows)
    } >"$tmp"
    mv "$tmp" "$out_dir/flash.tsv"
    echo "tables.sh: wrote $out_dir/flash.tsv" >&2
}

flash() {
    [ -f "$out_dir/flash.tsv" ] || { echo "tables.sh: no flash.tsv: run scripts/tables.sh measure-flash" >&2; exit 1; }
    echo '| board | default | `--features cells` |'
    echo '|---|---|---|'
    rows | awk -F '\t' "$AWK_LIB"'
        NR == FNR { if (FNR > 1) { d[$1] = $2; c[$1] = $3 } next }
        ($2 in d) && !seen[$2]++ {
            core = $4; sub(/ .*/, "", core); sub(/^Cortex-/, "", core)
            printf "| `%s` (%s) | %s | %s |\n", $2, core, commas(d[$2]), commas(c[$2])
        }' "$out_dir/flash.tsv" -
}

# measure_capi: scripts/build-capi.sh's libraries (its report: core,
# variant, archive bytes, charm's object text) and the C example
# (examples/c/build.sh with core/examples/embed/tiny.charm) on the M4F and
# the M0 with each core's one-layer and cells library: flash is .vectors +
# .text + .ARM.exidx less the model's bytes, static RAM .bss.
measure_capi() {
    mkdir -p "$out_dir"
    local report tmp="$out_dir/capi.tsv.tmp" model="$root/core/examples/embed/tiny.charm"
    report="$("$root/scripts/build-capi.sh" </dev/null)"
    {
        printf 'core\tvariant\tarchive_bytes\tcharm_text\n'
        # "CORE VARIANT TARGET N bytes   charm object text T bytes"
        printf '%s\n' "$report" | awk '$5 == "bytes" && $6 == "charm" { printf "%s\t%s\t%s\t%s\n", $1, $2, $4, $9 }'
    } >"$tmp"
    mv "$tmp" "$out_dir/capi.tsv"
    local model_bytes board core lib elf sizes
    model_bytes="$(stat -c %s "$model")"
    tmp="$out_dir/capi-example.tsv.tmp"
    {
        printf 'board\tcore\tlibrary\tflash\tram\n'
        for board in mps2-an386 microbit; do
            core=cortex-m4f
            [ "$board" = microbit ] && core=cortex-m0
            for lib in "$core" "$core/cells"; do
                elf="$out_dir/capi-example-$board-${lib//\//-}.elf"
                "$root/examples/c/build.sh" --board "$board" --model "$model" \
                    --lib "$root/target/capi/$lib/libcharm.a" --out "$elf" </dev/null >&2
                sizes="$(arm-none-eabi-size -A "$elf" | awk -v model="$model_bytes" '
                    $1 == ".vectors" || $1 == ".text" || $1 == ".ARM.exidx" { flash += $2 }
                    $1 == ".bss" { ram += $2 }
                    END { printf "%d\t%d", flash - model, ram }')"
                printf '%s\t%s\t%s\t%s\n' "$board" "$core" "$lib" "$sizes"
            done
        done
    } >"$tmp"
    mv "$tmp" "$out_dir/capi-example.tsv"
    echo "tables.sh: wrote $out_dir/capi.tsv and $out_dir/capi-example.tsv" >&2
}

capi() {
    [ -f "$out_dir/capi.tsv" ] || { echo "tables.sh: no capi.tsv: run scripts/tables.sh measure-capi" >&2; exit 1; }
    echo '| core | library | archive, bytes | charm object text, bytes |'
    echo '|---|---|---:|---:|'
    awk -F '\t' "$AWK_LIB"'FNR > 1 {
        note = $1 == "cortex-m55" && $2 == "one-layer" ? " (opt-level 3 throughout, Helium kernels)" : ""
        printf "| `%s` | %s | %s | %s%s |\n", $1, $2, commas($3), commas($4), note
    }' "$out_dir/capi.tsv"
}

capi_example() {
    [ -f "$out_dir/capi-example.tsv" ] || { echo "tables.sh: no capi-example.tsv: run scripts/tables.sh measure-capi" >&2; exit 1; }
    echo '| board | core | library | flash without the model | static RAM |'
    echo '|---|---|---|---:|---:|'
    awk -F '\t' "$AWK_LIB"'FNR > 1 {
        core = $2 == "cortex-m4f" ? "Cortex-M4F" : "Cortex-M0"
        printf "| `%s` | %s | `%s` | %s | %s |\n", $1, core, $3, commas($4), commas($5)
    }' "$out_dir/capi-example.tsv"
}

# The cycle model's tables: charm-cycles prints them from its own constants.
cycle_tables() {
    cargo run -q -p charm-tests --bin charm-cycles -- --tables
}

# The files and tables that carry pasted output: FILE NAME.
pasted() {
    printf '%s\n' "README.md boards" "docs/performance.md per-core" "docs/int8.md formats" \
        "docs/performance.md cycle-tables" "docs/performance.md cells" "docs/choosing-a-model.md choose" \
        "docs/performance.md fixed" "docs/boards.md flash" "docs/c-api.md capi" "docs/c-api.md capi-example"
}

# pasted_named NAME...: the pasted tables of those names (all without a name).
pasted_named() {
    if [ $# = 0 ]; then
        pasted
        return
    fi
    local want
    for want in "$@"; do
        pasted | awk -v n="$want" '$2 == n'
    done
}

# splice FILE NAME: FILE with the block between NAME's markers replaced by the table.
splice() {
    local file="$1" name="$2" table
    table="$("${name//-/_}")"
    awk -v name="$name" -v table="$table" '
        $0 == "<!-- tables.sh " name " -->" { print; print table; skip = 1; next }
        $0 == "<!-- end tables.sh " name " -->" { skip = 0 }
        !skip { print }' "$file"
}

update() {
    while read -r file name; do
        grep -qx "<!-- tables.sh $name -->" "$file" || continue
        splice "$file" "$name" >"$file.tmp" && mv "$file.tmp" "$file"
        echo "tables.sh: updated $name in $file"
    done < <(pasted_named "$@")
}

check() {
    local differ=0
    while read -r file name; do
        grep -qx "<!-- tables.sh $name -->" "$file" || continue
        if ! diff -u "$file" <(splice "$file" "$name") >&2; then
            echo "tables.sh: $file's $name table differs from scripts/tables.sh $name" >&2
            differ=1
        fi
    done < <(pasted_named "$@")
    [ "$differ" = 0 ] && echo "tables.sh: the pasted tables match their scripts"
    return "$differ"
}

case "${1:-}" in
measure) shift; measure "$@" ;;
measure-formats) shift; measure_formats "${1:-$out_dir/h128.charm}" ;;
measure-cells) measure_cells ;;
measure-fixed) measure_fixed ;;
measure-choose) measure_choose ;;
measure-flash) measure_flash ;;
measure-capi) measure_capi ;;
per-core | boards | formats | cells | choose | fixed | flash | capi | capi-example) "${1//-/_}" ;;
cycle-tables) cycle_tables ;;
update | check) cmd="$1"; shift; "$cmd" "$@" ;;
*) usage ;;
esac
