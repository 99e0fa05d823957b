// batched_walk.h: one switch per batch of values instead of one per value.
//
//   cfs::Pull<std::span<const int>> walk(cfs::yield_in_order_batched<int>, tree.get());
//   while (auto batch = walk.next())
//     for (int v : *batch) use(v);
//
// When the work per value is smaller than a switch (a compact tree's
// visitor spends about 2 ns a node; a resume+yield round trip costs several
// times that), the switch *is* the cost, and the way to pay less for it is
// to switch less often. The walk below is the chapter's recursive visitor,
// unchanged, run inside a coroutine with a visitor that stores each value
// in a buffer on the coroutine's own stack, and yields a view of the buffer
// when it is full.
//
// What it gives up: the walk runs up to N values ahead of its consumer, and
// a batch is valid only until the next next(), since the buffer is reused.
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "traversals.h"

namespace cfs {

//! [batched-walk]
/// The visitor that batch-yields: it collects values in a buffer on the
/// coroutine's stack and yields a view of it when the buffer is full.
template <class T, std::size_t N>
struct BatchYielder {
  std::array<T, N> buffer;
  std::size_t size = 0;

  void operator()(const T& value) {
    buffer[size++] = value;
    if (size == N) [[unlikely]] hand_over();  // a yield deep inside the recursion
  }
  [[gnu::noinline]] void hand_over() {
    cfs::yield<std::span<const T>>(std::span<const T>(buffer.data(), size));
    size = 0;  // the consumer is done with this batch: refill the buffer
  }
};

/// Yields the values of `root`'s subtree in order, N at a time (the last
/// batch may be shorter; an empty tree yields nothing). Each batch is valid
/// until the next resume: the buffer is reused.
template <class T, std::size_t N = 64>
void yield_in_order_batched(const Node<T>* root) {
  BatchYielder<T, N> batches;
  visit_in_order(root, batches);  // the chapter's visitor, unchanged
  if (batches.size > 0) batches.hand_over();
}
//! [batched-walk]

}  // namespace cfs
