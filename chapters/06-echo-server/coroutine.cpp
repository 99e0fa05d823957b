// coroutine.cpp: resume, yield, finish and destroy, on top of cfs_switch.
#include "coroutine.h"

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "../../common/sanitizer_fiber.h"
#include "stack_pool.h"

extern "C" {
cfs::detail::cfs_coroutine_record* cfs_live_coroutines = nullptr;
}

namespace cfs {

const char* to_string(Status status) {
  switch (status) {
    case Status::suspended: return "suspended";
    case Status::running: return "running";
    case Status::normal: return "normal";
    case Status::dead: return "dead";
  }
  return "?";
}

namespace detail {

namespace {

std::mutex g_registry_mutex;  // guards cfs_live_coroutines

//! [current]
// The coroutine running on this thread. A compiler may keep the address of
// a thread_local in a register for the rest of a function; if that function
// switched stacks in between and the coroutine was later resumed on another
// thread, it would go on using the first thread's variable. So the
// thread_locals are read and written only in functions that never switch:
// begin_resume(), end_resume(), begin_yield(), current(). resume(),
// suspend() and yield(), which do switch, never touch them.
thread_local ControlBlock* t_current = nullptr;
ControlBlock* get_current() noexcept { return t_current; }
void set_current(ControlBlock* cb) noexcept { t_current = cb; }
//! [current]

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                            std::free);
  return status == 0 && out ? out.get() : name;
}

}  // namespace

//! [control-block]
ControlBlock::ControlBlock(const StackMemory& stack, bool pooled, const char* body_type)
    : pooled_(pooled) {
  // Frames go below this object, which sits at the very top of the stack.
  self_.sp = cfs_prepare(this, &ControlBlock::entry);
  self_.stack_lo = stack.lo();
  self_.stack_size = stack.size();
  running_stack_ = {stack.lo() - stack.guard_size(), stack.lo(), stack.hi()};
  record_ = {nullptr,    nullptr,    &self_.sp, &resumer_.sp, nullptr,
             stack.lo(), stack.hi(), static_cast<int>(Status::suspended), body_type,
             "",         "",         -1};
  std::lock_guard lock(g_registry_mutex);
  record_.next = cfs_live_coroutines;
  if (record_.next) record_.next->prev = &record_;
  cfs_live_coroutines = &record_;
}
//! [control-block]

ControlBlock::~ControlBlock() {
  std::lock_guard lock(g_registry_mutex);
  if (record_.prev) record_.prev->next = record_.next;
  else cfs_live_coroutines = record_.next;
  if (record_.next) record_.next->prev = record_.prev;
}

ControlBlock* ControlBlock::current() noexcept { return get_current(); }

//! [check-resumable]
void ControlBlock::check_resumable() const {
  switch (status_) {
    case Status::suspended:
      return;
    case Status::running:
      throw CoroutineError(
          "cfs: resume() of a coroutine that is running: a coroutine cannot resume itself");
    case Status::normal:
      throw CoroutineError(
          "cfs: resume() of a coroutine in state normal: it is waiting for a coroutine it "
          "resumed, and only that one's yield() may continue it");
    case Status::dead:
      throw CoroutineError("cfs: resume() of a dead coroutine: its body has already finished");
  }
}
//! [check-resumable]

//! [resume]
// resume(), inline in coroutine.h, is: begin_resume(); jump() into the
// coroutine, which runs until it yields or finishes; end_resume().
bool ControlBlock::begin_resume(void* slot, const std::type_info& type, WakeUp why,
                                std::exception_ptr* error, ControlBlock*& from) {
  if (status_ != Status::suspended) check_resumable();  // throws
  if (!started_ && why != WakeUp::resume) {  // ended before it ever ran:
    status_ = Status::dead;                  // the body never runs
    record_.status = static_cast<int>(Status::dead);
    // An error meant for its first line escapes at once (resume_throwing).
    if (why == WakeUp::rethrow) std::rethrow_exception(std::move(*error));
    return false;
  }
  overflow::prepare_thread();  // may throw StackError: nothing has changed yet
  from = get_current();  // null: the thread's own stack
  if (from) from->status_ = Status::normal;
  record_.resumer = from ? &from->record_ : nullptr;
  slot_ = slot;
  slot_type_ = &type;
  wake_ = why;
  if (error != nullptr) wake_error_ = std::move(*error);
  eh_ = eh_globals();  // this thread's, and what it holds now
  resumer_caught_ = eh_->caught_exceptions;
  resumer_uncaught_ = eh_->uncaught_exceptions;
  started_ = true;
  status_ = Status::running;
  set_current(this);
  overflow::set_running(&running_stack_);
  return true;
}

void ControlBlock::end_resume(ControlBlock* from) {
  set_current(from);
  overflow::set_running(from ? &from->running_stack_ : nullptr);
  // The switch back has landed: the record may now say so (see [record]).
  record_.status = static_cast<int>(status_);
  if (from) {
    from->status_ = Status::running;
    from->record_.status = static_cast<int>(Status::running);
  }
  slot_ = nullptr;
  if (thread_exits_) continue_thread_exit();
  if (body_error_) std::rethrow_exception(std::exchange(body_error_, nullptr));
}
//! [resume]

//! [suspend]
// suspend(), inline in coroutine.h, switches back to the resumer with the
// annotations written out; when it is resumed with anything but
// WakeUp::resume, the pending yield ends here instead of returning.
void ControlBlock::woken_to_throw() {
  switch (wake_) {
    case WakeUp::resume:
      return;
    case WakeUp::unwind:
      throw ForcedUnwind{};  // our owner is destroying us: unwind the stack
    case WakeUp::rethrow:
      wake_ = WakeUp::resume;
      std::rethrow_exception(std::exchange(wake_error_, nullptr));
  }
}
//! [suspend]

//! [entry]
// (no_sanitize("null"): the forced unwind of pthread_exit is a foreign
// exception to the C++ runtime, which binds the handler's reference to no
// object at all, address 0. UBSan would flag that binding; nothing reads it.)
[[gnu::no_sanitize("null")]] void ControlBlock::entry(void* arg) {
  auto* cb = static_cast<ControlBlock*>(arg);
  sanitizer::finish_switch(nullptr, &cb->resumer_.stack_lo, &cb->resumer_.stack_size);
  cb->arrived();
  try {
    cb->run();
  } catch (const ForcedUnwind&) {
    // The owner destroyed us while suspended: the stack is unwound, done.
  }
#if CFS_GLIBC_FORCED_UNWIND
  catch (abi::__forced_unwind&) {
    // pthread_exit() or pthread_cancel() in the body (see [thread-exit]).
    cb->thread_exits_ = true;
    cb->finish();  // inside the catch block, which therefore never ends
  }
#endif
  catch (...) {
    cb->body_error_ = std::current_exception();  // resume() rethrows it
  }
  cb->finish();  // outside the catch blocks: never switch inside one
}

void ControlBlock::finish() {
  status_ = Status::dead;
  // The last switch out: this stack is never resumed, so tell ASan to drop
  // its fake stack (nullptr), and never come back.
  sanitizer::start_switch(nullptr, resumer_.stack_lo, resumer_.stack_size);
  cfs_switch(&self_.sp, resumer_.sp, nullptr);
  std::fprintf(stderr, "cfs: a finished coroutine was resumed\n");
  std::abort();
}
//! [entry]

//! [thread-exit]
// pthread_exit() and pthread_cancel() end a thread by unwinding its stack
// with a "forced unwind": a special exception (glibc's; libstdc++ calls it
// abi::__forced_unwind) that runs every destructor on the way and must never
// be swallowed; a catch block that ends without rethrowing it aborts the
// process ("FATAL: exception not rethrown"). In a coroutine it unwinds the
// coroutine's stack up to entry(). The frames of the thread's own stack,
// where the resumer waits, lie on another stack that the unwinder cannot
// reach from there, so entry() does not rethrow it: it switches back to
// the resumer from inside its catch block (the block never ends, so the
// exception is never swallowed), and the resumer goes on with it, here:
void ControlBlock::continue_thread_exit() {
#if CFS_GLIBC_FORCED_UNWIND
  // The thread's exception state still holds the forced unwind as its
  // caught exception (entry() caught it on this thread). `throw;` takes it
  // from there and continues the same unwind, on the resumer's stack, to the
  // same end: the thread exits with pthread_exit()'s value.
  throw;
#endif
}
//! [thread-exit]

//! [yield-value]
// yield_value(), inline in coroutine.h, is begin_yield(), then suspend().
ControlBlock* ControlBlock::begin_yield(const std::type_info& type, void (*deliver)(void*, void*),
                                       void* value) {
  ControlBlock* cb = get_current();
  if (cb == nullptr) {
    throw CoroutineError("cfs: yield() called outside any coroutine (on the thread's own stack)");
  }
  // The thread's exception state must be as the resumer left it: no
  // exception in flight (a yield from a destructor during unwinding) and no
  // catch block entered since (see eh_globals.h).
  if (cb->eh_->uncaught_exceptions != cb->resumer_uncaught_) {
    std::fprintf(stderr,
                 "cfs: yield() while an exception is propagating (from a destructor during "
                 "stack unwinding): the coroutine cannot be suspended half-way through "
                 "unwinding; do not yield in destructors\n");
    std::abort();
  }
  if (cb->wake_ == WakeUp::unwind) throw ForcedUnwind{};  // still unwinding: no more yields
  if (cb->eh_->caught_exceptions != cb->resumer_caught_) {
    throw CoroutineError(
        "cfs: yield() inside a catch block: the C++ runtime keeps the exceptions being "
        "handled per thread, and switching stacks there would mix the coroutine's up with "
        "the resumer's; yield after the catch block instead");
  }
  if (&type != cb->slot_type_) check_yield_type(type, *cb->slot_type_);
  if (cb->slot_ != nullptr && deliver != nullptr) deliver(cb->slot_, value);
  return cb;
}
//! [yield-value]

void check_yield_type(const std::type_info& yielded, const std::type_info& expected) {
  if (yielded == expected) return;
  throw CoroutineError("cfs: yield<" + demangle(yielded.name()) + ">() inside a Coroutine<" +
                       demangle(expected.name()) + ">: yield exactly the coroutine's type, "
                       "e.g. cfs::yield<" + demangle(expected.name()) + ">(value)");
}

//! [destroy]
void ControlBlock::destroy(ControlBlock* cb) noexcept {
  if (cb->status_ == Status::running || cb->status_ == Status::normal) {
    std::fprintf(stderr,
                 "cfs: a Coroutine was destroyed while %s: its stack is in use (it is %s), "
                 "so it cannot be freed; destroy coroutines only when they are suspended "
                 "or dead\n",
                 to_string(cb->status_),
                 cb->status_ == Status::running ? "executing the destruction itself"
                                                : "waiting for a coroutine it resumed");
    std::abort();
  }
  if (cb->status_ == Status::suspended && cb->started_) {
    try {
      cb->resume(nullptr, typeid(void), WakeUp::unwind);  // yield() throws ForcedUnwind
    } catch (...) {
      // The body threw something else while unwinding; a destructor cannot
      // pass it on.
    }
  }
  StackMemory stack = std::move(cb->stack_);
  bool pooled = cb->pooled_;
  cb->~ControlBlock();  // the body, its arguments, the registry entry
  stack_pool::release(std::move(stack), pooled);
}
//! [destroy]

}  // namespace detail

void yield() { detail::ControlBlock::yield_value(typeid(void), nullptr, nullptr); }

bool in_coroutine() noexcept { return detail::ControlBlock::current() != nullptr; }

CoroutineRef this_coroutine() noexcept { return CoroutineRef(detail::ControlBlock::current()); }

void set_activity(const char* what, int fd) noexcept {
  if (detail::ControlBlock* cb = detail::ControlBlock::current()) cb->set_activity(what, fd);
}

}  // namespace cfs
