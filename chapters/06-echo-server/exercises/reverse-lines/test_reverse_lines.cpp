// exercises/reverse-lines/test_reverse_lines.cpp: a server that answers
// each line reversed (chapter 06, exercise 1), on the chapter's loop, with
// clients on real sockets over loopback. `make exercise-06 EX=reverse-lines`
// runs them against your reverse_lines.cpp.
#include <doctest/doctest.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

// <>: your reverse_lines.h, or the reference solution's.
#include <reverse_lines.h>

#include "io.h"
#include "loop.h"
#include "signal_pipe.h"
#include "socket_error.h"
#include "tcp.h"
#include "tests/socket_test.h"

using namespace std::chrono_literals;

namespace {

/// A server on a thread of its own: a loop whose acceptor gives every
/// connection a task running reverse_lines_connection(), idle after 10 s.
struct ReverseServer {
  cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
  cfs::SignalPipe stop_pipe;
  std::thread thread{[this] { run(); }};  // last: it starts once the rest exists

  ~ReverseServer() {
    stop_pipe.notify(SIGTERM);
    thread.join();
  }
  void run() {
    cfs::Loop loop;
    loop.spawn("acceptor", [this] {
      for (;;) {
        cfs::Fd fd = cfs::accept_client(listener.fd.get());
        cfs::Loop::current().spawn("conn", [](cfs::Fd fd) {
          try {
            cfs::reverse_lines_connection(fd.get(), 10s);
          } catch (const cfs::TimedOut&) {
          } catch (const cfs::SocketError&) {
          }
        }, std::move(fd));
      }
    });
    loop.spawn("stopper", [this] {
      stop_pipe.wait();
      cfs::Loop::current().stop();  // every task is cancelled, and run() returns
    });
    loop.run();
  }
  cfs::Fd connect() const { return cfs::connect_tcp("127.0.0.1", listener.address.port(), cfs::after(10s)); }
};

void send_text(int fd, const std::string& text) {
  cfs::write_all(fd, std::as_bytes(std::span(text)), cfs::after(30s));
}

/// Everything until end of file, or until `limit` passes (then `eof` is
/// false). A reset counts as the end.
std::string read_to_eof(int fd, std::chrono::milliseconds limit, bool& eof) {
  std::string got;
  std::array<char, 16384> buffer;
  const cfs::Deadline give_up = cfs::after(limit);
  eof = false;
  try {
    while (const std::size_t n = cfs::read_some(fd, std::as_writable_bytes(std::span(buffer)), give_up)) {
      got.append(buffer.data(), n);
    }
    eof = true;
  } catch (const cfs::TimedOut&) {
  } catch (const cfs::SocketError&) {
    eof = true;
  }
  return got;
}

std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 200)) out += c == '\n' ? std::string("\\n") : c == '\r' ? std::string("\\r") : std::string(1, c);
  return "\"" + out + (text.size() > 200 ? "...\" (" + std::to_string(text.size()) + " bytes)" : "\"");
}

}  // namespace

TEST_CASE("each line comes back reversed, without its \"\\r\\n\", and a '\\n' after it") {
  SocketTest test("reverse-lines: lines", 60s);
  {
    ReverseServer server;
    cfs::Fd c = server.connect();
    send_text(c.get(), "abc\nhello world\r\n\nx\n");
    ::shutdown(c.get(), SHUT_WR);
    bool eof = false;
    const std::string got = read_to_eof(c.get(), 5000ms, eof);
    INFO("sent \"abc\\nhello world\\r\\n\\nx\\n\", got back " << escaped(got));
    if (got == "abc\nhello world\r\n\nx\n") {
      FAIL("the bytes came back as they were sent: answer each line with its bytes reversed (not "
           "its '\\n', nor the '\\r' of \"\\r\\n\"), then a '\\n'");
    }
    CHECK(got == "cba\ndlrow olleh\n\nx\n");
    CHECK_MESSAGE(eof, "after the answers, the server should end its side: the client reads end of file");
  }
  test.check_all_closed();
}

TEST_CASE("a line cut into pieces is reversed whole, and a last line without '\\n' is answered too") {
  SocketTest test("reverse-lines: pieces", 60s);
  {
    ReverseServer server;
    cfs::Fd c = server.connect();
    for (const char* piece : {"hel", "lo\nwor", "ld"}) {
      send_text(c.get(), piece);
      std::this_thread::sleep_for(50ms);  // each piece a read of its own
    }
    ::shutdown(c.get(), SHUT_WR);
    bool eof = false;
    const std::string got = read_to_eof(c.get(), 5000ms, eof);
    INFO("sent \"hel\", \"lo\\nwor\", \"ld\" and end of file; got back " << escaped(got));
    if (got.starts_with("leh")) {
      FAIL("the first piece, \"hel\", came back reversed on its own: a read may end anywhere in a "
           "line; keep the line until its '\\n' (or the end of file) has come");
    }
    CHECK_MESSAGE(got == "olleh\ndlrow\n", "a last line that ends at end of file, without '\\n', is "
                                           "answered too, with a '\\n'");
  }
  test.check_all_closed();
}

TEST_CASE("10,000 lines in random pieces, read back slowly: every line, reversed, in order") {
  SocketTest test("reverse-lines: many lines", 120s);
  {
    ReverseServer server;
    cfs::Fd c = server.connect();
    std::string text, expected;
    std::mt19937 random(3);
    for (int i = 0; i < 10000; ++i) {
      std::string line;
      for (std::size_t k = random() % 200; k > 0; --k) line += static_cast<char>('a' + random() % 26);
      text += line + "\n";
      expected += std::string(line.rbegin(), line.rend()) + "\n";
    }
    std::thread sender([&] {
      std::mt19937 pieces(4);
      try {
        for (std::size_t done = 0; done < text.size();) {
          const std::size_t n = std::min<std::size_t>(text.size() - done, pieces() % 3000 + 1);
          send_text(c.get(), text.substr(done, n));
          done += n;
        }
        ::shutdown(c.get(), SHUT_WR);
      } catch (const std::exception&) {
        // the server stopped reading: the checks below say what came back
      }
    });
    std::string got;
    std::array<char, 1024> buffer;
    bool eof = false;
    try {
      const cfs::Deadline give_up = cfs::after(60s);
      while (const std::size_t n = cfs::read_some(c.get(), std::as_writable_bytes(std::span(buffer)), give_up)) {
        got.append(buffer.data(), n);
        if (got.size() % 64 == 0) std::this_thread::sleep_for(100us);  // a slow reader, now and then
      }
      eof = true;
    } catch (const std::exception&) {
    }
    ::shutdown(c.get(), SHUT_RDWR);  // so that a sender still at it stops
    sender.join();
    std::size_t same = 0;
    while (same < got.size() && same < expected.size() && got[same] == expected[same]) ++same;
    INFO("the first " << same << " bytes of " << expected.size() << " are right; from there, got "
                      << escaped(got.substr(same, 60)) << ", expected " << escaped(expected.substr(same, 60)));
    CHECK(got.size() == expected.size());
    CHECK(same == expected.size());
    CHECK(eof);
  }
  test.check_all_closed();
}

TEST_CASE("a line over 4096 bytes is answered \"error: line too long\", and the connection ends") {
  SocketTest test("reverse-lines: a line too long", 60s);
  {
    ReverseServer server;
    cfs::Fd c = server.connect();
    send_text(c.get(), std::string(5000, 'a'));  // no '\n', and no end of file
    bool eof = false;
    const std::string got = read_to_eof(c.get(), 3000ms, eof);
    INFO("after 5000 bytes without '\\n', got back " << escaped(got));
    if (!eof) {
      FAIL("no end of file 3 s after a line of 5000 bytes: once a line passes kMaxLine (4096) "
           "bytes, answer \"error: line too long\\n\" and end the connection (do not wait for "
           "its '\\n', which may never come)");
    }
    CHECK(got == "error: line too long\n");
  }
  test.check_all_closed();
}

TEST_CASE("write_some() writes what fits and returns, and on a full socket waits until its deadline") {
  SocketTest test("reverse-lines: write_some", 60s);
  {
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
    cfs::Fd writer = cfs::connect_tcp("127.0.0.1", listener.address.port(), cfs::after(10s));
    cfs::Fd reader = cfs::accept_client(listener.fd.get(), nullptr, cfs::after(10s));  // never reads
    const std::vector<std::byte> big(64 << 20, std::byte{'z'});  // far more than the buffers hold
    const cfs::Deadline start = cfs::Clock::now();
    std::size_t n = 0;
    std::string what;
    try {
      n = cfs::write_some(writer.get(), big, cfs::after(2s));
    } catch (const cfs::TimedOut& e) {
      what = e.what();
    }
    const double took = std::chrono::duration<double>(cfs::Clock::now() - start).count();
    if (!what.empty()) {
      FAIL("write_some() of 64 MiB to a peer that does not read threw \"" << what << "\" after "
           << took << " s: it should write what fits in the socket's buffer (one send()) and "
           "return that count, not wait for room for all of it");
    }
    CHECK_MESSAGE(n > 0, "write_some() wrote nothing, with room in the buffer");
    CHECK_MESSAGE(n < big.size(), "it wrote all 64 MiB to a peer that reads nothing?");
    CHECK_MESSAGE(took < 1.5, "it returned after " << took << " s: one send() takes what fits at once");
    // Now the buffers are full: the next call waits for room, and times out.
    bool timed_out = false;
    std::size_t more = 0;
    for (int i = 0; i < 100 && !timed_out; ++i) {  // (the kernel may take a little more at first)
      try {
        more += cfs::write_some(writer.get(), big, cfs::after(200ms));
      } catch (const cfs::TimedOut&) {
        timed_out = true;
      }
    }
    CHECK_MESSAGE(timed_out, "write_some() on a socket whose peer never reads should wait for room "
                             "and throw TimedOut at its deadline; it wrote " << more << " bytes more");
  }
  test.check_all_closed();
}
