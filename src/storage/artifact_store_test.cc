#include "storage/artifact_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/hashing.h"
#include "storage/migrations.h"

namespace kiln::storage {
namespace {

namespace fs = std::filesystem;

enum class Backend { kSqlite, kPostgres };

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteWhole(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// A value from /proc/self/status in KiB ("VmHWM", "VmRSS"), or -1.
int64_t ProcStatusKib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::strtoll(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

// Writes `bytes` of pseudo-random data in 1 MiB chunks; returns its digest.
std::string WriteRandomFile(const std::string& path, size_t bytes, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<uint64_t> chunk((1 << 20) / sizeof(uint64_t));
  std::ofstream out(path, std::ios::binary);
  Sha256 hasher;
  for (size_t written = 0; written < bytes; written += chunk.size() * sizeof(uint64_t)) {
    for (uint64_t& word : chunk) word = random();
    size_t n = std::min(bytes - written, chunk.size() * sizeof(uint64_t));
    out.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(n));
    hasher.Update(chunk.data(), n);
  }
  return hasher.FinishHex();
}

class ArtifactStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "kiln-artifacts-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    DatabaseOptions options;
    if (GetParam() == Backend::kPostgres) {
      const char* uri = std::getenv("KILN_TEST_POSTGRES_URI");
      if (uri == nullptr || *uri == '\0') GTEST_SKIP() << "KILN_TEST_POSTGRES_URI is not set";
      // A schema of its own, recreated for every test, so other test binaries
      // sharing the server are not disturbed.
      constexpr const char* kSchema = "kiln_artifact_store_test";
      {
        auto admin = Database::Open({.uri = uri, .pool_size = 1});
        ASSERT_TRUE(admin.ok()) << admin.status().ToString();
        auto connection = (*admin)->Acquire();
        ASSERT_TRUE(connection.ok());
        ASSERT_TRUE((*connection)
                        ->ExecuteScript(std::string("DROP SCHEMA IF EXISTS ") + kSchema +
                                        " CASCADE; CREATE SCHEMA " + kSchema)
                        .ok());
      }
      options.uri = std::string(uri) + (std::string(uri).find('?') == std::string::npos ? "?" : "&") +
                    "options=-csearch_path%3D" + kSchema;
    } else {
      options.data_dir = dir_;
    }
    auto database = Database::Open(options);
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(*database);
    Status migrated = database_->Migrate({&Migrations()});
    ASSERT_TRUE(migrated.ok()) << migrated.ToString();
    root_ = dir_ + "/artifacts";
    store_ = std::make_unique<ArtifactStore>(*database_, root_, clock_);
  }

  void TearDown() override {
    store_.reset();
    database_.reset();
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  // Files under objects/, checking that each holds exactly the content its
  // name promises (so no partial object is ever visible).
  std::set<std::string> CompleteObjects() {
    std::set<std::string> digests;
    std::error_code error;
    fs::path objects = fs::path(root_) / "objects";
    if (!fs::exists(objects, error)) return digests;
    for (const auto& entry : fs::recursive_directory_iterator(objects)) {
      if (!entry.is_regular_file()) continue;
      std::string digest = entry.path().parent_path().filename().string() + entry.path().filename().string();
      auto actual = Sha256File(entry.path().string());
      EXPECT_TRUE(actual.ok());
      EXPECT_EQ(*actual, digest) << "object " << entry.path()
                                 << " does not hold the content its name promises";
      digests.insert(digest);
    }
    return digests;
  }

  size_t TempFiles() {
    std::error_code error;
    size_t count = 0;
    for (fs::directory_iterator it(store_->temp_directory(), error), end; !error && it != end;
         it.increment(error)) {
      ++count;
    }
    return count;
  }

  std::string Contents(std::string_view path) {
    auto object = store_->ObjectPath(path);
    EXPECT_TRUE(object.ok()) << object.status().ToString();
    return object.ok() ? ReadWhole(*object) : std::string();
  }

  std::string dir_;
  std::string root_;
  FakeClock clock_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<ArtifactStore> store_;
};

TEST_P(ArtifactStoreTest, PutBytesStoresContentByDigest) {
  auto info = store_->PutBytes("model/weights.bin", "0123456789");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->digest, Sha256Hex("0123456789"));
  EXPECT_EQ(info->size_bytes, 10);
  EXPECT_EQ(info->modified_millis, clock_.NowMillis());

  auto object = store_->ObjectPath("model/weights.bin");
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(*object, root_ + "/objects/" + info->digest.substr(0, 2) + "/" + info->digest.substr(2));
  EXPECT_EQ(ReadWhole(*object), "0123456789");
  struct stat object_stat {};
  ASSERT_EQ(::stat(object->c_str(), &object_stat), 0);
  EXPECT_EQ(object_stat.st_mode & 0222, 0u) << "objects are read-only";

  auto directory = store_->Stat("model");
  ASSERT_TRUE(directory.ok());
  EXPECT_TRUE(directory->is_dir);
  EXPECT_EQ(directory->digest, "");
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_P(ArtifactStoreTest, IdenticalContentIsStoredOnce) {
  ASSERT_TRUE(store_->PutBytes("a.txt", "same bytes").ok());
  ASSERT_TRUE(store_->PutBytes("b/c.txt", "same bytes").ok());
  ASSERT_TRUE(store_->PutBytes("b/d.txt", "other bytes").ok());
  EXPECT_EQ(CompleteObjects(), (std::set<std::string>{Sha256Hex("same bytes"), Sha256Hex("other bytes")}));
  EXPECT_EQ(*store_->ObjectPath("a.txt"), *store_->ObjectPath("b/c.txt"));
}

TEST_P(ArtifactStoreTest, PutFileMovesTheTempFileOrDeletesItWhenTheObjectExists) {
  fs::create_directories(store_->temp_directory());
  std::string first = store_->temp_directory() + "/upload-1";
  std::string second = store_->temp_directory() + "/upload-2";
  WriteWhole(first, "uploaded body");
  WriteWhole(second, "uploaded body");

  auto info = store_->PutFile("run/artifacts/body.txt", first);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(fs::exists(first));
  ASSERT_TRUE(store_->PutFile("run/artifacts/copy.txt", second).ok());
  EXPECT_FALSE(fs::exists(second));
  EXPECT_EQ(CompleteObjects(), std::set<std::string>{Sha256Hex("uploaded body")});
  EXPECT_EQ(Contents("run/artifacts/copy.txt"), "uploaded body");
}

TEST_P(ArtifactStoreTest, ReplacingAFileDropsItsOldObject) {
  ASSERT_TRUE(store_->PutBytes("metrics.json", "{\"v\": 1}").ok());
  clock_.Advance(1000);
  auto info = store_->PutBytes("metrics.json", "{\"v\": 2}");
  ASSERT_TRUE(info.ok());
  auto stat = store_->Stat("metrics.json");
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->digest, Sha256Hex("{\"v\": 2}"));
  EXPECT_EQ(stat->modified_millis, clock_.NowMillis());
  EXPECT_EQ(Contents("metrics.json"), "{\"v\": 2}");
  EXPECT_EQ(CompleteObjects(), std::set<std::string>{Sha256Hex("{\"v\": 2}")});
}

TEST_P(ArtifactStoreTest, PathRulesRejectUnsafePathsWithTheRule) {
  struct Case {
    std::string path;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "invalid artifact path '': the path is empty"},
      {"/etc/passwd",
       "invalid artifact path '/etc/passwd': absolute paths are not allowed; give a path relative to the "
       "artifact root"},
      {"../secrets", "invalid artifact path '../secrets': '.' and '..' segments are not allowed"},
      {"a/../../b", "invalid artifact path 'a/../../b': '.' and '..' segments are not allowed"},
      {"a/./b", "invalid artifact path 'a/./b': '.' and '..' segments are not allowed"},
      {"a//b", "invalid artifact path 'a//b': empty segments ('//' or a trailing '/') are not allowed"},
      {"a/", "invalid artifact path 'a/': empty segments ('//' or a trailing '/') are not allowed"},
      {"a\\b", "invalid artifact path 'a\\b': backslashes are not allowed; separate directories with '/'"},
      {std::string("a\0b", 3), "invalid artifact path 'a\\x00b': NUL bytes are not allowed"},
      {"a\nb", "invalid artifact path 'a\\x0ab': control characters are not allowed"},
      {"bad\xff", "invalid artifact path 'bad\\xff': not valid UTF-8"},
      {std::string(300, 'x'),
       "invalid artifact path '" + std::string(120, 'x') + "...': a segment is longer than 255 bytes"},
      {std::string(1025, 'y'),
       "invalid artifact path '" + std::string(120, 'y') + "...': longer than 1024 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    Status valid = ValidateArtifactPath(c.path);
    EXPECT_EQ(valid.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(valid.message(), c.message);
    auto put = store_->PutBytes(c.path, "x");
    EXPECT_EQ(put.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(put.status().message(), c.message);
    EXPECT_EQ(store_->Stat(c.path).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->ObjectPath(c.path).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Delete(c.path).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ValidateArtifactPath("models/résumé.txt").ok());
  EXPECT_TRUE(ValidateArtifactPath("a/.hidden/..x/file.tar.gz").ok());
  EXPECT_TRUE(ValidateArtifactPath(std::string(255, 'z')).ok());
  EXPECT_EQ(
      store_->List("/").status().message(),
      "invalid artifact path '/': absolute paths are not allowed; give a path relative to the artifact root");
  EXPECT_EQ(store_->List("a/../b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CompleteObjects().size(), 0u);
}

TEST_P(ArtifactStoreTest, FilesAndDirectoriesDoNotCollide) {
  ASSERT_TRUE(store_->PutBytes("a/b", "file").ok());
  auto under_file = store_->PutBytes("a/b/c", "child");
  EXPECT_EQ(under_file.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(under_file.status().message(), "cannot store 'a/b/c': 'a/b' is a file, not a directory");
  auto over_directory = store_->PutBytes("a", "file over a directory");
  EXPECT_EQ(over_directory.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(over_directory.status().message(), "cannot store a file at 'a': it is a directory");
  EXPECT_EQ(Contents("a/b"), "file");
}

TEST_P(ArtifactStoreTest, FailedPutsLeaveOnlyCompleteObjectsAndNoTempFiles) {
  ASSERT_TRUE(store_->PutBytes("keep/me.bin", "kept").ok());
  ASSERT_TRUE(store_->PutBytes("x", "a file").ok());

  // A conflict found under the lock, after hashing: nothing is moved in.
  std::string upload = dir_ + "/upload.part";
  WriteRandomFile(upload, 3 << 20, 7);
  auto conflict = store_->PutFile("x/y", upload);
  EXPECT_EQ(conflict.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(fs::exists(upload)) << "on failure the caller still owns the upload";

  auto missing = store_->PutFile("y", dir_ + "/no-such-upload");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto directory = store_->PutFile("y", dir_);
  EXPECT_EQ(directory.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(directory.status().message(), "'" + dir_ + "' is not a regular file");
  EXPECT_EQ(store_->PutBytes("x/z", "more").status().code(), StatusCode::kFailedPrecondition);

  EXPECT_EQ(CompleteObjects(), (std::set<std::string>{Sha256Hex("kept"), Sha256Hex("a file")}));
  EXPECT_EQ(TempFiles(), 0u);
  EXPECT_EQ(store_->Stat("x/y").status().code(), StatusCode::kNotFound);
}

TEST_P(ArtifactStoreTest, ListReturnsImmediateChildrenLikeMlflow) {
  ASSERT_TRUE(store_->PutBytes("1/run/artifacts/model/MLmodel", "flavors: {}").ok());
  ASSERT_TRUE(store_->PutBytes("1/run/artifacts/model/model.pkl", "pickle").ok());
  ASSERT_TRUE(store_->PutBytes("1/run/artifacts/metrics.json", "{}").ok());
  ASSERT_TRUE(store_->PutBytes("1/run/artifacts_other.txt", "not a child").ok());

  auto listed = store_->List("1/run/artifacts");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].path, "1/run/artifacts/metrics.json");
  EXPECT_FALSE((*listed)[0].is_dir);
  EXPECT_EQ((*listed)[0].size_bytes, 2);
  EXPECT_EQ((*listed)[1].path, "1/run/artifacts/model");
  EXPECT_TRUE((*listed)[1].is_dir);

  auto with_slash = store_->List("1/run/artifacts/");
  ASSERT_TRUE(with_slash.ok());
  EXPECT_EQ(with_slash->size(), 2u);
  auto root = store_->List("");
  ASSERT_TRUE(root.ok());
  ASSERT_EQ(root->size(), 1u);
  EXPECT_EQ((*root)[0].path, "1");
  EXPECT_TRUE(store_->List("missing")->empty());
  EXPECT_TRUE(store_->List("1/run/artifacts/metrics.json")->empty());
}

TEST_P(ArtifactStoreTest, DeleteRemovesFilesAndDirectoriesAndUnreferencedObjects) {
  ASSERT_TRUE(store_->PutBytes("run/model/a.bin", "A").ok());
  ASSERT_TRUE(store_->PutBytes("run/model/sub/b.bin", "B").ok());
  ASSERT_TRUE(store_->PutBytes("run/shared.bin", "A").ok());
  ASSERT_TRUE(store_->PutBytes("run/only.bin", "C").ok());

  ASSERT_TRUE(store_->Delete("run/only.bin").ok());
  EXPECT_EQ(store_->Stat("run/only.bin").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(CompleteObjects(), (std::set<std::string>{Sha256Hex("A"), Sha256Hex("B")}));

  ASSERT_TRUE(store_->Delete("run/model").ok());
  EXPECT_EQ(store_->Stat("run/model").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Stat("run/model/sub/b.bin").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(CompleteObjects(), std::set<std::string>{Sha256Hex("A")}) << "A is still used by run/shared.bin";
  EXPECT_EQ(Contents("run/shared.bin"), "A");
  auto listed = store_->List("run");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].path, "run/shared.bin");

  Status missing = store_->Delete("run/model");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "artifact 'run/model' does not exist");
  auto object = store_->ObjectPath("run");
  EXPECT_EQ(object.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(object.status().message(), "artifact 'run' is a directory, not a file");
}

TEST_P(ArtifactStoreTest, CollectGarbageRemovesOrphanObjectsAndStaleTempFiles) {
  ASSERT_TRUE(store_->PutBytes("kept.txt", "kept").ok());
  std::string orphan_digest = Sha256Hex("orphan");
  fs::create_directories(root_ + "/objects/" + orphan_digest.substr(0, 2));
  WriteWhole(root_ + "/objects/" + orphan_digest.substr(0, 2) + "/" + orphan_digest.substr(2), "orphan");
  WriteWhole(store_->temp_directory() + "/put-crashed", "partial");

  clock_.Set(std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count());
  auto fresh = store_->CollectGarbage();
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->objects_removed, 1);
  EXPECT_EQ(fresh->bytes_removed, 6);
  EXPECT_EQ(fresh->temp_files_removed, 0) << "a recent temp file may belong to a put in flight";

  clock_.Advance(2 * 60 * 60 * 1000);
  auto stale = store_->CollectGarbage();
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->objects_removed, 0);
  EXPECT_EQ(stale->temp_files_removed, 1);
  EXPECT_EQ(CompleteObjects(), std::set<std::string>{Sha256Hex("kept")});
  EXPECT_EQ(Contents("kept.txt"), "kept");
}

// Puts deduplicate against objects that deletes in other threads remove; the
// tree lock must keep every recorded entry's object present.
TEST_P(ArtifactStoreTest, ConcurrentPutsAndDeletesNeverLoseAnObject) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string path = "thread" + std::to_string(t) + "/shared.bin";
      for (int round = 0; round < kRounds; ++round) {
        if (!store_->PutBytes(path, "shared content").ok()) ++failures;
        auto object = store_->ObjectPath(path);
        if (!object.ok() || ReadWhole(*object) != "shared content") ++failures;
        if (!store_->Delete(path).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CompleteObjects().size(), 0u);
}

// A large artifact streams through a fixed-size buffer: peak memory stays far
// below its size (the same code path serves a 2 GB upload).
void ExpectStreamsWithBoundedMemory(ArtifactStore& store, const std::string& upload) {
  constexpr size_t kSize = 64 << 20;
  std::string digest = WriteRandomFile(upload, kSize, 42);
  // Writing "5" to clear_refs resets VmHWM to the current RSS.
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  int64_t before_kib = ProcStatusKib("VmRSS");
  ASSERT_GT(before_kib, 0);

  auto info = store.PutFile("big/blob.bin", upload);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->digest, digest);
  EXPECT_EQ(info->size_bytes, static_cast<int64_t>(kSize));
  auto object = store.ObjectPath("big/blob.bin");
  ASSERT_TRUE(object.ok());
  auto read_back = Sha256File(*object);
  ASSERT_TRUE(read_back.ok());
  EXPECT_EQ(*read_back, digest);

  int64_t peak_growth_kib = ProcStatusKib("VmHWM") - before_kib;
  EXPECT_LT(peak_growth_kib, 16 * 1024)
      << "peak RSS grew by " << peak_growth_kib << " KiB for a 64 MiB artifact";
  EXPECT_FALSE(fs::exists(upload));
}

TEST_P(ArtifactStoreTest, StreamsA64MiBFileWithBoundedMemory) {
  ExpectStreamsWithBoundedMemory(*store_, dir_ + "/big.upload");
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_P(ArtifactStoreTest, CopiesAnUploadFromAnotherFilesystem) {
  struct stat shm {
  }, here{};
  if (::stat("/dev/shm", &shm) != 0 || ::stat(dir_.c_str(), &here) != 0 || shm.st_dev == here.st_dev) {
    GTEST_SKIP() << "/dev/shm is not a separate filesystem here";
  }
  std::string upload = "/dev/shm/kiln-artifact-test-" + std::to_string(::getpid());
  ExpectStreamsWithBoundedMemory(*store_, upload);
  ::unlink(upload.c_str());
  EXPECT_EQ(TempFiles(), 0u) << "the staged copy was moved into place";
}

INSTANTIATE_TEST_SUITE_P(Backends, ArtifactStoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace kiln::storage
