// TrainingService, the execute half: a queue worker runs one run in its
// executor's sandbox, ingests what it wrote and ends the run.
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "training/builtin_trainer.h"
#include "training/training_service_internal.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxMetricsPerBatch = 1000;
constexpr const char* kTrainerJobName = "trainer-job.json";

tracking::RunStatus StatusOf(ExecutionOutcome outcome) {
  switch (outcome) {
    case ExecutionOutcome::kSucceeded:
      return tracking::RunStatus::kFinished;
    case ExecutionOutcome::kFailed:
      return tracking::RunStatus::kFailed;
    case ExecutionOutcome::kTimedOut:
    case ExecutionOutcome::kCancelled:
      return tracking::RunStatus::kKilled;
  }
  return tracking::RunStatus::kFailed;
}

// True when `path` is a regular file itself, not a symlink (a trainer
// could point one at any host file), a FIFO or a device.
bool IsPlainFile(const fs::path& path) {
  std::error_code error;
  return fs::symlink_status(path, error).type() == fs::file_type::regular;
}

// metrics.jsonl → metrics, in file order. A malformed line is an error
// naming it: the trainer wrote it, so it is a bug worth seeing.
Result<std::vector<tracking::Metric>> ReadMetricsFile(const std::string& path, int64_t timestamp) {
  std::vector<tracking::Metric> metrics;
  std::ifstream in(path);
  if (!in) return Internal(std::string("cannot read ") + kMetricsFileName);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const Json json = Json::parse(line, nullptr, false);
    const bool valid = !json.is_discarded() && json.is_object() && json.contains("key") && json["key"].is_string() &&
                       json.contains("value") && (json["value"].is_number() || json["value"].is_string()) &&
                       (!json.contains("step") || json["step"].is_number_integer());
    if (!valid) {
      return Internal(std::string(kMetricsFileName) + ":" + std::to_string(number) +
                      ": not a metric line (expected {\"key\": NAME, \"value\": NUMBER, \"step\": INTEGER})");
    }
    tracking::Metric metric;
    metric.key = json["key"].get<std::string>();
    const Json& value = json["value"];
    if (value.is_number()) {
      metric.value = value.get<double>();
    } else {
      const std::string text = value.get<std::string>();
      metric.value = text == "NaN"        ? std::nan("")
                     : text == "Infinity" ? HUGE_VAL
                                          : text == "-Infinity" ? -HUGE_VAL : std::nan("");
    }
    metric.step = json.contains("step") ? json["step"].get<int64_t>() : 0;
    metric.timestamp = timestamp;
    metrics.push_back(std::move(metric));
  }
  return metrics;
}

// Adds a problem to an outcome's message.
void AddProblem(RunOutcome& outcome, const std::string& problem) {
  outcome.message += (outcome.message.empty() ? "" : "; ") + problem;
}

// A problem ingesting what the run left behind fails a run that succeeded;
// a failed or killed run keeps its status and gains the message.
void IngestionProblem(RunOutcome& outcome, const std::string& problem) {
  if (outcome.status == tracking::RunStatus::kFinished) outcome.status = tracking::RunStatus::kFailed;
  AddProblem(outcome, problem);
}

}  // namespace

void TrainingService::Impl::Finish(const std::shared_ptr<RunRecord>& record, RunOutcome outcome) {
  tracking::TrackingStore& tracking = service.tracking();
  outcome.run_id = record->run_id;
  std::vector<tracking::RunTag> tags = {{"kiln.outcome", std::string(tracking::RunStatusName(outcome.status))}};
  if (!outcome.message.empty()) tags.push_back({"kiln.message", outcome.message.substr(0, 5000)});
  (void)tracking.LogBatch(record->run_id, {}, {}, tags);
  tracking::UpdateRunRequest end;
  end.status = outcome.status;
  end.end_time = clock.NowMillis();
  (void)tracking.UpdateRun(record->run_id, end);
  if (!options.keep_run_dirs) {
    std::error_code error;
    fs::remove_all(record->run_dir, error);
  }
  std::vector<std::function<void(const RunOutcome&)>> listeners;
  std::unique_ptr<Execution> execution;
  {
    std::lock_guard lock(record->mutex);
    execution = std::move(record->execution);
    record->outcome = std::move(outcome);
    record->done = true;
    listeners.swap(record->on_done);
    record->done_cv.notify_all();
  }
  execution.reset();
  for (const auto& listener : listeners) listener(record->outcome);  // `done` is set: outcome no longer changes
}

void TrainingService::Impl::EndUnstarted(const std::shared_ptr<RunRecord>& record) {
  RunOutcome outcome;
  outcome.status = tracking::RunStatus::kKilled;
  outcome.message = stopping ? "the training service stopped before the run started" : "cancelled before it started";
  Finish(record, std::move(outcome));
}

void TrainingService::Impl::Execute(const std::shared_ptr<RunRecord>& record) {
  bool cancelled = false;
  {
    std::lock_guard lock(record->mutex);
    if (record->done) return;
    cancelled = record->cancel_requested;
  }
  if (cancelled) return EndUnstarted(record);
  Executor* executor = nullptr;
  {
    std::lock_guard lock(mutex);
    executor = executors.at(record->executor).get();
  }
  tracking::TrackingStore& tracking = service.tracking();
  auto fail = [&](const std::string& message) {
    RunOutcome outcome;
    outcome.status = tracking::RunStatus::kFailed;
    outcome.message = message;
    Finish(record, std::move(outcome));
  };

  const RunSpec& spec = record->spec;
  ExecutionRequest request;
  request.run_id = record->run_id;
  request.snapshot_dir = record->run_dir + "/snapshot";
  request.work_dir = record->run_dir + "/work";
  const std::string out_dir = request.work_dir + "/out";
  const std::string logs_dir = record->run_dir + "/logs";
  std::error_code error;
  for (const std::string& directory : {out_dir, logs_dir}) {
    fs::create_directories(directory, error);
    if (error) return fail("cannot create " + directory + ": " + error.message());
  }
  request.stdout_path = logs_dir + "/stdout.txt";
  request.stderr_path = logs_dir + "/stderr.txt";
  request.resources = spec.resources;
  request.mounts.push_back({record->data_file, std::string(kSandboxDataDir) + "/" + record->data_name, false});
  const std::string sandbox_out = std::string(kSandboxWorkDir) + "/out";
  request.env = {{"KILN_RUN_ID", record->run_id},
                 {"KILN_PROJECT", spec.project},
                 {"KILN_DATA", std::string(kSandboxDataDir) + "/" + record->data_name},
                 {"KILN_OUTPUT_DIR", sandbox_out},
                 {"KILN_PROGRESS_FILE", std::string(kSandboxWorkDir) + "/" + kRoundProgressFileName}};
  for (const auto& [name, value] : spec.params) {
    std::string variable = "KILN_PARAM_";
    for (char c : name) variable += std::isalnum(static_cast<unsigned char>(c)) ? std::toupper(c) : '_';
    request.env[variable] = value;
  }
  if (spec.trainer == TrainerKind::kXGBoost) {
    const std::string job_file = record->run_dir + "/" + kTrainerJobName;
    {
      std::ofstream out(job_file);
      out << record->trainer_job.dump(2) << "\n";
      if (!out) return fail("cannot write " + job_file);
    }
    if (options.kiln_binary.empty()) return fail("the built-in trainer needs the kiln binary's path");
    const std::string sandbox_kiln = std::string(kSandboxKilnDir) + "/bin/kiln";
    request.mounts.push_back({options.kiln_binary, sandbox_kiln, false});
    request.mounts.push_back({job_file, std::string(kSandboxDataDir) + "/" + kTrainerJobName, false});
    request.argv = {sandbox_kiln, "internal", "train", "--job", std::string(kSandboxDataDir) + "/" + kTrainerJobName,
                    "--out", sandbox_out};
  } else {
    request.argv = spec.command.argv;
    for (const auto& [name, value] : spec.command.env) request.env[name] = value;
    if (!options.python_client_dir.empty()) {
      request.mounts.push_back({options.python_client_dir, std::string(kSandboxKilnDir) + "/python", false});
      request.env["PYTHONPATH"] = std::string(kSandboxKilnDir) + "/python";
    }
  }
  if (options.tracking_socket) {
    Result<std::string> socket = options.tracking_socket();
    if (!socket.ok()) return fail("cannot open the tracking socket for the run: " + socket.status().message());
    request.tracking_socket = *socket;
    request.env["KILN_TRACKING_URI"] = std::string("unix://") + kSandboxTrackingSocket;
  }

  tracking::UpdateRunRequest running;
  running.status = tracking::RunStatus::kRunning;
  (void)tracking.UpdateRun(record->run_id, running);
  Result<std::unique_ptr<Execution>> started = executor->Start(request);
  if (!started.ok()) return fail(started.status().message());
  Execution* execution = started->get();
  {
    std::lock_guard lock(record->mutex);
    record->execution = std::move(*started);
    if (record->cancel_requested) (void)execution->Cancel();
  }
  (void)tracking.LogBatch(record->run_id, {}, {},
                          {{"kiln.execution", execution->Describe()}, {"kiln.execution_id", execution->id()}});
  Result<ExecutionResult> result = execution->Wait();

  RunOutcome outcome;
  if (!result.ok()) {
    outcome.status = tracking::RunStatus::kFailed;
    outcome.message = "executor " + record->executor + ": " + result.status().message();
  } else {
    outcome.status = StatusOf(result->outcome);
    if (result->outcome != ExecutionOutcome::kSucceeded) outcome.message = result->message;
    if (result->outcome == ExecutionOutcome::kCancelled && stopping) {
      AddProblem(outcome, "the training service stopped");
    }
    outcome.wall_seconds = result->wall_seconds;
  }

  // What the run left behind: logs, metrics, and the regular files under
  // out/ (symlinks, FIFOs and devices stay behind: they could reach or
  // block on host files).
  for (const char* name : {"stdout.txt", "stderr.txt"}) {
    const std::string path = logs_dir + "/" + name;
    if (IsPlainFile(path)) {
      Status stored = PutRunFile(*record, std::string("logs/") + name, path);
      if (!stored.ok()) AddProblem(outcome, "could not store " + std::string(name) + ": " + stored.message());
    }
  }
  const std::string metrics_file = out_dir + "/" + kMetricsFileName;
  if (IsPlainFile(metrics_file)) {
    Result<std::vector<tracking::Metric>> metrics = ReadMetricsFile(metrics_file, clock.NowMillis());
    if (!metrics.ok()) {
      IngestionProblem(outcome, metrics.status().message());
    } else {
      for (size_t begin = 0; begin < metrics->size(); begin += kMaxMetricsPerBatch) {
        size_t end = std::min(metrics->size(), begin + kMaxMetricsPerBatch);
        std::vector<tracking::Metric> batch(metrics->begin() + begin, metrics->begin() + end);
        Status logged = tracking.LogBatch(record->run_id, batch, {}, {});
        if (!logged.ok()) AddProblem(outcome, "could not log metrics: " + logged.message());
      }
      for (const tracking::Metric& metric : *metrics) {
        if (metric.key.find('.') == std::string::npos || metric.key.rfind("holdout.", 0) == 0) {
          outcome.metrics[metric.key] = metric.value;
        }
      }
    }
  }
  if (fs::is_directory(fs::symlink_status(out_dir, error))) {
    for (auto it = fs::recursive_directory_iterator(out_dir, error); !error && it != fs::recursive_directory_iterator();
         it.increment(error)) {
      if (!IsPlainFile(it->path())) continue;
      std::error_code relative_error;
      const std::string relative = fs::relative(it->path(), out_dir, relative_error).generic_string();
      Status stored = relative_error ? Internal(relative_error.message())
                                     : PutRunFile(*record, relative, it->path().string());
      if (!stored.ok()) IngestionProblem(outcome, "could not store " + relative + ": " + stored.message());
    }
    if (error) IngestionProblem(outcome, "could not list " + out_dir + ": " + error.message());
  }
  if (spec.trainer == TrainerKind::kXGBoost && outcome.status == tracking::RunStatus::kFinished &&
      !IsPlainFile(out_dir + "/" + kModelDirName + "/kiln-model.json")) {
    outcome.status = tracking::RunStatus::kFailed;
    outcome.message = "the built-in trainer ended without writing a model (see logs/stderr.txt)";
  }
  Finish(record, std::move(outcome));
}

}  // namespace kiln::training
