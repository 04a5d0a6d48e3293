#pragma once
// Running a helper program (sbatch, squeue, git, dpkg-query, …) without a
// shell and capturing what it printed and how it ended. The child gets
// /dev/null as stdin, pipes as stdout and stderr, this process's
// environment, and no other descriptor of this process (the pipes are
// close-on-exec; descriptors other code opens must be too). Thread-safe: any
// number of threads may run programs at once.

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace kiln::training {

struct SubprocessOptions {
  // Kills the program (SIGKILL) if it has not ended after this long (wall
  // time, measured with the monotonic clock: a safety net, not a
  // measurement). Zero: wait for ever.
  std::chrono::milliseconds timeout{0};
  // Output beyond this many bytes per stream is read and dropped
  // (stdout_truncated / stderr_truncated say so).
  size_t max_output_bytes = 16 << 20;
};

struct SubprocessResult {
  int exit_code = -1;  // the exit status; -1 when killed by a signal
  int signal = 0;      // the terminating signal, when there was one
  std::string stdout_text;
  std::string stderr_text;
  bool stdout_truncated = false;
  bool stderr_truncated = false;

  bool succeeded() const { return exit_code == 0; }
  // "exit status 3" or "killed by signal 9 (Killed)".
  std::string DescribeEnd() const;
  // stderr, else stdout, trimmed; else DescribeEnd(): what to show a person
  // when the program failed.
  std::string ErrorText() const;
};

// Runs argv[0] (searched on $PATH unless it contains a '/') with the given
// arguments and waits for it. A non-zero exit is not an error: look at the
// result. Errors: kInvalidArgument for an empty argv; kNotFound "program
// 'sbatch' not found on PATH" / "program '/x/y' does not exist";
// kFailedPrecondition when it cannot be executed (permissions, format);
// kUnavailable "'squeue' did not finish within 60 s (killed)" on timeout;
// kInternal when pipes or polling fail.
Result<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                       const SubprocessOptions& options = {});

// "exit status 3" / "killed by signal 9 (Killed)" for a waitpid() status.
std::string DescribeWaitStatus(int wait_status);

}  // namespace kiln::training
