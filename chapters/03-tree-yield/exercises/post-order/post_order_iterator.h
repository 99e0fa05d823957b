// exercises/post-order/post_order_iterator.h: YOUR CODE (exercise 7 of
// chapter 03).
//
//   PostOrderIterator<T> it(root);
//   while (const T* v = it.next()) use(*v);   // left, right, node
//
// The post-order walk as a hand-written iterator with an explicit stack,
// the way InOrderIterator (traversals.h) does in-order: no recursion, no
// coroutine, all the walk's state in members. Then compare it with the
// five lines of yield_post_order. Test it with `make exercise-03
// EX=post-order`; the tests compare it with yield_post_order on trees of
// every shape. Hints: README.md, beside this file.
#pragma once

#include <vector>

#include "tree.h"

namespace cfs {

template <class T>
class PostOrderIterator {
 public:
  explicit PostOrderIterator(const Node<T>* root) { (void)root; }  // TODO

  /// The next value in post-order, or nullptr at the end.
  const T* next() {
    return nullptr;  // TODO
  }

 private:
  std::vector<const Node<T>*> path_;  // one way to start: as InOrderIterator
};

}  // namespace cfs
