// stackless_generator.h: a minimal C++20 (stackless) generator, to compare.
//
// A C++20 coroutine keeps only its own frame (on the heap); it cannot
// suspend from a function it calls. So a recursive traversal must make
// every level a coroutine of its own, and hand each value up through every
// level above it: a tree of depth d costs d frames alive at once and d
// resumptions per value. The stackful version suspends the whole recursion
// with one switch.
#pragma once

#include <coroutine>
#include <exception>
#include <utility>

#include "tree.h"

namespace cfs {

template <class T>
class StacklessGenerator {
 public:
  struct promise_type {
    const T* value = nullptr;
    std::exception_ptr error;
    StacklessGenerator get_return_object() {
      return StacklessGenerator(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    std::suspend_always yield_value(const T& v) noexcept {
      value = &v;
      return {};
    }
    void return_void() noexcept {}
    void unhandled_exception() { error = std::current_exception(); }
  };
  using Handle = std::coroutine_handle<promise_type>;

  class iterator {
   public:
    const T& operator*() const { return *h_.promise().value; }
    iterator& operator++() {
      advance();
      return *this;
    }
    bool operator==(std::default_sentinel_t) const { return h_.done(); }

   private:
    friend class StacklessGenerator;
    explicit iterator(Handle h) : h_(h) { advance(); }
    void advance() {
      h_.resume();
      if (h_.promise().error) std::rethrow_exception(std::exchange(h_.promise().error, nullptr));
    }
    Handle h_;
  };

  iterator begin() { return iterator(h_); }
  std::default_sentinel_t end() { return {}; }

  StacklessGenerator(StacklessGenerator&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  StacklessGenerator& operator=(StacklessGenerator&&) = delete;
  ~StacklessGenerator() {
    if (h_) h_.destroy();
  }

 private:
  explicit StacklessGenerator(Handle h) : h_(h) {}
  Handle h_;
};

//! [stackless-in-order]
/// In order, stackless: one coroutine frame per level, every value passed
/// up by each level above it.
template <class T>
StacklessGenerator<T> stackless_in_order(const Node<T>* n) {
  if (n == nullptr) co_return;
  for (const T& v : stackless_in_order(n->left.get())) co_yield v;
  co_yield n->value;
  for (const T& v : stackless_in_order(n->right.get())) co_yield v;
}
//! [stackless-in-order]

}  // namespace cfs
