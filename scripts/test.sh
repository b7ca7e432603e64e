#!/usr/bin/env bash
# The project's test command: ./scripts/test.sh
#
# Idempotent. On a fresh Debian machine with rustup (as root) it first installs
# what is missing:
#   - QEMU: qemu-system-arm and qemu-system-misc (for qemu-system-riscv32), by apt-get;
#   - llvm-size (Debian's llvm), for the firmware's flash footprint check;
#   - gcc-arm-none-eabi, by apt-get, for the C API's example (examples/c);
#   - the firmware targets thumbv6m-none-eabi, thumbv7m-none-eabi,
#     thumbv7em-none-eabihf, thumbv8m.main-none-eabihf,
#     riscv32imac-unknown-none-elf and riscv32imc-unknown-none-elf: each by `rustup target add` where that
#     works, otherwise by Debian's rustc-web, cargo-web, rust-web-src,
#     rust-web-clippy and lld-22, which build `core` from source
#     (-Zbuild-std=core). CHARM_TOOLCHAIN=rustup|debian forces one route for all.
# A tool still missing after that is a clear error and a non-zero exit, never a
# skipped test.
#
# Then it runs, and reports in a summary at the end:
#   a check that no tracked file names a path outside the repository,
#   cargo fmt --check (workspace and firmware), clippy -D warnings (workspace,
#   the params and boards crates on the host, and the firmware for every
#   board), cargo doc with warnings denied, the firmware for every board (the
#   eight QEMU machines, and the nRF52840, Raspberry Pi Pico, Raspberry Pi
#   Pico 2, ESP32-C3 and STM32F411 as compile checks), charm-core for every firmware target, charm-core's
#   embedding example for the M4F, the firmware's flash footprint against each
#   board's FLASH region and the Cortex-M4F's 16 KiB budget, and every test: cargo test --workspace
#   --no-fail-fast without the QEMU tests, then the QEMU tests of charm-tests
#   (one set on each of eight machines and the embedding example, timed on
#   their own), the trainer's tests again with CHARM_PORTABLE_KERNELS=1 (the
#   portable kernels, as on a CPU without AVX2/FMA), the params and boards
#   crates' tests, and a check that the cycle tables pasted in
#   docs/performance.md are what the code prints. The summary names every
#   failed test and counts the QEMU tests per machine (docs/testing.md).
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

FIRMWARE_TARGETS=(thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf thumbv8m.main-none-eabihf riscv32imac-unknown-none-elf riscv32imc-unknown-none-elf)
# The boards: the QEMU machines the tests run on, then the real boards (compile checks).
QEMU_BOARDS=(microbit mps2-an385 mps2-an386 mps2-an500 mps2-an505 mps3-an547 riscv32-virt riscv32imc-virt)
REAL_BOARDS=(nrf52840 rp2040 rp2350 esp32c3 stm32f411)
DEBIAN_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-clippy lld-22)
LOG_DIR="$root/target/test-logs"
mkdir -p "$LOG_DIR"
# A run from scratch has no use for cargo's incremental caches, which were a
# fifth of the disk it took. With them off, the profiles' debug info cut
# (Cargo.toml, firmware/Cargo.toml) and the C API's build folders removed
# (below), a run from a fresh clone peaks at about 2.2 GB (its folder's
# `du -sm` every 10 s), where it took 5.6 GB.
export CARGO_INCREMENTAL=0
# free_mb: the space left on the repository's disk, in MB (the summary says it
# at the start and the end, so a run that fills the disk says so).
free_mb() { df -Pk "$root" | awk 'NR == 2 { print int($4 / 1024) }'; }
free_at_start="$(free_mb)"

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
command -v qemu-system-riscv32 >/dev/null 2>&1 || apt_install qemu-system-misc
command -v qemu-system-riscv32 >/dev/null 2>&1 || die "qemu-system-riscv32 is still missing after apt-get install qemu-system-misc"

# llvm-size, for the flash footprint of the firmware.
find_size_tool() { command -v llvm-size || ls /usr/lib/llvm-*/bin/llvm-size 2>/dev/null | tail -n 1; }
size_tool="$(find_size_tool || true)"
[ -n "$size_tool" ] || apt_install llvm
size_tool="$(find_size_tool || true)"
[ -n "$size_tool" ] || die "llvm-size is still missing after apt-get install llvm"
# The C API's example (examples/c) is built by Debian's arm-none-eabi-gcc.
command -v arm-none-eabi-gcc >/dev/null 2>&1 || apt_install gcc-arm-none-eabi
command -v arm-none-eabi-gcc >/dev/null 2>&1 || die "arm-none-eabi-gcc is still missing after apt-get install gcc-arm-none-eabi"

# Firmware toolchain: which route works here, target by target?
sysroot="$(rustc --print sysroot)"
rustup_has() { [ -d "$sysroot/lib/rustlib/$1/lib" ]; }
# Debian's rustc, cargo, clippy, the sources of core, and a linker: rust-lld,
# or lld-22's ld.lld-22 (build-firmware.sh takes whichever there is).
debian_has_toolchain() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -x /usr/bin/cargo-clippy ] &&
        [ -d /usr/lib/rustlib/src/rust/library/core ] &&
        { command -v rust-lld || command -v ld.lld-22 || command -v ld.lld; } >/dev/null 2>&1
}

forced="${CHARM_TOOLCHAIN:-}"
case "$forced" in
"" | rustup | debian) ;;
*) die "CHARM_TOOLCHAIN must be 'rustup' or 'debian', not '$forced'" ;;
esac
declare -A route_of
if [ "$forced" != debian ]; then
    for t in "${FIRMWARE_TARGETS[@]}"; do
        rustup_has "$t" && continue
        say "rustup target add $t"
        # Fails (quickly or after rustup's retries) where the servers do not have it today.
        timeout 300 rustup target add "$t" ||
            echo "test.sh: rustup target add $t failed; $t falls back to Debian's toolchain"
    done
fi
for t in "${FIRMWARE_TARGETS[@]}"; do
    if [ "$forced" != debian ] && rustup_has "$t"; then
        route_of[$t]=rustup
    elif [ "$forced" = rustup ]; then
        die "CHARM_TOOLCHAIN=rustup, but 'rustup target add $t' did not work"
    else
        route_of[$t]=debian
    fi
done
if [[ " ${route_of[*]} " == *" debian "* ]]; then
    debian_has_toolchain || apt_install "${DEBIAN_PACKAGES[@]}"
    debian_has_toolchain ||
        die "no toolchain for some firmware targets: rustup cannot add them and Debian's ${DEBIAN_PACKAGES[*]} are incomplete after apt-get install"
fi
# build-firmware.sh picks the same route for each target by itself; a forced
# route is passed on.
if [ -n "$forced" ]; then
    export CHARM_TOOLCHAIN="$forced"
fi
routes=""
for t in "${FIRMWARE_TARGETS[@]}"; do
    routes="$routes $t:${route_of[$t]}"
done
say "firmware toolchain routes:$routes"
[ -x /usr/bin/rustc ] && echo "Debian: $(/usr/bin/rustc --version)"
echo "rustup: $(rustc --version)"

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

# The flash budget of the firmware without weights: text (code and read-only
# data) on the Cortex-M4F boards, whose firmware must stay within 16 KiB.
M4F_BOARDS=(mps2-an386 nrf52840 stm32f411)
M4F_TEXT_BUDGET=$((16 * 1024))

# The firmware ELF test.sh builds for a board (the M4F's is the default one).
firmware_elf() {
    if [ "$1" = mps2-an386 ]; then
        echo "$root/firmware/target/charm-firmware.elf"
    else
        echo "$root/firmware/target/charm-firmware-$1.elf"
    fi
}

# Bytes of the FLASH region in a board's memory.x (LENGTH = 124K - 0x100 and the like).
flash_region_bytes() {
    local length
    length="$(sed -n 's/^ *FLASH *: *ORIGIN *= *[0-9a-fA-Fx]* *, *LENGTH *= *\([^ ].*[^ ]\) *$/\1/p' \
        "$root/firmware/boards/$1/memory.x")"
    [ -n "$length" ] || return 1
    length="$(printf '%s' "$length" | sed 's/\([0-9][0-9]*\)K/(\1*1024)/g; s/\([0-9][0-9]*\)M/(\1*1048576)/g')"
    echo $((length))
}

# The firmware's footprint without weights, board by board: text + data (both
# sit in flash) must fit the board's FLASH region, and on the Cortex-M4F
# boards text must stay within M4F_TEXT_BUDGET; data + bss is static RAM.
footprint() {
    local board elf text data bss flash status=0 note
    echo "firmware footprint without weights, bytes (text = flash; data + bss = static RAM, plus the stack):"
    for board in "${QEMU_BOARDS[@]}" "${REAL_BOARDS[@]}"; do
        elf="$(firmware_elf "$board")"
        if [ ! -f "$elf" ]; then
            echo "  $board: no firmware at $elf"
            status=1
            continue
        fi
        # Berkeley text and data; bss is the .bss section alone (riscv-rt
        # also marks the stack and heap area as NOBITS).
        read -r text data _ < <("$size_tool" "$elf" | sed -n 2p)
        bss="$("$size_tool" -A "$elf" | awk '$1 == ".bss" { print $2 }')"
        flash="$(flash_region_bytes "$board")" || {
            echo "  $board: no FLASH region in firmware/boards/$board/memory.x"
            status=1
            continue
        }
        note="FLASH region $flash"
        if [ $((text + data)) -gt "$flash" ]; then
            note="$note: OVER by $((text + data - flash))"
            status=1
        fi
        if [[ " ${M4F_BOARDS[*]} " == *" $board "* ]]; then
            note="$note; M4F text budget $M4F_TEXT_BUDGET"
            if [ "$text" -gt "$M4F_TEXT_BUDGET" ]; then
                note="$note: OVER by $((text - M4F_TEXT_BUDGET))"
                status=1
            else
                note="$note, $((M4F_TEXT_BUDGET - text)) to spare"
            fi
        fi
        printf '  %-14s text %6s   data+bss %6s   (%s)\n' "$board" "$text" "$((data + ${bss:-0}))" "$note"
    done
    return "$status"
}

# charm-core for a bare-metal target, by the route chosen above for it.
core_for() {
    if [ "${route_of[$1]}" = rustup ]; then
        cargo build -p charm-core --release --target "$1"
    else
        CARGO_TARGET_DIR="$root/target/debian" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
            /usr/bin/cargo build -p charm-core --release --target "$1" -Zbuild-std=core
    fi
}

# charm-core's embedding example (core/examples/embed.rs) for the Cortex-M4F:
# the model linked in with include_bytes!, cortex-m-rt, semihosting output.
# The QEMU test qemu_m4_embedding_example_* runs it.
embed_example() {
    local t=thumbv7em-none-eabihf out="$root/target/charm-embed-example.elf"
    local flags=(-C link-arg=-Tlink.x -L "native=$root/core/examples/embed")
    if [ "${route_of[$t]}" = rustup ]; then
        cargo rustc -p charm-core --example embed --release --target "$t" -- "${flags[@]}" &&
            cp "$root/target/$t/release/examples/embed" "$out"
    else
        local linker
        linker="$(command -v rust-lld || command -v ld.lld-22 || command -v ld.lld)" || {
            echo "no rust-lld or ld.lld-22 for the Debian route"
            return 1
        }
        CARGO_TARGET_DIR="$root/target/debian" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
            /usr/bin/cargo rustc -p charm-core --example embed --release --target "$t" -Zbuild-std=core \
            -- -C "linker=$linker" "${flags[@]}" &&
            cp "$root/target/debian/$t/release/examples/embed" "$out"
    fi || return 1
    echo "embedding example: $out"
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

# Every tracked file must hold in a clone with nothing beside it: no path to
# a folder beside the repository or to this or another machine's folders.
# (The patterns are spelled so that this file does not match them itself.)
OUTSIDE_PATHS='\.\./shar[e]d|/wor[k]/|/hom[e]/[A-Za-z]|/roo[t]/|/User[s]/[A-Za-z]'
paths_inside() {
    local hits
    hits="$(git -C "$root" grep -n -I -E "$OUTSIDE_PATHS" -- .)"
    case $? in
    0)
        printf '%s\n' "$hits"
        echo "these lines name a path outside the repository; make them relative to it"
        return 1
        ;;
    1) echo "no tracked file names a path outside the repository" ;;
    *) echo "git grep failed (is this a git checkout?)" && return 1 ;;
    esac
}

step paths-inside paths_inside
step fmt cargo fmt --all --check
step fmt-firmware bash -c 'cd firmware && cargo fmt --check -p charm-firmware'
step clippy cargo clippy --workspace --all-targets -- -D warnings
step clippy-params cargo clippy --manifest-path firmware/params/Cargo.toml --all-targets --features std -- -D warnings
step clippy-boards cargo clippy --manifest-path firmware/boards/Cargo.toml --all-targets -- -D warnings
step doc env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
for board in "${QEMU_BOARDS[@]}" "${REAL_BOARDS[@]}"; do
    step "firmware-$board" scripts/build-firmware.sh --board "$board" --clippy
done
# The same firmware with models of GRU and LSTM cells and of several layers
# (feature cells), for the QEMU tests of those models (Machine::cells_elf).
for board in "${QEMU_BOARDS[@]}"; do
    step "firmware-cells-$board" scripts/build-firmware.sh --board "$board" --features cells \
        --out "$root/firmware/target/charm-firmware-cells-$board.elf"
done
step footprint footprint
for t in "${FIRMWARE_TARGETS[@]}"; do
    step "core-${t%%-*}" core_for "$t"
done
step example-embed embed_example
# libcharm.a, the C API, for every core (scripts/build-capi.sh; sizes in its log).
step capi-libraries scripts/build-capi.sh
# The libraries are copied to target/capi; their twelve build folders (about
# 40 MB each) are of no more use to this run.
rm -rf "$root/target/capi-build"
step charm-cli build_charm

export CHARM_FIRMWARE_ELF="$root/firmware/target/charm-firmware.elf"
export CHARM_FIRMWARE_ELF_M0="$root/firmware/target/charm-firmware-microbit.elf"
export CHARM_FIRMWARE_ELF_M3="$root/firmware/target/charm-firmware-mps2-an385.elf"
export CHARM_FIRMWARE_ELF_M4="$CHARM_FIRMWARE_ELF"
export CHARM_FIRMWARE_ELF_M7="$root/firmware/target/charm-firmware-mps2-an500.elf"
export CHARM_FIRMWARE_ELF_M33="$root/firmware/target/charm-firmware-mps2-an505.elf"
export CHARM_FIRMWARE_ELF_M55="$root/firmware/target/charm-firmware-mps3-an547.elf"
export CHARM_FIRMWARE_ELF_RISCV32="$root/firmware/target/charm-firmware-riscv32-virt.elf"
export CHARM_FIRMWARE_ELF_RISCV32IMC="$root/firmware/target/charm-firmware-riscv32imc-virt.elf"
export CHARM_EMBED_EXAMPLE_ELF="$root/target/charm-embed-example.elf"
[ -n "$charm_bin" ] && export CHARM_BIN="$charm_bin"
step test cargo test --workspace --no-fail-fast -- --skip qemu_
# The firmware under QEMU on every machine: timed on its own.
step test-qemu cargo test -p charm-tests --test qemu --no-fail-fast
# The C example against libcharm.a under QEMU (M4F, M0), compared with charm sample.
step test-capi-qemu cargo test -p charm-tests --test capi_qemu --no-fail-fast
# The trainer once more on its portable kernels, as on a CPU without AVX2/FMA.
step test-portable env CHARM_PORTABLE_KERNELS=1 cargo test -p charm-trainer --no-fail-fast
step test-params cargo test --manifest-path firmware/params/Cargo.toml --features std --no-fail-fast
step test-boards cargo test --manifest-path firmware/boards/Cargo.toml --no-fail-fast
# The tables the docs paste from a script, where the script needs no measurement.
step docs-tables scripts/tables.sh check cycle-tables

# ------------------------------------------------------------------ summary

say "summary (firmware toolchain routes:$routes; logs in target/test-logs/)"
for i in "${!names[@]}"; do
    printf '  %-24s %-12s %5ss\n' "${names[$i]}" "${results[$i]}" "${seconds[$i]}"
done

firmware_seconds=0
qemu_seconds=0
for i in "${!names[@]}"; do
    case "${names[$i]}" in
    firmware-*) firmware_seconds=$((firmware_seconds + seconds[i])) ;;
    test-qemu) qemu_seconds=${seconds[$i]} ;;
    esac
done
echo "  QEMU part: ${firmware_seconds}s building and checking the firmware for ${#QEMU_BOARDS[@]} + ${#REAL_BOARDS[@]} boards, ${qemu_seconds}s of QEMU tests"

sed 's/^/  /' "$LOG_DIR/footprint.log"
echo "  disk: ${free_at_start} MB free at the start, $(free_mb) MB at the end"

passed_tests=0
failed_tests=0
failed_names=()
for log in "$LOG_DIR/test.log" "$LOG_DIR/test-qemu.log" "$LOG_DIR/test-capi-qemu.log" "$LOG_DIR/test-portable.log" "$LOG_DIR/test-params.log" "$LOG_DIR/test-boards.log"; do
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
if [ -f "$LOG_DIR/test-qemu.log" ]; then
    printf 'QEMU tests per machine (passed/run):'
    for machine in m0 m3 m4 m7 m33 m55 riscv32 riscv32imc; do
        # (" ... " leaves out libtest's "has been running for over 60 seconds")
        run_n="$(grep -c "^test qemu_${machine}_.* \.\.\. " "$LOG_DIR/test-qemu.log")"
        ok_n="$(grep -c "^test qemu_${machine}_.* \.\.\. ok$" "$LOG_DIR/test-qemu.log")"
        printf ' %s %s/%s' "$machine" "$ok_n" "$run_n"
    done
    echo
fi
for name in "${failed_names[@]}"; do
    echo "  FAILED: $name"
done

if [ "$failed" != 0 ]; then
    echo "test.sh: $failed step(s) failed" >&2
    exit 1
fi
echo "test.sh: all steps passed"
