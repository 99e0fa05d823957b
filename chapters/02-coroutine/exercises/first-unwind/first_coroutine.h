// exercises/first-unwind/first_coroutine.h: YOUR CODE (exercise 12 of
// chapter 02): a copy of the chapter's first_coroutine.h, to change.
//
// The gap to close: a coroutine destroyed while its body is suspended in
// yield() unmaps its stack with the body's locals still on it, and their
// destructors never run (a lock never released, a file never closed). Make
// the destructor unwind the body first: resume it one last time, so that
// the pending yield() throws something only entry() catches, and then let
// entry() leave for good.
//
// Test it with `make exercise-02 EX=first-unwind`; the tests say what they
// expect. Hints: README.md, beside this file.
#pragma once

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
    self->body_();
    self->finished_ = true;
    leave(self->self_, self->resumer_, nullptr);
  }

  std::function<void()> body_;
  Stack stack_;            // 64 KiB from mmap, no guard page (chapter 01)
  Context self_;           // the body's side of the switch
  Context resumer_;        // whoever called resume() last
  std::optional<Y> value_;
  bool finished_ = false;
};

template <class Y>
void yield(Y value) {
  Coroutine<Y>::yield(std::move(value));
}

}  // namespace cfs::first
