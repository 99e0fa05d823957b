// solutions/resume-value/two_way.h: a reference solution of chapter 02's
// exercise 11 (the starter is exercises/resume-value/two_way.h).
//
// resume(v) puts v in the object's inbox and marks the object current for
// this thread while the body runs (the previous one comes back afterwards,
// so that TwoWays nest); the body's first value is taken from the inbox as
// its argument, and each yield() takes the next from the inbox of the
// TwoWay that was current when it was called: the one that resumes it.
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
      : body_(std::move(body)), coro_([this] { body_(take()); }) {}
  // The coroutine's body points at this object: it must stay where it is.
  TwoWay(const TwoWay&) = delete;
  TwoWay& operator=(const TwoWay&) = delete;

  /// Hands `value` in and runs the body until it yields (returned) or
  /// finishes (empty). Like Coroutine::resume(), it rethrows what the body
  /// threw and throws CoroutineError when resumed dead.
  std::optional<Out> resume(In value) {
    inbox_.emplace(std::move(value));
    // This one is current while its body runs; the previous one (a
    // TwoWay whose body called us, or none) again afterwards, however we
    // leave: by a value, the end of the body, or an exception.
    struct Restore {
      TwoWay* previous;
      ~Restore() { current() = previous; }
    } restore{std::exchange(current(), this)};
    std::optional<Out> out = coro_.resume();
    inbox_.reset();  // a value the body never took (it finished) is dropped
    return out;
  }

  /// Inside the body, at any depth: hands `value` out and returns the
  /// value of the resume() that wakes the body up again.
  static In yield(Out value) {
    TwoWay* self = current();  // ours: it is the one running this body
    if (self == nullptr) throw CoroutineError("cfs: TwoWay::yield() outside any TwoWay's body");
    cfs::yield<Out>(std::move(value));
    return self->take();       // resume(v) has put v in our inbox by now
  }

  Status status() const { return coro_.status(); }

 private:
  /// The TwoWay of this type whose body runs on this thread now, or null.
  static TwoWay*& current() {
    thread_local TwoWay* running = nullptr;
    return running;
  }
  In take() {
    In v = std::move(*inbox_);
    inbox_.reset();
    return v;
  }

  std::function<void(In)> body_;
  std::optional<In> inbox_;  // resume()'s value, until the body takes it
  Coroutine<Out> coro_;
};

}  // namespace cfs
