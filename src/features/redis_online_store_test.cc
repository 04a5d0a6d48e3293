// Redis-specific behaviour: URI parsing, the key layout other tools see, the
// NOSCRIPT fallback, reconnecting, error text, and measured rates. Uses
// KILN_TEST_REDIS_URI or a redis-server the test starts itself.
#include "features/redis_online_store.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdio>

#include "features/online_store_testing.h"

namespace kiln::features {
namespace {

using data::Type;
using testing_support::FloatRecord;
using testing_support::Int64Key;
using testing_support::RedisForTests;

TEST(RedisOnlineStoreTest, ParsesUris) {
  auto plain = RedisEndpoint::Parse("redis://127.0.0.1:6390");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 6390);
  EXPECT_EQ(plain->db, 0);
  EXPECT_EQ(plain->Describe(), "redis://127.0.0.1:6390/0");

  auto full = RedisEndpoint::Parse("redis://kiln:s3cret@cache.internal/3");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->host, "cache.internal");
  EXPECT_EQ(full->port, 6379);
  EXPECT_EQ(full->db, 3);
  EXPECT_EQ(full->user, "kiln");
  EXPECT_EQ(full->password, "s3cret");
  EXPECT_EQ(full->Describe(), "redis://cache.internal:6379/3");  // no password

  auto password_only = RedisEndpoint::Parse("redis://:pw@[::1]:7000");
  ASSERT_TRUE(password_only.ok());
  EXPECT_EQ(password_only->host, "::1");
  EXPECT_EQ(password_only->port, 7000);
  EXPECT_EQ(password_only->user, "");
  EXPECT_EQ(password_only->password, "pw");
  EXPECT_EQ(password_only->Describe(), "redis://[::1]:7000/0");

  EXPECT_EQ(RedisEndpoint::Parse("redis://:6379").status().message(),
            "invalid Redis URI 'redis://:6379': the host is missing (use "
            "redis://[:password@]host[:port][/db])");
  EXPECT_EQ(RedisEndpoint::Parse("redis://h:70000").status().message(),
            "invalid Redis URI 'redis://h:70000': port '70000' is not a number from 1 to 65535 "
            "(use redis://[:password@]host[:port][/db])");
  EXPECT_EQ(RedisEndpoint::Parse("redis://h/x").status().message(),
            "invalid Redis URI 'redis://h/x': database 'x' is not a number (use "
            "redis://[:password@]host[:port][/db])");
}

TEST(RedisOnlineStoreTest, UnreachableServerNamesHostAndPort) {
  int port = testing_support::FreeLoopbackPort();
  auto store = RedisOnlineStore::Open("redis://127.0.0.1:" + std::to_string(port), {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().ToString(),
            "UNAVAILABLE: cannot reach Redis at 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(RedisOnlineStoreTest, KeyLayout) {
  EXPECT_EQ(RedisOnlineStore::RecordKey(ViewKey{"delays", 0x2a}, std::string("\x01\xff", 2)),
            "kiln:delays:000000000000002a:01ff");
}

// A raw hiredis connection to the test's Redis, for checks from outside.
class RawRedis {
 public:
  explicit RawRedis(const std::string& uri) {
    std::string host;
    int port = 0;
    if (RedisForTests::HostPort(uri, &host, &port)) {
      context_ = redisConnectWithTimeout(host.c_str(), port, timeval{2, 0});
    }
  }
  ~RawRedis() {
    if (context_ != nullptr) redisFree(context_);
  }
  bool ok() const { return context_ != nullptr && context_->err == 0; }
  // The reply as text ("(nil)" for nil, "(error) …" for an error).
  std::string Command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data()));
    if (reply == nullptr) return "(connection error)";
    std::string text;
    switch (reply->type) {
      case REDIS_REPLY_NIL:
        text = "(nil)";
        break;
      case REDIS_REPLY_ERROR:
        text = "(error) " + std::string(reply->str, reply->len);
        break;
      case REDIS_REPLY_INTEGER:
        text = std::to_string(reply->integer);
        break;
      case REDIS_REPLY_ARRAY:
        text = "(array " + std::to_string(reply->elements) + ")";
        break;
      default:
        text.assign(reply->str, reply->len);
    }
    freeReplyObject(reply);
    return text;
  }

 private:
  redisContext* context_ = nullptr;
};

class RedisServerTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    uri_ = RedisForTests::Uri(&why);
    if (uri_.empty()) GTEST_SKIP() << "no Redis for the test: " << why;
    auto store = RedisOnlineStore::Open(uri_, {});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    view_ = ViewKey{"redis_view_" + testing_support::UniqueSuffix(), 0x2a};
  }

  std::string uri_;
  ViewKey view_;
  std::unique_ptr<RedisOnlineStore> store_;
};

TEST_F(RedisServerTest, RecordsAreVisibleUnderTheDocumentedKey) {
  std::vector<std::string> keys = {Int64Key(1)};
  std::vector<OnlineRecord> records = {FloatRecord(10, 2, 1.0)};
  ASSERT_TRUE(store_->Write(view_, keys, records).ok());
  RawRedis raw(uri_);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.Command({"GET", "kiln:" + view_.view + ":000000000000002a:018000000000000001"}),
            EncodeOnlineRecord(records[0]));
}

TEST_F(RedisServerTest, WritesReloadAFlushedScript) {
  RawRedis raw(uri_);
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw.Command({"SCRIPT", "FLUSH"}), "OK");
  std::vector<std::string> keys = {Int64Key(1), Int64Key(2)};
  std::vector<OnlineRecord> records = {FloatRecord(10, 2, 1.0), FloatRecord(10, 2, 2.0)};
  ASSERT_TRUE(store_->Write(view_, keys, records).ok());  // EVALSHA → NOSCRIPT → EVAL
  std::vector<OnlineRecord> older = {FloatRecord(5, 2, 8.0), FloatRecord(15, 2, 9.0)};
  ASSERT_TRUE(store_->Write(view_, keys, older).ok());  // EVALSHA works again
  std::vector<Type> types(2, Type::kFloat64);
  std::vector<std::optional<OnlineRecord>> out;
  ASSERT_TRUE(store_->Read(view_, types, keys, &out).ok());
  EXPECT_EQ(out[0]->values[0].f, 1.0);
  EXPECT_EQ(out[1]->values[0].f, 9.0);
}

TEST_F(RedisServerTest, ReconnectsWhenTheServerDropsItsConnections) {
  std::vector<std::string> keys = {Int64Key(1)};
  std::vector<OnlineRecord> records = {FloatRecord(10, 2, 1.0)};
  ASSERT_TRUE(store_->Write(view_, keys, records).ok());  // a pooled connection now idles
  RawRedis raw(uri_);
  ASSERT_TRUE(raw.ok());
  EXPECT_NE(raw.Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}), "0");
  std::vector<Type> types(2, Type::kFloat64);
  std::vector<std::optional<OnlineRecord>> out;
  Status status = store_->Read(view_, types, keys, &out);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(out[0]->values[1].f, 2.0);
}

TEST_F(RedisServerTest, AValueKilnDidNotWriteIsReported) {
  RawRedis raw(uri_);
  ASSERT_TRUE(raw.ok());
  std::string key = RedisOnlineStore::RecordKey(view_, Int64Key(1));
  ASSERT_EQ(raw.Command({"SET", key, "hello"}), "OK");
  std::vector<Type> types(2, Type::kFloat64);
  std::vector<std::string> keys = {Int64Key(1)};
  std::vector<std::optional<OnlineRecord>> out;
  EXPECT_EQ(store_->Read(view_, types, keys, &out).ToString(),
            "INTERNAL: Redis key " + key +
                ": corrupt online store record: format_version 104 is not 1 (re-materialize the "
                "view to rewrite it)");
  ASSERT_EQ(raw.Command({"DEL", key}), "1");
  ASSERT_EQ(raw.Command({"HSET", key, "f", "v"}), "1");
  ASSERT_TRUE(store_->Read(view_, types, keys, &out).ok());  // MGET: nil for a non-string
  EXPECT_FALSE(out[0].has_value());
  std::vector<OnlineRecord> records = {FloatRecord(1, 2, 0)};
  Status status = store_->Write(view_, keys, records);
  EXPECT_TRUE(status.message().starts_with("Redis at ") &&
              status.message().find("refused the write script (EVALSHA): WRONGTYPE") != std::string::npos)
      << status.ToString();
  EXPECT_EQ(raw.Command({"DEL", key}), "1");
}

TEST_F(RedisServerTest, APasswordTheServerDoesNotExpectIsRefused) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(RedisForTests::HostPort(uri_, &host, &port));
  auto store = RedisOnlineStore::Open("redis://:nope@" + host + ":" + std::to_string(port), {});
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().message().starts_with("Redis at " + host + ":" + std::to_string(port) +
                                                   " refused AUTH: "))
      << store.status().ToString();
}

// Measures (prints, does not assert) write and read rates for a view of 50
// float64 features; asserts only that every read finds its record.
TEST_F(RedisServerTest, MeasureWriteAndReadRates) {
  constexpr int kEntities = 50'000, kBatch = 1'000, kFeatures = 50;
  std::vector<Type> types(kFeatures, Type::kFloat64);
  auto start = std::chrono::steady_clock::now();
  for (int begin = 0; begin < kEntities; begin += kBatch) {
    std::vector<std::string> keys;
    std::vector<OnlineRecord> records;
    for (int id = begin; id < begin + kBatch; ++id) {
      keys.push_back(Int64Key(id));
      records.push_back(FloatRecord(id, kFeatures, id * 0.5));
    }
    ASSERT_TRUE(store_->Write(view_, keys, records).ok());
  }
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  double write_seconds = seconds();

  std::vector<std::string> key(1);
  std::vector<std::optional<OnlineRecord>> out;
  int reads = 0, found = 0;
  start = std::chrono::steady_clock::now();
  while (seconds() < 1.0) {
    key[0] = Int64Key(reads * 7 % kEntities);
    ASSERT_TRUE(store_->Read(view_, types, key, &out).ok());
    found += out[0].has_value() ? 1 : 0;
    ++reads;
  }
  double read_seconds = seconds();
  EXPECT_EQ(found, reads);

  std::vector<std::string> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(Int64Key(i * 499 % kEntities));
  int batched = 0;
  start = std::chrono::steady_clock::now();
  while (seconds() < 0.5) {
    ASSERT_TRUE(store_->Read(view_, types, batch, &out).ok());
    batched += 100;
  }
  double batch_seconds = seconds();
  std::printf(
      "[ measure  ] Redis (%s), 50 float64 features: write %.0f records/s (batches of "
      "%d); read %.0f lookups/s (1 key per MGET), %.0f keys/s (100 keys per MGET)\n",
      uri_.c_str(), kEntities / write_seconds, kBatch, reads / read_seconds, batched / batch_seconds);
  ASSERT_TRUE(store_->DeleteView(view_.view).ok());
  ASSERT_TRUE(store_->Read(view_, types, batch, &out).ok());
  EXPECT_FALSE(out[0].has_value());
}

}  // namespace
}  // namespace kiln::features
