// RocksDB-specific behaviour of the embedded online store: the process lock,
// the key layout, reopening, corrupt values, and measured rates.
#include "features/rocksdb_online_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "features/online_store_testing.h"

namespace kiln::features {
namespace {

using data::Type;
using testing_support::FloatRecord;
using testing_support::Int64Key;
using testing_support::TempDir;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(RocksDbOnlineStoreTest, SecondOpenIsRefusedWithAClearMessage) {
  TempDir dir;
  std::string path = dir.path() + "/online";
  auto first = RocksDbOnlineStore::Open(path, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = RocksDbOnlineStore::Open(path, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().ToString(),
            "FAILED_PRECONDITION: cannot open the online store at " + path +
                ": it is locked by another kiln process (is a server running? use --server)");
  first->reset();  // closing releases the lock
  auto third = RocksDbOnlineStore::Open(path, {});
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

// Another process holding the database (RocksDB locks <dir>/LOCK with fcntl;
// a python3 child takes the same lock) gets the same message.
TEST(RocksDbOnlineStoreTest, AnotherProcessHoldingTheLockIsNamed) {
  TempDir dir;
  std::string path = dir.path() + "/online";
  ASSERT_TRUE(RocksDbOnlineStore::Open(path, {}).ok());  // creates, then closes
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t child = fork();
  if (child == 0) {
    dup2(out[1], 1);
    close(out[0]);
    std::string script =
        "import fcntl, sys, time\n"
        "f = open(sys.argv[1], 'r+')\n"
        "fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n";
    std::string lock_file = path + "/LOCK";
    execl("/usr/bin/python3", "python3", "-c", script.c_str(), lock_file.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string line;
  char c = 0;
  while (line.size() < 16 && read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  auto store = RocksDbOnlineStore::Open(path, {});
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  close(out[0]);
  ASSERT_EQ(line, "locked") << "the lock-holding python3 child did not start";
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().ToString(),
            "FAILED_PRECONDITION: cannot open the online store at " + path +
                ": it is locked by another kiln process (is a server running? use --server)");
}

TEST(RocksDbOnlineStoreTest, RecordsSurviveAReopen) {
  TempDir dir;
  std::string path = dir.path() + "/a/b/online";  // parents are created
  ViewKey view{"delays", 7};
  std::vector<std::string> keys = {Int64Key(1)};
  std::vector<OnlineRecord> records = {FloatRecord(5, 3, 1.5)};
  {
    auto store = RocksDbOnlineStore::Open(path, {});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->Describe(), "rocksdb:" + path);
    ASSERT_TRUE((*store)->Write(view, keys, records).ok());
  }
  auto store = RocksDbOnlineStore::Open(path, {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::vector<Type> types(3, Type::kFloat64);
  std::vector<std::optional<OnlineRecord>> out;
  ASSERT_TRUE((*store)->Read(view, types, keys, &out).ok());
  ASSERT_TRUE(out[0].has_value());
  EXPECT_EQ(out[0]->values[2].f, 3.5);
}

// The prediction server reads the store beside the process that owns it:
// no lock, read-only, and Refresh() brings in the owner's later writes.
TEST(RocksDbOnlineStoreTest, AFollowerReadsBesideTheOwnerAndCatchesUp) {
  TempDir dir;
  std::string path = dir.path() + "/online";
  RocksDbOnlineStore::Options follower_options;
  follower_options.follower = true;
  auto missing = RocksDbOnlineStore::Open(path, follower_options);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().ToString(), "FAILED_PRECONDITION: no online store at " + path +
                                             ": materialize features first");

  ViewKey view{"delays", 7};
  std::vector<Type> types(3, Type::kFloat64);
  auto owner = RocksDbOnlineStore::Open(path, {});
  ASSERT_TRUE(owner.ok()) << owner.status().ToString();
  std::vector<std::string> first_key = {Int64Key(1)};
  std::vector<OnlineRecord> first_record = {FloatRecord(5, 3, 1.5)};
  ASSERT_TRUE((*owner)->Write(view, first_key, first_record).ok());
  auto follower = RocksDbOnlineStore::Open(path, follower_options);
  ASSERT_TRUE(follower.ok()) << follower.status().ToString();
  EXPECT_EQ((*follower)->Describe(), "rocksdb:" + path);  // the same store

  std::vector<std::string> keys = {Int64Key(1), Int64Key(2)};
  std::vector<std::optional<OnlineRecord>> out;
  ASSERT_TRUE((*follower)->Read(view, types, keys, &out).ok());
  ASSERT_TRUE(out[0].has_value());
  EXPECT_EQ(out[0]->values[2].f, 3.5);
  EXPECT_FALSE(out[1].has_value());

  std::vector<std::string> second_key = {Int64Key(2)};
  std::vector<OnlineRecord> second_record = {FloatRecord(6, 3, 10)};
  ASSERT_TRUE((*owner)->Write(view, second_key, second_record).ok());
  Result<bool> refreshed = (*follower)->Refresh();
  ASSERT_TRUE(refreshed.ok());
  EXPECT_TRUE(*refreshed);
  Result<bool> again = (*follower)->Refresh();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);  // nothing new
  ASSERT_TRUE((*follower)->Read(view, types, keys, &out).ok());
  ASSERT_TRUE(out[1].has_value());
  EXPECT_EQ(out[1]->values[0].f, 10);

  Status refused = (*follower)->Write(view, second_key, second_record);
  EXPECT_EQ(refused.ToString(), "FAILED_PRECONDITION: the online store at " + path + " is open read-only here");
}

// kiln serve's store: the follower behind the in-process cache. The cache
// answers from memory between catch-ups and is emptied by one that brings
// new data, so a value replaced by the owner is seen after Refresh().
TEST(RocksDbOnlineStoreTest, TheCachedFollowerSeesTheOwnersWritesAfterRefresh) {
  TempDir dir;
  std::string path = dir.path() + "/online";
  ViewKey view{"delays", 7};
  std::vector<Type> types(3, Type::kFloat64);
  std::vector<std::string> keys = {Int64Key(1)};
  std::vector<OnlineRecord> first = {FloatRecord(5, 3, 1.5)};
  std::vector<OnlineRecord> second = {FloatRecord(9, 3, 7.5)};
  auto owner = RocksDbOnlineStore::Open(path, {});
  ASSERT_TRUE(owner.ok()) << owner.status().ToString();
  ASSERT_TRUE((*owner)->Write(view, keys, first).ok());
  auto follower = OpenOnlineStore("rocksdb-follower:" + path, "");
  ASSERT_TRUE(follower.ok()) << follower.status().ToString();
  std::vector<std::optional<OnlineRecord>> out;
  ASSERT_TRUE((*follower)->Read(view, types, keys, &out).ok());
  EXPECT_EQ(out[0]->values[0].f, 1.5);

  ASSERT_TRUE((*owner)->Write(view, keys, second).ok());
  ASSERT_TRUE((*follower)->Read(view, types, keys, &out).ok());
  EXPECT_EQ(out[0]->values[0].f, 1.5);  // cached until the next catch-up
  Result<bool> refreshed = (*follower)->Refresh();
  ASSERT_TRUE(refreshed.ok()) << refreshed.status().ToString();
  EXPECT_TRUE(*refreshed);
  ASSERT_TRUE((*follower)->Read(view, types, keys, &out).ok());
  EXPECT_EQ(out[0]->values[0].f, 7.5);
}

TEST(RocksDbOnlineStoreTest, KeyLayoutIsViewNulFingerprintEntity) {
  std::string key = RocksDbOnlineStore::RecordKey(ViewKey{"ab", 0x0102030405060708ULL}, "xyz");
  EXPECT_EQ(key, std::string("ab\0\x01\x02\x03\x04\x05\x06\x07\x08xyz", 14));
}

TEST(RocksDbOnlineStoreTest, ACorruptValueNamesTheStoreAndView) {
  TempDir dir;
  std::string path = dir.path() + "/online";
  ViewKey view{"delays", 7};
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, path, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), RocksDbOnlineStore::RecordKey(view, Int64Key(1)), "garbage").ok());
  }
  auto store = RocksDbOnlineStore::Open(path, {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::vector<Type> types(1, Type::kFloat64);
  std::vector<std::string> keys = {Int64Key(1)};
  std::vector<std::optional<OnlineRecord>> out;
  Status status = (*store)->Read(view, types, keys, &out);
  EXPECT_EQ(status.ToString(), "INTERNAL: online store rocksdb:" + path +
                                   ", view 'delays': corrupt online store record: format_version "
                                   "103 is not 1 (re-materialize the view to rewrite it)");
  // A write over the corrupt value replaces it.
  std::vector<OnlineRecord> records = {FloatRecord(1, 1, 2.0)};
  ASSERT_TRUE((*store)->Write(view, keys, records).ok());
  ASSERT_TRUE((*store)->Read(view, types, keys, &out).ok());
  EXPECT_EQ(out[0]->values[0].f, 2.0);
}

TEST(RocksDbOnlineStoreTest, AnUncreatableDirectoryIsReported) {
  auto store = RocksDbOnlineStore::Open("/proc/kiln-online-test/online", {});
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().message().starts_with(
      "cannot create the online store directory /proc/kiln-online-test/online: "))
      << store.status().ToString();
}

// Measures (prints, does not assert) write and uncached lookup rates for a
// view of 50 float64 features; asserts only that every lookup finds its record.
TEST(RocksDbOnlineStoreTest, MeasureWriteAndLookupRates) {
  constexpr int kEntities = 100'000, kBatch = 1'000, kFeatures = 50;
  TempDir dir;
  auto opened = RocksDbOnlineStore::Open(dir.path() + "/online", {});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  RocksDbOnlineStore& store = **opened;
  ViewKey view{"bench", 1};
  std::vector<Type> types(kFeatures, Type::kFloat64);

  auto start = std::chrono::steady_clock::now();
  int64_t cpu_start = testing_support::ThreadCpuNanos();
  for (int begin = 0; begin < kEntities; begin += kBatch) {
    std::vector<std::string> keys;
    std::vector<OnlineRecord> records;
    for (int id = begin; id < begin + kBatch; ++id) {
      keys.push_back(Int64Key(id));
      records.push_back(FloatRecord(id, kFeatures, id * 0.5));
    }
    ASSERT_TRUE(store.Write(view, keys, records).ok());
  }
  double write_seconds = SecondsSince(start);
  double write_cpu = (testing_support::ThreadCpuNanos() - cpu_start) * 1e-9;

  std::mt19937_64 random(7);
  std::vector<std::string> keys(1);
  std::vector<std::optional<OnlineRecord>> out;
  int lookups = 0, found = 0;
  start = std::chrono::steady_clock::now();
  cpu_start = testing_support::ThreadCpuNanos();
  while (SecondsSince(start) < 1.0) {
    for (int i = 0; i < 1000; ++i, ++lookups) {
      keys[0] = Int64Key(static_cast<int64_t>(random() % kEntities));
      ASSERT_TRUE(store.Read(view, types, keys, &out).ok());
      found += out[0].has_value() ? 1 : 0;
    }
  }
  double read_seconds = SecondsSince(start);
  double read_cpu = (testing_support::ThreadCpuNanos() - cpu_start) * 1e-9;
  EXPECT_EQ(found, lookups);

  std::vector<std::string> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(Int64Key(i * 997 % kEntities));
  int batched = 0;
  start = std::chrono::steady_clock::now();
  cpu_start = testing_support::ThreadCpuNanos();
  while (SecondsSince(start) < 0.5) {
    ASSERT_TRUE(store.Read(view, types, batch, &out).ok());
    batched += 100;
  }
  double batch_seconds = SecondsSince(start);
  double batch_cpu = (testing_support::ThreadCpuNanos() - cpu_start) * 1e-9;
  std::printf(
      "[ measure  ] RocksDB, 50 float64 features (per CPU-second of the calling thread "
      "in brackets): write %.0f [%.0f] records/s (batches of %d); uncached lookup %.0f "
      "[%.0f] lookups/s (1 key per Read), %.0f [%.0f] keys/s (100 keys per Read)\n",
      kEntities / write_seconds, kEntities / write_cpu, kBatch, lookups / read_seconds, lookups / read_cpu,
      batched / batch_seconds, batched / batch_cpu);
}

}  // namespace
}  // namespace kiln::features
