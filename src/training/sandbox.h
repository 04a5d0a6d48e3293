#pragma once
// The bubblewrap sandbox a training command runs in (docs/training/sandbox.md):
// which host paths it sees, how, and with what environment. The command line
// is built by a pure function (BuildSandboxCommand) from the request and a
// description of the host (HostLayout), so it can be tested without running
// anything; ProbeHostLayout and ValidateExecutionRequest are the only parts
// that look at the file system. Shared by the local and Slurm executors.
// Everything here is thread-safe (no shared state).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "training/executor.h"

namespace kiln::training {

// One host path the sandbox may show, as lstat found it.
struct HostEntry {
  enum class Kind { kDirectory, kFile, kSymlink };
  std::string path;  // absolute, e.g. "/bin" or "/etc/localtime"
  Kind kind = Kind::kDirectory;
  std::string symlink_target;  // kSymlink: readlink's text, e.g. "usr/bin"
  std::string resolved_path;   // kSymlink: where it finally points (realpath)
};

// The parts of the host system shown read-only inside the sandbox. Only
// entries that exist are listed (dangling symlinks are left out).
struct HostLayout {
  std::vector<HostEntry> system;       // /usr, /bin, /sbin, /lib, /lib32, /lib64
  std::vector<HostEntry> etc;          // the /etc entries of kSandboxEtcEntries that exist
  std::vector<HostEntry> network_etc;  // those of kSandboxNetworkEtcEntries (network runs only)
};

// The /etc entries a program may need (name resolution of users, dynamic
// linker, time zone, TLS roots, Python's configuration). /etc/shadow and
// other secrets are deliberately absent. Entries ending in '*' are prefixes.
extern const std::vector<std::string_view> kSandboxEtcEntries;
// Only shown when the request asks for network access.
extern const std::vector<std::string_view> kSandboxNetworkEtcEntries;

// Reads the host's layout (lstat/readlink/realpath under / and /etc).
HostLayout ProbeHostLayout();

// A bubblewrap invocation: options (everything bwrap itself interprets) and
// the command that runs inside. Kept apart so an executor can pass the
// options through a file descriptor (--args) and keep environment values
// out of the host's process list.
struct SandboxCommand {
  std::vector<std::string> options;
  std::vector<std::string> command;
  // bwrap_path, options, "--", command: one argv.
  std::vector<std::string> Argv(const std::string& bwrap_path) const;
};

// The whole environment inside the sandbox: request.env, plus PATH, HOME,
// TMPDIR, LANG and (when cpus > 0) OMP_NUM_THREADS=cpus for those not set.
std::map<std::string, std::string> SandboxEnvironment(const ExecutionRequest& request, int cpus);

// Builds the bwrap options and command for `request` on a host laid out as
// `host`. `cpus` is the number of CPUs the command may use (0: no limit); it
// only sets OMP_NUM_THREADS here — the affinity itself is applied by the
// executor. Pure: no I/O.
// REQUIRES: ValidateExecutionRequest(request).ok()
SandboxCommand BuildSandboxCommand(const ExecutionRequest& request, const HostLayout& host, int cpus);

// Checks a request before anything starts: argv non-empty; snapshot_dir and
// work_dir absolute existing folders; stdout_path/stderr_path absolute;
// mounts with absolute existing host paths and absolute sandbox paths;
// tracking_socket (when given) an absolute path to a Unix socket; env names
// valid; resource limits not negative. kInvalidArgument naming the field,
// e.g. "work_dir: folder '/x' does not exist".
Status ValidateExecutionRequest(const ExecutionRequest& request);

// The bwrap executable: the first "bwrap" on `search_path` (colon-separated
// folders; default: $PATH then /usr/bin:/bin). kFailedPrecondition "bubblewrap
// is not installed: apt-get install bubblewrap" when there is none.
Result<std::string> FindBubblewrap();
Result<std::string> FindBubblewrap(std::string_view search_path);

// Joins an argv into one line a shell would read back the same way (for
// logs, docs and reports): words with special characters are single-quoted.
std::string ShellQuote(const std::vector<std::string>& argv);

}  // namespace kiln::training
