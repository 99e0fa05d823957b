// solutions/level-order/level_order.h: a reference solution of chapter 03's
// exercise 1 (the starter is exercises/level-order/level_order.h).
#pragma once

#include <deque>

#include "coroutine.h"
#include "tree.h"

namespace cfs {

/// Breadth first: a queue of the nodes still to visit, oldest first. A
/// loop, with all its state in the queue: a coroutine adds nothing here
/// that an iterator class could not hold.
template <class T>
void yield_level_order(const Node<T>* root) {
  std::deque<const Node<T>*> queue;
  if (root != nullptr) queue.push_back(root);
  while (!queue.empty()) {
    const Node<T>* n = queue.front();
    queue.pop_front();
    cfs::yield<T>(n->value);
    if (n->left) queue.push_back(n->left.get());
    if (n->right) queue.push_back(n->right.get());
  }
}

namespace detail {
/// Yields the nodes `depth` levels below `n`, left to right; returns
/// whether there was any node at that depth.
template <class T>
bool yield_at_depth(const Node<T>* n, int depth) {
  if (n == nullptr) return false;
  if (depth == 0) {
    cfs::yield<T>(n->value);
    return true;
  }
  const bool left = yield_at_depth(n->left.get(), depth - 1);
  const bool right = yield_at_depth(n->right.get(), depth - 1);
  return left || right;
}
}  // namespace detail

/// The same order by iterative deepening: recursive again, and in a
/// coroutine the recursion can yield from any depth. Memory: one frame per
/// level (no queue of up to half the tree); time: the upper levels are
/// walked again for every deeper one.
template <class T>
void yield_by_deepening(const Node<T>* root) {
  for (int depth = 0; detail::yield_at_depth(root, depth); ++depth) {
  }
}

}  // namespace cfs
