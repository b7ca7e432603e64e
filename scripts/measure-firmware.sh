#!/usr/bin/env bash
# Measures the firmware under QEMU: instructions per generated character,
# peak stack, and the flash/RAM footprint (firmware/README.md shows the figures).
#
#   scripts/measure-firmware.sh MODEL.charm [SHORT_LEN LONG_LEN]
#
# Method: the firmware built with feature `bench` counts SysTick ticks around
# priming and generation and reports them over semihosting (stderr). QEMU runs
# with `-icount shift=0`, so each instruction advances virtual time by 1 ns and
# a tick of the 25 MHz SysTick is 40 instructions; the firmware also times a
# loop of known length to check that factor. Two runs (default 200 and 1200
# characters, temperature 1, seed 1, no prime) are subtracted, so the constant
# cost of boot, validation and the CRC drops out:
#   instructions/char = (ticks_long - ticks_short) * (insns/tick) / (LONG - SHORT)
# Needs what ./scripts/test.sh installs (qemu-system-arm, a Cortex-M toolchain).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
model="${1:?usage: scripts/measure-firmware.sh MODEL.charm [SHORT_LEN LONG_LEN]}"
short="${2:-200}"
long="${3:-1200}"
[ -f "$model" ] || { echo "measure-firmware: no such model: $model" >&2; exit 1; }

target_dir="${CHARM_FIRMWARE_TARGET_DIR:-$root/firmware/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

size_tool="$(command -v llvm-size || ls /usr/lib/llvm-*/bin/llvm-size 2>/dev/null | tail -n 1 || true)"
[ -n "$size_tool" ] || { echo "measure-firmware: llvm-size not found (apt-get install llvm)" >&2; exit 1; }

"$root/scripts/build-firmware.sh" --features bench --out "$work/bench.elf"
"$root/scripts/build-firmware.sh" --examples --out "$work/firmware.elf"

cd "$root"
run() {
    cargo run -q -p charm-tests --bin charm-params -- --len "$1" --out "$work/params-$1.bin"
    timeout 600 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
        -semihosting-config enable=on,target=native -icount shift=0 \
        -kernel "$work/bench.elf" \
        -device loader,file="$model",addr=0x00100000,force-raw=on \
        -device loader,file="$work/params-$1.bin",addr=0x000FF000,force-raw=on \
        2>"$work/bench-$1.txt" >"$work/uart-$1.txt"
    grep '^bench:' "$work/bench-$1.txt"
}
line_short="$(run "$short")"
line_long="$(run "$long")"
echo "$line_short"
echo "$line_long"

# bench: N chars in T SysTick ticks; calibration: C instructions in K ticks; peak stack S bytes
field() { sed -n "s/.*$2.*/\\1/p" <<<"$1"; }
t_short="$(field "$line_short" ' chars in \([0-9]*\) SysTick')"
t_long="$(field "$line_long" ' chars in \([0-9]*\) SysTick')"
cal_insns="$(field "$line_long" 'calibration: \([0-9]*\) instructions')"
cal_ticks="$(field "$line_long" 'instructions in \([0-9]*\) ticks')"
stack="$(field "$line_long" 'peak stack \([0-9]*\) bytes')"

echo
echo "model: $model ($(stat -c %s "$model") bytes)"
awk -v a="$t_short" -v b="$t_long" -v ci="$cal_insns" -v ct="$cal_ticks" -v n="$((long - short))" \
    'BEGIN { ipt = ci / ct; printf "instructions per tick: %.2f\ninstructions per character: %.0f\n", ipt, (b - a) * ipt / n }'
echo "peak stack: $stack bytes"
echo
echo "firmware without weights (text = flash; data + bss = static RAM, plus the stack):"
"$size_tool" "$work/firmware.elf"
echo
echo "charm-core's step alone (examples/step minus examples/empty):"
"$size_tool" "$target_dir/thumbv7em-none-eabihf/release/examples/empty" \
    "$target_dir/thumbv7em-none-eabihf/release/examples/step"
