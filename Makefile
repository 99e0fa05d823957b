# Makefile: the front door. `make help` lists the targets.
#
# Everything goes through CMake presets (CMakePresets.json):
#   native  - this machine, debug, plus the cross-chapter tests
#   aarch64 - AArch64 Linux, cross-compiled, run under qemu-aarch64
#   riscv64 - RISC-V 64 Linux, chapters 01-03, cross-compiled, run under qemu-riscv64
#   asan    - this machine with AddressSanitizer + UBSan
#   release - optimised, for benchmarks
# Every target first runs cmake/setup.sh, which installs what is missing.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# chapter NN -> its directory, e.g. 01 -> chapters/01-raw-switch
chapter_dir = $(firstword $(wildcard chapters/$(1)-*))
chapter_numbers = $(foreach d,$(wildcard chapters/[0-9][0-9]-*),$(firstword $(subst -, ,$(notdir $(d)))))
# A recipe's first line for chapter NN: stop with a plain message if there is none.
need_chapter = test -n "$(call chapter_dir,$(1))" || { echo "no chapter $(1): the chapters are $(chapter_numbers)"; exit 1; }

# ARCH picks the build for the per-chapter targets: native (this machine),
# aarch64 or riscv64 (cross-compiled, run under qemu-aarch64 or qemu-riscv64;
# the CMake presets of those names).
ARCH ?= native
CROSS_ARCHS := aarch64 riscv64
need_arch = case "$(ARCH)" in native|aarch64|riscv64) ;; *) echo "ARCH=$(ARCH): use ARCH=native (this machine), ARCH=aarch64 or ARCH=riscv64 (cross-compiled, run under qemu)"; exit 1;; esac
# How to run a program of that build: directly, or under qemu-$(ARCH) with
# the target's loader and libraries (-L /usr/<arch>-linux-gnu).
qemu_for = qemu-$(1) -L /usr/$(1)-linux-gnu
run_on_arch = $(if $(filter $(CROSS_ARCHS),$(ARCH)),$(call qemu_for,$(ARCH)) ,)
# The riscv64 build has chapters 01-03 only (CFS_LAST_CHAPTER in its preset:
# the RISC-V port's scope); say so rather than fail on a missing target.
need_arch_has = if [ "$(ARCH)" = riscv64 ] && [ "$(1)" -gt 3 ]; then echo "ARCH=riscv64 builds chapters 01-03 (the RISC-V port's scope: the switch, the coroutine, the generators); chapter $(1) runs natively or with ARCH=aarch64"; exit 1; fi

.PHONY: help setup test test-native test-aarch64 test-riscv64 test-asan docs snippets diagrams clean

help:
	@echo "coroutines-from-scratch: stackful coroutines from a raw context switch up"
	@echo "to a kqueue echo server, one runnable chapter at a time."
	@echo
	@echo "  make chapter-NN   set up, build chapter NN, run its tests and its demo"
	@echo "  make test-NN      the same without the demo: chapter NN's tests only"
	@echo "                    (both take ARCH=aarch64, or ARCH=riscv64 for chapters"
	@echo "                    01-03: that chapter, cross-built, under qemu)"
	@echo "  make test         every chapter: native + AArch64 (qemu) + RISC-V 64 (qemu,"
	@echo "                    chapters 01-03)"
	@echo "                    + ASan/UBSan, docs, Mach-O assembly check, continuity,"
	@echo "                    lldb walk-throughs"
	@echo "  make test-native | test-aarch64 | test-riscv64 | test-asan"
	@echo "                    one of those builds only"
	@echo "  make exercise-NN  build chapter NN's exercises against your code and run"
	@echo "                    their tests (EX=name: one exercise); they fail, saying"
	@echo "                    what is missing, until solved"
	@echo "  make lldb-NN      the chapter's lldb walk-through (batch transcript);"
	@echo "                    LLDB=interactive stops at its first stop and leaves you"
	@echo "                    at lldb's prompt; ARCH=aarch64 or riscv64 debugs the"
	@echo "                    qemu build"
	@echo "  make bench-NN     the chapter's benchmark (release build), with ratios;"
	@echo "                    bench-06: four echo servers under one load client"
	@echo "  make diff-NN      diff of chapter NN-1's directory and chapter NN's (the"
	@echo "                    switch itself lives in asm/, shared, so no diff shows it)"
	@echo "  make docs         the book, into build/docs/html: README as the main page,"
	@echo "                    the chapters in order, the notes, the exercises with"
	@echo "                    their hints (not the solutions), the diagrams, and each"
	@echo "                    chapter's API reference (html/api/NN); zero Doxygen"
	@echo "                    warnings, then its checks: rendering, links (site and"
	@echo "                    Markdown), diagrams, headless Chromium"
	@echo "  make snippets     refresh the code quoted in the texts from the sources"
	@echo "  make diagrams     redraw notes/diagrams/*.svg from their .dot sources"
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

# --- one chapter, on one architecture ----------------------------------------
# Only that chapter's targets are built and only its tests run: after an edit
# to asm/, `make test-01 ARCH=aarch64` takes seconds, not a whole build.
test-%: setup
	@$(call need_chapter,$*)
	@$(need_arch)
	@$(call need_arch_has,$*)
	cmake --preset $(ARCH) >/dev/null
	cmake --build --preset $(ARCH) --target ch$*_demo ch$*_tests
	ctest --preset $(ARCH) -R '^ch$*/'

# --- exercises ---------------------------------------------------------------
# make exercise-NN [EX=name] [ARCH=...]: the chapter's exercises, built against
# the starter code you edit in chapters/NN-*/exercises/<name>/; their tests
# fail, saying what is missing, until you have solved them. Each test gets
# 120 s: an exercise that loops for ever fails as timed out instead of
# hanging. (`make test` checks the reference solutions instead.)
EX ?=
exercise-%: setup
	@$(call need_chapter,$*)
	@$(need_arch)
	@$(call need_arch_has,$*)
	@test -d "$(call chapter_dir,$*)/exercises" || { echo "chapter $* has no exercises with starter code (its README lists its exercises)"; exit 0; }
	cmake --preset $(ARCH) >/dev/null
	@targets=$$(cmake --build --preset $(ARCH) --target help | sed -n 's/^\(ex$*_[A-Za-z0-9_]*\): .*/\1/p' | { grep -v '_solution$$' || true; } | { grep '$(subst -,_,$(EX))' || true; } | tr '\n' ' '); \
	if [ -z "$$targets" ]; then \
	  echo "chapter $*: no exercise$(if $(EX), named $(EX),) builds for ARCH=$(ARCH) (an exercise in assembly builds only for the architectures its CMakeLists.txt names, in $(call chapter_dir,$*)/exercises/)"; exit 1; \
	fi; \
	echo "cmake --build --preset $(ARCH) --target $$targets"; \
	cmake --build --preset $(ARCH) --target $$targets
	@ctest --test-dir build/$(ARCH) -L starter -R '^exercise/$*/$(EX)' --output-on-failure --timeout 120 \
	  && echo "exercise-$*: every test passes: solved" \
	  || { echo; echo "exercise-$*: not solved yet; the failures above say what the tests expect"; exit 1; }

chapter-%: test-%
	@echo; echo "=== demo: $(call chapter_dir,$*) ($(ARCH)) ==="
	$(run_on_arch)./build/$(ARCH)/$(call chapter_dir,$*)/ch$*_demo

# --- all chapters, every way ------------------------------------------------
test-native: build-native
	ctest --preset native

test-aarch64: build-aarch64
	ctest --preset aarch64

test-riscv64: build-riscv64
	ctest --preset riscv64

test-asan: build-asan
	ctest --preset asan

test: setup
	$(MAKE) --no-print-directory test-native
	$(MAKE) --no-print-directory test-aarch64
	$(MAKE) --no-print-directory test-riscv64
	$(MAKE) --no-print-directory test-asan
	@echo; echo "make test: native, aarch64 (qemu), riscv64 (qemu) and asan builds all passed"

# --- reader's tools ---------------------------------------------------------
# LLDB=interactive: tests/lldb_session.py sources the walk-through up to its
# first `continue` and leaves lldb at its prompt there, with the chapter's
# commands loaded (and Debian's lldb Python path set).
LLDB ?= batch
lldb-%: setup
	@$(call need_chapter,$*)
	@$(need_arch)
	@$(call need_arch_has,$*)
	cmake --preset $(ARCH) >/dev/null
	cmake --build --preset $(ARCH) --target ch$*_demo
	python3 tests/lldb_session.py --lldb lldb \
	  --emulator="$(if $(filter $(CROSS_ARCHS),$(ARCH)),qemu-$(ARCH);-L;/usr/$(ARCH)-linux-gnu,)" \
	  --program build/$(ARCH)/$(call chapter_dir,$*)/ch$*_demo \
	  --script $(call chapter_dir,$*)/walkthrough.lldb $(if $(filter batch,$(LLDB)),--batch,)

# Chapter 06's benchmark is four echo servers under one load client, not
# Google Benchmark binaries: its script builds what it needs (release), pins
# server and client to a core each, prints the table and writes notes/.
# BENCH_ARGS passes flags on, e.g. BENCH_ARGS='--label "a quiet machine"'.
bench-06: setup
	python3 chapters/06-echo-server/bench/run_bench.py $(BENCH_ARGS)

bench-%: setup
	@$(call need_chapter,$*)
	cmake --preset release >/dev/null
	cmake --build --preset release
	for b in ./build/release/$(call chapter_dir,$*)/ch$*_bench_*; do \
	  echo "=== $$b"; $$b --benchmark_repetitions=3 --benchmark_report_aggregates_only=true; \
	done

# The chapter directories only: the assembly (the switch itself) lives in
# asm/ and the shared code in common/ and cmake/, which no chapter diff shows.
diff-%:
	@dir="$(call chapter_dir,$*)"; \
	if [ -z "$$dir" ]; then echo "no chapter $*: the chapters are $(chapter_numbers)"; exit 0; fi; \
	prev=$$(ls -d chapters/$$(printf '%02d' $$((10#$* - 1)))-* 2>/dev/null | head -n 1 || true); \
	if [ -z "$$prev" ]; then \
	  echo "chapter $* is the first chapter: there is nothing before it to compare with."; \
	  echo "Everything in $$dir is new, and so are asm/, common/ and cmake/."; exit 0; fi; \
	echo "# diff -ruN $$prev $$dir"; \
	echo "# The chapter directories only. The switch and all other assembly live in asm/,"; \
	echo "# shared by every chapter, so no chapter diff shows them: read asm/<arch>/switch.S."; \
	diff -ruN "$$prev" "$$dir" || test $$? -eq 1

# The book: cmake/docs/build_book.py empties build/docs (pages of an earlier
# build must not linger), runs Doxygen for the book and once per chapter for
# its API reference, each failing on any warning; then the same checks as
# the ctest tools/docs-* tests.
docs: setup
	python3 cmake/docs/build_book.py build/docs
	python3 tests/diagrams.py --check
	python3 tests/rendering_check.py --html build/docs/html
	python3 tests/link_check.py --html build/docs/html
	python3 tests/link_check.py --markdown
	python3 tests/browser_check.py --html build/docs/html
	@echo "open build/docs/html/index.html"

snippets:
	python3 tests/snippets.py --update

diagrams:
	python3 tests/diagrams.py --update

clean:
	rm -rf build
