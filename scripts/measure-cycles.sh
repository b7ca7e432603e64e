#!/usr/bin/env bash
# Estimated cycles per generated character for one board under QEMU: QEMU's
# trace of the executed instructions (-d in_asm,exec,nochain) priced by the
# core's published instruction timings (charm-tests' cycle_model; the
# tables: `cargo run -q -p charm-tests --bin charm-cycles -- --tables`).
#
#   scripts/measure-cycles.sh [--board NAME] [--core CORE] [--features LIST] [--profile] MODEL.charm [SHORT_LEN LONG_LEN]
#
# --board is one of the QEMU machines' boards (default mps2-an386); --core
# prices the trace with another core's table (e.g. m0plus for the micro:bit's
# Thumb-1 code as the RP2040 would run it); --features builds the firmware
# with more cargo features (`cells` for models of GRU and LSTM cells and of
# several layers, format version 5). Two runs (default 2 and 12
# characters, temperature 1, seed 1, no prime) of the firmware as the tests
# build it; their difference divided by the difference in characters drops
# boot, validation and the CRC:
#   per character = (total_long - total_short) / (LONG - SHORT)
# The trace streams through a pipe (it is 100 MB and more for a software-f32
# core), so nothing large is written. --profile adds where the cycles of a
# character go: each function's estimated cycles and instructions per
# character (the same difference, function by function, by the ELF's
# symbols from llvm-nm), largest first. Needs what ./scripts/test.sh
# installs.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
board=mps2-an386
core=""
features=""
profile=0
while [ $# -gt 0 ]; do
    case "$1" in
    --profile) profile=1; shift ;;
    --board) board="${2:?--board needs a name}"; shift 2 ;;
    --core) core="${2:?--core needs a name}"; shift 2 ;;
    --features) features="${2:?--features needs a list}"; shift 2 ;;
    *) break ;;
    esac
done
model="${1:?usage: scripts/measure-cycles.sh [--board NAME] [--core CORE] [--features LIST] [--profile] MODEL.charm [SHORT_LEN LONG_LEN]}"
short="${2:-2}"
long="${3:-12}"
[ -f "$model" ] || { echo "measure-cycles: no such model: $model" >&2; exit 1; }
[ "$long" -gt "$short" ] || { echo "measure-cycles: LONG_LEN must be above SHORT_LEN" >&2; exit 1; }
model="$(cd "$(dirname "$model")" && pwd)/$(basename "$model")"

if [ -z "$core" ]; then
    case "$board" in
    microbit) core=m0 ;;
    mps2-an385) core=m3 ;;
    mps2-an386) core=m4 ;;
    mps2-an500) core=m7 ;;
    mps2-an505) core=m33 ;;
    mps3-an547) core=m55 ;;
    riscv32-virt | riscv32imc-virt) core=riscv32 ;;
    *) echo "measure-cycles: QEMU does not emulate board $board" >&2; exit 1 ;;
    esac
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
# board, core (its name), rust_target, weights_address, params_address, qemu: from charm-boards' table.
table_core="$core"
eval "$(cargo run -q -p charm-tests --bin charm-board -- "$board")"
[ -n "$qemu" ] || { echo "measure-cycles: QEMU does not emulate board $board" >&2; exit 1; }
cargo build -q --release -p charm-tests --bin charm-cycles --bin charm-params
bin="$root/target/release"

# A build of other features in a target directory of its own, so that the
# two builds do not undo each other's.
export CHARM_FIRMWARE_TARGET_DIR="${CHARM_FIRMWARE_TARGET_DIR:-$root/firmware/target/measure${features:+-${features//,/-}}}"
"$root/scripts/build-firmware.sh" --board "$board" ${features:+--features "$features"} --out "$work/firmware.elf"

symbols=()
if [ "$profile" = 1 ]; then
    nm_tool="$(command -v llvm-nm || ls /usr/lib/llvm-*/bin/llvm-nm 2>/dev/null | tail -n 1 || true)"
    [ -n "$nm_tool" ] || { echo "measure-cycles: --profile needs llvm-nm (apt-get install llvm)" >&2; exit 1; }
    "$nm_tool" -n -C "$work/firmware.elf" >"$work/nm.txt"
    symbols=(--symbols "$work/nm.txt")
fi

# totals LEN: "instructions cycles" of a run generating LEN characters
# (and, with --profile, its "function:" lines in $work/totals-LEN.txt).
totals() {
    "$bin/charm-params" --len "$1" --out "$work/params-$1.bin"
    # QEMU writes its log to fd 3, which is the pipe; the UART output is dropped.
    # shellcheck disable=SC2086 # $qemu is the program and its machine options
    timeout 3600 $qemu -nographic -semihosting-config enable=on,target=native \
        -icount shift=0 -kernel "$work/firmware.elf" \
        -device loader,file="$model",addr="$weights_address",force-raw=on \
        -device loader,file="$work/params-$1.bin",addr="$params_address",force-raw=on \
        -d in_asm,exec,nochain -D /dev/fd/3 3>&1 >/dev/null 2>"$work/stderr-$1.txt" |
        "$bin/charm-cycles" --core "$table_core" "${symbols[@]}" - >"$work/totals-$1.txt"
    echo "$(sed -n 's/^instructions: //p' "$work/totals-$1.txt") $(sed -n 's/^estimated cycles: //p' "$work/totals-$1.txt")"
}
read -r i_short c_short < <(totals "$short")
read -r i_long c_long < <(totals "$long")

echo "board: $board ($rust_target; $qemu), cycle table: $(sed -n 's/^core: //p' "$work/totals-$long.txt")"
echo "model: $model ($(stat -c %s "$model") bytes)"
awk -v is="$i_short" -v il="$i_long" -v cs="$c_short" -v cl="$c_long" -v n="$((long - short))" 'BEGIN {
    i = (il - is) / n; c = (cl - cs) / n
    printf "runs: %s and %s instructions, %s and %s estimated cycles\n", is, il, cs, cl
    printf "instructions per character: %.0f\nestimated cycles per character: %.0f\ncycles per instruction: %.3f\n", i, c, c / i
}'
if [ "$profile" = 1 ]; then
    echo "per character, by function (estimated cycles, instructions, share of the cycles):"
    # function: CYCLES INSTRUCTIONS NAME, of the short run then the long one
    awk -v n="$((long - short))" -v total="$(( (c_long - c_short) / (long - short) ))" '
        FNR == 1 { run++ }
        /^function: / {
            name = $4; for (i = 5; i <= NF; i++) name = name " " $i
            c[name] += (run == 1 ? -$2 : $2); ins[name] += (run == 1 ? -$3 : $3)
        }
        END {
            for (f in c) if (c[f] / n >= 0.5) printf "%12.0f %12.0f %6.1f%%  %s\n", c[f] / n, ins[f] / n, 100 * c[f] / n / total, f
        }' "$work/totals-$short.txt" "$work/totals-$long.txt" | sort -rn
fi
