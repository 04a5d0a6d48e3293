#pragma once
// Private to training_service*.cc: what TrainingService keeps per run and
// the helpers its submit and execute halves share.

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/json.h"
#include "features/feature_store.h"
#include "storage/artifact_store.h"
#include "training/training_service.h"

namespace kiln::training {

// One run this service submitted. `mutex` guards execution, cancel_requested,
// done and outcome.
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
};

struct TrainingService::Impl {
  Impl(TrainingService& service_in, features::FeatureStore& features_in, Clock& clock_in,
       TrainingServiceOptions options_in)
      : service(service_in), features(features_in), clock(clock_in), options(std::move(options_in)) {}

  // Runs on a queue worker: sandbox, wait, ingest, end the run.
  void Execute(const std::shared_ptr<RunRecord>& record);
  // Ends a run that never started (cancelled while queued, or dropped).
  void EndUnstarted(const std::shared_ptr<RunRecord>& record, const std::string& message);
  void Finish(const std::shared_ptr<RunRecord>& record, RunOutcome outcome);

  Status PutRunFile(const RunRecord& record, const std::string& relative_path, const std::string& host_file);
  Status PutRunBytes(const RunRecord& record, const std::string& relative_path, const std::string& bytes);

  TrainingService& service;
  features::FeatureStore& features;
  Clock& clock;
  TrainingServiceOptions options;

  mutable std::mutex mutex;
  std::map<std::string, std::unique_ptr<Executor>> executors;
  std::map<std::string, std::shared_ptr<RunRecord>> runs;
  RunQueue queue;  // last: destroyed first, so workers stop before the rest goes
};

// "mlflow-artifacts:/1/abc/artifacts" → "1/abc/artifacts".
Result<std::string> RunArtifactRoot(const tracking::RunInfo& info);

}  // namespace kiln::training
