// load_client.cpp: connect everything, then a closed loop per connection,
// on one thread and one Poller, each byte checked as it comes back.
#include "load_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <span>

#include "address.h"
#include "fd.h"
#include "poller.h"
#include "tcp.h"

namespace cfs {

namespace {

using Clock = std::chrono::steady_clock;

#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;  // the socket has SO_NOSIGPIPE (tcp_socket())
#endif

constexpr std::size_t kChunk = 64 * 1024;  // the most one send() or recv() moves
constexpr std::size_t kErrorsKept = 5;

//! [message-bytes]
/// SplitMix64: a fast, good 64-bit mixing function.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Bytes [offset, offset + out.size()) of message `seq` of connection `id`:
/// byte p is byte p % 8 of mix(key + p / 8), key drawn from (id, seq).
void message_bytes(std::uint32_t id, std::uint64_t seq, std::size_t offset, std::span<std::byte> out) {
  const std::uint64_t key = mix((std::uint64_t{id} << 40) ^ seq);
  std::size_t i = 0;
  while (i < out.size()) {
    const std::size_t p = offset + i;
    const std::uint64_t block = mix(key + p / 8);
    for (std::size_t b = p % 8; b < 8 && i < out.size(); ++b, ++i) {
      out[i] = static_cast<std::byte>(block >> (8 * b));
    }
  }
}
//! [message-bytes]

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Connection {
  enum class State { connecting, echoing, waiting, closing, done };
  Fd fd;
  std::uint32_t id = 0;
  State state = State::connecting;
  std::uint64_t seq = 0;       // the message under way
  std::uint64_t finished = 0;  // messages echoed in full
  std::uint64_t counted = 0;   // of those, the counted ones
  std::size_t sent = 0;        // of the message under way
  std::size_t received = 0;
  Clock::time_point since;     // the message's start, or the connect's, or our FIN
  bool watching_writes = false;
};

class LoadRun {
 public:
  explicit LoadRun(const LoadOptions& o) : o_(o) { connections_.reserve(o.connections); }
  LoadResult run();

 private:
  void connect_all();
  void start_connect(std::uint32_t id);
  void connected(Connection& c);
  void start_message(Connection& c, Clock::time_point now);
  void send_more(Connection& c);
  void on_readable(Connection& c, Clock::time_point now);
  void message_done(Connection& c, Clock::time_point now);
  void finish(Connection& c, Clock::time_point now);
  void check_timeouts(Clock::time_point now);
  void watch_writes(Connection& c, bool on);
  LoadResult::Share shares() const;
  void fail(Connection& c, const std::string& why);
  void close(Connection& c);
  /// Whether a message sent at `sent` counts: every one in a run of
  /// --messages; else those sent in the counted seconds, however late their
  /// echo comes (the run waits for it). One sent in the warm-up is the
  /// warm-up's, even if its echo comes in the counted seconds.
  bool counting(Clock::time_point sent) const {
    return o_.messages != 0 || (sent >= count_from_ && sent < count_until_);
  }

  const LoadOptions& o_;
  LoadResult r_;
  Poller poller_;
  std::vector<Connection> connections_;  // reserved: tags point into it
  std::array<std::byte, kChunk> scratch_{};
  std::array<std::byte, kChunk> expected_{};
  Address address_;
  std::size_t in_flight_ = 0;  // connects under way
  std::size_t open_ = 0;       // connections not done
  std::size_t echoing_ = 0;    // connections in state echoing
  std::size_t unechoed_ = 0;   // of those, the ones whose first echo has not come
  bool stopping_ = false;      // every connection has been told to finish
  Clock::time_point count_from_, count_until_;
};

void LoadRun::fail(Connection& c, const std::string& why) {
  ++r_.errors;
  if (r_.first_errors.size() < kErrorsKept) {
    r_.first_errors.push_back("connection " + std::to_string(c.id) + ": " + why);
  }
  if (c.state == Connection::State::connecting) --in_flight_;
  close(c);
}

void LoadRun::close(Connection& c) {
  if (c.state == Connection::State::done) return;
  if (c.state == Connection::State::echoing) {
    --echoing_;
    if (c.finished == 0) --unechoed_;
  }
  poller_.remove(c.fd.get());
  c.fd.reset();
  c.state = Connection::State::done;
  --open_;
}

void LoadRun::watch_writes(Connection& c, bool on) {
  if (c.watching_writes == on) return;
  poller_.watch_writes(c.fd.get(), &c, on);
  c.watching_writes = on;
}

//! [connect-all]
void LoadRun::start_connect(std::uint32_t id) {
  Connection& c = connections_.emplace_back();
  c.id = id;
  c.since = Clock::now();
  ++open_;
  const std::string name = address_.to_string();
  try {
    c.fd = tcp_socket(address_.family(), name);  // non-blocking, close-on-exec
  } catch (const std::exception& e) {
    c.state = Connection::State::done;  // never watched
    --open_;
    ++r_.errors;
    if (r_.first_errors.size() < kErrorsKept) r_.first_errors.push_back(e.what());
    return;
  }
  // The same on every server measured: small messages go out at once.
  const int on = 1;
  setsockopt(c.fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  poller_.add(c.fd.get(), &c);
  ++in_flight_;
  if (::connect(c.fd.get(), address_.get(), address_.length) == 0) {
    connected(c);  // loopback may finish the handshake at once
  } else if (errno == EINPROGRESS || errno == EINTR) {
    watch_writes(c, true);  // writable when the handshake is over
  } else {
    fail(c, std::string("connect: ") + std::strerror(errno));
  }
}

void LoadRun::connected(Connection& c) {
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error != 0) {
    fail(c, std::string("connect: ") + std::strerror(error));
    return;
  }
  --in_flight_;
  watch_writes(c, false);
  c.state = Connection::State::echoing;
  ++echoing_;
  ++unechoed_;
  ++r_.connected;
}

void LoadRun::connect_all() {
  std::uint32_t next = 0;
  while (next < o_.connections || in_flight_ > 0) {
    while (next < o_.connections && in_flight_ < o_.connecting_at_once) start_connect(next++);
    for (const Poller::Event& e : poller_.wait(50)) {
      auto& c = *static_cast<Connection*>(e.tag);
      if (c.state == Connection::State::connecting && (e.writable || e.readable)) connected(c);
    }
    const Clock::time_point now = Clock::now();
    for (Connection& c : connections_) {
      if (c.state == Connection::State::connecting && now - c.since > o_.timeout) {
        fail(c, "connect: no answer within the timeout");
      }
    }
  }
}
//! [connect-all]

//! [closed-loop]
void LoadRun::start_message(Connection& c, Clock::time_point now) {
  ++c.seq;
  c.sent = c.received = 0;
  c.since = now;
  send_more(c);
}

void LoadRun::send_more(Connection& c) {
  while (c.sent < o_.size) {
    const std::size_t n = std::min(kChunk, o_.size - c.sent);
    message_bytes(c.id, c.seq, c.sent, std::span(scratch_).first(n));
    const ssize_t k = ::send(c.fd.get(), scratch_.data(), n, kSendFlags);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      fail(c, std::string("send: ") + std::strerror(errno));
      return;
    }
    if (k > 0) c.sent += static_cast<std::size_t>(k);
    if (k < static_cast<ssize_t>(n)) {  // the send buffer is full: wait for room
      watch_writes(c, true);
      return;
    }
  }
  watch_writes(c, false);
}

void LoadRun::on_readable(Connection& c, Clock::time_point now) {
  const ssize_t n = ::recv(c.fd.get(), scratch_.data(), scratch_.size(), 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      fail(c, std::string("recv: ") + std::strerror(errno));
    }
    return;
  }
  if (c.state == Connection::State::closing) {
    if (n == 0) {  // the server's end of file, after ours: a clean end
      ++r_.closed_cleanly;
      close(c);
    } else {
      fail(c, std::to_string(n) + " byte(s) came back after the last message was complete");
    }
    return;
  }
  if (n == 0 && c.state == Connection::State::waiting) {  // its last echo was complete
    fail(c, "the server closed the connection before our end of file (after message " +
                std::to_string(c.seq) + ", echoed in full)");
    return;
  }
  if (n == 0) {
    fail(c, "the server closed the connection after " + std::to_string(c.received) + " of " +
                std::to_string(o_.size) + " bytes of message " + std::to_string(c.seq));
    return;
  }
  const std::size_t got = static_cast<std::size_t>(n);
  if (c.received + got > c.sent) {
    fail(c, "more bytes came back than were sent (" + std::to_string(c.received + got) +
                " back, " + std::to_string(c.sent) + " sent) in message " + std::to_string(c.seq));
    return;
  }
  // Compare with what was sent at exactly these places.
  message_bytes(c.id, c.seq, c.received, std::span(expected_).first(got));
  if (std::memcmp(scratch_.data(), expected_.data(), got) != 0) {
    std::size_t at = 0;
    while (scratch_[at] == expected_[at]) ++at;
    char what[160];
    std::snprintf(what, sizeof what, "byte %zu of message %llu differs: sent 0x%02x, got 0x%02x",
                  c.received + at, static_cast<unsigned long long>(c.seq),
                  static_cast<unsigned>(expected_[at]), static_cast<unsigned>(scratch_[at]));
    fail(c, what);
    return;
  }
  c.received += got;
  if (c.received == o_.size) message_done(c, now);
}

void LoadRun::message_done(Connection& c, Clock::time_point now) {
  if (++c.finished == 1) --unechoed_;
  ++r_.all_messages;
  if (counting(c.since)) {
    ++c.counted;
    ++r_.messages;
    r_.latency.record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.since).count()));
  }
  const bool sent_its_last =
      o_.messages != 0 ? c.finished == o_.messages : now >= count_until_;
  if (sent_its_last) {
    // Done, but it stays open until all are done (run()), so that the
    // server holds every connection at once until the last message, and
    // no connection's closing slows an echo still counted.
    c.state = Connection::State::waiting;
    --echoing_;
  } else {
    start_message(c, now);  // closed loop: the next one only now
  }
}
//! [closed-loop]

void LoadRun::finish(Connection& c, Clock::time_point now) {
  if (o_.close_wait.count() == 0) {
    close(c);
    return;
  }
  ::shutdown(c.fd.get(), SHUT_WR);  // our end of file; the server's should follow
  c.state = Connection::State::closing;
  c.since = now;
}

void LoadRun::check_timeouts(Clock::time_point now) {
  for (Connection& c : connections_) {
    if (c.state == Connection::State::echoing && now - c.since > o_.timeout) {
      ++r_.unanswered;
      fail(c, "message " + std::to_string(c.seq) + " not echoed within the timeout (" +
                  std::to_string(c.received) + " of " + std::to_string(o_.size) + " bytes back)");
    } else if (c.state == Connection::State::closing && now - c.since > o_.close_wait) {
      ++r_.unclosed;
      close(c);
    }
  }
}

LoadResult::Share LoadRun::shares() const {
  std::vector<std::uint64_t> counts;
  for (const Connection& c : connections_) {
    if (c.seq > 0) counts.push_back(c.counted);  // it was open when the messages began
  }
  if (counts.empty()) return {};
  std::sort(counts.begin(), counts.end());
  return {counts.front(), counts[(counts.size() - 1) / 2], counts.back()};
}

LoadResult LoadRun::run() {
  address_ = resolve(o_.host, o_.port).front();
  const Clock::time_point connecting = Clock::now();
  connect_all();
  r_.connect_seconds = seconds_between(connecting, Clock::now());

  //! [run]
  const Clock::time_point start = Clock::now();
  count_from_ = count_until_ = Clock::time_point::max();  // set when the warm-up ends
  const double cpu_start = cpu_seconds();
  for (Connection& c : connections_) {
    if (c.state == Connection::State::echoing) start_message(c, start);
  }
  Clock::time_point last_check = start, last_progress = start;
  std::uint64_t messages_at_progress = 0;
  while (open_ > 0) {
    for (const Poller::Event& e : poller_.wait(20)) {
      const Clock::time_point now = Clock::now();
      auto& c = *static_cast<Connection*>(e.tag);
      if (e.writable && c.state == Connection::State::echoing) send_more(c);
      if (e.readable && c.state != Connection::State::done) on_readable(c, now);
    }
    const Clock::time_point now = Clock::now();
    if (o_.messages == 0 && count_from_ == Clock::time_point::max() && now - start >= o_.warmup &&
        unechoed_ == 0) {
      // The warm-up is over: it lasted as asked, and every connection has
      // had an echo. (10,000 clients that connect at once can wait seconds
      // for their first: the kernel completed their handshakes, and the
      // server has yet to accept them.)
      count_from_ = now;
      count_until_ = now + o_.duration;
      r_.warmup_seconds = seconds_between(start, now);
    }
    const bool sending_over = o_.messages != 0 || now >= count_until_;
    if (sending_over && echoing_ == 0 && !stopping_) {  // the last one is back: once
      stopping_ = true;
      for (Connection& c : connections_) {
        if (c.state == Connection::State::waiting) finish(c, now);
      }
    }
    if (now - last_check >= std::chrono::milliseconds(100)) {
      check_timeouts(now);
      last_check = now;
    }
    if (o_.progress != nullptr && now - last_progress >= std::chrono::seconds(1)) {
      const double rate = static_cast<double>(r_.all_messages - messages_at_progress) /
                          seconds_between(last_progress, now);
      std::fprintf(o_.progress, "echo-bench: %5.1f s  %10.0f msg/s  %zu open  %llu error(s)%s\n",
                   seconds_between(start, now), rate, open_,
                   static_cast<unsigned long long>(r_.errors),
                   o_.messages == 0 && now < count_from_   ? "  (warm-up)"
                   : o_.messages == 0 && now >= count_until_ ? "  (finishing)"
                                                             : "");
      std::fflush(o_.progress);
      last_progress = now;
      messages_at_progress = r_.all_messages;
    }
  }
  r_.cpu_seconds = cpu_seconds() - cpu_start;
  r_.wall_seconds = seconds_between(start, Clock::now());
  r_.seconds = o_.messages != 0 ? r_.wall_seconds : std::chrono::duration<double>(o_.duration).count();
  //! [run]
  r_.per_connection = shares();
  return std::move(r_);
}

}  // namespace

LoadResult run_load(const LoadOptions& options) { return LoadRun(options).run(); }

}  // namespace cfs
