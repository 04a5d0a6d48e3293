#include "serving/outcome_store.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "data/timestamp.h"
#include "storage/database.h"

namespace kiln::serving {

namespace {

constexpr size_t kIdsPerQuery = 500;

std::string Number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

// The parts of a "was already recorded with a different …" message: a
// field shown as context when equal, "stored vs sent" when not.
class Difference {
 public:
  void Context(const std::string& field, const std::string& stored, const std::string& sent) {
    if (stored == sent) {
      parts_.push_back(field + " " + stored);
    } else {
      Differs(field, stored, sent);
    }
  }
  void Compare(bool equal, const std::string& field, const std::string& stored, const std::string& sent) {
    if (!equal) Differs(field, stored, sent);
  }
  bool any() const { return !first_.empty(); }
  // "label 'l-7' was already recorded with a different value (prediction pred-1, value 1 vs 0)"
  Status Refusal(const std::string& thing, const std::string& where) const {
    std::string joined;
    for (const std::string& part : parts_) joined += (joined.empty() ? "" : ", ") + part;
    return AlreadyExists(thing + " " + where + " with a different " + first_ + " (" + joined + ")");
  }

 private:
  void Differs(const std::string& field, const std::string& stored, const std::string& sent) {
    if (first_.empty()) first_ = field;
    parts_.push_back(field + " " + stored + " vs " + sent);
  }
  std::string first_;
  std::vector<std::string> parts_;
};

Difference CompareLabels(const Label& stored, const Label& sent) {
  Difference difference;
  difference.Context("prediction", stored.prediction_id, sent.prediction_id);
  difference.Compare(stored.value == sent.value, "value", Number(stored.value), Number(sent.value));
  difference.Compare(!sent.timestamp_given || stored.timestamp_micros == sent.timestamp_micros, "timestamp",
                     data::FormatTimestamp(stored.timestamp_micros), data::FormatTimestamp(sent.timestamp_micros));
  return difference;
}

Difference CompareEvents(const BusinessEvent& stored, const BusinessEvent& sent) {
  Difference difference;
  difference.Context("unit", stored.unit_id, sent.unit_id);
  difference.Context("name", stored.name, sent.name);
  difference.Compare(stored.value == sent.value, "value", Number(stored.value), Number(sent.value));
  difference.Compare(!sent.timestamp_given || stored.timestamp_micros == sent.timestamp_micros, "timestamp",
                     data::FormatTimestamp(stored.timestamp_micros), data::FormatTimestamp(sent.timestamp_micros));
  difference.Compare(stored.properties == sent.properties, "properties", stored.properties.dump(),
                     sent.properties.dump());
  return difference;
}

std::string JsonText(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Inserts rows of `columns` values each with multi-row INSERTs (chunks of
// 100, 10 and 1 rows: few statement shapes for the statement caches).
Status InsertRows(storage::Connection& connection, const std::string& insert_into, size_t columns,
                  const std::vector<std::vector<storage::SqlValue>>& rows) {
  for (size_t next = 0; next < rows.size();) {
    size_t left = rows.size() - next;
    size_t count = left >= 100 ? 100 : left >= 10 ? 10 : 1;
    std::string sql = insert_into + " VALUES ";
    std::vector<storage::SqlValue> params;
    for (size_t r = 0; r < count; ++r) {
      sql += r == 0 ? "(" : ", (";
      for (size_t c = 0; c < columns; ++c) sql += c == 0 ? "?" : ", ?";
      sql += ")";
      params.insert(params.end(), rows[next + r].begin(), rows[next + r].end());
    }
    KILN_ASSIGN_OR_RETURN(int64_t inserted, connection.Execute(sql, params));
    (void)inserted;
    next += count;
  }
  return Status::Ok();
}

// Rows of `select` (which ends in "IN (") for `ids`, queried in chunks.
Result<storage::Rows> SelectByIds(storage::Connection& connection, const std::string& select,
                                  const std::vector<std::string>& ids) {
  storage::Rows all;
  for (size_t begin = 0; begin < ids.size(); begin += kIdsPerQuery) {
    size_t end = std::min(ids.size(), begin + kIdsPerQuery);
    std::string sql = select;
    std::vector<storage::SqlValue> params;
    for (size_t i = begin; i < end; ++i) {
      sql += i == begin ? "?" : ", ?";
      params.push_back(ids[i]);
    }
    KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection.Query(sql + ")", params));
    for (storage::Row& row : rows) all.push_back(std::move(row));
  }
  return all;
}

Label LabelFromRow(const storage::Row& row) {
  return Label{row.String(0), row.String(1), row.Double(2), row.Int(3)};
}

Result<BusinessEvent> EventFromRow(const storage::Row& row) {
  BusinessEvent event;
  event.event_id = row.String(0);
  event.unit_id = row.String(1);
  event.name = row.String(2);
  event.value = row.Double(3);
  event.timestamp_micros = row.Int(4);
  event.properties = Json::parse(row.String(5), nullptr, /*allow_exceptions=*/false);
  if (!event.properties.is_object()) {
    return Internal("table business_events, row '" + event.event_id + "': properties_json is not a JSON object");
  }
  return event;
}

constexpr const char* kLabelColumns = "label_id, prediction_id, value, timestamp_micros";
constexpr const char* kEventColumns = "event_id, unit_id, name, value, timestamp_micros, properties_json";

// The idempotent batch insert shared by labels and events. `Item` has an
// id, a Compare(stored, sent) and a row form; see AddLabels/AddEvents.
template <typename Item, typename IdOf, typename CompareFn, typename FromRow, typename ToRow>
Result<RecordCounts> AddIdempotent(storage::Database& database, std::span<const Item> items, const char* noun,
                                   const std::string& select_prefix, const std::string& insert_into,
                                   size_t columns, IdOf id_of, CompareFn compare, FromRow from_row, ToRow to_row) {
  RecordCounts counts;
  // Repeats inside the batch: the same content is a duplicate, other content a refusal.
  std::map<std::string, const Item*> unique;
  std::vector<const Item*> order;
  for (const Item& item : items) {
    auto [it, inserted] = unique.emplace(id_of(item), &item);
    if (inserted) {
      order.push_back(&item);
      continue;
    }
    Difference difference = compare(*it->second, item);
    if (difference.any()) {
      return difference.Refusal(std::string(noun) + " '" + it->first + "'", "appears twice in the batch");
    }
    ++counts.duplicates;
  }
  std::vector<std::string> ids;
  for (const Item* item : order) ids.push_back(id_of(*item));

  RecordCounts stored_counts;
  Status status = database.InTransaction([&](storage::Connection& connection) -> Status {
    stored_counts = counts;
    KILN_ASSIGN_OR_RETURN(storage::Rows rows, SelectByIds(connection, select_prefix, ids));
    std::map<std::string, Item> existing;
    for (const storage::Row& row : rows) {
      KILN_ASSIGN_OR_RETURN(Item item, from_row(row));
      existing.emplace(id_of(item), std::move(item));
    }
    std::vector<std::vector<storage::SqlValue>> inserts;
    for (const Item* item : order) {
      auto found = existing.find(id_of(*item));
      if (found == existing.end()) {
        inserts.push_back(to_row(*item));
        continue;
      }
      Difference difference = compare(found->second, *item);
      if (difference.any()) {
        return difference.Refusal(std::string(noun) + " '" + found->first + "'", "was already recorded");
      }
      ++stored_counts.duplicates;
    }
    stored_counts.created = static_cast<int64_t>(inserts.size());
    return InsertRows(connection, insert_into, columns, inserts);
  });
  if (!status.ok()) return status;
  return stored_counts;
}

}  // namespace

OutcomeStore::OutcomeStore(storage::Database& database, Clock& clock) : database_(database), clock_(clock) {}

Result<RecordCounts> OutcomeStore::AddLabels(std::span<const Label> labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const Label& label = labels[i];
    if (label.label_id.empty()) {
      return InvalidArgument("labels[" + std::to_string(i) + "]: label_id must not be empty");
    }
    if (label.prediction_id.empty()) {
      return InvalidArgument("label '" + label.label_id + "': prediction_id must not be empty");
    }
    if (!std::isfinite(label.value)) {
      return InvalidArgument("label '" + label.label_id + "': value must be a finite number, got " +
                             Number(label.value));
    }
  }
  const int64_t now = clock_.NowMillis();
  return AddIdempotent<Label>(
      database_, labels, "label", std::string("SELECT ") + kLabelColumns + " FROM prediction_labels WHERE label_id IN (",
      "INSERT INTO prediction_labels (label_id, prediction_id, value, timestamp_micros, created_at)", 5,
      [](const Label& label) { return label.label_id; }, CompareLabels,
      [](const storage::Row& row) -> Result<Label> { return LabelFromRow(row); },
      [now](const Label& label) -> std::vector<storage::SqlValue> {
        return {label.label_id, label.prediction_id, label.value, label.timestamp_micros, now};
      });
}

Result<RecordCounts> OutcomeStore::AddEvents(std::span<const BusinessEvent> events) {
  for (size_t i = 0; i < events.size(); ++i) {
    const BusinessEvent& event = events[i];
    if (event.event_id.empty()) {
      return InvalidArgument("events[" + std::to_string(i) + "]: event_id must not be empty");
    }
    const std::string where = "event '" + event.event_id + "': ";
    if (event.unit_id.empty()) return InvalidArgument(where + "unit_id must not be empty");
    if (event.name.empty()) return InvalidArgument(where + "name must not be empty");
    if (!std::isfinite(event.value)) {
      return InvalidArgument(where + "value must be a finite number, got " + Number(event.value));
    }
    if (!event.properties.is_object()) return InvalidArgument(where + "properties must be a JSON object");
  }
  const int64_t now = clock_.NowMillis();
  return AddIdempotent<BusinessEvent>(
      database_, events, "event", std::string("SELECT ") + kEventColumns + " FROM business_events WHERE event_id IN (",
      "INSERT INTO business_events (event_id, unit_id, name, value, timestamp_micros, properties_json, created_at)", 7,
      [](const BusinessEvent& event) { return event.event_id; }, CompareEvents, EventFromRow,
      [now](const BusinessEvent& event) -> std::vector<storage::SqlValue> {
        return {event.event_id, event.unit_id,  event.name, event.value, event.timestamp_micros,
                JsonText(event.properties), now};
      });
}

Result<std::vector<Label>> OutcomeStore::ListLabels(const LabelQuery& query) {
  if (query.limit <= 0) return InvalidArgument("limit must be positive, got " + std::to_string(query.limit));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  const std::string select = std::string("SELECT ") + kLabelColumns + " FROM prediction_labels";
  storage::Rows rows;
  if (query.prediction_ids.empty()) {
    KILN_ASSIGN_OR_RETURN(rows, connection->Query(select + " ORDER BY timestamp_micros, label_id LIMIT ?",
                                                  {query.limit}));
  } else {
    KILN_ASSIGN_OR_RETURN(rows, SelectByIds(*connection, select + " WHERE prediction_id IN (", query.prediction_ids));
  }
  std::vector<Label> labels;
  for (const storage::Row& row : rows) labels.push_back(LabelFromRow(row));
  std::sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) {
    return a.timestamp_micros != b.timestamp_micros ? a.timestamp_micros < b.timestamp_micros : a.label_id < b.label_id;
  });
  if (static_cast<int64_t>(labels.size()) > query.limit) labels.resize(static_cast<size_t>(query.limit));
  return labels;
}

Result<std::vector<BusinessEvent>> OutcomeStore::ListEvents(const EventQuery& query) {
  if (query.limit <= 0) return InvalidArgument("limit must be positive, got " + std::to_string(query.limit));
  std::string sql = std::string("SELECT ") + kEventColumns + " FROM business_events WHERE 1 = 1";
  std::vector<storage::SqlValue> params;
  if (!query.unit_id.empty()) sql += " AND unit_id = ?", params.push_back(query.unit_id);
  if (!query.name.empty()) sql += " AND name = ?", params.push_back(query.name);
  if (query.start_micros) sql += " AND timestamp_micros >= ?", params.push_back(*query.start_micros);
  if (query.end_micros) sql += " AND timestamp_micros < ?", params.push_back(*query.end_micros);
  sql += " ORDER BY timestamp_micros, event_id LIMIT ?";
  params.push_back(query.limit);
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query(sql, params));
  std::vector<BusinessEvent> events;
  for (const storage::Row& row : rows) {
    KILN_ASSIGN_OR_RETURN(BusinessEvent event, EventFromRow(row));
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace kiln::serving
