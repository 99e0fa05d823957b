// tests/test_batched.cpp: the batched walk yields the same sequence as the
// per-value walk, in full batches but the last, from one reused buffer.
#include <doctest/doctest.h>

#include <span>
#include <vector>

#include "../../../common/sanitizer_fiber.h"
#include "../batched_walk.h"
#include "../pull.h"

namespace {
struct Batches {
  std::vector<int> values;
  std::vector<std::size_t> sizes;
  std::vector<const int*> buffers;
};

template <std::size_t N>
Batches pull_batches(const cfs::Node<int>* root) {
  Batches out;
  cfs::Pull<std::span<const int>> walk(cfs::yield_in_order_batched<int, N>, root);
  while (auto batch = walk.next()) {
    out.values.insert(out.values.end(), batch->begin(), batch->end());
    out.sizes.push_back(batch->size());
    out.buffers.push_back(batch->data());
  }
  return out;
}

/// Counts its live instances.
struct Counted {
  static inline int alive = 0;
  int v = 0;
  Counted() { ++alive; }
  Counted(const Counted& o) : v(o.v) { ++alive; }
  Counted& operator=(const Counted&) = default;
  ~Counted() { --alive; }
};

std::vector<int> per_value(const cfs::Node<int>* root) {
  std::vector<int> out;
  cfs::Pull<int> walk(cfs::yield_in_order<int>, root);
  while (auto v = walk.next()) out.push_back(*v);
  return out;
}
}  // namespace

TEST_CASE("the batched walk yields the per-value walk's sequence, 64 values a batch") {
  for (int n : {0, 1, 63, 64, 65, 1000}) {
    CAPTURE(n);
    cfs::Tree<int> t = cfs::balanced_of_size(n);
    Batches b = pull_batches<64>(t.get());
    CHECK(b.values == per_value(t.get()));
    CHECK(b.sizes.size() == static_cast<std::size_t>((n + 63) / 64));  // no empty batch
    for (std::size_t i = 0; i + 1 < b.sizes.size(); ++i) CHECK(b.sizes[i] == 64);
    if (n > 0) CHECK(b.sizes.back() == static_cast<std::size_t>(n % 64 == 0 ? 64 : n % 64));
  }
}

TEST_CASE("every batch is a view of the same buffer, on the coroutine's stack") {
  cfs::Tree<int> t = cfs::balanced_of_size(1000);
  Batches b = pull_batches<64>(t.get());
  REQUIRE(b.buffers.size() == 16);
  for (const int* p : b.buffers) CHECK(p == b.buffers.front());

  cfs::Pull<std::span<const int>> walk(cfs::yield_in_order_batched<int>, t.get());
  auto batch = walk.next();
  REQUIRE(batch.has_value());
  const cfs::detail::cfs_coroutine_record* newest = cfs_live_coroutines;  // the walk's
  REQUIRE(newest != nullptr);
  auto* p = reinterpret_cast<const char*>(batch->data());
#if defined(CFS_ASAN)
  // The asan preset runs with detect_stack_use_after_return=1: ASan moves
  // locals to a "fake stack" of its own, so the buffer is not on ours there.
  (void)p;
#else
  CHECK(p >= static_cast<const char*>(newest->stack_lo));
  CHECK(p + batch->size_bytes() <= static_cast<const char*>(newest->stack_hi));
#endif
}

TEST_CASE("a batch of one is the per-value walk again") {
  cfs::Tree<int> t = cfs::balanced_of_size(100);
  Batches b = pull_batches<1>(t.get());
  CHECK(b.values == per_value(t.get()));
  CHECK(b.sizes == std::vector<std::size_t>(100, 1));
}

TEST_CASE("stopping a batched walk half-way unwinds it: the buffer's elements are destroyed") {
  cfs::Tree<Counted> t = cfs::balanced(std::vector<Counted>(200));
  const int in_tree = Counted::alive;
  {
    cfs::Pull<std::span<const Counted>> walk(cfs::yield_in_order_batched<Counted, 64>, t.get());
    REQUIRE(walk.next().has_value());
    CHECK(Counted::alive == in_tree + 64);  // the buffer lives on the coroutine's stack
    walk.stop();
    CHECK(Counted::alive == in_tree);  // unwound: the buffer is gone
  }
  CHECK(Counted::alive == in_tree);
}
