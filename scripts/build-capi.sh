#!/usr/bin/env bash
# Builds libcharm.a, charm's C API (crate charm-c, capi/), for each firmware
# core with whichever toolchain this machine has, and reports their sizes.
#
#   scripts/build-capi.sh [--core NAME]... [--variant one-layer|cells]... [--out DIR]
#
#   --core NAME     build for this core only (repeatable; default: all of them;
#                   --core list prints the table)
#   --variant NAME  build this library only (repeatable; default both):
#                   one-layer  DIR/NAME/libcharm.a: models of one tanh layer
#                              (format versions up to 4)
#                   cells      DIR/NAME/cells/libcharm.a: also models of GRU
#                              and LSTM cells and of several layers (format
#                              version 5; charm-c feature `cells`), for more
#                              flash, as the firmware's feature `cells`
#   --out DIR       where the libraries go (default target/capi), and
#                   DIR/include/charm.h (the same header for both)
#
# The cores: Rust target, code generation options (-C OPTION) and charm-c
# features of each. Every library has f32, int8 row pairs and int8 tiles;
# the cores without an FPU fixed int8 too (their fastest form; on a core with
# an FPU it is slower than row pairs and refused, as by the M4F firmware); the
# DSP instructions where the core has them, Helium on the Cortex-M55; the
# same bits everywhere. Profile `capi` (Cargo.toml): size first, charm-core
# at opt-level 3, panic=abort, LTO, no debug info.
#
# Toolchain ("route"), from $CHARM_TOOLCHAIN or detected, per target, as
# scripts/build-firmware.sh chooses it:
#   rustup  the rustup toolchain has the target: plain `cargo build`
#   debian  Debian's rustc-web, cargo-web, rust-web-src: core and
#           compiler_builtins (with its memcpy, memset: a C program without
#           a C library links them from libcharm.a) built from source,
#           -Zbuild-std=core -Zbuild-std-features=compiler-builtins-mem
# scripts/test.sh installs one of them; this script only detects.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"

# core_settings NAME: target, codegen (-C options, space-separated), features, opt_level
core_settings() {
    opt_level=""
    case "$1" in
    cortex-m0) target=thumbv6m-none-eabi codegen="" features="tiles,fixed" ;;
    cortex-m3) target=thumbv7m-none-eabi codegen="" features="tiles,fixed" ;;
    cortex-m4f) target=thumbv7em-none-eabihf codegen="" features="tiles,dsp" ;;
    cortex-m33) target=thumbv8m.main-none-eabihf codegen="target-cpu=cortex-m33" features="tiles,dsp" ;;
    # As the M55 firmware: Helium integers, no Helium floating point of LLVM's
    # own (it flushes subnormals), opt-level 3 throughout.
    cortex-m55) target=thumbv8m.main-none-eabihf codegen="target-cpu=cortex-m55 target-feature=-mve.fp" features="tiles,dsp,helium" opt_level=3 ;;
    riscv32imac) target=riscv32imac-unknown-none-elf codegen="" features="tiles,fixed" ;;
    *) return 1 ;;
    esac
}
CORES=(cortex-m0 cortex-m3 cortex-m4f cortex-m33 cortex-m55 riscv32imac)

die() {
    echo "build-capi: error: $*" >&2
    exit 1
}

cores=()
variants=()
out="$root/target/capi"
while [ $# -gt 0 ]; do
    case "$1" in
    --core) cores+=("${2:?--core needs a name}"); shift 2 ;;
    --variant) variants+=("${2:?--variant needs one-layer or cells}"); shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    -h | --help) sed -n '2,34p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
if [ "${cores[*]:-}" = list ]; then
    for c in "${CORES[@]}"; do
        core_settings "$c"
        printf '%-12s %-28s %-44s %s\n' "$c" "$target" "${codegen:+-C ${codegen// / -C }}" "$features"
    done
    exit 0
fi
[ "${#cores[@]}" = 0 ] && cores=("${CORES[@]}")
for c in "${cores[@]}"; do
    core_settings "$c" || die "unknown core '$c' (cores: ${CORES[*]})"
done
[ "${#variants[@]}" = 0 ] && variants=(one-layer cells)
for v in "${variants[@]}"; do
    case "$v" in one-layer | cells) ;; *) die "unknown variant '$v' (one-layer, cells)" ;; esac
done

rustup_route_works() {
    local sysroot
    command -v rustc >/dev/null 2>&1 || return 1
    sysroot="$(cd "$root" && rustc --print sysroot 2>/dev/null)" || return 1
    [ -d "$sysroot/lib/rustlib/$1/lib" ]
}
debian_route_works() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/src/rust/library/core ]
}

# Host settings must not leak into the cross builds.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET RUSTC_WRAPPER
strip_tool="$(command -v llvm-strip || ls /usr/lib/llvm-*/bin/llvm-strip 2>/dev/null | tail -n 1 || true)"
size_tool="$(command -v llvm-size || ls /usr/lib/llvm-*/bin/llvm-size 2>/dev/null | tail -n 1 || command -v arm-none-eabi-size || true)"

mkdir -p "$out/include"
cp "$root/capi/include/charm.h" "$out/include/charm.h.tmp"
mv "$out/include/charm.h.tmp" "$out/include/charm.h"

report=()
for c in "${cores[@]}"; do
for variant in "${variants[@]}"; do
    core_settings "$c"
    # The library's directory under DIR and its features.
    dir="$c"
    if [ "$variant" = cells ]; then
        dir="$c/cells" features="$features,cells"
    fi
    route="${CHARM_TOOLCHAIN:-}"
    if [ -z "$route" ]; then
        if rustup_route_works "$target"; then
            route=rustup
        elif debian_route_works; then
            route=debian
        else
            die "no toolchain for $target: neither 'rustup target add $target' has been done nor \
Debian's rustc-web cargo-web rust-web-src are installed (./scripts/test.sh installs one)"
        fi
    fi
    # One target directory per core and library, so that one's build does
    # not invalidate another's.
    target_dir="$root/target/capi-build/${dir//\//-}"
    flags=""
    [ -n "$codegen" ] && flags="-C ${codegen// / -C }"
    # The static library alone (the crate's rlib is for the host tests):
    # with one crate type, the profile's LTO makes charm-c and charm-core one
    # object.
    args=(rustc -p charm-c --crate-type staticlib --profile capi --target "$target"
        --no-default-features --features "$features")
    case "$route" in
    rustup)
        rustup_route_works "$target" || die "CHARM_TOOLCHAIN=rustup, but rustc has no $target target"
        cargo=(cargo)
        ;;
    debian)
        debian_route_works || die "CHARM_TOOLCHAIN=debian, but rustc-web, cargo-web or rust-web-src is missing"
        cargo=(env RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo)
        args+=(-Zbuild-std=core -Zbuild-std-features=compiler-builtins-mem)
        ;;
    *) die "CHARM_TOOLCHAIN must be 'rustup' or 'debian', not '$route'" ;;
    esac
    echo "build-capi: $c $variant ($target${codegen:+, $codegen}), route $route, features $features" >&2
    (
        cd "$root"
        export CARGO_TARGET_DIR="$target_dir" RUSTFLAGS="$flags"
        [ -n "$opt_level" ] && export CARGO_PROFILE_CAPI_OPT_LEVEL="$opt_level"
        "${cargo[@]}" "${args[@]}"
    )
    mkdir -p "$out/$dir"
    cp "$target_dir/$target/capi/libcharm.a" "$out/$dir/libcharm.a.tmp"
    # Without the debug information of the precompiled core library (most
    # of the archive's bytes); the code is the same.
    [ -n "$strip_tool" ] && "$strip_tool" --strip-debug "$out/$dir/libcharm.a.tmp"
    mv "$out/$dir/libcharm.a.tmp" "$out/$dir/libcharm.a"
    bytes="$(stat -c %s "$out/$dir/libcharm.a")"
    # The text of charm's own object (charm-c and charm-core after LTO); the
    # rest of the archive is core's and compiler_builtins' objects, of which
    # a link takes only what is called.
    charm_text="?"
    if [ -n "$size_tool" ]; then
        charm_text="$("$size_tool" "$out/$dir/libcharm.a" 2>/dev/null |
            awk '$6 ~ /^charm/ { t += $1 } END { print t + 0 }')"
    fi
    report+=("$(printf '%-12s %-9s %-28s %10s bytes   charm object text %7s bytes' "$c" "$variant" "$target" "$bytes" "$charm_text")")
    echo "build-capi: $out/$dir/libcharm.a" >&2
done
done

echo "libcharm.a per core (archive size; text of charm's object, before the linker keeps only what is called):"
printf '  %s\n' "${report[@]}"
