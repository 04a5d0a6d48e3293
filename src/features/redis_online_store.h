#pragma once
// RedisOnlineStore: the shared online store for several serving replicas, one
// Redis string per record under "kiln:<view>:<fingerprint hex>:<entity key
// hex>" (docs/formats/online-store.md). A Read is one MGET; a Write pipelines
// a Lua script (EVALSHA, falling back to EVAL after NOSCRIPT) that keeps a
// stored record whose event_micros is newer, atomically on the server.
//
// Ownership: owns a small pool of hiredis connections, opened on demand.
// Thread safety: thread-safe; each connection serves one call at a time and
// a call blocks while all connections are busy.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "features/online_store.h"

namespace kiln::features {

class RedisConnection;  // an open hiredis context (redis_online_store.cc)

// Where a Redis server is: redis://[[user]:password@]host[:port][/db].
struct RedisEndpoint {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;      // optional (Redis 6 ACL user)
  std::string password;  // optional
  // "redis://host:port/db", never the password.
  std::string Describe() const;
  // Error: "invalid Redis URI 'redis://h:x': port 'x' is not a number".
  static Result<RedisEndpoint> Parse(std::string_view uri);
};

class RedisOnlineStore : public OnlineStore {
 public:
  struct Options {
    int pool_size = 4;  // connections at most
    int connect_timeout_ms = 2000;
    int command_timeout_ms = 10000;
    size_t records_per_script = 64;      // records per EVALSHA call of a Write
    size_t scripts_per_round_trip = 64;  // EVALSHA calls pipelined before reading replies
  };

  // Connects once (and loads the write script) to fail fast: "cannot reach
  // Redis at 127.0.0.1:6390: Connection refused".
  static Result<std::unique_ptr<RedisOnlineStore>> Open(const std::string& uri, const Options& options);
  ~RedisOnlineStore() override;
  RedisOnlineStore(const RedisOnlineStore&) = delete;
  RedisOnlineStore& operator=(const RedisOnlineStore&) = delete;

  Status Write(const ViewKey& view, std::span<const std::string> entity_keys,
               std::span<const OnlineRecord> records) override;
  Status Read(const ViewKey& view, std::span<const data::Type> types,
              std::span<const std::string> entity_keys,
              std::vector<std::optional<OnlineRecord>>* out) override;
  // SCAN for the view's keys and UNLINK them in batches (not atomic with
  // respect to concurrent writers of the same view).
  Status DeleteView(std::string_view view) override;
  std::string Describe() const override { return endpoint_.Describe(); }

  // "kiln:<view>:<fingerprint as 16 hex digits>:<entity key as hex>".
  static std::string RecordKey(const ViewKey& view, std::string_view entity_key);

 private:
  // A connection borrowed from the pool; returned (or dropped when broken)
  // by the destructor.
  class Lease;

  RedisOnlineStore(RedisEndpoint endpoint, const Options& options);
  Result<Lease> Acquire();
  void Release(std::unique_ptr<RedisConnection> connection);
  Status WriteChunk(RedisConnection& connection, const ViewKey& view,
                    std::span<const std::string> entity_keys, std::span<const OnlineRecord> records);

  const RedisEndpoint endpoint_;
  const Options options_;
  std::string script_sha_;  // set once by Open
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;  // guarded by mutex_
  int open_ = 0;                                        // guarded by mutex_
};

}  // namespace kiln::features
