# Makefile: the front door. `make help` lists the targets.
#
# Everything goes through CMake presets (CMakePresets.json):
#   native  - this machine, debug, plus the cross-chapter tests
#   aarch64 - AArch64 Linux, cross-compiled, run under qemu-aarch64
#   asan    - this machine with AddressSanitizer + UBSan
#   release - optimised, for benchmarks
# Every target first runs cmake/setup.sh, which installs what is missing.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# chapter NN -> its directory, e.g. 01 -> chapters/01-raw-switch
chapter_dir = $(firstword $(wildcard chapters/$(1)-*))
# the chapter before NN, e.g. 02 -> 01
prev_nn = $(shell printf '%02d' "$$(expr $(1) - 1)")

.PHONY: help setup test test-native test-aarch64 test-asan docs clean

help:
	@echo "coroutines-from-scratch: stackful coroutines from a raw context switch up"
	@echo "to a kqueue echo server, one runnable chapter at a time."
	@echo
	@echo "  make chapter-NN   set up, build chapter NN, run its tests and its demo"
	@echo "  make test         every chapter: native + AArch64 (qemu) + ASan/UBSan,"
	@echo "                    docs, Mach-O assembly check, continuity, lldb walk-throughs"
	@echo "  make test-native | test-aarch64 | test-asan   one of those builds only"
	@echo "  make lldb-NN      the chapter's lldb walk-through (batch transcript);"
	@echo "                    LLDB=interactive to stay in lldb, ARCH=aarch64 for qemu"
	@echo "  make bench-NN     the chapter's benchmark (release build), with ratios"
	@echo "  make diff-NN      what chapter NN changed since chapter NN-1"
	@echo "  make docs         the documentation site, into build/docs/html"
	@echo "  make setup        install what is missing (apt-get or Homebrew)"
	@echo "  make clean        remove build/"
	@echo
	@echo "chapters: $(notdir $(wildcard chapters/[0-9][0-9]-*))"

setup:
	@bash cmake/setup.sh

# --- builds -----------------------------------------------------------------
build-%: setup
	cmake --preset $* >/dev/null
	cmake --build --preset $*

# --- one chapter ------------------------------------------------------------
chapter-%: setup
	@test -n "$(call chapter_dir,$*)" || { echo "no chapter $*"; exit 1; }
	cmake --preset native >/dev/null
	cmake --build --preset native --target ch$*_demo ch$*_tests
	ctest --preset native -R '^ch$*/'
	@echo; echo "=== demo: $(call chapter_dir,$*) ==="
	./build/native/$(call chapter_dir,$*)/ch$*_demo

# --- all chapters, every way ------------------------------------------------
test-native: build-native
	ctest --preset native

test-aarch64: build-aarch64
	ctest --preset aarch64

test-asan: build-asan
	ctest --preset asan

test: setup
	$(MAKE) --no-print-directory test-native
	$(MAKE) --no-print-directory test-aarch64
	$(MAKE) --no-print-directory test-asan
	@echo; echo "make test: native, aarch64 (qemu) and asan builds all passed"

# --- reader's tools ---------------------------------------------------------
ARCH ?= native
LLDB ?= batch
lldb-%: setup
	@test -n "$(call chapter_dir,$*)" || { echo "no chapter $*"; exit 1; }
	cmake --preset $(ARCH) >/dev/null
	cmake --build --preset $(ARCH) --target ch$*_demo
	python3 tests/lldb_session.py --lldb lldb \
	  --emulator="$(if $(filter aarch64,$(ARCH)),qemu-aarch64;-L;/usr/aarch64-linux-gnu,)" \
	  --program build/$(ARCH)/$(call chapter_dir,$*)/ch$*_demo \
	  --script $(call chapter_dir,$*)/walkthrough.lldb $(if $(filter batch,$(LLDB)),--batch,)

bench-%: setup
	@test -n "$(call chapter_dir,$*)" || { echo "no chapter $*"; exit 1; }
	cmake --preset release >/dev/null
	cmake --build --preset release
	for b in ./build/release/$(call chapter_dir,$*)/ch$*_bench_*; do \
	  echo "=== $$b"; $$b --benchmark_repetitions=3 --benchmark_report_aggregates_only=true; \
	done

diff-%:
	@test -n "$(call chapter_dir,$*)" || { echo "no chapter $*"; exit 1; }
	@test -n "$(call chapter_dir,$(call prev_nn,$*))" || { echo "chapter $* is the first one"; exit 1; }
	diff -ruN $(call chapter_dir,$(call prev_nn,$*)) $(call chapter_dir,$*) || test $$? -eq 1

docs: setup
	mkdir -p build
	CFS_DOCS_OUT=build/docs doxygen Doxyfile
	@echo "open build/docs/html/index.html"

clean:
	rm -rf build
