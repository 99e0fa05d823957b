// common/kqueue_epoll.h: the part of kqueue(2) an event loop needs, for
// Linux, on top of epoll.
//
// Include common/kqueue.h rather than this file: it picks the system's
// <sys/event.h> where there is one. The names are kqueue's own, so a
// chapter's code is the same on every system; they live in namespace
// cfs_kqueue (brought into the global namespace below), so the linker never
// confuses them with another emulation's C symbols `kqueue` and `kevent`.
// As on macOS, `struct kevent` and the function `kevent` share a name: write
// `struct kevent ev;` in C++ too.
//
// Covered: EVFILT_READ, EVFILT_WRITE (sockets, pipes, FIFOs), EVFILT_TIMER,
// EVFILT_USER; EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT,
// EV_CLEAR, EV_DISPATCH, EV_RECEIPT; EV_EOF and EV_ERROR on output. Anything
// else is refused with EINVAL (an unknown filter) or does not compile (an
// unknown flag), rather than half working.
//
// Where the shim differs from the real kqueue, and why:
// notes/kqueue-on-epoll.md. The two differences a caller can see:
//  - Reading a socket's pending error is the only way Linux reports it, and
//    reading clears it. An EVFILT_READ event with EV_EOF therefore takes the
//    error into `fflags`, after which read() returns 0 instead of -1/errno:
//    test `fflags`, which works on every system. EVFILT_WRITE never takes
//    it, so getsockopt(SO_ERROR) after a non-blocking connect() still works.
//  - The shim knows a descriptor by its number. close() cannot be seen;
//    instead every event is checked, before delivery, to still belong to the
//    open file the number named at registration (epoll keys its entries by
//    that pair). Knotes of a closed descriptor are never delivered, and a new
//    descriptor that reuses the number starts with none -- unless the number
//    is made to name the very same open file again (dup2 of a surviving copy
//    onto it), which the shim cannot tell from "never closed".
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>

namespace cfs_kqueue {

/// One change (in the change list) or one event (in the event list).
/// The layout of macOS's struct kevent.
struct kevent {
  std::uintptr_t ident;  ///< what to watch: a descriptor, or a timer/user id
  std::int16_t filter;   ///< EVFILT_*
  std::uint16_t flags;   ///< EV_* actions in, EV_EOF / EV_ERROR out
  std::uint32_t fflags;  ///< filter flags: NOTE_*, or an error on EV_EOF
  std::intptr_t data;    ///< filter data: bytes, expirations, an errno
  void* udata;           ///< opaque to the kernel, handed back unchanged
};

/// A new kernel event queue. The descriptor is an epoll descriptor; close()
/// it when done, which releases every kernel resource the queue holds (the
/// shim's own bookkeeping for it is freed by the next kqueue() call).
/// -1 with errno on failure.
int kqueue();

/// Applies `nchanges` changes, then waits up to `timeout` (nullptr: no
/// limit; {0, 0}: do not wait) for events and stores up to `nevents` of
/// them. Returns how many were stored, 0 on timeout, -1 with errno. A change
/// that fails, when there is room, is stored as an entry with EV_ERROR and
/// data = errno, and the call then returns at once (EV_RECEIPT asks for such
/// an entry, data = 0, for a change that succeeded too); without room it
/// returns -1 with that errno.
int kevent(int kq, const struct kevent* changelist, int nchanges,
           struct kevent* eventlist, int nevents, const struct timespec* timeout);

namespace testing {
/// Tests only: how many kqueues the shim keeps bookkeeping for (a closed
/// one counts until the next kqueue() call).
std::size_t kqueues_tracked();
}  // namespace testing

}  // namespace cfs_kqueue

using cfs_kqueue::kevent;  // both the struct and the function, as on BSD
using cfs_kqueue::kqueue;

// Filters (FreeBSD's numbers; code should only use the names).
#define EVFILT_READ (-1)    // ident: a descriptor; data out: bytes to read
#define EVFILT_WRITE (-2)   // ident: a descriptor; data out: room to write
#define EVFILT_TIMER (-7)   // ident: any number; data in: period; out: expirations
#define EVFILT_USER (-11)   // ident: any number; fired by NOTE_TRIGGER

// Actions (flags in a change).
#define EV_ADD 0x0001       // add, or modify if (ident, filter) is there
#define EV_DELETE 0x0002    // remove
#define EV_ENABLE 0x0004    // let kevent() return it again
#define EV_DISABLE 0x0008   // keep it, but do not return it
#define EV_ONESHOT 0x0010   // delete after the first delivery
#define EV_CLEAR 0x0020     // reset the state after each delivery
#define EV_RECEIPT 0x0040   // always report this change as an EV_ERROR entry
#define EV_DISPATCH 0x0080  // disable after each delivery

// Returned flags.
#define EV_ERROR 0x4000     // a change failed: data = errno (0 for a receipt)
#define EV_EOF 0x8000       // end of file; fflags = the socket error, if any

// EVFILT_TIMER units (fflags; none means milliseconds). macOS and FreeBSD
// share these three; NOTE_MSECONDS is FreeBSD only, so it is left out.
#define NOTE_SECONDS 0x00000001
#define NOTE_USECONDS 0x00000004
#define NOTE_NSECONDS 0x00000008

// EVFILT_USER (fflags).
#define NOTE_FFNOP 0x00000000       // leave the user flags as they are
#define NOTE_FFAND 0x40000000       // AND them with the low 24 bits given
#define NOTE_FFOR 0x80000000        // OR them with ...
#define NOTE_FFCOPY 0xc0000000      // replace them by ...
#define NOTE_FFCTRLMASK 0xc0000000  // which of the four above
#define NOTE_FFLAGSMASK 0x00ffffff  // the user's own 24 bits
#define NOTE_TRIGGER 0x01000000     // fire the event

// Fills in a struct kevent, as <sys/event.h> does.
#define EV_SET(kevp, a, b, c, d, e, f) \
  do {                                 \
    struct kevent* cfs_kev_ = (kevp);  \
    cfs_kev_->ident = (a);             \
    cfs_kev_->filter = (b);            \
    cfs_kev_->flags = (c);             \
    cfs_kev_->fflags = (d);            \
    cfs_kev_->data = (e);              \
    cfs_kev_->udata = (f);             \
  } while (0)
