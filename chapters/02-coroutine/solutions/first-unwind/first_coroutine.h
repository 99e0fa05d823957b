// solutions/first-unwind/first_coroutine.h: a reference solution of
// chapter 02's exercise 12 (the starter is exercises/first-unwind/).
//
// The destructor of a coroutine suspended in yield() resumes it once more
// with unwinding_ set; yield() then throws Unwind, which unwinds the body's
// frames (running its locals' destructors, innermost first) up to entry(),
// which catches it and leaves for good. A body never started has nothing
// on its stack; a finished one has nothing left: both are just unmapped.
// (A body that swallows Unwind with catch (...) would run on: exercise 8.)
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

  /// A body suspended in yield() is unwound first: its locals are
  /// destroyed, innermost first, before the stack is unmapped.
  ~Coroutine() {
    if (!started_ || finished_) return;  // nothing on the stack to unwind
    unwinding_ = true;
    Coroutine* outer = std::exchange(running(), this);
    jump(resumer_, self_, this);  // yield() throws Unwind; entry() leaves
    running() = outer;
  }

  /// Runs the body until it yields a value (returned) or finishes (empty).
  std::optional<Y> resume() {
    if (finished_) return std::nullopt;
    started_ = true;
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
    if (self->unwinding_) throw Unwind{};         // woken by the destructor
  }

 private:
  /// What yield() throws in a body being destroyed. Not a std::exception,
  /// and private: only entry() catches it by name.
  struct Unwind {};

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
    } catch (const Unwind&) {
      // the destructor's doing: the body's frames are unwound
    }
    self->finished_ = true;
    leave(self->self_, self->resumer_, nullptr);
  }

  std::function<void()> body_;
  Stack stack_;            // 64 KiB from mmap, no guard page (chapter 01)
  Context self_;           // the body's side of the switch
  Context resumer_;        // whoever called resume() last
  std::optional<Y> value_;
  bool started_ = false;    // resume() ran it at least once
  bool finished_ = false;
  bool unwinding_ = false;  // set by the destructor, read by yield()
};

template <class Y>
void yield(Y value) {
  Coroutine<Y>::yield(std::move(value));
}

}  // namespace cfs::first
