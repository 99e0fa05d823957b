#!/usr/bin/env bash
# tests/macho_check.sh OUTDIR: assemble every file in asm/ for macOS (Mach-O)
# and for Linux (ELF) with clang (RISC-V 64: ELF only), and check the
# exported symbol names:
# `_cfs_switch` on Mach-O, `cfs_switch` on ELF. macOS itself is not run here;
# this proves only that the one source per architecture serves both formats.
# The AArch64 files are assembled a second time with -mbranch-protection=
# standard (BTI landing pads, asm/asm_macros.h), and the AArch64 switch's
# ELF object must then carry the GNU property note saying BTI and PAC (and
# must not without the flag); Mach-O has no such note.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out"
nm=$(command -v llvm-nm || command -v llvm-nm-14)
readelf=$(command -v llvm-readelf || command -v llvm-readelf-14)
fail=0

check() {  # check TARGET FILE.S EXPECTED-FORMAT PREFIX [CLANG-FLAG]
  local target=$1 src=$2 format=$3 prefix=$4 flag=${5:-}
  local obj="$out/$(basename "$(dirname "$src")")-$(basename "$src" .S)-$target${flag:+-bp}.o"
  clang --target="$target" $flag -c "$src" -o "$obj"
  if ! file "$obj" | grep -q "$format"; then
    echo "FAIL $src for $target: not $format: $(file -b "$obj")"; fail=1; return
  fi
  # Every global function defined in the source must be exported as PREFIX+name.
  for name in $(grep -ohE '^(FUNC_BEGIN|LABEL)[[:space:]]+[A-Za-z0-9_]+' "$src" | awk '{print $2}'); do
    if ! "$nm" --defined-only --extern-only "$obj" | grep -qE " T ${prefix}${name}\$"; then
      echo "FAIL $src for $target: no exported symbol ${prefix}${name}"; fail=1
    fi
  done
  # The GNU property note: on the AArch64 switch's ELF object exactly when
  # built with branch protection.
  if [[ $format == ELF* && $src == */aarch64/switch.S ]]; then
    local note
    note=$("$readelf" -n "$obj" | grep -i "aarch64 feature" || true)
    if [[ -n $flag && $note != *"BTI, PAC"* ]]; then
      echo "FAIL $src for $target $flag: no GNU property note with BTI, PAC"; fail=1
    elif [[ -z $flag && -n $note ]]; then
      echo "FAIL $src for $target: a GNU property note without branch protection: $note"; fail=1
    fi
  fi
  echo "ok   $src for $target${flag:+ $flag} ($format)"
}

for src in "$root"/asm/aarch64/*.S; do
  check arm64-apple-macos11 "$src" "Mach-O 64-bit arm64" _
  check aarch64-linux-gnu "$src" "ELF 64-bit LSB relocatable, ARM aarch64" ""
  check arm64-apple-macos11 "$src" "Mach-O 64-bit arm64" _ -mbranch-protection=standard
  check aarch64-linux-gnu "$src" "ELF 64-bit LSB relocatable, ARM aarch64" "" -mbranch-protection=standard
done
for src in "$root"/asm/x86_64/*.S; do
  check x86_64-apple-macos11 "$src" "Mach-O 64-bit x86_64" _
  check x86_64-linux-gnu "$src" "ELF 64-bit LSB relocatable, x86-64" ""
done
# RISC-V 64 is ELF only (no Mach-O for it), but the same source must also
# assemble with clang, as the other two do, not with GNU as alone.
for src in "$root"/asm/riscv64/*.S; do
  check riscv64-linux-gnu "$src" "ELF 64-bit LSB relocatable, UCB RISC-V" ""
done
# The switch itself must be there on every target.
for obj in "$out"/*switch*.o; do
  "$nm" "$obj" | grep -qE " T _?cfs_switch$" || { echo "FAIL $obj: no cfs_switch"; fail=1; }
done
exit $fail
