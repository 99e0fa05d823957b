# cmake/cfs.cmake: what every chapter's build shares.
#
# Included by the top-level CMakeLists.txt and by each chapter's own
# CMakeLists.txt (so a chapter also configures on its own:
# `cmake -S chapters/01-raw-switch -B /tmp/ch01`). The include guard makes
# the second inclusion a no-op.
include_guard(GLOBAL)

set(CFS_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." CACHE INTERNAL "")
cmake_path(NORMAL_PATH CFS_ROOT)

# --- Which assembly: one directory per architecture under asm/ ------------
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(CFS_ARCH aarch64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(CFS_ARCH x86_64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^riscv64$")
  set(CFS_ARCH riscv64)  # Linux only (ELF): the capstone port
else()
  message(FATAL_ERROR "cfs: no context switch for '${CMAKE_SYSTEM_PROCESSOR}' (AArch64, x86-64 and RISC-V 64 only)")
endif()

# Debug unless told otherwise: the walk-throughs need debug information.
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Debug CACHE STRING "Build type" FORCE)
endif()

option(CFS_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(CFS_TOOL_TESTS "Register the cross-chapter tests (continuity, docs, Mach-O)" OFF)

# --- Flags every target gets ------------------------------------------------
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)

add_library(cfs_flags INTERFACE)
target_compile_options(cfs_flags INTERFACE
  $<$<COMPILE_LANGUAGE:C,CXX>:-Wall -Wextra -Werror>
  # Keep frame pointers: debuggers and our walk-throughs follow them.
  -fno-omit-frame-pointer)

# Stack clash protection: a function whose frame is larger than a page
# touches each page of it in order, from the top down, before using it, so
# a big frame on a small coroutine stack hits the guard page (and the
# overflow handler) instead of jumping over it into whatever lies below.
# GCC on AArch64 assumes a 64 KiB guard unless told; ours is one page, and
# 12 (4 KiB, the smallest page) is the value that is right for every page
# size.
#
# Accepting the flag is not the same as probing: GCC 12 and clang 14 take
# -fstack-clash-protection for riscv64 without a word and emit no probe at
# all (a big frame is one `add sp, sp, t0`). So we also compile a big frame
# with and without the flag: when the two come out the same, this compiler
# cannot protect this target, and the build says so to the code
# (CFS_NO_STACK_CLASH_PROTECTION: chapter 02's big-frame test then shows
# what that means) and to whoever configures it.
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-fstack-clash-protection CFS_HAVE_STACK_CLASH_PROTECTION)
if(CFS_HAVE_STACK_CLASH_PROTECTION AND NOT DEFINED CACHE{CFS_STACK_CLASH_PROBES})
  set(_probe_src "${CMAKE_BINARY_DIR}/cfs_stack_clash_probe.cpp")
  file(WRITE "${_probe_src}"
    "void cfs_use(volatile char*);\n"
    "void cfs_big_frame() { volatile char big[80 * 1024]; cfs_use(big); }\n")
  foreach(_variant IN ITEMS with without)
    set(_flag "")
    if(_variant STREQUAL "with")
      set(_flag -fstack-clash-protection)
    endif()
    execute_process(
      COMMAND ${CMAKE_CXX_COMPILER} ${CMAKE_CXX_COMPILER_ARG1} ${_flag} -O2 -S -o - "${_probe_src}"
      OUTPUT_VARIABLE _asm_${_variant} ERROR_VARIABLE _err RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "cfs: compiling ${_probe_src} failed: ${_err}")
    endif()
  endforeach()
  if(_asm_with STREQUAL _asm_without)
    set(CFS_STACK_CLASH_PROBES OFF CACHE INTERNAL "")
  else()
    set(CFS_STACK_CLASH_PROBES ON CACHE INTERNAL "")
  endif()
endif()
if(CFS_HAVE_STACK_CLASH_PROTECTION AND NOT CFS_STACK_CLASH_PROBES)
  message(STATUS "cfs: ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION} accepts "
                 "-fstack-clash-protection for ${CFS_ARCH} but emits no probes: a frame bigger "
                 "than a page can step over a coroutine's guard page in this build")
endif()
if(NOT CFS_HAVE_STACK_CLASH_PROTECTION OR NOT CFS_STACK_CLASH_PROBES)
  target_compile_definitions(cfs_flags INTERFACE CFS_NO_STACK_CLASH_PROTECTION)
else()
  target_compile_options(cfs_flags INTERFACE $<$<COMPILE_LANGUAGE:C,CXX>:-fstack-clash-protection>)
  if(CFS_ARCH STREQUAL "aarch64" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(cfs_flags INTERFACE
      $<$<COMPILE_LANGUAGE:C,CXX>:--param=stack-clash-protection-guard-size=12>)
  endif()
endif()
target_include_directories(cfs_flags INTERFACE "${CFS_ROOT}")
if(CFS_SANITIZE)
  target_compile_options(cfs_flags INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all)
  target_link_options(cfs_flags INTERFACE -fsanitize=address,undefined)
endif()

# --- The hand-written parts shared by every chapter -----------------------
# The switch itself, and the C++ it calls when an entry function returns.
add_library(cfs_asm STATIC
  "${CFS_ROOT}/asm/${CFS_ARCH}/switch.S"
  "${CFS_ROOT}/common/entry_returned.cpp")
target_link_libraries(cfs_asm PUBLIC cfs_flags)
# Warm-ups and test probes: tests link these, and demos (for
# cfs_stack_pointer).
add_library(cfs_asm_testing STATIC
  "${CFS_ROOT}/asm/${CFS_ARCH}/return_42.S"
  "${CFS_ROOT}/asm/${CFS_ARCH}/stack_demo.S"
  "${CFS_ROOT}/asm/${CFS_ARCH}/probe.S")
target_link_libraries(cfs_asm_testing PUBLIC cfs_flags)
# RISC-V: binutils (2.40 and later) marks where code starts, and where the
# instruction set changes, with local "mapping symbols" named $x<ISA string>
# (`$xrv64i2p1_m2p0_...`). lldb 14 knows such symbols only on Arm; on
# RISC-V it takes them for function names, so a breakpoint on cfs_switch
# says `where = $xrv64i2p1...`. Compiled code is named by its debug
# information anyway; the assembly has none, so we strip the mapping
# symbols from these two libraries (they mark nothing a linker needs).
if(CFS_ARCH STREQUAL "riscv64")
  foreach(_lib IN ITEMS cfs_asm cfs_asm_testing)
    add_custom_command(TARGET ${_lib} POST_BUILD
      COMMAND "${CMAKE_OBJCOPY}" --wildcard "--strip-symbol=$x*" "$<TARGET_FILE:${_lib}>"
      VERBATIM)
  endforeach()
endif()

# --- doctest (Debian doctest-dev, Homebrew doctest) -----------------------
find_package(doctest REQUIRED)
include("${doctest_DIR}/doctest.cmake")  # doctest_discover_tests()
if(CMAKE_CROSSCOMPILING)
  # doctest's imported target names the host's /usr/include, which must not
  # leak into a cross build. Expose only the doctest directory instead.
  get_target_property(_doctest_inc doctest::doctest INTERFACE_INCLUDE_DIRECTORIES)
  file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/doctest-include")
  file(CREATE_LINK "${_doctest_inc}/doctest" "${CMAKE_BINARY_DIR}/doctest-include/doctest" SYMBOLIC)
  add_library(cfs_doctest INTERFACE)
  target_include_directories(cfs_doctest SYSTEM INTERFACE "${CMAKE_BINARY_DIR}/doctest-include")
else()
  add_library(cfs_doctest INTERFACE)
  target_link_libraries(cfs_doctest INTERFACE doctest::doctest)
endif()

# --- kqueue on every system (common/kqueue.h) ------------------------------
# Linux has no kqueue: there this is the shim on top of epoll. Elsewhere the
# system's <sys/event.h> is used and the target adds nothing.
find_package(Threads REQUIRED)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  add_library(cfs_kqueue STATIC
    "${CFS_ROOT}/common/kqueue_epoll.cpp"
    "${CFS_ROOT}/common/kqueue_epoll_probes.cpp")
  target_link_libraries(cfs_kqueue PUBLIC cfs_flags Threads::Threads)
else()
  add_library(cfs_kqueue INTERFACE)
  target_link_libraries(cfs_kqueue INTERFACE cfs_flags)
endif()

add_library(cfs_test_main STATIC
  "${CFS_ROOT}/common/test_main.cpp"
  "${CFS_ROOT}/common/child_process.cpp")
target_link_libraries(cfs_test_main PUBLIC cfs_doctest cfs_flags)

# --- Benchmarks: native builds only (Google Benchmark, Boost.Context) -----
if(NOT CMAKE_CROSSCOMPILING)
  find_package(benchmark QUIET)
  find_package(Boost QUIET COMPONENTS context)
endif()

# --- Host tools the walk-through tests use -------------------------------
find_program(CFS_LLDB lldb)
find_package(Python3 COMPONENTS Interpreter)

# Environment for tests under the sanitizers: fake stacks on, so that the
# fiber annotations of every switch are exercised.
set(CFS_TEST_ENV "ASAN_OPTIONS=detect_stack_use_after_return=1:detect_leaks=1"
                 "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")

find_program(CFS_VALGRIND valgrind)

# cfs_discover_doctests(target prefix)
#
# One ctest test per doctest case of `target`, named "<prefix>/<case>", with
# CFS_TEST_ENV in its environment, failing if its filter matches no case
# (a `;` in a case's name splits it in two). The properties are set by a
# script of our own that ctest reads after doctest's list of tests:
# doctest_discover_tests(PROPERTIES ...) passes them on as one flat list, so
# a list value (the two entries of CFS_TEST_ENV) splits into bogus property
# names, and FAIL_REGULAR_EXPRESSION after it is lost.
function(cfs_discover_doctests target prefix)
  cmake_parse_arguments(D "" "LABEL" "" ${ARGN})
  set(label "")
  if(D_LABEL)
    set(label "    LABELS \"${D_LABEL}\"\n")
  endif()
  doctest_discover_tests(${target} TEST_PREFIX "${prefix}/" TEST_LIST ${target}_TESTS)
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${target}_properties.cmake")
  file(WRITE "${script}"
    "foreach(test IN LISTS ${target}_TESTS)\n"
    "  set_tests_properties(\"\${test}\" PROPERTIES\n"
    "    ENVIRONMENT \"${CFS_TEST_ENV}\"\n"
    "${label}"
    "    # a filter that matches no test case (a `;` split a name) must fail\n"
    "    FAIL_REGULAR_EXPRESSION \"test cases: 0 [|]\")\n"
    "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${script}")
endfunction()

# cfs_exercise(NAME name EDIT files... TESTS files... [SOURCES files...]
#              [LIBRARIES ...] [ARCHS native aarch64 ...] [OWN_SWITCH])
#
# Called from chapters/NN-*/exercises/CMakeLists.txt, for the exercise in
# exercises/<name>/. EDIT names the files the student edits: the starter
# versions live in exercises/<name>/, the reference solution's in
# solutions/<name>/, under the same names. The exercise's TESTS (doctest,
# in exercises/<name>/, including the edited headers with <>, so that the
# include path decides which variant they get) are built twice:
#   exNN_<name>           against the starter files: tests "exercise/NN/<name>/...",
#                         labelled `starter`: they fail until the exercise is
#                         solved, so the normal test runs leave them out
#                         (`make exercise-NN` runs them);
#   exNN_<name>_solution  against the reference solution: tests
#                         "solution/NN/<name>/...", run by `make test` on
#                         every architecture in ARCHS (default: all), so no
#                         exercise is broken or impossible.
# SOURCES are the chapter's own files the tests need, relative to the
# chapter directory. A header in EDIT is found by its name (the directory
# of the variant comes first on the include path); a source file in EDIT
# is compiled from that directory.
# OWN_SWITCH: the EDIT files are the switch itself (cfs_switch, cfs_prepare,
# cfs_trampoline and the rest of asm/<arch>/switch.S: the RISC-V capstone),
# so the executables link them instead of cfs_asm (which would define the
# same symbols), plus the C++ the trampoline calls (common/entry_returned.cpp).
function(cfs_exercise)
  cmake_parse_arguments(E "OWN_SWITCH" "NAME" "EDIT;TESTS;SOURCES;LIBRARIES;ARCHS" ${ARGN})
  get_filename_component(chapter_dir "${CMAKE_CURRENT_SOURCE_DIR}/.." ABSOLUTE)
  get_filename_component(chapter "${chapter_dir}" NAME)
  string(SUBSTRING "${chapter}" 0 2 nn)
  if(E_ARCHS)
    set(arch_here "native")
    if(CMAKE_CROSSCOMPILING)
      set(arch_here "${CFS_ARCH}")
    endif()
    if(NOT arch_here IN_LIST E_ARCHS)
      return()
    endif()
  endif()
  set(chapter_sources "")
  foreach(src IN LISTS E_SOURCES)
    list(APPEND chapter_sources "${chapter_dir}/${src}")
  endforeach()
  set(tests "")
  foreach(t IN LISTS E_TESTS)
    list(APPEND tests "${chapter_dir}/exercises/${E_NAME}/${t}")
  endforeach()
  string(REPLACE "-" "_" id "${E_NAME}")
  foreach(variant IN ITEMS starter solution)
    if(variant STREQUAL "starter")
      set(dir "${chapter_dir}/exercises/${E_NAME}")
      set(target "ex${nn}_${id}")
      set(prefix "exercise/${nn}/${E_NAME}")
      set(label "starter")
    else()
      set(dir "${chapter_dir}/solutions/${E_NAME}")
      set(target "ex${nn}_${id}_solution")
      set(prefix "solution/${nn}/${E_NAME}")
      set(label "")
    endif()
    set(edited "")
    foreach(f IN LISTS E_EDIT)
      if(NOT f MATCHES "\\.(h|hpp)$")
        list(APPEND edited "${dir}/${f}")
      endif()
    endforeach()
    set(switch_lib cfs_asm)
    if(E_OWN_SWITCH)
      set(switch_lib "")
      list(APPEND edited "${CFS_ROOT}/common/entry_returned.cpp")
    endif()
    add_executable(${target} ${tests} ${edited} ${chapter_sources})
    target_include_directories(${target} BEFORE PRIVATE "${dir}")
    target_include_directories(${target} PRIVATE "${chapter_dir}")
    target_link_libraries(${target} PRIVATE ${switch_lib} cfs_asm_testing cfs_test_main
                                            ${E_LIBRARIES})
    if(label)
      cfs_discover_doctests(${target} "${prefix}" LABEL ${label})
    else()
      cfs_discover_doctests(${target} "${prefix}")
    endif()
  endforeach()
endfunction()

# cfs_chapter(NUMBER nn [SOURCES ...] [LIBRARIES ...] DEMO file TESTS files...
#             [BENCH files...] [WALKTHROUGH_CHECK script.py]
#             [VALGRIND_EXCLUDE patterns...])
#
# Defines chNN_demo, chNN_tests (doctest; every test name starts "chNN/"),
# one chNN_bench_<name> per bench/bench_<name>.cpp when Google Benchmark is
# there, and the tests that run the demo, the lldb walk-through and, in the
# plain native build, the whole test binary under valgrind (less the test
# cases matching VALGRIND_EXCLUDE: doctest wildcards, for tests about limits
# that valgrind itself replaces, each with its reason at the call).
#
# SOURCES are compiled once, into the object library chNN_sources, which the
# demo, the tests and the benchmarks link. The benchmarks are built where
# they can be run for figures: natively, without sanitizers (the native
# debug build keeps them compiling; `make bench-NN` uses the release one).
function(cfs_chapter)
  cmake_parse_arguments(C "" "NUMBER;DEMO;WALKTHROUGH_CHECK"
                        "SOURCES;LIBRARIES;TESTS;BENCH;VALGRIND_EXCLUDE" ${ARGN})
  set(ch "ch${C_NUMBER}")

  set(libraries ${C_LIBRARIES})
  if(C_SOURCES)
    add_library(${ch}_sources OBJECT ${C_SOURCES})
    target_link_libraries(${ch}_sources PUBLIC cfs_asm ${C_LIBRARIES})
    list(PREPEND libraries ${ch}_sources)
  endif()

  add_executable(${ch}_demo ${C_DEMO})
  target_link_libraries(${ch}_demo PRIVATE cfs_asm cfs_asm_testing ${libraries})
  add_test(NAME ${ch}/demo COMMAND ${ch}_demo)
  set_tests_properties(${ch}/demo PROPERTIES ENVIRONMENT "${CFS_TEST_ENV}")

  add_executable(${ch}_tests ${C_TESTS})
  target_link_libraries(${ch}_tests PRIVATE cfs_asm cfs_asm_testing cfs_test_main ${libraries})
  cfs_discover_doctests(${ch}_tests "${ch}")

  if(benchmark_FOUND AND Boost_FOUND AND NOT CMAKE_CROSSCOMPILING AND NOT CFS_SANITIZE)
    foreach(bench IN LISTS C_BENCH)
      get_filename_component(name "${bench}" NAME_WE)
      string(REGEX REPLACE "^bench_" "" name "${name}")
      add_executable(${ch}_bench_${name} ${bench})
      target_link_libraries(${ch}_bench_${name} PRIVATE cfs_asm benchmark::benchmark Boost::context
                                                        ${libraries})
    endforeach()
  endif()

  # valgrind: no errors, no leaks, in the whole test binary.
  if(CFS_VALGRIND AND NOT CMAKE_CROSSCOMPILING AND NOT CFS_SANITIZE)
    set(exclude "")
    if(C_VALGRIND_EXCLUDE)
      list(JOIN C_VALGRIND_EXCLUDE "," patterns)
      set(exclude "--test-case-exclude=${patterns}")
    endif()
    add_test(NAME ${ch}/valgrind
      COMMAND ${CFS_VALGRIND} --quiet --error-exitcode=1 --leak-check=full
              --errors-for-leak-kinds=definite $<TARGET_FILE:${ch}_tests> ${exclude})
    set_tests_properties(${ch}/valgrind PROPERTIES TIMEOUT 600)
  endif()

  # The lldb walk-through: natively, or under qemu's gdb stub when cross.
  if(C_WALKTHROUGH_CHECK AND CFS_LLDB AND Python3_FOUND AND NOT CFS_SANITIZE)
    set(mode native)
    if(CMAKE_CROSSCOMPILING)
      set(mode "--emulator=${CMAKE_CROSSCOMPILING_EMULATOR}")
    else()
      set(mode "--emulator=")
    endif()
    add_test(NAME ${ch}/lldb-walkthrough
      COMMAND ${Python3_EXECUTABLE} "${CMAKE_CURRENT_SOURCE_DIR}/${C_WALKTHROUGH_CHECK}"
              --lldb "${CFS_LLDB}" "${mode}"
              --program "$<TARGET_FILE:${ch}_demo>"
              --script "${CMAKE_CURRENT_SOURCE_DIR}/walkthrough.lldb")
    set_tests_properties(${ch}/lldb-walkthrough PROPERTIES TIMEOUT 120)
    # `make lldb-NN LLDB=interactive`: typed at on a pseudo-terminal, lldb
    # waits at the walk-through's first stop, steps, runs the chapter's
    # commands and quits (tests/lldb_interactive_check.py).
    add_test(NAME ${ch}/lldb-interactive
      COMMAND ${Python3_EXECUTABLE} "${CFS_ROOT}/tests/lldb_interactive_check.py"
              --lldb "${CFS_LLDB}" "${mode}"
              --program "$<TARGET_FILE:${ch}_demo>"
              --script "${CMAKE_CURRENT_SOURCE_DIR}/walkthrough.lldb")
    set_tests_properties(${ch}/lldb-interactive PROPERTIES TIMEOUT 120)
  endif()
endfunction()

# cfs_test_binary(TARGET t PREFIX p [VALGRIND_EXCLUDE patterns...])
#
# Registers the doctest binary `t` outside a chapter: each test case as a
# ctest test named "<p>/<case>", and, in the plain native build, the whole
# binary under valgrind as "<p>/valgrind" (as cfs_chapter() does).
function(cfs_test_binary)
  cmake_parse_arguments(T "" "TARGET;PREFIX" "VALGRIND_EXCLUDE" ${ARGN})
  cfs_discover_doctests(${T_TARGET} "${T_PREFIX}")
  if(CFS_VALGRIND AND NOT CMAKE_CROSSCOMPILING AND NOT CFS_SANITIZE)
    set(exclude "")
    if(T_VALGRIND_EXCLUDE)
      list(JOIN T_VALGRIND_EXCLUDE "," patterns)
      set(exclude "--test-case-exclude=${patterns}")
    endif()
    add_test(NAME ${T_PREFIX}/valgrind
      COMMAND ${CFS_VALGRIND} --quiet --error-exitcode=1 --leak-check=full
              --errors-for-leak-kinds=definite $<TARGET_FILE:${T_TARGET}> ${exclude})
    set_tests_properties(${T_PREFIX}/valgrind PROPERTIES TIMEOUT 600)
  endif()
endfunction()
