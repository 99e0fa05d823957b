// common/open_fds.h: which file descriptors this process has open.
//
// Tests that open sockets list the open descriptors before and after, to
// show that they closed everything they opened:
//
//   auto before = cfs::open_fds();
//   ... the test ...
//   CHECK_MESSAGE(cfs::open_fds() == before, cfs::describe_fds(cfs::open_fds()));
//
// Linux lists a process's descriptors in /proc/self/fd, macOS in /dev/fd.
// Reading the directory opens one more descriptor, which is left out. Under
// qemu-user or Valgrind the list also holds the tool's own descriptors; they
// stay open for the whole run, so before and after still compare equal.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace cfs {

/// The open descriptors, in increasing order.
inline std::vector<int> open_fds() {
#if defined(__linux__)
  const char* dir_name = "/proc/self/fd";
#else
  const char* dir_name = "/dev/fd";
#endif
  DIR* dir = opendir(dir_name);
  if (dir == nullptr) throw std::runtime_error(std::string("open_fds: cannot list ") + dir_name);
  const int own = dirfd(dir);
  std::vector<int> fds;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;  // "." and ".."
    const int fd = std::atoi(entry->d_name);
    if (fd != own) fds.push_back(fd);
  }
  closedir(dir);
  std::sort(fds.begin(), fds.end());
  return fds;
}

/// "3 -> socket:[1234], 4 -> /dev/null": what each descriptor is (Linux
/// names its target; elsewhere just the number), for failure messages.
inline std::string describe_fds(const std::vector<int>& fds) {
  std::string out;
  for (int fd : fds) {
    if (!out.empty()) out += ", ";
    out += std::to_string(fd);
#if defined(__linux__)
    char target[256];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n > 0) out += " -> " + std::string(target, static_cast<std::size_t>(n));
#endif
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace cfs
