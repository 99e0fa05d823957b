// echo_bench.cpp: the load client as a program, `echo-bench`.
//
//   echo-bench --port PORT [--host HOST] [--connections C] [--size S]
//              [--warmup S] [--duration S] [--messages N] [--json] ...
//
// Opens C connections, then runs a closed loop on each (load_client.h),
// checking every byte, and prints what it measured. Exit status 0 if every
// connection opened and no byte was wrong or missing, 1 if not, 2 for a bad
// command line.
#include <chrono>
#include <cstdio>
#include <string>

#include "command_line.h"
#include "fd_limit.h"
#include "load_client.h"
#include "socket_error.h"

namespace {

void usage(std::FILE* to, const char* program) {
  std::fprintf(to,
               "usage: %s --port PORT [--host HOST] [--connections C] [--size BYTES]\n"
               "          [--warmup S] [--duration S] [--messages N] [--timeout S]\n"
               "          [--close-wait S] [--connecting N] [--progress] [--json]\n"
               "  A closed-loop load client for an echo server; checks every byte.\n"
               "  --host HOST       the server (default 127.0.0.1)\n"
               "  --port PORT       its port, 1 to 65535 (required)\n"
               "  --connections C   connections, all open at once (default 100)\n"
               "  --size BYTES      bytes per message, e.g. 64 or 4K (default 64)\n"
               "  --warmup S        seconds whose messages are not counted (default 1),\n"
               "                    and longer until every connection has had an echo\n"
               "  --duration S      seconds of counted messages (default 5)\n"
               "  --messages N      instead: N messages per connection, all counted\n"
               "  --timeout S       a connect or an echo taking longer fails (default 10)\n"
               "  --close-wait S    after the last message, how long to wait for the\n"
               "                    server's end of file; 0: close at once (default 5)\n"
               "  --connecting N    connects in flight at a time (default 128)\n"
               "  --progress        a line a second on stderr (default: on runs of 5 s or more)\n"
               "  --json            the result as one line of JSON\n"
               "  --help            this text\n",
               program);
}

struct Flags {
  cfs::LoadOptions load;
  bool progress = false;
  bool json = false;
};

Flags parse(int argc, char** argv) {
  Flags f;
  bool have_port = false;
  cfs::CommandLine args(argc, argv);
  while (args.next()) {
    if (args.is("--host")) f.load.host = args.text();
    else if (args.is("--port")) f.load.port = static_cast<std::uint16_t>(args.number(1, 65535)), have_port = true;
    else if (args.is("--connections")) f.load.connections = args.number(1, 1'000'000);
    else if (args.is("--size")) f.load.size = args.bytes(1, 64 << 20);
    else if (args.is("--warmup")) f.load.warmup = args.seconds(0, 3600);
    else if (args.is("--duration")) f.load.duration = args.seconds(0.01, 86400);
    else if (args.is("--messages")) f.load.messages = args.number(1, 1'000'000'000);
    else if (args.is("--timeout")) f.load.timeout = args.seconds(0.01, 3600);
    else if (args.is("--close-wait")) f.load.close_wait = args.seconds(0, 3600);
    else if (args.is("--connecting")) f.load.connecting_at_once = args.number(1, 100'000);
    else if (args.is("--progress")) f.progress = true;
    else if (args.is("--json")) f.json = true;
    else args.unknown();
  }
  if (!have_port) throw cfs::UsageError("--port is required");
  return f;
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

void print_text(const Flags& f, const cfs::LoadResult& r) {
  const cfs::LoadOptions& o = f.load;
  const double rate = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
  std::printf("connections  %zu of %zu open at once, after %.2f s of connecting\n", r.connected,
              o.connections, r.connect_seconds);
  std::printf("messages     %llu in %.2f s: %.0f msg/s, %.2f MB/s each way (every byte checked)\n",
              static_cast<unsigned long long>(r.messages), r.seconds, rate,
              rate * static_cast<double>(o.size) / 1e6);
  if (o.messages == 0) {
    std::printf("warm-up      %.2f s, until every connection had had an echo\n", r.warmup_seconds);
  }
  std::printf("latency      p50 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n",
              us(r.latency.percentile(50)), us(r.latency.percentile(99)),
              us(r.latency.percentile(99.9)), us(r.latency.max()));
  if (r.unanswered != 0) {
    std::printf("unanswered   %llu message(s) not echoed within the timeout: their latency is "
                "in no percentile\n",
                static_cast<unsigned long long>(r.unanswered));
  }
  std::printf("per conn     fewest %llu, median %llu, most %llu counted messages\n",
              static_cast<unsigned long long>(r.per_connection.fewest),
              static_cast<unsigned long long>(r.per_connection.median),
              static_cast<unsigned long long>(r.per_connection.most));
  std::printf("errors       %llu\n", static_cast<unsigned long long>(r.errors));
  for (const std::string& e : r.first_errors) std::printf("  %s\n", e.c_str());
  if (o.close_wait.count() != 0) {
    std::printf("closed       %zu cleanly (the server's end of file after ours), %zu not closed "
                "in time\n",
                r.closed_cleanly, r.unclosed);
  }
  std::printf("client CPU   %.2f s in %.2f s (%.0f%% of one core)\n", r.cpu_seconds, r.wall_seconds,
              r.wall_seconds > 0 ? 100.0 * r.cpu_seconds / r.wall_seconds : 0.0);
}

void print_json(const Flags& f, const cfs::LoadResult& r) {
  const double rate = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
  std::printf("{\"connections\": %zu, \"connected\": %zu, \"size\": %zu, \"messages\": %llu, "
              "\"seconds\": %.3f, \"msg_per_s\": %.1f, \"mb_per_s\": %.3f, \"p50_us\": %.2f, "
              "\"p99_us\": %.2f, \"p999_us\": %.2f, \"max_us\": %.2f, \"errors\": %llu, "
              "\"closed_cleanly\": %zu, \"unclosed\": %zu, \"client_cpu\": %.3f, \"warmup_s\": %.3f, "
              "\"connect_s\": %.3f, \"fewest_per_conn\": %llu, \"median_per_conn\": %llu, "
              "\"most_per_conn\": %llu, \"unanswered\": %llu}\n",
              f.load.connections, r.connected, f.load.size,
              static_cast<unsigned long long>(r.messages), r.seconds, rate,
              rate * static_cast<double>(f.load.size) / 1e6, us(r.latency.percentile(50)),
              us(r.latency.percentile(99)), us(r.latency.percentile(99.9)), us(r.latency.max()),
              static_cast<unsigned long long>(r.errors), r.closed_cleanly, r.unclosed,
              r.wall_seconds > 0 ? r.cpu_seconds / r.wall_seconds : 0.0, r.warmup_seconds,
              r.connect_seconds, static_cast<unsigned long long>(r.per_connection.fewest),
              static_cast<unsigned long long>(r.per_connection.median),
              static_cast<unsigned long long>(r.per_connection.most),
              static_cast<unsigned long long>(r.unanswered));
}

}  // namespace

int main(int argc, char** argv) {
  const char* program = argv[0];
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      usage(stdout, program);
      return 0;
    }
  }
  Flags f;
  try {
    f = parse(argc, argv);
  } catch (const cfs::UsageError& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    usage(stderr, program);
    return 2;
  }
  const cfs::FdLimit limit = cfs::raise_fd_limit();
  if (f.load.connections + 8 > limit.soft) {
    std::fprintf(stderr, "%s: %zu connections need about %zu descriptors, and this process may "
                 "open %zu (hard limit %zu): expect failures\n",
                 program, f.load.connections, f.load.connections + 8, limit.soft, limit.hard);
  }
  const double run_seconds = std::chrono::duration<double>(f.load.warmup + f.load.duration).count();
  if (f.progress || (f.load.messages == 0 && run_seconds >= 5)) f.load.progress = stderr;
  if (!f.json) {
    std::printf("echo-bench: %s port %u, %zu connection(s), %zu-byte messages, ", f.load.host.c_str(),
                f.load.port, f.load.connections, f.load.size);
    if (f.load.messages != 0) {
      std::printf("%llu per connection\n", static_cast<unsigned long long>(f.load.messages));
    } else {
      std::printf("%g s warm-up, %g s counted\n",
                  std::chrono::duration<double>(f.load.warmup).count(),
                  std::chrono::duration<double>(f.load.duration).count());
    }
    std::fflush(stdout);
  }
  cfs::LoadResult r;
  try {
    r = cfs::run_load(f.load);
  } catch (const cfs::SocketError& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
  if (f.json) print_json(f, r);
  else print_text(f, r);
  return r.errors == 0 && r.connected == f.load.connections ? 0 : 1;
}
