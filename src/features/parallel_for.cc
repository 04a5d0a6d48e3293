#include "features/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace kiln::features {

int ResolveThreads(int threads) {
  if (threads > 0) return threads;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

void ParallelFor(size_t num_tasks, int threads,
                 const std::function<void(size_t task, int worker)>& fn) {
  if (num_tasks == 0) return;
  const int workers =
      static_cast<int>(std::min<size_t>(static_cast<size_t>(ResolveThreads(threads)), num_tasks));
  if (workers == 1) {
    for (size_t task = 0; task < num_tasks; ++task) fn(task, 0);
    return;
  }
  std::atomic<size_t> next{0};
  auto run = [&](int worker) {
    for (size_t task = next.fetch_add(1, std::memory_order_relaxed); task < num_tasks;
         task = next.fetch_add(1, std::memory_order_relaxed)) {
      fn(task, worker);
    }
  };
  std::vector<std::thread> helpers;
  helpers.reserve(static_cast<size_t>(workers - 1));
  for (int worker = 1; worker < workers; ++worker) helpers.emplace_back(run, worker);
  run(0);
  for (std::thread& helper : helpers) helper.join();
}

}  // namespace kiln::features
