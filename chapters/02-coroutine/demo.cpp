// demo.cpp: a coroutine that yields from three calls deep, resumed by main
// until it finishes. Every line shows the coroutine's status as main sees it.
#include <cstdio>
#include <string>

#include "coroutine.h"

namespace {

//! [demo-body]
/// Three ordinary functions deep inside the coroutine: yield() suspends the
/// whole call chain, and resume() continues it right here.
void leaf(int round) { cfs::yield(round * round); }

void middle(int rounds) {
  for (int round = 1; round <= rounds; ++round) leaf(round);
}

void squares(int rounds, const std::string& name) {
  std::printf("  [%s] started on its own stack, will yield %d squares\n", name.c_str(), rounds);
  middle(rounds);
  std::printf("  [%s] finished\n", name.c_str());
}
//! [demo-body]

/// Where main reports: a good place for a debugger to stop while the
/// coroutine is suspended inside leaf().
__attribute__((noinline)) void report(int value, cfs::Status status) {
  std::printf("main: got %d, the coroutine is %s\n", value, cfs::to_string(status));
}

}  // namespace

int main() {
  //! [demo-main]
  // The function and its arguments are copied into the coroutine now; the
  // body runs at the first resume().
  cfs::Coroutine<int> coro(squares, 3, std::string("squares"));
  std::printf("main: created, the coroutine is %s\n", cfs::to_string(coro.status()));
  while (std::optional<int> value = coro.resume()) report(*value, coro.status());
  std::printf("main: resume() returned nothing, the coroutine is %s\n",
              cfs::to_string(coro.status()));
  //! [demo-main]
  return 0;
}
