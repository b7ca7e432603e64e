#!/usr/bin/env bash
# The project's test command: ./scripts/test.sh
#
# Idempotent. On a fresh Debian machine with rustup (as root) it first installs
# what is missing:
#   - qemu-system-arm (apt-get);
#   - a Cortex-M toolchain: `rustup target add thumbv7em-none-eabihf
#     thumbv6m-none-eabi` where that works, otherwise Debian's rustc-web,
#     cargo-web, rust-web-src, rust-web-clippy and lld-22, which build `core`
#     from source (-Zbuild-std=core). CHARM_TOOLCHAIN=rustup|debian forces one.
# A tool still missing after that is a clear error and a non-zero exit, never a
# skipped test.
#
# Then it runs, and reports in a summary at the end:
#   cargo fmt --check (workspace and firmware), clippy -D warnings (workspace,
#   firmware for thumbv7em, the params and boards crates on the host), the firmware build
#   (QEMU image, and the nRF52840 image as a compile check), charm-core for
#   thumbv7em-none-eabihf and thumbv6m-none-eabi, and every test:
#   cargo test --workspace --no-fail-fast (the QEMU tests of charm-tests
#   included), the trainer's tests again with CHARM_PORTABLE_KERNELS=1 (the
#   portable kernels, as on a CPU without AVX2/FMA), and the params and
#   boards crates' tests. The summary names every failed test.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

THUMB_TARGETS=(thumbv7em-none-eabihf thumbv6m-none-eabi)
DEBIAN_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-clippy lld-22)
LOG_DIR="$root/target/test-logs"
mkdir -p "$LOG_DIR"

say() { printf '\n==> %s\n' "$*"; }
die() {
    printf '\ntest.sh: error: %s\n' "$*" >&2
    exit 1
}

# ------------------------------------------------------------------ install

apt_updated=0
# apt_install PACKAGE...: installs them without the recommended extras (a
# GUI stack for QEMU) and says what apt installs. A package the installation
# would remove (a newer qemu-utils conflicts with Debian's QEMU 7.2) is put
# back in Debian's version, so that its commands (qemu-img) stay; where apt
# cannot do that, the script says what it removed.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
    if [ "$apt_updated" = 0 ]; then
        say "apt-get update"
        apt-get update -q || die "apt-get update failed (needed to install $*)"
        apt_updated=1
    fi
    local plan removed p candidate extra=()
    local flags=(-y --no-install-recommends --allow-downgrades)
    plan="$(apt-get -s install "${flags[@]}" "$@" 2>&1)" ||
        die "apt-get cannot install $*: $(printf '%s\n' "$plan" | tail -n 3)"
    removed="$(printf '%s\n' "$plan" | sed -n 's/^Remv \([^ ]*\).*/\1/p' | tr '\n' ' ')"
    for p in $removed; do
        candidate="$(apt-cache policy "$p" | sed -n 's/^ *Candidate: //p')"
        [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && extra+=("$p=$candidate")
    done
    if [ -n "$removed" ]; then
        if [ "${#extra[@]}" -gt 0 ] && plan="$(apt-get -s install "${flags[@]}" "$@" "${extra[@]}" 2>&1)"; then
            echo "test.sh: $* conflicts with the installed $removed; installing Debian's ${extra[*]} in its place"
        else
            echo "test.sh: installing $* removes $removed, which conflicts with it"
            extra=()
            plan="$(apt-get -s install "${flags[@]}" "$@" 2>&1)"
        fi
    fi
    say "apt-get install --no-install-recommends $* ${extra[*]}"
    echo "test.sh: apt installs: $(printf '%s\n' "$plan" | sed -n 's/^Inst \([^ ]*\).*/\1/p' | tr '\n' ' ')"
    DEBIAN_FRONTEND=noninteractive apt-get install -q "${flags[@]}" "$@" "${extra[@]}" ||
        die "apt-get install $* ${extra[*]} failed"
}

command -v cargo >/dev/null 2>&1 || die "cargo not found: this script needs Rust stable via rustup (https://rustup.rs)"
command -v rustup >/dev/null 2>&1 || die "rustup not found: this script needs Rust stable via rustup"

# Host components.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    say "rustup component add rustfmt clippy"
    rustup component add rustfmt clippy || true
fi
cargo fmt --version >/dev/null 2>&1 || die "rustfmt is missing and 'rustup component add rustfmt' failed"
cargo clippy --version >/dev/null 2>&1 || die "clippy is missing and 'rustup component add clippy' failed"

# QEMU.
command -v qemu-system-arm >/dev/null 2>&1 || apt_install qemu-system-arm
command -v qemu-system-arm >/dev/null 2>&1 || die "qemu-system-arm is still missing after apt-get install qemu-system-arm"

# Cortex-M toolchain: which route works here?
sysroot="$(rustc --print sysroot)"
rustup_has_targets() {
    local t
    for t in "${THUMB_TARGETS[@]}"; do
        [ -d "$sysroot/lib/rustlib/$t/lib" ] || return 1
    done
}
debian_has_toolchain() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -x /usr/bin/cargo-clippy ] &&
        [ -d /usr/lib/rustlib/src/rust/library/core ] && command -v rust-lld >/dev/null 2>&1
}

route="${CHARM_TOOLCHAIN:-}"
case "$route" in
"" | rustup | debian) ;;
*) die "CHARM_TOOLCHAIN must be 'rustup' or 'debian', not '$route'" ;;
esac
if [ "$route" != debian ]; then
    if ! rustup_has_targets; then
        say "rustup target add ${THUMB_TARGETS[*]}"
        # Fails (quickly or after rustup's retries) where the rustup servers are unreachable.
        timeout 300 rustup target add "${THUMB_TARGETS[@]}" ||
            echo "test.sh: rustup target add failed; falling back to Debian's toolchain"
    fi
    if rustup_has_targets; then
        route=rustup
    elif [ "$route" = rustup ]; then
        die "CHARM_TOOLCHAIN=rustup, but 'rustup target add ${THUMB_TARGETS[*]}' did not work"
    fi
fi
if [ "$route" != rustup ]; then
    route=debian
    debian_has_toolchain || apt_install "${DEBIAN_PACKAGES[@]}"
    debian_has_toolchain ||
        die "no Cortex-M toolchain: rustup cannot add ${THUMB_TARGETS[*]} and Debian's ${DEBIAN_PACKAGES[*]} are incomplete after apt-get install"
fi
export CHARM_TOOLCHAIN="$route"
say "Cortex-M toolchain: $route ($([ "$route" = rustup ] && rustc --version || /usr/bin/rustc --version))"

# ------------------------------------------------------------------ steps

names=()
results=()
seconds=()
failed=0

# step NAME COMMAND...: runs, logs to target/test-logs/NAME.log, records.
step() {
    local name="$1" start status
    shift
    say "$name: $*"
    start=$(date +%s)
    "$@" 2>&1 | tee "$LOG_DIR/$name.log"
    status=${PIPESTATUS[0]}
    names+=("$name")
    seconds+=($(($(date +%s) - start)))
    if [ "$status" = 0 ]; then
        results+=(ok)
    else
        results+=("FAILED ($status)")
        failed=$((failed + 1))
    fi
}

# charm-core for a bare-metal target, by the route chosen above.
core_for() {
    if [ "$route" = rustup ]; then
        cargo build -p charm-core --release --target "$1"
    else
        CARGO_TARGET_DIR="$root/target/debian" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
            /usr/bin/cargo build -p charm-core --release --target "$1" -Zbuild-std=core
    fi
}

# The `charm` CLI the QEMU tests compare against: test profile (optimized),
# its own executable path (not target/debug/charm, which other builds replace).
charm_bin=""
build_charm() {
    local json
    json="$(cargo build --profile test -p charm-trainer --bin charm --message-format=json-render-diagnostics)" || return 1
    charm_bin="$(printf '%s\n' "$json" | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)"
    [ -x "$charm_bin" ] || { echo "no charm executable in cargo's output"; return 1; }
    echo "charm CLI: $charm_bin"
}

step fmt cargo fmt --all --check
step fmt-firmware bash -c 'cd firmware && cargo fmt --check -p charm-firmware -p charm-params -p charm-boards'
step clippy cargo clippy --workspace --all-targets -- -D warnings
step clippy-params cargo clippy --manifest-path firmware/params/Cargo.toml --all-targets --features std -- -D warnings
step clippy-boards cargo clippy --manifest-path firmware/boards/Cargo.toml --all-targets -- -D warnings
step firmware scripts/build-firmware.sh --clippy
step firmware-nrf52840 scripts/build-firmware.sh --clippy --no-default-features --features board-nrf52840 \
    --out firmware/target/charm-firmware-nrf52840.elf
step core-thumbv7em core_for thumbv7em-none-eabihf
step core-thumbv6m core_for thumbv6m-none-eabi
step charm-cli build_charm

export CHARM_FIRMWARE_ELF="$root/firmware/target/charm-firmware.elf"
[ -n "$charm_bin" ] && export CHARM_BIN="$charm_bin"
step test cargo test --workspace --no-fail-fast
# The trainer once more on its portable kernels, as on a CPU without AVX2/FMA.
step test-portable env CHARM_PORTABLE_KERNELS=1 cargo test -p charm-trainer --no-fail-fast
step test-params cargo test --manifest-path firmware/params/Cargo.toml --features std --no-fail-fast
step test-boards cargo test --manifest-path firmware/boards/Cargo.toml --no-fail-fast

# ------------------------------------------------------------------ summary

say "summary (toolchain route: $route; logs in target/test-logs/)"
for i in "${!names[@]}"; do
    printf '  %-20s %-12s %5ss\n' "${names[$i]}" "${results[$i]}" "${seconds[$i]}"
done

size_tool="$(command -v llvm-size || ls /usr/lib/llvm-*/bin/llvm-size 2>/dev/null | tail -n 1 || true)"
if [ -n "$size_tool" ] && [ -f "$CHARM_FIRMWARE_ELF" ]; then
    echo "  firmware footprint without weights (text = flash, data+bss = RAM):"
    "$size_tool" "$CHARM_FIRMWARE_ELF" | sed 's/^/    /'
fi

passed_tests=0
failed_tests=0
failed_names=()
for log in "$LOG_DIR/test.log" "$LOG_DIR/test-portable.log" "$LOG_DIR/test-params.log" "$LOG_DIR/test-boards.log"; do
    [ -f "$log" ] || continue
    while read -r p f; do
        passed_tests=$((passed_tests + p))
        failed_tests=$((failed_tests + f))
    done < <(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log")
    while read -r name; do
        failed_names+=("$name ($(basename "$log" .log))")
    done < <(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log")
done
echo "tests: $passed_tests passed, $failed_tests failed"
for name in "${failed_names[@]}"; do
    echo "  FAILED: $name"
done

if [ "$failed" != 0 ]; then
    echo "test.sh: $failed step(s) failed" >&2
    exit 1
fi
echo "test.sh: all steps passed"
