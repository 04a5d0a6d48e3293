#include "training/subprocess.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace kiln::training {
namespace {

using ::testing::HasSubstr;

SubprocessResult RunOk(const std::vector<std::string>& argv, SubprocessOptions options = {}) {
  Result<SubprocessResult> result = RunSubprocess(argv, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : SubprocessResult{};
}

TEST(SubprocessTest, CapturesStdoutStderrAndExitStatus) {
  SubprocessResult result = RunOk({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.signal, 0);
  EXPECT_FALSE(result.succeeded());
  EXPECT_EQ(result.stdout_text, "out\n");
  EXPECT_EQ(result.stderr_text, "err\n");
  EXPECT_EQ(result.DescribeEnd(), "exit status 3");
}

TEST(SubprocessTest, PassesArgumentsWithoutAShell) {
  SubprocessResult result = RunOk({"printf", "%s|", "a b", "$HOME", "*", "it's", ""});
  EXPECT_TRUE(result.succeeded());
  EXPECT_EQ(result.stdout_text, "a b|$HOME|*|it's||");
}

TEST(SubprocessTest, StdinIsEmpty) {
  SubprocessResult result = RunOk({"cat"});
  EXPECT_TRUE(result.succeeded());
  EXPECT_EQ(result.stdout_text, "");
}

TEST(SubprocessTest, ReportsTheTerminatingSignal) {
  SubprocessResult result = RunOk({"sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_EQ(result.signal, 15);
  EXPECT_THAT(result.DescribeEnd(), HasSubstr("killed by signal 15"));
}

TEST(SubprocessTest, ReadsLargeOutputOnBothStreams) {
  // Both pipes must be drained at once, or the child blocks on a full pipe.
  SubprocessResult result = RunOk(
      {"sh", "-c", "head -c 300000 /dev/zero >&2; head -c 500000 /dev/zero; head -c 300000 /dev/zero >&2"});
  EXPECT_TRUE(result.succeeded());
  EXPECT_EQ(result.stdout_text.size(), 500000u);
  EXPECT_EQ(result.stderr_text.size(), 600000u);
}

TEST(SubprocessTest, DropsOutputBeyondTheLimit) {
  SubprocessOptions options;
  options.max_output_bytes = 1000;
  SubprocessResult result = RunOk({"head", "-c", "100000", "/dev/zero"}, options);
  EXPECT_TRUE(result.succeeded());
  EXPECT_EQ(result.stdout_text.size(), 1000u);
  EXPECT_TRUE(result.stdout_truncated);
  EXPECT_FALSE(result.stderr_truncated);
}

TEST(SubprocessTest, MissingProgramIsNotFound) {
  Result<SubprocessResult> on_path = RunSubprocess({"kiln-no-such-program", "x"});
  ASSERT_FALSE(on_path.ok());
  EXPECT_EQ(on_path.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(on_path.status().message(), "program 'kiln-no-such-program' not found on PATH");

  Result<SubprocessResult> absolute = RunSubprocess({"/nonexistent/kiln-tool"});
  ASSERT_FALSE(absolute.ok());
  EXPECT_EQ(absolute.status().message(), "program '/nonexistent/kiln-tool' does not exist");
}

TEST(SubprocessTest, NonExecutableProgramIsAFailedPrecondition) {
  char pattern[] = "/tmp/kiln-subprocess-test.XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  std::filesystem::path dir(pattern);
  std::string program = (dir / "tool").string();
  std::ofstream(program) << "#!/bin/sh\necho hi\n";
  ::chmod(program.c_str(), 0644);

  Result<SubprocessResult> result = RunSubprocess({program});
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(result.status().message(), "cannot run '" + program + "': Permission denied");
}

TEST(SubprocessTest, EmptyCommandIsInvalid) {
  Result<SubprocessResult> result = RunSubprocess({});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

TEST(SubprocessTest, KillsAProgramPastItsTimeout) {
  SubprocessOptions options;
  options.timeout = std::chrono::milliseconds(100);
  Result<SubprocessResult> result = RunSubprocess({"sleep", "60"}, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(result.status().message(), "'sleep' did not finish within 1 s (killed)");
}

TEST(SubprocessTest, KillsAProgramThatClosedItsOutputPastItsTimeout) {
  SubprocessOptions options;
  options.timeout = std::chrono::milliseconds(100);
  Result<SubprocessResult> result = RunSubprocess({"sh", "-c", "exec >&- 2>&-; exec sleep 60"}, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
}

TEST(SubprocessTest, ErrorTextPrefersStderrThenStdout) {
  SubprocessResult result;
  result.exit_code = 1;
  result.stdout_text = "  from stdout\n";
  EXPECT_EQ(result.ErrorText(), "from stdout");
  result.stderr_text = "sbatch: error: Invalid partition name specified\n";
  EXPECT_EQ(result.ErrorText(), "sbatch: error: Invalid partition name specified");
  result.stdout_text.clear();
  result.stderr_text = "\n";
  EXPECT_EQ(result.ErrorText(), "exit status 1");
}

}  // namespace
}  // namespace kiln::training
