// same_fringe.h: do two trees hold the same values in the same order?
//
// The classic problem that needs two traversals side by side: the trees may
// have different shapes, so neither can drive the other. With two pull
// sequences it is a plain loop, and it stops at the first difference: both
// traversals are then abandoned half-way, and their stacks unwound.
#pragma once

#include "pull.h"
#include "traversals.h"

namespace cfs {

//! [same-fringe]
template <class T>
bool same_fringe(const Node<T>* a, const Node<T>* b) {
  Pull<T> left(yield_in_order<T>, a);
  Pull<T> right(yield_in_order<T>, b);
  for (;;) {
    std::optional<T> x = left.next();
    std::optional<T> y = right.next();
    if (x != y) return false;  // a different value, or one ended first
    if (!x) return true;       // both ended together
  }
}  // both Pulls are destroyed here: unfinished walks unwind
//! [same-fringe]

}  // namespace cfs
