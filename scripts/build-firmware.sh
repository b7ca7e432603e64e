#!/usr/bin/env bash
# Builds charm-firmware (firmware/) for one board with whichever toolchain this
# machine has, and copies the ELF to --out.
#
#   scripts/build-firmware.sh [--board NAME] [--out PATH] [--model FILE.charm]
#                             [--clippy] [--examples] [--features LIST]
#                             [--no-semihosting]
#
#   --board NAME   the board (default mps2-an386, QEMU's Cortex-M4F); the
#                  table below gives its Rust target and code generation
#                  options (-C target-cpu, -C target-feature), and
#                  firmware/Cargo.toml its features. --board list prints them.
#   --out PATH     where the ELF goes (default firmware/target/charm-firmware.elf
#                  for mps2-an386, firmware/target/charm-firmware-NAME.elf for
#                  the others: where the QEMU tests look for them)
#   --model FILE   link FILE into the image's WEIGHTS region (CHARM_MODEL)
#   --clippy       also run clippy on the firmware crates, warnings denied
#   --examples     also build the footprint probes firmware/examples/*.rs,
#                  copied beside the ELF as OUT-empty.elf and OUT-step.elf
#   --features LIST  more cargo features (e.g. bench)
#   --no-semihosting  leave out semihosting on a QEMU board (the real boards
#                  are built without it: they run with no debugger attached)
#
# Toolchain ("route"), from $CHARM_TOOLCHAIN or detected, per target:
#   rustup  the rustup toolchain has the target (rustup target add TARGET):
#           plain `cargo build`
#   debian  Debian's rustc-web, cargo-web, rust-web-src and lld-22:
#           RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build -Zbuild-std=core,
#           linked by rust-lld if there is one, else by lld-22 (ld.lld-22)
# scripts/test.sh installs one of them; this script only detects.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"

# The boards: Rust target and code generation options (-C OPTION; empty: the
# target's defaults) for each; whether QEMU emulates it (then semihosting is on
# by default). The same facts are in firmware/boards/src/lib.rs, and
# firmware/build.rs refuses a build that disagrees with them; a test there
# checks this table.
# opt_level: the firmware's opt-level where it is not firmware/Cargo.toml's
# "z" (size first, charm-core at 3): the M55, whose 508 KiB of ITCM leave
# room, keeps 3 everywhere (at "z" its int8 character costs 23% more).
board_settings() {
    opt_level=""
    case "$1" in
    microbit) target=thumbv6m-none-eabi codegen="" qemu=1 ;;
    mps2-an385) target=thumbv7m-none-eabi codegen="" qemu=1 ;;
    mps2-an386) target=thumbv7em-none-eabihf codegen="" qemu=1 ;;
    mps2-an500) target=thumbv7em-none-eabihf codegen="target-cpu=cortex-m7" qemu=1 ;;
    mps2-an505) target=thumbv8m.main-none-eabihf codegen="target-cpu=cortex-m33" qemu=1 ;;
    mps3-an547) target=thumbv8m.main-none-eabihf codegen="target-cpu=cortex-m55 target-feature=-mve.fp" qemu=1 opt_level=3 ;;
    riscv32-virt) target=riscv32imac-unknown-none-elf codegen="" qemu=1 ;;
    riscv32imc-virt) target=riscv32imc-unknown-none-elf codegen="" qemu=1 ;;
    nrf52840) target=thumbv7em-none-eabihf codegen="" qemu=0 ;;
    rp2040) target=thumbv6m-none-eabi codegen="" qemu=0 ;;
    rp2350) target=thumbv8m.main-none-eabihf codegen="target-cpu=cortex-m33" qemu=0 ;;
    esp32c3) target=riscv32imc-unknown-none-elf codegen="" qemu=0 ;;
    stm32f411) target=thumbv7em-none-eabihf codegen="" qemu=0 ;;
    *) return 1 ;;
    esac
}
BOARDS=(microbit mps2-an385 mps2-an386 mps2-an500 mps2-an505 mps3-an547 riscv32-virt riscv32imc-virt nrf52840 rp2040 rp2350 esp32c3 stm32f411)

board=mps2-an386
out=""
model=""
clippy=0
examples=0
semihosting=1
extra_features=""

die() {
    echo "build-firmware: error: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
    --board) board="${2:?--board needs a name}"; shift 2 ;;
    --out) out="${2:?--out needs a path}"; shift 2 ;;
    --model) model="${2:?--model needs a file}"; shift 2 ;;
    --clippy) clippy=1; shift ;;
    --examples) examples=1; shift ;;
    --features) extra_features="${extra_features:+$extra_features,}${2:?--features needs a list}"; shift 2 ;;
    --no-semihosting) semihosting=0; shift ;;
    -h | --help) sed -n '2,29p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done

if [ "$board" = list ]; then
    for b in "${BOARDS[@]}"; do
        board_settings "$b"
        printf '%-14s %-30s %s\n' "$b" "$target" "${codegen:+-C ${codegen// / -C }}"
    done
    exit 0
fi
board_settings "$board" || die "unknown board '$board' (boards: ${BOARDS[*]})"

# True if the rustup-managed (or first on PATH) rustc has the target's core.
rustup_route_works() {
    command -v rustc >/dev/null 2>&1 || return 1
    local sysroot
    sysroot="$(cd "$root" && rustc --print sysroot 2>/dev/null)" || return 1
    [ -d "$sysroot/lib/rustlib/$target/lib" ]
}

# The linker for the Debian route: the targets' default, rust-lld, where some
# package provides it, else Debian's lld-22 as ld.lld-22 (the same linker).
debian_linker() {
    local l
    for l in rust-lld ld.lld-22 ld.lld; do
        command -v "$l" >/dev/null 2>&1 && { echo "$l"; return 0; }
    done
    return 1
}

# True if Debian's toolchain for building core from source is installed.
debian_route_works() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] &&
        [ -d /usr/lib/rustlib/src/rust/library/core ] && debian_linker >/dev/null
}

route="${CHARM_TOOLCHAIN:-}"
if [ -z "$route" ]; then
    if rustup_route_works; then
        route=rustup
    elif debian_route_works; then
        route=debian
    else
        die "no toolchain for $target: neither 'rustup target add $target' has been done nor \
Debian's rustc-web cargo-web rust-web-src lld-22 are installed (./scripts/test.sh installs one)"
    fi
fi
case "$route" in
rustup) rustup_route_works || die "CHARM_TOOLCHAIN=rustup, but rustc has no $target target (rustup target add $target)" ;;
debian) debian_route_works || die "CHARM_TOOLCHAIN=debian, but rustc-web, cargo-web, rust-web-src or lld-22 is missing" ;;
*) die "CHARM_TOOLCHAIN must be 'rustup' or 'debian', not '$route'" ;;
esac

if [ -z "$out" ]; then
    if [ "$board" = mps2-an386 ]; then
        out="$root/firmware/target/charm-firmware.elf"
    else
        out="$root/firmware/target/charm-firmware-$board.elf"
    fi
fi
# Relative paths are relative to where the script was called from (it cds later).
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
if [ -n "$model" ]; then
    [ -f "$model" ] || die "--model $model: no such file"
    model="$(cd "$(dirname "$model")" && pwd)/$(basename "$model")"
fi

features="board-$board"
[ "$semihosting" = 1 ] && [ "$qemu" = 1 ] && features="$features,semihosting"
[ -n "$extra_features" ] && features="$features,$extra_features"

# Host settings must not leak into the firmware build; the board's code
# generation options are all the firmware needs (build.rs adds the linker
# scripts).
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET RUSTC_WRAPPER
# One target directory per set of options, so that building for one board does
# not invalidate the build for another (the boards of one target share theirs).
target_dir="${CHARM_FIRMWARE_TARGET_DIR:-$root/firmware/target}"
# The panic messages in the image name charm-core's source files, which rustc
# writes as absolute paths (core is a path dependency outside firmware/):
# remapped to charm/core/…, so that the image, and its size, do not depend on
# where the checkout is. (Encoded flags: the path may hold spaces.)
rustflags=("--remap-path-prefix=$root=charm")
if [ -n "$codegen" ]; then
    for option in $codegen; do
        rustflags+=(-C "$option")
    done
    target_dir="$target_dir/${codegen// /,}"
fi
CARGO_ENCODED_RUSTFLAGS="$(IFS=$'\x1f' && printf '%s' "${rustflags[*]}")"
export CARGO_ENCODED_RUSTFLAGS
export CARGO_TARGET_DIR="$target_dir"
if [ -n "$opt_level" ]; then
    export CARGO_PROFILE_RELEASE_OPT_LEVEL="$opt_level"
fi
export CHARM_MODEL="$model"

cd "$root/firmware"
cargo_args=(--release --target "$target" --no-default-features --features "$features")
if [ "$route" = rustup ]; then
    cargo=(cargo)
else
    # Debian's cargo, rustc and cargo-clippy first, core built from source.
    linker="$(debian_linker)"
    export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
    linker_var="CARGO_TARGET_$(tr 'a-z.-' 'A-Z__' <<<"$target")_LINKER"
    export "$linker_var=$linker"
    cargo=(/usr/bin/cargo)
    cargo_args+=(-Zbuild-std=core)
fi

echo "build-firmware: board $board ($target${codegen:+, $codegen}), route $route${linker:+ (linker $linker)}, features $features${model:+, model $model linked in}" >&2
build_targets=(--bins)
[ "$examples" = 1 ] && build_targets+=(--examples)
"${cargo[@]}" build "${cargo_args[@]}" "${build_targets[@]}"
if [ "$clippy" = 1 ]; then
    # The firmware alone: charm-params and charm-boards are linted in the root workspace.
    "${cargo[@]}" clippy "${cargo_args[@]}" --workspace --bins --examples -- -D warnings
fi
mkdir -p "$(dirname "$out")"
release="$CARGO_TARGET_DIR/$target/release"
cp "$release/charm-firmware" "$out.tmp"
mv "$out.tmp" "$out"
if [ "$examples" = 1 ]; then
    for e in empty step; do
        cp "$release/examples/$e" "${out%.elf}-$e.elf"
    done
fi
echo "build-firmware: $out" >&2
