// fd_limit.h: as many descriptors as this process may have.
//
// Every connection is a descriptor, and a process may have at most
// RLIMIT_NOFILE of them open. That limit comes in two parts: the soft limit
// is the one enforced, the hard limit the highest the process may raise the
// soft one to, without privileges. The soft limit is often far lower (1024
// is common, a number from the days of select()), so a server that is to
// hold thousands of connections raises it to the hard limit at start. On
// the machine this chapter was measured on, both are 20000.
#pragma once

#include <cstddef>

namespace cfs {

//! [fd-limit]
struct FdLimit {
  std::size_t soft = 0;  ///< the limit in force: open() fails with EMFILE at it
  std::size_t hard = 0;  ///< the most it can be raised to
};

/// The limits now in force.
FdLimit fd_limit();

/// Raises the soft limit as far as the hard limit allows, and returns the
/// limits in force afterwards (unchanged if raising failed).
FdLimit raise_fd_limit();
//! [fd-limit]

}  // namespace cfs
