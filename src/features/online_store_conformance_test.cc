// One behaviour suite for every online store: RocksDB in a temporary
// directory, the in-process cache over RocksDB, and Redis (KILN_TEST_REDIS_URI,
// or a redis-server the test starts on a free loopback port).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <thread>

#include "features/cached_online_store.h"
#include "features/online_store.h"
#include "features/online_store_testing.h"
#include "features/redis_online_store.h"
#include "features/rocksdb_online_store.h"

namespace kiln::features {
namespace {

using data::Type;
using data::Value;
using testing_support::FloatRecord;
using testing_support::Int64Key;
using testing_support::TempDir;

enum class Backend { kRocksDb, kCachedRocksDb, kRedis };

class OnlineStoreConformanceTest : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    view_ = "view_" + testing_support::UniqueSuffix();
    if (GetParam() == Backend::kRedis) {
      std::string why;
      std::string uri = testing_support::RedisForTests::Uri(&why);
      if (uri.empty()) GTEST_SKIP() << "no Redis for the test: " << why;
      auto redis = RedisOnlineStore::Open(uri, RedisOnlineStore::Options());
      ASSERT_TRUE(redis.ok()) << redis.status().ToString();
      store_ = std::move(redis).value();
      return;
    }
    auto rocks = RocksDbOnlineStore::Open(dir_.path() + "/online", RocksDbOnlineStore::Options());
    ASSERT_TRUE(rocks.ok()) << rocks.status().ToString();
    if (GetParam() == Backend::kRocksDb) {
      store_ = std::move(rocks).value();
    } else {
      store_ = std::make_unique<CachedOnlineStore>(std::move(rocks).value(), CachedOnlineStore::Options());
    }
  }

  ViewKey Key(uint64_t fingerprint = 42) const { return ViewKey{view_, fingerprint}; }

  void WriteOne(const ViewKey& view, int64_t id, const OnlineRecord& record) {
    std::vector<std::string> keys = {Int64Key(id)};
    ASSERT_TRUE(store_->Write(view, keys, std::span<const OnlineRecord>(&record, 1)).ok());
  }

  std::optional<OnlineRecord> ReadOne(const ViewKey& view, std::span<const Type> types, int64_t id) {
    std::vector<std::string> keys = {Int64Key(id)};
    std::vector<std::optional<OnlineRecord>> out;
    Status status = store_->Read(view, types, keys, &out);
    EXPECT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? std::nullopt : out[0];
  }

  TempDir dir_;
  std::string view_;
  std::unique_ptr<OnlineStore> store_;
};

const std::vector<Type> kTwoFloats = {Type::kFloat64, Type::kFloat64};

TEST_P(OnlineStoreConformanceTest, WritesAndReadsEveryType) {
  std::vector<Type> types = {Type::kBool,      Type::kInt64,   Type::kFloat64, Type::kString,
                             Type::kTimestamp, Type::kFloat64, Type::kString};
  OnlineRecord record;
  record.event_micros = 1'000;
  record.written_micros = 2'000;
  record.values = {Value::Bool(true),
                   Value::Int(-7),
                   Value::Float(std::nan("")),
                   Value::String("Zürich ✈"),
                   Value::Timestamp(978'307'200'000'000),
                   Value::Null(Type::kFloat64),
                   Value::String("")};
  std::vector<Value> entity = {Value::String("JFK"), Value::Int(3)};
  std::vector<std::string> keys = {EncodeEntityKey(entity)};
  ASSERT_TRUE(store_->Write(Key(), keys, std::span<const OnlineRecord>(&record, 1)).ok());

  std::vector<std::optional<OnlineRecord>> out;
  ASSERT_TRUE(store_->Read(Key(), types, keys, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_value());
  EXPECT_EQ(out[0]->event_micros, 1'000);
  EXPECT_EQ(out[0]->written_micros, 2'000);
  ASSERT_EQ(out[0]->values.size(), record.values.size());
  for (size_t i = 0; i < record.values.size(); ++i) {
    EXPECT_TRUE(out[0]->values[i].BitwiseEquals(record.values[i])) << "value " << i;
  }
}

TEST_P(OnlineStoreConformanceTest, ReadsManyKeysInRequestOrderWithMisses) {
  std::vector<std::string> keys;
  std::vector<OnlineRecord> records;
  for (int64_t id = 0; id < 100; id += 2) {
    keys.push_back(Int64Key(id));
    records.push_back(FloatRecord(id, 2, static_cast<double>(id)));
  }
  ASSERT_TRUE(store_->Write(Key(), keys, records).ok());

  std::vector<int64_t> wanted = {5, 4, 200, 0, 4, 98, -2};
  std::vector<std::string> wanted_keys;
  for (int64_t id : wanted) wanted_keys.push_back(Int64Key(id));
  std::vector<std::optional<OnlineRecord>> out;
  ASSERT_TRUE(store_->Read(Key(), kTwoFloats, wanted_keys, &out).ok());
  ASSERT_EQ(out.size(), wanted.size());
  for (size_t i = 0; i < wanted.size(); ++i) {
    bool stored = wanted[i] >= 0 && wanted[i] < 100 && wanted[i] % 2 == 0;
    ASSERT_EQ(out[i].has_value(), stored) << "key " << wanted[i];
    if (stored) {
      EXPECT_EQ(out[i]->event_micros, wanted[i]);
      EXPECT_EQ(out[i]->values[1].f, wanted[i] + 1.0);
    }
  }
  // Twice: a cache answers the second read from memory, with the same result.
  std::vector<std::optional<OnlineRecord>> again;
  ASSERT_TRUE(store_->Read(Key(), kTwoFloats, wanted_keys, &again).ok());
  ASSERT_EQ(again.size(), out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(again[i].has_value(), out[i].has_value());
    if (out[i]) {
      EXPECT_EQ(again[i]->values[0].f, out[i]->values[0].f);
    }
  }
}

TEST_P(OnlineStoreConformanceTest, NeverReplacesANewerEvent) {
  WriteOne(Key(), 1, FloatRecord(100, 2, 1.0));
  ReadOne(Key(), kTwoFloats, 1);                // a cache now holds the record
  WriteOne(Key(), 1, FloatRecord(50, 2, 2.0));  // a late backfill
  EXPECT_EQ(ReadOne(Key(), kTwoFloats, 1)->values[0].f, 1.0);
  WriteOne(Key(), 1, FloatRecord(100, 2, 3.0));  // same event time: replaces
  EXPECT_EQ(ReadOne(Key(), kTwoFloats, 1)->values[0].f, 3.0);
  WriteOne(Key(), 1, FloatRecord(150, 2, 4.0));
  std::optional<OnlineRecord> newest = ReadOne(Key(), kTwoFloats, 1);
  EXPECT_EQ(newest->values[0].f, 4.0);
  EXPECT_EQ(newest->event_micros, 150);

  // Within one batch the same rule holds between records of one key.
  std::vector<std::string> keys = {Int64Key(2), Int64Key(2), Int64Key(3), Int64Key(3)};
  std::vector<OnlineRecord> records = {FloatRecord(10, 2, 10.0), FloatRecord(5, 2, 5.0),
                                       FloatRecord(5, 2, 5.0), FloatRecord(10, 2, 10.0)};
  ASSERT_TRUE(store_->Write(Key(), keys, records).ok());
  EXPECT_EQ(ReadOne(Key(), kTwoFloats, 2)->values[0].f, 10.0);
  EXPECT_EQ(ReadOne(Key(), kTwoFloats, 3)->values[0].f, 10.0);
}

TEST_P(OnlineStoreConformanceTest, WriteAfterAMissIsVisible) {
  EXPECT_FALSE(ReadOne(Key(), kTwoFloats, 9).has_value());  // a cache remembers the miss
  WriteOne(Key(), 9, FloatRecord(1, 2, 9.0));
  std::optional<OnlineRecord> record = ReadOne(Key(), kTwoFloats, 9);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->values[0].f, 9.0);
}

TEST_P(OnlineStoreConformanceTest, FingerprintsIsolateDefinitions) {
  ViewKey old_definition = Key(1);
  ViewKey new_definition = Key(2);
  WriteOne(old_definition, 1, FloatRecord(10, 2, 1.0));
  EXPECT_FALSE(ReadOne(new_definition, kTwoFloats, 1).has_value());
  std::vector<Type> three = {Type::kFloat64, Type::kFloat64, Type::kFloat64};
  WriteOne(new_definition, 1, FloatRecord(5, 3, 7.0));  // older event, other definition
  EXPECT_EQ(ReadOne(new_definition, three, 1)->values[2].f, 9.0);
  EXPECT_EQ(ReadOne(old_definition, kTwoFloats, 1)->values[0].f, 1.0);
}

TEST_P(OnlineStoreConformanceTest, DeleteViewRemovesEveryFingerprintOfThatViewOnly) {
  ViewKey other{view_ + "_more", 1};  // shares the name as a prefix
  WriteOne(Key(1), 1, FloatRecord(10, 2, 1.0));
  WriteOne(Key(2), 1, FloatRecord(10, 2, 2.0));
  WriteOne(other, 1, FloatRecord(10, 2, 3.0));
  ASSERT_TRUE(ReadOne(Key(1), kTwoFloats, 1).has_value());  // cached, if a cache

  ASSERT_TRUE(store_->DeleteView(view_).ok());
  EXPECT_FALSE(ReadOne(Key(1), kTwoFloats, 1).has_value());
  EXPECT_FALSE(ReadOne(Key(2), kTwoFloats, 1).has_value());
  ASSERT_TRUE(ReadOne(other, kTwoFloats, 1).has_value());
  EXPECT_EQ(ReadOne(other, kTwoFloats, 1)->values[0].f, 3.0);

  WriteOne(Key(1), 1, FloatRecord(1, 2, 4.0));  // an older event is fine after a delete
  EXPECT_EQ(ReadOne(Key(1), kTwoFloats, 1)->values[0].f, 4.0);
  EXPECT_TRUE(store_->DeleteView("no_such_view").ok());
}

TEST_P(OnlineStoreConformanceTest, EmptyCallsAndMismatchedSizes) {
  std::vector<std::optional<OnlineRecord>> out(3);
  ASSERT_TRUE(store_->Read(Key(), kTwoFloats, {}, &out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(store_->Write(Key(), {}, {}).ok());
  std::vector<std::string> keys = {Int64Key(1)};
  std::vector<OnlineRecord> records = {FloatRecord(1, 2, 0), FloatRecord(2, 2, 0)};
  Status status = store_->Write(Key(), keys, records);
  EXPECT_EQ(status.ToString(), "INVALID_ARGUMENT: online store write of 2 records with 1 entity keys");
}

TEST_P(OnlineStoreConformanceTest, ReadIntoOverwritesWhatTheOutputHeld) {
  WriteOne(Key(), 1, FloatRecord(10, 2, 1.0));
  std::vector<std::optional<OnlineRecord>> out = {FloatRecord(99, 5, 99.0), FloatRecord(98, 1, 98.0),
                                                  std::nullopt};
  std::vector<std::string> keys = {Int64Key(2), Int64Key(1)};
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(store_->ReadInto(Key(), kTwoFloats, keys, &out).ok());
    ASSERT_EQ(out.size(), 2u);
    EXPECT_FALSE(out[0].has_value());
    ASSERT_TRUE(out[1].has_value());
    EXPECT_EQ(out[1]->event_micros, 10);
    ASSERT_EQ(out[1]->values.size(), 2u);
    EXPECT_EQ(out[1]->values[1].f, 2.0);
  }
}

// Writers push increasing event times to shared keys while readers check that
// every record they see is whole (all values equal its event time) and that
// no key ever goes back in time; at the end each key holds the newest event.
TEST_P(OnlineStoreConformanceTest, ConcurrentWritersAndReaders) {
  constexpr int kKeys = 20, kRounds = 150, kWriters = 2, kReaders = 2, kFeatures = 8;
  std::vector<Type> types(kFeatures, Type::kFloat64);
  std::vector<std::string> keys;
  for (int id = 0; id < kKeys; ++id) keys.push_back(Int64Key(id));
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int round = 0; round < kRounds; ++round) {
        int64_t event = round * kWriters + w;
        std::vector<OnlineRecord> records;
        for (int id = 0; id < kKeys; ++id) {
          OnlineRecord record = FloatRecord(event, kFeatures, 0);
          for (Value& value : record.values) value.f = static_cast<double>(event);
          records.push_back(std::move(record));
        }
        if (!store_->Write(Key(), keys, records).ok()) failures++;
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&] {
      std::vector<int64_t> last_seen(kKeys, -1);
      std::vector<std::optional<OnlineRecord>> out;
      while (!done.load()) {
        if (!store_->ReadInto(Key(), types, keys, &out).ok()) failures++;
        for (int id = 0; id < kKeys; ++id) {
          if (!out[id]) continue;
          for (const Value& value : out[id]->values) {
            if (value.f != static_cast<double>(out[id]->event_micros)) failures++;
          }
          if (out[id]->event_micros < last_seen[id]) failures++;
          last_seen[id] = out[id]->event_micros;
        }
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  done = true;
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();
  EXPECT_EQ(failures.load(), 0);

  std::vector<std::optional<OnlineRecord>> out;
  ASSERT_TRUE(store_->Read(Key(), types, keys, &out).ok());
  for (int id = 0; id < kKeys; ++id) {
    ASSERT_TRUE(out[id].has_value());
    EXPECT_EQ(out[id]->event_micros, (kRounds - 1) * kWriters + kWriters - 1);
  }
}

std::string BackendName(const testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::kRocksDb:
      return "RocksDb";
    case Backend::kCachedRocksDb:
      return "CachedRocksDb";
    case Backend::kRedis:
      return "Redis";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(Online, OnlineStoreConformanceTest,
                         testing::Values(Backend::kRocksDb, Backend::kCachedRocksDb, Backend::kRedis),
                         BackendName);

}  // namespace
}  // namespace kiln::features
