// common/kqueue_epoll.cpp: kqueue() and kevent() on top of epoll.
//
// The model (notes/kqueue-on-epoll.md tells it at length):
//  - A kqueue is an epoll descriptor. What kqueue keeps in the kernel, the
//    shim keeps here, under a lock: the knotes, one per (ident, filter), and
//    a ready queue of knotes whose condition may hold.
//  - A descriptor that has knotes is in the epoll set once, edge-triggered,
//    for every kind of readiness, whatever its knotes ask for. epoll's edges
//    mean only "look again": they put the descriptor's knotes on the queue.
//  - kevent() does what kqueue's scan does: it runs each queued knote's
//    filter again (what epoll has just reported for the descriptor, or one
//    poll() for the others among as many knotes as the call can return;
//    then the counts for `data`) and returns those whose condition still
//    holds. A knote that
//    is level-triggered stays queued; EV_CLEAR, EV_DISPATCH and EV_ONESHOT
//    ones leave the queue until something new happens.
//  - Timers and user events need no kernel object: they are deadlines and
//    flags here, and kevent() cuts its wait short at the nearest deadline.
//  - A thread that changes a kqueue while another thread waits in it wakes
//    the waiter through an eventfd that lives only until the waiter is up.
//    So a kqueue owns no descriptor but its epoll descriptor, and close()
//    on it releases everything in the kernel.
#include "kqueue_epoll.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kqueue_epoll_probes.h"

namespace cfs_kqueue {

namespace {

// --- Time --------------------------------------------------------------------

using Ns = std::int64_t;  // nanoseconds on the monotonic clock
constexpr Ns kNever = INT64_MAX;

Ns now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// a + b for a, b >= 0, stopping at kNever instead of overflowing.
Ns add_saturated(Ns a, Ns b) { return b > kNever - a ? kNever : a + b; }

// --- What the shim keeps per kqueue ---------------------------------------

// A descriptor is in the epoll set once, edge-triggered: one entry serves
// the read and the write knote alike (epoll has one entry per descriptor,
// kqueue one knote per filter). Its mask is what the enabled knotes need
// (entry_mask()), set when a change re-arms the entry; kWatchAll is
// everything, for the probes and for descriptors with an EV_CLEAR knote.
constexpr std::uint32_t kWatchAll = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr std::uint32_t kWatchRead = EPOLLIN | EPOLLRDHUP;
constexpr std::uint32_t kWatchWrite = EPOLLOUT;

// epoll_event.data of the wake-up eventfd; registrations count from 1.
constexpr std::uint64_t kWakeTag = 0;

// The flags a knote keeps from the change that created it (FreeBSD keeps
// them as first given: a later EV_ADD changes udata and the filter's
// parameters, not these).
constexpr std::uint16_t kKeptFlags = EV_ONESHOT | EV_CLEAR | EV_DISPATCH | EV_RECEIPT;

struct Registration;

struct Knote {
  std::uintptr_t ident = 0;
  std::int16_t filter = 0;
  std::uint16_t flags = 0;    // kKeptFlags as registered
  std::uint32_t fflags = 0;   // timer: its unit; user event: the user's 24 bits
  std::intptr_t data = 0;     // as given by the last change
  void* udata = nullptr;
  bool disabled = false;
  bool queued = false;                      // on the ready queue ...
  std::list<Knote*>::iterator queue_pos;    // ... at this place
  std::uint64_t seen_in_scan = 0;           // the last scan that looked at it
  Registration* reg = nullptr;              // EVFILT_READ and EVFILT_WRITE
  // EVFILT_TIMER
  Ns period = 0;
  Ns next = kNever;              // the next expiry; kNever when there is none
  std::uint64_t expirations = 0; // since the last delivery
  // EVFILT_USER
  bool triggered = false;
};

// A descriptor number with knotes, and the open file it named when it was
// put in the epoll set. epoll keys its entries by (number, open file); the
// shim looks at that key again before it believes an event (see
// still_registered()).
struct Registration {
  int fd = -1;
  std::uint64_t tag = 0;  // epoll_event.data of its entry; never reused
  bool is_socket = false;
  bool is_fifo = false;   // pipes are FIFOs too
  Knote* read = nullptr;
  Knote* write = nullptr;
  int socket_error = 0;   // the error an EOF took from SO_ERROR (it is gone there)
  // Filled by each scan that has a knote of this descriptor queued:
  std::uint64_t scan = 0;
  short revents = 0;      // what the descriptor is ready for
  bool verified = false;  // still_registered() was asked
  // The kevent() call that last found the number naming this open file
  // (a change to one of its knotes): events it collects need no new look.
  std::uint64_t verified_in_call = 0;
  // An edge epoll reported since the last scan, and the readiness epoll
  // found then (it polls a descriptor as it reports it): that scan need not
  // ask poll() again.
  std::uint64_t edge_for_scan = 0;
  short edge_revents = 0;
};

struct Kqueue {
  explicit Kqueue(int fd) : epfd(fd) {}
  ~Kqueue() {
    if (wake_fd >= 0) close(wake_fd);
  }
  Kqueue(const Kqueue&) = delete;
  Kqueue& operator=(const Kqueue&) = delete;

  const int epfd;  // the caller's kqueue descriptor; the caller closes it
  std::mutex mu;   // guards everything below
  std::map<std::pair<std::uintptr_t, std::int16_t>, std::unique_ptr<Knote>> knotes;
  std::unordered_map<int, std::unique_ptr<Registration>> by_fd;
  std::unordered_map<std::uint64_t, Registration*> by_tag;
  std::list<Knote*> ready;
  std::vector<Knote*> timers;
  std::uint64_t next_tag = kWakeTag + 1;
  std::uint64_t scans = 0;
  std::uint64_t calls = 0;  // kevent() calls, counted from 1
  int waiters = 0;   // threads inside epoll_wait() on epfd
  int wake_fd = -1;  // an eventfd in the set while a waiter is being woken
};

// --- The ready queue --------------------------------------------------------

void enqueue(Kqueue& kq, Knote* k) {
  if (k->queued || k->disabled) return;
  k->queue_pos = kq.ready.insert(kq.ready.end(), k);
  k->queued = true;
}

void dequeue(Kqueue& kq, Knote* k) {
  if (!k->queued) return;
  kq.ready.erase(k->queue_pos);
  k->queued = false;
}

// After a change: run the filter again at the next scan, unless disabled.
void settle(Kqueue& kq, Knote* k) {
  if (k->disabled) {
    dequeue(kq, k);
  } else {
    enqueue(kq, k);
  }
}

// --- Knotes and registrations ----------------------------------------------

Knote* new_knote(Kqueue& kq, const struct kevent& change) {
  auto owned = std::make_unique<Knote>();
  Knote* k = owned.get();
  k->ident = change.ident;
  k->filter = change.filter;
  k->flags = change.flags & kKeptFlags;
  k->data = change.data;
  k->udata = change.udata;
  k->disabled = (change.flags & EV_DISABLE) != 0;
  kq.knotes.emplace(std::make_pair(change.ident, change.filter), std::move(owned));
  return k;
}

void remove_knote(Kqueue& kq, Knote* k) {
  dequeue(kq, k);
  if (k->filter == EVFILT_TIMER) {
    kq.timers.erase(std::find(kq.timers.begin(), kq.timers.end(), k));
  }
  if (k->reg != nullptr) {
    (k->reg->read == k ? k->reg->read : k->reg->write) = nullptr;
  }
  kq.knotes.erase(std::make_pair(k->ident, k->filter));  // frees k
}

// Forgets a registration and its knotes, without touching epoll: its
// number no longer names its open file.
void drop_registration(Kqueue& kq, Registration* reg) {
  if (reg->read != nullptr) remove_knote(kq, reg->read);
  if (reg->write != nullptr) remove_knote(kq, reg->write);
  kq.by_tag.erase(reg->tag);
  kq.by_fd.erase(reg->fd);  // frees reg
}

// Takes a registration out of the epoll set once its last knote is gone.
void release_if_unused(Kqueue& kq, Registration* reg) {
  if (reg->read != nullptr || reg->write != nullptr) return;
  epoll_ctl(kq.epfd, EPOLL_CTL_DEL, reg->fd, nullptr);
  drop_registration(kq, reg);
}

Registration* new_registration(Kqueue& kq, int fd, std::uint64_t tag) {
  auto owned = std::make_unique<Registration>();
  Registration* reg = owned.get();
  reg->fd = fd;
  reg->tag = tag;
  struct stat st {};
  if (fstat(fd, &st) == 0) {
    reg->is_socket = S_ISSOCK(st.st_mode);
    reg->is_fifo = S_ISFIFO(st.st_mode);
  }
  kq.by_fd[fd] = std::move(owned);
  kq.by_tag[tag] = reg;
  return reg;
}

epoll_event watch(std::uint64_t tag, std::uint32_t mask) {
  epoll_event ev{};
  ev.events = mask;
  ev.data.u64 = tag;
  return ev;
}

epoll_event watch_all(std::uint64_t tag) { return watch(tag, kWatchAll); }

// EV_CLEAR alone: reported at each change of state, and not again while
// the state lasts. (With EV_DISPATCH or EV_ONESHOT, an enabled knote has
// not been reported since it was enabled: one more look cannot report it
// twice.)
bool clears_only(std::uint16_t flags) {
  return (flags & EV_CLEAR) && !(flags & (EV_DISPATCH | EV_ONESHOT));
}

// The mask the descriptor's entry needs once `change` (to its knote of
// change.filter) is made: the readiness its enabled knotes wait for, so that
// epoll neither wakes the loop for readiness nobody waits for (a socket is
// nearly always writable) nor reports it again at a re-arm. A descriptor
// with an EV_CLEAR knote keeps kWatchAll: changing its mask later would
// re-arm the entry, and report that knote a second time for one change.
std::uint32_t entry_mask(const Registration* reg, const struct kevent& change) {
  const bool reading = change.filter == EVFILT_READ;
  const Knote* same = reg == nullptr ? nullptr : reading ? reg->read : reg->write;
  const Knote* other = reg == nullptr ? nullptr : reading ? reg->write : reg->read;
  const std::uint16_t same_flags = same != nullptr ? same->flags : change.flags & kKeptFlags;
  if (clears_only(same_flags) || (other != nullptr && clears_only(other->flags))) return kWatchAll;
  bool same_on = same != nullptr ? !same->disabled : (change.flags & EV_DISABLE) == 0;
  if (change.flags & EV_ENABLE) same_on = true;
  if (change.flags & EV_DISABLE) same_on = false;
  const bool other_on = other != nullptr && !other->disabled;
  std::uint32_t mask = EPOLLET;
  if (same_on) mask |= reading ? kWatchRead : kWatchWrite;
  if (other_on) mask |= reading ? kWatchWrite : kWatchRead;
  return mask;
}

// Does number reg.fd still name the open file it named when registered?
// Ask epoll to add (number, the open file it names now): EEXIST means that
// pair is in the set already, so it is the registered one; success means
// the number now names another open file (take the entry out again); EBADF
// means the number is closed.
bool still_registered(Kqueue& kq, const Registration& reg) {
  epoll_event ev = watch_all(kq.next_tag++);
  if (epoll_ctl(kq.epfd, EPOLL_CTL_ADD, reg.fd, &ev) == 0) {
    epoll_ctl(kq.epfd, EPOLL_CTL_DEL, reg.fd, nullptr);
    return false;
  }
  return errno == EEXIST;
}

struct Found {
  Registration* reg;  // nullptr when there is none ...
  int error;          // ... and this says why
  // The descriptor's epoll entry was added or re-armed: epoll looks at the
  // file now, and its next epoll_wait() reports the descriptor if it is
  // ready, as an edge would. That is the filter run kqueue does when a
  // knote is added or enabled, without a poll() of our own.
  bool rearmed = false;
};

Registration* registration_of(Kqueue& kq, int fd) {
  auto it = kq.by_fd.find(fd);
  return it == kq.by_fd.end() ? nullptr : it->second.get();
}

// The registration for descriptor `fd`, checked against what the number
// names now (the same question as still_registered()). A registration left
// from a descriptor since closed is dropped: kqueue would have removed its
// knotes at close(). With `create`, a missing registration is made.
//
// With `rearm`, an existing registration is checked with EPOLL_CTL_MOD
// instead of the ADD probe: MOD succeeds only if (number, open file it
// names now) is the entry in the set, so it answers the same question, and
// it also re-arms the edge-triggered entry (one call for both). The caller
// asks for it only when an edge for the descriptor's other knote would not
// be a false one (see may_rearm()).
Found find_registration(Kqueue& kq, int fd, bool create, bool rearm = false,
                        std::uint32_t mask = kWatchAll) {
  Registration* reg = registration_of(kq, fd);
  if (reg == nullptr && !create) {
    return {nullptr, fcntl(fd, F_GETFD) < 0 ? EBADF : ENOENT};
  }
  if (reg != nullptr && rearm) {
    epoll_event ev = watch(reg->tag, mask);
    if (epoll_ctl(kq.epfd, EPOLL_CTL_MOD, fd, &ev) == 0) {
      reg->verified_in_call = kq.calls;
      return {reg, 0, true};
    }
    // ENOENT: the number names another open file (or none that the set
    // has); EBADF: it is closed. The ADD probe below sorts them out.
  }
  const std::uint64_t tag = kq.next_tag++;
  epoll_event ev = watch(tag, mask);
  if (epoll_ctl(kq.epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
    // The number names an open file the set did not have under it.
    if (reg != nullptr) drop_registration(kq, reg);
    if (!create) {
      epoll_ctl(kq.epfd, EPOLL_CTL_DEL, fd, nullptr);
      return {nullptr, ENOENT};
    }
    Registration* added = new_registration(kq, fd, tag);
    added->verified_in_call = kq.calls;
    return {added, 0, true};
  }
  const int error = errno;
  if (error == EEXIST && reg != nullptr) {
    reg->verified_in_call = kq.calls;
    return {reg, 0};
  }
  if (error == EEXIST) {
    // An entry without a registration: one dropped while its open file
    // lived on under another number, and this number names it again.
    // Adopt the entry (MOD gives it the new tag, and re-arms it).
    if (epoll_ctl(kq.epfd, EPOLL_CTL_MOD, fd, &ev) != 0) return {nullptr, errno};
    Registration* adopted = new_registration(kq, fd, tag);
    adopted->verified_in_call = kq.calls;
    return {adopted, 0, true};
  }
  // EBADF: closed. EPERM or EINVAL: the number names something epoll cannot
  // watch (a regular file, this kqueue itself). Either way not ours.
  if (reg != nullptr) drop_registration(kq, reg);
  return {nullptr, error};
}

// --- Changes -----------------------------------------------------------------

void set_enabled(Knote* k, std::uint16_t flags) {
  if (flags & EV_ENABLE) {
    k->disabled = false;
  } else if (flags & EV_DISABLE) {
    k->disabled = true;
  }
}

// May a change to `filter`'s knote on `fd` re-arm the descriptor's epoll
// entry? Re-arming makes epoll report the descriptor if it is ready for
// what the entry watches, so the descriptor's other knote may be queued
// too. Harmless if there is none, if it is disabled (not queued), if it is
// level-triggered (its filter runs again and says), or if it is an enabled
// EV_DISPATCH or EV_ONESHOT knote (not reported since it was enabled, so it
// is due anyway); but an enabled EV_CLEAR knote would be reported a second
// time for one change. Only a change that asks for the filter to run (an
// add, or an enable) gains.
bool may_rearm(Kqueue& kq, int fd, std::int16_t filter, std::uint16_t flags) {
  if (flags & (EV_DELETE | EV_DISABLE)) return false;
  if (!(flags & (EV_ADD | EV_ENABLE))) return false;
  const Registration* reg = registration_of(kq, fd);
  if (reg == nullptr) return true;  // a new entry: epoll looks at it anyway
  const Knote* other = filter == EVFILT_READ ? reg->write : reg->read;
  return other == nullptr || other->disabled || !clears_only(other->flags);
}

int apply_descriptor(Kqueue& kq, const struct kevent& change) {
  if (change.ident > static_cast<std::uintptr_t>(INT_MAX)) return EBADF;
  const int fd = static_cast<int>(change.ident);
  const bool deleting = (change.flags & EV_DELETE) != 0;
  const bool adding = (change.flags & EV_ADD) != 0 && !deleting;
  const Found found = find_registration(kq, fd, adding, may_rearm(kq, fd, change.filter, change.flags),
                                       entry_mask(registration_of(kq, fd), change));
  if (found.reg == nullptr) return found.error;
  Registration* reg = found.reg;
  Knote* k = change.filter == EVFILT_READ ? reg->read : reg->write;
  if (k == nullptr) {
    if (!adding) return ENOENT;
    k = new_knote(kq, change);
    k->reg = reg;
    (change.filter == EVFILT_READ ? reg->read : reg->write) = k;
  } else if (deleting) {
    remove_knote(kq, k);
    release_if_unused(kq, reg);
    return 0;
  } else {
    k->udata = change.udata;
    k->fflags = change.fflags;
    k->data = change.data;
    set_enabled(k, change.flags);
  }
  if (found.rearmed && !k->disabled) {
    // epoll will report the descriptor if it is ready (above): its edge
    // queues the knote, with what epoll found, and no poll() is needed.
    // A knote already queued (level-triggered, say) stays where it is.
    return 0;
  }
  settle(kq, k);
  return 0;
}

// A timer's period in nanoseconds, from data and the unit in fflags.
int timer_period(const struct kevent& change, bool oneshot, Ns* period) {
  Ns unit = 0;
  switch (change.fflags) {
    case 0: unit = 1'000'000; break;  // milliseconds
    case NOTE_SECONDS: unit = 1'000'000'000; break;
    case NOTE_USECONDS: unit = 1'000; break;
    case NOTE_NSECONDS: unit = 1; break;
    default: return EINVAL;  // an unknown flag, or two units at once
  }
  if (change.data < 0) return EINVAL;
  Ns count = change.data;
  if (count == 0 && !oneshot) count = 1;  // FreeBSD: a period of 0 is one unit
  *period = count > kNever / unit ? kNever : count * unit;
  return 0;
}

void start_timer(Knote* t, Ns period) {
  t->period = period;
  t->next = add_saturated(now_ns(), period);
  t->expirations = 0;  // re-adding forgets expirations not yet delivered
}

// Counts the expirations up to `now` (the deadlines, not the wake-ups: a
// late look still counts every period that passed).
void advance_timer(Knote* t, Ns now) {
  if (now < t->next) return;
  if (t->flags & EV_ONESHOT) {
    t->expirations += 1;
    t->next = kNever;
    return;
  }
  const std::uint64_t n = 1 + static_cast<std::uint64_t>((now - t->next) / t->period);
  t->expirations += n;
  t->next = add_saturated(t->next, n == 1 ? t->period : static_cast<Ns>(n) * t->period);
}

int apply_timer(Kqueue& kq, const struct kevent& change) {
  auto it = kq.knotes.find(std::make_pair(change.ident, change.filter));
  Knote* k = it == kq.knotes.end() ? nullptr : it->second.get();
  if (change.flags & EV_DELETE) {
    if (k == nullptr) return ENOENT;
    remove_knote(kq, k);
    return 0;
  }
  if (k == nullptr && !(change.flags & EV_ADD)) return ENOENT;
  const bool oneshot = ((k != nullptr ? k->flags : change.flags) & EV_ONESHOT) != 0;
  Ns period = 0;
  if (change.flags & EV_ADD) {
    if (const int error = timer_period(change, oneshot, &period)) return error;
  }
  if (k == nullptr) {
    k = new_knote(kq, change);
    k->flags |= EV_CLEAR;  // as on BSD: a timer reports expirations since the last look
    kq.timers.push_back(k);
  } else {
    k->udata = change.udata;
    set_enabled(k, change.flags);
  }
  if (change.flags & EV_ADD) {  // (re)start it
    k->fflags = change.fflags;
    k->data = change.data;
    start_timer(k, period);
  }
  settle(kq, k);
  return 0;
}

int apply_user(Kqueue& kq, const struct kevent& change) {
  auto it = kq.knotes.find(std::make_pair(change.ident, change.filter));
  Knote* k = it == kq.knotes.end() ? nullptr : it->second.get();
  if (change.flags & EV_DELETE) {
    if (k == nullptr) return ENOENT;
    remove_knote(kq, k);
    return 0;
  }
  const std::uint32_t bits = change.fflags & NOTE_FFLAGSMASK;
  if (k == nullptr) {
    if (!(change.flags & EV_ADD)) return ENOENT;
    k = new_knote(kq, change);
    k->fflags = bits;
    k->triggered = (change.fflags & NOTE_TRIGGER) != 0;
  } else {
    // Any change to an existing user event, NOTE_TRIGGER included, sets its
    // udata: trigger with the udata you want back.
    k->udata = change.udata;
    k->data = change.data;
    switch (change.fflags & NOTE_FFCTRLMASK) {
      case NOTE_FFAND: k->fflags &= bits; break;
      case NOTE_FFOR: k->fflags |= bits; break;
      case NOTE_FFCOPY: k->fflags = bits; break;
      default: break;  // NOTE_FFNOP
    }
    if (change.fflags & NOTE_TRIGGER) k->triggered = true;
    if (change.flags & EV_CLEAR) k->triggered = false;  // as FreeBSD's filt_usertouch
    set_enabled(k, change.flags);
  }
  settle(kq, k);
  return 0;
}

// Applies one change; 0 or the errno kqueue would report for it.
int apply(Kqueue& kq, const struct kevent& change) {
  if ((change.flags & EV_ENABLE) && (change.flags & EV_DISABLE)) return EINVAL;
  try {
    switch (change.filter) {
      case EVFILT_READ:
      case EVFILT_WRITE: return apply_descriptor(kq, change);
      case EVFILT_TIMER: return apply_timer(kq, change);
      case EVFILT_USER: return apply_user(kq, change);
      default: return EINVAL;  // not a filter, or one the shim does not have
    }
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  }
}

// --- Collecting events -------------------------------------------------------

// Puts the knotes of the descriptors epoll reported on the ready queue.
void take_edges(Kqueue& kq, const epoll_event* events, int n) {
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == kWakeTag) continue;
    auto it = kq.by_tag.find(events[i].data.u64);
    if (it == kq.by_tag.end()) continue;  // a dropped registration's entry
    Registration* reg = it->second;
    const std::uint32_t what = events[i].events;
    reg->edge_for_scan = kq.scans + 1;
    reg->edge_revents = static_cast<short>(what);  // EPOLLIN == POLLIN, and so on
    if (reg->read != nullptr && (what & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
      enqueue(kq, reg->read);
    }
    if (reg->write != nullptr && (what & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
      enqueue(kq, reg->write);
    }
  }
}

// What the descriptors of the next `want` knotes of the queue, from its
// front, are ready for: what epoll said in this scan, or else one poll()
// for all the others. Only as many knotes as this call can still return
// are looked at: the rest of a long queue waits for the next call, and is
// not polled again at every call meanwhile (which made a call cost as much
// as the whole queue, and 10,000 busy connections quadratic). 0 or an errno.
int poll_next_descriptors(Kqueue& kq, std::uint64_t scan, int want) {
  std::vector<pollfd> fds;
  std::vector<Registration*> regs;
  int looked = 0;
  for (auto it = kq.ready.begin(); it != kq.ready.end() && looked < want; ++it) {
    Knote* k = *it;
    if (k->seen_in_scan == scan) break;  // the rest were delivered in this scan
    ++looked;
    Registration* reg = k->reg;
    if (reg == nullptr || reg->scan == scan) continue;
    reg->scan = scan;
    reg->verified = false;
    if (reg->edge_for_scan == scan) {
      reg->revents = reg->edge_revents;
      continue;
    }
    reg->revents = 0;
    regs.push_back(reg);
    fds.push_back(pollfd{reg->fd, POLLIN | POLLOUT | POLLRDHUP, 0});
  }
  if (fds.empty()) return 0;
  while (poll(fds.data(), fds.size(), 0) < 0) {
    if (errno != EINTR) return errno;
  }
  for (std::size_t i = 0; i < fds.size(); ++i) regs[i]->revents = fds[i].revents;
  return 0;
}

std::intptr_t readable_data(const Registration& reg) {
  if (auto bytes = probes::bytes_readable(reg.fd)) return *bytes;
  // A listening socket counts connections; if even that fails, it is
  // readable, so there is at least one.
  if (reg.is_socket) return probes::pending_connections(reg.fd).value_or(1);
  return 0;
}

std::intptr_t writable_data(const Registration& reg, bool eof) {
  std::optional<std::int64_t> room;
  if (reg.is_fifo) {
    room = probes::pipe_space(reg.fd);
  } else if (reg.is_socket) {
    room = probes::send_space(reg.fd);
  }
  std::int64_t bytes = room.value_or(0);
  if (!eof && bytes < 1) bytes = 1;  // it is writable: at least one byte fits
  return bytes;
}

// The descriptor filters: is the condition true now, and with what data?
bool fill_descriptor_event(Kqueue& kq, Knote* k, struct kevent& ev) {
  Registration& reg = *k->reg;
  const bool reading = k->filter == EVFILT_READ;
  if (reg.revents & POLLNVAL) {  // the number is closed
    drop_registration(kq, &reg);
    return false;
  }
  const short ready = reading ? (POLLIN | POLLRDHUP | POLLHUP | POLLERR) : (POLLOUT | POLLHUP | POLLERR);
  if (!(reg.revents & ready)) {  // the condition went away before this look
    dequeue(kq, k);
    return false;
  }
  // Checked once per scan; not at all if a change in this very call checked
  // it (no code of the caller's ran since; a descriptor closed by another
  // thread meanwhile is a race on every system).
  if (!reg.verified && reg.verified_in_call != kq.calls) {
    if (!still_registered(kq, reg)) {  // the number names another open file now
      drop_registration(kq, &reg);
      return false;
    }
    reg.verified = true;
  }
  const bool eof = reading ? (reg.revents & (POLLRDHUP | POLLHUP)) != 0 : (reg.revents & (POLLHUP | POLLERR)) != 0;
  if (eof) {
    // Only the read side takes the error (reading it clears it): the write
    // side leaves it for getsockopt(SO_ERROR) after a non-blocking connect.
    if (reading && reg.is_socket && (reg.revents & POLLERR) && reg.socket_error == 0) {
      reg.socket_error = probes::take_socket_error(reg.fd);
    }
    ev.flags |= EV_EOF;
    ev.fflags = static_cast<std::uint32_t>(reg.socket_error);
  }
  ev.data = reading ? readable_data(reg) : writable_data(reg, eof);
  return true;
}

// Runs a queued knote's filter. True: `ev` is its event. False: the
// condition does not hold (the knote left the queue, or was dropped).
bool fill_event(Kqueue& kq, Knote* k, struct kevent& ev) {
  ev = {k->ident, k->filter, k->flags, 0, 0, k->udata};
  switch (k->filter) {
    case EVFILT_TIMER:
      if (k->expirations == 0) break;
      ev.data = static_cast<std::intptr_t>(std::min<std::uint64_t>(k->expirations, INTPTR_MAX));
      k->expirations = 0;
      return true;
    case EVFILT_USER:
      if (!k->triggered) break;
      ev.fflags = k->fflags;
      ev.data = k->data;
      return true;
    default:
      return fill_descriptor_event(kq, k, ev);
  }
  dequeue(kq, k);
  return false;
}

void after_delivery(Kqueue& kq, Knote* k) {
  if (k->flags & EV_ONESHOT) {
    Registration* reg = k->reg;
    remove_knote(kq, k);
    if (reg != nullptr) release_if_unused(kq, reg);
    return;
  }
  if (k->filter == EVFILT_USER && (k->flags & EV_CLEAR)) k->triggered = false;
  if (k->flags & EV_DISPATCH) {
    k->disabled = true;
    dequeue(kq, k);
  } else if (k->flags & EV_CLEAR) {
    dequeue(kq, k);
  } else {
    // Level-triggered: look again at the next scan, after the others.
    kq.ready.splice(kq.ready.end(), kq.ready, k->queue_pos);
  }
}

// One scan: up to `n` events into `out`. Returns how many, or -1 (errno set).
int collect(Kqueue& kq, struct kevent* out, int n) {
  const Ns now = now_ns();
  for (Knote* t : kq.timers) {
    advance_timer(t, now);
    if (t->expirations > 0) enqueue(kq, t);
  }
  const std::uint64_t scan = ++kq.scans;
  int count = 0;
  while (count < n && !kq.ready.empty()) {
    Knote* k = kq.ready.front();
    if (k->seen_in_scan == scan) break;  // the rest were delivered in this scan
    if (k->reg != nullptr && k->reg->scan != scan) {  // not looked at yet: it and the next
      if (const int error = poll_next_descriptors(kq, scan, n - count)) {
        if (count > 0) return count;  // what was delivered stays delivered
        errno = error;
        return -1;
      }
    }
    k->seen_in_scan = scan;
    if (!fill_event(kq, k, out[count])) continue;  // k may be gone now
    after_delivery(kq, k);
    ++count;
  }
  return count;
}

// --- Waiting -----------------------------------------------------------------

// epoll_wait()'s timeout: until the deadline or the nearest enabled timer,
// in milliseconds rounded up (never early); -1 for no limit.
int wait_ms(const Kqueue& kq, Ns now, Ns deadline) {
  Ns until = deadline;
  for (const Knote* t : kq.timers) {
    if (!t->disabled) until = std::min(until, t->next);
  }
  if (until == kNever) return -1;
  if (until <= now) return 0;
  const Ns ms = (until - now + 999'999) / 1'000'000;
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

// Called with the lock held after a change: a thread waiting in this kqueue
// might now have something to return, or a nearer timer. epoll wakes it only
// for its own entries, so add one that is ready at once.
void wake_waiters(Kqueue& kq) {
  if (kq.waiters == 0 || kq.wake_fd >= 0) return;
  const int fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return;  // out of descriptors: the waiter looks again at its timeout
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (epoll_ctl(kq.epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    close(fd);
    return;
  }
  kq.wake_fd = fd;
}

// The most edges one epoll_wait() takes. A kevent() call for up to this
// many events can be filled from one look, as kqueue's scan would fill it:
// with fewer (it was 64), a loop that asks for 256 events at a time got 64,
// and 10,000 busy descriptors came back 64 per call, the rest waiting.
constexpr int kEdgesPerLook = 256;

// Waits in epoll_wait() without the lock, for at most `want` edges (as many
// as the caller's event list holds: an edge not returned now would need a
// poll() of its own later), and then, below, may look again. 0 or an errno.
//
// An edge queues nothing if its knote is disabled (an EV_DISPATCH knote
// already delivered: its task is busy, and will enable it again when it
// waits). Under load many of epoll's edges can be such: then one look
// would queue fewer knotes than the caller can take while more wait in
// epoll, and kevent() would return a short list. A loop that takes a
// short list to mean "nothing more is ready" would leave those until its
// next turn, and the next, while the busy ones go on: 10,000 connections
// split into a fast group and a starved one (chapter 06). So while a look
// comes back full and the queue is still short, look again, without
// waiting: kqueue fills the list from every knote that is ready.
int wait_for_edges(Kqueue& kq, std::unique_lock<std::mutex>& lock, int timeout_ms, int want) {
  epoll_event events[kEdgesPerLook];
  ++kq.waiters;
  lock.unlock();
  int asked = std::clamp(want, 1, kEdgesPerLook);
  int n = epoll_wait(kq.epfd, events, asked, timeout_ms);
  const int error = errno;
  lock.lock();
  --kq.waiters;
  if (kq.wake_fd >= 0) {  // woken by wake_waiters(): closing it leaves the set
    close(kq.wake_fd);
    kq.wake_fd = -1;
  }
  if (n < 0) return error == EINTR ? EINTR : EBADF;
  take_edges(kq, events, n);
  // At most as many more edges as there are descriptors: epoll's list is
  // first in, first out, so that reaches every descriptor that was ready at
  // the first look, and descriptors that keep getting data cannot keep this
  // going.
  std::size_t more = kq.by_tag.size();
  while (n == asked && more > 0 && kq.ready.size() < static_cast<std::size_t>(want)) {
    asked = std::clamp(want - static_cast<int>(kq.ready.size()), 1, kEdgesPerLook);
    asked = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(asked), more));
    n = epoll_wait(kq.epfd, events, asked, 0);  // no wait: the lock may stay held
    if (n < 0) break;  // what was taken stands; the next call looks again
    take_edges(kq, events, n);
    more -= static_cast<std::size_t>(n);
  }
  return 0;
}

// --- The kqueues of this process -------------------------------------------

// A kqueue is known by its descriptor number. Its entry goes when the number
// is found closed, or reused by a new kqueue, at the next kqueue() call.
class Registry {
 public:
  void add(int fd, std::shared_ptr<Kqueue> kq) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = map_.begin(); it != map_.end();) {
      if (it->first == fd || fcntl(it->first, F_GETFD) < 0) {
        it = map_.erase(it);
      } else {
        ++it;
      }
    }
    map_[fd] = std::move(kq);
  }
  std::shared_ptr<Kqueue> find(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(fd);
    return it == map_.end() ? nullptr : it->second;
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return map_.size();
  }

 private:
  std::mutex mu_;
  std::unordered_map<int, std::shared_ptr<Kqueue>> map_;
};

Registry& registry() {
  static Registry r;
  return r;
}

int fail(int error) {
  errno = error;
  return -1;
}

}  // namespace

int kqueue() {
  const int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return -1;
  try {
    registry().add(fd, std::make_shared<Kqueue>(fd));
  } catch (const std::bad_alloc&) {
    close(fd);
    return fail(ENOMEM);
  }
  return fd;
}

int kevent(int kq_fd, const struct kevent* changelist, int nchanges,
           struct kevent* eventlist, int nevents, const struct timespec* timeout) {
  if (nchanges < 0 || nevents < 0) return fail(EINVAL);
  if ((nchanges > 0 && changelist == nullptr) || (nevents > 0 && eventlist == nullptr)) return fail(EFAULT);
  // The timeout is checked before any change is made, as macOS does
  // (FreeBSD makes the changes first).
  Ns wait = kNever;
  if (timeout != nullptr) {
    if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1'000'000'000) return fail(EINVAL);
    const Ns seconds = timeout->tv_sec > kNever / 1'000'000'000 ? kNever : timeout->tv_sec * 1'000'000'000;
    wait = add_saturated(seconds, timeout->tv_nsec);
  }
  std::shared_ptr<Kqueue> kq = registry().find(kq_fd);
  if (!kq) return fail(EBADF);
  std::unique_lock<std::mutex> lock(kq->mu);
  ++kq->calls;

  // Changes, in order. A failure (or a receipt) goes into the event list
  // while there is room; without room a failure ends the call.
  int stored = 0;
  for (int i = 0; i < nchanges; ++i) {
    const struct kevent& change = changelist[i];
    const int error = apply(*kq, change);
    if (error == 0 && !(change.flags & EV_RECEIPT)) continue;
    if (stored < nevents) {
      eventlist[stored] = change;
      eventlist[stored].flags = change.flags | EV_ERROR;
      eventlist[stored].data = error;
      ++stored;
    } else if (error != 0) {
      wake_waiters(*kq);
      return fail(error);
    }
  }
  if (nchanges > 0) wake_waiters(*kq);
  if (stored > 0 || nevents == 0) return stored;  // at once, as kqueue does

  // Events. With knotes queued, take epoll's news first, so that a busy
  // level-triggered knote cannot starve the descriptors behind it; with none,
  // the first epoll_wait() is the one that may block.
  const Ns deadline = add_saturated(now_ns(), wait);
  bool asked_epoll = false;
  if (!kq->ready.empty()) {
    if (const int error = wait_for_edges(*kq, lock, 0, nevents)) return fail(error);
    asked_epoll = true;
  }
  for (;;) {
    const int n = collect(*kq, eventlist, nevents);
    if (n != 0) return n;  // events, or -1 with errno
    const Ns now = now_ns();
    if (now >= deadline && asked_epoll) return 0;
    const int timeout_ms = now >= deadline ? 0 : wait_ms(*kq, now, deadline);
    if (const int error = wait_for_edges(*kq, lock, timeout_ms, nevents)) return fail(error);
    asked_epoll = true;
  }
}

namespace testing {

std::size_t kqueues_tracked() { return registry().size(); }

}  // namespace testing

}  // namespace cfs_kqueue
