// fd_limit.cpp: getrlimit and setrlimit on RLIMIT_NOFILE.
#include "fd_limit.h"

#include <sys/resource.h>

#include <algorithm>
#include <climits>

namespace cfs {

namespace {

std::size_t as_size(rlim_t value) {
  return value == RLIM_INFINITY ? static_cast<std::size_t>(INT_MAX) : static_cast<std::size_t>(value);
}

}  // namespace

FdLimit fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return {};
  return {as_size(r.rlim_cur), as_size(r.rlim_max)};
}

//! [raise-fd-limit]
FdLimit raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return {};
  if (r.rlim_cur != r.rlim_max) {
    rlimit wanted = r;
    wanted.rlim_cur = r.rlim_max;
#if defined(__APPLE__) && defined(OPEN_MAX)
    // macOS reports an infinite hard limit but refuses a soft limit above
    // OPEN_MAX (10240).
    wanted.rlim_cur = std::min<rlim_t>(r.rlim_max, OPEN_MAX);
#endif
    setrlimit(RLIMIT_NOFILE, &wanted);  // if refused, the old limit stays
  }
  return fd_limit();
}
//! [raise-fd-limit]

}  // namespace cfs
