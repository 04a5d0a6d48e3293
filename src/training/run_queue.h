#pragma once
// RunQueue: first-in first-out queues of jobs, one per executor, each with a
// limit on how many of its jobs run at once. A job is a function run on a
// worker thread the queue owns. Thread-safe. The destructor stops taking
// jobs, drops the queued ones (their `dropped` callback runs) and joins the
// workers, which finish the jobs they are running.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace kiln::training {

class RunQueue {
 public:
  struct Job {
    std::string id;                  // the run id
    std::function<void()> run;       // runs on a worker thread
    std::function<void()> dropped;   // called instead of `run` when removed before it started
  };
  struct Entry {
    std::string id;
    std::string executor;
    bool running = false;
    int position = 0;  // 0 for running jobs, else 1-based place in its queue
  };

  RunQueue() = default;
  ~RunQueue();
  RunQueue(const RunQueue&) = delete;
  RunQueue& operator=(const RunQueue&) = delete;

  // Sets how many jobs of `executor` run at once (≥ 1). May be called at any
  // time; takes effect as slots free up.
  void SetConcurrency(const std::string& executor, int max_running);
  int concurrency(const std::string& executor) const;

  void Enqueue(const std::string& executor, Job job);
  // Removes a job that has not started; false when it is running or unknown.
  bool Remove(const std::string& id);
  std::vector<Entry> Entries() const;

 private:
  struct Lane {
    int max_running = 1;
    int running = 0;
    std::deque<Job> waiting;
    std::vector<std::string> running_ids;
  };
  void StartReady(std::unique_lock<std::mutex>& lock);
  void Work(const std::string& executor, Job job);

  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::map<std::string, Lane> lanes_;
  int active_threads_ = 0;
  bool stopping_ = false;
};

}  // namespace kiln::training
