// solutions/first-of/first_of.h: a reference solution of chapter 05's
// exercise 5 (the starter is exercises/first-of/first_of.h).
#pragma once

#include <functional>

namespace cfs {

/// Runs `a` and `b` as two tasks of the running loop, and waits (only the
/// calling task) until one of them has ended. Then cancels the other, waits
/// until it has unwound, and returns 0 if `a` ended first, 1 if `b` did;
/// if the first to end threw, rethrows that instead. Call it from a task of
/// a running cfs::Loop. If the calling task is cancelled meanwhile, both
/// are cancelled, and the Cancelled goes on up at once.
int first_of(std::function<void()> a, std::function<void()> b);

}  // namespace cfs
