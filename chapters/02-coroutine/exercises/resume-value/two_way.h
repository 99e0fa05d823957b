// exercises/resume-value/two_way.h: YOUR CODE (exercise 11 of chapter 02).
//
// Coroutine<Y> passes values one way: yield(value) out to the resumer.
// Lua's coroutines pass them both ways: coroutine.resume(co, v) hands v in,
// and it comes out of the pending coroutine.yield() as its return value;
// the very first resume's values, which no yield is waiting for, become
// the body's arguments. TwoWay<Out, In> does the same on top of Coroutine:
//
//   cfs::TwoWay<int, int> sum([](int first) {
//     int total = first;
//     for (;;) total += cfs::TwoWay<int, int>::yield(total);
//   });
//   sum.resume(1);   // 1: the body got 1 as `first`, and yielded it
//   sum.resume(2);   // 3: the pending yield returned 2
//   sum.resume(10);  // 13
//
// As it stands it compiles and runs, but nothing goes in: the body gets
// In{} and every yield() returns In{}. Test it with `make exercise-02
// EX=resume-value`; the tests say what they expect. Hints: README.md,
// beside this file.
#pragma once

#include <functional>
#include <optional>
#include <utility>

#include "coroutine.h"

namespace cfs {

template <class Out, class In>
class TwoWay {
 public:
  /// The body runs at the first resume(), with that resume's value.
  explicit TwoWay(std::function<void(In)> body)
      : body_(std::move(body)), coro_([this] { body_(In{}); }) {}  // TODO: not In{}
  // The coroutine's body points at this object: it must stay where it is.
  TwoWay(const TwoWay&) = delete;
  TwoWay& operator=(const TwoWay&) = delete;

  /// Hands `value` in and runs the body until it yields (returned) or
  /// finishes (empty). Like Coroutine::resume(), it rethrows what the body
  /// threw and throws CoroutineError when resumed dead.
  std::optional<Out> resume(In value) {
    (void)value;  // TODO: somewhere the body can find it
    return coro_.resume();
  }

  /// Inside the body, at any depth: hands `value` out and returns the
  /// value of the resume() that wakes the body up again.
  static In yield(Out value) {
    cfs::yield<Out>(std::move(value));
    return In{};  // TODO: that resume()'s value. Which TwoWay resumed us?
  }

  Status status() const { return coro_.status(); }

 private:
  std::function<void(In)> body_;
  Coroutine<Out> coro_;
};

}  // namespace cfs
