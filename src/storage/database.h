#pragma once
// The metadata store: one SQL interface, two real backends (SQLite, the
// embedded default, and PostgreSQL). Modules own their tables through
// numbered migrations and write dialect-neutral SQL with '?' placeholders;
// each backend translates placeholders and value types.
//
// Thread safety: Database is thread-safe; a Connection is used by one thread
// at a time (Acquire() hands it out exclusively and returns it on release).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/group_commit.h"
#include "storage/migration.h"
#include "storage/sql_value.h"

namespace kiln::storage {

enum class Dialect { kSqlite, kPostgres };

class Connection {
 public:
  virtual ~Connection() = default;
  // Runs one statement; returns the number of rows it changed.
  virtual Result<int64_t> Execute(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
  virtual Result<Rows> Query(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
  // Runs several ';'-separated statements without parameters (migrations).
  virtual Status ExecuteScript(std::string_view sql) = 0;
  // A write transaction. Write transactions are serialized on both
  // backends (SQLite: BEGIN IMMEDIATE; PostgreSQL: one advisory lock), so
  // read-then-write logic inside one is race-free.
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
  virtual Dialect dialect() const = 0;
};

class Database;

// Exclusive use of a pooled connection; returns it to the pool when destroyed.
class PooledConnection {
 public:
  PooledConnection(Database* owner, std::unique_ptr<Connection> connection)
      : owner_(owner), connection_(std::move(connection)) {}
  PooledConnection(PooledConnection&&) noexcept = default;
  PooledConnection& operator=(PooledConnection&&) = delete;
  ~PooledConnection();
  Connection& operator*() { return *connection_; }
  Connection* operator->() { return connection_.get(); }

 private:
  Database* owner_;
  std::unique_ptr<Connection> connection_;
};

struct DatabaseOptions {
  // "" or "sqlite:///path/to/file.db" or "postgresql://user:pw@host:port/db".
  std::string uri;
  // Where the default SQLite file (kiln.db) lives when uri is empty.
  std::string data_dir = "./kiln-data";
  int pool_size = 8;
  // SQLite: true = synchronous=FULL (every acknowledged commit survives power
  // loss), false = NORMAL (survives a process crash).
  bool durable_commits = true;
};

class Database {
 public:
  virtual ~Database() = default;

  // Opens the backend the options name. Does not migrate.
  static Result<std::unique_ptr<Database>> Open(const DatabaseOptions& options);

  // Blocks until a connection is free.
  virtual Result<PooledConnection> Acquire() = 0;
  virtual Dialect dialect() const = 0;
  // Human-readable location ("sqlite:./kiln-data/kiln.db", "postgresql://host:port/db").
  virtual std::string Describe() const = 0;

  // Applies every pending migration of each list, each in its own
  // transaction. Refuses (kFailedPrecondition) a store whose schema for a
  // module is newer than the newest migration this binary knows.
  Status Migrate(const std::vector<const MigrationList*>& lists);

  // Runs `body` inside a write transaction: its writes commit if it returns
  // OK and vanish otherwise. Concurrent calls share one commit (see
  // GroupCommit), so `body` must not wait for another writer. Returns once
  // the writes are durable.
  Status InTransaction(const std::function<Status(Connection&)>& body);

 protected:
  Database() : group_commit_(*this) {}
  friend class PooledConnection;
  virtual void Release(std::unique_ptr<Connection> connection) = 0;

 private:
  GroupCommit group_commit_;
};

}  // namespace kiln::storage
