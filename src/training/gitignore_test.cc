#include "training/gitignore.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "training/subprocess.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;

// One table case: files to create (path → contents; a path ending in '/' is
// an empty folder). Every file and folder of the tree is then checked
// against `git check-ignore` in a fresh repository.
struct IgnoreCase {
  std::string name;
  std::map<std::string, std::string> files;
};

// clang-format off
const std::vector<IgnoreCase>& Cases() {
  static const std::vector<IgnoreCase> kCases = {
      {"basics",
       {{".gitignore", "# build output\n\n*.pyc\n__pycache__/\n/build\nlogs/*.log\n!logs/keep.log\n"},
        {"a.pyc", ""}, {"src/b.pyc", ""}, {"src/__pycache__/x.py", ""}, {"pkg/__pycache__", "a file"},
        {"build/out.o", ""}, {"src/build/y.o", ""}, {"logs/a.log", ""}, {"logs/keep.log", ""},
        {"logs/sub/c.log", ""}, {"main.py", ""}}},
      {"negation cannot reach into an excluded folder",
       {{".gitignore", "data/\n!data/keep.csv\nraw/*\n!raw/keep.csv\n"},
        {"data/keep.csv", ""}, {"data/drop.csv", ""}, {"raw/keep.csv", ""}, {"raw/drop.csv", ""},
        {"raw/sub/keep.csv", ""}}},
      {"double stars",
       {{".gitignore", "**/tmp\na/**/b\nfoo/**\n**/cache/**\nx**y\n"},
        {"tmp", ""}, {"p/q/tmp/z", ""}, {"a/b", ""}, {"a/x/b", ""}, {"a/x/y/b", ""}, {"c/a/b", ""},
        {"foo/bar", ""}, {"foo/x/y", ""}, {"r/cache/s/t", ""}, {"cache", ""}, {"xay", ""}, {"xa/by", ""},
        {"ab", ""}}},
      {"character classes and question marks",
       {{".gitignore", "file[0-9].txt\n[!a]*.md\n*.[ch]\nx?z\n[[:digit:]]*.dat\n[^q]u\n[]]x\n[a-]y\n"},
        {"file1.txt", ""}, {"filea.txt", ""}, {"a.md", ""}, {"b.md", ""}, {"x.c", ""}, {"x.h", ""},
        {"x.o", ""}, {"xyz", ""}, {"x/z", ""}, {"9.dat", ""}, {"a9.dat", ""}, {"qu", ""}, {"pu", ""},
        {"]x", ""}, {"-y", ""}, {"by", ""}}},
      {"nested ignore files apply relative to their folder",
       {{".gitignore", "*.log\n/local.txt\n"},
        {"sub/.gitignore", "!important.log\n/local.txt\ndeep/\n"},
        {"a.log", ""}, {"important.log", ""}, {"sub/important.log", ""}, {"sub/x/important.log", ""},
        {"sub/other.log", ""}, {"sub/local.txt", ""}, {"sub/x/local.txt", ""}, {"local.txt", ""},
        {"sub/deep/f", ""}, {"deep/f", ""}, {"sub/x/deep/f", ""}}},
      {"escapes and trailing spaces",
       {{".gitignore", "\\#notcomment\n\\!bang\ntrailing   \nescaped\\ \n  \n"},
        {"#notcomment", ""}, {"!bang", ""}, {"trailing", ""}, {"escaped ", ""}, {"escaped", ""}}},
      {"middle slash anchors",
       {{".gitignore", "doc/*.txt\ndoc/**/*.pdf\nlib/gen/\n"},
        {"doc/a.txt", ""}, {"doc/x/a.txt", ""}, {"x/doc/a.txt", ""}, {"doc/a.pdf", ""}, {"doc/x/y/a.pdf", ""},
        {"lib/gen/g.c", ""}, {"src/lib/gen/g.c", ""}}},
      {"later rules win",
       {{".gitignore", "*.csv\n!*.csv\nout.csv\n*.tmp\n!keep.tmp\n"},
        {"a.csv", ""}, {"out.csv", ""}, {"x/out.csv", ""}, {"a.tmp", ""}, {"keep.tmp", ""}}},
      {"whitelist",
       {{".gitignore", "*\n!*/\n!*.py\n"},
        {"a.py", ""}, {"a.txt", ""}, {"src/b.py", ""}, {"src/c.txt", ""}, {"src/deeper/d.py", ""}}},
      {"crlf line endings and folder-only stars",
       {{".gitignore", "*.bak\r\n/out\r\nlogs/**/debug/\r\nvenv*/\r\n"},
        {"a.bak", ""}, {"out/x", ""}, {"logs/debug/x", ""}, {"logs/a/b/debug/x", ""}, {"logs/x/debug", "file"},
        {"venv/bin/python", ""}, {"venv-3.11/x", ""}, {"venvfile", ""}}},
      {"ignore file inside an ignored folder is not read",
       {{".gitignore", "vendor/\n"}, {"vendor/.gitignore", "!*\n"}, {"vendor/lib.c", ""}, {"empty/", ""}}},
  };
  return kCases;
}
// clang-format on

class GitignoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "kiln-gitignore-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void Create(const fs::path& root, const std::map<std::string, std::string>& files) {
    for (const auto& [path, contents] : files) {
      if (path.back() == '/') {
        fs::create_directories(root / path);
        continue;
      }
      fs::create_directories((root / path).parent_path());
      std::ofstream(root / path, std::ios::binary) << contents;
    }
  }

  // Every file and folder under root, except .git.
  static std::map<std::string, bool> TreePaths(const fs::path& root) {
    std::map<std::string, bool> paths;  // path → is folder
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
      std::string path = fs::relative(it->path(), root).string();
      if (path == ".git") {
        it.disable_recursion_pending();
        continue;
      }
      paths[path] = it->is_directory() && !it->is_symlink();
    }
    return paths;
  }

  static std::vector<std::string> Git(const fs::path& repo, std::vector<std::string> args) {
    std::vector<std::string> argv = {"git", "-C", repo.string(), "-c", "core.excludesFile=/dev/null"};
    argv.insert(argv.end(), args.begin(), args.end());
    Result<SubprocessResult> result = RunSubprocess(argv);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    if (!result.ok()) return {};
    EXPECT_LE(result->exit_code, 1) << result->stderr_text;
    std::vector<std::string> lines;
    std::istringstream in(result->stdout_text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  fs::path dir_;
};

TEST_F(GitignoreTest, AgreesWithGitCheckIgnoreOnEveryPath) {
  int checked = 0;
  for (const IgnoreCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    fs::path repo = dir_ / ("case" + std::to_string(&c - Cases().data()));
    fs::create_directories(repo);
    Git(repo, {"init", "-q"});
    Create(repo, c.files);
    std::map<std::string, bool> paths = TreePaths(repo);
    std::vector<std::string> args = {"check-ignore", "--no-index", "--"};
    for (const auto& [path, is_dir] : paths) args.push_back(path);
    std::vector<std::string> ignored_lines = Git(repo, args);
    std::set<std::string> git_ignored(ignored_lines.begin(), ignored_lines.end());

    GitignoreMatcher matcher;
    for (const auto& [path, is_dir] : paths) {
      if (fs::path(path).filename() == ".gitignore") {
        std::string folder = fs::path(path).parent_path().string();
        ASSERT_TRUE(matcher.AddRulesFromFile(repo.string(), folder, ".gitignore").ok());
      }
    }
    for (const auto& [path, is_dir] : paths) {
      EXPECT_EQ(matcher.IsIgnored(path, is_dir), git_ignored.count(path) == 1)
          << "path '" << path << "'" << (is_dir ? " (folder)" : "") << ": git says "
          << (git_ignored.count(path) ? "ignored" : "not ignored");
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

TEST_F(GitignoreTest, WalkListsWhatGitListsAsUntracked) {
  for (const IgnoreCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    fs::path repo = dir_ / ("walk" + std::to_string(&c - Cases().data()));
    fs::create_directories(repo);
    Git(repo, {"init", "-q"});
    Create(repo, c.files);
    fs::create_symlink("main.py", repo / "link.py");
    std::vector<std::string> git_files = Git(repo, {"ls-files", "--others", "--exclude-standard"});
    Result<WalkResult> walk = WalkUnignored(repo.string(), {".gitignore"});
    ASSERT_TRUE(walk.ok()) << walk.status().ToString();
    std::vector<std::string> ours;
    for (const WalkedEntry& entry : walk->entries) ours.push_back(entry.path);
    std::sort(git_files.begin(), git_files.end());
    for (std::string& line : git_files) {  // git quotes names with special characters
      if (line.size() > 1 && line.front() == '"') line = line.substr(1, line.size() - 2);
    }
    EXPECT_EQ(ours, git_files);
  }
}

TEST_F(GitignoreTest, WalkRecordsKindsSizesAndHonoursDepthAndKilnignore) {
  Create(dir_, {{".gitignore", "*.log\n"},
                {".kilnignore", "data/\n!debug.log\n"},
                {"run.sh", "#!/bin/sh\n"},
                {"debug.log", "x"},
                {"other.log", "x"},
                {"data/big.csv", "1,2\n"},
                {"a/b/c/deep.txt", "deep"},
                {"a/top.txt", "top!"}});
  fs::permissions(dir_ / "run.sh", fs::perms::owner_exec, fs::perm_options::add);
  fs::create_symlink("run.sh", dir_ / "alias.sh");
  Result<WalkResult> walk = WalkUnignored(dir_.string(), {".gitignore", ".kilnignore"});
  ASSERT_TRUE(walk.ok());
  std::vector<std::string> paths;
  for (const WalkedEntry& entry : walk->entries) paths.push_back(entry.path);
  EXPECT_EQ(paths, (std::vector<std::string>{".gitignore", ".kilnignore", "a/b/c/deep.txt", "a/top.txt",
                                             "alias.sh", "debug.log", "run.sh"}));
  EXPECT_EQ(walk->entries[3].size, 4);
  EXPECT_EQ(walk->entries[4].kind, WalkedEntry::Kind::kSymlink);
  EXPECT_TRUE(walk->entries[6].executable);
  EXPECT_FALSE(walk->entries[3].executable);

  Result<WalkResult> shallow = WalkUnignored(dir_.string(), {".gitignore", ".kilnignore"}, 2);
  ASSERT_TRUE(shallow.ok());
  paths.clear();
  for (const WalkedEntry& entry : shallow->entries) paths.push_back(entry.path);
  EXPECT_EQ(paths, (std::vector<std::string>{".gitignore", ".kilnignore", "a/top.txt", "alias.sh",
                                             "debug.log", "run.sh"}));
  EXPECT_EQ(WalkUnignored((dir_ / "nope").string(), {}).status().message(),
            "folder '" + (dir_ / "nope").string() + "' does not exist");
}

TEST(WildMatchTest, FollowsGitsWildmatch) {
  EXPECT_TRUE(WildMatch("a/**/b", "a/b", true));
  EXPECT_TRUE(WildMatch("a/**/b", "a/x/y/b", true));
  EXPECT_FALSE(WildMatch("a/*/b", "a/x/y/b", true));
  EXPECT_TRUE(WildMatch("a/*/b", "a/x/y/b", false));
  EXPECT_TRUE(WildMatch("**/foo", "foo", true));
  EXPECT_TRUE(WildMatch("abc/**", "abc/x/y", true));
  EXPECT_FALSE(WildMatch("abc/**", "abc", true));
  EXPECT_TRUE(WildMatch("[[:upper:]]x", "Qx", true));
  EXPECT_FALSE(WildMatch("[[:bogus:]]x", "Qx", true));
  EXPECT_TRUE(WildMatch("\\*", "*", true));
  EXPECT_FALSE(WildMatch("\\*", "a", true));
  EXPECT_FALSE(WildMatch("a?b", "a/b", true));
}

TEST(GitignoreMatcherTest, AlwaysIgnoresDotGitAndCountsRules) {
  GitignoreMatcher matcher;
  matcher.AddRules("", "# only a comment\n\n!.git\n*.o\n");
  EXPECT_TRUE(matcher.IsIgnored(".git", true));
  EXPECT_TRUE(matcher.IsIgnored(".git/config", false));
  EXPECT_TRUE(matcher.IsIgnored("sub/.git", false));
  EXPECT_FALSE(matcher.IsIgnored("git", true));
  EXPECT_EQ(matcher.rule_count(), 2u);
}

}  // namespace
}  // namespace kiln::training
