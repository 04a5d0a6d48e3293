// Real bwrap, real processes: these tests are the proof that the sandbox
// blocks network access and writes outside its work dir (issue 4).
#include "training/local_executor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "training/sandbox.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A socket the test listens on; closed at the end.
class Listener {
 public:
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
  }
  // 127.0.0.1 on a free port.
  int ListenTcp() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return -1;
    }
    return ntohs(address.sin_port);
  }
  bool ListenUnix(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
    return ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 && ::listen(fd_, 16) == 0;
  }
  // What the first queued connection sent (the sender has finished).
  std::string AcceptAndRead() {
    int connection = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (connection < 0) return "<no connection>";
    char buffer[256];
    ssize_t length = ::read(connection, buffer, sizeof(buffer));
    ::close(connection);
    return length > 0 ? std::string(buffer, static_cast<size_t>(length)) : "";
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// An argument for `sleep` (60 s and a bit) that names this one process tree.
std::string UniqueSleep() { return "60." + std::to_string(std::random_device()() % 1'000'000'000); }

// Live processes whose command line mentions `marker` (bwrap, the sandbox's
// init and the command all carry it).
int LiveProcessesWith(const std::string& marker) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadFile(entry.path() / "cmdline");
    if (cmdline.find(marker) != std::string::npos) ++count;
  }
  return count;
}

class LocalExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("kiln-sandbox-test-" + IdGenerator().RandomHex(8));
    fs::create_directories(root_ / "snapshot");
    fs::create_directories(root_ / "work");
    fs::create_directories(root_ / "logs");
    std::ofstream(root_ / "snapshot" / "train.py") << "print('training')\n";
  }
  void TearDown() override { fs::remove_all(root_); }

  ExecutionRequest Request(std::vector<std::string> argv) {
    ExecutionRequest request;
    request.run_id = "test-run";
    request.argv = std::move(argv);
    request.snapshot_dir = (root_ / "snapshot").string();
    request.work_dir = (root_ / "work").string();
    request.stdout_path = (root_ / "logs" / "stdout.txt").string();
    request.stderr_path = (root_ / "logs" / "stderr.txt").string();
    return request;
  }
  ExecutionRequest Shell(const std::string& script) { return Request({"/bin/sh", "-c", script}); }

  ExecutionResult Run(const ExecutionRequest& request) {
    Result<std::unique_ptr<Execution>> execution = executor_.Start(request);
    EXPECT_TRUE(execution.ok()) << execution.status().ToString();
    if (!execution.ok()) return {};
    Result<ExecutionResult> result = (*execution)->Wait();
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : ExecutionResult{};
  }
  std::string Stdout() { return ReadFile(root_ / "logs" / "stdout.txt"); }
  std::string Stderr() { return ReadFile(root_ / "logs" / "stderr.txt"); }

  fs::path root_;
  LocalExecutor executor_;
};

// Without CAP_SYS_ADMIN bwrap cannot be the init of its own pid namespace;
// the same guarantees must hold (leftovers may take a moment to die).
class LocalExecutorPlainForkTest : public LocalExecutorTest {
 protected:
  LocalExecutorPlainForkTest() {
    executor_ = LocalExecutor(LocalExecutor::Options{.own_pid_namespace = false});
  }

  // Live processes mentioning `marker` once they had up to 10 s to die.
  int LeftoversWith(const std::string& marker) {
    for (int i = 0; i < 100 && LiveProcessesWith(marker) > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return LiveProcessesWith(marker);
  }
};

TEST_F(LocalExecutorTest, OutputGoesToTheFilesAndExitZeroSucceeds) {
  ExecutionResult result = Run(Shell("echo out; echo err >&2; pwd; cat train.py"));
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << result.message << Stderr();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.message, "exit status 0");
  EXPECT_EQ(Stdout(), "out\n/snapshot\nprint('training')\n");
  EXPECT_EQ(Stderr(), "err\n");
}

TEST_F(LocalExecutorTest, OneFileForBothStreamsKeepsEverything) {
  ExecutionRequest request = Shell("echo one; echo two >&2; echo three");
  request.stderr_path = request.stdout_path;
  ExecutionResult result = Run(request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded);
  EXPECT_EQ(Stdout(), "one\ntwo\nthree\n");
}

TEST_F(LocalExecutorTest, NonZeroExitFails) {
  ExecutionResult result = Run(Shell("exit 3"));
  EXPECT_EQ(result.outcome, ExecutionOutcome::kFailed);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.signal, 0);
  EXPECT_EQ(result.message, "exit status 3");
}

TEST_F(LocalExecutorTest, DeathBySignalIsReported) {
  ExecutionResult result = Run(Shell("kill -KILL $$"));
  EXPECT_EQ(result.outcome, ExecutionOutcome::kFailed);
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_EQ(result.signal, SIGKILL);
  EXPECT_EQ(result.message, "killed by signal 9 (SIGKILL)");
}

TEST_F(LocalExecutorTest, MissingProgramFailsWithBubblewrapsReason) {
  ExecutionResult result = Run(Request({"no-such-kiln-program"}));
  EXPECT_EQ(result.outcome, ExecutionOutcome::kFailed);
  EXPECT_THAT(result.message, StartsWith("exit status 1 (bwrap: execvp no-such-kiln-program"));
}

TEST_F(LocalExecutorTest, NetworkIsBlocked) {
  Listener listener;
  int port = listener.ListenTcp();
  ASSERT_GT(port, 0);
  std::string connect = "import socket; socket.create_connection(('127.0.0.1', " + std::to_string(port) +
                        "), timeout=5); print('connected')";
  // The same command reaches the listener from the host, so the test is not vacuous.
  std::string host_command = "/usr/bin/python3 -c \"" + connect + "\" >/dev/null";
  ASSERT_EQ(std::system(host_command.c_str()), 0);

  ExecutionResult result = Run(Request({"/usr/bin/python3", "-c", connect}));
  EXPECT_EQ(result.outcome, ExecutionOutcome::kFailed);
  EXPECT_THAT(Stdout(), Not(HasSubstr("connected")));
  EXPECT_THAT(Stderr(), HasSubstr("Error"));

  // Only the loopback interface exists inside.
  result = Run(Shell("cat /proc/net/dev"));
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded);
  std::string interfaces = Stdout();
  EXPECT_THAT(interfaces, HasSubstr("lo:"));
  EXPECT_EQ(std::count(interfaces.begin(), interfaces.end(), ':'), 1) << interfaces;
}

TEST_F(LocalExecutorTest, NetworkRequestKeepsTheHostNetwork) {
  Listener listener;
  int port = listener.ListenTcp();
  ASSERT_GT(port, 0);
  ExecutionRequest request =
      Request({"/usr/bin/python3", "-c",
               "import socket; s = socket.create_connection(('127.0.0.1', " + std::to_string(port) +
                   "), timeout=5); s.sendall(b'net'); s.close()"});
  request.network = true;
  ExecutionResult result = Run(request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << Stderr();
  EXPECT_EQ(listener.AcceptAndRead(), "net");
}

TEST_F(LocalExecutorTest, WritesOutsideTheWorkDirFail) {
  std::string host_tmp_name = "kiln-sandbox-tmp-" + IdGenerator().RandomHex(8);
  fs::create_directories(root_ / "data");
  fs::create_directories(root_ / "cache");
  ExecutionRequest request = Shell("for f in /snapshot/x /usr/x /x /etc/x " + root_.string() +
                                   "/x /data/x /work/x /tmp/" + host_tmp_name +
                                   " /cache/x; do if (echo written > $f) 2>/dev/null; then echo \"$f ok\"; "
                                   "else echo \"$f denied\"; fi; done");
  request.mounts = {{(root_ / "data").string(), "/data", false},
                    {(root_ / "cache").string(), "/cache", true}};
  ExecutionResult result = Run(request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << Stderr();
  std::string out = Stdout();
  for (const std::string& denied :
       std::vector<std::string>{"/snapshot/x", "/usr/x", "/x", "/etc/x", root_.string() + "/x", "/data/x"}) {
    EXPECT_THAT(out, HasSubstr(denied + " denied\n"));
  }
  for (const std::string& allowed :
       std::vector<std::string>{"/work/x", "/tmp/" + host_tmp_name, "/cache/x"}) {
    EXPECT_THAT(out, HasSubstr(allowed + " ok\n"));
  }
  // On the host: the work dir and the writable mount kept the files; nothing else changed.
  EXPECT_EQ(ReadFile(root_ / "work" / "x"), "written\n");
  EXPECT_EQ(ReadFile(root_ / "cache" / "x"), "written\n");
  EXPECT_FALSE(fs::exists(root_ / "snapshot" / "x"));
  EXPECT_FALSE(fs::exists(root_ / "data" / "x"));
  EXPECT_FALSE(fs::exists(root_ / "x"));
  EXPECT_FALSE(fs::exists(fs::path("/tmp") / host_tmp_name));
  EXPECT_FALSE(fs::exists("/usr/x"));
}

TEST_F(LocalExecutorTest, NoPrivilegesSecretsOrDescriptorsInside) {
  int leaked = ::open("/dev/null", O_RDONLY);  // without O_CLOEXEC on purpose
  ASSERT_GE(leaked, 0);
  ExecutionResult result =
      Run(Shell("grep CapEff /proc/self/status; test -e /etc/shadow || echo no shadow; test -r /etc/passwd "
                "&& echo passwd; "
                "ls /proc/self/fd"));
  ::close(leaked);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << Stderr();
  // No capabilities (as root, bwrap would otherwise keep them all); only the
  // standard descriptors (3 is ls reading the folder).
  EXPECT_EQ(Stdout(), "CapEff:\t0000000000000000\nno shadow\npasswd\n0\n1\n2\n3\n");
}

TEST_F(LocalExecutorTest, EnvironmentIsScrubbed) {
  ::setenv("KILN_SECRET", "hunter2", 1);
  ExecutionRequest request = Request({"/usr/bin/env"});
  request.env = {{"KILN_PARAM_DEPTH", "6"}};
  ExecutionResult result = Run(request);
  ::unsetenv("KILN_SECRET");
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << Stderr();
  std::string env = Stdout();
  EXPECT_THAT(env, Not(HasSubstr("KILN_SECRET")));
  EXPECT_THAT(env, Not(HasSubstr("hunter2")));
  EXPECT_THAT(env, HasSubstr("KILN_PARAM_DEPTH=6\n"));
  EXPECT_THAT(env, HasSubstr("HOME=/work\n"));
  EXPECT_THAT(env, HasSubstr("TMPDIR=/tmp\n"));
  EXPECT_THAT(env, HasSubstr("PATH=/usr/local/bin:/usr/bin:/bin\n"));
}

TEST_F(LocalExecutorTest, TimeLimitStopsTheCommandGracefully) {
  // The command traps SIGTERM: the executor's first signal reaches it inside
  // the sandbox, so it can still write to its work dir before it ends.
  ExecutionRequest request = Shell("trap 'echo stopped > /work/term; exit 0' TERM; sleep 60 & wait");
  request.resources.time_limit_seconds = 1;
  ExecutionResult result = Run(request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kTimedOut);
  EXPECT_EQ(result.message, "time limit of 1 s exceeded");
  EXPECT_EQ(ReadFile(root_ / "work" / "term"), "stopped\n");
}

TEST_F(LocalExecutorTest, TimeLimitKillsSleep) {
  std::string sleep = UniqueSleep();
  ExecutionRequest request = Request({"sleep", sleep});
  request.resources.time_limit_seconds = 1;
  ExecutionResult result = Run(request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kTimedOut);
  EXPECT_EQ(result.message, "time limit of 1 s exceeded");
  EXPECT_LT(result.wall_seconds, 60);
  EXPECT_EQ(LiveProcessesWith(sleep), 0);
}

TEST_F(LocalExecutorTest, CancelFromAnotherThreadStopsTheCommand) {
  std::string sleep = UniqueSleep();
  Result<std::unique_ptr<Execution>> execution = executor_.Start(Request({"sleep", sleep}));
  ASSERT_TRUE(execution.ok()) << execution.status().ToString();
  EXPECT_THAT((*execution)->Describe(), StartsWith("pid "));
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_TRUE((*execution)->Cancel().ok());
  });
  Result<ExecutionResult> result = (*execution)->Wait();
  canceller.join();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->outcome, ExecutionOutcome::kCancelled);
  EXPECT_EQ(result->message, "cancelled");
  EXPECT_TRUE((*execution)->Cancel().ok());  // after the end: nothing to do
  EXPECT_EQ(LiveProcessesWith(sleep), 0);
}

TEST_F(LocalExecutorTest, CancelRightAfterStart) {
  // bwrap is still setting the sandbox up: stopping must not orphan it.
  std::string sleep = UniqueSleep();
  Result<std::unique_ptr<Execution>> execution = executor_.Start(Request({"sleep", sleep}));
  ASSERT_TRUE(execution.ok()) << execution.status().ToString();
  EXPECT_TRUE((*execution)->Cancel().ok());
  Result<ExecutionResult> result = (*execution)->Wait();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, ExecutionOutcome::kCancelled);
  EXPECT_EQ(LiveProcessesWith(sleep), 0);
}

TEST_F(LocalExecutorTest, DestroyingWithoutWaitKillsAndReaps) {
  std::string sleep = UniqueSleep();
  Result<std::unique_ptr<Execution>> execution = executor_.Start(Request({"sleep", sleep}));
  ASSERT_TRUE(execution.ok()) << execution.status().ToString();
  pid_t pid = std::stoi((*execution)->id());
  execution->reset();
  EXPECT_EQ(LiveProcessesWith(sleep), 0);
  // Reaped: no zombie left, so it is no longer our child.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(LocalExecutorTest, StartedFromAThreadThatEnds) {
  // --die-with-parent follows the thread that forked bwrap; a caller's
  // thread ending must not kill the run.
  std::unique_ptr<Execution> execution;
  std::thread starter([&] {
    Result<std::unique_ptr<Execution>> started = executor_.Start(Shell("sleep 1.5; echo done"));
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    execution = std::move(*started);
    // Let bwrap set up (and arm --die-with-parent) while this thread lives.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  });
  starter.join();
  ASSERT_NE(execution, nullptr);
  Result<ExecutionResult> result = execution->Wait();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, ExecutionOutcome::kSucceeded) << result->message;
  EXPECT_EQ(Stdout(), "done\n");
}

TEST_F(LocalExecutorTest, MemoryLimitStopsLargeAllocations) {
  ExecutionRequest request = Request({"/usr/bin/python3", "-c", "bytearray(2 << 30)"});
  request.resources.memory_bytes = 512LL << 20;
  ExecutionResult result = Run(request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kFailed);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(Stderr(), HasSubstr("MemoryError"));

  request.argv = {"/usr/bin/python3", "-c", "bytearray(64 << 20); print('allocated')"};
  result = Run(request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << Stderr();
  EXPECT_EQ(Stdout(), "allocated\n");
}

TEST_F(LocalExecutorTest, CpuLimitPinsTheCommand) {
  ExecutionRequest request = Shell("nproc; echo $OMP_NUM_THREADS");
  request.resources.cpus = 1;
  ExecutionResult result = Run(request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << Stderr();
  EXPECT_EQ(Stdout(), "1\n1\n");

  // More than the machine has: capped at what exists.
  request.resources.cpus = 10'000;
  result = Run(request);
  std::string allowed = std::to_string(AllowedCpus().size());
  EXPECT_EQ(Stdout(), allowed + "\n" + allowed + "\n");
}

TEST_F(LocalExecutorTest, TrackingSocketReachesTheHostListener) {
  Listener listener;
  std::string socket_path = (root_ / "tracking.sock").string();
  ASSERT_TRUE(listener.ListenUnix(socket_path));
  ExecutionRequest request =
      Request({"/usr/bin/python3", "-c",
               "import socket; s = socket.socket(socket.AF_UNIX); "
               "s.connect('/run/kiln/tracking.sock'); s.sendall(b'hello from the sandbox')"});
  request.tracking_socket = socket_path;
  ExecutionResult result = Run(request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << Stderr();
  EXPECT_EQ(listener.AcceptAndRead(), "hello from the sandbox");
}

TEST_F(LocalExecutorTest, SeveralRunsAtOnce) {
  constexpr int kRuns = 4;
  std::vector<std::thread> threads;
  std::vector<ExecutionResult> results(kRuns);
  for (int i = 0; i < kRuns; ++i) {
    fs::create_directories(root_ / ("work" + std::to_string(i)));
    threads.emplace_back([&, i] {
      ExecutionRequest request = Shell("echo run " + std::to_string(i) + "; sleep 0.2");
      request.work_dir = (root_ / ("work" + std::to_string(i))).string();
      request.stdout_path = (root_ / "logs" / ("out" + std::to_string(i))).string();
      results[i] = Run(request);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < kRuns; ++i) {
    EXPECT_EQ(results[i].outcome, ExecutionOutcome::kSucceeded) << results[i].message;
    EXPECT_EQ(ReadFile(root_ / "logs" / ("out" + std::to_string(i))), "run " + std::to_string(i) + "\n");
  }
}

TEST_F(LocalExecutorTest, BadRequestsAreRefusedBeforeStarting) {
  ExecutionRequest request = Shell("true");
  request.work_dir = (root_ / "missing").string();
  Result<std::unique_ptr<Execution>> execution = executor_.Start(request);
  ASSERT_FALSE(execution.ok());
  EXPECT_EQ(execution.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(execution.status().message(), "work_dir: folder '" + request.work_dir + "' does not exist");

  request = Request({});
  execution = executor_.Start(request);
  ASSERT_FALSE(execution.ok());
  EXPECT_EQ(execution.status().message(), "argv: the command is empty");

  request = Shell("true");
  request.stdout_path = (root_ / "no-such-folder" / "out.txt").string();
  execution = executor_.Start(request);
  ASSERT_FALSE(execution.ok());
  EXPECT_EQ(execution.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(execution.status().message(),
              StartsWith("stdout_path: cannot create '" + request.stdout_path + "'"));
}

TEST_F(LocalExecutorTest, MissingBubblewrapIsAFailedPrecondition) {
  LocalExecutor executor(LocalExecutor::Options{.bubblewrap_path = "/no/such/kiln/bwrap"});
  Result<std::unique_ptr<Execution>> execution = executor.Start(Shell("true"));
  ASSERT_FALSE(execution.ok());
  EXPECT_EQ(execution.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(execution.status().message(),
              StartsWith("bubblewrap is not installed: apt-get install bubblewrap"));
}

}  // namespace
}  // namespace kiln::training

namespace kiln::training {
namespace {

TEST_F(LocalExecutorPlainForkTest, RunsAndReportsTheExitStatus) {
  ExecutionResult result = Run(Shell("echo out; exit 3"));
  EXPECT_EQ(result.outcome, ExecutionOutcome::kFailed);
  EXPECT_EQ(result.message, "exit status 3");
  EXPECT_EQ(Stdout(), "out\n");
}

TEST_F(LocalExecutorPlainForkTest, TimeLimitStopsTheCommandGracefully) {
  ExecutionRequest request = Shell("trap 'echo stopped > /work/term; exit 0' TERM; sleep 60 & wait");
  request.resources.time_limit_seconds = 1;
  ExecutionResult result = Run(request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kTimedOut);
  EXPECT_EQ(ReadFile(root_ / "work" / "term"), "stopped\n");
}

TEST_F(LocalExecutorPlainForkTest, CancelRightAfterStartLeavesNothing) {
  std::string sleep = UniqueSleep();
  Result<std::unique_ptr<Execution>> execution = executor_.Start(Request({"sleep", sleep}));
  ASSERT_TRUE(execution.ok()) << execution.status().ToString();
  EXPECT_TRUE((*execution)->Cancel().ok());
  Result<ExecutionResult> result = (*execution)->Wait();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, ExecutionOutcome::kCancelled);
  EXPECT_EQ(LeftoversWith(sleep), 0);
}

TEST_F(LocalExecutorPlainForkTest, DestroyingWithoutWaitLeavesNothing) {
  std::string sleep = UniqueSleep();
  Result<std::unique_ptr<Execution>> execution = executor_.Start(Request({"sleep", sleep}));
  ASSERT_TRUE(execution.ok()) << execution.status().ToString();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the command start
  execution->reset();
  EXPECT_EQ(LeftoversWith(sleep), 0);
}

}  // namespace
}  // namespace kiln::training

namespace kiln::training {
namespace {

// Two 1-CPU runs at once get different CPUs (not both the first), and a
// CPU is handed out again once its run has ended.
TEST_F(LocalExecutorTest, ConcurrentRunsGetDifferentCpus) {
  if (AllowedCpus().size() < 2) GTEST_SKIP() << "needs two CPUs";
  auto start = [&](const std::string& name) {
    ExecutionRequest request = Shell("grep Cpus_allowed_list /proc/self/status; sleep 1");
    request.resources.cpus = 1;
    request.stdout_path = (root_ / "logs" / (name + ".txt")).string();
    Result<std::unique_ptr<Execution>> execution = executor_.Start(request);
    EXPECT_TRUE(execution.ok()) << execution.status().ToString();
    return execution.ok() ? std::move(*execution) : nullptr;
  };
  std::unique_ptr<Execution> first = start("first");
  std::unique_ptr<Execution> second = start("second");
  ASSERT_TRUE(first && second);
  ASSERT_TRUE(first->Wait().ok());
  ASSERT_TRUE(second->Wait().ok());
  const std::string a = ReadFile(root_ / "logs" / "first.txt");
  const std::string b = ReadFile(root_ / "logs" / "second.txt");
  EXPECT_THAT(a, testing::HasSubstr("Cpus_allowed_list:"));
  EXPECT_NE(a, b);
  first.reset();
  second.reset();
  std::unique_ptr<Execution> third = start("third");
  ASSERT_TRUE(third && third->Wait().ok());
  EXPECT_EQ(ReadFile(root_ / "logs" / "third.txt"), a);  // the least-used CPUs are the first again
}

}  // namespace
}  // namespace kiln::training
