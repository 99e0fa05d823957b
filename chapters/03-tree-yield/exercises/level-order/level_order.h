// exercises/level-order/level_order.h: YOUR CODE (exercise 1 of chapter 03).
//
// Two more walks of a tree, as coroutine bodies that yield each value:
//
//   yield_level_order(root)        level by level, top to bottom, left to
//                                  right (breadth first): with a queue
//   yield_by_deepening(root)       the same order by iterative deepening: a
//                                  recursive walk that yields only the
//                                  nodes at depth d, for d = 0, 1, 2, ...
//                                  until a depth has no node
//
// Test them with `make exercise-03 EX=level-order`; the tests say what they
// expect. The first one is a loop; the second one is recursive again, which
// is what a stackful coroutine is good at. Hints: README.md, beside this file.
#pragma once

#include "coroutine.h"
#include "tree.h"

namespace cfs {

template <class T>
void yield_level_order(const Node<T>* root) {
  (void)root;  // TODO: a std::deque of nodes, starting with the root
}

template <class T>
void yield_by_deepening(const Node<T>* root) {
  (void)root;  // TODO: for d = 0, 1, 2, ...: yield the nodes at depth d
}

}  // namespace cfs
