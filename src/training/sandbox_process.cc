#include "training/sandbox_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::training {
namespace {

// Every process's parent, from /proc/PID/stat ("PID (COMM) STATE PPID …";
// COMM may hold spaces and parentheses, so parse after the last ')').
std::multimap<pid_t, pid_t> ChildrenByParent() {
  std::multimap<pid_t, pid_t> children;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::string path = std::string("/proc/") + entry->d_name + "/stat";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buffer[512];
    ssize_t length = ::read(fd, buffer, sizeof(buffer) - 1);
    ::close(fd);
    if (length <= 0) continue;
    std::string_view stat(buffer, static_cast<size_t>(length));
    size_t paren = stat.rfind(')');
    if (paren == std::string_view::npos || paren + 4 >= stat.size()) continue;
    std::string rest(stat.substr(paren + 4));  // after ") S "
    long parent = std::strtol(rest.c_str(), nullptr, 10);
    if (parent > 0) children.emplace(static_cast<pid_t>(parent), static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return children;
}

// The processes below `pid`, breadth first, at most `depth` levels down.
std::vector<pid_t> Below(const std::multimap<pid_t, pid_t>& children, pid_t pid, int depth = 1 << 20) {
  std::vector<pid_t> found;
  std::vector<pid_t> level = {pid};
  for (int d = 0; d < depth && !level.empty(); ++d) {
    std::vector<pid_t> next;
    for (pid_t parent : level) {
      auto [begin, end] = children.equal_range(parent);
      for (auto it = begin; it != end; ++it) next.push_back(it->second);
    }
    found.insert(found.end(), next.begin(), next.end());
    level = std::move(next);
  }
  return found;
}

}  // namespace

int SandboxProcess::TerminateCommand() const {
  std::multimap<pid_t, pid_t> children = ChildrenByParent();
  int signalled = 0;
  // bwrap's children are sandbox inits; the command is everything below them.
  for (pid_t init : Below(children, bwrap_pid_, /*depth=*/1)) {
    for (pid_t pid : Below(children, init)) {
      if (::kill(pid, SIGTERM) == 0) ++signalled;
    }
  }
  return signalled;
}

void SandboxProcess::KillAll() const {
  // Inits first (breadth-first order): SIGKILL to a namespace's init takes
  // everything inside with it.
  for (pid_t pid : Below(ChildrenByParent(), bwrap_pid_)) ::kill(pid, SIGKILL);
  ::killpg(bwrap_pid_, SIGKILL);
}

}  // namespace kiln::training
