#include "training/run_queue.h"

#include <algorithm>

namespace kiln::training {

RunQueue::~RunQueue() {
  std::vector<Job> dropped;
  std::unique_lock lock(mutex_);
  stopping_ = true;
  for (auto& [name, lane] : lanes_) {
    for (Job& job : lane.waiting) dropped.push_back(std::move(job));
    lane.waiting.clear();
  }
  lock.unlock();
  for (Job& job : dropped) {
    if (job.dropped) job.dropped();
  }
  lock.lock();
  idle_.wait(lock, [this] { return active_threads_ == 0; });
}

void RunQueue::SetConcurrency(const std::string& executor, int max_running) {
  std::unique_lock lock(mutex_);
  lanes_[executor].max_running = std::max(1, max_running);
  StartReady(lock);
}

int RunQueue::concurrency(const std::string& executor) const {
  std::lock_guard lock(mutex_);
  auto found = lanes_.find(executor);
  return found == lanes_.end() ? 1 : found->second.max_running;
}

void RunQueue::Enqueue(const std::string& executor, Job job) {
  std::unique_lock lock(mutex_);
  if (stopping_) {
    lock.unlock();
    if (job.dropped) job.dropped();
    return;
  }
  lanes_[executor].waiting.push_back(std::move(job));
  StartReady(lock);
}

bool RunQueue::Remove(const std::string& id) {
  std::unique_lock lock(mutex_);
  for (auto& [name, lane] : lanes_) {
    auto found = std::find_if(lane.waiting.begin(), lane.waiting.end(), [&](const Job& job) { return job.id == id; });
    if (found != lane.waiting.end()) {
      Job job = std::move(*found);
      lane.waiting.erase(found);
      lock.unlock();
      if (job.dropped) job.dropped();
      return true;
    }
  }
  return false;
}

std::vector<RunQueue::Entry> RunQueue::Entries() const {
  std::lock_guard lock(mutex_);
  std::vector<Entry> entries;
  for (const auto& [name, lane] : lanes_) {
    for (const std::string& id : lane.running_ids) entries.push_back({id, name, true, 0});
    int position = 0;
    for (const Job& job : lane.waiting) entries.push_back({job.id, name, false, ++position});
  }
  return entries;
}

// REQUIRES: lock holds mutex_.
void RunQueue::StartReady(std::unique_lock<std::mutex>& lock) {
  (void)lock;
  if (stopping_) return;
  for (auto& [name, lane] : lanes_) {
    while (lane.running < lane.max_running && !lane.waiting.empty()) {
      Job job = std::move(lane.waiting.front());
      lane.waiting.pop_front();
      ++lane.running;
      lane.running_ids.push_back(job.id);
      ++active_threads_;
      std::thread([this, executor = name, job = std::move(job)]() mutable { Work(executor, std::move(job)); })
          .detach();
    }
  }
}

void RunQueue::Work(const std::string& executor, Job job) {
  job.run();
  const std::string id = job.id;
  job = Job{};  // release what the job holds before the queue can be destroyed
  std::unique_lock lock(mutex_);
  Lane& lane = lanes_[executor];
  --lane.running;
  lane.running_ids.erase(std::find(lane.running_ids.begin(), lane.running_ids.end(), id));
  StartReady(lock);
  --active_threads_;
  idle_.notify_all();
}

}  // namespace kiln::training
