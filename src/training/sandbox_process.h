#pragma once
// SandboxProcess: a running bwrap and the sandbox behind it, seen from
// outside, with the signals that stop it. bwrap forwards no signals, and
// killing bwrap itself while its sandbox is still being set up can orphan the
// sandbox (its --die-with-parent is armed only later), so stopping goes
// through the sandbox's pid namespace instead:
//   TerminateInside(): SIGTERM to every process in the namespace but its init;
//   KillInit(): SIGKILL to the namespace's init — the kernel then kills
//   everything inside, and bwrap, whose child that init is, exits by itself.
// bwrap reports the namespace on --info-fd once it exists. Thread-compatible:
// the owner serializes calls.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace kiln::training {

class SandboxProcess {
 public:
  // `bwrap_pid` leads its own process group; `info_fd` (owned) is the read
  // end of bwrap's --info-fd pipe.
  SandboxProcess(pid_t bwrap_pid, int info_fd) : bwrap_pid_(bwrap_pid), info_fd_(info_fd) {}
  ~SandboxProcess();
  SandboxProcess(const SandboxProcess&) = delete;
  SandboxProcess& operator=(const SandboxProcess&) = delete;

  // SIGTERM to the processes inside the sandbox; how many were signalled.
  // Waits up to `info_timeout` for bwrap to report the sandbox.
  int TerminateInside(std::chrono::milliseconds info_timeout);
  // SIGKILL to the sandbox's init; false when the sandbox is unknown (bwrap
  // failed before creating it) or already gone.
  bool KillInit(std::chrono::milliseconds info_timeout);
  // `signal` to bwrap's process group (bwrap only: the sandbox runs in its
  // own session). The last resort.
  void SignalGroup(int signal) const;

 private:
  // True once bwrap's report has been read; false when it never came
  // (EOF, or nothing within `timeout`).
  bool AwaitInfo(std::chrono::milliseconds timeout);
  // The namespace's init, if it still is the process bwrap reported.
  bool InitAlive() const;

  const pid_t bwrap_pid_;
  int info_fd_;  // -1 once read to the end
  std::string info_text_;
  pid_t init_pid_ = 0;           // the sandbox's pid 1, as the host sees it
  uint64_t pid_namespace_ = 0;   // inode of its pid namespace
};

}  // namespace kiln::training
