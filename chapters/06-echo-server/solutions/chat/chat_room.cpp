// solutions/chat/chat_room.cpp: a reference solution of chapter 06's
// exercise 4.
//
// Each member has two kinds of work: reading its client's lines, and
// writing the others' lines to it. A task can wait for one thing at a
// time, so the reading is the member's own task (serve()), and the
// writing a second task, started when there is something to write and
// ending when there is nothing left. Whoever says a line only appends it
// to each other member's outbox: a member that reads slowly holds up its
// own writer, never the speaker. Its outbox is bounded: past max_queued,
// the member is dropped.
//
// The writer may outlive serve(), whose caller then closes `fd`: so the
// writer writes to a descriptor of its own, a dup() of it, which closes
// when the last of the two tasks lets go of the Member.
#include "chat_room.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "fd.h"
#include "io.h"
#include "loop.h"
#include "socket_error.h"

namespace cfs {

struct ChatRoom::Member {
  int fd = -1;             // the caller's: serve() reads it
  Fd out;                  // a dup() of it: the writer writes it
  std::string outbox;      // said by the others, not written yet
  bool writing = false;    // a writer task is at work
  bool dropped = false;    // its connection was shut down: nothing more for it
};

void ChatRoom::serve(int fd) {
  auto me = std::make_shared<Member>();
  me->fd = fd;
  me->out.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));  // the same socket, another number
  if (!me->out) throw std::system_error(errno, std::generic_category(), "cfs: ChatRoom: fcntl(F_DUPFD_CLOEXEC)");
  members_.push_back(me);
  struct Leaving {  // on every way out: the room forgets the member
    ChatRoom* room;
    Member* me;
    ~Leaving() {
      std::erase_if(room->members_, [this](const std::shared_ptr<Member>& m) { return m.get() == me; });
    }
  } leaving{this, me.get()};

  std::array<char, 4096> buffer;
  std::string line;  // the line so far: it may come in many pieces
  for (;;) {
    std::size_t n = 0;
    try {
      n = read_some(fd, std::as_writable_bytes(std::span(buffer)));
    } catch (const SocketError&) {
      break;  // a reset: this member is gone
    }
    if (n == 0) break;  // its client has ended its side, or it was dropped
    for (char c : std::string_view(buffer.data(), n)) {
      line += c;
      if (c == '\n') {
        say(*me, line);  // whole lines only: nobody else's line lands in it
        line.clear();
      }
    }
  }
}

void ChatRoom::say(const Member& from, const std::string& line) {
  for (const std::shared_ptr<Member>& m : members_) {
    if (m.get() == &from || m->dropped) continue;
    if (m->outbox.size() + line.size() > max_queued_) {
      drop(*m);  // it does not read: it holds nobody up, and goes
      continue;
    }
    m->outbox += line;
    if (!m->writing) {
      m->writing = true;
      Loop::current().spawn("chat writer " + std::to_string(m->fd), write_out, m);
    }
  }
}

void ChatRoom::drop(Member& m) {
  m.dropped = true;
  m.outbox.clear();
  ++dropped_;
  // Both directions: its reader reads end of file and leaves, its writer's
  // next send fails. (The room forgets it when its reader has left.)
  ::shutdown(m.fd, SHUT_RDWR);
}

void ChatRoom::write_out(std::shared_ptr<Member> m) {
  struct Done {
    Member& m;
    ~Done() { m.writing = false; }
  } done{*m};
  try {
    while (!m->outbox.empty() && !m->dropped) {
      // Take the whole outbox: lines said while this write waits go into a
      // new one (appending to the string being written could move it).
      const std::string sending = std::exchange(m->outbox, std::string());
      write_all(m->out.get(), std::as_bytes(std::span(sending)));
    }
  } catch (const SocketError&) {
    // the member has gone (EPIPE, ECONNRESET) or was dropped: nothing to do
  }
}

}  // namespace cfs
