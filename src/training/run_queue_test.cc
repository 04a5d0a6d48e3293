// RunQueue: per-executor concurrency limits, FIFO order, removal of queued
// jobs and destruction while jobs wait and run. Jobs block on gates the test
// opens, so every assertion is about counts and order, never timing.

#include "training/run_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kiln::training {
namespace {

// A latch jobs wait on until the test opens it.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void Pass() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
};

// What the jobs of one test did, observed under one mutex.
class Journal {
 public:
  void Started(const std::string& id, const std::string& lane) {
    std::lock_guard lock(mutex_);
    started_.push_back(id);
    int& running = running_[lane];
    ++running;
    if (running > peak_[lane]) peak_[lane] = running;
    changed_.notify_all();
  }
  void Ended(const std::string& id, const std::string& lane) {
    std::lock_guard lock(mutex_);
    ended_.push_back(id);
    --running_[lane];
    changed_.notify_all();
  }
  void Dropped(const std::string& id) {
    std::lock_guard lock(mutex_);
    dropped_.push_back(id);
    changed_.notify_all();
  }
  // Blocks until at least `count` jobs have started / ended.
  void WaitStarted(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return started_.size() >= count; });
  }
  void WaitEnded(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return ended_.size() >= count; });
  }
  std::vector<std::string> started() {
    std::lock_guard lock(mutex_);
    return started_;
  }
  std::vector<std::string> ended() {
    std::lock_guard lock(mutex_);
    return ended_;
  }
  std::vector<std::string> dropped() {
    std::lock_guard lock(mutex_);
    return dropped_;
  }
  int peak(const std::string& lane) {
    std::lock_guard lock(mutex_);
    return peak_[lane];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> started_, ended_, dropped_;
  std::map<std::string, int> running_, peak_;
};

// A job that records its start, waits for `gate`, records its end.
RunQueue::Job GatedJob(const std::string& id, const std::string& lane, Journal& journal, Gate& gate) {
  return RunQueue::Job{id,
                       [id, lane, &journal, &gate] {
                         journal.Started(id, lane);
                         gate.Pass();
                         journal.Ended(id, lane);
                       },
                       [id, &journal] { journal.Dropped(id); }};
}

std::vector<std::string> RunningIds(const RunQueue& queue) {
  std::vector<std::string> ids;
  for (const RunQueue::Entry& entry : queue.Entries()) {
    if (entry.running) ids.push_back(entry.id);
  }
  return ids;
}

TEST(RunQueueTest, RunsNoMoreJobsOfAnExecutorAtOnceThanItsLimit) {
  Journal journal;
  Gate gate;
  {
    RunQueue queue;
    queue.SetConcurrency("local", 2);
    queue.SetConcurrency("slurm", 1);
    for (int i = 0; i < 6; ++i)
      queue.Enqueue("local", GatedJob("l" + std::to_string(i), "local", journal, gate));
    for (int i = 0; i < 3; ++i)
      queue.Enqueue("slurm", GatedJob("s" + std::to_string(i), "slurm", journal, gate));
    // Two local and one slurm job fill their slots; the rest wait.
    journal.WaitStarted(3);
    EXPECT_EQ(RunningIds(queue).size(), 3u);
    int waiting = 0;
    for (const RunQueue::Entry& entry : queue.Entries()) waiting += entry.running ? 0 : 1;
    EXPECT_EQ(waiting, 6);
    gate.Open();
    journal.WaitEnded(9);
  }
  EXPECT_EQ(journal.peak("local"), 2);
  EXPECT_EQ(journal.peak("slurm"), 1);
  EXPECT_TRUE(journal.dropped().empty());
}

TEST(RunQueueTest, StartsJobsOfAnExecutorInTheOrderTheyWereQueued) {
  Journal journal;
  Gate gate;
  RunQueue queue;  // one slot: jobs run one after the other
  for (const char* id : {"a", "b", "c", "d"}) queue.Enqueue("local", GatedJob(id, "local", journal, gate));
  journal.WaitStarted(1);
  std::vector<RunQueue::Entry> entries = queue.Entries();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].id, "a");
  EXPECT_TRUE(entries[0].running);
  EXPECT_EQ(entries[0].position, 0);
  for (int i = 1; i < 4; ++i) {
    EXPECT_FALSE(entries[i].running);
    EXPECT_EQ(entries[i].position, i) << entries[i].id;
    EXPECT_EQ(entries[i].executor, "local");
  }
  gate.Open();
  journal.WaitEnded(4);
  EXPECT_EQ(journal.started(), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(RunQueueTest, RemovingAQueuedJobCallsItsDroppedCallbackInsteadOfRunningIt) {
  Journal journal;
  Gate gate;
  RunQueue queue;
  queue.Enqueue("local", GatedJob("first", "local", journal, gate));
  queue.Enqueue("local", GatedJob("second", "local", journal, gate));
  queue.Enqueue("local", GatedJob("third", "local", journal, gate));
  journal.WaitStarted(1);
  EXPECT_FALSE(queue.Remove("first")) << "a running job cannot be removed";
  EXPECT_FALSE(queue.Remove("unknown"));
  EXPECT_TRUE(queue.Remove("second"));
  EXPECT_EQ(journal.dropped(), std::vector<std::string>{"second"});
  EXPECT_FALSE(queue.Remove("second")) << "already removed";
  gate.Open();
  journal.WaitEnded(2);
  EXPECT_EQ(journal.started(), (std::vector<std::string>{"first", "third"}));
  EXPECT_EQ(journal.dropped(), std::vector<std::string>{"second"});
}

TEST(RunQueueTest, DestructionDropsQueuedJobsAndWaitsForRunningOnes) {
  Journal journal;
  Gate gate;
  auto queue = std::make_unique<RunQueue>();
  queue->SetConcurrency("local", 2);
  for (const char* id : {"r1", "r2", "q1", "q2"})
    queue->Enqueue("local", GatedJob(id, "local", journal, gate));
  journal.WaitStarted(2);

  // Destroy the queue on another thread; it must not return before r1 and
  // r2 have ended, which they cannot until the gate opens.
  std::atomic<bool> destroyed{false};
  std::thread destroyer([&] {
    queue.reset();
    destroyed = true;
  });
  // The queued jobs are dropped first (the destructor does that before it
  // waits); then the destructor is still blocked on the running jobs.
  while (journal.dropped().size() < 2) std::this_thread::yield();
  EXPECT_FALSE(destroyed) << "the destructor returned while jobs were running";
  EXPECT_TRUE(journal.ended().empty());
  gate.Open();
  destroyer.join();
  EXPECT_TRUE(destroyed);
  EXPECT_EQ(journal.ended().size(), 2u) << "running jobs finish before the destructor returns";
  std::vector<std::string> started = journal.started();
  std::sort(started.begin(), started.end());
  EXPECT_EQ(started, (std::vector<std::string>{"r1", "r2"}));
  std::vector<std::string> dropped = journal.dropped();
  std::sort(dropped.begin(), dropped.end());
  EXPECT_EQ(dropped, (std::vector<std::string>{"q1", "q2"}));
}

TEST(RunQueueTest, RaisingTheLimitStartsWaitingJobs) {
  Journal journal;
  Gate gate;
  RunQueue queue;
  EXPECT_EQ(queue.concurrency("local"), 1);
  for (const char* id : {"a", "b", "c"}) queue.Enqueue("local", GatedJob(id, "local", journal, gate));
  journal.WaitStarted(1);
  queue.SetConcurrency("local", 3);
  EXPECT_EQ(queue.concurrency("local"), 3);
  journal.WaitStarted(3);  // would block for ever if raising the limit started nothing
  EXPECT_EQ(RunningIds(queue).size(), 3u);
  queue.SetConcurrency("local", 0);
  EXPECT_EQ(queue.concurrency("local"), 1) << "a limit below 1 means 1";
  gate.Open();
  journal.WaitEnded(3);
}

}  // namespace
}  // namespace kiln::training
