#!/usr/bin/env bash
# Measures the firmware for one board under QEMU: instructions per generated
# character, peak stack, and the flash/RAM footprint (docs/performance.md shows
# the figures).
#
#   scripts/measure-firmware.sh [--board NAME] MODEL.charm [SHORT_LEN LONG_LEN]
#
# --board is one of the QEMU machines' boards (default mps2-an386; see
# `scripts/build-firmware.sh --board list`).
#
# Method: the firmware built with feature `bench` counts ticks around priming
# and generation and reports them over semihosting (stderr): SysTick on the
# core clock on Cortex-M, `minstret` on RISC-V. QEMU runs with `-icount
# shift=0`, so each instruction advances virtual time by 1 ns, and a SysTick
# tick is 10^9/f instructions for the board's system clock f (40 at the MPS2's
# 25 MHz), a minstret tick one instruction; the firmware also times a loop of
# known length, which gives that factor. Two runs (default 200 and 1200
# characters, temperature 1, seed 1, no prime) are subtracted, so the constant
# cost of boot, validation and the CRC drops out:
#   instructions/char = (ticks_long - ticks_short) * (insns/tick) / (LONG - SHORT)
# Needs what ./scripts/test.sh installs (QEMU, the firmware toolchains).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
board=mps2-an386
if [ "${1:-}" = --board ]; then
    board="${2:?--board needs a name}"
    shift 2
fi
model="${1:?usage: scripts/measure-firmware.sh [--board NAME] MODEL.charm [SHORT_LEN LONG_LEN]}"
short="${2:-200}"
long="${3:-1200}"
[ -f "$model" ] || { echo "measure-firmware: no such model: $model" >&2; exit 1; }
model="$(cd "$(dirname "$model")" && pwd)/$(basename "$model")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

size_tool="$(command -v llvm-size || ls /usr/lib/llvm-*/bin/llvm-size 2>/dev/null | tail -n 1 || true)"
[ -n "$size_tool" ] || { echo "measure-firmware: llvm-size not found (apt-get install llvm)" >&2; exit 1; }

cd "$root"
# board, core, rust_target, weights_address, params_address, qemu: from charm-boards' table.
eval "$(cargo run -q -p charm-tests --bin charm-board -- "$board")"
[ -n "$qemu" ] || { echo "measure-firmware: QEMU does not emulate board $board" >&2; exit 1; }

# Its own target directory, so that a measurement never races another build.
export CHARM_FIRMWARE_TARGET_DIR="${CHARM_FIRMWARE_TARGET_DIR:-$root/firmware/target/measure}"
"$root/scripts/build-firmware.sh" --board "$board" --features bench --out "$work/bench.elf"
"$root/scripts/build-firmware.sh" --board "$board" --examples --out "$work/firmware.elf"

run() {
    cargo run -q -p charm-tests --bin charm-params -- --len "$1" --out "$work/params-$1.bin"
    # shellcheck disable=SC2086 # $qemu is the program and its machine options
    timeout 1200 $qemu -nographic \
        -semihosting-config enable=on,target=native -icount shift=0 \
        -kernel "$work/bench.elf" \
        -device loader,file="$model",addr="$weights_address",force-raw=on \
        -device loader,file="$work/params-$1.bin",addr="$params_address",force-raw=on \
        2>"$work/bench-$1.txt" >"$work/uart-$1.txt"
    grep '^bench:' "$work/bench-$1.txt"
}
line_short="$(run "$short")"
line_long="$(run "$long")"
echo "$line_short"
echo "$line_long"

# bench: N chars in T ticks; calibration: C instructions in K ticks; peak stack S bytes
field() { sed -n "s/.*$2.*/\\1/p" <<<"$1"; }
t_short="$(field "$line_short" ' chars in \([0-9]*\) ticks')"
t_long="$(field "$line_long" ' chars in \([0-9]*\) ticks')"
cal_insns="$(field "$line_long" 'calibration: \([0-9]*\) instructions')"
cal_ticks="$(field "$line_long" 'instructions in \([0-9]*\) ticks')"
stack="$(field "$line_long" 'peak stack \([0-9]*\) bytes')"

# Berkeley text and data; bss is the .bss section alone (riscv-rt also marks
# the stack and heap area as NOBITS).
footprint() {
    local text data bss
    read -r text data _ < <("$size_tool" "$1" | sed -n 2p)
    bss="$("$size_tool" -A "$1" | awk '$1 == ".bss" { print $2 }')"
    echo "text $text, data+bss $((data + ${bss:-0}))"
}

echo
echo "board: $board ($core, $rust_target; $qemu)"
echo "model: $model ($(stat -c %s "$model") bytes)"
awk -v a="$t_short" -v b="$t_long" -v ci="$cal_insns" -v ct="$cal_ticks" -v n="$((long - short))" \
    'BEGIN { ipt = ci / ct; printf "instructions per tick: %.2f\ninstructions per character: %.0f\n", ipt, (b - a) * ipt / n }'
echo "peak stack: $stack bytes"
echo
echo "firmware without weights (text = flash; data + bss = static RAM, plus the stack):"
echo "  $(footprint "$work/firmware.elf")"
echo "charm-core's step alone (examples/step minus examples/empty):"
echo "  empty: $(footprint "$work/firmware-empty.elf")"
echo "  step:  $(footprint "$work/firmware-step.elf")"
