#include "training/sandbox_spawner.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

namespace kiln::training {
namespace {

constexpr int kFirstSpareFd = 16;

void WriteFailure(int error_fd, int step) {
  ChildFailure failure{step, errno};
  ssize_t ignored = ::write(error_fd, &failure, sizeof(failure));
  (void)ignored;
}

// Runs in the forked child: async-signal-safe system calls only.
[[noreturn]] void RunChild(const ChildPlan& plan) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // kept across execve
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
  // target cannot clobber another), then into place; dup2 clears
  // close-on-exec on the targets, the spare copies keep it.
  int error_fd = ::fcntl(plan.error_fd, F_DUPFD_CLOEXEC, kFirstSpareFd);
  if (error_fd < 0) ::_exit(127);
  int spare[kChildFdCount];
  for (int i = 0; i < kChildFdCount; ++i) {
    spare[i] = plan.fds[i] < 0 ? -1 : ::fcntl(plan.fds[i], F_DUPFD_CLOEXEC, kFirstSpareFd);
    if (plan.fds[i] >= 0 && spare[i] < 0) {
      WriteFailure(error_fd, kChildStepFds);
      ::_exit(127);
    }
  }
  for (int i = 0; i < kChildFdCount; ++i) {
    if (spare[i] >= 0 && ::dup2(spare[i], i) < 0) {
      WriteFailure(error_fd, kChildStepFds);
      ::_exit(127);
    }
  }
  // Whatever else this process had open (other runs' files, the server's
  // sockets) must not leak into the program.
  ::syscall(SYS_close_range, static_cast<unsigned>(kChildFdCount), ~0U, CLOSE_RANGE_CLOEXEC);
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

// fork(), optionally into a new pid namespace. Neither runs pthread_atfork
// handlers, which could take locks held by other threads; the child needs
// none of them.
pid_t Fork(bool new_pid_namespace) {
  if (new_pid_namespace) return static_cast<pid_t>(::syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0));
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
  return ::_Fork();
#else
  return ::fork();
#endif
}

// The process-wide forking thread. Leaked on purpose: it must outlive every
// child, i.e. live until the process exits.
class Spawner {
 public:
  static Spawner& Instance() {
    static Spawner* instance = new Spawner();
    return *instance;
  }

  Result<SpawnedChild> Spawn(const ChildPlan& plan) {
    Job job{&plan};
    std::unique_lock lock(mutex_);
    jobs_.push_back(&job);
    changed_.notify_all();
    changed_.wait(lock, [&] { return job.done; });
    if (job.child.pid < 0) return Internal(std::string("could not fork: ") + std::strerror(job.error));
    return job.child;
  }

 private:
  struct Job {
    const ChildPlan* plan;
    bool done = false;
    SpawnedChild child;
    int error = 0;
  };

  Spawner() {
    std::thread([this] { Run(); }).detach();
  }

  void Run() {
    while (true) {
      Job* job;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !jobs_.empty(); });
        job = jobs_.front();
        jobs_.pop_front();
      }
      // A new pid namespace needs CAP_SYS_ADMIN; without it (EPERM), and from
      // then on, a plain fork.
      bool new_namespace = job->plan->new_pid_namespace && new_namespace_allowed_.load();
      pid_t pid = Fork(new_namespace);
      if (pid < 0 && new_namespace && (errno == EPERM || errno == EINVAL)) {
        new_namespace_allowed_.store(false);
        new_namespace = false;
        pid = Fork(false);
      }
      if (pid == 0) RunChild(*job->plan);
      int error = errno;
      // Also set here, so the group exists before the caller can signal it.
      if (pid > 0) ::setpgid(pid, pid);
      std::lock_guard lock(mutex_);
      job->child = {pid, new_namespace};
      job->error = error;
      job->done = true;
      changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job*> jobs_;
  std::atomic<bool> new_namespace_allowed_{true};
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
    case kChildStepExec:
      return "could not execute";
  }
  return "failed before exec";
}

Result<SpawnedChild> SpawnChild(const ChildPlan& plan) { return Spawner::Instance().Spawn(plan); }

}  // namespace kiln::training
