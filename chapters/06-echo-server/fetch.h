// fetch.h: Programming in Lua's downloads (section 9.4), on loopback.
//
// The book fetches several files from a web server, first one after
// another, then with a coroutine per file so that the downloads overlap.
// Here the files come from local slow servers (slow_servers.h, slow_chunks):
// each sends its payload in chunks, each chunk after a delay that starts
// when the client asks for it. Three ways to fetch several of them:
//
//   fetch_sequentially  one after another: the total is the sum of all the
//                       delays
//   fetch_in_coroutines one coroutine per server, round-robin, blocking
//                       calls: still the sum, since a coroutine waiting in
//                       recv() holds the thread
//   fetch_polling_all   one coroutine per server on non-blocking sockets
//                       (polling_io.h): the waits overlap, and the total is
//                       the longest server's delays, but the dispatcher
//                       spins the whole time
//   fetch_on_loop       chapter 05: the same fetch(), one task per server
//                       on a Loop: the waits overlap, the total is the
//                       longest server's delays, and the thread sleeps in
//                       kevent() while every task waits
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cfs {

//! [fetch-decl]
/// Everything one slow server has, with blocking calls: ask for a chunk,
/// wait for it, again, until end of file. Inside a coroutine, it yields
/// after each chunk, to give the others a turn.
std::string fetch(std::uint16_t port);

/// The same, on a non-blocking socket (polling_io.h); inside a coroutine only.
std::string fetch_polling(std::uint16_t port);
//! [fetch-decl]

/// Each server's payload, in the order of `ports`.
std::vector<std::string> fetch_sequentially(const std::vector<std::uint16_t>& ports);
std::vector<std::string> fetch_in_coroutines(const std::vector<std::uint16_t>& ports);
std::vector<std::string> fetch_polling_all(const std::vector<std::uint16_t>& ports);
std::vector<std::string> fetch_on_loop(const std::vector<std::uint16_t>& ports);

}  // namespace cfs
