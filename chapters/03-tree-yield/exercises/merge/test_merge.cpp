// exercises/merge/test_merge.cpp: what yield_merged must do. `make
// exercise-03 EX=merge` runs them against your merge.h.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include <merge.h>  // <>: yours, or the solution's (see cfs_exercise())

namespace {

std::vector<int> merged(const cfs::Node<int>* a, const cfs::Node<int>* b) {
  std::vector<int> out;
  cfs::Pull<int> pull(cfs::yield_merged<int>, a, b);
  while (std::optional<int> v = pull.next()) out.push_back(*v);
  return out;
}

std::string show(const std::vector<int>& v) {
  std::string s = "{";
  for (int x : v) s += (s.size() > 1 ? ", " : "") + std::to_string(x);
  return s + "}";
}

}  // namespace

TEST_CASE("merging the evens and the odds gives every number, in order") {
  std::vector<int> evens, odds, all;
  for (int i = 0; i < 20; ++i) {
    (i % 2 == 0 ? evens : odds).push_back(i);
    all.push_back(i);
  }
  cfs::Tree<int> a = cfs::balanced(evens);
  cfs::Tree<int> b = cfs::balanced(odds);
  const std::vector<int> got = merged(a.get(), b.get());
  INFO("yield_merged gave " << show(got));
  if (got.empty()) {
    FAIL("it yielded nothing: make a cfs::Pull<T> over cfs::yield_in_order<T> for each tree; "
         "take the first value of each; then, while either has one, yield the smaller and "
         "take the next from the walk it came from");
  }
  CHECK_MESSAGE(got.size() == all.size(), "every value of both trees, each once");
  CHECK_MESSAGE(got == all, "in sorted order: always yield the smaller of the two in hand");
}

TEST_CASE("when one walk ends, the rest of the other follows") {
  cfs::Tree<int> small = cfs::balanced(std::vector<int>{1, 2});
  cfs::Tree<int> big = cfs::balanced(std::vector<int>{0, 3, 4, 5, 6, 7});
  const std::vector<int> got = merged(small.get(), big.get());
  INFO("merging {1, 2} with {0, 3, 4, 5, 6, 7} gave " << show(got));
  CHECK_MESSAGE(got == std::vector<int>({0, 1, 2, 3, 4, 5, 6, 7}),
                "an ended walk has no value in hand: go on with the other one alone, to its end");
  CHECK_MESSAGE(merged(nullptr, small.get()) == std::vector<int>({1, 2}),
                "an empty tree on the left: the right one alone");
  CHECK_MESSAGE(merged(small.get(), nullptr) == std::vector<int>({1, 2}),
                "an empty tree on the right: the left one alone");
  CHECK_MESSAGE(merged(nullptr, nullptr).empty(), "two empty trees: nothing, and no crash");
}

TEST_CASE("equal values are all kept") {
  cfs::Tree<int> a = cfs::balanced(std::vector<int>{1, 2, 2, 5});
  cfs::Tree<int> b = cfs::balanced(std::vector<int>{2, 3, 5});
  const std::vector<int> got = merged(a.get(), b.get());
  INFO("merging {1, 2, 2, 5} with {2, 3, 5} gave " << show(got));
  CHECK_MESSAGE(got == std::vector<int>({1, 2, 2, 2, 3, 5, 5}),
                "a merge keeps duplicates: on a tie yield one, and the other on a later turn");
}

TEST_CASE("a merge stopped half-way ends, with both walks") {
  cfs::Tree<int> a = cfs::balanced_of_size(100);
  cfs::Tree<int> b = cfs::balanced_of_size(100);
  cfs::Pull<int> pull(cfs::yield_merged<int>, a.get(), b.get());
  std::vector<int> first;
  for (int i = 0; i < 5; ++i) {
    std::optional<int> v = pull.next();
    REQUIRE_MESSAGE(v.has_value(), "the merge of two trees of 100 ended after " << i << " values");
    first.push_back(*v);
  }
  INFO("the first five: " << show(first));
  CHECK(first == std::vector<int>({0, 0, 1, 1, 2}));
  // Stopping destroys the merge's coroutine while it is suspended: its
  // locals (the two Pulls) are destroyed as it unwinds, and they unwind
  // their own walks. The sanitizer build (make test-asan) checks that no
  // stack and no memory is left behind.
  pull.stop();
  CHECK(pull.over());
  CHECK(pull.next() == std::nullopt);
}
