// traversals.h: walking a tree three ways.
//
// 1. Recursive functions that yield each value: the stackful-coroutine way.
//    The recursion is the plain textbook one; yield() suspends the whole
//    chain of recursive calls and resume() continues it.
// 2. Recursive functions that call a visitor: fast, but the caller cannot
//    stop in the middle, hold two walks side by side, or pull values lazily.
// 3. A hand-written iterator with an explicit stack: lazy and fast, but the
//    recursion had to be turned inside out by hand.
#pragma once

#include <vector>

#include "coroutine.h"
#include "tree.h"

namespace cfs {

//! [yield-traversals]
/// Yields the values of `n`'s subtree in order: left, node, right.
template <class T>
void yield_in_order(const Node<T>* n) {
  if (n == nullptr) return;
  yield_in_order(n->left.get());
  cfs::yield<T>(n->value);
  yield_in_order(n->right.get());
}

/// Node, left, right.
template <class T>
void yield_pre_order(const Node<T>* n) {
  if (n == nullptr) return;
  cfs::yield<T>(n->value);
  yield_pre_order(n->left.get());
  yield_pre_order(n->right.get());
}

/// Left, right, node.
template <class T>
void yield_post_order(const Node<T>* n) {
  if (n == nullptr) return;
  yield_post_order(n->left.get());
  yield_post_order(n->right.get());
  cfs::yield<T>(n->value);
}
//! [yield-traversals]

//! [visitor]
/// Calls visit(value) for each value in order.
template <class T, class F>
void visit_in_order(const Node<T>* n, F& visit) {
  if (n == nullptr) return;
  visit_in_order(n->left.get(), visit);
  visit(n->value);
  visit_in_order(n->right.get(), visit);
}
//! [visitor]

//! [explicit-stack]
/// In-order iteration with the call stack made explicit: `path` holds the
/// nodes whose left subtree is being walked, as the recursion's frames would.
template <class T>
class InOrderIterator {
 public:
  explicit InOrderIterator(const Node<T>* root) { descend(root); }
  /// The next value, or nullptr at the end.
  const T* next() {
    if (path_.empty()) return nullptr;
    const Node<T>* n = path_.back();
    path_.pop_back();
    descend(n->right.get());
    return &n->value;
  }

 private:
  void descend(const Node<T>* n) {
    for (; n != nullptr; n = n->left.get()) path_.push_back(n);
  }
  std::vector<const Node<T>*> path_;
};
//! [explicit-stack]

}  // namespace cfs
