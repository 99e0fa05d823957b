// exercises/resume-value/test_two_way.cpp: what TwoWay<Out, In> must do.
// `make exercise-02 EX=resume-value` runs them against your two_way.h.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <two_way.h>  // <>: yours, or the solution's (see cfs_exercise())

using cfs::TwoWay;

TEST_CASE("the first resume's value is the body's argument") {
  TwoWay<int, int> times_ten([](int first) { TwoWay<int, int>::yield(first * 10); });
  const int got = times_ten.resume(5).value_or(-1);
  INFO("resume(5) gave " << got << "; the body yields its argument times 10");
  if (got == 0) {
    FAIL("the body's argument was In{}, not the first resume's 5. As in Lua, the values of "
         "the first resume, which no yield is waiting for, are the body's arguments: keep "
         "resume()'s value in the object until the body starts, and pass it to the body");
  }
  CHECK(got == 50);
}

TEST_CASE("each later resume's value is what the pending yield returns") {
  TwoWay<int, int> sum([](int first) {
    int total = first;
    for (;;) total += TwoWay<int, int>::yield(total);
  });
  const int first = sum.resume(1).value_or(-1);
  const int second = sum.resume(2).value_or(-1);
  INFO("resume(1) gave " << first << ", then resume(2) gave " << second
                         << " (the body yields a running total)");
  if (first == second) {
    FAIL("the total did not grow: yield() returned In{} instead of the 2 that resume(2) handed "
         "in. resume() must put its value where yield() looks after its switch comes back. "
         "yield() is static: which TwoWay is it in? Find out before it suspends "
         "(first_coroutine.h's running() is one way), and read that object's value after");
  }
  CHECK(first == 1);
  CHECK(second == 3);
  CHECK(sum.resume(10).value_or(-1) == 13);
  CHECK(sum.resume(-13).value_or(-1) == 0);
}

TEST_CASE("values that can only be moved go in, and come out of yield, intact") {
  TwoWay<int, std::unique_ptr<int>> deref([](std::unique_ptr<int> first) {
    std::unique_ptr<int> p = std::move(first);
    for (;;) {
      const int v = p ? *p : -1;
      p = TwoWay<int, std::unique_ptr<int>>::yield(v);
    }
  });
  CHECK_MESSAGE(deref.resume(std::make_unique<int>(7)).value_or(-2) == 7,
                "the unique_ptr given to the first resume() arrived empty in the body "
                "(the body yields -1 for an empty one)");
  CHECK_MESSAGE(deref.resume(std::make_unique<int>(8)).value_or(-2) == 8,
                "the unique_ptr given to resume() came out of yield() empty: move it in, "
                "move it out");
}

TEST_CASE("when the body returns, resume() gives nothing, and resumed dead, it throws") {
  int seen = 0;
  TwoWay<int, int> once([&seen](int first) {
    seen = first;
    seen += TwoWay<int, int>::yield(first);  // takes the second resume's value, then ends
  });
  CHECK(once.resume(1).value_or(-1) == 1);
  CHECK_MESSAGE(!once.resume(2).has_value(), "the body returned: resume() is empty");
  CHECK_MESSAGE(seen == 3, "the second resume's 2 must have reached the body before it ended");
  CHECK(once.status() == cfs::Status::dead);
  // Lua: "cannot resume dead coroutine". Here: Coroutine's CoroutineError.
  CHECK_THROWS_AS(once.resume(3), cfs::CoroutineError);
}

TEST_CASE("two TwoWays, one resuming the other: each gets its own values") {
  // inner doubles what it is given; outer feeds inner its own values and
  // yields inner's answers plus one.
  TwoWay<int, int> inner([](int first) {
    int v = first;
    for (;;) v = TwoWay<int, int>::yield(2 * v);
  });
  TwoWay<int, int> outer([&inner](int first) {
    int v = first;
    for (;;) v = TwoWay<int, int>::yield(*inner.resume(v) + 1);
  });
  const int a = outer.resume(1).value_or(-1);
  const int b = outer.resume(5).value_or(-1);
  const int c = outer.resume(0).value_or(-1);
  INFO("outer.resume(1), (5), (0) gave " << a << ", " << b << ", " << c << "; expected 3, 11, 1");
  CHECK(a == 3);  // inner got 1: 2, plus one
  CHECK_MESSAGE(b == 11,
                "outer's yield() must get outer's resume value, inner's yield() inner's: "
                "after inner.resume() returns, the TwoWay running is outer again");
  CHECK(c == 1);
}

TEST_CASE("what the body throws comes out of resume(), as with Coroutine") {
  TwoWay<int, std::string> picky([](std::string first) {
    for (;;) {
      if (first.empty()) throw std::invalid_argument("empty name");
      first = TwoWay<int, std::string>::yield(static_cast<int>(first.size()));
    }
  });
  CHECK_MESSAGE(picky.resume("four").value_or(-1) == 4,
                "the body's argument must be the first resume's string");
  CHECK_MESSAGE(picky.resume("seven!!").value_or(-1) == 7,
                "the string passed to resume() must come out of yield()");
  CHECK_THROWS_AS(picky.resume(""), std::invalid_argument);
  CHECK(picky.status() == cfs::Status::dead);
}
