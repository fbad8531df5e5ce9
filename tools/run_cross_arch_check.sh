#!/usr/bin/env bash
# The C kernels give the same bits on aarch64 as on x86-64.
#
# tools/cross_bits.c runs fixed inputs through the dsterf lanes, both secular
# solvers and the P(t) kernel on every code path the build and CPU can run,
# checks that the paths agree bitwise and prints one hash per item.  This
# script builds it natively (x86-64: the avx512, avx2, generic and scalar
# paths) and for aarch64 with a cross compiler (the generic path in NEON and
# the scalar one), runs the latter under QEMU user emulation, and requires
# the same hashes.  The flags are the project's (meson.build): ISO C11, -O3,
# no fast-math, no FMA contraction.
#
# Needs aarch64-linux-gnu-gcc and qemu-aarch64-static or qemu-aarch64 (Debian:
# gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static).  On an
# aarch64 host it compares the native build with itself under QEMU (the
# check is meant for x86-64 hosts).
#   FGRKERN_CROSS_INSTALL=1   install them with apt-get when missing (as root, or
#                             with passwordless sudo)
#   FGRKERN_REQUIRE_CROSS=1   fail instead of skipping when they are missing
#   CC_AARCH64=clang ...      another cross compiler (e.g. "clang --target=aarch64-linux-gnu
#                             --sysroot=/usr/aarch64-linux-gnu")
set -euo pipefail
cd "$(dirname "$0")/.."

cross_cc=${CC_AARCH64:-aarch64-linux-gnu-gcc}
qemu() { command -v qemu-aarch64-static || command -v qemu-aarch64; }
have_tools() { command -v "${cross_cc%% *}" > /dev/null && qemu > /dev/null; }

if ! have_tools && [[ "${FGRKERN_CROSS_INSTALL:-0}" == 1 ]]; then
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
  [[ $(id -u) == 0 ]] || apt=(sudo -n "${apt[@]}")
  for attempt in 1 2; do
    if "${apt[@]}" update -qq && "${apt[@]}" install -y -qq \
        gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static > /dev/null; then
      break
    fi
    echo "apt-get failed (attempt $attempt of 2)" >&2
    [[ $attempt == 2 ]] || sleep 5
  done
fi
if ! have_tools; then
  if [[ "${FGRKERN_REQUIRE_CROSS:-0}" == 1 ]]; then
    echo "cross-architecture check failed: needs ${cross_cc%% *} and qemu-aarch64(-static)" >&2
    exit 1
  fi
  echo "cross-architecture check skipped: needs ${cross_cc%% *} and qemu-aarch64(-static)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(-std=c11 -O3 -fno-fast-math -fno-math-errno -ffp-contract=off -Isrc_c)
srcs=(tools/cross_bits.c src_c/fgr_sterf.c src_c/fgr_cpu.c src_c/fgr_secular.c src_c/fgr_kernel.c)

${CC:-cc} "${flags[@]}" "${srcs[@]}" -lm -o "$work/native"
# shellcheck disable=SC2086  # CC_AARCH64 may hold a compiler and its options
$cross_cc "${flags[@]}" -static "${srcs[@]}" -lm -o "$work/aarch64"

"$work/native" > "$work/native.txt"
"$(qemu)" "$work/aarch64" > "$work/aarch64.txt"
echo "native $(uname -m) $(grep '^paths:' "$work/native.txt"); aarch64 (QEMU) $(grep '^paths:' "$work/aarch64.txt")"
if ! diff <(grep -v '^paths:' "$work/native.txt") <(grep -v '^paths:' "$work/aarch64.txt"); then
  echo "aarch64 and $(uname -m) give different bits (lines above: item and hash)" >&2
  exit 1
fi
echo "aarch64 and $(uname -m): the same bits for $(grep -vc '^paths:' "$work/native.txt") items"
