#pragma once
// ParallelFor: runs independent tasks on a few short-lived std::threads, the
// calling thread being one of them. Tasks are handed out dynamically, so
// uneven tasks balance. For the batch kernels of the features module
// (point-in-time joins, aggregations), which spawn threads per call.

#include <cstddef>
#include <functional>

namespace kiln::features {

// threads <= 0 means one per hardware core; always at least 1.
int ResolveThreads(int threads);

// Calls fn(task, worker) once for every task in [0, num_tasks), worker being
// in [0, min(threads, num_tasks)), so per-worker scratch buffers need no
// locks. Returns when all tasks are done. REQUIRES: fn does not throw.
void ParallelFor(size_t num_tasks, int threads,
                 const std::function<void(size_t task, int worker)>& fn);

}  // namespace kiln::features
