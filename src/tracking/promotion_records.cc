// Promotion records: the pure helpers of promotion_records.h and
// ModelRegistry::RecordPromotion / ListPromotions.
#include "tracking/promotion_records.h"

#include <cstdio>
#include <map>
#include <set>

#include "tracking/model_registry.h"
#include "tracking/model_registry_rows.h"
#include "tracking/model_registry_rules.h"

namespace kiln::tracking {
namespace {

using storage::Connection;
using storage::SqlNull;
using storage::SqlValue;

// NaN is stored as NULL (SQLite would store a bound NaN as NULL anyway).
SqlValue NumberOrNull(double value) {
  if (std::isnan(value)) return SqlNull();
  return value;
}

double NumberOrNan(const storage::Row& row, size_t i) {
  return row.IsNull(i) ? std::numeric_limits<double>::quiet_NaN() : row.Double(i);
}

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

Status Exec(Connection& connection, std::string_view sql, const std::vector<SqlValue>& params) {
  auto changed = connection.Execute(sql, params);
  return changed.ok() ? Status::Ok() : changed.status();
}

Status UpsertVersionTag(Connection& connection, const std::string& name, int64_t version,
                        const std::string& key, const std::string& value) {
  return Exec(connection,
              "INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
              {name, version, key, value});
}

std::string VersionText(std::optional<int64_t> version) {
  return version ? "version " + std::to_string(*version) : "no version";
}

}  // namespace

Status ValidatePromotionChecks(const std::vector<PromotionCheck>& checks) {
  std::set<std::string> seen;
  for (size_t i = 0; i < checks.size(); ++i) {
    const std::string& name = checks[i].name;
    if (name.empty()) return InvalidArgument("promotion check " + std::to_string(i + 1) + " has no name");
    if (!seen.insert(name).second) return InvalidArgument("promotion check '" + name + "' is given twice");
    Status key = ValidateRegistryTag(std::string(kCheckTagPrefix) + name, "");
    if (!key.ok()) {
      return InvalidArgument("promotion check name '" + name +
                             "' cannot name a version tag: " + key.message());
    }
  }
  return Status::Ok();
}

bool AllChecksPassed(const std::vector<PromotionCheck>& checks) {
  for (const PromotionCheck& check : checks) {
    if (!check.passed) return false;
  }
  return true;
}

std::string CheckTagValue(const PromotionCheck& check) {
  std::string value = check.passed ? "passed" : check.detail.empty() ? "failed" : "failed: " + check.detail;
  if (value.size() <= kMaxRegistryTagValueLength) return value;
  size_t cut = kMaxRegistryTagValueLength;
  // Back off to the start of a UTF-8 character (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  value.resize(cut);
  return value;
}

std::string DescribePromotion(const PromotionRecord& record) {
  const std::string subject =
      "version " + std::to_string(record.candidate_version) + " of '" + record.model + "'";
  if (record.accepted) {
    return "accepted: " + subject + " is now " + record.alias + " (" + std::to_string(record.checks.size()) +
           " of " + std::to_string(record.checks.size()) + " checks passed)";
  }
  std::string failed;
  size_t failures = 0;
  for (const PromotionCheck& check : record.checks) {
    if (check.passed) continue;
    ++failures;
    failed += "\n  " + check.name + " failed";
    if (!check.detail.empty()) failed += ": " + check.detail;
    if (!std::isnan(check.observed) || !std::isnan(check.threshold)) {
      failed += " (observed " + Number(check.observed) + ", threshold " + Number(check.threshold) + ")";
    }
  }
  return "refused: " + subject + " did not become " + record.alias + "; " + std::to_string(failures) +
         " of " + std::to_string(record.checks.size()) + " checks failed; " + record.alias + " stays at " +
         VersionText(record.previous_version) + failed;
}

Result<PromotionRecord> ModelRegistry::RecordPromotion(const NewPromotion& request) {
  KILN_RETURN_IF_ERROR(ValidateModelName(request.model, "model"));
  KILN_RETURN_IF_ERROR(ValidateAliasName(request.alias));
  KILN_RETURN_IF_ERROR(ValidatePromotionChecks(request.checks));
  const int64_t now = clock_.NowMillis();
  PromotionRecord record;
  record.model = request.model;
  record.candidate_version = request.candidate_version;
  record.alias = request.alias;
  record.accepted = AllChecksPassed(request.checks);
  record.actor = request.actor;
  record.timestamp = now;
  record.checks = request.checks;
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](Connection& connection) -> Status {
    const std::string& name = request.model;
    const int64_t version = request.candidate_version;
    KILN_RETURN_IF_ERROR(registry_rows::RequireVersion(connection, name, version));
    KILN_ASSIGN_OR_RETURN(
        storage::Rows current,
        connection.Query("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                         {name, request.alias}));
    record.previous_version.reset();
    if (!current.empty()) record.previous_version = current[0].Int(0);
    if (request.expected_previous_version &&
        record.previous_version.value_or(0) != *request.expected_previous_version) {
      const int64_t expected = *request.expected_previous_version;
      return FailedPrecondition("alias '" + request.alias + "' of model '" + name + "' points at " +
                                VersionText(record.previous_version) + ", not " +
                                VersionText(expected == 0 ? std::nullopt : std::optional<int64_t>(expected)) +
                                " as when the promotion checks ran; run the promotion again");
    }
    KILN_ASSIGN_OR_RETURN(storage::Rows last,
                          connection.Query("SELECT COALESCE(MAX(id), 0) FROM model_promotions"));
    record.id = last.at(0).Int(0) + 1;
    KILN_RETURN_IF_ERROR(
        Exec(connection,
             "INSERT INTO model_promotions (id, name, candidate_version, alias, previous_version, "
             "accepted, actor, timestamp_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
             {record.id, name, version, request.alias,
              record.previous_version ? SqlValue(*record.previous_version) : SqlNull(),
              int64_t{record.accepted ? 1 : 0}, request.actor, now}));
    for (size_t i = 0; i < request.checks.size(); ++i) {
      const PromotionCheck& check = request.checks[i];
      KILN_RETURN_IF_ERROR(
          Exec(connection,
               "INSERT INTO model_promotion_checks (promotion_id, ordinal, check_name, passed, "
               "detail, observed, threshold) VALUES (?, ?, ?, ?, ?, ?, ?)",
               {record.id, static_cast<int64_t>(i), check.name, int64_t{check.passed ? 1 : 0}, check.detail,
                NumberOrNull(check.observed), NumberOrNull(check.threshold)}));
    }
    // The version's kiln.check.* tags describe this promotion only.
    KILN_RETURN_IF_ERROR(Exec(connection,
                              "DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key LIKE ?",
                              {name, version, std::string(kCheckTagPrefix) + "%"}));
    for (const PromotionCheck& check : request.checks) {
      KILN_RETURN_IF_ERROR(UpsertVersionTag(connection, name, version,
                                            std::string(kCheckTagPrefix) + check.name, CheckTagValue(check)));
    }
    KILN_RETURN_IF_ERROR(UpsertVersionTag(connection, name, version, std::string(kLastPromotionTag),
                                          record.accepted ? "accepted" : "refused"));
    if (!record.accepted) return Status::Ok();
    return MoveAlias(connection, name, request.alias, version, request.actor, std::string(kPromotionReason),
                     now);
  }));
  return record;
}

Result<std::vector<PromotionRecord>> ModelRegistry::ListPromotions(const std::string& name,
                                                                   std::optional<int64_t> version,
                                                                   int64_t limit) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  if (limit < 0) return InvalidArgument("limit must not be negative, got " + std::to_string(limit));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_RETURN_IF_ERROR(registry_rows::RequireModel(*connection, name));
  std::string filter = " WHERE p.name = ?";
  std::vector<SqlValue> params = {name};
  if (version) {
    filter += " AND p.candidate_version = ?";
    params.emplace_back(*version);
  }
  std::string sql =
      "SELECT p.id, p.name, p.candidate_version, p.alias, p.previous_version, p.accepted, p.actor, "
      "p.timestamp_ms "
      "FROM model_promotions p" +
      filter + " ORDER BY p.id DESC";
  std::vector<SqlValue> page_params = params;
  if (limit > 0) {
    sql += " LIMIT ?";
    page_params.emplace_back(limit);
  }
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query(sql, page_params));
  std::vector<PromotionRecord> records;
  if (rows.empty()) return records;
  std::map<int64_t, size_t> index_of;  // promotion id → position in records
  for (const storage::Row& row : rows) {
    PromotionRecord record;
    record.id = row.Int(0);
    record.model = row.String(1);
    record.candidate_version = row.Int(2);
    record.alias = row.String(3);
    if (!row.IsNull(4)) record.previous_version = row.Int(4);
    record.accepted = row.Int(5) != 0;
    record.actor = row.String(6);
    record.timestamp = row.Int(7);
    index_of[record.id] = records.size();
    records.push_back(std::move(record));
  }
  // The checks of the page: ids from the oldest on the page up.
  params.emplace_back(records.back().id);
  KILN_ASSIGN_OR_RETURN(
      storage::Rows checks,
      connection->Query("SELECT c.promotion_id, c.check_name, c.passed, c.detail, c.observed, "
                        "c.threshold FROM model_promotion_checks c "
                        "JOIN model_promotions p ON p.id = c.promotion_id" +
                            filter + " AND c.promotion_id >= ? ORDER BY c.promotion_id, c.ordinal",
                        params));
  for (const storage::Row& row : checks) {
    auto at = index_of.find(row.Int(0));
    if (at == index_of.end()) continue;
    records[at->second].checks.push_back(
        {row.String(1), row.Int(2) != 0, row.String(3), NumberOrNan(row, 4), NumberOrNan(row, 5)});
  }
  return records;
}

}  // namespace kiln::tracking
