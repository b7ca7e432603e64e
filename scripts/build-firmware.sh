#!/usr/bin/env bash
# Builds charm-firmware (firmware/, thumbv7em-none-eabihf) with whichever
# Cortex-M toolchain this machine has, and copies the ELF to --out.
#
#   scripts/build-firmware.sh [--out PATH] [--model FILE.charm] [--clippy]
#                             [--examples] [--no-default-features] [--features LIST]
#
#   --out PATH     where the ELF goes (default firmware/target/charm-firmware.elf,
#                  where the QEMU tests look for it)
#   --model FILE   link FILE into the image's WEIGHTS region (CHARM_MODEL)
#   --clippy       also run clippy on the firmware crates, warnings denied
#   --examples     also build the footprint probes firmware/examples/*.rs (into
#                  $CARGO_TARGET_DIR/thumbv7em-none-eabihf/release/examples/)
#   --no-default-features, --features LIST   passed to cargo (e.g. for
#                  --no-default-features --features board-nrf52840)
#
# Toolchain ("route"), from $CHARM_TOOLCHAIN or detected:
#   rustup  the rustup toolchain has the thumbv7em-none-eabihf target
#           (rustup target add thumbv7em-none-eabihf): plain `cargo build`
#   debian  Debian's rustc-web, cargo-web, rust-web-src and lld:
#           RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build -Zbuild-std=core
# scripts/test.sh installs one of them; this script only detects.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target=thumbv7em-none-eabihf
out="$root/firmware/target/charm-firmware.elf"
model=""
clippy=0
build_targets=(--bins)
cargo_args=()

die() {
    echo "build-firmware: error: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
    --out) out="${2:?--out needs a path}"; shift 2 ;;
    --model) model="${2:?--model needs a file}"; shift 2 ;;
    --clippy) clippy=1; shift ;;
    --examples) build_targets+=(--examples); shift ;;
    --no-default-features) cargo_args+=("$1"); shift ;;
    --features) cargo_args+=("$1" "${2:?--features needs a list}"); shift 2 ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done

# True if the rustup-managed (or first on PATH) rustc has the target's core.
rustup_route_works() {
    command -v rustc >/dev/null 2>&1 || return 1
    local sysroot
    sysroot="$(cd "$root" && rustc --print sysroot 2>/dev/null)" || return 1
    [ -d "$sysroot/lib/rustlib/$target/lib" ]
}

# True if Debian's toolchain for building core from source is installed.
debian_route_works() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] &&
        [ -d /usr/lib/rustlib/src/rust/library/core ] &&
        command -v rust-lld >/dev/null 2>&1
}

route="${CHARM_TOOLCHAIN:-}"
if [ -z "$route" ]; then
    if rustup_route_works; then
        route=rustup
    elif debian_route_works; then
        route=debian
    else
        die "no Cortex-M toolchain: neither 'rustup target add $target' has been done nor \
Debian's rustc-web cargo-web rust-web-src lld-22 are installed (./scripts/test.sh installs one)"
    fi
fi
case "$route" in
rustup) rustup_route_works || die "CHARM_TOOLCHAIN=rustup, but rustc has no $target target (rustup target add $target)" ;;
debian) debian_route_works || die "CHARM_TOOLCHAIN=debian, but rustc-web, cargo-web, rust-web-src or lld-22 is missing" ;;
*) die "CHARM_TOOLCHAIN must be 'rustup' or 'debian', not '$route'" ;;
esac

# Relative paths are relative to where the script was called from (it cds later).
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
if [ -n "$model" ]; then
    [ -f "$model" ] || die "--model $model: no such file"
    model="$(cd "$(dirname "$model")" && pwd)/$(basename "$model")"
fi

# Host settings must not leak into the firmware build (RUSTFLAGS would replace
# the linker script flag of firmware/.cargo/config.toml).
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET RUSTC_WRAPPER
export CARGO_TARGET_DIR="${CHARM_FIRMWARE_TARGET_DIR:-$root/firmware/target}"
export CHARM_MODEL="$model"

cd "$root/firmware"
if [ "$route" = rustup ]; then
    cargo=(cargo)
else
    # Debian's cargo, rustc and cargo-clippy first, core built from source.
    export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
    cargo=(/usr/bin/cargo)
    cargo_args+=(-Zbuild-std=core)
fi

echo "build-firmware: route $route${model:+, model $model linked in}" >&2
"${cargo[@]}" build --release --target "$target" "${build_targets[@]}" ${cargo_args[@]+"${cargo_args[@]}"}
if [ "$clippy" = 1 ]; then
    "${cargo[@]}" clippy --release --target "$target" --workspace --lib --bins --examples ${cargo_args[@]+"${cargo_args[@]}"} -- -D warnings
fi
mkdir -p "$(dirname "$out")"
cp "$CARGO_TARGET_DIR/$target/release/charm-firmware" "$out.tmp"
mv "$out.tmp" "$out"
echo "build-firmware: $out" >&2
