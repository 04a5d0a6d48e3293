#pragma once
// TrainingService: the front door of training runs. Submit() turns a run
// spec into a tracked run with a snapshot (code, dependencies, config, data;
// docs/formats/snapshot.md) and queues it on an executor; a queue worker
// executes it in a sandbox, ingests what it wrote (metrics, model,
// importance, baseline profile, logs) and ends the run FINISHED, FAILED or
// KILLED. Sweeps launch child runs of a parent; Reproduce re-executes a run
// from its snapshot alone and compares the models.
//
// Borrows the tracking store, artifact store, feature store and clock; owns
// its executors and queue. Thread-safe. The destructor ends queued runs
// KILLED without starting them, cancels running ones (they end KILLED) and
// waits until each has been recorded.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "training/executor.h"
#include "training/run_queue.h"
#include "training/run_spec.h"
#include "tracking/tracking_store.h"

namespace kiln::storage {
class ArtifactStore;
}
namespace kiln::features {
class FeatureStore;
}

namespace kiln::training {

struct TrainingServiceOptions {
  std::string data_dir;            // run folders live in <data_dir>/runs/<run_id>
  std::string kiln_binary;         // run inside the sandbox as the built-in trainer
  std::string python_client_dir;   // folder holding the `kiln` package (bound for command trainers)
  // Returns the host path of a Unix socket serving this process's API,
  // starting it on first use; bound into sandboxes at kSandboxTrackingSocket.
  std::function<Result<std::string>()> tracking_socket;
  int local_concurrency = 2;
  int slurm_concurrency = 4;
  bool keep_run_dirs = false;  // keep <data_dir>/runs/<id> after the run (debugging)
  bool quiet = true;           // progress lines of snapshot/data steps
};

struct SubmitOptions {
  std::string user;
  std::string parent_run_id;   // a sweep's parent
  std::string spec_file;       // for mlflow.source.name
  std::map<std::string, std::string> tags;
  // Re-execute from this run's snapshot: its code, spec and data, not the
  // spec's folders. The spec argument is ignored.
  std::string reproduce_run_id;
};

struct SubmittedRun {
  std::string run_id;
  std::string project_id;
  std::string run_name;
  std::string code_digest;
  std::string data_digest;
  std::string executor;
};

struct RunOutcome {
  std::string run_id;
  tracking::RunStatus status = tracking::RunStatus::kFailed;
  std::string message;  // "exit status 3", "time limit of 60 s exceeded", …
  double wall_seconds = 0;
  std::map<std::string, double> metrics;  // final (last) values
};

struct QueuedRun {
  std::string run_id;
  std::string executor;
  bool running = false;
  int position = 0;
  // The built-in trainer's boosting rounds so far and planned (0, 0 when
  // unknown: not started, or a command trainer).
  int64_t rounds_done = 0;
  int64_t rounds_total = 0;
};

class TrainingService {
 public:
  TrainingService(tracking::TrackingStore& tracking, storage::ArtifactStore& artifacts, features::FeatureStore& features,
                  Clock& clock, TrainingServiceOptions options);
  ~TrainingService();
  TrainingService(const TrainingService&) = delete;
  TrainingService& operator=(const TrainingService&) = delete;

  // Adds (or replaces) the executor registered under executor->name(). A
  // replaced executor is kept until the service goes (its runs may still
  // be using it).
  void AddExecutor(std::unique_ptr<Executor> executor, int max_concurrent);

  // Creates the run (SCHEDULED), snapshots code, dependencies, spec and
  // data into its artifacts, logs its params and queues it. Returns once
  // the run is queued. Errors: unknown executor, snapshot limits, data
  // problems (the run, if already created, is marked FAILED with the reason).
  Result<SubmittedRun> Submit(const RunSpec& spec, const SubmitOptions& options);

  // Blocks until a run this service submitted has ended.
  Result<RunOutcome> Wait(const std::string& run_id);

  // Stops a queued or running run of this service; it ends KILLED.
  // kNotFound when this service does not know the run, kFailedPrecondition
  // when it has already ended.
  Status Cancel(const std::string& run_id);

  std::vector<QueuedRun> Queue() const;

  // Calls `done` once every run in `run_ids` has ended, with their outcomes
  // in order: on the thread that ends the last of them, or before returning
  // when all have already ended (or `run_ids` is empty). A run this service
  // did not submit counts as ended (FAILED, message saying so). Used to
  // finish a sweep's parent run.
  void AfterRuns(std::vector<std::string> run_ids, std::function<void(const std::vector<RunOutcome>&)> done);

  tracking::TrackingStore& tracking() { return tracking_; }
  storage::ArtifactStore& artifacts() { return artifacts_; }
  Clock& clock();

  struct Impl;  // the run lifecycle, in training_service*.cc

 private:
  tracking::TrackingStore& tracking_;
  storage::ArtifactStore& artifacts_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::training
