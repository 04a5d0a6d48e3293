#include "training/tar_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/hashing.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Runs a shell command over paths this test created; returns stdout.
std::string Shell(const std::string& command) {
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << command << "\n" << out;
  return out;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TarEntry File(std::string path, std::string contents, bool executable = false) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.contents = std::move(contents);
  entry.executable = executable;
  return entry;
}

TarEntry Link(std::string path, std::string target) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.type = TarEntryType::kSymlink;
  entry.link_target = std::move(target);
  return entry;
}

TarEntry Folder(std::string path) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.type = TarEntryType::kDirectory;
  return entry;
}

// A hand-made ustar member, for archives our writer refuses to produce.
std::string RawMember(const std::string& name, char type, const std::string& link = "",
                      const std::string& data = "") {
  std::string block(512, '\0');
  std::memcpy(block.data(), name.data(), name.size());
  std::snprintf(block.data() + 100, 8, "%07o", 0644);
  std::snprintf(block.data() + 108, 8, "%07o", 0);
  std::snprintf(block.data() + 116, 8, "%07o", 0);
  std::snprintf(block.data() + 124, 12, "%011o", static_cast<unsigned>(data.size()));
  std::snprintf(block.data() + 136, 12, "%011o", 0);
  block[156] = type;
  std::memcpy(block.data() + 157, link.data(), link.size());
  std::memcpy(block.data() + 257,
              "ustar\0"
              "00",
              8);
  std::memset(block.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : block) sum += c;
  std::snprintf(block.data() + 148, 8, "%06o", sum);
  std::string padded = data + std::string((512 - data.size() % 512) % 512, '\0');
  return block + padded;
}

std::string End() { return std::string(1024, '\0'); }

class TarArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "kiln-tar-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string WriteArchive(const std::string& bytes) {
    std::string path = (dir_ / "archive.tar").string();
    WriteFile(path, bytes);
    return path;
  }

  fs::path dir_;
};

const std::string kLongPath = std::string(120, 'd') + "/" + std::string(90, 'f') + ".txt";  // prefix + name
const std::string kVeryLongPath =
    std::string(150, 'a') + "/" + std::string(150, 'b') + "/" + std::string(20, 'c');

std::vector<TarEntry> SampleEntries() {
  return {File("src/train.py", "print('hi')\n"),
          File("run.sh", "#!/bin/sh\necho run\n", /*executable=*/true),
          Link("config.yaml", "src/config.yaml"),
          Folder("empty"),
          File(kLongPath, "long\n"),
          File(kVeryLongPath, "very long\n"),
          Link("far", std::string(130, 'x')),
          File("src/config.yaml", std::string(1000, 'y'))};
}

TEST_F(TarArchiveTest, SameEntriesInAnyOrderGiveIdenticalBytes) {
  std::vector<TarEntry> entries = SampleEntries();
  Result<std::string> first = WriteTar(entries);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::reverse(entries.begin(), entries.end());
  Result<std::string> second = WriteTar(entries);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Sha256Hex(*first), Sha256Hex(*second));
  EXPECT_EQ(first->size() % 512, 0u);
  entries[0].contents += "x";
  EXPECT_NE(*WriteTar(entries), *first);
}

TEST_F(TarArchiveTest, GnuTarListsTheSameEntriesWithZeroOwnersAndTimes) {
  Result<std::string> archive = WriteTar(SampleEntries());
  ASSERT_TRUE(archive.ok());
  std::string path = WriteArchive(*archive);
  std::string listing = Shell("tar --numeric-owner --utc -tvf " + path);
  // Entries appear sorted by path; check each line's mode, owner, size and name.
  std::vector<std::string> want = {
      "-rw-r--r-- 0/0              10 1970-01-01 00:00 " + kVeryLongPath,
      "lrwxrwxrwx 0/0               0 1970-01-01 00:00 config.yaml -> src/config.yaml",
      "-rw-r--r-- 0/0               5 1970-01-01 00:00 " + kLongPath,
      "drwxr-xr-x 0/0               0 1970-01-01 00:00 empty/",
      "lrwxrwxrwx 0/0               0 1970-01-01 00:00 far -> " + std::string(130, 'x'),
      "-rwxr-xr-x 0/0              19 1970-01-01 00:00 run.sh",
      "-rw-r--r-- 0/0            1000 1970-01-01 00:00 src/config.yaml",
      "-rw-r--r-- 0/0              12 1970-01-01 00:00 src/train.py",
  };
  std::string joined;
  for (const std::string& line : want) joined += line + "\n";
  EXPECT_EQ(listing, joined);
  // GNU tar extracts the same contents.
  fs::create_directories(dir_ / "gnu");
  Shell("tar -xf " + path + " -C " + (dir_ / "gnu").string());
  EXPECT_EQ(ReadFile(dir_ / "gnu" / kVeryLongPath), "very long\n");
  EXPECT_EQ(fs::read_symlink(dir_ / "gnu" / "far").string(), std::string(130, 'x'));
}

TEST_F(TarArchiveTest, ReadTarRoundTrips) {
  Result<std::string> archive = WriteTar(SampleEntries());
  ASSERT_TRUE(archive.ok());
  Result<std::vector<TarEntry>> entries = ReadTar(*archive);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 8u);
  // Sorted by path.
  EXPECT_EQ((*entries)[0].path, kVeryLongPath);
  EXPECT_EQ((*entries)[0].contents, "very long\n");
  EXPECT_EQ((*entries)[1].path, "config.yaml");
  EXPECT_EQ((*entries)[1].type, TarEntryType::kSymlink);
  EXPECT_EQ((*entries)[1].link_target, "src/config.yaml");
  EXPECT_EQ((*entries)[2].path, kLongPath);
  EXPECT_EQ((*entries)[3].type, TarEntryType::kDirectory);
  EXPECT_EQ((*entries)[3].path, "empty");
  EXPECT_EQ((*entries)[4].link_target, std::string(130, 'x'));
  EXPECT_TRUE((*entries)[5].executable);
  EXPECT_FALSE((*entries)[6].executable);
  EXPECT_EQ((*entries)[6].contents, std::string(1000, 'y'));
  EXPECT_EQ((*entries)[7].path, "src/train.py");
}

TEST_F(TarArchiveTest, ReadsArchivesWrittenByGnuTarInGnuAndPosixFormats) {
  WriteFile(dir_ / "in" / kVeryLongPath, "deep\n");
  WriteFile(dir_ / "in" / "top.txt", "top\n");
  for (const char* format : {"gnu", "posix"}) {
    std::string out = (dir_ / (std::string(format) + ".tar")).string();
    Shell("tar --format=" + std::string(format) + " -C " + (dir_ / "in").string() + " -cf " + out + " .");
    Result<std::vector<TarEntry>> entries = ReadTar(ReadFile(out));
    ASSERT_TRUE(entries.ok()) << format << ": " << entries.status().ToString();
    std::map<std::string, std::string> files;
    for (const TarEntry& entry : *entries) {
      if (entry.type == TarEntryType::kFile) files[entry.path] = entry.contents;
    }
    EXPECT_EQ(files, (std::map<std::string, std::string>{{kVeryLongPath, "deep\n"}, {"top.txt", "top\n"}}))
        << format;
  }
}

TEST_F(TarArchiveTest, WritesFilesFromDiskAndReportsDigest) {
  WriteFile(dir_ / "a.txt", "alpha\n");
  TarWriter writer;
  writer.AddFile("a.txt", (dir_ / "a.txt").string(), false);
  writer.AddBytes("b.txt", "beta\n", true);
  std::string out = (dir_ / "out.tar").string();
  Result<TarSummary> summary = writer.WriteToFile(out);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  std::string bytes = ReadFile(out);
  EXPECT_EQ(summary->sha256, Sha256Hex(bytes));
  EXPECT_EQ(summary->archive_bytes, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(summary->members, 2);
  EXPECT_EQ(summary->content_bytes, 11);
  EXPECT_EQ(*writer.WriteToString(), bytes);
  EXPECT_EQ(*WriteTar({File("b.txt", "beta\n", true), File("a.txt", "alpha\n")}), bytes);
}

TEST_F(TarArchiveTest, WriterRefusesBadPathsDuplicatesAndMissingFiles) {
  EXPECT_EQ(WriteTar({File("a/../b", "x")}).status().message(),
            "archive path 'a/../b': '.' and '..' segments are not allowed");
  EXPECT_EQ(WriteTar({File("/etc/x", "x")}).status().message(),
            "archive path '/etc/x': absolute paths are not allowed");
  EXPECT_EQ(WriteTar({File("a//b", "x")}).status().message(),
            "archive path 'a//b': empty segment (double or trailing '/')");
  EXPECT_EQ(WriteTar({File("a", "x"), Link("a", "b")}).status().message(), "archive path 'a' appears twice");
  TarWriter writer;
  std::string missing = (dir_ / "missing.txt").string();
  writer.AddFile("missing.txt", missing, false);
  std::string out = (dir_ / "out.tar").string();
  Result<TarSummary> summary = writer.WriteToFile(out);
  EXPECT_EQ(summary.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(summary.status().message(), HasSubstr("cannot read '" + missing + "'"));
  EXPECT_FALSE(fs::exists(out)) << "a failed write leaves no partial archive";
}

TEST_F(TarArchiveTest, ExtractsFilesModesFoldersAndInsideSymlinks) {
  std::vector<TarEntry> entries = SampleEntries();
  entries.push_back(Link("src/up", "../run.sh"));
  entries.push_back(Link("src/chain", "up"));
  entries.erase(entries.begin() + 6);  // "far": dangling, fine, but keep the tree tidy
  std::string path = WriteArchive(*WriteTar(entries));
  fs::path dest = dir_ / "out";
  Status status = ExtractTar(path, dest.string());
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(ReadFile(dest / "src/train.py"), "print('hi')\n");
  EXPECT_EQ(fs::status(dest / "run.sh").permissions() & fs::perms::all,
            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                fs::perms::others_exec);
  EXPECT_EQ(fs::status(dest / "src/train.py").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  EXPECT_TRUE(fs::is_directory(dest / "empty"));
  EXPECT_TRUE(fs::is_symlink(dest / "config.yaml"));
  EXPECT_EQ(ReadFile(dest / "config.yaml"), std::string(1000, 'y'));
  EXPECT_EQ(ReadFile(dest / "src/chain"), "#!/bin/sh\necho run\n");
  EXPECT_EQ(ReadFile(dest / kVeryLongPath), "very long\n");
  // The destination must be empty.
  EXPECT_EQ(ExtractTar(path, dest.string()).message(),
            "cannot extract into '" + dest.string() + "': the folder is not empty");
}

struct UnsafeCase {
  std::string name;
  std::string archive;
  std::string error;
};

TEST_F(TarArchiveTest, ExtractRefusesPathTricksNamingTheEntry) {
  std::vector<UnsafeCase> cases = {
      {"absolute", RawMember("/tmp/evil", '0', "", "x"),
       "tar entry '/tmp/evil': absolute paths are not allowed"},
      {"dotdot", RawMember("a/../../evil", '0', "", "x"),
       "tar entry 'a/../../evil': '..' segments are not allowed"},
      {"absolute link", RawMember("etc", '2', "/etc"), "tar entry 'etc': symlink target '/etc' is absolute"},
      {"escaping link", RawMember("sub/up", '2', "../../x"),
       "tar entry 'sub/up': symlink target '../../x' points outside the archive"},
      {"escape through another link", RawMember("here", '2', ".") + RawMember("parent", '2', "here/.."),
       "tar entry 'parent': symlink target 'here/..' points outside the archive"},
      {"write through link", RawMember("sub", '2', "inside") + RawMember("sub/file", '0', "", "x"),
       "tar entry 'sub/file': 'sub' is a symlink; refusing to write through it"},
      {"hard link", RawMember("h", '1', "x"), "tar entry 'h': hard links are not supported"},
      {"device", RawMember("dev", '3'),
       "tar entry 'dev': unsupported entry type '3' (only files, folders and symlinks)"},
  };
  for (const UnsafeCase& c : cases) {
    fs::path dest = dir_ / ("out-" + std::to_string(&c - cases.data()));
    Status status = ExtractTarBytes(c.archive + End(), dest.string());
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(status.message(), c.error) << c.name;
    EXPECT_FALSE(fs::exists("/tmp/evil"));
  }
  // The chained link is legal when it stays inside.
  Status ok = ExtractTarBytes(RawMember("d/here", '2', ".") + RawMember("parent", '2', "d/here/..") + End(),
                              (dir_ / "fine").string());
  EXPECT_TRUE(ok.ok()) << ok.ToString();
}

TEST_F(TarArchiveTest, CorruptAndTruncatedArchivesAreReported) {
  std::string archive = *WriteTar({File("a.txt", std::string(2000, 'a'))});
  std::string corrupt = archive;
  corrupt[10] = 'Z';
  EXPECT_EQ(ReadTar(corrupt).status().message(), "not a tar archive: header checksum mismatch at byte 0");
  EXPECT_EQ(ReadTar(archive.substr(0, 1024)).status().message(),
            "truncated tar archive: it ends inside member data at byte 1024");
  EXPECT_EQ(ExtractTar((dir_ / "nope.tar").string(), (dir_ / "x").string()).code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadTar(std::string(700, 'q')).status().message(),
            "not a tar archive: header checksum mismatch at byte 0");
}

}  // namespace
}  // namespace kiln::training
