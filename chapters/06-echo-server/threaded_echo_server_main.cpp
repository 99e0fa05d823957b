// threaded_echo_server_main.cpp: the thread-per-connection echo server, as a
// program (ch04_threaded_echo_server). Chapter 06's benchmark runs it as the
// point of comparison for the coroutine-per-connection server.
//
//   ch04_threaded_echo_server [--host HOST] [--port PORT]
//
// It prints "listening on HOST:PORT" (the port it got, if it asked for 0)
// as soon as it accepts connections, serves until SIGINT or SIGTERM, then
// closes every connection, joins every thread and exits with status 0.
// A bad argument prints the usage to stderr and exits with status 2.
#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "socket_error.h"
#include "threaded_echo_server.h"

namespace {

void usage(std::FILE* to, const char* program) {
  std::fprintf(to,
               "usage: %s [--host HOST] [--port PORT]\n"
               "  An echo server with a thread per connection.\n"
               "  --host HOST  the address to listen on (default 127.0.0.1; ::1 for IPv6)\n"
               "  --port PORT  the port, 0 to 65535 (default 0: any free port)\n"
               "  --help       this text\n"
               "Prints \"listening on HOST:PORT\", then serves until SIGINT or SIGTERM.\n",
               program);
}

int bad_usage(const char* program, const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", program, why.c_str());
  usage(stderr, program);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const char* program = argv[0];
  std::string host = "127.0.0.1";
  unsigned port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout, program);
      return 0;
    }
    if (arg != "--host" && arg != "--port") return bad_usage(program, "unknown argument '" + std::string(arg) + "'");
    if (i + 1 == argc) return bad_usage(program, std::string(arg) + " needs a value");
    const std::string_view value = argv[++i];
    if (arg == "--host") {
      host = value;
      continue;
    }
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), port);
    if (error != std::errc() || end != value.data() + value.size() || port > 65535) {
      return bad_usage(program, "--port wants a number from 0 to 65535, not '" + std::string(value) + "'");
    }
  }

  // SIGINT and SIGTERM are blocked in every thread (threads inherit the
  // mask of the thread that creates them), and main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    cfs::ThreadedEchoServer server(host, static_cast<std::uint16_t>(port));
    std::printf("listening on %s\n", server.address().to_string().c_str());
    std::fflush(stdout);  // whoever started us waits for this line
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    server.stop();
    std::printf("stopped by %s after %zu connection(s)\n",
                signal_number == SIGINT ? "SIGINT" : "SIGTERM", server.accepted());
  } catch (const cfs::SocketError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
