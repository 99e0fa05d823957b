// tests/test_threads.cpp: the current coroutine is per thread; a coroutine
// may be resumed from any thread, one at a time.
#include <doctest/doctest.h>

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "../../../common/child_process.h"
#include "../coroutine.h"

using cfs::Coroutine;

TEST_CASE("coroutines run on two threads at once without seeing each other") {
  std::atomic<int> failures{0};
  auto work = [&failures](int seed) {
    for (int round = 0; round < 200; ++round) {
      std::vector<Coroutine<int>> mine;
      for (int k = 0; k < 5; ++k) {
        mine.emplace_back([](int base) {
          for (int i = 0; i < 20; ++i) cfs::yield(base + i);
        }, seed * 1000 + k * 100);
      }
      for (int i = 0; i < 20; ++i) {
        for (int k = 0; k < 5; ++k) {
          auto v = mine[k].resume();
          if (!v || *v != seed * 1000 + k * 100 + i) ++failures;
          if (cfs::in_coroutine()) ++failures;
        }
      }
    }
  };
  std::thread a(work, 1), b(work, 2);
  a.join();
  b.join();
  CHECK(failures == 0);
}

TEST_CASE("a coroutine resumed on one thread, then on another, yields to each in turn") {
  Coroutine<std::thread::id> c([] {
    for (int i = 0; i < 3; ++i) cfs::yield(std::this_thread::get_id());
  });
  std::thread::id seen_a, seen_b, in_a, in_b;
  std::promise<void> a_done, b_done;
  // Thread a stays alive until b has resumed too, so the ids differ.
  std::thread a([&] {
    in_a = std::this_thread::get_id();
    seen_a = *c.resume();
    CHECK_FALSE(cfs::in_coroutine());
    a_done.set_value();
    b_done.get_future().wait();
  });
  std::thread b([&] {
    a_done.get_future().wait();
    in_b = std::this_thread::get_id();
    seen_b = *c.resume();
    b_done.set_value();
  });
  a.join();
  b.join();
  CHECK(seen_a == in_a);
  CHECK(seen_b == in_b);
  CHECK(seen_a != seen_b);
  CHECK(*c.resume() == std::this_thread::get_id());  // and on the main thread
  CHECK(c.resume() == std::nullopt);
}

TEST_CASE("a coroutine made on one thread can be destroyed, unwound, on another") {
  int destroyed = 0;
  struct Count {
    int* n;
    ~Count() { ++*n; }
  };
  Coroutine<int> c([&destroyed] {
    Count local{&destroyed};
    cfs::yield(1);
  });
  std::thread t([&] {
    CHECK(c.resume() == 1);
    Coroutine<int> gone(std::move(c));
  });
  t.join();
  CHECK(destroyed == 1);
}

#if CFS_GLIBC_FORCED_UNWIND
namespace {
struct Logged {
  std::vector<std::string>* log;
  const char* name;
  ~Logged() { log->push_back(name); }
};

struct ExitRun {
  std::vector<std::string> log;
  std::size_t live_stacks_after = 0;
  void* (*body)(ExitRun*) = nullptr;
  std::atomic<bool> started{false};
};

/// The thread: its own frames hold a local and a coroutine (which holds
/// another); the coroutine's body ends the thread from two calls deep.
void* exiting_thread(void* arg) {
  auto* run = static_cast<ExitRun*>(arg);
  Logged thread_local_object{&run->log, "~thread's local"};
  Coroutine<int> c([run] {
    Logged in_body{&run->log, "~body's local"};
    run->started = true;
    run->body(run);  // pthread_exit() or a cancellation point
    run->log.push_back("not reached: the body went on");
  });
  c.resume();
  run->log.push_back("not reached: resume() returned");
  return nullptr;
}

void* call_pthread_exit(ExitRun*) {
  [] { pthread_exit(reinterpret_cast<void*>(42)); }();
  return nullptr;
}

void* wait_for_cancel(ExitRun*) {
  for (;;) pthread_testcancel();  // a cancellation point, in a loop
}
}  // namespace

//! [thread-exit-test]
TEST_CASE("pthread_exit inside a body ends the thread, unwinding the coroutine, then the thread") {
  std::size_t live_before = cfs::StackMemory::live_count() - cfs::stack_pool::size();
  ExitRun run;
  run.body = call_pthread_exit;
  pthread_t t;
  REQUIRE(pthread_create(&t, nullptr, exiting_thread, &run) == 0);
  void* result = nullptr;
  REQUIRE(pthread_join(t, &result) == 0);
  CHECK(result == reinterpret_cast<void*>(42));  // pthread_exit()'s value
  // The coroutine's frames first (on its stack), then the thread's, with
  // the Coroutine handle, whose stack was freed (not leaked).
  CHECK(run.log == std::vector<std::string>{"~body's local", "~thread's local"});
  CHECK(cfs::StackMemory::live_count() - cfs::stack_pool::size() == live_before);
}
//! [thread-exit-test]

TEST_CASE("pthread_cancel of a thread waiting inside a body unwinds both stacks, too") {
  ExitRun run;
  run.body = wait_for_cancel;
  pthread_t t;
  REQUIRE(pthread_create(&t, nullptr, exiting_thread, &run) == 0);
  while (!run.started) std::this_thread::yield();
  REQUIRE(pthread_cancel(t) == 0);
  void* result = nullptr;
  REQUIRE(pthread_join(t, &result) == 0);
  CHECK(result == PTHREAD_CANCELED);
  CHECK(run.log == std::vector<std::string>{"~body's local", "~thread's local"});
}

TEST_CASE("pthread_exit through a noexcept function inside a body: std::terminate, as anywhere") {
  // A forced unwind that meets a noexcept frame ends the process through
  // std::terminate(), on a coroutine's stack or on a thread's own.
  cfs::ChildResult r = cfs::run_in_child([] {
    std::thread t([] {
      Coroutine<int> c([]() noexcept { pthread_exit(nullptr); });
      c.resume();
    });
    t.join();
    std::fprintf(stderr, "survived: must not happen\n");
  });
  CHECK(r.signaled);
  CHECK(r.signal == SIGABRT);
  INFO("child stderr: " << r.err);
  CHECK(r.err.find("terminate called") != std::string::npos);
  CHECK(r.err.find("must not happen") == std::string::npos);
}
#endif  // CFS_GLIBC_FORCED_UNWIND
