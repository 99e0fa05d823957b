// loop_errors.h: how a wait on the loop ends when it does not succeed.
#pragma once

#include <stdexcept>
#include <string>

namespace cfs {

/// Thrown by a wait whose deadline passed first. Its stack unwinds like
/// for any exception; catch it where a timeout means something (an idle
/// connection is closed, a request is answered with an error).
class TimedOut : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Thrown by every wait of a task that Loop::cancel() cancelled, and of
/// every task still waiting when the loop stops. Cancellation sticks: a
/// task that catches it and waits again gets it again, so it cannot refuse
/// to end. Catch it only to clean up, and let it go on.
class Cancelled : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace cfs
