#include "training/slurm_job_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::training {
namespace {

using ::testing::HasSubstr;

// Real `scontrol show job -o` output of Slurm 22.05 (a finished job).
constexpr const char* kCompleted =
    "JobId=1 JobName=kiln-0123abcd UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 "
    "Account=(null) QOS=(null) JobState=COMPLETED Reason=None Dependency=(null) Requeue=0 Restarts=0 "
    "BatchFlag=1 "
    "Reboot=0 ExitCode=0:0 RunTime=00:01:05 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-27T02:20:54 "
    "Partition=debug NodeList=vm NumCPUs=1 WorkDir=/tmp/a b JobState=FAILED StdOut=/tmp/a b/out.txt Power=\n";

TEST(SlurmJobStateTest, ParsesScontrol) {
  Result<SlurmJobStatus> status = ParseScontrolJob(kCompleted);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->state, "COMPLETED");  // the first JobState=, not the one in a path
  EXPECT_EQ(status->reason, "");
  EXPECT_EQ(status->exit_code, 0);
  EXPECT_EQ(status->signal, 0);
  EXPECT_EQ(status->run_seconds, 65);
  EXPECT_EQ(status->time_limit_seconds, std::nullopt);

  status = ParseScontrolJob(
      "JobId=2 JobState=FAILED Reason=NonZeroExitCode ExitCode=4:0 RunTime=00:00:01 "
      "TimeLimit=00:05:00");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, "FAILED");
  EXPECT_EQ(status->reason, "NonZeroExitCode");
  EXPECT_EQ(status->exit_code, 4);
  EXPECT_EQ(status->time_limit_seconds, 300);

  status = ParseScontrolJob("JobId=3 JobState=CANCELLED Reason=None ExitCode=0:15");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->signal, 15);
  EXPECT_EQ(status->run_seconds, std::nullopt);
}

TEST(SlurmJobStateTest, UnreadableScontrolOutputSaysWhatWasExpected) {
  Result<SlurmJobStatus> status = ParseScontrolJob("JobId=3 JobState=RUNNING ExitCode=zero");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().message(),
            "cannot read scontrol's output (expected JobState=… ExitCode=N:S): 'JobId=3 JobState=RUNNING "
            "ExitCode=zero'");
  EXPECT_FALSE(ParseScontrolJob("").ok());
  EXPECT_FALSE(ParseScontrolJob("MyJobState=RUNNING ExitCode=0:0").ok());
}

TEST(SlurmJobStateTest, ParsesSacct) {
  Result<SlurmJobStatus> status = ParseSacctJob("CANCELLED by 0|0:15|00:00:03\n");
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->state, "CANCELLED");
  EXPECT_EQ(status->signal, 15);
  EXPECT_EQ(status->run_seconds, 3);

  status = ParseSacctJob("FAILED|4:0|1-00:00:02\nFAILED|4:0|1-00:00:02\n");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->exit_code, 4);
  EXPECT_EQ(status->run_seconds, 86402);

  Result<SlurmJobStatus> nothing = ParseSacctJob("\n");
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.status().code(), StatusCode::kNotFound);
  Result<SlurmJobStatus> garbage = ParseSacctJob("COMPLETED 0:0");
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.status().message(), HasSubstr("expected State|ExitCode|Elapsed"));
}

TEST(SlurmJobStateTest, ParsesSqueue) {
  Result<std::optional<SlurmJobStatus>> pending = ParseSqueueLine("PENDING PartitionConfig\n");
  ASSERT_TRUE(pending.ok());
  ASSERT_TRUE(pending->has_value());
  EXPECT_EQ((*pending)->state, "PENDING");
  EXPECT_EQ((*pending)->reason, "PartitionConfig");

  Result<std::optional<SlurmJobStatus>> gone = ParseSqueueLine("");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());

  EXPECT_FALSE(ParseSqueueLine("slurm_load_jobs error").ok());
}

TEST(SlurmJobStateTest, ParsesSbatchJobIds) {
  EXPECT_EQ(*ParseSbatchJobId("17\n"), "17");
  EXPECT_EQ(*ParseSbatchJobId("18;cluster\n"), "18");
  Result<std::string> none = ParseSbatchJobId("Submitted batch job\n");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(none.status().message(),
            "sbatch printed no job id (expected a number, got 'Submitted batch job')");
}

TEST(SlurmJobStateTest, ParsesDurations) {
  EXPECT_EQ(*ParseSlurmDuration("00:00:01"), 1);
  EXPECT_EQ(*ParseSlurmDuration("01:02:03"), 3723);
  EXPECT_EQ(*ParseSlurmDuration("05:30"), 330);  // MM:SS
  EXPECT_EQ(*ParseSlurmDuration("5"), 300);      // minutes
  EXPECT_EQ(*ParseSlurmDuration("2-03"), 2 * 86400 + 3 * 3600);
  EXPECT_EQ(*ParseSlurmDuration("1-00:00:02"), 86402);
  EXPECT_EQ(*ParseSlurmDuration("UNLIMITED"), std::nullopt);
  EXPECT_EQ(*ParseSlurmDuration("Partition_Limit"), std::nullopt);
  Result<std::optional<int64_t>> bad = ParseSlurmDuration("1:x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "not a Slurm duration: '1:x'");
  EXPECT_FALSE(ParseSlurmDuration("1:2:3:4").ok());
}

TEST(SlurmJobStateTest, KnowsWhichStatesAreFinal) {
  for (const char* state : {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"}) {
    EXPECT_TRUE(IsFinalSlurmState(state)) << state;
  }
  for (const char* state : {"PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "REQUEUED", ""}) {
    EXPECT_FALSE(IsFinalSlurmState(state)) << state;
  }
}

SlurmJobStatus Status(std::string state, int exit_code, int signal) {
  SlurmJobStatus status;
  status.state = std::move(state);
  status.exit_code = exit_code;
  status.signal = signal;
  status.run_seconds = 7;
  return status;
}

SlurmJobEnd End(bool cancel_requested = false) {
  SlurmJobEnd end;
  end.job_id = "42";
  end.cancel_requested = cancel_requested;
  end.fallback_wall_seconds = 99;
  return end;
}

TEST(SlurmJobStateTest, CompletedSucceeds) {
  ExecutionResult result = SlurmExecutionResult(Status("COMPLETED", 0, 0), End());
  EXPECT_EQ(result.outcome, ExecutionOutcome::kSucceeded);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.message, "exit status 0");
  EXPECT_EQ(result.wall_seconds, 7);
}

TEST(SlurmJobStateTest, FailedCarriesTheExitCodeOrSignal) {
  ExecutionResult result = SlurmExecutionResult(Status("FAILED", 4, 0), End());
  EXPECT_EQ(result.outcome, ExecutionOutcome::kFailed);
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(result.message, "exit status 4 (Slurm job state FAILED)");

  result = SlurmExecutionResult(Status("FAILED", 0, 9), End());
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_EQ(result.signal, 9);
  EXPECT_EQ(result.message, "killed by signal 9 (Slurm job state FAILED)");
}

TEST(SlurmJobStateTest, TimeoutIsTimedOutWithTheLimit) {
  SlurmJobStatus status = Status("TIMEOUT", 0, 15);
  status.time_limit_seconds = 120;
  ExecutionResult result = SlurmExecutionResult(status, End());
  EXPECT_EQ(result.outcome, ExecutionOutcome::kTimedOut);
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_EQ(result.message, "Slurm time limit of 2 min exceeded");
  status.time_limit_seconds.reset();
  EXPECT_EQ(SlurmExecutionResult(status, End()).message, "Slurm time limit exceeded");
}

TEST(SlurmJobStateTest, CancelledIsOursOnlyAfterCancel) {
  ExecutionResult ours = SlurmExecutionResult(Status("CANCELLED", 0, 15), End(/*cancel_requested=*/true));
  EXPECT_EQ(ours.outcome, ExecutionOutcome::kCancelled);
  EXPECT_EQ(ours.message, "cancelled (slurm job 42 cancelled with scancel)");

  ExecutionResult theirs = SlurmExecutionResult(Status("CANCELLED", 0, 15), End());
  EXPECT_EQ(theirs.outcome, ExecutionOutcome::kFailed);
  EXPECT_EQ(theirs.message, "slurm job 42 was cancelled outside Kiln (by scancel or an administrator)");

  SlurmJobEnd unrunnable = End(/*cancel_requested=*/true);
  unrunnable.unrunnable = "Slurm cannot run slurm job 42 as requested";
  ExecutionResult refused = SlurmExecutionResult(Status("CANCELLED", 0, 0), unrunnable);
  EXPECT_EQ(refused.outcome, ExecutionOutcome::kFailed);
  EXPECT_EQ(refused.message, "Slurm cannot run slurm job 42 as requested");
}

TEST(SlurmJobStateTest, OtherEndsFailWithTheStateInTheMessage) {
  ExecutionResult oom = SlurmExecutionResult(Status("OUT_OF_MEMORY", 0, 9), End());
  EXPECT_EQ(oom.outcome, ExecutionOutcome::kFailed);
  EXPECT_EQ(oom.message, "Slurm stopped slurm job 42: out of memory (killed by signal 9)");

  SlurmJobStatus node_fail = Status("NODE_FAIL", 0, 0);
  node_fail.reason = "NodeDown";
  node_fail.run_seconds.reset();
  ExecutionResult result = SlurmExecutionResult(node_fail, End());
  EXPECT_EQ(result.outcome, ExecutionOutcome::kFailed);
  EXPECT_EQ(result.message, "slurm job 42 ended in Slurm state NODE_FAIL (exit status 0, reason NodeDown)");
  EXPECT_EQ(result.wall_seconds, 99);  // Slurm gave no run time
}

TEST(SlurmJobStateTest, DescribesUnrunnableReasons) {
  EXPECT_EQ(DescribeSlurmReason("PartitionConfig"),
            "the request exceeds what the nodes of its partition have (CPUs, memory or GRES)");
  EXPECT_EQ(DescribeSlurmReason("Odd"), "Slurm reason Odd");
  for (std::string_view reason : kSlurmUnrunnableReasons) {
    EXPECT_NE(DescribeSlurmReason(reason), "Slurm reason " + std::string(reason)) << reason;
  }
}

}  // namespace
}  // namespace kiln::training
