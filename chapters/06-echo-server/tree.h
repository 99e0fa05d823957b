// tree.h: a plain binary tree, and a few ways to build one.
//
// Nothing here knows about coroutines: the point of the chapter is that the
// traversals in traversals.h stay ordinary recursive functions.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace cfs {

//! [node]
template <class T>
struct Node {
  T value;
  std::unique_ptr<Node> left;
  std::unique_ptr<Node> right;

  explicit Node(T v, std::unique_ptr<Node> l = nullptr, std::unique_ptr<Node> r = nullptr)
      : value(std::move(v)), left(std::move(l)), right(std::move(r)) {}

  // Destroy iteratively: the default destructor recurses once per level,
  // and a degenerate tree 100k levels deep would overflow the thread's stack.
  ~Node() {
    std::vector<std::unique_ptr<Node>> pending;
    if (left) pending.push_back(std::move(left));
    if (right) pending.push_back(std::move(right));
    while (!pending.empty()) {
      std::unique_ptr<Node> n = std::move(pending.back());
      pending.pop_back();
      if (n->left) pending.push_back(std::move(n->left));
      if (n->right) pending.push_back(std::move(n->right));
    }  // n has no children left: its destructor does not recurse
  }
};
//! [node]

template <class T>
using Tree = std::unique_ptr<Node<T>>;

/// A balanced tree whose in-order sequence is values[lo, hi).
template <class T>
Tree<T> balanced(const std::vector<T>& values, std::size_t lo, std::size_t hi) {
  if (lo >= hi) return nullptr;
  std::size_t mid = lo + (hi - lo) / 2;
  return std::make_unique<Node<T>>(values[mid], balanced(values, lo, mid), balanced(values, mid + 1, hi));
}

/// A balanced tree whose in-order sequence is `values`.
template <class T>
Tree<T> balanced(const std::vector<T>& values) {
  return balanced(values, 0, values.size());
}

/// A balanced tree of 0, 1, ..., n-1 (in order).
inline Tree<int> balanced_of_size(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return balanced(v);
}

/// A degenerate tree, `depth` levels deep: every node has only a left
/// child. Its in-order sequence is 0, 1, ..., depth-1 (the deepest first).
inline Tree<int> left_spine(int depth) {
  Tree<int> t;
  for (int i = 0; i < depth; ++i) t = std::make_unique<Node<int>>(i, std::move(t));
  return t;
}

}  // namespace cfs
