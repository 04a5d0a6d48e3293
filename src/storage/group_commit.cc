#include "storage/group_commit.h"

#include <exception>

#include "storage/database.h"

namespace kiln::storage {
namespace {

Status RunBody(const GroupCommit::Body& body, Connection& connection) {
  try {
    return body(connection);
  } catch (const std::exception& error) {
    return Internal(std::string("unexpected error in a transaction: ") + error.what());
  }
}

}  // namespace

Status GroupCommit::Run(const Body& body) {
  Job job{&body};
  std::unique_lock lock(mutex_);
  queue_.push_back(&job);
  while (!job.done) {
    if (leader_active_) {
      finished_.wait(lock);
      continue;
    }
    leader_active_ = true;
    std::deque<Job*> group;
    while (!queue_.empty() && group.size() < max_group_) {
      group.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    RunGroup(group);
    lock.lock();
    for (Job* member : group) member->done = true;
    leader_active_ = false;
    finished_.notify_all();
  }
  return job.result;
}

void GroupCommit::RunGroup(std::deque<Job*>& group) {
  auto fail_all = [&](const Status& status) {
    for (Job* member : group) member->result = status;
  };
  auto connection = database_.Acquire();
  if (!connection.ok()) return fail_all(connection.status());
  Connection& conn = **connection;
  Status begun = conn.Begin();
  if (!begun.ok()) return fail_all(begun);

  if (group.size() == 1) {
    // Alone: the transaction itself is the unit of rollback.
    Job* job = group.front();
    job->result = RunBody(*job->body, conn);
    if (!job->result.ok()) {
      (void)conn.Rollback();
      return;
    }
  } else {
    bool any_ok = false;
    for (Job* job : group) {
      auto saved = conn.Execute("SAVEPOINT kiln_group_member");
      if (!saved.ok()) {
        job->result = saved.status();
        continue;
      }
      job->result = RunBody(*job->body, conn);
      if (!job->result.ok()) {
        // Undo this body's writes only; ROLLBACK TO also clears PostgreSQL's
        // aborted-transaction state so the group can go on.
        auto undone = conn.Execute("ROLLBACK TO SAVEPOINT kiln_group_member");
        if (!undone.ok()) {
          (void)conn.Rollback();
          for (Job* member : group) {
            if (member->result.ok()) member->result = undone.status();
          }
          return;
        }
      } else {
        any_ok = true;
      }
      (void)conn.Execute("RELEASE SAVEPOINT kiln_group_member");
    }
    if (!any_ok) {
      (void)conn.Rollback();
      return;
    }
  }
  Status committed = conn.Commit();
  if (!committed.ok()) {
    (void)conn.Rollback();
    for (Job* member : group) {
      if (member->result.ok()) member->result = committed;
    }
  }
}

}  // namespace kiln::storage
