// exercises/chat/test_chat_room.cpp: a line-based chat on chapter 06's loop
// (exercise 4), with clients on real sockets over loopback. `make
// exercise-06 EX=chat` runs them against your chat_room.cpp.
#include <doctest/doctest.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <span>
#include <string>
#include <thread>
#include <vector>

// <>: your chat_room.h, or the reference solution's.
#include <chat_room.h>

#include "io.h"
#include "loop.h"
#include "signal_pipe.h"
#include "socket_error.h"
#include "tcp.h"
#include "tests/socket_test.h"

using namespace std::chrono_literals;

namespace {

/// A chat server on a thread of its own: a loop whose acceptor gives every
/// connection a task running room.serve(). The server's send buffer of each
/// connection is made small, so that a client that does not read fills it
/// soon.
struct ChatServer {
  explicit ChatServer(std::size_t max_queued) : room(max_queued) {}
  ~ChatServer() {
    stop_pipe.notify(SIGTERM);
    thread.join();
  }

  cfs::Fd join() {
    const std::size_t before = started.load();
    cfs::Fd c = cfs::connect_tcp("127.0.0.1", listener.address.port(), cfs::after(10s));
    // Until its task has started: then it is a member (serve() has run up
    // to its first wait, on the loop's one thread) before the next turn
    // reads anything anybody says.
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (started.load() == before && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
    REQUIRE_MESSAGE(started.load() > before, "the server never started a task for a new client");
    return c;
  }

  cfs::ChatRoom room;
  cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
  cfs::SignalPipe stop_pipe;
  std::atomic<std::size_t> started{0};
  std::thread thread{[this] {
    cfs::Loop loop;
    loop.spawn("acceptor", [this] {
      for (;;) {
        cfs::Fd fd = cfs::accept_client(listener.fd.get());
        const int small = 8192;
        setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        cfs::Loop::current().spawn("member", [this](cfs::Fd fd) {
          ++started;
          room.serve(fd.get());
        }, std::move(fd));
      }
    });
    loop.spawn("stopper", [this] {
      stop_pipe.wait();
      cfs::Loop::current().stop();
    });
    loop.run();
  }};  // last: it starts once the rest exists
};

void say(int fd, const std::string& text) {
  cfs::write_all(fd, std::as_bytes(std::span(text)), cfs::after(30s));
}

/// Reads until `n` bytes have come, or `limit` has passed: what came.
std::string hear(int fd, std::size_t n, std::chrono::milliseconds limit = 3000ms) {
  std::string got(n, '\0');
  std::size_t done = 0;
  try {
    done = cfs::read_exact(fd, std::as_writable_bytes(std::span(got)), cfs::after(limit));
  } catch (const cfs::TimedOut&) {
    // read_exact() keeps what it read in `got`; count it
    done = got.find('\0') == std::string::npos ? got.size() : got.find('\0');
  } catch (const cfs::SocketError&) {
    done = got.find('\0') == std::string::npos ? got.size() : got.find('\0');
  }
  got.resize(done);
  return got;
}

/// True if nothing comes within `limit`.
bool hears_nothing(int fd, std::chrono::milliseconds limit = 300ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(limit.count())) == 0;
}

std::string shown(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 120)) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return "\"" + out + (text.size() > 120 ? "...\"" : "\"");
}

}  // namespace

TEST_CASE("a line from one member reaches every other member, and not its sender") {
  SocketTest test("chat: one line", 60s);
  {
    ChatServer server(64 * 1024);
    cfs::Fd a = server.join(), b = server.join(), c = server.join();
    say(a.get(), "hello\n");
    const std::string at_b = hear(b.get(), 6), at_c = hear(c.get(), 6);
    if (at_b.empty() && at_c.empty()) {
      FAIL("B and C heard nothing within 3 s of A's \"hello\\n\": serve() must hand every complete "
           "line its client sends to every other member of the room");
    }
    CHECK_MESSAGE(at_b == "hello\n", "B heard " << shown(at_b));
    CHECK_MESSAGE(at_c == "hello\n", "C heard " << shown(at_c));
    CHECK_MESSAGE(hears_nothing(a.get()), "A heard its own line back: a line goes to the *others*");
  }
  test.check_all_closed();
}

TEST_CASE("lines go out whole: half a line waits for its end, and nobody's line lands inside it") {
  SocketTest test("chat: whole lines", 60s);
  {
    ChatServer server(64 * 1024);
    cfs::Fd a = server.join(), b = server.join(), c = server.join();
    say(a.get(), "aaa");  // half a line
    std::this_thread::sleep_for(100ms);
    say(c.get(), "ccc\n");
    std::this_thread::sleep_for(100ms);
    say(a.get(), "AAA\n");  // the rest of A's line
    const std::string at_b = hear(b.get(), 11);
    if (at_b.starts_with("aaac")) {
      FAIL("B heard " << shown(at_b) << ": A's half line went out before its end came, and C's "
           "line landed inside it; keep a member's line until its '\\n', then send it whole");
    }
    CHECK_MESSAGE(at_b == "ccc\naaaAAA\n", "B heard " << shown(at_b) << "; C's line was complete "
                                          "first, A's only when its '\\n' came");
  }
  test.check_all_closed();
}

TEST_CASE("a member who leaves is forgotten, and the others go on talking") {
  SocketTest test("chat: leaving", 60s);
  {
    ChatServer server(64 * 1024);
    cfs::Fd a = server.join(), b = server.join(), c = server.join();
    b.reset();  // B leaves; the server may learn it before or after A speaks
    say(a.get(), "one\n");
    CHECK_MESSAGE(hear(c.get(), 4) == "one\n", "C did not hear A after B left");
    say(c.get(), "two\n");
    const std::string at_a = hear(a.get(), 4);
    CHECK_MESSAGE(at_a == "two\n", "A heard " << shown(at_a) << " from C after B left: a write to a "
                                   "member who has gone fails (EPIPE, ECONNRESET), and that must end "
                                   "that member only, not the task of the one who spoke");
    cfs::Fd d = server.join();
    say(d.get(), "three\n");
    CHECK_MESSAGE(hear(a.get(), 6) == "three\n", "A did not hear D, who came later");
    CHECK_MESSAGE(hear(c.get(), 6) == "three\n", "C did not hear D, who came later");
  }
  test.check_all_closed();
}

TEST_CASE("a member who does not read is dropped, and holds nobody up") {
  SocketTest test("chat: a member who does not read", 120s);
  {
    constexpr std::size_t kQueue = 256 * 1024;
    ChatServer server(kQueue);
    cfs::Fd a = server.join(), b = server.join(), silent = server.join();
    constexpr std::size_t kLines = 1024;  // of 1 KiB: far more than S's buffers and queue hold
    // A speaks no faster than B listens (at most 128 KiB ahead of it), so
    // that only S, who never reads, can fill a queue.
    std::atomic<std::size_t> heard{0};
    std::atomic<bool> give_up{false};
    std::thread speaker([&] {
      try {
        for (std::size_t i = 0; i < kLines && !give_up; ++i) {
          while (i * 1024 > heard.load() + 128 * 1024 && !give_up) std::this_thread::sleep_for(1ms);
          say(a.get(), std::string(1023, static_cast<char>('a' + i % 26)) + "\n");
        }
      } catch (const std::exception&) {
        // the room stopped reading A: B's count below says so
      }
    });
    std::string at_b;
    std::array<char, 65536> buffer;
    try {
      while (at_b.size() < kLines * 1024) {
        const std::size_t n = cfs::read_some(b.get(), std::as_writable_bytes(std::span(buffer)), cfs::after(5s));
        if (n == 0) break;
        at_b.append(buffer.data(), n);
        heard = at_b.size();
      }
    } catch (const std::exception&) {
      // nothing for 5 s (or a reset): the check below says how far B got
    }
    give_up = true;
    speaker.join();
    CHECK_MESSAGE(at_b.size() == kLines * 1024,
                  "B heard " << at_b.size() / 1024 << " of " << kLines << " lines, then nothing for "
                  "5 s: a member who does not read held the room up. Queue what each member has not "
                  "taken yet, write it from a task of its own, and drop a member whose queue passes "
                  "max_queued");
    // S now reads: it gets what was queued for it, then the end of its
    // connection. A member kept for ever would get all 1 MiB, then wait.
    const std::string at_silent = hear(silent.get(), kLines * 1024, 10000ms);
    INFO("S got " << at_silent.size() << " bytes once it read");
    CHECK_MESSAGE(at_silent.size() < kLines * 1024,
                  "S, who read nothing while 1 MiB was said, was not dropped: the server kept it all "
                  "for S; past max_queued (256 KiB here) waiting for one member, shut its "
                  "connection down");
    pollfd p{silent.get(), POLLIN, 0};
    std::byte rest[1];
    const bool ended = ::poll(&p, 1, 3000) == 1 && ::recv(silent.get(), rest, 1, 0) <= 0;
    CHECK_MESSAGE(ended, "S's connection should have ended (end of file, or a reset) after it was dropped");
  }
  test.check_all_closed();
}
