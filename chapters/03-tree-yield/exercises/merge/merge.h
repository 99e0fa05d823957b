// exercises/merge/merge.h: YOUR CODE (exercise 6 of chapter 03).
//
//   yield_merged(a, b)   a coroutine body that yields the values of two
//                        search trees in one sorted sequence, duplicates
//                        kept, by pulling from an in-order walk of each
//                        (two Pull<T>s over yield_in_order<T>)
//
// Run it as a sequence itself: Pull<int> merged(yield_merged<int>, a, b).
// Three coroutines then run one inside another: while `merged` pulls from
// one walk, which state is each in? Test it with `make exercise-03
// EX=merge`; the tests say what they expect. Hints: README.md, beside this
// file.
#pragma once

#include "coroutine.h"
#include "pull.h"
#include "traversals.h"
#include "tree.h"

namespace cfs {

template <class T>
void yield_merged(const Node<T>* a, const Node<T>* b) {
  (void)a;  // TODO: a Pull<T> over yield_in_order<T> for each tree, and
  (void)b;  //       the next value of each in hand
}

}  // namespace cfs
