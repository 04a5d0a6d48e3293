#include "training/slurm_batch_script.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "training/slurm_testing.h"
#include "training/subprocess.h"

namespace kiln::training {
namespace {

using slurm_testing::ReadFile;
using slurm_testing::TempDir;
using slurm_testing::WriteScript;
using ::testing::HasSubstr;
using ::testing::Not;

ExecutionRequest Request() {
  ExecutionRequest request;
  request.run_id = "0123456789abcdef0123456789abcdef";
  request.argv = {"python3", "train.py"};
  request.snapshot_dir = "/runs/r1/snapshot";
  request.work_dir = "/runs/r1/work";
  request.stdout_path = "/runs/r1/logs/stdout.txt";
  request.stderr_path = "/runs/r1/logs/stderr.txt";
  return request;
}

SandboxCommand Sandbox(const ExecutionRequest& request) {
  SandboxCommand sandbox;
  sandbox.options = {"--unshare-net", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin"};
  sandbox.command = request.argv;
  return sandbox;
}

std::string Script(const ExecutionRequest& request, std::string_view default_partition = "") {
  Result<std::string> script =
      BuildSlurmBatchScript(request, Sandbox(request), "/usr/bin/bwrap", default_partition);
  EXPECT_TRUE(script.ok()) << script.status().ToString();
  return script.ok() ? *script : "";
}

TEST(SlurmBatchScriptTest, DescribesTheJobInSbatchLines) {
  ExecutionRequest request = Request();
  request.resources.cpus = 4;
  request.resources.memory_bytes = (512LL << 20) + 1;  // rounded up to 513M
  request.resources.time_limit_seconds = 90;           // rounded up to 2 minutes
  request.resources.partition = "gpu";
  request.resources.gres = "gpu:1";
  std::string script = Script(request, "debug");

  EXPECT_EQ(script.substr(0, 12), "#!/bin/bash\n");
  EXPECT_THAT(script, HasSubstr("#SBATCH --job-name=kiln-01234567\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --output=\"/runs/r1/logs/stdout.txt\"\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --error=\"/runs/r1/logs/stderr.txt\"\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --open-mode=truncate\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --chdir=\"/runs/r1/work\"\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --nodes=1\n#SBATCH --ntasks=1\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --cpus-per-task=4\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --mem=513M\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --time=2\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --partition=\"gpu\"\n"));  // the request's, not the default
  EXPECT_THAT(script, HasSubstr("#SBATCH --gres=\"gpu:1\"\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --no-requeue\n"));
  EXPECT_THAT(script, HasSubstr("ulimit -v " + std::to_string(((512LL << 20) + 1) / 1024) + "\n"));
  EXPECT_THAT(script,
              HasSubstr("exec /usr/bin/bwrap --args 3 -- python3 train.py 3< <(printf '%s\\0' \\\n"
                        "  --unshare-net \\\n  --clearenv \\\n  --setenv \\\n  PATH \\\n  /usr/bin:/bin)\n"));
}

TEST(SlurmBatchScriptTest, LeavesOutLimitsThatAreNotSet) {
  ExecutionRequest request = Request();
  request.resources.cpus = 0;
  std::string script = Script(request);
  EXPECT_THAT(script, Not(HasSubstr("--cpus-per-task")));
  EXPECT_THAT(script, Not(HasSubstr("--mem")));
  EXPECT_THAT(script, Not(HasSubstr("--time")));
  EXPECT_THAT(script, Not(HasSubstr("--partition")));
  EXPECT_THAT(script, Not(HasSubstr("--gres")));
  EXPECT_THAT(script, Not(HasSubstr("ulimit")));
}

TEST(SlurmBatchScriptTest, UsesTheDefaultPartitionWhenTheRequestNamesNone) {
  EXPECT_THAT(Script(Request(), "debug"), HasSubstr("#SBATCH --partition=\"debug\"\n"));
}

TEST(SlurmBatchScriptTest, QuotesPathsForSbatchAndEscapesFilenamePatterns) {
  ExecutionRequest request = Request();
  request.stdout_path = "/runs/a b/100%/\"q\"\\out.txt";
  request.work_dir = "/runs/a b/#w";
  std::string script = Script(request);
  EXPECT_THAT(script, HasSubstr("#SBATCH --output=\"/runs/a b/100%%/\\\"q\\\"\\\\out.txt\"\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --chdir=\"/runs/a b/#w\"\n"));
}

TEST(SlurmBatchScriptTest, RefusesLineBreaksSlurmCannotTake) {
  ExecutionRequest request = Request();
  request.stderr_path = "/runs/r1/logs/err\n#SBATCH --partition=other";
  Result<std::string> script = BuildSlurmBatchScript(request, Sandbox(request), "/usr/bin/bwrap", "");
  ASSERT_FALSE(script.ok());
  EXPECT_EQ(script.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(script.status().message(), HasSubstr("stderr_path: Slurm cannot take a line break in"));

  request = Request();
  request.resources.gres = "gpu:1\nrm -rf /";
  script = BuildSlurmBatchScript(request, Sandbox(request), "/usr/bin/bwrap", "");
  ASSERT_FALSE(script.ok());
  EXPECT_THAT(script.status().message(), HasSubstr("resources.gres: Slurm cannot take a line break"));
}

TEST(SlurmBatchScriptTest, JobNamesAreShortAndSafe) {
  EXPECT_EQ(SlurmJobName("0123456789abcdef"), "kiln-01234567");
  EXPECT_EQ(SlurmJobName("a b;c$d"), "kiln-abcd");
  EXPECT_EQ(SlurmJobName(""), "kiln-run");
  EXPECT_EQ(SlurmJobName("$$$"), "kiln-run");
}

TEST(SlurmBatchScriptTest, RoundsLimitsUpToSlurmUnits) {
  EXPECT_EQ(SlurmTimeLimitMinutes(0), 0);
  EXPECT_EQ(SlurmTimeLimitMinutes(1), 1);
  EXPECT_EQ(SlurmTimeLimitMinutes(60), 1);
  EXPECT_EQ(SlurmTimeLimitMinutes(61), 2);
  EXPECT_EQ(SlurmMemoryMegabytes(0), 0);
  EXPECT_EQ(SlurmMemoryMegabytes(1), 1);
  EXPECT_EQ(SlurmMemoryMegabytes(1 << 20), 1);
  EXPECT_EQ(SlurmMemoryMegabytes((1 << 20) + 1), 2);
  EXPECT_EQ(SlurmMemoryMegabytes(4LL << 30), 4096);
}

TEST(SlurmBatchScriptTest, QuotingHelpers) {
  EXPECT_EQ(QuoteSbatchValue("plain"), "\"plain\"");
  EXPECT_EQ(QuoteSbatchValue("a \"b\" \\c"), "\"a \\\"b\\\" \\\\c\"");
  EXPECT_EQ(QuoteSbatchValue(""), "\"\"");
  EXPECT_EQ(EscapeSlurmFilenamePattern("/x/%j-100%%"), "/x/%%j-100%%%%");
}

// The script, run by bash with a fake bwrap, hands bwrap exactly the words
// it was built from: the command on its command line and the options on
// descriptor 3.
TEST(SlurmBatchScriptTest, BashHandsBwrapTheExactWords) {
  TempDir dir;
  std::string fake_bwrap = WriteScript(dir.path() / "bwrap",
                                       "printf '%s\\0' \"$@\" > \"$(dirname \"$0\")/argv\"\n"
                                       "cat <&3 > \"$(dirname \"$0\")/options\"\n");
  const std::vector<std::string> tricky = {
      "a b",         "it's", "",           "$HOME", "`id`",  "$(id)", "new\nline",
      "back\\slash", "*",    "semi;colon", "%j",    "\"q\"", "#",
  };
  ExecutionRequest request = Request();
  request.argv = {"python3", "-c"};
  request.argv.insert(request.argv.end(), tricky.begin(), tricky.end());
  SandboxCommand sandbox;
  sandbox.options = {"--setenv", "SECRET"};
  sandbox.options.insert(sandbox.options.end(), tricky.begin(), tricky.end());
  sandbox.command = request.argv;
  Result<std::string> script = BuildSlurmBatchScript(request, sandbox, fake_bwrap, "");
  ASSERT_TRUE(script.ok()) << script.status().ToString();
  slurm_testing::WriteFile(dir.path() / "job.sh", *script);

  Result<SubprocessResult> run = RunSubprocess({"bash", dir / "job.sh"});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_TRUE(run->succeeded()) << run->stderr_text;

  auto split = [](const std::string& text) {
    std::vector<std::string> words;
    size_t start = 0;
    for (size_t end; (end = text.find('\0', start)) != std::string::npos; start = end + 1) {
      words.push_back(text.substr(start, end - start));
    }
    return words;
  };
  std::vector<std::string> expected_argv = {"--args", "3", "--"};
  expected_argv.insert(expected_argv.end(), request.argv.begin(), request.argv.end());
  EXPECT_EQ(split(ReadFile(dir.path() / "argv")), expected_argv);
  EXPECT_EQ(split(ReadFile(dir.path() / "options")), sandbox.options);
}

}  // namespace
}  // namespace kiln::training
