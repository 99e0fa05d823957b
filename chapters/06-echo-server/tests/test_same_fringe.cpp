// tests/test_same_fringe.cpp: two lazy walks side by side.
#include <doctest/doctest.h>

#include <vector>

#include "../same_fringe.h"

namespace {
//! [counting-frames]
/// A traversal that counts its live frames, to see that abandoned walks unwind.
int live_frames = 0;
void counting_in_order(const cfs::Node<int>* n) {
  if (n == nullptr) return;
  struct Frame {
    Frame() { ++live_frames; }
    ~Frame() { --live_frames; }
  } frame;
  counting_in_order(n->left.get());
  cfs::yield(n->value);
  counting_in_order(n->right.get());
}
//! [counting-frames]
}  // namespace

TEST_CASE("same fringe: equal sequences in different shapes") {
  cfs::Tree<int> balanced = cfs::balanced_of_size(31);
  cfs::Tree<int> spine = cfs::left_spine(31);
  CHECK(cfs::same_fringe(balanced.get(), spine.get()));
  CHECK(cfs::same_fringe<int>(nullptr, nullptr));
}

TEST_CASE("same fringe: a difference in the middle, or one sequence ending first") {
  std::vector<int> values(31);
  for (int i = 0; i < 31; ++i) values[static_cast<std::size_t>(i)] = i;
  cfs::Tree<int> a = cfs::balanced(values);
  values[15] = -1;
  cfs::Tree<int> b = cfs::balanced(values);
  CHECK_FALSE(cfs::same_fringe(a.get(), b.get()));
  cfs::Tree<int> shorter = cfs::balanced_of_size(30);
  CHECK_FALSE(cfs::same_fringe(a.get(), shorter.get()));
  CHECK_FALSE(cfs::same_fringe<int>(a.get(), nullptr));
}

//! [abandon]
TEST_CASE("stopping at the first difference abandons both walks mid-way and unwinds them") {
  cfs::Tree<int> a = cfs::balanced_of_size(1023);  // 10 levels
  std::vector<int> values(1023);
  for (int i = 0; i < 1023; ++i) values[static_cast<std::size_t>(i)] = i;
  values[100] = -1;
  cfs::Tree<int> b = cfs::balanced(values);
  {
    cfs::Pull<int> left(counting_in_order, a.get());
    cfs::Pull<int> right(counting_in_order, b.get());
    int compared = 0;
    for (;;) {
      auto x = left.next(), y = right.next();
      ++compared;
      if (x != y) break;
    }
    CHECK(compared == 101);
    CHECK(live_frames > 2 * 5);  // both walks are suspended deep inside
  }
  CHECK(live_frames == 0);  // destroying the Pulls unwound every frame
}
//! [abandon]
