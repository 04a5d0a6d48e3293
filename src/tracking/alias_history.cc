// The alias history (registered_model_alias_history): ModelRegistry's
// members that move an alias and record the move, and AliasHistory.
#include "tracking/model_registry.h"
#include "tracking/model_registry_rows.h"
#include "tracking/model_registry_rules.h"

namespace kiln::tracking {
namespace {

using storage::Connection;
using storage::SqlNull;
using storage::SqlValue;

SqlValue TextOrNull(const std::string& text) {
  if (text.empty()) return SqlNull();
  return text;
}

SqlValue VersionOrNull(const std::optional<int64_t>& version) {
  if (!version) return SqlNull();
  return *version;
}

Status Exec(Connection& connection, std::string_view sql, const std::vector<SqlValue>& params) {
  auto changed = connection.Execute(sql, params);
  return changed.ok() ? Status::Ok() : changed.status();
}

}  // namespace

Status ModelRegistry::AppendAliasMove(Connection& connection, const AliasMove& move) {
  // Write transactions are serialized, so MAX(id) + 1 is unique.
  KILN_ASSIGN_OR_RETURN(storage::Rows last,
                        connection.Query("SELECT COALESCE(MAX(id), 0) FROM registered_model_alias_history"));
  return Exec(
      connection,
      "INSERT INTO registered_model_alias_history (id, name, alias, from_version, to_version, actor, "
      "timestamp_ms, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {last.at(0).Int(0) + 1, move.name, move.alias, VersionOrNull(move.from_version),
       VersionOrNull(move.to_version), TextOrNull(move.actor), move.timestamp, TextOrNull(move.reason)});
}

Status ModelRegistry::MoveAlias(Connection& connection, const std::string& name, const std::string& alias,
                                std::optional<int64_t> to_version, const std::string& actor,
                                const std::string& reason, int64_t now) {
  KILN_ASSIGN_OR_RETURN(
      storage::Rows current,
      connection.Query("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                       {name, alias}));
  std::optional<int64_t> from_version;
  if (!current.empty()) from_version = current[0].Int(0);
  if (from_version == to_version) return Status::Ok();  // already so: nothing moves, nothing is recorded
  if (to_version) {
    KILN_RETURN_IF_ERROR(Exec(connection,
                              "INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?) "
                              "ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
                              {name, alias, *to_version}));
  } else {
    KILN_RETURN_IF_ERROR(
        Exec(connection, "DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?", {name, alias}));
  }
  return AppendAliasMove(connection, {.name = name,
                                      .alias = alias,
                                      .from_version = from_version,
                                      .to_version = to_version,
                                      .actor = actor,
                                      .timestamp = now,
                                      .reason = reason});
}

Result<std::vector<AliasMove>> ModelRegistry::AliasHistory(const std::string& name, const std::string& alias,
                                                           int64_t limit) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  if (!alias.empty()) KILN_RETURN_IF_ERROR(ValidateAliasName(alias));
  if (limit < 0) return InvalidArgument("limit must not be negative, got " + std::to_string(limit));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_RETURN_IF_ERROR(registry_rows::RequireModel(*connection, name));
  std::string sql =
      "SELECT id, name, alias, from_version, to_version, actor, timestamp_ms, reason "
      "FROM registered_model_alias_history WHERE name = ?";
  std::vector<SqlValue> params = {name};
  if (!alias.empty()) {
    sql += " AND alias = ?";
    params.emplace_back(alias);
  }
  sql += " ORDER BY id DESC";
  if (limit > 0) {
    sql += " LIMIT ?";
    params.emplace_back(limit);
  }
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query(sql, params));
  std::vector<AliasMove> moves;
  moves.reserve(rows.size());
  for (const storage::Row& row : rows) {
    AliasMove move;
    move.id = row.Int(0);
    move.name = row.String(1);
    move.alias = row.String(2);
    if (!row.IsNull(3)) move.from_version = row.Int(3);
    if (!row.IsNull(4)) move.to_version = row.Int(4);
    if (!row.IsNull(5)) move.actor = row.String(5);
    move.timestamp = row.Int(6);
    if (!row.IsNull(7)) move.reason = row.String(7);
    moves.push_back(std::move(move));
  }
  return moves;
}

}  // namespace kiln::tracking
