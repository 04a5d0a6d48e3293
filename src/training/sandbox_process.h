#pragma once
// SandboxProcess: a running bwrap and the process tree behind it, seen from
// outside, with the signals that stop it. bwrap does not forward signals, so
// a command is stopped gently by signalling it directly: bwrap's children
// are its sandbox init (pid 1 inside the sandbox), and everything below them
// is the command and what it started. Found by walking the host's /proc.
// Stateless apart from the pid; thread-safe.

#include <sys/types.h>

namespace kiln::training {

class SandboxProcess {
 public:
  // `bwrap_pid` leads its own process group.
  explicit SandboxProcess(pid_t bwrap_pid) : bwrap_pid_(bwrap_pid) {}

  // SIGTERM to every process of the command (below the sandbox's init); how
  // many were signalled. 0 when there is nothing to stop gently (bwrap is
  // still setting up, or the command has ended).
  int TerminateCommand() const;
  // SIGKILL to the sandbox's init (the kernel then kills everything inside)
  // and to bwrap's process group.
  void KillAll() const;

 private:
  const pid_t bwrap_pid_;
};

}  // namespace kiln::training
