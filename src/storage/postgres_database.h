#pragma once
// PostgreSQL backend over libpq: a pool of connections, each with a bounded
// cache of server-side prepared statements; '?' placeholders are rewritten to
// $1..$n; values travel as text so NaN and +-Infinity survive. Integers are
// sent typed int8, doubles float8, strings and NULL untyped (the server infers
// the type from context, so '42' may be compared with a BIGINT column).
//
// Thread safety: PostgresDatabase is thread-safe; each connection is used by
// one thread at a time (see Database).

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "storage/database.h"

namespace kiln::storage {

class PostgresDatabase : public Database {
 public:
  // `uri` is a libpq connection URI (postgresql://user:password@host:port/db).
  // Connects once to fail fast; further connections open on demand, up to
  // `pool_size`.
  static Result<std::unique_ptr<Database>> Open(const std::string& uri, int pool_size);
  ~PostgresDatabase() override;

  // Blocks until a connection is free. Resets a broken connection and rolls
  // back a transaction its previous user left open.
  Result<PooledConnection> Acquire() override;
  Dialect dialect() const override { return Dialect::kPostgres; }
  // The URI without its password.
  std::string Describe() const override { return described_; }

 protected:
  void Release(std::unique_ptr<Connection> connection) override;

 private:
  PostgresDatabase(std::string uri, int pool_size);
  Result<std::unique_ptr<Connection>> Connect() const;

  const std::string uri_;
  const std::string described_;
  const int pool_size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mutex_
  int open_ = 0;                                   // guarded by mutex_
};

// Same as PostgresDatabase::Open (called by Database::Open for postgresql:// URIs).
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& uri, int pool_size);

// Rewrites '?' placeholders to $1..$n, leaving alone any '?' inside
// single-quoted strings, double-quoted identifiers, -- and /* */ comments.
// Stores the number of placeholders in `count`.
std::string RewritePlaceholders(std::string_view sql, int* count);

// `uri` with any password (user:password@ or password=...) removed.
std::string RedactPassword(std::string_view uri);

}  // namespace kiln::storage
