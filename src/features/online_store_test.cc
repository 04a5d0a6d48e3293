// Encodings, fingerprint and OpenOnlineStore: the parts of the online store
// every backend shares (docs/formats/online-store.md).
#include "features/online_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "features/online_store_testing.h"

namespace kiln::features {
namespace {

using data::Type;
using data::Value;
using testing_support::FreeLoopbackPort;
using testing_support::TempDir;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

double NegativeNan() {
  double nan = -std::numeric_limits<double>::quiet_NaN();
  uint64_t bits;
  std::memcpy(&bits, &nan, 8);
  bits |= 0x5;  // a payload, so "the same NaN" is checked bit for bit
  std::memcpy(&nan, &bits, 8);
  return nan;
}

TEST(OnlineStoreEncodingTest, RecordRoundTripsEveryTypeBitForBit) {
  OnlineRecord record;
  record.event_micros = -1'234'567;  // before 1970
  record.written_micros = 1'700'000'000'000'000;
  record.values = {
      Value::Bool(true),
      Value::Bool(false),
      Value::Int(0),
      Value::Int(std::numeric_limits<int64_t>::min()),
      Value::Int(std::numeric_limits<int64_t>::max()),
      Value::Float(-0.0),
      Value::Float(0.0),
      Value::Float(NegativeNan()),
      Value::Float(std::numeric_limits<double>::infinity()),
      Value::Float(5e-324),
      Value::String(""),
      Value::String("Zürich ✈ 東京 \U0001F600"),
      Value::String(std::string("a\0b", 3)),
      Value::String(std::string(300, 'x')),  // a length needing a 2-byte varint
      Value::Timestamp(978'307'200'000'000),
      Value::Null(Type::kBool),
      Value::Null(Type::kInt64),
      Value::Null(Type::kFloat64),
      Value::Null(Type::kString),
      Value::Null(Type::kTimestamp),
  };
  std::vector<Type> types;
  for (const Value& value : record.values) types.push_back(value.type);

  Result<OnlineRecord> decoded = DecodeOnlineRecord(EncodeOnlineRecord(record), types);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->event_micros, record.event_micros);
  EXPECT_EQ(decoded->written_micros, record.written_micros);
  ASSERT_EQ(decoded->values.size(), record.values.size());
  for (size_t i = 0; i < record.values.size(); ++i) {
    EXPECT_TRUE(decoded->values[i].BitwiseEquals(record.values[i]))
        << "value " << i << ": " << decoded->values[i].ToString() << " vs " << record.values[i].ToString();
  }
  EXPECT_TRUE(std::signbit(decoded->values[5].f));
  EXPECT_FALSE(std::signbit(decoded->values[6].f));
}

TEST(OnlineStoreEncodingTest, RecordLayoutIsFormatVersionOne) {
  OnlineRecord record;
  record.event_micros = 1;
  record.written_micros = 2;
  record.values = {Value::Float(1.5), Value::Null(Type::kInt64)};
  EXPECT_EQ(EncodeOnlineRecord(record),
            Bytes({1,                                   // format_version
                   0x80, 0, 0, 0, 0, 0, 0, 1,           // event, order-preserving
                   0x80, 0, 0, 0, 0, 0, 0, 2,           // written
                   2,                                   // value count
                   2,    0, 0, 0, 0, 0, 0, 0xf8, 0x3f,  // float64 1.5, little-endian
                   0x81}));                             // null int64
  EXPECT_EQ(EncodedRecordEventMicros(EncodeOnlineRecord(record)), 1);
  record.event_micros = -5;
  EXPECT_EQ(EncodedRecordEventMicros(EncodeOnlineRecord(record)), -5);
  EXPECT_EQ(EncodedRecordEventMicros("garbage"), std::nullopt);
}

TEST(OnlineStoreEncodingTest, EventTimesCompareAsBytes) {
  // Redis's write script compares bytes 2..9; that must order like int64.
  std::vector<int64_t> times = {
      std::numeric_limits<int64_t>::min(), -1'000'000, -1, 0, 1, 1'700'000'000'000'000,
      std::numeric_limits<int64_t>::max()};
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    OnlineRecord a, b;
    a.event_micros = times[i];
    b.event_micros = times[i + 1];
    EXPECT_LT(EncodeOnlineRecord(a).substr(1, 8), EncodeOnlineRecord(b).substr(1, 8))
        << times[i] << " vs " << times[i + 1];
  }
}

TEST(OnlineStoreEncodingTest, DecodeRefusesCorruptOrMismatchedRecords) {
  OnlineRecord record = testing_support::FloatRecord(10, 2, 1.0);
  std::string bytes = EncodeOnlineRecord(record);
  std::vector<Type> two_floats = {Type::kFloat64, Type::kFloat64};

  auto error = [](const Result<OnlineRecord>& result) {
    return result.ok() ? std::string("ok") : result.status().ToString();
  };
  EXPECT_EQ(error(DecodeOnlineRecord(bytes.substr(0, bytes.size() - 1), two_floats)),
            "INTERNAL: corrupt online store record: truncated float (re-materialize the view "
            "to rewrite it)");
  EXPECT_EQ(error(DecodeOnlineRecord(bytes + "x", two_floats)),
            "INTERNAL: corrupt online store record: trailing bytes after the last value "
            "(re-materialize the view to rewrite it)");
  std::vector<Type> three = {Type::kFloat64, Type::kFloat64, Type::kFloat64};
  EXPECT_EQ(error(DecodeOnlineRecord(bytes, three)),
            "INTERNAL: corrupt online store record: it holds 2 values but the view has 3 "
            "features (re-materialize the view to rewrite it)");
  std::vector<Type> wrong = {Type::kFloat64, Type::kInt64};
  EXPECT_EQ(error(DecodeOnlineRecord(bytes, wrong)),
            "INTERNAL: corrupt online store record: value 1 is not of type int64 "
            "(re-materialize the view to rewrite it)");
  std::string future = bytes;
  future[0] = 2;
  EXPECT_EQ(error(DecodeOnlineRecord(future, two_floats)),
            "INTERNAL: corrupt online store record: format_version 2 is not 1 (re-materialize "
            "the view to rewrite it)");
  EXPECT_FALSE(DecodeOnlineRecord("", two_floats).ok());
  EXPECT_FALSE(DecodeOnlineRecord(bytes.substr(0, 10), two_floats).ok());
}

TEST(OnlineStoreEncodingTest, EntityKeyLayoutIsFormatVersionOne) {
  std::vector<Value> key = {Value::Int(1), Value::String("ab"), Value::Bool(true),
                            Value::Null(Type::kTimestamp)};
  EXPECT_EQ(EncodeEntityKey(key), Bytes({1, 0x80, 0, 0, 0, 0, 0, 0, 1,  // int64 1
                                         3, 2, 'a', 'b',                // string "ab"
                                         0, 1,                          // bool true
                                         0x84}));                       // null timestamp
  std::vector<Value> negative = {Value::Int(-1)};
  EXPECT_EQ(EncodeEntityKey(negative), Bytes({1, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
}

TEST(OnlineStoreEncodingTest, EntityKeysAreUnambiguousAndCanonical) {
  auto encode = [](std::vector<Value> values) { return EncodeEntityKey(values); };
  // Length prefixes keep string boundaries apart.
  EXPECT_NE(encode({Value::String("a"), Value::String("bc")}),
            encode({Value::String("ab"), Value::String("c")}));
  EXPECT_NE(encode({Value::String("")}), encode({Value::Null(Type::kString)}));
  EXPECT_NE(encode({Value::Int(7)}), encode({Value::Timestamp(7)}));
  EXPECT_EQ(encode({Value::String("東京")}), encode({Value::String("東京")}));
  EXPECT_NE(encode({Value::String("東京")}), encode({Value::String("京都")}));
  // -0.0 and +0.0 name one entity, as do all NaNs.
  EXPECT_EQ(encode({Value::Float(-0.0)}), encode({Value::Float(0.0)}));
  EXPECT_EQ(encode({Value::Float(NegativeNan())}),
            encode({Value::Float(std::numeric_limits<double>::quiet_NaN())}));
  EXPECT_NE(encode({Value::Float(1.0)}), encode({Value::Float(2.0)}));
  EXPECT_EQ(encode({}), "");
}

TEST(OnlineStoreFingerprintTest, IsStableAcrossProcessesAndReleases) {
  // FNV-1a 64 of "delay_mean_1h" 00 02 00 "flights_count_1d" 00 01 00; this
  // value is stored in every key, so it must never change.
  std::vector<std::string> names = {"delay_mean_1h", "flights_count_1d"};
  std::vector<Type> types = {Type::kFloat64, Type::kInt64};
  EXPECT_EQ(ViewFingerprint(names, types), 0x2a89a0f473712f9cULL);
  EXPECT_EQ(FingerprintHex(ViewFingerprint(names, types)), "2a89a0f473712f9c");
  EXPECT_EQ(ViewFingerprint({}, {}), 0xcbf29ce484222325ULL);
  EXPECT_EQ(FingerprintHex(0xab), "00000000000000ab");
}

TEST(OnlineStoreFingerprintTest, ChangesWithNamesTypesAndOrder) {
  std::vector<std::string> names = {"a", "b"};
  std::vector<Type> types = {Type::kFloat64, Type::kInt64};
  uint64_t base = ViewFingerprint(names, types);
  std::vector<std::string> swapped = {"b", "a"};
  std::vector<Type> swapped_types = {Type::kInt64, Type::kFloat64};
  EXPECT_NE(ViewFingerprint(swapped, swapped_types), base);
  std::vector<Type> retyped = {Type::kFloat64, Type::kFloat64};
  EXPECT_NE(ViewFingerprint(names, retyped), base);
  std::vector<std::string> renamed = {"a", "c"};
  EXPECT_NE(ViewFingerprint(renamed, types), base);
  std::vector<std::string> joined = {"ab"};  // separators keep names apart
  std::vector<std::string> split = {"a", "b"};
  std::vector<Type> one = {Type::kFloat64};
  std::vector<Type> two = {Type::kFloat64, Type::kFloat64};
  EXPECT_NE(ViewFingerprint(joined, one), ViewFingerprint(split, two));
}

TEST(OpenOnlineStoreTest, UnknownSchemeNamesTheChoices) {
  auto store = OpenOnlineStore("mongo://db.example.com/features", "/tmp");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().ToString(),
            "INVALID_ARGUMENT: unknown online store 'mongo://db.example.com/features' (use "
            "rocksdb, rocksdb:/path, rocksdb-follower or redis://host:port)");
  auto empty_path = OpenOnlineStore("rocksdb:", "/tmp");
  ASSERT_FALSE(empty_path.ok());
  EXPECT_EQ(empty_path.status().message(), "online store 'rocksdb:' names no directory (use rocksdb:/path)");
}

TEST(OpenOnlineStoreTest, DefaultIsCachedRocksDbInTheDataDirectory) {
  TempDir dir;
  auto store = OpenOnlineStore("", dir.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Describe(), "rocksdb:" + dir.path() + "/online");
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/online/CURRENT"));

  auto again = OpenOnlineStore("rocksdb", dir.path());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().ToString(),
            "FAILED_PRECONDITION: cannot open the online store at " + dir.path() +
                "/online: it is locked by another kiln process (is a server running? use "
                "--server)");

  auto explicit_path = OpenOnlineStore("rocksdb:" + dir.path() + "/elsewhere/db", "");
  ASSERT_TRUE(explicit_path.ok()) << explicit_path.status().ToString();
  EXPECT_EQ((*explicit_path)->Describe(), "rocksdb:" + dir.path() + "/elsewhere/db");
}

TEST(OpenOnlineStoreTest, UnreachableRedisSaysWhere) {
  int port = FreeLoopbackPort();
  auto store = OpenOnlineStore("redis://127.0.0.1:" + std::to_string(port), "/tmp");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().ToString(),
            "UNAVAILABLE: cannot reach Redis at 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(OpenOnlineStoreTest, BadRedisUriIsRefused) {
  auto store = OpenOnlineStore("redis://127.0.0.1:http", "/tmp");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().ToString(),
            "INVALID_ARGUMENT: invalid Redis URI 'redis://127.0.0.1:http': port 'http' is not a "
            "number from 1 to 65535 (use redis://[:password@]host[:port][/db])");
}

}  // namespace
}  // namespace kiln::features
