// exercises/read-line/test_line_reader.cpp: what LineReader must do, on
// real sockets over loopback. They fail on the starter code, saying what is
// missing; `make exercise-04 EX=read-line` runs them against your code.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

// <>, not "": the include path decides whether this is your line_reader.h
// or the reference solution's.
#include <line_reader.h>

#include "io.h"
#include "socket_error.h"
#include "tcp.h"
#include "tests/socket_test.h"

using namespace std::chrono_literals;

namespace {

/// A connected pair on loopback: the test writes to `client`; the
/// LineReader reads `server`.
struct Pair {
  cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
  cfs::Fd client = cfs::connect_tcp("127.0.0.1", listener.address.port());
  cfs::Fd server = cfs::accept_client(listener.fd.get());

  void send(const std::string& text) const {
    cfs::write_all(client.get(), std::as_bytes(std::span(text)));
  }
};

/// `text` with its line ends and carriage returns made visible.
std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

std::string shown(const std::optional<std::string>& line) {
  if (!line) return "std::nullopt (end of file)";
  if (line->size() > 60) return "a line of " + std::to_string(line->size()) + " bytes";
  return "\"" + escaped(*line) + "\"";
}

std::string shown(const std::vector<std::string>& lines) {
  std::string out = "{";
  for (std::size_t i = 0; i < lines.size() && i < 8; ++i) out += (i ? ", " : "") + shown(lines[i]);
  return out + (lines.size() > 8 ? ", ...}" : "}");
}

/// Every line until end of file (at most `most`, so that a reader that
/// never says end of file cannot loop for ever).
std::vector<std::string> all_lines(cfs::LineReader& reader, std::size_t most = 20000) {
  std::vector<std::string> lines;
  while (lines.size() < most) {
    std::optional<std::string> line = reader.next();
    if (!line) break;
    lines.push_back(std::move(*line));
  }
  return lines;
}

}  // namespace

TEST_CASE("a line sent one byte at a time comes out whole") {
  SocketTest test("read-line: one byte at a time", 60s);
  {
    Pair pair;
    std::thread writer([&pair] {
      for (char c : std::string("hello\nworld\n")) {
        pair.send(std::string(1, c));
        std::this_thread::sleep_for(2ms);  // each byte on its own
      }
    });
    cfs::LineReader reader(pair.server.get());
    const std::optional<std::string> first = reader.next();
    const std::optional<std::string> second = reader.next();
    writer.join();
    if (first && *first != "hello" && std::string("hello\n").starts_with(*first)) {
      FAIL("next() returned " << shown(first) << ", a piece of the line \"hello\": recv() returns "
           "what has arrived so far, and TCP may cut a line anywhere; keep reading until a '\\n' "
           "has come");
    }
    CHECK_MESSAGE(first == "hello", "the first line: expected \"hello\", got " << shown(first));
    CHECK_MESSAGE(second == "world", "the second line: expected \"world\", got " << shown(second));
  }
  test.check_all_closed();
}

TEST_CASE("several lines in one piece come out one by one, and none is lost") {
  SocketTest test("read-line: several lines at once", 60s);
  {
    Pair pair;
    pair.send("one\ntwo\nthree\n");
    pair.client.reset();  // and end of file after them
    cfs::LineReader reader(pair.server.get());
    const std::vector<std::string> lines = all_lines(reader);
    INFO("the lines: " << shown(lines));
    if (!lines.empty() && lines.front().find('\n') != std::string::npos) {
      FAIL("next() returned " << shown(lines.front()) << " as one line: split at each '\\n', "
           "return the line before it, and keep the bytes after it for the next call");
    }
    if (lines.size() < 3) {
      FAIL("only " << lines.size() << " line(s) before end of file, of 3: the bytes after the first "
           "'\\n' of a piece are the next lines; keep them for the next calls to next()");
    }
    CHECK(lines == std::vector<std::string>{"one", "two", "three"});
  }
  test.check_all_closed();
}

TEST_CASE("a last line may end without '\\n', \"\\r\\n\" ends a line too, and empty lines count") {
  SocketTest test("read-line: line ends", 60s);
  {
    Pair pair;
    pair.send("crlf\r\n\nlast");
    pair.client.reset();
    cfs::LineReader reader(pair.server.get());
    const std::vector<std::string> lines = all_lines(reader);
    INFO("the lines: " << shown(lines));
    CHECK_MESSAGE(lines.size() == 3, "\"crlf\\r\\n\\nlast\" then end of file is three lines: "
                                     "\"crlf\", an empty one, and \"last\" (no '\\n' after it)");
    if (!lines.empty()) {
      CHECK_MESSAGE(lines[0] == "crlf", "a line's \"\\r\\n\" goes, not only its '\\n'");
    }
    if (lines.size() == 3) {
      CHECK_MESSAGE(lines[1].empty(), "the second line is empty");
      CHECK_MESSAGE(lines[2] == "last", "the bytes before end of file are the last line");
    }
    CHECK_MESSAGE(!reader.next(), "after end of file, next() keeps saying std::nullopt");
  }
  test.check_all_closed();
}

TEST_CASE("a line longer than the limit throws LineTooLong, without waiting for its end") {
  SocketTest test("read-line: a line over the limit", 60s);
  {
    Pair pair;
    pair.send(std::string(1000, 'a'));  // no '\n', and the connection stays open
    // A reader that waits for the '\n' would wait for ever: 3 s on, the
    // client closes, which ends any wait.
    std::atomic<bool> done{false};
    std::thread closer([&] {
      for (int i = 0; i < 300 && !done; ++i) std::this_thread::sleep_for(10ms);
      ::shutdown(pair.client.get(), SHUT_WR);
    });
    cfs::LineReader reader(pair.server.get(), 100);
    const auto start = std::chrono::steady_clock::now();
    std::optional<std::string> line;
    std::string what;
    bool threw = false;
    try {
      line = reader.next();
    } catch (const cfs::LineTooLong& e) {
      threw = true;
      what = e.what();
    }
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    done = true;
    closer.join();
    if (!threw) {
      FAIL("next() returned " << shown(line) << " after " << waited << " s, with a limit of 100 "
           "bytes and 1000 bytes sent without a '\\n': once more than max_line bytes have come and "
           "none is a '\\n', throw LineTooLong");
    }
    CHECK_MESSAGE(waited < 2.5, "it threw only after " << waited << " s, when the client closed: "
                                "check the limit while the line is still incomplete, not only "
                                "when its '\\n' comes (a peer may never send one)");
    CHECK_MESSAGE(what.find("100") != std::string::npos,
                  "the message, \"" << what << "\", should say what the limit was");
  }
  test.check_all_closed();
}

TEST_CASE("20,000 lines of every length up to 300 bytes, cut at random, all come out in order") {
  SocketTest test("read-line: many lines", 120s);
  {
    Pair pair;
    std::vector<std::string> sent;
    std::string text;
    for (std::size_t i = 0; i < 20000; ++i) {
      sent.push_back(std::string(i * 37 % 301, static_cast<char>('a' + i % 26)));
      text += sent.back() + "\n";
    }
    std::thread writer([&] {
      std::mt19937 random(42);
      try {
        for (std::size_t done = 0; done < text.size();) {
          const std::size_t n = std::min<std::size_t>(text.size() - done, random() % 700 + 1);
          pair.send(text.substr(done, n));
          done += n;
        }
      } catch (const cfs::SocketError&) {
        // the reader gave up (below) and shut its end: stop sending
      }
      pair.client.reset();
    });
    cfs::LineReader reader(pair.server.get(), 300);
    std::vector<std::string> got;
    try {
      got = all_lines(reader, sent.size() + 10);
    } catch (...) {
      // Reset the connection (close with a zero linger), so that the
      // writer's next send fails and it stops.
      const linger reset{1, 0};
      setsockopt(pair.server.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      pair.server.reset();
      writer.join();
      throw;
    }
    writer.join();
    std::size_t first_wrong = 0;
    while (first_wrong < got.size() && first_wrong < sent.size() && got[first_wrong] == sent[first_wrong]) {
      ++first_wrong;
    }
    std::string detail = "the first " + std::to_string(first_wrong) + " lines are right";
    if (first_wrong < got.size() && first_wrong < sent.size()) {
      detail += "; line " + std::to_string(first_wrong) + " was sent as " + shown(sent[first_wrong]) +
                " and came out as " + shown(got[first_wrong]);
    }
    CHECK_MESSAGE(got.size() == sent.size(), got.size() << " lines came out of " << sent.size()
                                             << " sent; " << detail);
    CHECK_MESSAGE(first_wrong == sent.size(), detail);
  }
  test.check_all_closed();
}
