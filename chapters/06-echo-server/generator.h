// generator.h: a Pull sequence as a range, for range-for and algorithms.
//
//   for (int v : cfs::Generator<int>(cfs::yield_in_order<int>, tree.get())) ...
//   auto g = cfs::Generator<int>(...);
//   auto it = std::find(g.begin(), g.end(), 42);
//
// begin() starts the body and runs it to its first yield; ++ runs it to the
// next one. The iterators are input iterators: one pass, and an iterator
// compares equal to end() once the body has finished.
#pragma once

#include <cstddef>
#include <iterator>
#include <optional>
#include <type_traits>
#include <utility>

#include "pull.h"

namespace cfs {

//! [generator]
template <class T>
class Generator {
 public:
  /// Takes what Pull<T> takes: a body and its arguments, maybe after a
  /// StackOptions. (Constrained, so that a Generator is never taken for
  /// one: copying a Generator is a plain "deleted" error.)
  template <class... A>
    requires std::is_constructible_v<Pull<T>, A...>
  explicit Generator(A&&... a) : pull_(std::forward<A>(a)...) {}

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;

    iterator() = default;  // the end
    const T& operator*() const { return *current_; }
    const T* operator->() const { return &*current_; }
    iterator& operator++() {
      current_ = pull_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    /// Equal when both are at the end (input iterators compare only that).
    friend bool operator==(const iterator& a, const iterator& b) {
      return a.current_.has_value() == b.current_.has_value();
    }

   private:
    friend class Generator;
    explicit iterator(Pull<T>* pull) : pull_(pull), current_(pull->next()) {}
    Pull<T>* pull_ = nullptr;
    std::optional<T> current_;
  };

  iterator begin() { return iterator(&pull_); }
  iterator end() { return iterator(); }
  /// Ends the sequence early (see Pull::stop).
  void stop() { pull_.stop(); }

 private:
  Pull<T> pull_;
};
//! [generator]

}  // namespace cfs
