// TrainingService: submit (run, snapshot, data, params, queue), wait,
// cancel. The execute half is in training_service_execute.cc.
#include "training/training_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/hashing.h"
#include "common/version.h"
#include "training/run_snapshot.h"
#include "training/training_service_internal.h"

namespace kiln::training {
namespace {

constexpr std::string_view kRunArtifactScheme = "mlflow-artifacts:/";

std::vector<tracking::RunTag> ToTags(const std::map<std::string, std::string>& map) {
  std::vector<tracking::RunTag> tags;
  for (const auto& [key, value] : map) tags.push_back({key, value});
  return tags;
}

}  // namespace

Result<std::string> RunArtifactRoot(const tracking::RunInfo& info) {
  const std::string& uri = info.artifact_uri;
  if (uri.rfind(kRunArtifactScheme, 0) != 0) {
    return FailedPrecondition("run '" + info.run_id + "' keeps its artifacts at '" + uri +
                              "', outside Kiln's artifact store; Kiln cannot snapshot it");
  }
  std::string root = uri.substr(kRunArtifactScheme.size());
  while (!root.empty() && root.front() == '/') root.erase(0, 1);
  return root;
}

Status TrainingService::Impl::PutRunFile(const RunRecord& record, const std::string& relative_path,
                                         const std::string& host_file) {
  // PutFile consumes the file it is given, so it gets a copy, in a temp file
  // this call alone owns (mkstemp: never another upload's, nor a leftover).
  storage::ArtifactStore& artifacts = service.artifacts();
  std::error_code error;
  std::filesystem::create_directories(artifacts.temp_directory(), error);
  std::string temp = artifacts.temp_directory() + "/run-" + record.run_id + "-XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    return Internal("cannot create a temporary file in " + artifacts.temp_directory() + ": " +
                    std::strerror(errno));
  }
  ::close(fd);
  if (!std::filesystem::copy_file(host_file, temp, std::filesystem::copy_options::overwrite_existing, error)) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    return Internal("cannot copy " + host_file + " for upload: " + error.message());
  }
  Result<storage::ArtifactInfo> stored = artifacts.PutFile(record.artifact_root + "/" + relative_path, temp);
  if (!stored.ok()) std::filesystem::remove(temp, error);
  return stored.status();
}

Status TrainingService::Impl::PutRunBytes(const RunRecord& record, const std::string& relative_path,
                                          const std::string& bytes) {
  return service.artifacts().PutBytes(record.artifact_root + "/" + relative_path, bytes).status();
}

TrainingService::TrainingService(tracking::TrackingStore& tracking, storage::ArtifactStore& artifacts,
                                 features::FeatureStore& features, Clock& clock, TrainingServiceOptions options)
    : tracking_(tracking), artifacts_(artifacts),
      impl_(std::make_unique<Impl>(*this, features, clock, std::move(options))) {}

// Running runs are cancelled (a shutdown must not wait out their time
// limits) and marked cancel_requested, so a queued run a worker picks up
// meanwhile ends unstarted; destroying the queue then drops the queued ones
// and waits for the workers to record how their runs ended.
TrainingService::~TrainingService() {
  impl_->stopping = true;
  std::vector<std::shared_ptr<RunRecord>> records;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [id, record] : impl_->runs) records.push_back(record);
  }
  for (const std::shared_ptr<RunRecord>& record : records) {
    std::lock_guard lock(record->mutex);
    if (record->done) continue;
    record->cancel_requested = true;
    if (record->execution) (void)record->execution->Cancel();
  }
  impl_.reset();
}

void TrainingService::AddExecutor(std::unique_ptr<Executor> executor, int max_concurrent) {
  std::string name(executor->name());
  {
    std::lock_guard lock(impl_->mutex);
    std::unique_ptr<Executor>& slot = impl_->executors[name];
    if (slot) impl_->retired_executors.push_back(std::move(slot));
    slot = std::move(executor);
  }
  impl_->queue.SetConcurrency(name, max_concurrent);
}

Result<SubmittedRun> TrainingService::Submit(const RunSpec& spec_in, const SubmitOptions& options) {
  Impl& impl = *impl_;
  auto record = std::make_shared<RunRecord>();
  RunSpec spec = spec_in;
  std::optional<tracking::Run> original;
  if (!options.reproduce_run_id.empty()) {
    KILN_ASSIGN_OR_RETURN(original, tracking_.GetRun(options.reproduce_run_id));
    KILN_ASSIGN_OR_RETURN(spec, LoadSnapshotSpec(artifacts_, *original));
  }
  KILN_RETURN_IF_ERROR(ValidateRunSpec(spec));
  {
    std::lock_guard lock(impl.mutex);
    if (impl.executors.count(spec.executor) == 0) {
      std::string known;
      for (const auto& [name, executor] : impl.executors) known += (known.empty() ? "" : ", ") + name;
      return FailedPrecondition("executor '" + spec.executor + "' is not available here (available: " +
                                (known.empty() ? "none" : known) + ")");
    }
  }

  // The project and the run, SCHEDULED until a queue slot frees.
  std::string project_id;
  Result<tracking::Experiment> existing = tracking_.GetExperimentByName(spec.project);
  if (existing.ok()) {
    project_id = existing->experiment_id;
  } else if (existing.status().code() == StatusCode::kNotFound) {
    KILN_ASSIGN_OR_RETURN(project_id, tracking_.CreateExperiment(spec.project, "", {}));
  } else {
    return existing.status();
  }
  std::map<std::string, std::string> tags = spec.tags;
  for (const auto& [key, value] : options.tags) tags[key] = value;
  tags["kiln.trainer"] = spec.trainer == TrainerKind::kXGBoost ? "xgboost" : "command";
  tags["kiln.executor"] = spec.executor;
  tags["kiln.version"] = kVersion;
  if (!options.user.empty()) tags["mlflow.user"] = options.user;
  if (!options.spec_file.empty()) tags["mlflow.source.name"] = options.spec_file;
  if (!options.parent_run_id.empty()) tags["mlflow.parentRunId"] = options.parent_run_id;
  if (original) tags["kiln.reproduces"] = original->info.run_id;
  tracking::CreateRunRequest create;
  create.experiment_id = project_id;
  create.user_id = options.user;
  create.run_name = spec.run_name;
  create.tags = ToTags(tags);
  KILN_ASSIGN_OR_RETURN(tracking::Run run, tracking_.CreateRun(create));
  record->run_id = run.info.run_id;
  record->project_id = project_id;
  record->executor = spec.executor;
  record->spec = spec;
  record->run_dir = impl.options.data_dir + "/runs/" + run.info.run_id;
  auto fail = [&](const Status& status) -> Status {
    tracking::UpdateRunRequest failed;
    failed.status = tracking::RunStatus::kFailed;
    failed.end_time = impl.clock.NowMillis();
    (void)tracking_.SetTag(record->run_id, {"kiln.error", status.message().substr(0, 5000)});
    (void)tracking_.UpdateRun(record->run_id, failed);
    std::error_code error;
    std::filesystem::remove_all(record->run_dir, error);
    return Status(status.code(), "run " + record->run_id + " failed before it started: " + status.message());
  };
  tracking::UpdateRunRequest scheduled;
  scheduled.status = tracking::RunStatus::kScheduled;
  Status marked = tracking_.UpdateRun(record->run_id, scheduled).status();
  if (!marked.ok()) return fail(marked);
  Result<std::string> root = RunArtifactRoot(run.info);
  if (!root.ok()) return fail(root.status());
  record->artifact_root = *root;

  SnapshotContext context{impl, *record, original ? &*original : nullptr, options};
  Result<SnapshotSummary> snapshot = TakeRunSnapshot(context);
  if (!snapshot.ok()) return fail(snapshot.status());

  {
    std::lock_guard lock(impl.mutex);
    impl.runs[record->run_id] = record;
  }
  impl.queue.Enqueue(spec.executor, RunQueue::Job{record->run_id, [&impl, record] { impl.Execute(record); },
                                                  [&impl, record] { impl.EndUnstarted(record); }});
  SubmittedRun submitted;
  submitted.run_id = record->run_id;
  submitted.project_id = project_id;
  submitted.run_name = run.info.run_name;
  submitted.code_digest = snapshot->code_digest;
  submitted.data_digest = snapshot->data_digest;
  submitted.executor = spec.executor;
  return submitted;
}

Result<RunOutcome> TrainingService::Wait(const std::string& run_id) {
  std::shared_ptr<RunRecord> record;
  {
    std::lock_guard lock(impl_->mutex);
    auto found = impl_->runs.find(run_id);
    if (found == impl_->runs.end()) return NotFound("run '" + run_id + "' was not submitted by this process");
    record = found->second;
  }
  std::unique_lock lock(record->mutex);
  record->done_cv.wait(lock, [&] { return record->done; });
  return record->outcome;
}

Status TrainingService::Cancel(const std::string& run_id) {
  std::shared_ptr<RunRecord> record;
  {
    std::lock_guard lock(impl_->mutex);
    auto found = impl_->runs.find(run_id);
    if (found == impl_->runs.end()) {
      return NotFound("run '" + run_id + "' is not queued or running in this process");
    }
    record = found->second;
  }
  {
    std::lock_guard lock(record->mutex);
    if (record->done) {
      return FailedPrecondition("run " + run_id + " has already ended (" +
                                std::string(tracking::RunStatusName(record->outcome.status)) + ")");
    }
    record->cancel_requested = true;
    if (record->execution) return record->execution->Cancel();
  }
  // Not started: take it out of the queue (its drop callback ends it). If a
  // worker picked it up in the meantime, the worker sees cancel_requested.
  impl_->queue.Remove(run_id);
  return Status::Ok();
}

void TrainingService::AfterRuns(std::vector<std::string> run_ids,
                                std::function<void(const std::vector<RunOutcome>&)> done) {
  // No thread waits: each run's Finish reports to `pending`, and the last
  // report calls `done`. Runs this service does not know count as ended.
  struct Pending {
    std::mutex mutex;
    size_t remaining = 0;
    std::vector<RunOutcome> outcomes;
    std::function<void(const std::vector<RunOutcome>&)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = run_ids.size();
  pending->outcomes.resize(run_ids.size());
  pending->done = std::move(done);
  if (run_ids.empty()) return pending->done(pending->outcomes);
  auto report = [pending](size_t index, const RunOutcome& outcome) {
    {
      std::lock_guard lock(pending->mutex);
      pending->outcomes[index] = outcome;
      if (--pending->remaining > 0) return;
    }
    pending->done(pending->outcomes);
  };
  for (size_t i = 0; i < run_ids.size(); ++i) {
    std::shared_ptr<RunRecord> record;
    {
      std::lock_guard lock(impl_->mutex);
      auto found = impl_->runs.find(run_ids[i]);
      if (found != impl_->runs.end()) record = found->second;
    }
    RunOutcome ended;
    if (record) {
      std::unique_lock lock(record->mutex);
      if (!record->done) {
        record->on_done.push_back([report, i](const RunOutcome& outcome) { report(i, outcome); });
        continue;
      }
      ended = record->outcome;
    } else {
      ended.run_id = run_ids[i];
      ended.message = "run '" + run_ids[i] + "' was not submitted by this process";
    }
    report(i, ended);
  }
}

Clock& TrainingService::clock() { return impl_->clock; }

std::vector<QueuedRun> TrainingService::Queue() const {
  std::vector<QueuedRun> runs;
  for (const RunQueue::Entry& entry : impl_->queue.Entries()) {
    QueuedRun run{entry.id, entry.executor, entry.running, entry.position};
    if (entry.running) {
      // Written by the trainer inside the sandbox as "DONE TOTAL" (its /work).
      std::ifstream progress(impl_->options.data_dir + "/runs/" + entry.id + "/work/" + kRoundProgressFileName);
      int64_t done = 0, total = 0;
      if (progress >> done >> total && done >= 0 && total > 0 && done <= total) {
        run.rounds_done = done;
        run.rounds_total = total;
      }
    }
    runs.push_back(run);
  }
  return runs;
}

}  // namespace kiln::training
