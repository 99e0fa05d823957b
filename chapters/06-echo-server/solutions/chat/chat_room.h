// solutions/chat/chat_room.h: a reference solution of chapter 06's
// exercise 4 (the starter is exercises/chat/chat_room.h).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace cfs {

/// A line-based chat on the chapter's loop: every line a member sends goes
/// to every other member. One ChatRoom serves many connections, each with
/// a task running serve(); all of them on the loop's one thread, so the
/// room needs no lock.
class ChatRoom {
 public:
  /// `max_queued`: the most bytes that may wait for one member (said by
  /// the others, not yet taken by its client) before it is dropped.
  explicit ChatRoom(std::size_t max_queued = 64 * 1024) : max_queued_(max_queued) {}

  /// Serves one member on the connected socket `fd` (which the caller owns
  /// and closes after), as a task of the running loop. Each complete line
  /// the client sends (up to and with its '\n') goes to every other
  /// member, unchanged; what the others say goes to this client, whole
  /// lines in the order they were said. Returns when the client has ended
  /// its side, or the connection failed, or the member was dropped: when
  /// more than `max_queued` bytes waited for it, its connection is shut
  /// down, and the others go on.
  void serve(int fd);

  std::size_t members() const { return members_.size(); }  ///< connected now
  std::size_t dropped() const { return dropped_; }          ///< dropped so far

 private:
  struct Member;
  void say(const Member& from, const std::string& line);
  void drop(Member& m);
  static void write_out(std::shared_ptr<Member> m);

  std::size_t max_queued_;
  std::size_t dropped_ = 0;
  std::vector<std::shared_ptr<Member>> members_;
};

}  // namespace cfs
