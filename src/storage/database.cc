#include "storage/database.h"

#include <filesystem>
#include <map>

#include "storage/postgres_database.h"
#include "storage/sqlite_database.h"

namespace kiln::storage {

PooledConnection::~PooledConnection() {
  if (owner_ != nullptr && connection_ != nullptr) owner_->Release(std::move(connection_));
}

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  const std::string& uri = options.uri;
  if (uri.rfind("postgresql://", 0) == 0 || uri.rfind("postgres://", 0) == 0) {
    return OpenPostgres(uri, options.pool_size);
  }
  std::string path;
  if (uri.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options.data_dir, error);
    if (error) {
      return Unavailable("cannot create data directory '" + options.data_dir + "': " + error.message());
    }
    path = (std::filesystem::path(options.data_dir) / "kiln.db").string();
  } else if (uri.rfind("sqlite:///", 0) == 0) {
    path = uri.substr(std::string("sqlite://").size());
  } else if (uri.rfind("sqlite:", 0) == 0) {
    path = uri.substr(std::string("sqlite:").size());
  } else {
    return InvalidArgument("unsupported store URI '" + uri +
                           "': use sqlite:///path/to/kiln.db or postgresql://user@host:port/db");
  }
  return SqliteDatabase::Open(path, options.pool_size, options.durable_commits);
}

Status Database::InTransaction(const std::function<Status(Connection&)>& body) {
  return group_commit_.Run(body);
}

Status Database::Migrate(const std::vector<const MigrationList*>& lists) {
  KILN_ASSIGN_OR_RETURN(PooledConnection connection, Acquire());
  KILN_RETURN_IF_ERROR(connection->ExecuteScript(
      "CREATE TABLE IF NOT EXISTS kiln_schema (module TEXT NOT NULL, version BIGINT NOT NULL, "
      "name TEXT NOT NULL, PRIMARY KEY (module, version))"));
  for (const MigrationList* list : lists) {
    if (list->empty()) continue;
    const std::string& module = list->front().module;
    int newest_known = 0;
    for (const Migration& m : *list) newest_known = std::max(newest_known, m.version);

    KILN_RETURN_IF_ERROR(connection->Begin());
    auto applied = connection->Query("SELECT COALESCE(MAX(version), 0) FROM kiln_schema WHERE module = ?",
                                     {module});
    if (!applied.ok()) {
      (void)connection->Rollback();
      return applied.status();
    }
    int64_t current = (*applied)[0].Int(0);
    if (current > newest_known) {
      (void)connection->Rollback();
      return FailedPrecondition("the metadata store at " + Describe() + " has schema version " +
                                std::to_string(current) + " for '" + module +
                                "', newer than this kiln binary knows (" + std::to_string(newest_known) +
                                "); upgrade kiln or point it at another store");
    }
    for (const Migration& m : *list) {
      if (m.version <= current) continue;
      Status status = connection->ExecuteScript(m.sql);
      if (status.ok()) {
        auto recorded = connection->Execute("INSERT INTO kiln_schema (module, version, name) VALUES (?, ?, ?)",
                                            {m.module, static_cast<int64_t>(m.version), m.name});
        if (!recorded.ok()) status = recorded.status();
      }
      if (!status.ok()) {
        (void)connection->Rollback();
        return Internal("migration " + m.module + "/" + m.name + " failed: " + status.message());
      }
    }
    KILN_RETURN_IF_ERROR(connection->Commit());
  }
  return Status::Ok();
}

}  // namespace kiln::storage
