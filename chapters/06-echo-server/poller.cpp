// poller.cpp: epoll on Linux, kqueue elsewhere, level-triggered.
#include "poller.h"

#include <cerrno>
#include <system_error>

namespace cfs {

namespace {

[[noreturn]] void fail(const char* call) {
  throw std::system_error(errno, std::generic_category(), std::string("cfs: Poller: ") + call);
}

constexpr std::size_t kBatch = 1024;  // events taken per wait

}  // namespace

#if defined(__linux__)

Poller::Poller() : fd_(epoll_create1(EPOLL_CLOEXEC)), raw_(kBatch) {
  if (!fd_) fail("epoll_create1");
}

void Poller::add(int fd, void* tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = tag;
  if (epoll_ctl(fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) fail("epoll_ctl(ADD)");
}

void Poller::watch_writes(int fd, void* tag, bool on) {
  epoll_event ev{};
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  ev.data.ptr = tag;
  if (epoll_ctl(fd_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) fail("epoll_ctl(MOD)");
}

void Poller::remove(int fd) { epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr); }

std::span<const Poller::Event> Poller::wait(int timeout_ms) {
  const int n = epoll_wait(fd_.get(), raw_.data(), static_cast<int>(raw_.size()), timeout_ms);
  if (n < 0 && errno != EINTR) fail("epoll_wait");
  events_.clear();
  for (int i = 0; i < n; ++i) {
    const std::uint32_t e = raw_[i].events;
    // An error or a hang-up counts as readable: the recv() that follows
    // reports it (or the end of file).
    events_.push_back({raw_[i].data.ptr, (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0,
                       (e & EPOLLOUT) != 0});
  }
  return events_;
}

#else

Poller::Poller() : fd_(kqueue()), raw_(kBatch) {
  if (!fd_) fail("kqueue");
}

void Poller::add(int fd, void* tag) {
  struct kevent ev;
  EV_SET(&ev, fd, EVFILT_READ, EV_ADD, 0, 0, tag);
  if (kevent(fd_.get(), &ev, 1, nullptr, 0, nullptr) != 0) fail("kevent(EVFILT_READ)");
}

void Poller::watch_writes(int fd, void* tag, bool on) {
  struct kevent ev;
  EV_SET(&ev, fd, EVFILT_WRITE, on ? EV_ADD | EV_ENABLE : EV_DISABLE, 0, 0, tag);
  // Disabling a write filter that was never added fails with ENOENT: fine.
  if (kevent(fd_.get(), &ev, 1, nullptr, 0, nullptr) != 0 && on) fail("kevent(EVFILT_WRITE)");
}

void Poller::remove(int fd) {
  struct kevent ev[2];
  EV_SET(&ev[0], fd, EVFILT_READ, EV_DELETE, 0, 0, nullptr);
  EV_SET(&ev[1], fd, EVFILT_WRITE, EV_DELETE, 0, 0, nullptr);
  for (auto& e : ev) kevent(fd_.get(), &e, 1, nullptr, 0, nullptr);  // ENOENT is fine
}

std::span<const Poller::Event> Poller::wait(int timeout_ms) {
  timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000L};
  const int n = kevent(fd_.get(), nullptr, 0, raw_.data(), static_cast<int>(raw_.size()),
                       timeout_ms < 0 ? nullptr : &ts);
  if (n < 0 && errno != EINTR) fail("kevent");
  events_.clear();
  for (int i = 0; i < n; ++i) {
    events_.push_back({raw_[i].udata, raw_[i].filter == EVFILT_READ, raw_[i].filter == EVFILT_WRITE});
  }
  return events_;
}

#endif

}  // namespace cfs
