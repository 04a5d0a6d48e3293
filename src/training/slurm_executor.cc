#include "training/slurm_executor.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>

#include "training/sandbox.h"
#include "training/slurm_batch_script.h"
#include "training/slurm_job_state.h"
#include "training/subprocess.h"

namespace kiln::training {
namespace {

using Options = SlurmExecutor::Options;

// Runs one Slurm tool. A missing tool is kFailedPrecondition with the
// package to install; a hung one is killed after options.command_timeout.
Result<SubprocessResult> RunSlurmTool(const Options& options, const std::string& program,
                                      std::vector<std::string> args) {
  args.insert(args.begin(), program);
  SubprocessOptions run_options;
  run_options.timeout = options.command_timeout;
  Result<SubprocessResult> result = RunSubprocess(args, run_options);
  if (!result.ok() && (result.status().code() == StatusCode::kNotFound ||
                       result.status().code() == StatusCode::kFailedPrecondition)) {
    std::string tool = std::filesystem::path(program).filename().string();
    return FailedPrecondition(tool + " is not installed: apt-get install slurm-client (" +
                              result.status().message() + ")");
  }
  return result;
}

// What Slurm's tools print for a job the controller no longer knows.
bool IsUnknownJob(const std::string& error_text) {
  return error_text.find("Invalid job id") != std::string::npos;
}

Status CreateOutputFile(std::string_view field, const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return InvalidArgument(std::string(field) + ": cannot create '" + path + "': " + std::strerror(errno));
  ::close(fd);
  return Status::Ok();
}

// Writes the script under a temporary name and renames it into place, so
// sbatch never reads a half-written file.
Status WriteScript(const std::string& path, const std::string& text) {
  std::string temporary = path + ".tmp" + std::to_string(::getpid());
  // Readable by its owner only: bwrap's options hold the run's environment.
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return InvalidArgument("cannot write the batch script '" + temporary + "': " + std::strerror(errno));
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string error = std::strerror(errno);
      ::close(fd);
      ::unlink(temporary.c_str());
      return InvalidArgument("cannot write the batch script '" + temporary + "': " + error);
    }
    written += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string error = std::strerror(errno);
    ::unlink(temporary.c_str());
    return InvalidArgument("cannot write the batch script '" + path + "': " + error);
  }
  return Status::Ok();
}

// "cpus=4, memory=512M, time=5 min, partition=debug, gres=gpu:1": what the job asked for.
std::string DescribeRequest(const ResourceLimits& resources, const std::string& partition) {
  std::string text = "cpus=" + std::to_string(resources.cpus);
  if (resources.memory_bytes > 0)
    text += ", memory=" + std::to_string(SlurmMemoryMegabytes(resources.memory_bytes)) + "M";
  if (resources.time_limit_seconds > 0) {
    text += ", time=" + std::to_string(SlurmTimeLimitMinutes(resources.time_limit_seconds)) + " min";
  }
  if (!partition.empty()) text += ", partition=" + partition;
  if (!resources.gres.empty()) text += ", gres=" + resources.gres;
  return text;
}

// One submitted job. Wait() runs on one thread; Cancel() may run on any.
class SlurmExecution : public Execution {
 public:
  SlurmExecution(Options options, std::string job_id, std::string request_summary)
      : options_(std::move(options)),
        job_id_(std::move(job_id)),
        request_summary_(std::move(request_summary)),
        submitted_millis_(options_.clock->NowMillis()) {}

  Result<ExecutionResult> Wait() override;
  Status Cancel() override;
  std::string Describe() const override { return "slurm job " + job_id_; }
  std::string id() const override { return job_id_; }

 private:
  // Consecutive failures of Slurm's tools; an error once they have lasted
  // options_.unreachable_limit.
  Status Failed(std::string_view tool, const std::string& error_text);
  void Succeeded() { first_failure_millis_.reset(); }
  // Runs a tool while following the job; a time-out counts as a failure
  // (nullopt: try again after a pause).
  Result<std::optional<SubprocessResult>> RunPolling(std::string_view tool, const std::string& program,
                                                     std::vector<std::string> args);
  // Polls squeue until the job has left the queue or reached a final state.
  Status FollowQueue();
  // Cancels a pending job that can never start (options_.cancel_unrunnable).
  Status CheckRunnable(const SlurmJobStatus& pending);
  // The final status from scontrol, or sacct once scontrol has forgotten the job.
  Result<SlurmJobStatus> FinalStatus();
  // Sleeps for the poll interval, or until Cancel() is called.
  void Pause();

  const Options options_;
  const std::string job_id_;
  const std::string request_summary_;
  const int64_t submitted_millis_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool cancel_requested_ = false;  // guarded by mutex_
  bool woken_ = false;             // guarded by mutex_
  bool waited_ = false;            // guarded by mutex_

  // Used by Wait()'s thread only.
  std::optional<int64_t> first_failure_millis_;
  std::string unrunnable_;
};

Result<ExecutionResult> SlurmExecution::Wait() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (waited_) return FailedPrecondition("Wait() was already called for " + Describe());
    waited_ = true;
  }
  KILN_RETURN_IF_ERROR(FollowQueue());
  KILN_ASSIGN_OR_RETURN(SlurmJobStatus status, FinalStatus());
  SlurmJobEnd end;
  end.job_id = job_id_;
  end.unrunnable = unrunnable_;
  end.fallback_wall_seconds = static_cast<double>(options_.clock->NowMillis() - submitted_millis_) / 1000.0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    end.cancel_requested = cancel_requested_;
  }
  return SlurmExecutionResult(status, end);
}

Status SlurmExecution::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancel_requested_ = true;
  }
  Result<SubprocessResult> run = RunSlurmTool(options_, options_.scancel_path, {job_id_});
  {
    // Wait() polls at once, and sees what scancel did.
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
  if (!run.ok()) return run.status();
  if (run->succeeded()) return Status::Ok();
  std::string error = run->ErrorText();
  // Already over: Wait() reports how it ended.
  if (IsUnknownJob(error) || error.find("already completing or completed") != std::string::npos)
    return Status::Ok();
  return Unavailable("scancel could not cancel " + Describe() + ": " + error);
}

Status SlurmExecution::Failed(std::string_view tool, const std::string& error_text) {
  int64_t now = options_.clock->NowMillis();
  if (!first_failure_millis_) first_failure_millis_ = now;
  if (now - *first_failure_millis_ < options_.unreachable_limit.count()) return Status::Ok();
  return Unavailable("cannot follow " + Describe() + ": " + std::string(tool) + " has failed for " +
                     std::to_string((now - *first_failure_millis_) / 1000) + " s: " + error_text);
}

Result<std::optional<SubprocessResult>> SlurmExecution::RunPolling(std::string_view tool,
                                                                   const std::string& program,
                                                                   std::vector<std::string> args) {
  Result<SubprocessResult> run = RunSlurmTool(options_, program, std::move(args));
  if (run.ok()) return std::optional<SubprocessResult>(std::move(run).value());
  if (run.status().code() != StatusCode::kUnavailable) return run.status();
  KILN_RETURN_IF_ERROR(Failed(tool, run.status().message()));
  return std::optional<SubprocessResult>();
}

Status SlurmExecution::FollowQueue() {
  for (;; Pause()) {
    KILN_ASSIGN_OR_RETURN(std::optional<SubprocessResult> polled,
                          RunPolling("squeue", options_.squeue_path, {"-h", "-j", job_id_, "-o", "%T %r"}));
    if (!polled) continue;
    const SubprocessResult& run = *polled;
    if (run.succeeded()) {
      Result<std::optional<SlurmJobStatus>> line = ParseSqueueLine(run.stdout_text);
      if (!line.ok()) {
        KILN_RETURN_IF_ERROR(Failed("squeue", line.status().message()));
      } else {
        Succeeded();
        if (!line->has_value() || IsFinalSlurmState((*line)->state)) return Status::Ok();
        if ((*line)->state == "PENDING") KILN_RETURN_IF_ERROR(CheckRunnable(**line));
      }
    } else if (IsUnknownJob(run.ErrorText())) {
      return Status::Ok();  // ended long enough ago to be purged
    } else {
      KILN_RETURN_IF_ERROR(Failed("squeue", run.ErrorText()));
    }
  }
}

Status SlurmExecution::CheckRunnable(const SlurmJobStatus& pending) {
  if (!options_.cancel_unrunnable || !unrunnable_.empty()) return Status::Ok();
  if (std::find(kSlurmUnrunnableReasons.begin(), kSlurmUnrunnableReasons.end(), pending.reason) ==
      kSlurmUnrunnableReasons.end()) {
    return Status::Ok();
  }
  unrunnable_ = "Slurm cannot run " + Describe() + " as requested: " + DescribeSlurmReason(pending.reason) +
                " (pending reason " + pending.reason + "; asked for " + request_summary_ +
                "); Kiln cancelled it";
  KILN_ASSIGN_OR_RETURN(SubprocessResult run, RunSlurmTool(options_, options_.scancel_path, {job_id_}));
  if (!run.succeeded()) return Unavailable(unrunnable_ + ", but scancel failed: " + run.ErrorText());
  return Status::Ok();
}

Result<SlurmJobStatus> SlurmExecution::FinalStatus() {
  for (;; Pause()) {
    KILN_ASSIGN_OR_RETURN(std::optional<SubprocessResult> polled,
                          RunPolling("scontrol", options_.scontrol_path, {"show", "job", "-o", job_id_}));
    if (!polled) continue;
    const SubprocessResult& run = *polled;
    if (run.succeeded()) {
      Result<SlurmJobStatus> status = ParseScontrolJob(run.stdout_text);
      if (status.ok() && IsFinalSlurmState(status->state)) return status;
      if (status.ok()) {
        Succeeded();  // still COMPLETING: ask again
      } else {
        KILN_RETURN_IF_ERROR(Failed("scontrol", status.status().message()));
      }
    } else if (IsUnknownJob(run.ErrorText())) {
      // Purged from the controller (MinJobAge): ask the accounting database.
      std::string scontrol_error = run.ErrorText();
      KILN_ASSIGN_OR_RETURN(std::optional<SubprocessResult> sacct,
                            RunPolling("sacct", options_.sacct_path,
                                       {"-n", "-P", "-X", "-j", job_id_, "-o", "State,ExitCode,Elapsed"}));
      if (!sacct) continue;
      Result<SlurmJobStatus> status = sacct->succeeded()
                                          ? ParseSacctJob(sacct->stdout_text)
                                          : Result<SlurmJobStatus>(Unavailable(sacct->ErrorText()));
      if (status.ok() && IsFinalSlurmState(status->state)) return status;
      if (!status.ok()) {
        return Unavailable(Describe() + " has ended, but Slurm no longer knows how: scontrol: " +
                           scontrol_error + "; sacct: " + status.status().message());
      }
      // Accounting lags behind the controller: ask again.
      KILN_RETURN_IF_ERROR(Failed("sacct", "the job is still " + status->state + " in sacct"));
    } else {
      KILN_RETURN_IF_ERROR(Failed("scontrol", run.ErrorText()));
    }
  }
}

void SlurmExecution::Pause() {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_for(lock, options_.poll_interval, [this] { return woken_; });
  woken_ = false;
}

}  // namespace

Result<std::unique_ptr<Execution>> SlurmExecutor::Start(const ExecutionRequest& request) {
  KILN_RETURN_IF_ERROR(ValidateExecutionRequest(request));
  std::string bwrap = options_.bubblewrap_path;
  if (bwrap.empty()) {
    KILN_ASSIGN_OR_RETURN(bwrap, FindBubblewrap());
  }
  // Slurm grants exactly the CPUs asked for; the sandbox sets OMP_NUM_THREADS to match.
  int cpus = std::max(0, request.resources.cpus);
  SandboxCommand sandbox = BuildSandboxCommand(request, ProbeHostLayout(), cpus);
  KILN_ASSIGN_OR_RETURN(std::string script,
                        BuildSlurmBatchScript(request, sandbox, bwrap, options_.partition));

  KILN_RETURN_IF_ERROR(CreateOutputFile("stdout_path", request.stdout_path));
  KILN_RETURN_IF_ERROR(CreateOutputFile("stderr_path", request.stderr_path));
  std::string script_dir = options_.script_dir.empty()
                               ? std::filesystem::path(request.stdout_path).parent_path().string()
                               : options_.script_dir;
  std::string script_path = script_dir + "/" + SlurmJobName(request.run_id) + ".sbatch";
  KILN_RETURN_IF_ERROR(WriteScript(script_path, script));

  std::vector<std::string> args = {"--parsable"};
  args.insert(args.end(), options_.extra_sbatch_args.begin(), options_.extra_sbatch_args.end());
  args.push_back(script_path);
  KILN_ASSIGN_OR_RETURN(SubprocessResult run, RunSlurmTool(options_, options_.sbatch_path, args));
  if (!run.succeeded()) return Unavailable("sbatch refused the job: " + run.ErrorText());
  KILN_ASSIGN_OR_RETURN(std::string job_id, ParseSbatchJobId(run.stdout_text));

  std::string partition =
      request.resources.partition.empty() ? options_.partition : request.resources.partition;
  return std::unique_ptr<Execution>(
      new SlurmExecution(options_, std::move(job_id), DescribeRequest(request.resources, partition)));
}

}  // namespace kiln::training
