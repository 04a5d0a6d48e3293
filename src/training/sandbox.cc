#include "training/sandbox.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace kiln::training {
namespace {

constexpr const char* kSandboxPath = "/usr/local/bin:/usr/bin:/bin";
constexpr const char* kBubblewrapMissing = "bubblewrap is not installed: apt-get install bubblewrap";

// The system folders shown read-only, in this order (symlinks after the
// folders they point into).
const std::vector<std::string_view> kSystemPaths = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"};

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// lstat-based description of `path`; false when it is missing or a dangling symlink.
bool ProbeEntry(const std::string& path, HostEntry& entry) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return false;
  entry.path = path;
  if (S_ISLNK(info.st_mode)) {
    char target[PATH_MAX];
    ssize_t length = ::readlink(path.c_str(), target, sizeof(target) - 1);
    char resolved[PATH_MAX];
    if (length <= 0 || ::realpath(path.c_str(), resolved) == nullptr) return false;
    entry.kind = HostEntry::Kind::kSymlink;
    entry.symlink_target.assign(target, static_cast<size_t>(length));
    entry.resolved_path = resolved;
    return true;
  }
  entry.kind = S_ISDIR(info.st_mode) ? HostEntry::Kind::kDirectory : HostEntry::Kind::kFile;
  return true;
}

// The /etc entries named by `patterns` that exist, in pattern order
// ("python3*" expands to the matching names, sorted).
std::vector<HostEntry> ProbeEtc(const std::vector<std::string_view>& patterns) {
  std::vector<HostEntry> entries;
  for (std::string_view pattern : patterns) {
    std::vector<std::string> names;
    if (pattern.ends_with('*')) {
      std::string_view prefix = pattern.substr(0, pattern.size() - 1);
      std::error_code error;
      for (const auto& item : std::filesystem::directory_iterator("/etc", error)) {
        std::string name = item.path().filename().string();
        if (StartsWith(name, prefix)) names.push_back(name);
      }
      std::sort(names.begin(), names.end());
    } else {
      names.emplace_back(pattern);
    }
    for (const std::string& name : names) {
      HostEntry entry;
      if (ProbeEntry("/etc/" + name, entry)) entries.push_back(std::move(entry));
    }
  }
  return entries;
}

void Add(std::vector<std::string>& options, std::initializer_list<std::string_view> words) {
  for (std::string_view word : words) options.emplace_back(word);
}

// Shows a host entry at the same path, read-only. A symlink into /usr stays a
// symlink (so /etc/localtime still names its zone); others are bound, which
// follows the link to its file.
void AddHostEntry(std::vector<std::string>& options, const HostEntry& entry, bool keep_symlinks_into_usr) {
  if (entry.kind == HostEntry::Kind::kSymlink &&
      (!keep_symlinks_into_usr || StartsWith(entry.resolved_path, "/usr/"))) {
    Add(options, {"--symlink", entry.symlink_target, entry.path});
  } else {
    Add(options, {"--ro-bind", entry.path, entry.path});
  }
}

bool IsAbsoluteWithoutDotDot(const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  for (const auto& part : std::filesystem::path(path)) {
    if (part == "..") return false;
  }
  return true;
}

// Appends "FIELD: problem" to `problems` unless `path` is an absolute path
// (and, when `must_be_folder`, an existing folder).
void CheckPath(std::string_view field, const std::string& path, bool must_exist, bool must_be_folder,
               std::vector<std::string>& problems) {
  std::string prefix = std::string(field) + ": ";
  if (path.empty()) {
    problems.push_back(prefix + "required");
    return;
  }
  if (!IsAbsoluteWithoutDotDot(path)) {
    problems.push_back(prefix + "expected an absolute path without '..', got '" + path + "'");
    return;
  }
  if (!must_exist) return;
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    problems.push_back(prefix + (must_be_folder ? "folder '" : "'") + path + "' does not exist");
  } else if (must_be_folder && !S_ISDIR(info.st_mode)) {
    problems.push_back(prefix + "'" + path + "' is not a folder");
  }
}

}  // namespace

const std::vector<std::string_view> kSandboxEtcEntries = {
    "ld.so.cache",    "ld.so.conf",    "ld.so.conf.d", "localtime",       "timezone",     "passwd",
    "group",          "nsswitch.conf", "host.conf",    "hosts",           "hostname",     "gai.conf",
    "services",       "protocols",     "ssl",          "ca-certificates", "alternatives", "os-release",
    "debian_version", "lsb-release",   "locale.alias", "mime.types",      "fonts",        "python3*",
};
const std::vector<std::string_view> kSandboxNetworkEtcEntries = {"resolv.conf"};

HostLayout ProbeHostLayout() {
  HostLayout layout;
  for (std::string_view path : kSystemPaths) {
    HostEntry entry;
    if (ProbeEntry(std::string(path), entry)) layout.system.push_back(std::move(entry));
  }
  layout.etc = ProbeEtc(kSandboxEtcEntries);
  layout.network_etc = ProbeEtc(kSandboxNetworkEtcEntries);
  return layout;
}

std::vector<std::string> SandboxCommand::Argv(const std::string& bwrap_path) const {
  std::vector<std::string> argv = {bwrap_path};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.emplace_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::map<std::string, std::string> SandboxEnvironment(const ExecutionRequest& request, int cpus) {
  std::map<std::string, std::string> env = request.env;
  env.try_emplace("PATH", kSandboxPath);
  env.try_emplace("HOME", kSandboxWorkDir);
  env.try_emplace("TMPDIR", "/tmp");
  env.try_emplace("LANG", "C.UTF-8");
  if (cpus > 0) env.try_emplace("OMP_NUM_THREADS", std::to_string(cpus));
  return env;
}

SandboxCommand BuildSandboxCommand(const ExecutionRequest& request, const HostLayout& host, int cpus) {
  SandboxCommand result;
  std::vector<std::string>& options = result.options;
  // Namespaces and process hygiene. As root, bwrap would keep every
  // capability for the command (enough to remount the read-only binds), so
  // they are all dropped.
  if (!request.network) Add(options, {"--unshare-net"});
  Add(options, {"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session",
                "--cap-drop", "ALL"});
  // Read-only system.
  for (const HostEntry& entry : host.system) AddHostEntry(options, entry, /*keep_symlinks_into_usr=*/false);
  for (const HostEntry& entry : host.etc) AddHostEntry(options, entry, /*keep_symlinks_into_usr=*/true);
  if (request.network) {
    for (const HostEntry& entry : host.network_etc)
      AddHostEntry(options, entry, /*keep_symlinks_into_usr=*/true);
  }
  // Private kernel views and scratch space.
  Add(options, {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"});
  // The run's folders, extra mounts and the tracking socket.
  Add(options, {"--ro-bind", request.snapshot_dir, kSandboxSnapshotDir});
  Add(options, {"--bind", request.work_dir, kSandboxWorkDir});
  for (const SandboxMount& mount : request.mounts) {
    Add(options, {mount.writable ? "--bind" : "--ro-bind", mount.host_path, mount.sandbox_path});
  }
  if (!request.tracking_socket.empty()) {
    Add(options, {"--ro-bind", request.tracking_socket, kSandboxTrackingSocket});
  }
  // The root (where bwrap created the mount points) becomes read-only too.
  Add(options, {"--remount-ro", "/", "--chdir", kSandboxSnapshotDir});
  // Scrubbed environment: --clearenv must come before the --setenv options.
  Add(options, {"--clearenv"});
  for (const auto& [name, value] : SandboxEnvironment(request, cpus)) Add(options, {"--setenv", name, value});
  result.command = request.argv;
  return result;
}

Status ValidateExecutionRequest(const ExecutionRequest& request) {
  std::vector<std::string> problems;
  if (request.argv.empty()) {
    problems.push_back("argv: the command is empty");
  } else if (request.argv[0].empty()) {
    problems.push_back("argv[0]: the program name is empty");
  }
  CheckPath("snapshot_dir", request.snapshot_dir, /*must_exist=*/true, /*must_be_folder=*/true, problems);
  CheckPath("work_dir", request.work_dir, /*must_exist=*/true, /*must_be_folder=*/true, problems);
  CheckPath("stdout_path", request.stdout_path, /*must_exist=*/false, /*must_be_folder=*/false, problems);
  CheckPath("stderr_path", request.stderr_path, /*must_exist=*/false, /*must_be_folder=*/false, problems);
  for (size_t i = 0; i < request.mounts.size(); ++i) {
    const SandboxMount& mount = request.mounts[i];
    std::string field = "mounts[" + std::to_string(i) + "]";
    CheckPath(field + ".host_path", mount.host_path, /*must_exist=*/true, /*must_be_folder=*/false, problems);
    CheckPath(field + ".sandbox_path", mount.sandbox_path, /*must_exist=*/false, /*must_be_folder=*/false,
              problems);
    if (mount.sandbox_path == "/") problems.push_back(field + ".sandbox_path: cannot mount over '/'");
  }
  if (!request.tracking_socket.empty()) {
    CheckPath("tracking_socket", request.tracking_socket, /*must_exist=*/true, /*must_be_folder=*/false,
              problems);
    struct stat info {};
    if (::stat(request.tracking_socket.c_str(), &info) == 0 && !S_ISSOCK(info.st_mode)) {
      problems.push_back("tracking_socket: '" + request.tracking_socket + "' is not a Unix socket");
    }
  }
  for (const auto& [name, value] : request.env) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
      problems.push_back("env: invalid variable name '" + name + "'");
    } else if (value.find('\0') != std::string::npos) {
      problems.push_back("env: the value of " + name + " contains a NUL byte");
    }
  }
  if (request.resources.cpus < 0) {
    problems.push_back("resources.cpus: must not be negative, got " + std::to_string(request.resources.cpus));
  }
  if (request.resources.memory_bytes < 0) {
    problems.push_back("resources.memory_bytes: must not be negative, got " +
                       std::to_string(request.resources.memory_bytes));
  }
  if (request.resources.time_limit_seconds < 0) {
    problems.push_back("resources.time_limit_seconds: must not be negative, got " +
                       std::to_string(request.resources.time_limit_seconds));
  }
  if (problems.empty()) return Status::Ok();
  std::string message;
  for (const std::string& problem : problems) message += (message.empty() ? "" : "; ") + problem;
  return InvalidArgument(message);
}

Result<std::string> FindBubblewrap() {
  const char* path = std::getenv("PATH");
  return FindBubblewrap(std::string(path == nullptr ? "" : path) + ":/usr/bin:/bin");
}

Result<std::string> FindBubblewrap(std::string_view search_path) {
  size_t start = 0;
  while (start <= search_path.size()) {
    size_t end = search_path.find(':', start);
    if (end == std::string_view::npos) end = search_path.size();
    std::string_view folder = search_path.substr(start, end - start);
    start = end + 1;
    if (folder.empty() || folder[0] != '/') continue;
    std::string candidate = std::string(folder) + "/bwrap";
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return FailedPrecondition(kBubblewrapMissing);
}

std::string ShellQuote(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& word : argv) {
    if (!line.empty()) line += ' ';
    bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) ||
             std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
    });
    if (plain) {
      line += word;
      continue;
    }
    line += '\'';
    for (char c : word) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

}  // namespace kiln::training
