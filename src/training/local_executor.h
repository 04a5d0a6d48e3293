#pragma once
// LocalExecutor: runs each command on this machine in a bubblewrap sandbox
// (sandbox.h, docs/training/sandbox.md) with its CPU, memory and wall-time
// limits. Thread-safe: any number of executions may run, be waited on and be
// cancelled concurrently from different threads.
//
// Processes: bwrap is forked by one long-lived process-wide thread (the
// parent-death signal that ties it to this process follows the *thread* that
// forked it), leads its own process group and, when this process has
// CAP_SYS_ADMIN, is the init of a new pid namespace, so that when it ends the
// kernel kills and reaps everything it started. Wait() (or, if Wait() was
// never called, the Execution's destructor, which kills the run first) reaps
// it: no zombie outlives an Execution. An Execution may be destroyed only
// when no other thread is inside its Wait() or Cancel().

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "training/executor.h"

namespace kiln::training {

class LocalExecutor : public Executor {
 public:
  struct Options {
    // The bwrap executable; empty: FindBubblewrap() on $PATH at each Start().
    std::string bubblewrap_path;
    // Between SIGTERM and SIGKILL when a command is timed out or cancelled.
    std::chrono::milliseconds kill_grace{5000};
    // Start bwrap as the init of its own pid namespace when allowed (see
    // above); false: a plain child, as without CAP_SYS_ADMIN.
    bool own_pid_namespace = true;
  };

  LocalExecutor() : LocalExecutor(Options{}) {}
  explicit LocalExecutor(Options options) : options_(std::move(options)) {}

  std::string_view name() const override { return "local"; }

  // Validates the request (kInvalidArgument naming the field), finds bwrap
  // (kFailedPrecondition "bubblewrap is not installed: apt-get install
  // bubblewrap"), creates/truncates the stdout and stderr files and starts
  // the sandboxed command. Does not wait for it.
  Result<std::unique_ptr<Execution>> Start(const ExecutionRequest& request) override;

 private:
  Options options_;
};

// The CPUs this process may run on (its affinity mask), ascending.
std::vector<int> AllowedCpus();

}  // namespace kiln::training
