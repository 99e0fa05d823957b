// exercises/gather-write/test_gather_write.cpp: one message in pieces, sent
// with sendmsg() (chapter 04, exercise 8), on real sockets over loopback.
// `make exercise-04 EX=gather-write` runs them against your gather_write.cpp.
#include <doctest/doctest.h>

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

// <>: your gather_write.h, or the reference solution's.
#include <gather_write.h>

#include "common/child_process.h"
#include "io.h"
#include "socket_error.h"
#include "tcp.h"
#include "tests/socket_test.h"

using namespace std::chrono_literals;

namespace {

#if defined(IOV_MAX)
constexpr std::size_t kIovMax = IOV_MAX;
#else
constexpr std::size_t kIovMax = 1024;
#endif

/// A connected pair on loopback: the code under test writes to `client`,
/// the test reads `server`.
struct Pair {
  cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
  cfs::Fd client = cfs::connect_tcp("127.0.0.1", listener.address.port());
  cfs::Fd server = cfs::accept_client(listener.fd.get());
};

/// Reads from `fd` until `n` bytes have come, end of file, or `limit` has
/// passed (or `writer_done` is set and nothing more comes): what came.
/// (poll(2) first, so that it cannot block for ever.)
std::vector<std::byte> read_for(int fd, std::size_t n, std::chrono::milliseconds limit,
                                std::chrono::microseconds pause = 0us,
                                const std::atomic<bool>* writer_done = nullptr) {
  std::vector<std::byte> got(n);
  std::size_t done = 0;
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (done < n && std::chrono::steady_clock::now() < give_up) {
    const bool last_look = writer_done != nullptr && writer_done->load();
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, last_look ? 2000 : 10) <= 0) {
      if (last_look) break;  // the writer has returned, and nothing more comes
      continue;
    }
    const std::size_t k = cfs::read_some(fd, std::span(got).subspan(done, std::min<std::size_t>(4096, n - done)));
    if (k == 0) break;
    done += k;
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  got.resize(done);
  return got;
}

std::string text_of(const std::vector<std::byte>& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

/// A pattern in which a byte out of place shows.
std::vector<std::byte> pattern(std::size_t size) {
  std::vector<std::byte> data(size);
  for (std::size_t i = 0; i < size; ++i) data[i] = std::byte(i * 7 % 253);
  return data;
}

/// `data` cut into pieces of the given sizes, in order (empty ones too).
std::vector<std::span<const std::byte>> cut(const std::vector<std::byte>& data,
                                            const std::vector<std::size_t>& sizes) {
  std::vector<std::span<const std::byte>> pieces;
  std::size_t at = 0;
  for (std::size_t size : sizes) {
    pieces.push_back(std::span(data).subspan(at, size));
    at += size;
  }
  return pieces;
}

/// Which piece, and which byte of it, the byte at `offset` of the whole is.
std::string where(const std::vector<std::size_t>& sizes, std::size_t offset) {
  std::size_t piece = 0;
  while (piece < sizes.size() && offset >= sizes[piece]) offset -= sizes[piece++];
  return "byte " + std::to_string(offset) + " of piece " + std::to_string(piece);
}

std::atomic<int> interruptions{0};
extern "C" void count_interruption(int) { interruptions.fetch_add(1, std::memory_order_relaxed); }

/// While it lives, SIGUSR1 runs a handler that only counts, installed
/// without SA_RESTART: a blocking call it interrupts returns early, with
/// EINTR if it had done nothing yet, else with the count done so far.
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

}  // namespace

TEST_CASE("one call takes several pieces at once, in order, empty ones too") {
  SocketTest test("gather-write: one call", 60s);
  {
    Pair pair;
    const std::string a = "abc", b, c = "defgh", d = "ij";
    const std::vector<std::span<const std::byte>> pieces{
        std::as_bytes(std::span(a)), std::as_bytes(std::span(b)), std::as_bytes(std::span(c)),
        std::as_bytes(std::span(d))};
    const std::size_t n = cfs::write_some_gathered(pair.client.get(), pieces);
    const std::string got = text_of(read_for(pair.server.get(), 10, 2000ms));
    if (n == 3 && got == "abc") {
      FAIL("write_some_gathered() wrote 3 of 10 bytes, the first piece only: one sendmsg() takes "
           "them all, an iovec for each piece (msghdr's msg_iov and msg_iovlen)");
    }
    CHECK_MESSAGE(n == 10, "write_some_gathered() returned " << n << " for 10 bytes in four pieces "
                           "and a socket with room for all");
    CHECK_MESSAGE(got == "abcdefghij", "the reader got \"" << got << "\"");
  }
  test.check_all_closed();
}

TEST_CASE("5,000 pieces: a call takes at most IOV_MAX of them, and write_all_gathered sends all") {
  SocketTest test("gather-write: many pieces", 60s);
  const std::vector<std::byte> data = pattern(5000);
  const std::vector<std::size_t> sizes(5000, 1);
  const std::vector<std::span<const std::byte>> pieces = cut(data, sizes);
  {
    Pair pair;
    std::size_t n = 0;
    try {
      n = cfs::write_some_gathered(pair.client.get(), pieces);
    } catch (const cfs::SocketError& e) {
      if (e.errno_value() == EMSGSIZE || e.errno_value() == EINVAL) {  // sendmsg(), writev()
        FAIL("sendmsg() refused 5000 pieces at once: " << std::string(e.what()) << ". Pass at most IOV_MAX ("
             << kIovMax << ") iovecs in one call; the caller calls again for the rest");
      }
      throw;
    }
    CHECK_MESSAGE(n >= 1, "write_some_gathered() wrote nothing");
    CHECK_MESSAGE(n <= kIovMax, "one call wrote " << n << " one-byte pieces, more than IOV_MAX");
    const std::vector<std::byte> got = read_for(pair.server.get(), n, 2000ms);
    CHECK(got == std::vector<std::byte>(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n)));
  }
  {
    Pair pair;
    const std::size_t total = cfs::write_all_gathered(pair.client.get(), pieces);
    const std::vector<std::byte> got = read_for(pair.server.get(), data.size(), 2000ms);
    CHECK_MESSAGE(total == data.size(), "write_all_gathered() returned " << total << " for "
                                        << data.size() << " bytes: the total of all the pieces");
    CHECK_MESSAGE(got.size() == data.size(), "the reader got " << got.size() << " of " << data.size()
                                             << " bytes: call write_some_gathered() until every "
                                                "piece has gone");
    CHECK(got == data);
  }
  test.check_all_closed();
}

TEST_CASE("350 KB in 1,000 pieces through a tiny send buffer, across partial sends and EINTR") {
  SocketTest test("gather-write: partial writes", 120s);
  InterruptingHandler handler;
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < 1000; ++i) sizes.push_back(i * 97 % 700);  // 0 to 699 bytes
  std::size_t total_size = 0;
  for (std::size_t s : sizes) total_size += s;
  const std::vector<std::byte> data = pattern(total_size);
  const std::vector<std::span<const std::byte>> pieces = cut(data, sizes);
  {
    Pair pair;
    const int small = 4096;  // the kernel doubles it, and has a floor: still small
    setsockopt(pair.client.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(pair.server.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    const int before = interruptions.load();
    std::size_t written = 0;
    std::string error;
    std::atomic<bool> done{false};
    std::thread writer([&] {
      try {
        written = cfs::write_all_gathered(pair.client.get(), pieces);
      } catch (const std::exception& e) {
        error = e.what();
      }
      done = true;
    });
    // A signal every millisecond at the writer, until it is done.
    std::thread interrupter([&, target = writer.native_handle()] {
      while (!done) {
        pthread_kill(target, SIGUSR1);
        std::this_thread::sleep_for(1ms);
      }
    });
    // Slowly, so that the writer has to wait for room many times.
    const std::vector<std::byte> got = read_for(pair.server.get(), data.size(), 60000ms, 300us, &done);
    interrupter.join();  // before the writer: no signal at a thread that has ended
    writer.join();
    INFO("signals during the test: " << interruptions.load() - before);
    if (!error.empty()) {
      FAIL("write_all_gathered() threw: " << error
           << std::string(error.find("nterrupted") != std::string::npos
                              ? ". A signal arrived before sendmsg() had sent anything: try again on EINTR"
                              : ""));
    }
    CHECK_MESSAGE(written == data.size(), "write_all_gathered() returned " << written << " for "
                                          << data.size() << " bytes");
    std::size_t same = 0;
    while (same < got.size() && got[same] == data[same]) ++same;
    if (same < got.size()) {
      FAIL("the reader got " << got.size() << " bytes, and the first wrong one is the whole's byte "
           << same << " (" << where(sizes, same) << "): after a partial write, the next call "
           "must start at the first byte not sent yet, inside the piece that was cut");
    }
    CHECK_MESSAGE(got.size() == data.size(), "the reader got " << got.size() << " of "
                                             << data.size() << " bytes, all of them right");
  }
  test.check_all_closed();
}

TEST_CASE("a peer that has gone away is a SocketError, never a SIGPIPE") {
  // In a child process: SIGPIPE would end it, and the test says why.
  const cfs::ChildResult result = cfs::run_in_child([] {
    Pair pair;
    pair.server.reset();  // the peer closes; its kernel answers our data with a reset
    const std::vector<std::byte> data(1000, std::byte{'x'});
    const std::vector<std::span<const std::byte>> pieces{std::span(data), std::span(data)};
    try {
      for (int i = 0; i < 100; ++i) {
        cfs::write_all_gathered(pair.client.get(), pieces);
        std::this_thread::sleep_for(5ms);
      }
      std::fprintf(stderr, "no error after 100 writes\n");
    } catch (const cfs::SocketError& e) {
      std::fprintf(stderr, "SocketError: %s\n", e.what());
    }
  });
  INFO("the child's stderr: " << result.err);
  if (result.signaled && result.signal == SIGPIPE) {
    FAIL("the write ended the process with SIGPIPE: writev(), and sendmsg() or send() without "
         "flags, raise it when the peer has gone; pass MSG_NOSIGNAL to sendmsg()");
  }
  REQUIRE(result.exited);
  CHECK_MESSAGE(result.err.find("SocketError") != std::string::npos,
                "writing to a peer that has gone should fail with a SocketError (EPIPE or "
                "ECONNRESET) within a few writes");
}
