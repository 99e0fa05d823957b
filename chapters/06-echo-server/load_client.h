// load_client.h: the engine of echo-bench, a closed-loop load client that
// checks every byte.
//
//   cfs::LoadOptions o{.port = 7007, .connections = 1000, .size = 64};
//   cfs::LoadResult r = cfs::run_load(o);
//   r.messages / r.seconds   messages per second; r.latency.percentile(99)
//
// First it opens all the connections (a few at a time, so as not to flood
// the server's listen queue), and only then starts: every connection the
// server is asked to hold is held at once. Then each connection sends a
// message and waits for the whole of its echo before sending the next (a
// closed loop: the load is C messages in flight, never more). The warm-up
// lasts `warmup`, and longer if need be, until every connection has had an
// echo; then come `duration` seconds: the messages sent in them are counted,
// however late their echo comes. Then each connection finishes its message
// and sends no other; when the last of them is back, all send their end of
// file (none closes while a counted echo is still to come) and wait for the
// server's.
//
// Every byte that comes back is compared with the byte sent at that place.
// A message is pseudo-random bytes drawn from (connection, message number,
// position), so a byte that comes back from the wrong place, the wrong
// message or the wrong connection differs, and all 256 values occur. Reads
// take what has arrived, however little: a 64-byte echo may come back as 1
// byte and then 63, and is checked piece by piece.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "latency_histogram.h"

namespace cfs {

//! [load-options]
struct LoadOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t connections = 100;
  std::size_t size = 64;  ///< bytes per message
  /// Not counted: at least this long, and until every connection has had
  /// the echo of its first message (the server serves them all by then).
  std::chrono::nanoseconds warmup = std::chrono::seconds(1);
  std::chrono::nanoseconds duration = std::chrono::seconds(5);
  /// If not 0: instead of warm-up and duration, each connection sends this
  /// many messages, all counted; it stays open until all have sent theirs,
  /// then all finish.
  std::uint64_t messages = 0;
  /// A connection whose connect or echo takes longer has failed.
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  /// After our end of file, how long to wait for the server's; 0: do not
  /// wait, close at once. (A server that does not close in time is counted
  /// in `unclosed`, not as an error.)
  std::chrono::nanoseconds close_wait = std::chrono::seconds(5);
  std::size_t connecting_at_once = 128;  ///< connects in flight at a time
  /// If not null: a line a second on it while messages flow.
  std::FILE* progress = nullptr;
};
//! [load-options]

//! [load-result]
struct LoadResult {
  std::size_t connected = 0;      ///< connections open at once before the start
  double connect_seconds = 0;     ///< how long connecting them all took
  std::uint64_t messages = 0;     ///< counted messages, each checked in full
  std::uint64_t all_messages = 0; ///< with the warm-up's
  double seconds = 0;             ///< the time they were counted over
  double warmup_seconds = 0;      ///< the warm-up as it was: first message to the count
  LatencyHistogram latency;       ///< round trips of the counted ones, ns
  /// Messages whose echo did not come within `timeout` (their connections
  /// gave up), in the warm-up or not. Their latency is in no percentile: a
  /// server that leaves connections unanswered has its percentiles over
  /// the others, fewer in flight, and is not comparable with one that
  /// answered all.
  std::uint64_t unanswered = 0;
  std::uint64_t errors = 0;       ///< connections that failed, each for a reason
  std::vector<std::string> first_errors;  ///< the first few reasons
  std::size_t closed_cleanly = 0; ///< the server's end of file came after our own
  std::size_t unclosed = 0;       ///< it did not come within close_wait
  double wall_seconds = 0;        ///< from the first message to the last close
  double cpu_seconds = 0;         ///< this process's CPU time in that time
  /// Counted messages per connection, over every connection that started
  /// a message (those that failed too: 0): the fewest, the median and the
  /// most. Equal shares mean a fair server; a server that serves some
  /// connections often and leaves others waiting shows here, where the
  /// latency percentiles mix them all together.
  struct Share {
    std::uint64_t fewest = 0, median = 0, most = 0;
  } per_connection;
};
//! [load-result]

/// Runs the load as `options` say. Throws SocketError if the host does not
/// resolve; every failure of a connection is counted in the result instead.
LoadResult run_load(const LoadOptions& options);

}  // namespace cfs
