// nested_traversal.h: the traversal without recursion on any one stack:
// a coroutine per tree level, each pulling from its children's coroutines.
//
// The original author's notes wonder whether this costs a great deal of
// memory and buys nothing. It is the stackful twin of stackless_in_order: each
// level of the tree gets its own coroutine, so its own stack, and every
// value is handed up through every level. tests/test_nested.cpp counts the
// coroutines alive at once; bench/bench_tree.cpp measures time and memory.
#pragma once

#include <algorithm>

#include "pull.h"
#include "tree.h"

namespace cfs {

/// How many nested-traversal coroutines are alive now, and the most so far.
struct NestedCount {
  int alive = 0;
  int peak = 0;
};
inline thread_local NestedCount nested_count;

// The traversal below yields, so after any yield it may go on on another
// thread, and a compiler may keep a thread_local's address in a register
// across the switch (chapter 02, [current]). So the count is touched only in
// these two functions, which never switch and are never inlined into one
// that does.
[[gnu::noinline]] inline void nested_enter() {
  nested_count.peak = std::max(nested_count.peak, ++nested_count.alive);
}
[[gnu::noinline]] inline void nested_leave() { --nested_count.alive; }

//! [nested]
/// Yields `n`'s subtree in order; each child subtree is walked by a
/// coroutine of its own, made with `options`.
template <class T>
void yield_in_order_nested(const Node<T>* n, StackOptions options) {
  if (n == nullptr) return;
  struct Alive {  // counts this coroutine while it exists
    Alive() { nested_enter(); }
    ~Alive() { nested_leave(); }
  } alive;
  auto walk = [&options](const Node<T>* child) {
    if (child == nullptr) return;
    Pull<T> sub(options, yield_in_order_nested<T>, child, options);
    while (std::optional<T> v = sub.next()) cfs::yield<T>(std::move(*v));
  };
  walk(n->left.get());
  cfs::yield<T>(n->value);
  walk(n->right.get());
}
//! [nested]

}  // namespace cfs
