// blocking_pool.h: helper threads for work that would block the loop.
//
// Some work has no readiness to wait for: a long computation, a call into a
// library that blocks (getaddrinfo, a database client, a file read on a
// system where files are never "ready"). Run on the loop's thread, it would
// stop every task. Loop::run_blocking() hands it to these threads instead;
// the task that asked waits on the loop like for any I/O, and the others
// keep running.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cfs {

//! [blocking-pool]
class BlockingPool {
 public:
  explicit BlockingPool(std::size_t max_threads = 4) : max_threads_(max_threads) {}
  /// Waits for the jobs already taken to finish; jobs not started are dropped.
  ~BlockingPool() { shutdown(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  /// Runs `job` on a helper thread, starting one if all are busy and there
  /// are fewer than max_threads.
  void submit(std::function<void()> job);
  void shutdown();
  std::size_t threads() const;

 private:
  void work();
  const std::size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable more_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};
//! [blocking-pool]

}  // namespace cfs
