#pragma once
// Starting a prepared child process: the only code that runs between fork()
// and execve(). Everything the child needs is computed beforehand into a
// ChildPlan, so the child only makes async-signal-safe system calls.
//
// Forks happen on one process-wide thread that lives as long as the process:
// PR_SET_PDEATHSIG (the keeper's, and bwrap's --die-with-parent) fires when
// the *thread* that forked a process exits, so forking on a caller's
// short-lived thread would kill the run when that thread ends. Thread-safe.

#include <sched.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <string>

#include "common/status.h"

namespace kiln::training {

struct ChildPlan {
  const char* program = nullptr;  // absolute path
  char* const* argv = nullptr;    // null-terminated
  char* const* envp = nullptr;    // null-terminated
  // Host descriptors that become the child's descriptors 0, 1, 2, … in this
  // order; every other descriptor is closed at exec. -1: leave unset.
  int fds[5] = {-1, -1, -1, -1, -1};
  // Receives a ChildFailure when a step before exec (or exec itself) fails;
  // close-on-exec, so the parent reads EOF when execve succeeded.
  int error_fd = -1;
  bool set_affinity = false;
  cpu_set_t affinity{};
  bool limit_address_space = false;
  rlimit address_space{};
};

// What the child writes to ChildPlan::error_fd when it cannot exec.
struct ChildFailure {
  int step = 0;  // ChildStep
  int error = 0;  // errno
};
enum ChildStep { kChildStepFds = 1, kChildStepFork, kChildStepAffinity, kChildStepMemory, kChildStepExec };
// "could not set the CPU affinity", "could not execute", …
std::string ChildStepDescription(int step);

// Forks (on the spawner thread) a keeper process that leads its own process
// group, dies with this process, resets signal dispositions and mask,
// arranges its descriptors and forks the program (which applies the limits
// and execs plan.program). The keeper then reaps the program and every orphan
// of its tree, and exits with the program's exit status (128 + N when it
// was killed by signal N). So when the keeper has ended, nothing it started
// is left, not even a zombie. Returns the keeper's pid; the caller must read
// plan.error_fd's read end (after closing its own copy of the write end) to
// learn whether execve succeeded, and must reap the keeper.
// REQUIRES: plan and everything it points to stay valid during the call.
Result<pid_t> SpawnChild(const ChildPlan& plan);

}  // namespace kiln::training
