#!/usr/bin/env bash
# cmake/setup.sh: install what the chapters need, and say what it installs.
# Idempotent: packages already there are left alone. `make setup` runs it;
# every other make target runs it first, so a fresh machine needs nothing else.
#
#   Debian/Ubuntu: apt-get (as root, or through sudo)
#   macOS:         Homebrew (not tested here: this repository's CI is Linux)
set -euo pipefail

# Debian package -> why we need it
debian_packages=(
  g++ cmake ninja-build make git file python3  # build and scripts
  doctest-dev                                  # unit tests
  libbenchmark-dev                             # benchmarks (Google Benchmark)
  libboost-context-dev libboost-coroutine-dev  # the peers we measure against
  g++-aarch64-linux-gnu qemu-user              # AArch64: cross-compile, run
  g++-riscv64-linux-gnu                        # RISC-V 64: cross-compile (run: qemu-user)
  lldb python3-lldb-14                         # walk-throughs
  clang llvm                                   # Mach-O assembly check (llvm-nm)
  doxygen graphviz                             # the book (make docs), its diagrams (dot)
  fonts-dejavu-core                            # the fonts dot measures the diagrams' text
                                               # with (the .dot files name them), so that
                                               # every machine draws the same SVG
  chromium                                     # the book's browser check (headless)
  valgrind                                     # tests under valgrind
  libasio-dev libasio-doc                      # bench-06: Asio's spawn echo server, built
                                               # from libasio-doc's example at bench time
  gnuplot-nox                                  # bench-06: the plots (PNG and SVG, no X)
)
homebrew_packages=(cmake ninja doctest google-benchmark boost llvm doxygen graphviz python)
# (The book's browser check also needs Chromium: `brew install --cask chromium`.)

if [[ "$(uname -s)" == Darwin ]]; then
  command -v brew >/dev/null || { echo "setup: please install Homebrew first (https://brew.sh)"; exit 1; }
  missing=()
  for p in "${homebrew_packages[@]}"; do brew list --formula "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    echo "setup: brew install ${missing[*]}"
    brew install "${missing[@]}"
  fi
  echo "setup: everything is installed (macOS: lldb comes with the Xcode command line tools)"
  exit 0
fi

if ! command -v dpkg-query >/dev/null; then
  echo "setup: this script knows Debian/Ubuntu (apt-get) and macOS (Homebrew); install by hand:"
  printf '  %s\n' "${debian_packages[@]}"
  exit 1
fi

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup: everything is installed"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: run as root, or install sudo, to install: ${missing[*]}"; exit 1; }
  sudo=(sudo)
fi
echo "setup: apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: installed ${missing[*]}"
