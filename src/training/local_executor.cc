#include "training/local_executor.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "training/sandbox.h"
#include "training/sandbox_process.h"
#include "training/sandbox_spawner.h"

namespace kiln::training {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Without a pidfd, Wait() checks the child this often.
constexpr std::chrono::milliseconds kPollFallback{100};

// Owns one file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    Reset(other.Release());
    return *this;
  }
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

std::string ErrnoText() { return std::strerror(errno); }

std::string SignalText(int signal_number) {
  const char* abbreviation = ::sigabbrev_np(signal_number);
  std::string text = "signal " + std::to_string(signal_number);
  if (abbreviation != nullptr) text += std::string(" (SIG") + abbreviation + ")";
  return text;
}

// The first line of `path`'s text when it starts with bwrap's error prefix.
std::string BubblewrapError(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return "";
  char buffer[512];
  ssize_t length = ::read(fd.get(), buffer, sizeof(buffer));
  if (length <= 0) return "";
  std::string_view text(buffer, static_cast<size_t>(length));
  if (!text.starts_with("bwrap: ")) return "";
  return std::string(text.substr(0, text.find('\n')));
}

// One sandboxed command started by LocalExecutor. See Execution.
//
// Stopping (time limit, Cancel()) escalates: SIGTERM to the command's
// processes inside the sandbox, then, after the grace period (or at once
// when there is nothing to stop gently), SIGKILL to the sandbox and bwrap.
// When bwrap runs as the init of its own pid namespace (Kiln has
// CAP_SYS_ADMIN), reaping it means everything it started is gone.
// CPUs handed to running sandboxes. Concurrent runs get the least-used
// allowed CPUs, so two 1-CPU runs land on different cores instead of both
// on the first. Process-wide; thread-safe. Released when the lease goes.
class CpuLease {
 public:
  CpuLease(int count, const std::vector<int>& allowed) {
    std::lock_guard lock(Mutex());
    std::map<int, int>& use = Use();
    std::vector<int> order = allowed;
    std::stable_sort(order.begin(), order.end(), [&use](int a, int b) { return use[a] < use[b]; });
    order.resize(std::min(order.size(), static_cast<size_t>(std::max(count, 0))));
    std::sort(order.begin(), order.end());
    for (int cpu : order) ++use[cpu];
    cpus_ = std::move(order);
  }
  ~CpuLease() {
    std::lock_guard lock(Mutex());
    for (int cpu : cpus_) --Use()[cpu];
  }
  CpuLease(const CpuLease&) = delete;
  CpuLease& operator=(const CpuLease&) = delete;
  const std::vector<int>& cpus() const { return cpus_; }

 private:
  static std::mutex& Mutex() {
    static std::mutex mutex;
    return mutex;
  }
  static std::map<int, int>& Use() {
    static std::map<int, int> use;
    return use;
  }
  std::vector<int> cpus_;
};

class LocalExecution : public Execution {
 public:
  LocalExecution(SpawnedChild child, UniqueFd pidfd, UniqueFd wake_fd, const ExecutionRequest& request,
                 std::chrono::milliseconds kill_grace, SteadyClock::time_point started)
      : pid_(child.pid),
        pidfd_(std::move(pidfd)),
        wake_fd_(std::move(wake_fd)),
        time_limit_seconds_(request.resources.time_limit_seconds),
        stderr_path_(request.stderr_path),
        kill_grace_(kill_grace),
        started_(started),
        sandbox_(child.pid) {}

  void AdoptCpuLease(std::unique_ptr<CpuLease> lease) { cpu_lease_ = std::move(lease); }

  ~LocalExecution() override {
    std::lock_guard lock(mutex_);
    if (ReapLocked(WNOHANG)) return;
    sandbox_.KillAll();
    ReapLocked(0);
  }

  Result<ExecutionResult> Wait() override {
    std::lock_guard wait_lock(wait_mutex_);
    if (result_) return *result_;
    std::optional<SteadyClock::time_point> deadline;
    if (time_limit_seconds_ > 0) deadline = started_ + std::chrono::seconds(time_limit_seconds_);
    while (true) {
      std::optional<SteadyClock::time_point> next;  // when to look again without an event
      {
        std::lock_guard lock(mutex_);
        if (ReapLocked(WNOHANG)) break;
        SteadyClock::time_point now = SteadyClock::now();
        if (step_ == StopStep::kNone && deadline && now >= *deadline) {
          BeginStopLocked(ExecutionOutcome::kTimedOut);
        } else if (step_ == StopStep::kTerminated && now >= kill_at_) {
          KillLocked();
        }
        if (step_ == StopStep::kNone) next = deadline;
        if (step_ == StopStep::kTerminated) next = kill_at_;
        if (pidfd_.get() < 0)
          next = std::min(next.value_or(SteadyClock::time_point::max()), now + kPollFallback);
      }
      pollfd events[2] = {{wake_fd_.get(), POLLIN, 0}, {pidfd_.get(), POLLIN, 0}};
      int timeout_ms = -1;
      if (next) {
        auto remaining = std::chrono::ceil<std::chrono::milliseconds>(*next - SteadyClock::now());
        timeout_ms = static_cast<int>(std::clamp<int64_t>(remaining.count(), 0, 60'000));
      }
      if (::poll(events, pidfd_.get() < 0 ? 1 : 2, timeout_ms) < 0 && errno != EINTR) {
        return Internal("waiting for pid " + std::to_string(pid_) + ": poll: " + ErrnoText());
      }
      if (events[0].revents & POLLIN) {
        uint64_t count;
        ssize_t ignored = ::read(wake_fd_.get(), &count, sizeof(count));  // Cancel() was called
        (void)ignored;
      }
    }
    std::lock_guard lock(mutex_);
    result_ = MakeResultLocked();
    return *result_;
  }

  Status Cancel() override {
    std::lock_guard lock(mutex_);
    if (ReapLocked(WNOHANG) || step_ != StopStep::kNone) return Status::Ok();
    BeginStopLocked(ExecutionOutcome::kCancelled);
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_.get(), &one, sizeof(one));  // wakes Wait()
    (void)ignored;
    return Status::Ok();
  }

  std::string Describe() const override { return "pid " + std::to_string(pid_); }
  std::string id() const override { return std::to_string(pid_); }

 private:
  enum class StopStep { kNone, kTerminated, kKilled };

  // Reaps bwrap if it has ended (or, without WNOHANG, once it ends).
  bool ReapLocked(int options) {
    if (reaped_) return true;
    pid_t done;
    while ((done = ::waitpid(pid_, &status_, options)) < 0 && errno == EINTR) {
    }
    if (done == pid_ || (done < 0 && errno == ECHILD)) {  // ECHILD: reaped elsewhere (SIGCHLD ignored)
      status_valid_ = done == pid_;
      reaped_ = true;
    }
    return reaped_;
  }

  void BeginStopLocked(ExecutionOutcome reason) {
    stop_reason_ = reason;
    step_ = StopStep::kTerminated;
    kill_at_ = SteadyClock::now() + kill_grace_;
    // Nothing to stop gently (bwrap still setting up, or the command ended): kill at once.
    if (sandbox_.TerminateCommand() == 0) KillLocked();
  }

  void KillLocked() {
    sandbox_.KillAll();
    step_ = StopStep::kKilled;
  }

  ExecutionResult MakeResultLocked() const {
    ExecutionResult result;
    result.wall_seconds = std::chrono::duration<double>(SteadyClock::now() - started_).count();
    if (status_valid_ && WIFEXITED(status_)) {
      int code = WEXITSTATUS(status_);
      // bwrap reports a command killed by signal N as exit status 128 + N.
      if (code > 128 && code < 128 + NSIG) {
        result.signal = code - 128;
      } else {
        result.exit_code = code;
      }
    } else if (status_valid_ && WIFSIGNALED(status_)) {
      result.signal = WTERMSIG(status_);
    }
    if (stop_reason_ == ExecutionOutcome::kTimedOut) {
      result.outcome = ExecutionOutcome::kTimedOut;
      result.message = "time limit of " + std::to_string(time_limit_seconds_) + " s exceeded";
    } else if (stop_reason_ == ExecutionOutcome::kCancelled) {
      result.outcome = ExecutionOutcome::kCancelled;
      result.message = "cancelled";
    } else if (!status_valid_) {
      result.message = "exit status unknown (the process was reaped elsewhere)";
    } else if (result.signal != 0) {
      result.message = "killed by " + SignalText(result.signal);
    } else {
      result.outcome = result.exit_code == 0 ? ExecutionOutcome::kSucceeded : ExecutionOutcome::kFailed;
      result.message = "exit status " + std::to_string(result.exit_code);
      std::string setup_error = result.exit_code == 1 ? BubblewrapError(stderr_path_) : "";
      if (!setup_error.empty()) result.message += " (" + setup_error + ")";
    }
    return result;
  }

  std::unique_ptr<CpuLease> cpu_lease_;  // released after the destructor has reaped the sandbox
  const pid_t pid_;   // bwrap; also its process group id
  UniqueFd pidfd_;    // -1 when pidfd_open is unavailable
  UniqueFd wake_fd_;  // eventfd Cancel() writes to
  const int64_t time_limit_seconds_;
  const std::string stderr_path_;
  const std::chrono::milliseconds kill_grace_;
  const SteadyClock::time_point started_;
  const SandboxProcess sandbox_;

  std::mutex wait_mutex_;  // one Wait() at a time
  std::optional<ExecutionResult> result_;

  std::mutex mutex_;  // guards everything below
  bool reaped_ = false;
  bool status_valid_ = false;
  int status_ = 0;
  std::optional<ExecutionOutcome> stop_reason_;  // kTimedOut or kCancelled, once stopping
  StopStep step_ = StopStep::kNone;
  SteadyClock::time_point kill_at_;  // SIGKILL after SIGTERM
};

Result<UniqueFd> OpenOutput(std::string_view field, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0)
    return InvalidArgument(std::string(field) + ": cannot create '" + path + "': " + ErrnoText());
  return fd;
}

// bwrap's options, NUL-terminated, in a memory file for --args.
Result<UniqueFd> OptionsFile(const std::vector<std::string>& options) {
  UniqueFd fd(::memfd_create("kiln-bwrap-args", MFD_CLOEXEC));
  if (fd.get() < 0) return Internal("memfd_create: " + ErrnoText());
  std::string text;
  for (const std::string& option : options) text.append(option).push_back('\0');
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal("writing bwrap's options: " + ErrnoText());
    written += static_cast<size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return Internal("lseek: " + ErrnoText());
  return fd;
}

}  // namespace

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

Result<std::unique_ptr<Execution>> LocalExecutor::Start(const ExecutionRequest& request) {
  KILN_RETURN_IF_ERROR(ValidateExecutionRequest(request));
  std::string bwrap = options_.bubblewrap_path;
  if (bwrap.empty()) {
    KILN_ASSIGN_OR_RETURN(bwrap, FindBubblewrap());
  } else if (::access(bwrap.c_str(), X_OK) != 0) {
    return FailedPrecondition("bubblewrap is not installed: apt-get install bubblewrap (no executable at '" +
                              bwrap + "')");
  }

  ChildPlan plan;
  std::vector<int> allowed = AllowedCpus();
  int cpus = 0;
  std::unique_ptr<CpuLease> lease;
  if (request.resources.cpus > 0 && !allowed.empty()) {
    lease = std::make_unique<CpuLease>(request.resources.cpus, allowed);
    cpus = static_cast<int>(lease->cpus().size());
    plan.set_affinity = true;
    CPU_ZERO(&plan.affinity);
    for (int cpu : lease->cpus()) CPU_SET(cpu, &plan.affinity);
  }
  if (request.resources.memory_bytes > 0) {
    plan.limit_address_space = true;
    plan.address_space.rlim_cur = plan.address_space.rlim_max =
        static_cast<rlim_t>(request.resources.memory_bytes);
  }
  SandboxCommand sandbox = BuildSandboxCommand(request, ProbeHostLayout(), cpus);

  KILN_ASSIGN_OR_RETURN(UniqueFd stdout_fd, OpenOutput("stdout_path", request.stdout_path));
  // One file for both streams is opened once, so the two share an offset.
  UniqueFd stderr_fd;
  if (request.stderr_path != request.stdout_path) {
    KILN_ASSIGN_OR_RETURN(stderr_fd, OpenOutput("stderr_path", request.stderr_path));
  }
  KILN_ASSIGN_OR_RETURN(UniqueFd options_fd, OptionsFile(sandbox.options));
  UniqueFd stdin_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (stdin_fd.get() < 0) return Internal("/dev/null: " + ErrnoText());
  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) return Internal("pipe: " + ErrnoText());
  UniqueFd error_read(error_pipe[0]), error_write(error_pipe[1]);
  UniqueFd wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (wake_fd.get() < 0) return Internal("eventfd: " + ErrnoText());

  // Descriptor 3 in the child: see plan.fds below.
  std::vector<std::string> words = {bwrap, "--args", "3", "--"};
  words.insert(words.end(), sandbox.command.begin(), sandbox.command.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  plan.program = bwrap.c_str();
  plan.argv = argv.data();
  plan.envp = envp;
  int child_fds[kChildFdCount] = {stdin_fd.get(), stdout_fd.get(),
                                  stderr_fd.get() >= 0 ? stderr_fd.get() : stdout_fd.get(), options_fd.get()};
  std::copy(std::begin(child_fds), std::end(child_fds), plan.fds);
  plan.error_fd = error_write.get();
  plan.new_pid_namespace = options_.own_pid_namespace;

  SteadyClock::time_point started = SteadyClock::now();
  KILN_ASSIGN_OR_RETURN(SpawnedChild child, SpawnChild(plan));
  error_write.Reset();
  ChildFailure failure;
  ssize_t length;
  while ((length = ::read(error_read.get(), &failure, sizeof(failure))) < 0 && errno == EINTR) {
  }
  if (length > 0) {
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    return Internal("could not start bubblewrap '" + bwrap + "': " + ChildStepDescription(failure.step) +
                    ": " + std::strerror(failure.error));
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child.pid, 0)));
  auto execution = std::make_unique<LocalExecution>(child, std::move(pidfd), std::move(wake_fd), request,
                                                    options_.kill_grace, started);
  execution->AdoptCpuLease(std::move(lease));
  return std::unique_ptr<Execution>(std::move(execution));
}

}  // namespace kiln::training
