// blocking_pool.cpp: a queue and up to max_threads threads taking from it.
#include "blocking_pool.h"

#include <utility>

namespace cfs {

void BlockingPool::submit(std::function<void()> job) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(job));
  // More jobs waiting than threads idle: another thread, if allowed.
  if (queue_.size() > idle_ && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { work(); });
  } else {
    more_.notify_one();
  }
}

void BlockingPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    more_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (stopping_) return;
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job();  // the job reports its own end (Loop::run_blocking)
    lock.lock();
  }
}

void BlockingPool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  more_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

std::size_t BlockingPool::threads() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

}  // namespace cfs
