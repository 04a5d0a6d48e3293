#include "training/slurm_executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "training/sandbox.h"
#include "training/slurm_testing.h"

namespace kiln::training {
namespace {

using slurm_testing::ReadFile;
using slurm_testing::TempDir;
using slurm_testing::WriteFile;
using slurm_testing::WriteScript;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A run's folders under a temporary directory.
ExecutionRequest RequestIn(const TempDir& dir, const std::string& logs = "logs") {
  std::filesystem::create_directories(dir.path() / "snapshot");
  std::filesystem::create_directories(dir.path() / "work");
  std::filesystem::create_directories(dir.path() / logs);
  ExecutionRequest request;
  request.run_id = "feedc0de00000000";
  request.argv = {"sh", "-c", "echo hello"};
  request.snapshot_dir = dir / "snapshot";
  request.work_dir = dir / "work";
  request.stdout_path = dir / (logs + "/stdout.txt");
  request.stderr_path = dir / (logs + "/stderr.txt");
  return request;
}

// Slurm's tools as shell scripts that log their calls to `calls` and do what
// each test tells them.
class FakeSlurm {
 public:
  FakeSlurm() {
    Tool("sbatch", "echo 42");
    Tool("squeue", "");  // the job has left the queue
    Tool("scontrol", "echo 'JobId=42 JobState=COMPLETED Reason=None ExitCode=0:0 RunTime=00:00:03'");
    Tool("sacct", "echo 'Slurm accounting storage is disabled' >&2; exit 1");
    Tool("scancel", "");
  }

  void Tool(const std::string& name, const std::string& body) {
    WriteScript(dir_.path() / "bin" / name,
                "echo \"" + name + " $*\" >> " + dir_ / "calls" + "\n" + body + "\n");
  }
  std::string Calls() const { return ReadFile(dir_.path() / "calls"); }
  const TempDir& dir() const { return dir_; }

  SlurmExecutor::Options Options() const {
    SlurmExecutor::Options options;
    options.sbatch_path = dir_ / "bin/sbatch";
    options.squeue_path = dir_ / "bin/squeue";
    options.scontrol_path = dir_ / "bin/scontrol";
    options.sacct_path = dir_ / "bin/sacct";
    options.scancel_path = dir_ / "bin/scancel";
    options.bubblewrap_path = "/usr/bin/bwrap";
    options.poll_interval = std::chrono::milliseconds(1);
    return options;
  }

  // Starts one execution of RequestIn(dir()).
  std::unique_ptr<Execution> Start(SlurmExecutor::Options options) const {
    SlurmExecutor executor(std::move(options));
    Result<std::unique_ptr<Execution>> execution = executor.Start(RequestIn(dir_));
    EXPECT_TRUE(execution.ok()) << execution.status().ToString();
    return execution.ok() ? std::move(execution).value() : nullptr;
  }
  std::unique_ptr<Execution> Start() const { return Start(Options()); }

 private:
  TempDir dir_;
};

// A fake tool whose output follows a script: call N prints line N of
// `lines` (the last line once they run out).
std::string Sequence(const FakeSlurm& slurm, const std::string& name, const std::vector<std::string>& lines) {
  std::string counter = slurm.dir() / (name + ".count");
  std::string body =
      "n=$(cat " + counter + " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " + counter + "\n";
  body += "case $n in\n";
  for (size_t i = 0; i < lines.size(); ++i) {
    body += (i + 1 == lines.size() ? std::string("*") : std::to_string(i + 1)) + ") " + lines[i] + ";;\n";
  }
  return body + "esac\n";
}

TEST(SlurmExecutorTest, StartSubmitsTheBatchScriptNextToStdout) {
  FakeSlurm slurm;
  SlurmExecutor::Options options = slurm.Options();
  options.extra_sbatch_args = {"--account=ml"};
  std::unique_ptr<Execution> execution = slurm.Start(options);
  ASSERT_NE(execution, nullptr);
  EXPECT_EQ(execution->id(), "42");
  EXPECT_EQ(execution->Describe(), "slurm job 42");

  std::string script_path = slurm.dir() / "logs/kiln-feedc0de.sbatch";
  EXPECT_EQ(slurm.Calls(), "sbatch --parsable --account=ml " + script_path + "\n");
  std::string script = ReadFile(script_path);
  EXPECT_THAT(script, HasSubstr("#SBATCH --job-name=kiln-feedc0de\n"));
  EXPECT_THAT(script, HasSubstr("exec /usr/bin/bwrap --args 3 -- sh -c 'echo hello' 3< <(printf"));
  EXPECT_THAT(script, HasSubstr("  --ro-bind \\\n  " + slurm.dir() / "snapshot" + " \\\n  /snapshot \\\n"));
  // The output files exist before the job starts, as with the local executor.
  EXPECT_TRUE(std::filesystem::exists(slurm.dir() / "logs/stdout.txt"));
  EXPECT_TRUE(std::filesystem::exists(slurm.dir() / "logs/stderr.txt"));
}

TEST(SlurmExecutorTest, RefusedSubmissionIsUnavailableWithSbatchsMessage) {
  FakeSlurm slurm;
  slurm.Tool(
      "sbatch",
      "echo 'sbatch: error: Batch job submission failed: Invalid partition name specified' >&2; exit 1");
  SlurmExecutor executor(slurm.Options());
  Result<std::unique_ptr<Execution>> execution = executor.Start(RequestIn(slurm.dir()));
  ASSERT_FALSE(execution.ok());
  EXPECT_EQ(execution.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(
      execution.status().message(),
      "sbatch refused the job: sbatch: error: Batch job submission failed: Invalid partition name specified");
}

TEST(SlurmExecutorTest, MissingSbatchIsAFailedPrecondition) {
  FakeSlurm slurm;
  SlurmExecutor::Options options = slurm.Options();
  options.sbatch_path = "kiln-test-no-sbatch";
  SlurmExecutor executor(options);
  Result<std::unique_ptr<Execution>> execution = executor.Start(RequestIn(slurm.dir()));
  ASSERT_FALSE(execution.ok());
  EXPECT_EQ(execution.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      execution.status().message(),
      "kiln-test-no-sbatch is not installed: apt-get install slurm-client (program 'kiln-test-no-sbatch' not "
      "found on PATH)");
}

TEST(SlurmExecutorTest, BadRequestIsRefusedBeforeSubmitting) {
  FakeSlurm slurm;
  ExecutionRequest request = RequestIn(slurm.dir());
  request.work_dir = "relative/work";
  SlurmExecutor executor(slurm.Options());
  Result<std::unique_ptr<Execution>> execution = executor.Start(request);
  ASSERT_FALSE(execution.ok());
  EXPECT_EQ(execution.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(execution.status().message(), HasSubstr("work_dir: "));
  EXPECT_EQ(slurm.Calls(), "");
}

TEST(SlurmExecutorTest, WaitPollsUntilTheJobLeavesTheQueue) {
  FakeSlurm slurm;
  slurm.Tool("squeue",
             Sequence(slurm, "squeue", {"echo 'PENDING Resources'", "echo 'RUNNING None'", "true"}));
  std::unique_ptr<Execution> execution = slurm.Start();
  ASSERT_NE(execution, nullptr);
  Result<ExecutionResult> result = execution->Wait();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->outcome, ExecutionOutcome::kSucceeded);
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->wall_seconds, 3);
  EXPECT_THAT(slurm.Calls(), HasSubstr("squeue -h -j 42 -o %T %r\nsqueue -h -j 42 -o %T %r\n"
                                       "squeue -h -j 42 -o %T %r\nscontrol show job -o 42\n"));
}

TEST(SlurmExecutorTest, WaitAsksAgainWhileTheJobIsCompleting) {
  FakeSlurm slurm;
  slurm.Tool("scontrol", Sequence(slurm, "scontrol",
                                  {"echo 'JobId=42 JobState=COMPLETING Reason=None ExitCode=0:0'",
                                   "echo 'JobId=42 JobState=FAILED Reason=NonZeroExitCode ExitCode=4:0'"}));
  slurm.Tool("squeue", "true");
  std::unique_ptr<Execution> execution = slurm.Start();
  ASSERT_NE(execution, nullptr);
  Result<ExecutionResult> result = execution->Wait();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->outcome, ExecutionOutcome::kFailed);
  EXPECT_EQ(result->exit_code, 4);
  EXPECT_EQ(result->message, "exit status 4 (Slurm job state FAILED)");
}

TEST(SlurmExecutorTest, FallsBackToSacctWhenScontrolHasForgottenTheJob) {
  FakeSlurm slurm;
  slurm.Tool("squeue", "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1");
  slurm.Tool("scontrol", "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1");
  slurm.Tool("sacct", "echo 'TIMEOUT|0:15|00:05:01'");
  std::unique_ptr<Execution> execution = slurm.Start();
  ASSERT_NE(execution, nullptr);
  Result<ExecutionResult> result = execution->Wait();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->outcome, ExecutionOutcome::kTimedOut);
  EXPECT_EQ(result->wall_seconds, 301);
  EXPECT_THAT(slurm.Calls(), HasSubstr("sacct -n -P -X -j 42 -o State,ExitCode,Elapsed\n"));
}

TEST(SlurmExecutorTest, ForgottenJobWithoutAccountingIsAnError) {
  FakeSlurm slurm;
  slurm.Tool("scontrol", "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1");
  std::unique_ptr<Execution> execution = slurm.Start();
  ASSERT_NE(execution, nullptr);
  Result<ExecutionResult> result = execution->Wait();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(result.status().message(),
            "slurm job 42 has ended, but Slurm no longer knows how: scontrol: slurm_load_jobs error: Invalid "
            "job id "
            "specified; sacct: Slurm accounting storage is disabled");
}

TEST(SlurmExecutorTest, UnreachableControllerIsAnErrorAfterTheLimit) {
  FakeSlurm slurm;
  slurm.Tool(
      "squeue",
      "echo 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)' >&2; exit 1");
  SlurmExecutor::Options options = slurm.Options();
  options.unreachable_limit = std::chrono::milliseconds(0);
  std::unique_ptr<Execution> execution = slurm.Start(options);
  ASSERT_NE(execution, nullptr);
  Result<ExecutionResult> result = execution->Wait();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(
      result.status().message(),
      "cannot follow slurm job 42: squeue has failed for 0 s: slurm_load_jobs error: Unable to contact slurm "
      "controller (connect failure)");
}

TEST(SlurmExecutorTest, ShortOutagesAreRidden) {
  FakeSlurm slurm;
  slurm.Tool("squeue", Sequence(slurm, "squeue",
                                {"echo 'Unable to contact slurm controller' >&2; exit 1",
                                 "echo 'RUNNING None'", "true"}));
  std::unique_ptr<Execution> execution = slurm.Start();  // default limit: 5 minutes
  ASSERT_NE(execution, nullptr);
  Result<ExecutionResult> result = execution->Wait();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->outcome, ExecutionOutcome::kSucceeded);
}

TEST(SlurmExecutorTest, CancelsAJobThatCanNeverStart) {
  FakeSlurm slurm;
  // squeue shows the job pending for ever until scancel has been called.
  slurm.Tool("squeue", "grep -q scancel " + slurm.dir() / "calls" + " || echo 'PENDING PartitionConfig'");
  slurm.Tool("scontrol", "echo 'JobId=42 JobState=CANCELLED Reason=PartitionConfig ExitCode=0:0'");
  ExecutionRequest request = RequestIn(slurm.dir());
  request.resources.cpus = 64;
  SlurmExecutor::Options options = slurm.Options();
  options.partition = "debug";
  SlurmExecutor executor(options);
  Result<std::unique_ptr<Execution>> execution = executor.Start(request);
  ASSERT_TRUE(execution.ok()) << execution.status().ToString();
  Result<ExecutionResult> result = (*execution)->Wait();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->outcome, ExecutionOutcome::kFailed);
  EXPECT_EQ(
      result->message,
      "Slurm cannot run slurm job 42 as requested: the request exceeds what the nodes of its partition have "
      "(CPUs, memory or GRES) (pending reason PartitionConfig; asked for cpus=64, partition=debug); Kiln "
      "cancelled it");
  EXPECT_THAT(slurm.Calls(), HasSubstr("scancel 42\n"));
}

TEST(SlurmExecutorTest, CancelScancelsAndWaitReportsCancelled) {
  FakeSlurm slurm;
  slurm.Tool("scontrol", "echo 'JobId=42 JobState=CANCELLED Reason=None ExitCode=0:15'");
  std::unique_ptr<Execution> execution = slurm.Start();
  ASSERT_NE(execution, nullptr);
  ASSERT_TRUE(execution->Cancel().ok());
  ASSERT_TRUE(execution->Cancel().ok());  // any number of times
  Result<ExecutionResult> result = execution->Wait();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->outcome, ExecutionOutcome::kCancelled);
  EXPECT_EQ(result->signal, 15);
  EXPECT_THAT(slurm.Calls(), HasSubstr("scancel 42\nscancel 42\n"));
}

TEST(SlurmExecutorTest, CancelWakesAWaitingPoller) {
  FakeSlurm slurm;
  slurm.Tool("squeue", "grep -q scancel " + slurm.dir() / "calls" + " || echo 'RUNNING None'");
  slurm.Tool("scontrol", "echo 'JobId=42 JobState=CANCELLED Reason=None ExitCode=0:15'");
  SlurmExecutor::Options options = slurm.Options();
  options.poll_interval = std::chrono::hours(1);  // only Cancel() ends the pause
  std::unique_ptr<Execution> execution = slurm.Start(options);
  ASSERT_NE(execution, nullptr);
  std::thread canceller([&] {
    while (ReadFile(slurm.dir().path() / "calls").find("squeue") == std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(execution->Cancel().ok());
  });
  Result<ExecutionResult> result = execution->Wait();
  canceller.join();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->outcome, ExecutionOutcome::kCancelled);
}

TEST(SlurmExecutorTest, CancelOfAFinishedJobIsFine) {
  FakeSlurm slurm;
  slurm.Tool(
      "scancel",
      "echo 'scancel: error: Kill job error on job id 42: Job/step already completing or completed' >&2; "
      "exit 1");
  std::unique_ptr<Execution> execution = slurm.Start();
  ASSERT_NE(execution, nullptr);
  EXPECT_TRUE(execution->Cancel().ok());
  // It completed before scancel reached it: Wait() says so.
  Result<ExecutionResult> result = execution->Wait();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, ExecutionOutcome::kSucceeded);
}

TEST(SlurmExecutorTest, FailedCancelIsUnavailable) {
  FakeSlurm slurm;
  slurm.Tool("scancel", "echo 'scancel: error: Unable to contact slurm controller' >&2; exit 1");
  std::unique_ptr<Execution> execution = slurm.Start();
  ASSERT_NE(execution, nullptr);
  Status status = execution->Cancel();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(status.message(),
            "scancel could not cancel slurm job 42: scancel: error: Unable to contact slurm controller");
}

TEST(SlurmExecutorTest, WaitRunsOnce) {
  FakeSlurm slurm;
  std::unique_ptr<Execution> execution = slurm.Start();
  ASSERT_NE(execution, nullptr);
  ASSERT_TRUE(execution->Wait().ok());
  Result<ExecutionResult> again = execution->Wait();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
}

// --- Against a real cluster (scripts/with-slurm) ------------------------------

class SlurmClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* enabled = std::getenv("KILN_TEST_SLURM");
    if (enabled == nullptr || std::string(enabled) != "1") {
      GTEST_SKIP() << "needs a Slurm cluster: run under scripts/with-slurm (which sets KILN_TEST_SLURM=1)";
    }
    Result<std::string> bwrap = FindBubblewrap();
    ASSERT_TRUE(bwrap.ok()) << bwrap.status().ToString();
  }

  // Starts `command` (sh -c) in the sandbox on the cluster.
  std::unique_ptr<Execution> Start(const std::string& command, ExecutionRequest request) {
    request.argv = {"sh", "-c", command};
    Result<std::unique_ptr<Execution>> execution = executor_.Start(request);
    EXPECT_TRUE(execution.ok()) << execution.status().ToString();
    return execution.ok() ? std::move(execution).value() : nullptr;
  }

  ExecutionResult RunJob(const std::string& command, ExecutionRequest request) {
    std::unique_ptr<Execution> execution = Start(command, std::move(request));
    if (execution == nullptr) return {};
    Result<ExecutionResult> result = execution->Wait();
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : ExecutionResult{};
  }

  static SlurmExecutor::Options ClusterOptions() {
    SlurmExecutor::Options options;
    options.poll_interval = std::chrono::milliseconds(200);
    return options;
  }

  TempDir dir_;
  SlurmExecutor executor_{ClusterOptions()};
};

TEST_F(SlurmClusterTest, EchoSucceeds) {
  ExecutionRequest request = RequestIn(dir_);
  ExecutionResult result = RunJob("echo hello", request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << result.message;
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(ReadFile(request.stdout_path), "hello\n");
}

TEST_F(SlurmClusterTest, RunsInTheSameSandboxAsLocally) {
  ExecutionRequest request = RequestIn(dir_);
  request.env = {{"KILN_TEST_VALUE", "a b 'c' $d"}};
  ExecutionResult result = RunJob(
      "echo \"$KILN_TEST_VALUE\"; pwd; echo \"$HOME\"; env | grep -c '^SLURM_' || true; "
      "touch /snapshot/x 2>/dev/null && echo snapshot-writable || echo snapshot-read-only; "
      "echo out > /work/result.txt; echo to-stderr >&2",
      request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << result.message;
  EXPECT_EQ(ReadFile(request.stdout_path), "a b 'c' $d\n/snapshot\n/work\n0\nsnapshot-read-only\n");
  EXPECT_EQ(ReadFile(request.stderr_path), "to-stderr\n");
  EXPECT_EQ(ReadFile(dir_.path() / "work/result.txt"), "out\n");
}

TEST_F(SlurmClusterTest, NonZeroExitFails) {
  ExecutionResult result = RunJob("exit 4", RequestIn(dir_));
  EXPECT_EQ(result.outcome, ExecutionOutcome::kFailed);
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(result.message, "exit status 4 (Slurm job state FAILED)");
}

TEST_F(SlurmClusterTest, CancelStopsARunningJob) {
  ExecutionRequest request = RequestIn(dir_);
  std::unique_ptr<Execution> execution = Start("echo started; exec sleep 300", request);
  ASSERT_NE(execution, nullptr);
  // Until the job runs (bounded: a job that never starts fails the test).
  for (int i = 0; i < 600 && ReadFile(request.stdout_path).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(ReadFile(request.stdout_path), "started\n") << "the job did not start within a minute";
  ASSERT_TRUE(execution->Cancel().ok());
  Result<ExecutionResult> result = execution->Wait();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->outcome, ExecutionOutcome::kCancelled) << result->message;
}

TEST_F(SlurmClusterTest, MoreCpusThanAnyNodeIsAClearFailure) {
  ExecutionRequest request = RequestIn(dir_);
  request.resources.cpus = 64;
  ExecutionResult result = RunJob("echo never", request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kFailed);
  EXPECT_THAT(result.message, StartsWith("Slurm cannot run slurm job "));
  EXPECT_THAT(result.message, HasSubstr("the request exceeds what the nodes of its partition have"));
  EXPECT_THAT(result.message, HasSubstr("asked for cpus=64"));
}

TEST_F(SlurmClusterTest, MoreMemoryThanAnyNodeIsRefusedAtSubmission) {
  ExecutionRequest request = RequestIn(dir_);
  request.argv = {"true"};
  request.resources.memory_bytes = int64_t{1} << 50;  // 1 PiB
  Result<std::unique_ptr<Execution>> execution = executor_.Start(request);
  ASSERT_FALSE(execution.ok());
  EXPECT_EQ(execution.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(execution.status().message(), StartsWith("sbatch refused the job: sbatch: error: "));
  EXPECT_THAT(execution.status().message(), HasSubstr("Memory specification can not be satisfied"));
}

TEST_F(SlurmClusterTest, OutputPathsMayHoldSpacesQuotesAndPercents) {
  ExecutionRequest request = RequestIn(dir_, "logs %j \"q\" #1");
  ExecutionResult result = RunJob("echo hello", request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << result.message;
  EXPECT_EQ(ReadFile(request.stdout_path), "hello\n");
}

TEST_F(SlurmClusterTest, MemoryAndTimeLimitsAreAccepted) {
  ExecutionRequest request = RequestIn(dir_);
  request.resources.memory_bytes = int64_t{256} << 20;
  request.resources.time_limit_seconds = 90;
  ExecutionResult result = RunJob("echo fine", request);
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded) << result.message;
  EXPECT_EQ(ReadFile(request.stdout_path), "fine\n");
}

}  // namespace
}  // namespace kiln::training
