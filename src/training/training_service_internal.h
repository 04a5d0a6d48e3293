#pragma once
// Private to training_service*.cc: what TrainingService keeps per run and
// the helpers its submit and execute halves share.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/json.h"
#include "features/feature_store.h"
#include "storage/artifact_store.h"
#include "training/training_service.h"

namespace kiln::training {

// The built-in trainer's progress file in a run's work folder.
inline constexpr const char* kRoundProgressFileName = "progress";

// One run this service submitted. `mutex` guards execution, cancel_requested,
// done, outcome and on_done.
struct RunRecord {
  std::string run_id;
  std::string project_id;
  std::string executor;
  RunSpec spec;
  std::string artifact_root;  // store path "<exp>/<run>/artifacts"
  std::string run_dir;        // <data_dir>/runs/<run_id>
  std::string code_tar;       // host file (artifact object)
  std::string data_file;      // host file (artifact object)
  std::string data_name;      // its name under kSandboxDataDir
  Json trainer_job;           // built-in trainer only: the TrainerJob as JSON

  std::mutex mutex;
  std::condition_variable done_cv;
  std::unique_ptr<Execution> execution;
  bool cancel_requested = false;
  bool done = false;
  RunOutcome outcome;
  // Called once (outside `mutex`) by Finish, on the thread that ends the run.
  std::vector<std::function<void(const RunOutcome&)>> on_done;
};

struct TrainingService::Impl {
  Impl(TrainingService& service_in, features::FeatureStore& features_in, Clock& clock_in,
       TrainingServiceOptions options_in)
      : service(service_in), features(features_in), clock(clock_in), options(std::move(options_in)) {}

  // Runs on a queue worker: sandbox, wait, ingest, end the run.
  void Execute(const std::shared_ptr<RunRecord>& record);
  // Ends a run that never started (cancelled while queued, or dropped when
  // the service stops): KILLED.
  void EndUnstarted(const std::shared_ptr<RunRecord>& record);
  void Finish(const std::shared_ptr<RunRecord>& record, RunOutcome outcome);

  // Copies `host_file` (which stays) into the run's artifacts.
  Status PutRunFile(const RunRecord& record, const std::string& relative_path, const std::string& host_file);
  Status PutRunBytes(const RunRecord& record, const std::string& relative_path, const std::string& bytes);

  TrainingService& service;
  features::FeatureStore& features;
  Clock& clock;
  TrainingServiceOptions options;

  std::atomic<bool> stopping{false};  // the service is being destroyed

  mutable std::mutex mutex;  // guards executors, retired_executors and runs
  std::map<std::string, std::unique_ptr<Executor>> executors;
  // Executors replaced by AddExecutor: kept, as runs may still use them.
  std::vector<std::unique_ptr<Executor>> retired_executors;
  std::map<std::string, std::shared_ptr<RunRecord>> runs;
  RunQueue queue;  // last: destroyed first, so workers stop before the rest goes
};

// "mlflow-artifacts:/1/abc/artifacts" → "1/abc/artifacts".
Result<std::string> RunArtifactRoot(const tracking::RunInfo& info);

}  // namespace kiln::training
