#pragma once
// Group commit: concurrent write transactions share one database
// transaction and therefore one commit (one fsync). The first caller to find
// no group running becomes the leader: it takes every queued body, runs each
// inside its own SAVEPOINT (so a failing body rolls back only its own
// writes), commits once, and wakes the others with their results. Writers
// are serialized anyway (SQLite has one writer; PostgreSQL write
// transactions take one advisory lock), so grouping changes no outcome, only
// how many commits it takes.
// Thread-safe; no thread of its own.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "common/status.h"

namespace kiln::storage {

class Connection;
class Database;

class GroupCommit {
 public:
  using Body = std::function<Status(Connection&)>;

  explicit GroupCommit(Database& database, size_t max_group = 256)
      : database_(database), max_group_(max_group) {}

  // Runs `body` in a write transaction shared with concurrent callers and
  // returns once that transaction has committed (or failed). A non-OK body
  // leaves no writes behind. If the shared commit fails every body of the
  // group gets that error.
  Status Run(const Body& body);

 private:
  struct Job {
    const Body* body;
    Status result;
    bool done = false;
  };

  void RunGroup(std::deque<Job*>& group);

  Database& database_;
  const size_t max_group_;
  std::mutex mutex_;
  std::condition_variable finished_;
  std::deque<Job*> queue_;
  bool leader_active_ = false;
};

}  // namespace kiln::storage
