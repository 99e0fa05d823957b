// solutions/post-order/post_order_iterator.h: a reference solution of
// chapter 03's exercise 7 (the starter is exercises/post-order/).
#pragma once

#include <vector>

#include "tree.h"

namespace cfs {

/// Post-order iteration with the call stack made explicit. `path_` holds
/// the nodes whose subtrees are being walked, root first, as the
/// recursion's frames would; the top of it is always the next node to
/// yield, because it is pushed only after descending as far as possible.
/// The one thing a frame knows and this has to work out: whether we come
/// back to a node from its left child (its right subtree is next) or from
/// its right one (the node itself is next).
template <class T>
class PostOrderIterator {
 public:
  explicit PostOrderIterator(const Node<T>* root) { descend(root); }

  /// The next value in post-order, or nullptr at the end.
  const T* next() {
    if (path_.empty()) return nullptr;
    const Node<T>* n = path_.back();  // both its subtrees are done
    path_.pop_back();
    if (!path_.empty()) {
      const Node<T>* parent = path_.back();
      // Back from the left child: the parent's right subtree comes next.
      if (parent->left.get() == n) descend(parent->right.get());
    }
    return &n->value;
  }

 private:
  /// Pushes `n` and goes down, left where it can, else right, to a leaf:
  /// the first node of n's subtree in post-order ends on top.
  void descend(const Node<T>* n) {
    while (n != nullptr) {
      path_.push_back(n);
      n = n->left ? n->left.get() : n->right.get();
    }
  }

  std::vector<const Node<T>*> path_;
};

}  // namespace cfs
