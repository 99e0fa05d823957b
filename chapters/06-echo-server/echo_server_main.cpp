// echo_server_main.cpp: the echo server as a program, `echo-server`.
//
//   echo-server [--host HOST] [--port PORT] [--max-conns N] [--idle-timeout S]
//               [--drain-timeout S] [--stack-size BYTES] [--spin-us N]
//
// It prints "listening on HOST:PORT" (the port it got, for --port 0) as
// soon as clients can connect, serves until SIGINT or SIGTERM, drains, says
// what it did, and exits with status 0. A bad flag or value: the usage,
// naming it, on stderr, and status 2. It cannot listen: status 1.
#include <signal.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include "command_line.h"
#include "echo_server.h"
#include "fd_limit.h"
#include "socket_error.h"

namespace {

void usage(std::FILE* to, const char* program) {
  std::fprintf(to,
               "usage: %s [--host HOST] [--port PORT] [--max-conns N] [--idle-timeout S]\n"
               "          [--drain-timeout S] [--stack-size BYTES] [--spin-us N]\n"
               "  An echo server: a coroutine per connection, on a kqueue loop.\n"
               "  --host HOST         the address to listen on (default 127.0.0.1; ::1 for IPv6)\n"
               "  --port PORT         0 to 65535 (default 0: any free port, printed)\n"
               "  --max-conns N       connections served at once, 1 to 1000000 (default 10000);\n"
               "                      past it, new ones are closed at once\n"
               "  --idle-timeout S    seconds a connection may wait for its client, per wait;\n"
               "                      0: for ever (default 60)\n"
               "  --drain-timeout S   after SIGINT or SIGTERM, seconds the connections have to\n"
               "                      finish before they are closed (default 5)\n"
               "  --stack-size BYTES  each connection's stack, e.g. 64K (default 64K, at least 32K)\n"
               "  --spin-us N         microseconds the loop looks for events without sleeping\n"
               "                      before it sleeps, 0 to 10000 (default 0: it sleeps at once)\n"
               "  --help              this text\n"
               "Prints \"listening on HOST:PORT\", then serves until SIGINT or SIGTERM.\n",
               program);
}

cfs::EchoServerOptions parse(int argc, char** argv) {
  cfs::EchoServerOptions o;
  cfs::CommandLine args(argc, argv);
  while (args.next()) {
    if (args.is("--host")) {
      o.host = args.text();
    } else if (args.is("--port")) {
      o.port = static_cast<std::uint16_t>(args.number(0, 65535));
    } else if (args.is("--max-conns")) {
      o.max_conns = args.number(1, 1'000'000);
    } else if (args.is("--idle-timeout")) {
      o.idle_timeout = args.seconds(0, 86400);
    } else if (args.is("--drain-timeout")) {
      o.drain_timeout = args.seconds(0, 3600);
    } else if (args.is("--stack-size")) {
      // The echo buffer lives on the stack (16 KiB), with room to spare for
      // the calls under it (recv, send, an exception being thrown).
      o.stack_size = args.bytes(2 * cfs::kEchoBuffer, 64 << 20);
    } else if (args.is("--spin-us")) {
      o.spin = std::chrono::microseconds(args.number(0, 10'000));
    } else {
      args.unknown();
    }
  }
  return o;
}

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  const char* program = argv[0];
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      usage(stdout, program);
      return 0;
    }
  }
  cfs::EchoServerOptions options;
  try {
    options = parse(argc, argv);
  } catch (const cfs::UsageError& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    usage(stderr, program);
    return 2;
  }

  //! [main]
  const cfs::FdLimit limit = cfs::raise_fd_limit();
  try {
    cfs::EchoServer server(options);
    server.stop_on_signals();  // before the line below: whoever reads it may signal us
    std::printf("listening on %s\n", server.address().to_string().c_str());
    std::printf("max-conns %zu, idle timeout %g s, drain timeout %g s, stacks of %zu KiB, "
                "spin %lld us, descriptor limit %zu (hard %zu)\n",
                options.max_conns, seconds(options.idle_timeout), seconds(options.drain_timeout),
                options.stack_size / 1024,
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::microseconds>(options.spin).count()),
                limit.soft, limit.hard);
    if (options.max_conns + 16 > limit.soft) {
      std::printf("note: at most about %zu connections fit in %zu descriptors; clients past "
                  "that are turned away\n",
                  limit.soft > 16 ? limit.soft - 16 : 0, limit.soft);
    }
    std::fflush(stdout);  // whoever started us waits for these lines
    const int signal_number = server.run();
    // Drained: a signal from now on (a second Ctrl-C, say) changes nothing,
    // and must not end the process with anything but status 0.
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGTERM, SIG_IGN);
    const cfs::EchoServerStats& s = server.stats();
    std::printf("stopped by %s: %zu connection(s) served (at most %zu at once), %zu refused "
                "(max-conns), %zu turned away (out of descriptors), %zu without a stack, %zu "
                "idle timeout(s), %zu failed, %zu cut at the drain deadline; %llu bytes echoed\n",
                signal_number == SIGINT ? "SIGINT" : "SIGTERM", s.accepted.load(), s.peak.load(),
                s.refused.load(), s.turned_away.load(), s.no_stack.load(), s.timed_out.load(),
                s.failed.load(), s.cut.load(),
                static_cast<unsigned long long>(s.bytes.written.load()));
    if (options.spin > std::chrono::nanoseconds::zero()) {
      std::printf("the loop's spin found work %zu time(s) without sleeping\n", s.spin_finds.load());
    }
  } catch (const cfs::SocketError& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
  return 0;
  //! [main]
}
