#include "training/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace kiln::training {
namespace {

std::string Trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// Closes a descriptor once, on every path out of RunSubprocess.
class OwnedFd {
 public:
  OwnedFd() = default;
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() { Close(); }
  int get() const { return fd_; }
  int* out() { return &fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// One output pipe being drained.
struct Stream {
  OwnedFd fd;
  std::string* text = nullptr;
  bool* truncated = nullptr;
};

Status MakePipe(OwnedFd& read_end, OwnedFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Internal(std::string("pipe2 failed: ") + std::strerror(errno));
  *read_end.out() = fds[0];
  *write_end.out() = fds[1];
  return Status::Ok();
}

int WaitForChild(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

Status KillAfterTimeout(pid_t pid, const std::string& program, std::chrono::milliseconds timeout) {
  ::kill(pid, SIGKILL);
  WaitForChild(pid);
  return Unavailable("'" + program + "' did not finish within " +
                     std::to_string((timeout.count() + 999) / 1000) + " s (killed)");
}

Status SpawnError(const std::string& program, int error) {
  if (error == ENOENT) {
    if (program.find('/') == std::string::npos)
      return NotFound("program '" + program + "' not found on PATH");
    return NotFound("program '" + program + "' does not exist");
  }
  return FailedPrecondition("cannot run '" + program + "': " + std::strerror(error));
}

}  // namespace

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int signal = WTERMSIG(wait_status);
    const char* name = ::strsignal(signal);
    return "killed by signal " + std::to_string(signal) +
           (name != nullptr ? std::string(" (") + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(wait_status);
}

std::string SubprocessResult::DescribeEnd() const {
  if (signal != 0) {
    const char* name = ::strsignal(signal);
    return "killed by signal " + std::to_string(signal) +
           (name != nullptr ? std::string(" (") + name + ")" : "");
  }
  return "exit status " + std::to_string(exit_code);
}

std::string SubprocessResult::ErrorText() const {
  std::string text = Trim(stderr_text);
  if (text.empty()) text = Trim(stdout_text);
  return text.empty() ? DescribeEnd() : text;
}

Result<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                       const SubprocessOptions& options) {
  if (argv.empty() || argv[0].empty()) return InvalidArgument("no program to run: the command is empty");
  const std::string& program = argv[0];

  Stream streams[2];
  SubprocessResult result;
  OwnedFd stdout_write;
  OwnedFd stderr_write;
  KILN_RETURN_IF_ERROR(MakePipe(streams[0].fd, stdout_write));
  KILN_RETURN_IF_ERROR(MakePipe(streams[1].fd, stderr_write));
  streams[0].text = &result.stdout_text;
  streams[0].truncated = &result.stdout_truncated;
  streams[1].text = &result.stderr_text;
  streams[1].truncated = &result.stderr_truncated;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, stderr_write.get(), 2);
  // The child starts with no blocked signals and default dispositions (this
  // process may ignore SIGPIPE or block signals in its threads).
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&attributes, &signals);
  sigfillset(&signals);
  sigdelset(&signals, SIGKILL);
  sigdelset(&signals, SIGSTOP);
  posix_spawnattr_setsigdefault(&attributes, &signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  pid_t pid = 0;
  int error = ::posix_spawnp(&pid, program.c_str(), &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) return SpawnError(program, error);
  stdout_write.Close();
  stderr_write.Close();

  using Clock = std::chrono::steady_clock;
  const bool has_deadline = options.timeout.count() > 0;
  const Clock::time_point deadline = Clock::now() + options.timeout;
  char buffer[65536];
  while (streams[0].fd.get() >= 0 || streams[1].fd.get() >= 0) {
    pollfd polled[2];
    int count = 0;
    Stream* polled_streams[2];
    for (Stream& stream : streams) {
      if (stream.fd.get() < 0) continue;
      polled[count] = {stream.fd.get(), POLLIN, 0};
      polled_streams[count++] = &stream;
    }
    int wait_millis = -1;
    if (has_deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return KillAfterTimeout(pid, program, options.timeout);
      wait_millis = static_cast<int>(left);
    }
    int ready = ::poll(polled, static_cast<nfds_t>(count), wait_millis);
    if (ready < 0) {
      if (errno == EINTR) continue;
      int poll_error = errno;
      ::kill(pid, SIGKILL);
      WaitForChild(pid);
      return Internal(std::string("poll failed while reading '") + program +
                      "': " + std::strerror(poll_error));
    }
    for (int i = 0; i < count; ++i) {
      if (polled[i].revents == 0) continue;
      Stream& stream = *polled_streams[i];
      ssize_t n = ::read(stream.fd.get(), buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        stream.fd.Close();
        continue;
      }
      size_t room = options.max_output_bytes - std::min(options.max_output_bytes, stream.text->size());
      size_t kept = std::min(room, static_cast<size_t>(n));
      stream.text->append(buffer, kept);
      if (kept < static_cast<size_t>(n)) *stream.truncated = true;
    }
  }

  // Both pipes are closed; the program may still run (it may have closed
  // them itself).
  int status = 0;
  if (has_deadline) {
    while (true) {
      pid_t done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid || (done < 0 && errno != EINTR)) break;
      if (Clock::now() >= deadline) return KillAfterTimeout(pid, program, options.timeout);
      ::usleep(10'000);
    }
  } else {
    status = WaitForChild(pid);
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace kiln::training
