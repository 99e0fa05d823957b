// common/kqueue.h: kqueue(2) and kevent(2), the same code on every system.
//
// Chapters include this one header and write kqueue code exactly as on
// macOS or FreeBSD:
//
//   int kq = kqueue();
//   struct kevent change;
//   EV_SET(&change, fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, task);
//   kevent(kq, &change, 1, nullptr, 0, nullptr);
//   ...
//   close(kq);
//
// On macOS and the BSDs it is the system's own <sys/event.h>. Linux has no
// kqueue, so there it is the shim in kqueue_epoll.h (built on epoll; what
// it covers, and how it differs, is in notes/kqueue-on-epoll.md). Link the
// CMake target cfs_kqueue on every system: on Linux it is the shim, elsewhere
// it adds nothing.
#pragma once

#if defined(__linux__)
#include "kqueue_epoll.h"
#else
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#endif
