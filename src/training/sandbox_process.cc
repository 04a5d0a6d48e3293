#include "training/sandbox_process.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "common/json.h"

namespace kiln::training {
namespace {

// The inode of `pid`'s pid namespace; 0 when it cannot be read.
uint64_t PidNamespaceOf(const std::string& pid) {
  struct stat info {};
  std::string path = "/proc/" + pid + "/ns/pid";
  return ::stat(path.c_str(), &info) == 0 ? info.st_ino : 0;
}

}  // namespace

SandboxProcess::~SandboxProcess() {
  if (info_fd_ >= 0) ::close(info_fd_);
}

bool SandboxProcess::AwaitInfo(std::chrono::milliseconds timeout) {
  if (pid_namespace_ != 0) return true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (info_fd_ >= 0) {
    char buffer[1024];
    ssize_t length = ::read(info_fd_, buffer, sizeof(buffer));
    if (length > 0) {
      info_text_.append(buffer, static_cast<size_t>(length));
      if (info_text_.find('}') == std::string::npos) continue;
    } else if (length < 0 && (errno == EAGAIN || errno == EINTR)) {
      auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (remaining.count() <= 0) return false;
      pollfd event{info_fd_, POLLIN, 0};
      ::poll(&event, 1, static_cast<int>(std::min<int64_t>(remaining.count(), 60'000)));
      continue;
    }
    // The whole report, EOF (bwrap ended before creating the sandbox) or an error.
    ::close(info_fd_);
    info_fd_ = -1;
  }
  Json info = Json::parse(info_text_, nullptr, /*allow_exceptions=*/false);
  if (info.is_object()) {
    init_pid_ = static_cast<pid_t>(info.value("child-pid", 0L));
    pid_namespace_ = info.value("pid-namespace", static_cast<uint64_t>(0));
  }
  return init_pid_ > 0 && pid_namespace_ != 0;
}

bool SandboxProcess::InitAlive() const {
  return init_pid_ > 0 && PidNamespaceOf(std::to_string(init_pid_)) == pid_namespace_;
}

int SandboxProcess::TerminateInside(std::chrono::milliseconds info_timeout) {
  if (!AwaitInfo(info_timeout)) return 0;
  int signalled = 0;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == init_pid_) continue;
    if (PidNamespaceOf(entry->d_name) == pid_namespace_ && ::kill(static_cast<pid_t>(pid), SIGTERM) == 0) {
      ++signalled;
    }
  }
  ::closedir(proc);
  return signalled;
}

bool SandboxProcess::KillInit(std::chrono::milliseconds info_timeout) {
  if (!AwaitInfo(info_timeout) || !InitAlive()) return false;
  return ::kill(init_pid_, SIGKILL) == 0;
}

void SandboxProcess::SignalGroup(int signal) const { ::killpg(bwrap_pid_, signal); }

}  // namespace kiln::training
