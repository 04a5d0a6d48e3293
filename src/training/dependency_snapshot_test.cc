#include "training/dependency_snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/hashing.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

class DependencySnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "kiln-deps-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    code_ = dir_ / "code";
    fs::create_directories(code_);
    WriteFile(dir_ / "os-release",
              "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n");
    options_.os_release_path = (dir_ / "os-release").string();
    options_.kiln_version = "0.4.0";
    options_.xgboost_version = "1.7.4";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // An executable shell script standing in for python3.
  std::string FakePython(const std::string& body) {
    fs::path path = dir_ / "fake-python";
    WriteFile(path, "#!/bin/sh\n" + body + "\n");
    fs::permissions(path, fs::perms::owner_all);
    return path.string();
  }

  fs::path dir_;
  fs::path code_;
  DependencyOptions options_;
};

TEST_F(DependencySnapshotTest, FindsLockFilesInTheTopTwoLevelsOutsideIgnoredFolders) {
  WriteFile(code_ / "requirements.txt", "numpy==1.24.2\n");
  WriteFile(code_ / "requirements-dev.txt", "pytest\n");
  WriteFile(code_ / "requirements/base.txt", "pandas\n");
  WriteFile(code_ / "pyproject.toml", "[project]\nname = 'x'\n");
  WriteFile(code_ / "service/poetry.lock", "# lock\n");
  WriteFile(code_ / "service/deeper/Cargo.lock", "too deep\n");
  WriteFile(code_ / "vendored/yarn.lock", "ignored\n");
  WriteFile(code_ / ".gitignore", "vendored/\n");
  WriteFile(code_ / ".kilnignore", "service/poetry.lock\n");
  WriteFile(code_ / "web/package-lock.json", "{}\n");
  WriteFile(code_ / "README.md", "not a lock file\n");
  options_.python = "";
  Result<DependencySnapshot> snapshot = CaptureDependencies(code_.string(), options_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  std::vector<std::string> paths;
  for (const LockFile& file : snapshot->lock_files) paths.push_back(file.path);
  EXPECT_THAT(paths, ElementsAre("pyproject.toml", "requirements-dev.txt", "requirements.txt",
                                 "requirements/base.txt", "web/package-lock.json"));
  EXPECT_EQ(snapshot->lock_files[2].sha256, Sha256Hex("numpy==1.24.2\n"));
  EXPECT_EQ(snapshot->lock_files[2].bytes, 14);
  EXPECT_EQ(snapshot->os_name, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_FALSE(snapshot->machine.empty());
  EXPECT_FALSE(snapshot->kernel.empty());
  EXPECT_EQ(snapshot->kiln_version, "0.4.0");
  EXPECT_EQ(snapshot->xgboost_version, "1.7.4");
  EXPECT_EQ(snapshot->python_version, "");
  EXPECT_TRUE(snapshot->python_libraries.empty());
}

TEST_F(DependencySnapshotTest, RecordsPythonLibrariesAndDebianPackagesOfThisMachine) {
  options_.python_libraries = {"numpy", "xgboost", "kiln-no-such-library"};
  options_.debian_packages = {"libxgboost-dev", "kiln-no-such-package", "bash"};
  Result<DependencySnapshot> snapshot = CaptureDependencies(code_.string(), options_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_EQ(snapshot->python_error, "");
  EXPECT_THAT(snapshot->python_version, MatchesRegex("3\\.[0-9]+\\.[0-9]+.*"));
  EXPECT_EQ(snapshot->python_executable, "/usr/bin/python3");
  EXPECT_THAT(snapshot->python_libraries["numpy"], MatchesRegex("[0-9]+\\.[0-9]+.*"));
  EXPECT_THAT(snapshot->python_libraries["xgboost"], StartsWith("1.7"));  // python3-xgboost
  EXPECT_EQ(snapshot->python_libraries["kiln-no-such-library"], "not installed");
  EXPECT_THAT(snapshot->debian_packages["libxgboost-dev"], StartsWith("1.7.4"));
  EXPECT_THAT(snapshot->debian_packages["bash"], MatchesRegex("[0-9].*"));
  EXPECT_EQ(snapshot->debian_packages["kiln-no-such-package"], "not installed");
  EXPECT_EQ(snapshot->debian_packages.size(), 3u);
}

TEST_F(DependencySnapshotTest, PythonProblemsAreRecordedNotFatal) {
  options_.python = (dir_ / "missing/python3").string();
  Result<DependencySnapshot> snapshot = CaptureDependencies(code_.string(), options_);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->python_error, "program '" + options_.python + "' does not exist");
  EXPECT_EQ(snapshot->python_version, "");

  options_.python = FakePython("echo 'Python is broken' >&2; exit 1");
  snapshot = CaptureDependencies(code_.string(), options_);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->python_error, "'" + options_.python + "' failed: Python is broken");

  options_.python = FakePython("echo hello");
  snapshot = CaptureDependencies(code_.string(), options_);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->python_error, "'" + options_.python + "' printed unexpected output: hello\n");

  options_.python = FakePython("exec sleep 30");
  options_.timeout = std::chrono::milliseconds(300);
  snapshot = CaptureDependencies(code_.string(), options_);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_THAT(snapshot->python_error, HasSubstr("did not finish"));
}

TEST_F(DependencySnapshotTest, BadPackageNamesAndMissingDpkg) {
  options_.python = "";
  options_.debian_packages = {"--admindir=/tmp"};
  EXPECT_EQ(CaptureDependencies(code_.string(), options_).status().message(),
            "Debian package name '--admindir=/tmp' is not valid");
  options_.debian_packages = {"libc6:amd64"};
  options_.dpkg_query = (dir_ / "no-dpkg-query").string();
  Result<DependencySnapshot> snapshot = CaptureDependencies(code_.string(), options_);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->debian_packages["libc6:amd64"],
            "unknown (program '" + options_.dpkg_query + "' does not exist)");
  EXPECT_EQ(CaptureDependencies((dir_ / "nope").string(), options_).status().message(),
            "code folder '" + (dir_ / "nope").string() + "' does not exist");
}

DependencySnapshot Sample() {
  DependencySnapshot snapshot;
  snapshot.kiln_version = "0.4.0";
  snapshot.xgboost_version = "1.7.4";
  snapshot.os_name = "Debian GNU/Linux 12 (bookworm)";
  snapshot.machine = "x86_64";
  snapshot.kernel = "6.1.0-18-amd64";
  snapshot.python_executable = "/usr/bin/python3";
  snapshot.python_version = "3.11.2";
  snapshot.python_libraries = {{"numpy", "1.24.2"}, {"pandas", "not installed"}};
  snapshot.debian_packages = {{"libxgboost-dev", "1.7.4-1"}};
  snapshot.lock_files = {{"requirements.txt", std::string(64, 'a'), 14},
                         {"poetry.lock", std::string(64, 'b'), 7}};
  return snapshot;
}

TEST(DependencySnapshotJsonTest, WritesTheDocumentedFormatAndReadsItBack) {
  Json json = DependencySnapshotToJson(Sample());
  EXPECT_EQ(json, Json::parse(R"J({
    "format_version": 1,
    "kiln_version": "0.4.0",
    "xgboost_version": "1.7.4",
    "os": {"name": "Debian GNU/Linux 12 (bookworm)", "machine": "x86_64", "kernel": "6.1.0-18-amd64"},
    "python": {"executable": "/usr/bin/python3", "version": "3.11.2", "error": "",
               "libraries": {"numpy": "1.24.2", "pandas": "not installed"}},
    "debian_packages": {"libxgboost-dev": "1.7.4-1"},
    "lock_files": [
      {"path": "poetry.lock", "sha256": ")J" +
                              std::string(64, 'b') + R"J(", "bytes": 7},
      {"path": "requirements.txt", "sha256": ")J" +
                              std::string(64, 'a') + R"J(", "bytes": 14}
    ]
  })J"));
  Result<DependencySnapshot> back = DependencySnapshotFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(DependencySnapshotToJson(*back), json);
  EXPECT_EQ(back->kernel, "6.1.0-18-amd64");
}

TEST(DependencySnapshotJsonTest, RefusesOtherVersionsAndMistypedFields) {
  EXPECT_EQ(DependencySnapshotFromJson(Json{{"format_version", 2}}).status().message(),
            "dependencies.json has format_version 2; this Kiln reads format_version 1");
  EXPECT_EQ(DependencySnapshotFromJson(Json::object()).status().message(),
            "dependencies.json: 'format_version' must be an integer");
  Json json = DependencySnapshotToJson(Sample());
  json["python"]["libraries"]["numpy"] = 1;
  EXPECT_EQ(DependencySnapshotFromJson(json).status().message(),
            "dependencies.json: 'python.libraries' must be an object of strings");
  json = DependencySnapshotToJson(Sample());
  json["lock_files"][1].erase("sha256");
  EXPECT_EQ(
      DependencySnapshotFromJson(json).status().message(),
      "dependencies.json: 'lock_files[1]' must be an object with string 'path' and 'sha256' and integer "
      "'bytes'");
}

TEST(DependencySnapshotCompareTest, DigestIgnoresMachineDetailsAndComparisonNamesEachDifference) {
  DependencySnapshot before = Sample();
  DependencySnapshot after = Sample();
  after.kernel = "6.5.0-1-amd64";
  after.python_executable = "/opt/python/bin/python3";
  std::reverse(after.lock_files.begin(), after.lock_files.end());
  EXPECT_EQ(DependencyDigest(before), DependencyDigest(after));
  EXPECT_TRUE(CompareDependencies(before, after).empty());

  after.python_version = "3.12.1";
  after.python_libraries["numpy"] = "1.26.0";
  after.python_libraries["pandas"] = "2.1.0";
  after.python_libraries["scikit-learn"] = "1.3.0";
  after.debian_packages["libxgboost-dev"] = "2.0.3-1";
  after.xgboost_version = "2.0.3";
  after.lock_files = {{"requirements.txt", "cd34" + std::string(60, 'c'), 14},
                      {"uv.lock", std::string(64, 'd'), 3}};
  EXPECT_NE(DependencyDigest(before), DependencyDigest(after));
  EXPECT_THAT(CompareDependencies(before, after),
              ElementsAre("XGBoost 1.7.4 → 2.0.3", "Python 3.11.2 → 3.12.1", "numpy 1.24.2 → 1.26.0",
                          "pandas not installed → 2.1.0", "scikit-learn not recorded → 1.3.0",
                          "Debian package libxgboost-dev 1.7.4-1 → 2.0.3-1",
                          "poetry.lock removed (was sha256 bbbbbbbbbbbb…)",
                          "requirements.txt changed (sha256 aaaaaaaaaaaa… → cd34cccccccc…)",
                          "uv.lock added (sha256 dddddddddddd…)"));
  DependencySnapshot moved = Sample();
  moved.os_name = "";
  moved.machine = "aarch64";
  EXPECT_THAT(CompareDependencies(before, moved),
              ElementsAre("OS Debian GNU/Linux 12 (bookworm) → unknown", "machine x86_64 → aarch64"));
}

TEST(DependencySnapshotCompareTest, TagsCarryTheDigestAndVersions) {
  DependencySnapshot snapshot = Sample();
  EXPECT_EQ(DependencyTags(snapshot), (std::map<std::string, std::string>{
                                          {"kiln.snapshot.dependencies_digest", DependencyDigest(snapshot)},
                                          {"kiln.python_version", "3.11.2"},
                                          {"kiln.version", "0.4.0"},
                                          {"kiln.xgboost_version", "1.7.4"}}));
  EXPECT_EQ(DependencyDigest(snapshot).size(), 64u);
  snapshot.python_version = "";
  EXPECT_EQ(DependencyTags(snapshot).count("kiln.python_version"), 0u);
}

}  // namespace
}  // namespace kiln::training
