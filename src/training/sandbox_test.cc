#include "training/sandbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/clock.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Where `sequence` first occurs as consecutive words in `words`; -1 if never.
long Find(const std::vector<std::string>& words, const std::vector<std::string>& sequence) {
  auto it = std::search(words.begin(), words.end(), sequence.begin(), sequence.end());
  return it == words.end() ? -1 : it - words.begin();
}

bool Has(const std::vector<std::string>& words, const std::vector<std::string>& sequence) {
  return Find(words, sequence) >= 0;
}

HostEntry Entry(std::string path, HostEntry::Kind kind, std::string target = "", std::string resolved = "") {
  return HostEntry{std::move(path), kind, std::move(target), std::move(resolved)};
}

// A Debian-like host with merged /usr.
HostLayout FakeHost() {
  using Kind = HostEntry::Kind;
  HostLayout host;
  host.system = {Entry("/usr", Kind::kDirectory), Entry("/bin", Kind::kSymlink, "usr/bin", "/usr/bin"),
                 Entry("/lib64", Kind::kSymlink, "usr/lib64", "/usr/lib64"),
                 Entry("/sbin", Kind::kDirectory)};
  host.etc = {
      Entry("/etc/ld.so.cache", Kind::kFile), Entry("/etc/ssl", Kind::kDirectory),
      Entry("/etc/localtime", Kind::kSymlink, "/usr/share/zoneinfo/Etc/UTC", "/usr/share/zoneinfo/Etc/UTC"),
      Entry("/etc/mtab", Kind::kSymlink, "../proc/self/mounts", "/proc/1/mounts")};
  host.network_etc = {Entry("/etc/resolv.conf", Kind::kFile)};
  return host;
}

ExecutionRequest Request() {
  ExecutionRequest request;
  request.run_id = "r1";
  request.argv = {"python3", "train.py", "--depth", "6"};
  request.env = {{"KILN_RUN_ID", "r1"}, {"KILN_PARAM_DEPTH", "6"}};
  request.snapshot_dir = "/var/kiln/snapshots/r1";
  request.work_dir = "/var/kiln/work/r1";
  request.mounts = {{"/var/kiln/data/r1", "/data", false}, {"/var/kiln/cache", "/cache", true}};
  request.tracking_socket = "/var/kiln/tracking.sock";
  request.stdout_path = "/var/kiln/logs/r1.out";
  request.stderr_path = "/var/kiln/logs/r1.err";
  return request;
}

TEST(SandboxCommandTest, SystemIsReadOnlyAndSymlinksStaySymlinks) {
  SandboxCommand sandbox = BuildSandboxCommand(Request(), FakeHost(), 0);
  EXPECT_TRUE(Has(sandbox.options, {"--ro-bind", "/usr", "/usr"}));
  EXPECT_TRUE(Has(sandbox.options, {"--ro-bind", "/sbin", "/sbin"}));
  EXPECT_TRUE(Has(sandbox.options, {"--symlink", "usr/bin", "/bin"}));
  EXPECT_TRUE(Has(sandbox.options, {"--symlink", "usr/lib64", "/lib64"}));
  EXPECT_TRUE(Has(sandbox.options, {"--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"}));
  EXPECT_TRUE(Has(sandbox.options, {"--ro-bind", "/etc/ssl", "/etc/ssl"}));
  // A link into /usr keeps naming its target; others are bound (bwrap follows them).
  EXPECT_TRUE(Has(sandbox.options, {"--symlink", "/usr/share/zoneinfo/Etc/UTC", "/etc/localtime"}));
  EXPECT_TRUE(Has(sandbox.options, {"--ro-bind", "/etc/mtab", "/etc/mtab"}));
  // Nothing writable but the work dir and the writable mount.
  long binds = std::count(sandbox.options.begin(), sandbox.options.end(), "--bind");
  EXPECT_EQ(binds, 2);
  EXPECT_TRUE(Has(sandbox.options, {"--remount-ro", "/"}));
}

TEST(SandboxCommandTest, RunFoldersMountsAndSocket) {
  SandboxCommand sandbox = BuildSandboxCommand(Request(), FakeHost(), 0);
  EXPECT_TRUE(Has(sandbox.options, {"--ro-bind", "/var/kiln/snapshots/r1", "/snapshot"}));
  EXPECT_TRUE(Has(sandbox.options, {"--bind", "/var/kiln/work/r1", "/work"}));
  EXPECT_TRUE(Has(sandbox.options, {"--ro-bind", "/var/kiln/data/r1", "/data"}));
  EXPECT_TRUE(Has(sandbox.options, {"--bind", "/var/kiln/cache", "/cache"}));
  EXPECT_TRUE(Has(sandbox.options, {"--chdir", "/snapshot"}));
  EXPECT_TRUE(Has(sandbox.options, {"--proc", "/proc"}));
  EXPECT_TRUE(Has(sandbox.options, {"--dev", "/dev"}));
  EXPECT_TRUE(Has(sandbox.options, {"--tmpfs", "/tmp"}));
  // The socket file is bound after /run becomes a tmpfs, else it would be hidden.
  long run = Find(sandbox.options, {"--tmpfs", "/run"});
  long socket = Find(sandbox.options, {"--ro-bind", "/var/kiln/tracking.sock", "/run/kiln/tracking.sock"});
  ASSERT_GE(run, 0);
  EXPECT_GT(socket, run);
  // Likewise the root becomes read-only only after every mount point exists.
  EXPECT_GT(Find(sandbox.options, {"--remount-ro", "/"}), socket);
}

TEST(SandboxCommandTest, NoSocketBindWithoutSocket) {
  ExecutionRequest request = Request();
  request.tracking_socket.clear();
  SandboxCommand sandbox = BuildSandboxCommand(request, FakeHost(), 0);
  EXPECT_THAT(ShellQuote(sandbox.options), Not(HasSubstr("tracking.sock")));
}

TEST(SandboxCommandTest, NamespacesAndPrivileges) {
  SandboxCommand sandbox = BuildSandboxCommand(Request(), FakeHost(), 0);
  for (const char* option : {"--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                             "--die-with-parent", "--new-session"}) {
    EXPECT_TRUE(Has(sandbox.options, {option})) << option;
  }
  EXPECT_TRUE(Has(sandbox.options, {"--cap-drop", "ALL"}));
  // No network: the resolver configuration is useless and stays out.
  EXPECT_FALSE(Has(sandbox.options, {"--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"}));
}

TEST(SandboxCommandTest, NetworkRequestKeepsHostNetworkAndResolver) {
  ExecutionRequest request = Request();
  request.network = true;
  SandboxCommand sandbox = BuildSandboxCommand(request, FakeHost(), 0);
  EXPECT_FALSE(Has(sandbox.options, {"--unshare-net"}));
  EXPECT_TRUE(Has(sandbox.options, {"--unshare-pid"}));
  EXPECT_TRUE(Has(sandbox.options, {"--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"}));
}

TEST(SandboxCommandTest, EnvironmentIsClearedThenSet) {
  SandboxCommand sandbox = BuildSandboxCommand(Request(), FakeHost(), 2);
  long clear = Find(sandbox.options, {"--clearenv"});
  ASSERT_GE(clear, 0);
  EXPECT_LT(clear, Find(sandbox.options, {"--setenv"}));
  EXPECT_TRUE(Has(sandbox.options, {"--setenv", "KILN_RUN_ID", "r1"}));
  EXPECT_TRUE(Has(sandbox.options, {"--setenv", "KILN_PARAM_DEPTH", "6"}));
  EXPECT_TRUE(Has(sandbox.options, {"--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin"}));
  EXPECT_TRUE(Has(sandbox.options, {"--setenv", "HOME", "/work"}));
  EXPECT_TRUE(Has(sandbox.options, {"--setenv", "TMPDIR", "/tmp"}));
  EXPECT_TRUE(Has(sandbox.options, {"--setenv", "LANG", "C.UTF-8"}));
  EXPECT_TRUE(Has(sandbox.options, {"--setenv", "OMP_NUM_THREADS", "2"}));
  EXPECT_EQ(std::count(sandbox.options.begin(), sandbox.options.end(), "--setenv"), 7);
}

TEST(SandboxCommandTest, RequestEnvironmentWinsOverDefaults) {
  ExecutionRequest request = Request();
  request.env = {{"PATH", "/opt/kiln/bin:/usr/bin"}, {"OMP_NUM_THREADS", "8"}, {"LANG", "de_DE.UTF-8"}};
  std::map<std::string, std::string> env = SandboxEnvironment(request, 1);
  EXPECT_EQ(env["PATH"], "/opt/kiln/bin:/usr/bin");
  EXPECT_EQ(env["OMP_NUM_THREADS"], "8");
  EXPECT_EQ(env["LANG"], "de_DE.UTF-8");
  EXPECT_EQ(env["HOME"], "/work");
  EXPECT_EQ(SandboxEnvironment(Request(), 0).count("OMP_NUM_THREADS"), 0u);
}

TEST(SandboxCommandTest, ArgvPutsCommandAfterDoubleDash) {
  SandboxCommand sandbox = BuildSandboxCommand(Request(), FakeHost(), 0);
  EXPECT_EQ(sandbox.command, Request().argv);
  std::vector<std::string> argv = sandbox.Argv("/usr/bin/bwrap");
  EXPECT_EQ(argv.front(), "/usr/bin/bwrap");
  ASSERT_GE(argv.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(argv.end() - 5, argv.end()),
            (std::vector<std::string>{"--", "python3", "train.py", "--depth", "6"}));
}

TEST(SandboxHostTest, ProbeShowsWhatProgramsNeedAndNoSecrets) {
  HostLayout host = ProbeHostLayout();
  auto shown = [](const std::vector<HostEntry>& entries, const std::string& path) {
    return std::any_of(entries.begin(), entries.end(),
                       [&](const HostEntry& entry) { return entry.path == path; });
  };
  EXPECT_TRUE(shown(host.system, "/usr"));
  EXPECT_TRUE(shown(host.etc, "/etc/passwd"));
  EXPECT_TRUE(shown(host.etc, "/etc/ld.so.cache"));
  for (const char* secret : {"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh", "/etc/munge"}) {
    EXPECT_FALSE(shown(host.etc, secret)) << secret;
  }
  if (fs::exists("/etc/python3")) {
    EXPECT_TRUE(shown(host.etc, "/etc/python3"));
  }
}

TEST(ValidateExecutionRequestTest, NamesEachBadField) {
  ExecutionRequest request;
  request.snapshot_dir = "snapshot";
  request.work_dir = "/no/such/kiln/work";
  request.stdout_path = "out.txt";
  request.stderr_path = "/tmp/../err.txt";
  request.mounts = {{"/no/such/kiln/data", "data", false}};
  request.env = {{"A=B", "x"}};
  request.resources.cpus = -1;
  Status status = ValidateExecutionRequest(request);
  ASSERT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("argv: the command is empty"));
  EXPECT_THAT(status.message(),
              HasSubstr("snapshot_dir: expected an absolute path without '..', got 'snapshot'"));
  EXPECT_THAT(status.message(), HasSubstr("work_dir: folder '/no/such/kiln/work' does not exist"));
  EXPECT_THAT(status.message(), HasSubstr("stdout_path: expected an absolute path"));
  EXPECT_THAT(status.message(), HasSubstr("stderr_path: expected an absolute path without '..'"));
  EXPECT_THAT(status.message(), HasSubstr("mounts[0].host_path: '/no/such/kiln/data' does not exist"));
  EXPECT_THAT(status.message(), HasSubstr("mounts[0].sandbox_path: expected an absolute path"));
  EXPECT_THAT(status.message(), HasSubstr("env: invalid variable name 'A=B'"));
  EXPECT_THAT(status.message(), HasSubstr("resources.cpus: must not be negative, got -1"));
}

TEST(ValidateExecutionRequestTest, AcceptsAGoodRequestAndChecksTheSocketKind) {
  fs::path root = fs::temp_directory_path() / ("kiln-sandbox-validate-" + IdGenerator().RandomHex(8));
  fs::create_directories(root / "snapshot");
  fs::create_directories(root / "work");
  std::ofstream(root / "not-a-socket") << "x";
  ExecutionRequest request;
  request.argv = {"true"};
  request.snapshot_dir = (root / "snapshot").string();
  request.work_dir = (root / "work").string();
  request.stdout_path = (root / "out").string();
  request.stderr_path = (root / "err").string();
  EXPECT_TRUE(ValidateExecutionRequest(request).ok()) << ValidateExecutionRequest(request).ToString();
  request.tracking_socket = (root / "not-a-socket").string();
  EXPECT_EQ(ValidateExecutionRequest(request).message(),
            "tracking_socket: '" + request.tracking_socket + "' is not a Unix socket");
  request.tracking_socket.clear();
  request.work_dir = (root / "not-a-socket").string();
  EXPECT_EQ(ValidateExecutionRequest(request).message(),
            "work_dir: '" + request.work_dir + "' is not a folder");
  fs::remove_all(root);
}

TEST(FindBubblewrapTest, MissingBubblewrapSaysHowToInstallIt) {
  Result<std::string> found = FindBubblewrap("/no/such/kiln/bin:relative/bin");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(found.status().message(), "bubblewrap is not installed: apt-get install bubblewrap");
}

TEST(FindBubblewrapTest, FindsTheFirstExecutableOnTheSearchPath) {
  fs::path root = fs::temp_directory_path() / ("kiln-sandbox-find-" + IdGenerator().RandomHex(8));
  fs::create_directories(root / "a");
  fs::create_directories(root / "b");
  std::ofstream(root / "a" / "bwrap") << "not executable";
  std::ofstream(root / "b" / "bwrap") << "#!/bin/sh\n";
  ::chmod((root / "b" / "bwrap").c_str(), 0755);
  Result<std::string> found = FindBubblewrap((root / "a").string() + ":" + (root / "b").string());
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, (root / "b" / "bwrap").string());
  fs::remove_all(root);
}

TEST(ShellQuoteTest, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(ShellQuote({"bwrap", "--setenv", "A", "x y", "it's", ""}),
            "bwrap --setenv A 'x y' 'it'\\''s' ''");
}

}  // namespace
}  // namespace kiln::training
