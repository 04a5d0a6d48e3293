#include "training/sandbox_spawner.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

namespace kiln::training {
namespace {

constexpr int kFirstSpareFd = 16;
// Where the keeper and the program keep ChildPlan::error_fd.
constexpr int kErrorFd = 5;

void WriteFailure(int error_fd, int step) {
  ChildFailure failure{step, errno};
  ssize_t ignored = ::write(error_fd, &failure, sizeof(failure));
  (void)ignored;
}

pid_t ForkNoHandlers() {
  // _Fork skips pthread_atfork handlers, which could take locks held by
  // other threads; the child needs none of them.
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
  return ::_Fork();
#else
  return ::fork();
#endif
}

// The grandchild: applies the limits and becomes the program.
[[noreturn]] void ExecProgram(const ChildPlan& plan, int error_fd) {
  if (plan.set_affinity && ::sched_setaffinity(0, sizeof(plan.affinity), &plan.affinity) != 0) {
    WriteFailure(error_fd, kChildStepAffinity);
    ::_exit(127);
  }
  if (plan.limit_address_space && ::setrlimit(RLIMIT_AS, &plan.address_space) != 0) {
    WriteFailure(error_fd, kChildStepMemory);
    ::_exit(127);
  }
  ::execve(plan.program, plan.argv, plan.envp);
  WriteFailure(error_fd, kChildStepExec);
  ::_exit(127);
}

// Runs in the forked child (the keeper): async-signal-safe system calls only.
[[noreturn]] void RunKeeper(const ChildPlan& plan, pid_t parent) {
  ::setpgid(0, 0);
  // Dies with this process (the spawner thread lives as long as it does).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  // Dispositions set to SIG_IGN and the signal mask survive execve; the
  // program must start with defaults.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    ::sigaction(signal_number, &default_action, nullptr);
  }
  // Move the descriptors out of the way first (so that moving one to its
  // target cannot clobber another), then into place: 0-4 as planned (dup2
  // clears close-on-exec), the error pipe at 5 (close-on-exec).
  int spare[6];
  const int sources[6] = {plan.fds[0], plan.fds[1], plan.fds[2], plan.fds[3], plan.fds[4], plan.error_fd};
  spare[kErrorFd] = ::fcntl(plan.error_fd, F_DUPFD_CLOEXEC, kFirstSpareFd);
  if (spare[kErrorFd] < 0) ::_exit(127);
  for (int i = 0; i < kErrorFd; ++i) {
    spare[i] = sources[i] < 0 ? -1 : ::fcntl(sources[i], F_DUPFD_CLOEXEC, kFirstSpareFd);
    if (sources[i] >= 0 && spare[i] < 0) {
      WriteFailure(spare[kErrorFd], kChildStepFds);
      ::_exit(127);
    }
  }
  for (int i = 0; i <= kErrorFd; ++i) {
    if (spare[i] >= 0 && ::dup3(spare[i], i, i == kErrorFd ? O_CLOEXEC : 0) < 0) {
      WriteFailure(spare[kErrorFd], kChildStepFds);
      ::_exit(127);
    }
  }
  // Everything else this process had open (other runs' files, the server's
  // sockets) is closed: the keeper never execs, so close-on-exec is not enough.
  if (::syscall(SYS_close_range, kErrorFd + 1U, ~0U, 0U) != 0) {
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    for (rlim_t fd = kErrorFd + 1; fd < files.rlim_cur && fd < (1U << 20); ++fd) ::close(static_cast<int>(fd));
  }
  const int error_fd = kErrorFd;

  // Orphans of the program's tree (bwrap's sandbox init outlives bwrap for
  // a moment) are re-parented to the keeper, which reaps them all.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  pid_t program = ForkNoHandlers();
  if (program == 0) ExecProgram(plan, error_fd);
  if (program < 0) {
    WriteFailure(error_fd, kChildStepFork);
    ::_exit(127);
  }
  ::close(error_fd);  // the parent sees EOF once the program has exec'd
  for (int fd = 3; fd < 5; ++fd) ::close(fd);
  int status = 0;
  int program_status = 0;
  while (true) {
    pid_t done = ::waitpid(-1, &status, 0);
    if (done == program) program_status = status;
    if (done < 0 && errno != EINTR) break;  // ECHILD: everything is reaped
  }
  if (WIFEXITED(program_status)) ::_exit(WEXITSTATUS(program_status));
  ::_exit(128 + WTERMSIG(program_status));  // as bwrap reports a killed command
}

// The process-wide forking thread. Leaked on purpose: it must outlive every
// sandbox, i.e. live until the process exits.
class Spawner {
 public:
  static Spawner& Instance() {
    static Spawner* instance = new Spawner();
    return *instance;
  }

  Result<pid_t> Spawn(const ChildPlan& plan) {
    Job job{&plan};
    std::unique_lock lock(mutex_);
    jobs_.push_back(&job);
    changed_.notify_all();
    changed_.wait(lock, [&] { return job.done; });
    if (job.pid < 0) return Internal(std::string("could not fork: ") + std::strerror(job.error));
    return job.pid;
  }

 private:
  struct Job {
    const ChildPlan* plan;
    bool done = false;
    pid_t pid = -1;
    int error = 0;
  };

  Spawner() { std::thread([this] { Run(); }).detach(); }

  void Run() {
    while (true) {
      Job* job;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !jobs_.empty(); });
        job = jobs_.front();
        jobs_.pop_front();
      }
      pid_t pid = ForkNoHandlers();
      if (pid == 0) RunKeeper(*job->plan, parent_);
      int error = errno;
      // Also set here, so the group exists before the caller can signal it.
      if (pid > 0) ::setpgid(pid, pid);
      std::lock_guard lock(mutex_);
      job->pid = pid;
      job->error = error;
      job->done = true;
      changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job*> jobs_;
  const pid_t parent_ = ::getpid();
};

}  // namespace

std::string ChildStepDescription(int step) {
  switch (step) {
    case kChildStepFds:
      return "could not set up the standard descriptors";
    case kChildStepAffinity:
      return "could not set the CPU affinity";
    case kChildStepMemory:
      return "could not set the memory limit (RLIMIT_AS)";
    case kChildStepFork:
      return "could not fork";
    case kChildStepExec:
      return "could not execute";
  }
  return "failed before exec";
}

Result<pid_t> SpawnChild(const ChildPlan& plan) { return Spawner::Instance().Spawn(plan); }

}  // namespace kiln::training
