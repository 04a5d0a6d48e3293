#pragma once
// SQLite backend: a pool of connections to one file in WAL mode with a busy
// timeout, case-sensitive LIKE (as PostgreSQL), foreign keys on, and a
// prepared-statement cache per connection.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/database.h"

namespace kiln::storage {

class SqliteDatabase : public Database {
 public:
  // `path` is the database file; its directory must exist.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, int pool_size,
                                                bool durable_commits);
  ~SqliteDatabase() override;

  Result<PooledConnection> Acquire() override;
  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string Describe() const override { return "sqlite:" + path_; }

 protected:
  void Release(std::unique_ptr<Connection> connection) override;

 private:
  explicit SqliteDatabase(std::string path) : path_(std::move(path)) {}

  std::string path_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace kiln::storage
