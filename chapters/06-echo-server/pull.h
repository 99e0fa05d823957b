// pull.h: a sequence you pull values from, with the semantics of Go's
// iter.Pull: next() and stop().
//
//   cfs::Pull<int> in_order(cfs::yield_in_order<int>, tree.get());
//   while (std::optional<int> v = in_order.next()) use(*v);
//
// - next() returns the next value, or an empty optional once the sequence
//   is over, and keeps returning empty after that.
// - stop() ends the sequence early: the body's stack is unwound, so its
//   destructors run. It is idempotent; called before the first next(), the
//   body never runs at all.
// - An exception from the body comes out of next() once; then the sequence
//   is over.
// - next() or stop() from inside the body being iterated is a clear error
//   (a sequence cannot pull from itself).
#pragma once

#include <optional>
#include <utility>

#include "coroutine.h"

namespace cfs {

//! [pull]
template <class T>
class Pull {
 public:
  /// The sequence of values that `f(args...)` yields, run in a coroutine.
  /// (Only a callable body: see cfs::body_for in coroutine.h.)
  template <class F, class... Args>
    requires body_for<F, Args...>
  explicit Pull(F&& f, Args&&... args) : coro_(std::forward<F>(f), std::forward<Args>(args)...) {}

  /// The same, with the coroutine's stack made as `options` say.
  template <class F, class... Args>
    requires body_for<F, Args...>
  Pull(const StackOptions& options, F&& f, Args&&... args)
      : coro_(options, std::forward<F>(f), std::forward<Args>(args)...) {}

  std::optional<T> next() {
    check_not_inside("next()");
    if (over_) return std::nullopt;
    try {
      std::optional<T> v = coro_.resume();
      if (!v) end();  // the body returned: free its stack now
      return v;
    } catch (...) {
      end();  // it threw: over, and the exception goes to the caller once
      throw;
    }
  }

  void stop() {
    check_not_inside("stop()");
    end();
  }

  /// True once next() has returned empty, thrown, or stop() was called.
  bool over() const { return over_; }

 private:
  void check_not_inside(const char* what) const {
    if (coro_.status() == Status::running || coro_.status() == Status::normal) {
      throw CoroutineError(std::string("cfs: Pull::") + what +
                           " called from inside the body of the sequence it pulls from");
    }
  }
  void end() {
    over_ = true;
    Coroutine<T> gone(std::move(coro_));  // destroyed here: a suspended body unwinds
  }
  Coroutine<T> coro_;
  bool over_ = false;
};
//! [pull]

}  // namespace cfs
