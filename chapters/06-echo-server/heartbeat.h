// heartbeat.h: a coroutine that shows whether the dispatcher is alive.
//
// It notes "heartbeat N" on a timeline every `period`, `beats` times, and
// gives the other coroutines a turn in between. It has no timer to wait on
// (this chapter's dispatcher has none): at each of its turns it looks at
// the clock, beats if the time has come, and yields. So the beats are as
// regular as the turns. If another coroutine holds the thread for half a
// second, the next beat comes half a second late, and the gap on the
// timeline shows exactly how long nothing else could run.
#pragma once

#include <chrono>
#include <string>

#include "coroutine.h"
#include "timeline.h"

namespace cfs {

//! [heartbeat]
/// A coroutine body for RoundRobin; its note says how long since the last.
inline void heartbeat(Timeline& timeline, std::chrono::milliseconds period, int beats) {
  using Clock = Timeline::Clock;
  Clock::time_point next = Clock::now();
  double last = -1;
  for (int beat = 1; beat <= beats;) {
    if (Clock::now() >= next) {
      const double now = timeline.now();
      const std::string gap =
          last < 0 ? "" : " (" + std::to_string(static_cast<int>((now - last) * 1000)) + " ms after the last)";
      timeline.note("heartbeat " + std::to_string(beat) + gap);
      last = now;
      next = Clock::now() + period;
      ++beat;
    }
    cfs::yield();  // let the others run
  }
}
//! [heartbeat]

}  // namespace cfs
