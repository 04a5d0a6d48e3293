#pragma once
// Starting a prepared child process: the only code that runs between fork()
// and execve(). Everything the child needs is computed beforehand into a
// ChildPlan, so the child only makes async-signal-safe system calls.
//
// Forks happen on one process-wide thread that lives as long as the process:
// PR_SET_PDEATHSIG (the child's, and bwrap's --die-with-parent) fires when the
// *thread* that forked a process exits, so forking on a caller's short-lived
// thread would kill the run when that thread ends. Thread-safe.

#include <sched.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <string>

#include "common/status.h"

namespace kiln::training {

inline constexpr int kChildFdCount = 4;

struct ChildPlan {
  const char* program = nullptr;  // absolute path
  char* const* argv = nullptr;    // null-terminated
  char* const* envp = nullptr;    // null-terminated
  // Host descriptors that become the child's descriptors 0, 1, 2, 3 in this
  // order; every other descriptor is closed. -1: none.
  int fds[kChildFdCount] = {-1, -1, -1, -1};
  // Receives a ChildFailure when a step before exec (or exec itself) fails;
  // close-on-exec, so the parent reads EOF when execve succeeded.
  int error_fd = -1;
  bool set_affinity = false;
  cpu_set_t affinity{};
  bool limit_address_space = false;
  rlimit address_space{};
  // Start the child as the init (pid 1) of a new pid namespace, when this
  // process may (CAP_SYS_ADMIN): once it exits, the kernel kills and reaps
  // everything it started, so nothing, not even a zombie, outlives it.
  bool new_pid_namespace = true;
};

// What the child writes to ChildPlan::error_fd when it cannot exec.
struct ChildFailure {
  int step = 0;   // ChildStep
  int error = 0;  // errno
};
enum ChildStep { kChildStepFds = 1, kChildStepAffinity, kChildStepMemory, kChildStepExec };
// "could not set the CPU affinity", "could not execute", …
std::string ChildStepDescription(int step);

struct SpawnedChild {
  pid_t pid = -1;
  bool own_pid_namespace = false;  // it is the init of a new pid namespace
};

// Forks (on the spawner thread) a child that leads its own process group,
// dies with this process (SIGKILL), resets signal dispositions and mask,
// arranges its descriptors, applies the limits and execs plan.program. The
// caller must read plan.error_fd's read end (after closing its own copy of
// the write end) to learn whether execve succeeded, and must reap the child.
// REQUIRES: plan and everything it points to stay valid during the call.
Result<SpawnedChild> SpawnChild(const ChildPlan& plan);

}  // namespace kiln::training
