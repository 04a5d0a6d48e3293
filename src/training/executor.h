#pragma once
// Executors run one training command in a sandbox and report how it ended.
// LocalExecutor (local_executor.h) starts it under bubblewrap on this
// machine; SlurmExecutor (slurm_executor.h) submits the same sandboxed
// command with sbatch. Both see the same ExecutionRequest, so a run behaves
// the same wherever it runs. Implementations are thread-safe: many
// executions may be started and waited on from different threads.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "training/run_spec.h"

namespace kiln::training {

// Fixed paths inside the sandbox.
inline constexpr const char* kSandboxSnapshotDir = "/snapshot";  // the code, read-only; cwd
inline constexpr const char* kSandboxWorkDir = "/work";          // private, writable; $HOME
inline constexpr const char* kSandboxDataDir = "/data";          // training data, read-only
inline constexpr const char* kSandboxKilnDir = "/opt/kiln";      // kiln binary + Python client, read-only
inline constexpr const char* kSandboxTrackingSocket = "/run/kiln/tracking.sock";

struct SandboxMount {
  std::string host_path;     // file or folder
  std::string sandbox_path;  // absolute
  bool writable = false;
};

struct ExecutionRequest {
  std::string run_id;  // for logs and job names
  // The command inside the sandbox; argv[0] resolved on the sandbox's PATH
  // (/usr/local/bin:/usr/bin:/bin) unless absolute.
  std::vector<std::string> argv;
  // The whole environment inside the sandbox (scrubbed: nothing of the
  // caller's leaks in). PATH, HOME=/work and TMPDIR=/tmp are added unless set.
  std::map<std::string, std::string> env;
  std::string snapshot_dir;  // host folder → kSandboxSnapshotDir, read-only; the working directory
  std::string work_dir;      // host folder → kSandboxWorkDir, read-write (must exist)
  std::vector<SandboxMount> mounts;  // extra binds (data, kiln binary, Python client)
  // Host path of the tracking server's Unix socket, bound at
  // kSandboxTrackingSocket; empty: none.
  std::string tracking_socket;
  // Host files that receive the command's stdout and stderr (created/truncated).
  std::string stdout_path;
  std::string stderr_path;
  ResourceLimits resources;  // cpus, memory, time limit (+ Slurm partition/gres)
  bool network = false;      // false: no network at all (own empty net namespace)
};

enum class ExecutionOutcome {
  kSucceeded,  // exit status 0            → run FINISHED
  kFailed,     // non-zero exit or signal  → run FAILED
  kTimedOut,   // past the time limit      → run KILLED
  kCancelled,  // Cancel() was called      → run KILLED
};
std::string_view ExecutionOutcomeName(ExecutionOutcome outcome);  // "succeeded", …

struct ExecutionResult {
  ExecutionOutcome outcome = ExecutionOutcome::kFailed;
  int exit_code = -1;    // the command's exit status; -1 when killed by a signal or unknown
  int signal = 0;        // the terminating signal, when there was one
  std::string message;   // for people: "exit status 3", "time limit of 5 s exceeded", …
  double wall_seconds = 0;
};

// One started command. Wait() may be called once; Cancel() from any thread,
// before or during Wait(), any number of times.
class Execution {
 public:
  virtual ~Execution() = default;
  // Blocks until the command has ended (or was killed) and returns how.
  // Errors only when the executor itself failed (e.g. squeue unreachable
  // for longer than its retry budget).
  virtual Result<ExecutionResult> Wait() = 0;
  // Asks the command to stop (SIGTERM, then SIGKILL after a grace period;
  // scancel on Slurm). Wait() then reports kCancelled.
  virtual Status Cancel() = 0;
  // "pid 1234" or "slurm job 17": for logs and the run's tags.
  virtual std::string Describe() const = 0;
  // Executor-specific id recorded on the run ("1234", the Slurm job id).
  virtual std::string id() const = 0;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string_view name() const = 0;  // "local", "slurm"
  // Starts the command. Errors: kFailedPrecondition when the executor's
  // tools are missing ("bubblewrap is not installed: apt-get install
  // bubblewrap"), kInvalidArgument for a bad request (relative paths,
  // missing work dir), kUnavailable when submission failed (sbatch's message).
  virtual Result<std::unique_ptr<Execution>> Start(const ExecutionRequest& request) = 0;
};

}  // namespace kiln::training
