#pragma once
// SlurmExecutor: submits each command with sbatch as a one-node batch job
// that runs the same bubblewrap sandbox as the local executor (sandbox.h,
// slurm_batch_script.h), follows it with squeue, reads how it ended from
// scontrol (or sacct once scontrol has forgotten the job) and cancels it
// with scancel (docs/training/slurm.md). Slurm's tools are run as
// subprocesses, without a shell, with this process's environment (so
// SLURM_CONF applies).
//
// Thread-safe: any number of executions may be started, waited on and
// cancelled from different threads. An Execution does not own its job:
// destroying it leaves the job to Slurm (call Cancel() to stop it).
//
// The paths in a request (snapshot, work dir, mounts, stdout/stderr, the
// tracking socket) must mean the same on the compute nodes as here — a
// shared file system, or a one-node cluster — and so must bwrap's path.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "training/executor.h"

namespace kiln::training {

class SlurmExecutor : public Executor {
 public:
  struct Options {
    // The partition for requests that name none; empty: the cluster's default.
    std::string partition;
    // Slurm's tools: names looked up on $PATH, or paths.
    std::string sbatch_path = "sbatch";
    std::string squeue_path = "squeue";
    std::string scontrol_path = "scontrol";
    std::string sacct_path = "sacct";
    std::string scancel_path = "scancel";
    // bwrap on the compute nodes; empty: FindBubblewrap() on this host at
    // each Start() (the nodes must have it at the same path).
    std::string bubblewrap_path;
    // Words added to sbatch's command line before the script (they override
    // the script's #SBATCH lines), e.g. {"--account=ml", "--qos=low"}.
    std::vector<std::string> extra_sbatch_args;
    // Where batch scripts are written (kept for people to read); empty: the
    // folder of the request's stdout_path.
    std::string script_dir;
    // Between two squeue calls while a job is queued or running.
    std::chrono::milliseconds poll_interval{1000};
    // How long squeue/scontrol may keep failing (controller down or
    // unreachable) before Wait() gives up with kUnavailable.
    std::chrono::milliseconds unreachable_limit{std::chrono::minutes(5)};
    // Any one Slurm command taking longer than this is killed (and counts
    // as a failure).
    std::chrono::milliseconds command_timeout{std::chrono::seconds(60)};
    // Cancel a pending job whose reason says it can never start as asked
    // (kSlurmUnrunnableReasons: e.g. more CPUs than any node of the
    // partition has) and report kFailed saying why, instead of waiting for
    // ever.
    bool cancel_unrunnable = true;
    // Measures wall time and unreachable_limit. Not owned; must outlive the
    // executor and its executions.
    Clock* clock = &SystemClock::Instance();
  };

  SlurmExecutor() : SlurmExecutor(Options{}) {}
  explicit SlurmExecutor(Options options) : options_(std::move(options)) {}

  std::string_view name() const override { return "slurm"; }

  // Validates the request (kInvalidArgument naming the field), finds bwrap
  // (kFailedPrecondition "bubblewrap is not installed: …"), creates/truncates
  // the stdout and stderr files, writes the batch script
  // (<script_dir>/<job name>.sbatch) and submits it with
  // `sbatch --parsable`. kFailedPrecondition when sbatch is missing
  // ("sbatch is not installed: apt-get install slurm-client"),
  // kUnavailable with sbatch's message when Slurm refuses the job.
  Result<std::unique_ptr<Execution>> Start(const ExecutionRequest& request) override;

 private:
  Options options_;
};

}  // namespace kiln::training
