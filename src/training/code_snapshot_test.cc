#include "training/code_snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/hashing.h"
#include "training/subprocess.h"
#include "training/tar_archive.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class CodeSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "kiln-code-snapshot-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    repo_ = dir_ / "repo";
    fs::create_directories(repo_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Git(const fs::path& repo, std::vector<std::string> args) {
    std::vector<std::string> argv = {"git",
                                     "-C",
                                     repo.string(),
                                     "-c",
                                     "user.name=Test",
                                     "-c",
                                     "user.email=test@example.com",
                                     "-c",
                                     "init.defaultBranch=main",
                                     "-c",
                                     "core.excludesFile=/dev/null"};
    argv.insert(argv.end(), args.begin(), args.end());
    Result<SubprocessResult> result = RunSubprocess(argv);
    EXPECT_TRUE(result.ok() && result->succeeded())
        << "git " << args[0] << ": " << (result.ok() ? result->ErrorText() : result.status().ToString());
    return result.ok() ? result->stdout_text : "";
  }

  // A committed project with ignored files lying around.
  void MakeRepo() {
    Git(repo_, {"init", "-q"});
    WriteFile(repo_ / ".gitignore", "*.log\nmodels/\n");
    WriteFile(repo_ / "train.py", "print('train')\n");
    WriteFile(repo_ / "run.sh", "#!/bin/sh\npython3 train.py\n");
    fs::permissions(repo_ / "run.sh", fs::perms::owner_exec, fs::perm_options::add);
    WriteFile(repo_ / "data/small.csv", "a,b\n1,2\n");
    WriteFile(repo_ / "weights.bin", std::string("\0\1\2\3", 4));
    Git(repo_, {"add", "."});
    Git(repo_, {"commit", "-q", "-m", "first"});
    Git(repo_, {"remote", "add", "origin", "https://alice:s3cret@example.com/team/repo.git"});
    WriteFile(repo_ / "debug.log", "noise\n");
    WriteFile(repo_ / "models/model.bin", "big\n");
  }

  Result<CodeSnapshot> Capture(const fs::path& dir, const std::string& name = "code.tar",
                               CodeSnapshotOptions options = {}) {
    return CaptureCodeSnapshot(dir.string(), (dir_ / name).string(), options);
  }

  // path → contents (files) or "-> target" (symlinks), from the archive.
  std::map<std::string, std::string> Members(const CodeSnapshot& snapshot) {
    Result<std::vector<TarEntry>> entries = ReadTar(ReadFile(snapshot.tar_path));
    EXPECT_TRUE(entries.ok()) << entries.status().ToString();
    std::map<std::string, std::string> members;
    for (const TarEntry& entry : entries.ok() ? *entries : std::vector<TarEntry>{}) {
      members[entry.path] = entry.type == TarEntryType::kSymlink ? "-> " + entry.link_target : entry.contents;
    }
    return members;
  }

  fs::path dir_;
  fs::path repo_;
};

TEST_F(CodeSnapshotTest, CleanGitRepositoryRecordsCommitBranchRemoteAndTrackedFiles) {
  MakeRepo();
  Result<CodeSnapshot> snapshot = Capture(repo_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_TRUE(snapshot->is_git);
  EXPECT_EQ(snapshot->git_commit + "\n", Git(repo_, {"rev-parse", "HEAD"}));
  EXPECT_EQ(snapshot->git_branch, "main");
  EXPECT_EQ(snapshot->git_remote_url, "https://example.com/team/repo.git");
  EXPECT_EQ(snapshot->git_subdir, "");
  EXPECT_FALSE(snapshot->git_dirty);
  EXPECT_EQ(snapshot->git_diff, "");
  EXPECT_TRUE(snapshot->untracked.empty());
  EXPECT_EQ(snapshot->source_dir, fs::canonical(repo_).string());
  EXPECT_EQ(snapshot->files, 5);
  EXPECT_EQ(snapshot->bytes, 14 + 15 + 27 + 8 + 4);
  EXPECT_EQ(snapshot->digest, Sha256Hex(ReadFile(snapshot->tar_path)));
  std::map<std::string, std::string> members = Members(*snapshot);
  EXPECT_EQ(members, (std::map<std::string, std::string>{{".gitignore", "*.log\nmodels/\n"},
                                                         {"data/small.csv", "a,b\n1,2\n"},
                                                         {"run.sh", "#!/bin/sh\npython3 train.py\n"},
                                                         {"train.py", "print('train')\n"},
                                                         {"weights.bin", std::string("\0\1\2\3", 4)}}));
  Result<std::vector<TarEntry>> entries = ReadTar(ReadFile(snapshot->tar_path));
  EXPECT_TRUE((*entries)[2].executable) << (*entries)[2].path;
  EXPECT_FALSE((*entries)[3].executable) << (*entries)[3].path;
}

TEST_F(CodeSnapshotTest, DirtyRepositoryKeepsOnDiskContentsAndRecordsTheDiff) {
  MakeRepo();
  WriteFile(repo_ / "train.py", "print('train v2')\n");  // unstaged change
  WriteFile(repo_ / "staged.py", "x = 1\n");             // staged new file
  Git(repo_, {"add", "staged.py"});
  fs::remove(repo_ / "data/small.csv");                          // deleted
  WriteFile(repo_ / "weights.bin", std::string("\0\1\2\4", 4));  // binary change
  WriteFile(repo_ / "notes/todo.txt", "try lr 0.1\n");           // untracked
  Result<CodeSnapshot> snapshot = Capture(repo_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_TRUE(snapshot->git_dirty);
  EXPECT_THAT(snapshot->git_diff, HasSubstr("-print('train')\n+print('train v2')\n"));
  EXPECT_THAT(snapshot->git_diff, HasSubstr("+++ b/staged.py"));
  EXPECT_THAT(snapshot->git_diff, HasSubstr("deleted file mode 100644"));
  EXPECT_THAT(snapshot->git_diff, HasSubstr("Binary files a/weights.bin and b/weights.bin differ"));
  EXPECT_THAT(snapshot->git_diff, Not(HasSubstr("todo.txt")));
  EXPECT_THAT(snapshot->untracked, ElementsAre("notes/todo.txt"));
  std::map<std::string, std::string> members = Members(*snapshot);
  EXPECT_EQ(members["train.py"], "print('train v2')\n");
  EXPECT_EQ(members["staged.py"], "x = 1\n");
  EXPECT_EQ(members["notes/todo.txt"], "try lr 0.1\n");
  EXPECT_EQ(members.count("data/small.csv"), 0u);
  EXPECT_EQ(members.count("debug.log"), 0u);
  EXPECT_EQ(members.count("models/model.bin"), 0u);
  EXPECT_EQ(MlflowGitTags(*snapshot)["mlflow.source.git.dirty"], "true");
}

TEST_F(CodeSnapshotTest, SubfolderOfARepositoryIsCapturedRelativeToItself) {
  Git(repo_, {"init", "-q"});
  WriteFile(repo_ / "project/train.py", "print(1)\n");
  WriteFile(repo_ / "project/conf/params.yaml", "lr: 0.1\n");
  WriteFile(repo_ / "other/tool.py", "print(2)\n");
  Git(repo_, {"add", "."});
  Git(repo_, {"commit", "-q", "-m", "first"});
  Git(repo_, {"checkout", "-q", "--detach"});
  WriteFile(repo_ / "other/tool.py", "print(3)\n");  // outside the folder: not part of this snapshot
  Result<CodeSnapshot> snapshot = Capture(repo_ / "project");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_TRUE(snapshot->is_git);
  EXPECT_EQ(snapshot->git_subdir, "project");
  EXPECT_EQ(snapshot->git_branch, "") << "detached HEAD";
  EXPECT_EQ(snapshot->git_remote_url, "");
  EXPECT_FALSE(snapshot->git_dirty);
  EXPECT_EQ(Members(*snapshot), (std::map<std::string, std::string>{{"conf/params.yaml", "lr: 0.1\n"},
                                                                    {"train.py", "print(1)\n"}}));
  WriteFile(repo_ / "project/train.py", "print(4)\n");
  snapshot = Capture(repo_ / "project");
  ASSERT_TRUE(snapshot.ok());
  EXPECT_TRUE(snapshot->git_dirty);
  EXPECT_THAT(snapshot->git_diff, HasSubstr("+++ b/project/train.py"));
  EXPECT_THAT(snapshot->git_diff, Not(HasSubstr("tool.py")));
  std::map<std::string, std::string> tags = MlflowGitTags(*snapshot);
  EXPECT_EQ(tags["mlflow.source.name"], snapshot->source_dir);
  EXPECT_EQ(tags.count("mlflow.source.git.branch"), 0u);
}

TEST_F(CodeSnapshotTest, SameTreeGivesTheSameDigestWhateverTheTimestamps) {
  MakeRepo();
  Result<CodeSnapshot> first = Capture(repo_, "first.tar");
  ASSERT_TRUE(first.ok());
  fs::last_write_time(repo_ / "train.py", fs::file_time_type::clock::now() - std::chrono::hours(48));
  Result<CodeSnapshot> second = Capture(repo_, "second.tar");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->digest, second->digest);
  EXPECT_EQ(ReadFile(first->tar_path), ReadFile(second->tar_path));
  // A copy elsewhere, without git, holding the same files gives the same archive.
  fs::path copy = dir_ / "copy";
  for (const char* name : {".gitignore", "train.py", "run.sh", "data/small.csv", "weights.bin"}) {
    fs::create_directories((copy / name).parent_path());
    fs::copy_file(repo_ / name, copy / name);
  }
  Result<CodeSnapshot> plain = Capture(copy, "copy.tar");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->is_git);
  EXPECT_EQ(plain->digest, first->digest);
  WriteFile(copy / "train.py", "print('changed')\n");
  EXPECT_NE(Capture(copy, "copy2.tar")->digest, first->digest);
}

TEST_F(CodeSnapshotTest, FolderWithoutGitHonoursGitignoreKilnignoreAndKeepsSymlinks) {
  WriteFile(repo_ / ".gitignore", "__pycache__/\n*.pyc\n");
  WriteFile(repo_ / ".kilnignore", "data/\n");
  WriteFile(repo_ / "src/model.py", "import torch\n");
  WriteFile(repo_ / "src/__pycache__/model.cpython-311.pyc", "bytecode");
  WriteFile(repo_ / "src/.gitignore", "scratch.txt\n");
  WriteFile(repo_ / "src/scratch.txt", "notes");
  WriteFile(repo_ / "data/train.csv", "1,2\n");
  fs::create_symlink("src/model.py", repo_ / "model.py");
  fs::create_symlink("/etc/hostname", repo_ / "outside");
  fs::create_symlink("../../elsewhere", repo_ / "src/up");
  Result<CodeSnapshot> snapshot = Capture(repo_);
  EXPECT_EQ(
      snapshot.status().message(),
      "the code snapshot of '" + fs::canonical(repo_).string() +
          "' has symlinks pointing outside it: "
          "outside -> /etc/hostname, src/up -> ../../elsewhere. Snapshots keep symlinks as links, so a run "
          "could not see their targets: copy the files in or exclude the links with a .kilnignore file.");
  WriteFile(repo_ / ".kilnignore", "data/\n/outside\nsrc/up\n");
  snapshot = Capture(repo_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_FALSE(snapshot->is_git);
  EXPECT_EQ(Members(*snapshot),
            (std::map<std::string, std::string>{{".gitignore", "__pycache__/\n*.pyc\n"},
                                                {".kilnignore", "data/\n/outside\nsrc/up\n"},
                                                {"model.py", "-> src/model.py"},
                                                {"src/.gitignore", "scratch.txt\n"},
                                                {"src/model.py", "import torch\n"}}));
  std::map<std::string, std::string> tags = MlflowGitTags(*snapshot);
  EXPECT_EQ(tags, (std::map<std::string, std::string>{{"kiln.snapshot.code_digest", snapshot->digest},
                                                      {"kiln.snapshot.files", "5"},
                                                      {"mlflow.source.name", snapshot->source_dir},
                                                      {"mlflow.source.type", "PROJECT"}}));
}

TEST_F(CodeSnapshotTest, KilnignoreExcludesTrackedFilesInAGitRepository) {
  MakeRepo();
  WriteFile(repo_ / ".kilnignore", "data/\n");
  WriteFile(repo_ / "data/.kilnignore", "!small.csv\n");  // inside an excluded folder: cannot re-include
  Result<CodeSnapshot> snapshot = Capture(repo_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  std::map<std::string, std::string> members = Members(*snapshot);
  EXPECT_EQ(members.count("data/small.csv"), 0u);
  EXPECT_EQ(members.count(".kilnignore"), 1u);
  EXPECT_THAT(snapshot->untracked, ElementsAre(".kilnignore"));
  EXPECT_FALSE(snapshot->git_dirty) << "untracked files do not make the tree dirty";
}

TEST_F(CodeSnapshotTest, TooManyFilesOrBytesNameTheLargestFoldersAndHowToExcludeThem) {
  WriteFile(repo_ / "train.py", "print(1)\n");
  for (int i = 0; i < 4; ++i)
    WriteFile(repo_ / "data" / ("part" + std::to_string(i) + ".csv"), std::string(3000, 'x'));
  WriteFile(repo_ / "cache/a", "1");
  WriteFile(repo_ / "cache/b", "2");
  CodeSnapshotOptions options;
  options.max_files = 5;
  Result<CodeSnapshot> snapshot = Capture(repo_, "code.tar", options);
  std::string dir = fs::canonical(repo_).string();
  EXPECT_EQ(snapshot.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(snapshot.status().message(),
            "the code snapshot of '" + dir +
                "' is too large: 11.7 KiB in 7 files (limits: 100.0 MiB, 5 files). "
                "Largest: data/ (11.7 KiB, 4 files), cache/ (2 bytes, 2 files), train.py (9 bytes). Exclude "
                "what the "
                "run does not need with .gitignore or a .kilnignore file in '" +
                dir + "' (gitignore syntax, e.g. a line 'data/').");
  EXPECT_FALSE(fs::exists(dir_ / "code.tar"));

  options = {};
  options.max_total_bytes = 10000;
  snapshot = Capture(repo_, "code.tar", options);
  EXPECT_THAT(snapshot.status().message(),
              HasSubstr("Largest: data/ (11.7 KiB, 4 files), train.py (9 bytes), "
                        "cache/ (2 bytes, 2 files). Biggest files: data/part0.csv "
                        "(2.9 KiB), data/part1.csv (2.9 KiB), data/part2.csv (2.9 KiB)."));
  WriteFile(repo_ / ".kilnignore", "data/\n");
  EXPECT_TRUE(Capture(repo_, "code.tar", options).ok());
}

TEST_F(CodeSnapshotTest, UnreadableFilesAreNamed) {
  WriteFile(repo_ / "train.py", "print(1)\n");
  WriteFile(repo_ / "secrets/token.txt", "hunter2");
  WriteFile(repo_ / "key.pem", "-----");
  fs::permissions(repo_ / "secrets/token.txt", fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(repo_ / "key.pem", fs::perms::owner_read | fs::perms::owner_write);
  std::string dir = fs::canonical(repo_).string();
  std::string expected = "cannot read 2 files of the code snapshot of '" + dir +
                         "': key.pem (Permission denied), secrets/token.txt (Permission denied). Make them "
                         "readable or exclude them with a .kilnignore file.";
  if (::geteuid() != 0) {
    fs::permissions(repo_ / "key.pem", fs::perms::none);
    fs::permissions(repo_ / "secrets/token.txt", fs::perms::none);
    EXPECT_EQ(Capture(repo_).status().message(), expected);
    return;
  }
  // root reads everything: capture as "nobody" in a child process instead.
  fs::permissions(dir_, fs::perms::all);
  fs::create_directories(dir_ / "out");
  fs::permissions(dir_ / "out", fs::perms::all);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    CodeSnapshotOptions options;
    options.use_git = false;
    Result<CodeSnapshot> snapshot = CaptureCodeSnapshot(dir, (dir_ / "out/code.tar").string(), options);
    std::string message = snapshot.ok() ? "ok" : snapshot.status().message();
    (void)!::write(pipe_fds[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buffer[512];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) message.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child could not become nobody";
  EXPECT_EQ(message, expected);
}

TEST_F(CodeSnapshotTest, ArchiveAloneReproducesTheTree) {
  MakeRepo();
  WriteFile(repo_ / "train.py", "print('edited')\n");
  fs::create_symlink("train.py", repo_ / "main.py");
  Result<CodeSnapshot> snapshot = Capture(repo_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  fs::path out = dir_ / "extracted";
  ASSERT_TRUE(ExtractTar(snapshot->tar_path, out.string()).ok());
  EXPECT_EQ(ReadFile(out / "train.py"), "print('edited')\n");
  EXPECT_EQ(ReadFile(out / "main.py"), "print('edited')\n");
  EXPECT_TRUE(fs::is_symlink(out / "main.py"));
  EXPECT_NE(fs::status(out / "run.sh").permissions() & fs::perms::owner_exec, fs::perms::none);
  // Snapshotting the extracted tree gives the same archive.
  Result<CodeSnapshot> again = Capture(out, "again.tar");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->digest, snapshot->digest);
}

TEST_F(CodeSnapshotTest, MissingFolderAndTagsOfAGitSnapshot) {
  EXPECT_EQ(Capture(dir_ / "nope").status().message(),
            "code folder '" + (dir_ / "nope").string() + "' does not exist");
  CodeSnapshot snapshot;
  snapshot.is_git = true;
  snapshot.git_commit = "0123abcd";
  snapshot.git_branch = "main";
  snapshot.git_remote_url = "https://example.com/team/repo.git";
  snapshot.git_subdir = "project";
  snapshot.digest = "ff00";
  snapshot.files = 12;
  EXPECT_EQ(MlflowGitTags(snapshot), (std::map<std::string, std::string>{
                                         {"kiln.snapshot.code_digest", "ff00"},
                                         {"kiln.snapshot.files", "12"},
                                         {"mlflow.source.git.branch", "main"},
                                         {"mlflow.source.git.commit", "0123abcd"},
                                         {"mlflow.source.git.dirty", "false"},
                                         {"mlflow.source.git.repoURL", "https://example.com/team/repo.git"},
                                         {"mlflow.source.name", "https://example.com/team/repo.git#project"},
                                         {"mlflow.source.type", "PROJECT"}}));
}

TEST(RedactUrlCredentialsTest, RemovesPasswordsAndTokens) {
  EXPECT_EQ(RedactUrlCredentials("https://alice:s3cret@example.com/x.git"), "https://example.com/x.git");
  EXPECT_EQ(RedactUrlCredentials("https://ghp_token@github.com/x.git"), "https://github.com/x.git");
  EXPECT_EQ(RedactUrlCredentials("ssh://git@github.com/x.git"), "ssh://git@github.com/x.git");
  EXPECT_EQ(RedactUrlCredentials("ssh://git:pw@github.com/x.git"), "ssh://github.com/x.git");
  EXPECT_EQ(RedactUrlCredentials("git@github.com:team/x.git"), "git@github.com:team/x.git");
  EXPECT_EQ(RedactUrlCredentials("https://example.com/a@b"), "https://example.com/a@b");
}

}  // namespace
}  // namespace kiln::training
