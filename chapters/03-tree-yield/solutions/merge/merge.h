// solutions/merge/merge.h: a reference solution of chapter 03's exercise 6
// (the starter is exercises/merge/merge.h).
#pragma once

#include <optional>

#include "coroutine.h"
#include "pull.h"
#include "traversals.h"
#include "tree.h"

namespace cfs {

/// The values of two search trees, in one sorted sequence (duplicates
/// kept): the classic merge, with each input a lazy in-order walk. While
/// this body pulls from `left`, it is `normal` and `left` runs; `right`
/// waits, suspended, holding its place in its tree. Stopped early (its
/// Pull stopped or destroyed), this body unwinds, and its two Pulls, which
/// are locals, unwind their walks on the way: right first, then left, the
/// reverse of their construction.
template <class T>
void yield_merged(const Node<T>* a, const Node<T>* b) {
  Pull<T> left(yield_in_order<T>, a);
  Pull<T> right(yield_in_order<T>, b);
  std::optional<T> x = left.next();
  std::optional<T> y = right.next();
  while (x || y) {
    if (y && (!x || *y < *x)) {  // the smaller first; on a tie, the left one
      cfs::yield<T>(*y);
      y = right.next();
    } else {
      cfs::yield<T>(*x);
      x = left.next();
    }
  }
}

}  // namespace cfs
