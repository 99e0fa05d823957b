// tests/test_partial_io.cpp: read_exact and write_all across partial reads,
// partial writes and EINTR.
//
// A signal handler installed without SA_RESTART makes a blocking recv() or
// send() that it interrupts return early: -1 with EINTR if nothing was done
// yet, or the count done so far. Each test first shows, with the raw
// system call, that the case really happens under the conditions it sets
// up (the control), then that the helper gets every byte through anyway.
#include <doctest/doctest.h>

#include <fcntl.h>

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "../io.h"
#include "../tcp.h"
#include "socket_test.h"

using namespace std::chrono_literals;

namespace {

std::atomic<int> interruptions{0};
extern "C" void count_interruption(int) { interruptions.fetch_add(1, std::memory_order_relaxed); }

/// While it lives, SIGUSR1 runs a handler that only counts, installed
/// without SA_RESTART, so that blocking calls it interrupts return early.
class InterruptingHandler {
 public:
  InterruptingHandler() {
    struct sigaction action {};
    action.sa_handler = count_interruption;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART
    REQUIRE(sigaction(SIGUSR1, &action, &old_) == 0);
  }
  ~InterruptingHandler() { sigaction(SIGUSR1, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

/// Sends SIGUSR1 to thread `target` every `period` until `target_done` is
/// true, then stops; join() it before joining the target (a signal sent to
/// a thread that has been joined is undefined behaviour), and both before
/// the handler goes (a signal meeting the default action ends the process).
class Interrupter {
 public:
  Interrupter(std::thread& target, const std::atomic<bool>& target_done, std::chrono::microseconds period)
      : thread_([t = target.native_handle(), &target_done, period] {
          while (!target_done.load()) {
            pthread_kill(t, SIGUSR1);
            std::this_thread::sleep_for(period);
          }
        }) {}
  void join() { thread_.join(); }

 private:
  std::thread thread_;
};

std::vector<std::byte> pattern(std::size_t size) {
  std::vector<std::byte> data(size);
  for (std::size_t i = 0; i < size; ++i) data[i] = std::byte(i * 7 % 253);
  return data;
}

/// A connected pair on loopback whose buffers are as small as the kernel
/// allows, so that a large write must wait for the reader many times.
struct TinyBuffers {
  cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
  cfs::Fd writer = connect_with_small_send_buffer(listener.address.port());
  cfs::Fd reader = cfs::accept_client(listener.fd.get());
  TinyBuffers() {
    const int size = 4096;
    setsockopt(reader.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  static cfs::Fd connect_with_small_send_buffer(std::uint16_t port) {
    cfs::Fd fd = cfs::connect_tcp("127.0.0.1", port);
    const int size = 4096;  // Linux doubles it, and has a floor; still tiny
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    return fd;
  }
  /// Reads `size` bytes slowly: 4 KiB, then a pause, and so on.
  std::vector<std::byte> read_slowly(std::size_t size) {
    std::vector<std::byte> got(size);
    std::size_t done = 0;
    while (done < size) {
      const std::size_t n = cfs::read_some(reader.get(), std::span(got).subspan(done, std::min<std::size_t>(4096, size - done)));
      REQUIRE(n > 0);
      done += n;
      std::this_thread::sleep_for(500us);
    }
    return got;
  }
};

}  // namespace

//! [partial-writes]
TEST_CASE("write_all gets every byte through a tiny send buffer, across partial sends and EINTR") {
  SocketTest test("partial writes");
  InterruptingHandler handler;
  const std::vector<std::byte> data = pattern(256 * 1024);
  {
    // The control: one raw send() of the whole buffer, interrupted every
    // millisecond, returns having sent only part of it.
    TinyBuffers pair;
    ssize_t sent = 0;
    int error = 0;
    std::atomic<bool> done{false};
    std::thread writer([&] {
      sent = ::send(pair.writer.get(), data.data(), data.size(), 0);
      error = errno;
      done = true;
    });
    Interrupter interrupter(writer, done, 1ms);
    interrupter.join();
    writer.join();
    INFO("send() returned " << sent << " (errno " << error << ")");
    CHECK(((sent > 0 && static_cast<std::size_t>(sent) < data.size()) || (sent < 0 && error == EINTR)));
  }
  {
    TinyBuffers pair;
    const int before = interruptions.load();
    std::size_t written = 0;
    std::atomic<bool> done{false};
    std::thread writer([&] {
      written = cfs::write_all(pair.writer.get(), data);
      done = true;
    });
    Interrupter interrupter(writer, done, 1ms);
    const std::vector<std::byte> got = pair.read_slowly(data.size());
    interrupter.join();
    writer.join();
    CHECK(written == data.size());
    CHECK(got == data);
    CHECK(interruptions.load() - before > 10);  // it was interrupted, many times
  }
  test.check_all_closed();
}
//! [partial-writes]

//! [partial-reads]
TEST_CASE("read_exact assembles a message that arrives in pieces, across EINTR") {
  SocketTest test("partial reads");
  InterruptingHandler handler;
  {
    // The control: a raw recv() waiting for data that does not come, when a
    // signal arrives, returns -1 with EINTR.
    TinyBuffers pair;
    // (Chapter 05 makes every socket non-blocking; the control needs one
    // that blocks, as chapter 04's did.)
    ::fcntl(pair.reader.get(), F_SETFL, ::fcntl(pair.reader.get(), F_GETFL) & ~O_NONBLOCK);
    ssize_t got = 0;
    int error = 0;
    std::atomic<bool> done{false};
    std::thread reader([&] {
      std::byte b;
      got = ::recv(pair.reader.get(), &b, 1, 0);
      error = errno;
      done = true;
    });
    // (a signal may arrive before the recv() starts; one of the next ends it)
    Interrupter interrupter(reader, done, 1ms);
    interrupter.join();
    reader.join();
    CHECK(got == -1);
    CHECK(error == EINTR);
  }
  {
    TinyBuffers pair;
    const std::vector<std::byte> data = pattern(1000);
    const int before = interruptions.load();
    std::vector<std::byte> got(data.size());
    std::size_t n = 0;
    std::atomic<bool> done{false};
    std::thread reader([&] {
      n = cfs::read_exact(pair.reader.get(), got);  // returns once the tenth piece is in
      done = true;
    });
    Interrupter interrupter(reader, done, 1ms);
    for (std::size_t i = 0; i < data.size(); i += 100) {  // ten pieces, 20 ms apart
      std::this_thread::sleep_for(20ms);
      cfs::write_all(pair.writer.get(), std::span(data).subspan(i, 100));
    }
    interrupter.join();
    reader.join();
    CHECK(n == data.size());
    CHECK(got == data);
    CHECK(interruptions.load() - before > 10);
  }
  test.check_all_closed();
}
//! [partial-reads]
