#include "storage/sqlite_database.h"

#include <sqlite3.h>

#include <string>
#include <unordered_map>

namespace kiln::storage {
namespace {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Unavailable("database is busy: " + message);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    return AlreadyExists("constraint violated: " + message);
  }
  return Internal("sqlite " + message);
}

// One sqlite3 handle and its statement cache. Used by one thread at a time.
class SqliteConnection : public Connection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    sqlite3_close_v2(db_);
  }

  Result<int64_t> Execute(std::string_view sql, const std::vector<SqlValue>& params) override {
    KILN_ASSIGN_OR_RETURN(sqlite3_stmt * statement, Prepare(sql, params));
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    }
    sqlite3_reset(statement);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "executing statement");
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  Result<Rows> Query(std::string_view sql, const std::vector<SqlValue>& params) override {
    KILN_ASSIGN_OR_RETURN(sqlite3_stmt * statement, Prepare(sql, params));
    Rows rows;
    int columns = sqlite3_column_count(statement);
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
      std::vector<SqlValue> values;
      values.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(statement, c)) {
          case SQLITE_INTEGER: values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(statement, c))); break;
          case SQLITE_FLOAT: values.emplace_back(sqlite3_column_double(statement, c)); break;
          case SQLITE_NULL: values.emplace_back(std::monostate{}); break;
          default: {
            const char* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, c));
            int bytes = sqlite3_column_bytes(statement, c);
            values.emplace_back(std::string(text ? text : "", bytes));
          }
        }
      }
      rows.emplace_back(std::move(values));
    }
    sqlite3_reset(statement);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "running query");
    return rows;
  }

  Status ExecuteScript(std::string_view sql) override {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      std::string message = error ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      return Internal("sqlite script failed: " + message);
    }
    return Status::Ok();
  }

  Status Begin() override { return Simple("BEGIN IMMEDIATE"); }
  Status Commit() override { return Simple("COMMIT"); }
  Status Rollback() override { return Simple("ROLLBACK"); }
  Dialect dialect() const override { return Dialect::kSqlite; }

 private:
  Status Simple(const char* sql) {
    auto result = Execute(sql, {});
    return result.ok() ? Status::Ok() : result.status();
  }

  Result<sqlite3_stmt*> Prepare(std::string_view sql, const std::vector<SqlValue>& params) {
    std::string key(sql);
    sqlite3_stmt* statement = nullptr;
    auto it = statements_.find(key);
    if (it != statements_.end()) {
      statement = it->second;
      sqlite3_clear_bindings(statement);
    } else {
      int rc = sqlite3_prepare_v2(db_, key.c_str(), static_cast<int>(key.size()), &statement, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "preparing '" + key.substr(0, 200) + "'");
      // Bound the cache: generated search SQL has unbounded variety.
      if (statements_.size() > 256) {
        for (auto& [old_sql, old] : statements_) sqlite3_finalize(old);
        statements_.clear();
      }
      statements_.emplace(std::move(key), statement);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      const SqlValue& value = params[i];
      if (std::holds_alternative<std::monostate>(value)) {
        rc = sqlite3_bind_null(statement, index);
      } else if (auto p = std::get_if<int64_t>(&value)) {
        rc = sqlite3_bind_int64(statement, index, *p);
      } else if (auto p = std::get_if<double>(&value)) {
        rc = sqlite3_bind_double(statement, index, *p);
      } else {
        const std::string& s = std::get<std::string>(value);
        rc = sqlite3_bind_text(statement, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "binding parameter");
    }
    return statement;
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

Result<std::unique_ptr<Database>> SqliteDatabase::Open(const std::string& path, int pool_size,
                                                       bool durable_commits) {
  std::unique_ptr<SqliteDatabase> database(new SqliteDatabase(path));
  for (int i = 0; i < std::max(1, pool_size); ++i) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      sqlite3_close_v2(db);
      return Unavailable("cannot open SQLite database '" + path + "': " + message);
    }
    auto connection = std::make_unique<SqliteConnection>(db);
    sqlite3_busy_timeout(db, 10000);
    // mmap lets every pooled connection read pages through the shared OS page
    // cache instead of copying them into its own cache (search-runs does many
    // random index lookups; measured 1.5-2x faster).
    std::string pragmas =
        "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA case_sensitive_like=ON;"
        " PRAGMA mmap_size=1073741824; PRAGMA cache_size=-16384;";
    pragmas += durable_commits ? " PRAGMA synchronous=FULL;" : " PRAGMA synchronous=NORMAL;";
    KILN_RETURN_IF_ERROR(connection->ExecuteScript(pragmas));
    database->idle_.push_back(std::move(connection));
  }
  return std::unique_ptr<Database>(std::move(database));
}

SqliteDatabase::~SqliteDatabase() = default;

Result<PooledConnection> SqliteDatabase::Acquire() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [this] { return !idle_.empty(); });
  auto connection = std::move(idle_.back());
  idle_.pop_back();
  return PooledConnection(this, std::move(connection));
}

void SqliteDatabase::Release(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

}  // namespace kiln::storage
