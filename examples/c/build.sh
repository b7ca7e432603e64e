#!/usr/bin/env bash
# Builds the C example for a board with Debian's arm-none-eabi-gcc, against
# libcharm.a (scripts/build-capi.sh), with a .charm model linked in.
#
#   examples/c/build.sh --board mps2-an386|microbit --model FILE.charm
#                       [--params FILE.h] [--lib libcharm.a] [--out FILE.elf]
#
#   --params  the sampling parameters (default examples/c/sample_params.h)
#   --lib     default target/capi/CORE/libcharm.a for the board's core
#   --out     default target/capi/example-BOARD.elf
#
# Run it: qemu-system-arm -M BOARD -nographic -semihosting-config
# enable=on,target=native -kernel FILE.elf
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
board=mps2-an386 model="" params="$here/sample_params.h" lib="" out=""
die() {
    echo "examples/c/build.sh: error: $*" >&2
    exit 1
}
while [ $# -gt 0 ]; do
    case "$1" in
    --board) board="${2:?}"; shift 2 ;;
    --model) model="${2:?}"; shift 2 ;;
    --params) params="${2:?}"; shift 2 ;;
    --lib) lib="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
case "$board" in
# Cortex-M4F: hard-float ABI, as thumbv7em-none-eabihf.
mps2-an386) core=cortex-m4f cpu=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16) ;;
# Cortex-M0: soft float, as thumbv6m-none-eabi.
microbit) core=cortex-m0 cpu=(-mcpu=cortex-m0 -mthumb -mfloat-abi=soft) ;;
*) die "unknown board '$board' (boards: mps2-an386, microbit)" ;;
esac
[ -n "$model" ] || die "--model FILE.charm is needed"
[ -f "$model" ] || die "--model $model: no such file"
[ -f "$params" ] || die "--params $params: no such file"
lib="${lib:-$root/target/capi/$core/libcharm.a}"
[ -f "$lib" ] || die "$lib does not exist: build it with scripts/build-capi.sh --core $core"
out="${out:-$root/target/capi/example-$board.elf}"
command -v arm-none-eabi-gcc >/dev/null 2>&1 ||
    die "arm-none-eabi-gcc not found: apt-get install gcc-arm-none-eabi"
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
model="$(abs "$model")" params="$(abs "$params")"

mkdir -p "$(dirname "$out")"
arm-none-eabi-gcc "${cpu[@]}" -std=c11 -Os -g -ffreestanding -nostdlib \
    -ffunction-sections -fdata-sections -Wall -Wextra -Werror \
    -I "$root/capi/include" -DCHARM_PARAMS="\"$params\"" -DCHARM_MODEL_FILE="\"$model\"" \
    -L "$here" -T "$here/$board.ld" -Wl,--gc-sections -Wl,-z,noexecstack \
    "$here/main.c" "$here/board.c" "$here/model.S" "$lib" \
    -o "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
