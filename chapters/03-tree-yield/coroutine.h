// coroutine.h: a stackful, asymmetric coroutine on top of chapter 01's switch.
//
//   cfs::Coroutine<int> counter([](int from, int to) {
//     for (int i = from; i < to; ++i) cfs::yield(i);
//   }, 1, 4);
//   while (auto v = counter.resume()) std::printf("%d\n", *v);  // 1 2 3
//
// - Stackful: the body runs on its own stack, so yield() works from any
//   depth of ordinary function calls inside it.
// - Asymmetric: resume() goes into a coroutine, yield() goes back to whoever
//   resumed it last. Values flow one way, from the yielder to the resumer.
// - The function and its arguments are copied into the coroutine when it is
//   created (std::ref passes a reference, as with std::thread) and applied
//   on its own stack at the first resume().
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "context.h"
#include "eh_globals.h"

// pthread_exit() and pthread_cancel() unwind the thread's stack with a
// forced unwind on glibc, which libstdc++ lets C++ code catch as
// abi::__forced_unwind (coroutine.cpp, [thread-exit]). Other C libraries
// (macOS, musl) end the thread without unwinding.
#if defined(__GLIBC__) && defined(__GLIBCXX__)
#define CFS_GLIBC_FORCED_UNWIND 1
#else
#define CFS_GLIBC_FORCED_UNWIND 0
#endif
#include "overflow_handler.h"
#include "stack_memory.h"
#include "stack_pool.h"

namespace cfs {

//! [status]
/// The states of a coroutine, as in Lua.
enum class Status {
  suspended,  ///< not started yet, or stopped in yield(): resume() may run it
  running,    ///< executing right now (it is the current coroutine)
  normal,     ///< alive but not running: it resumed another coroutine
  dead,       ///< its body returned or threw: it can never run again
};
//! [status]

/// "suspended", "running", "normal" or "dead".
const char* to_string(Status status);

/// Misuse of a coroutine: resuming a dead, running or normal one, yielding
/// outside any coroutine or with the wrong type. The message says what was
/// done and in which state.
class CoroutineError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

//! [forced-unwind]
/// What yield() throws inside a suspended coroutine that is being destroyed,
/// so that its stack unwinds and its locals' destructors run. It is not a
/// std::exception on purpose; a `catch (...)` in the body must rethrow it.
struct ForcedUnwind {};
//! [forced-unwind]

namespace detail {

//! [record]
/// What the debugger sees of every live coroutine (a plain C layout; the
/// lldb command in cfs_lldb.py reads it through the debug information).
///
/// `status` here is the debugger's view, and it changes only once a switch
/// has landed, on the side that arrives: while a switch is in flight, the
/// coroutine that is leaving still reads as running (its registers are the
/// thread's), and the one it goes to still reads as suspended or normal,
/// with its sp saved where the record says. So at every instruction one of
/// the two places holds a true stack pointer.
extern "C" struct cfs_coroutine_record {
  cfs_coroutine_record* next;  ///< the next live coroutine, or null
  cfs_coroutine_record* prev;
  void* const* saved_sp;       ///< where its sp is saved while it is suspended
  void* const* resumer_sp;     ///< where its resumer's sp is saved while it runs
  cfs_coroutine_record* resumer;  ///< that resumer: null for a thread's own stack
  const void* stack_lo;        ///< its stack: [stack_lo, stack_hi)
  const void* stack_hi;
  int status;                  ///< a cfs::Status
  const char* body_type;       ///< typeid(body).name(), mangled
};
//! [record]

/// Why a suspended coroutine is being resumed.
enum class WakeUp { resume, unwind, rethrow };

/// Everything a coroutine owns except its body. It lives at the top of the
/// coroutine's own stack: creating a coroutine allocates nothing else.
class ControlBlock {
 public:
  /// Sets up the first frame on `stack` (below this object, which lives at
  /// its top) and registers the coroutine. The stack is adopted later.
  ControlBlock(const StackMemory& stack, bool pooled, const char* body_type);
  /// Takes ownership of the stack this object lives on.
  void adopt(StackMemory stack) { stack_ = std::move(stack); }
  ControlBlock(const ControlBlock&) = delete;
  ControlBlock& operator=(const ControlBlock&) = delete;

  Status status() const { return status_; }

  //! [cb-resume]
  /// Runs the coroutine until it yields or finishes. `slot` is where a
  /// yield(value) constructs its value, `type` the type it must have.
  /// Throws CoroutineError on misuse, or rethrows what the body threw.
  ///
  /// Inline, like yield_value() and suspend(), so that cfs_switch is called
  /// from the caller's own frame: a function whose frame is live across a
  /// switch returns later through a return-stack buffer that the other side
  /// has filled, and that return is mispredicted (chapter 01 met the same
  /// effect with `ret`; notes/benchmarks.md has the prices). Everything
  /// else is out of line, in begin_resume() and end_resume().
  /// `why` and `error` (null for WakeUp::resume) say how a pending yield()
  /// ends: by returning, or by throwing ForcedUnwind or *error.
  void resume(void* slot, const std::type_info& type, WakeUp why = WakeUp::resume,
              std::exception_ptr* error = nullptr) {
    ControlBlock* from = nullptr;
    if (!begin_resume(slot, type, why, error, from)) return;
    jump(resumer_, self_, this);  // runs the body until it yields or finishes
    end_resume(from);
  }
  //! [cb-resume]

  /// Destroys the coroutine; unwinds its stack first if it is suspended
  /// inside its body. Aborts with a message if it is running or normal.
  static void destroy(ControlBlock* cb) noexcept;

  /// The coroutine running on this thread, or null.
  [[gnu::noinline]] static ControlBlock* current() noexcept;

  //! [cb-yield-value]
  /// Gives `value` (of `type`) to the resumer and suspends; called by
  /// cfs::yield(). `deliver` constructs the value in the resumer's slot.
  static void yield_value(const std::type_info& type, void (*deliver)(void* slot, void* value),
                          void* value) {
    begin_yield(type, deliver, value)->suspend();
  }
  //! [cb-yield-value]

 protected:
  virtual ~ControlBlock();
  /// Calls the body with its arguments (Body<F, Args...> below).
  virtual void run() = 0;

 private:
  static void entry(void* arg);
  [[noreturn]] void finish();
  // These read or write thread_locals, so they must never be inlined into
  // a function that switches (see [current] in coroutine.cpp): noinline.
  [[gnu::noinline]] bool begin_resume(void* slot, const std::type_info& type, WakeUp why,
                    std::exception_ptr* error, ControlBlock*& from);
  [[gnu::noinline]] void end_resume(ControlBlock* from);
  [[gnu::noinline]] static ControlBlock* begin_yield(const std::type_info& type,
                                   void (*deliver)(void* slot, void* value), void* value);
  //! [cb-suspend]
  /// Back to the resumer. When we get here again, somebody resumed us,
  /// maybe from another coroutine or another thread: learn its stack.
  void suspend() {
    status_ = Status::suspended;
    sanitizer::start_switch(&self_.fake_stack, resumer_.stack_lo, resumer_.stack_size);
    cfs_switch(&self_.sp, resumer_.sp, nullptr);
    sanitizer::finish_switch(self_.fake_stack, &resumer_.stack_lo, &resumer_.stack_size);
    arrived();
    if (wake_ != WakeUp::resume) woken_to_throw();
  }
  //! [cb-suspend]
  /// The debugger's record, on the coroutine's side of a switch that just
  /// landed: it runs, and its resumer (if a coroutine) waits for it.
  void arrived() {
    record_.status = static_cast<int>(Status::running);
    if (record_.resumer != nullptr) record_.resumer->status = static_cast<int>(Status::normal);
  }
  void woken_to_throw();
  [[gnu::noinline]] void continue_thread_exit();
  void check_resumable() const;

  Context self_;                 ///< this coroutine's side of the switch
  Context resumer_;              ///< whoever resumed it last
  Status status_ = Status::suspended;
  bool started_ = false;
  bool thread_exits_ = false;    ///< the body called pthread_exit() (see entry())
  WakeUp wake_ = WakeUp::resume;
  std::exception_ptr wake_error_;   ///< for WakeUp::rethrow
  std::exception_ptr body_error_;   ///< what the body threw, for resume()
  /// The resuming thread's C++ exception state (see eh_globals.h), and what
  /// it held at resume(): yield() compares, to refuse switching inside a
  /// catch block or during stack unwinding.
  EhGlobals* eh_ = nullptr;
  void* resumer_caught_ = nullptr;
  unsigned int resumer_uncaught_ = 0;
  void* slot_ = nullptr;
  const std::type_info* slot_type_ = nullptr;
  StackMemory stack_;
  bool pooled_;
  overflow::RunningStack running_stack_;
  cfs_coroutine_record record_;

  template <class F, class... Args>
  friend class Body;
};

//! [body]
/// The body and its arguments, copied in (decayed, as std::thread does).
template <class F, class... Args>
class Body final : public ControlBlock {
 public:
  template <class G, class... A>
  Body(const StackMemory& stack, bool pooled, G&& f, A&&... args)
      : ControlBlock(stack, pooled, typeid(F).name()),
        f_(std::forward<G>(f)),
        args_(std::forward<A>(args)...) {}

 private:
  void run() override { std::apply(std::move(f_), std::move(args_)); }
  F f_;
  std::tuple<Args...> args_;
};
//! [body]

/// Makes a Body at the top of a fresh stack (see ControlBlock).
template <class F, class... Args>
ControlBlock* make_body(const StackOptions& options, F&& f, Args&&... args);

void check_yield_type(const std::type_info& yielded, const std::type_info& expected);

}  // namespace detail

//! [body-for]
/// What a coroutine can be made from: a function that can be called with
/// the arguments, both decayed (copied in, as std::thread does). This keeps
/// the forwarding constructors from taking anything else, such as another
/// Coroutine (which is not callable): a copy is then a plain "deleted copy
/// constructor" error, not pages of errors from deep inside <tuple>.
template <class F, class... Args>
concept body_for = std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>;
//! [body-for]

//! [coroutine-class]
/// A coroutine that yields values of type Y (or nothing, for Y = void).
template <class Y>
class Coroutine {
 public:
  /// Copies `f` and `args` into a new coroutine with a default stack. The
  /// body does not run until the first resume().
  template <class F, class... Args>
    requires body_for<F, Args...>
  explicit Coroutine(F&& f, Args&&... args)
      : Coroutine(StackOptions{}, std::forward<F>(f), std::forward<Args>(args)...) {}

  /// The same, with a stack made as `options` say.
  template <class F, class... Args>
    requires body_for<F, Args...>
  Coroutine(const StackOptions& options, F&& f, Args&&... args)
      : cb_(detail::make_body(options, std::forward<F>(f), std::forward<Args>(args)...)) {}

  /// Runs the body until its next yield(value), and returns that value; or
  /// until it finishes, and returns an empty optional. Rethrows, once, what
  /// the body threw. For Y = void: returns whether the coroutine is still
  /// alive (it yielded rather than finished).
  auto resume() { return resume_as(detail::WakeUp::resume, nullptr); }

  //! [resume-throwing]
  /// Resumes the coroutine, making its pending yield() throw `error`
  /// instead of returning: how an event loop cancels a waiting coroutine
  /// (chapter 05). Returns like resume(); if the body lets `error` escape,
  /// resume_throwing() rethrows it, once, and the coroutine is dead.
  ///
  /// One rule covers a coroutine that has not started yet: it waits before
  /// the first line of its body, so the error is thrown there. No handler
  /// of the body can be in place yet, so the body never runs, the coroutine
  /// is dead, and resume_throwing() rethrows `error`.
  /// A null `error` is a CoroutineError, and the coroutine is untouched.
  auto resume_throwing(std::exception_ptr error) {
    if (!error) {
      throw CoroutineError(
          "cfs: resume_throwing() with a null exception_ptr: there is nothing to throw in "
          "the coroutine; pass std::make_exception_ptr(some_exception)");
    }
    return resume_as(detail::WakeUp::rethrow, &error);
  }
  //! [resume-throwing]

  /// Its state; a moved-from (empty) coroutine reports dead.
  Status status() const { return cb_ ? cb_->status() : Status::dead; }
  /// True if this object was moved from (it owns no coroutine).
  bool empty() const { return cb_ == nullptr; }

  /// Destroying a suspended coroutine unwinds its stack (ForcedUnwind);
  /// one that never started never runs its body.
  ~Coroutine() { reset(); }
  Coroutine(Coroutine&& other) noexcept : cb_(std::exchange(other.cb_, nullptr)) {}
  Coroutine& operator=(Coroutine&& other) noexcept {
    if (this != &other) {
      reset();
      cb_ = std::exchange(other.cb_, nullptr);
    }
    return *this;
  }
  Coroutine(const Coroutine&) = delete;
  Coroutine& operator=(const Coroutine&) = delete;

 private:
  //! [resume-as]
  // Reads cb_ once, before the switch. While the body runs, this handle may
  // move (the body can grow the std::vector that holds it, as an event
  // loop's task list does), so after the switch `this` may point at freed
  // memory: only the control block, which never moves, is used.
  auto resume_as(detail::WakeUp why, std::exception_ptr* error) {
    detail::ControlBlock* cb = cb_;
    if (!cb) throw CoroutineError("cfs: resume() of an empty Coroutine (it was moved from)");
    if constexpr (std::is_void_v<Y>) {
      cb->resume(nullptr, typeid(void), why, error);
      return cb->status() != Status::dead;
    } else {
      std::optional<Y> out;  // yield(value) constructs the value right here
      cb->resume(&out, typeid(Y), why, error);
      return out;
    }
  }
  //! [resume-as]
  void reset() noexcept {
    if (cb_) detail::ControlBlock::destroy(std::exchange(cb_, nullptr));
  }
  detail::ControlBlock* cb_;
};
//! [coroutine-class]

//! [yield]
/// Inside a Coroutine<Y>: hands `value` to the resumer and suspends until
/// resumed. Works from any depth of calls inside the body. The type must be
/// exactly Y (write yield<long>(1) in a Coroutine<long>); anything else, or
/// a call outside any coroutine, throws CoroutineError.
template <class Y>
void yield(Y value) {
  detail::ControlBlock::yield_value(
      typeid(Y),
      [](void* slot, void* v) {
        static_cast<std::optional<Y>*>(slot)->emplace(std::move(*static_cast<Y*>(v)));
      },
      &value);
}

/// Inside a Coroutine<void>: suspends until resumed.
void yield();
//! [yield]

/// True when called from inside a coroutine body (at any depth).
bool in_coroutine() noexcept;

//! [make-body]
namespace detail {
template <class F, class... Args>
ControlBlock* make_body(const StackOptions& options, F&& f, Args&&... args) {
  using B = Body<std::decay_t<F>, std::decay_t<Args>...>;
  StackMemory stack = stack_pool::acquire(options);
  // Place the Body at the very top of the stack, aligned for its type; the
  // coroutine's frames start below it.
  auto top = reinterpret_cast<std::uintptr_t>(stack.hi());
  auto at = (top - sizeof(B)) & ~(std::uintptr_t{alignof(B)} - 1);
  if (top - at > stack.size() / 2) {
    throw CoroutineError("cfs: the coroutine's function and arguments take more than half its stack");
  }
  // Build the Body in place; if copying f or args throws, the stack goes
  // back to the pool (the Body owns its stack only once it exists).
  B* body;
  try {
    body = new (reinterpret_cast<void*>(at))
        B(stack, options.pooled, std::forward<F>(f), std::forward<Args>(args)...);
  } catch (...) {
    stack_pool::release(std::move(stack), options.pooled);
    throw;
  }
  body->adopt(std::move(stack));
  return body;
}
}  // namespace detail
//! [make-body]

}  // namespace cfs

/// The live coroutines of the process, newest first, linked through
/// cfs_coroutine_record::next. For debuggers: cfs_lldb.py walks it.
extern "C" cfs::detail::cfs_coroutine_record* cfs_live_coroutines;
