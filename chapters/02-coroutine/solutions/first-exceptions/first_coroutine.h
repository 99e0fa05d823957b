// solutions/first-exceptions/first_coroutine.h: a reference solution of
// chapter 02's exercise 10 (the starter is exercises/first-exceptions/).
//
// entry() catches whatever the body throws into an exception_ptr, and
// leaves *after* the catch block: a switch from inside it would leave the
// exception on this thread's list of exceptions being handled (the C++
// runtime's per-thread state, which the switch does not carry), and the
// resumer would find it there after its own catch had ended. resume()
// rethrows it; the coroutine is finished from then on.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <utility>

#include "context.h"
#include "stack.h"

namespace cfs::first {

template <class Y>
class Coroutine {
 public:
  /// The body does not run yet: its stack gets a first frame that will
  /// call entry(this) at the first resume().
  explicit Coroutine(std::function<void()> body) : body_(std::move(body)) {
    prepare(self_, stack_, &Coroutine::entry);
  }

  /// Runs the body until it yields a value (returned) or finishes (empty).
  std::optional<Y> resume() {
    if (finished_) return std::nullopt;
    Coroutine* outer = std::exchange(running(), this);  // nested resumes
    value_.reset();
    jump(resumer_, self_, this);  // ...until the body yields or finishes
    running() = outer;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));  // the body threw
    return std::move(value_);
  }

  /// Inside the body, at any depth: hands `value` to resume() and waits.
  static void yield(Y value) {
    Coroutine* self = running();
    self->value_ = std::move(value);
    jump(self->self_, self->resumer_, nullptr);  // resume() goes on
  }

 private:
  /// The coroutine running now (one thread only: a plain static).
  static Coroutine*& running() {
    static Coroutine* current = nullptr;
    return current;
  }
  /// The first code on the new stack. It must never return (chapter 01):
  /// when the body is done, it leaves for good.
  static void entry(void* arg) {
    auto* self = static_cast<Coroutine*>(arg);
    arrived_first_time(self->resumer_);
    try {
      self->body_();
    } catch (...) {
      self->error_ = std::current_exception();  // for resume() to rethrow
    }
    // Out of the catch block: the exception is no longer "being handled"
    // on this thread when we leave.
    self->finished_ = true;
    leave(self->self_, self->resumer_, nullptr);
  }

  std::function<void()> body_;
  Stack stack_;            // 64 KiB from mmap, no guard page (chapter 01)
  Context self_;           // the body's side of the switch
  Context resumer_;        // whoever called resume() last
  std::optional<Y> value_;
  std::exception_ptr error_;  // what the body threw, until resume() rethrows it
  bool finished_ = false;
};

template <class Y>
void yield(Y value) {
  Coroutine<Y>::yield(std::move(value));
}

}  // namespace cfs::first
