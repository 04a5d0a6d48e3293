#pragma once
// What Slurm's tools say about a job, parsed, and how a finished job maps to
// an ExecutionResult (docs/training/slurm.md). Pure functions over the text
// sbatch, squeue, scontrol and sacct print; no I/O, thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "training/executor.h"

namespace kiln::training {

// One job as squeue, scontrol or sacct report it.
struct SlurmJobStatus {
  std::string state;   // "PENDING", "RUNNING", "COMPLETED", … ("CANCELLED by 0" → "CANCELLED")
  std::string reason;  // why it is pending or ended: "PartitionConfig", "NonZeroExitCode", …
  int exit_code = -1;  // N of ExitCode=N:S; -1 when unknown
  int signal = 0;      // S of ExitCode=N:S
  std::optional<int64_t> run_seconds;         // RunTime / Elapsed
  std::optional<int64_t> time_limit_seconds;  // TimeLimit; nullopt when unlimited or unknown
};

// Whether a job in `state` has ended for good (COMPLETED, FAILED, CANCELLED,
// TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, DEADLINE, PREEMPTED, …) —
// not PENDING, RUNNING, COMPLETING, SUSPENDED, REQUEUED, ….
bool IsFinalSlurmState(std::string_view state);

// The job id `sbatch --parsable` printed ("17" or "17;cluster").
// kUnavailable naming the output when there is none.
Result<std::string> ParseSbatchJobId(std::string_view sbatch_stdout);

// `squeue -h -j ID -o "%T %r"`: nullopt when the output is empty (the job
// has left the queue).
Result<std::optional<SlurmJobStatus>> ParseSqueueLine(std::string_view squeue_stdout);

// `scontrol show job -o ID`: JobState, Reason, ExitCode, RunTime, TimeLimit.
Result<SlurmJobStatus> ParseScontrolJob(std::string_view scontrol_stdout);

// `sacct -n -P -X -j ID -o State,ExitCode,Elapsed`: the first line.
// kNotFound when sacct printed nothing (it does not know the job).
Result<SlurmJobStatus> ParseSacctJob(std::string_view sacct_stdout);

// "[D-]HH:MM:SS", "MM:SS", "MM" → seconds; nullopt for UNLIMITED, NONE,
// Partition_Limit and the like.
Result<std::optional<int64_t>> ParseSlurmDuration(std::string_view text);

// Pending reasons that mean the job can never start as asked (its request
// exceeds what the partition offers, bad constraints, an invalid account or
// QOS): the executor cancels such jobs instead of waiting for ever.
extern const std::vector<std::string_view> kSlurmUnrunnableReasons;
// For people: "the request exceeds what the nodes of its partition have
// (CPUs, memory or GRES)" for "PartitionConfig", …
std::string DescribeSlurmReason(std::string_view reason);

// How one Slurm job ended, besides its final status.
struct SlurmJobEnd {
  std::string job_id;
  bool cancel_requested = false;  // Execution::Cancel() was called
  // Set when the executor cancelled the job because it could never start;
  // the text says why.
  std::string unrunnable;
  double fallback_wall_seconds = 0;  // used when Slurm reports no run time
};

// COMPLETED → kSucceeded; TIMEOUT → kTimedOut ("Slurm time limit of 5 min
// exceeded"); CANCELLED → kCancelled after Cancel(), else kFailed;
// everything else → kFailed with the state and exit code in the message.
ExecutionResult SlurmExecutionResult(const SlurmJobStatus& status, const SlurmJobEnd& end);

}  // namespace kiln::training
