// common/test_main.cpp: the one main() of every chapter's test binary.
// doctest supplies it; each chapter links this file with its test sources.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
