// deadline.h: points in time that waits give up at.
//
// A deadline is a point on the monotonic clock (steady_clock: it never jumps
// when the wall clock is set). "No deadline" is the clock's far end, so that
// every wait has one and code needs no special case.
#pragma once

#include <chrono>

namespace cfs {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

/// A wait with this deadline waits as long as it takes.
inline constexpr Deadline no_deadline = Deadline::max();

/// The deadline `d` from now: read_some(fd, buf, after(5s)).
inline Deadline after(Clock::duration d) { return Clock::now() + d; }

}  // namespace cfs
