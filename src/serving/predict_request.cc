// ParsePredictRequest: the body of Kiln's predict API (inference_protocol.h,
// docs/api/serving-wire.md).

#include <unordered_map>

#include "serving/inference_protocol.h"
#include "serving/inference_protocol_internal.h"

namespace kiln::serving {

namespace {

using internal::FieldPath;
using internal::FindField;
using internal::IndexPath;
using internal::WrongType;

constexpr std::string_view kRowFields[] = {"entity", "request", "unit_id", "id"};

// Whether a JSON value is a scalar a feature can be keyed by or computed from.
bool IsScalar(const Json& value) { return value.is_string() || value.is_number() || value.is_boolean(); }

// An object of scalar values; null values allowed when `allow_null` (a
// missing request value, handled by the feature's missing-value policy).
Status CheckScalarObject(const Json& object, const std::string& path, bool allow_null) {
  const std::string_view expected =
      allow_null ? "a string, number, boolean or null" : "a string, number or boolean";
  if (!object.is_object()) return WrongType(path, "an object of field names to values", object);
  for (const auto& [key, value] : object.items()) {
    if (key.empty()) return InvalidArgument(path + ": a field name is empty");
    if (IsScalar(value) || (allow_null && value.is_null())) continue;
    return WrongType(FieldPath(path, key), expected, value);
  }
  return Status::Ok();
}

// One row: {"entity", "request", "unit_id", "id"}; members are moved out of `row`.
Status ParseRow(Json& row, const std::string& path, PredictRow* out) {
  Json* entity = FindField(row, "entity");
  Json* request = FindField(row, "request");
  if (entity == nullptr && request == nullptr) {
    return InvalidArgument((path.empty() ? std::string("body") : path) +
                           ": expected \"entity\" (the entity keys) and/or \"request\" (the request fields)");
  }
  if (entity != nullptr) {
    KILN_RETURN_IF_ERROR(CheckScalarObject(*entity, FieldPath(path, "entity"), /*allow_null=*/false));
    out->entity = std::move(*entity);
  }
  if (request != nullptr) {
    KILN_RETURN_IF_ERROR(CheckScalarObject(*request, FieldPath(path, "request"), /*allow_null=*/true));
    out->request = std::move(*request);
  }
  if (const Json* unit_id = FindField(row, "unit_id")) {
    KILN_ASSIGN_OR_RETURN(out->unit_id, internal::ParseId(*unit_id, FieldPath(path, "unit_id")));
  }
  if (const Json* id = FindField(row, "id")) {
    KILN_ASSIGN_OR_RETURN(std::string prediction_id, internal::ParseId(*id, FieldPath(path, "id")));
    out->prediction_id = std::move(prediction_id);
  }
  return Status::Ok();
}

Status ParseRows(Json& root, size_t max_rows, PredictRequest* request) {
  for (std::string_view field : kRowFields) {
    if (root.contains(field)) {
      return InvalidArgument(
          std::string(field) +
          ": a body with \"rows\" takes \"entity\", \"request\", \"unit_id\" and \"id\" inside "
          "each row");
    }
  }
  KILN_RETURN_IF_ERROR(internal::CheckFields(root, "", {"rows", "as_of"}));
  Json& rows = root["rows"];
  if (!rows.is_array() || rows.empty()) return WrongType("rows", "a non-empty array of row objects", rows);
  if (rows.size() > max_rows) return internal::LimitExceeded(rows.size(), "rows", max_rows);
  request->batch = true;
  request->rows.resize(rows.size());
  std::unordered_map<std::string, size_t> row_by_id;
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string path = IndexPath("rows", i);
    Json& row = rows[i];
    if (!row.is_object()) return WrongType(path, "a row object", row);
    if (row.contains("as_of")) {
      return InvalidArgument(path + ".as_of: \"as_of\" applies to the whole batch; put it next to \"rows\"");
    }
    KILN_RETURN_IF_ERROR(internal::CheckFields(row, path, {"entity", "request", "unit_id", "id"}));
    KILN_RETURN_IF_ERROR(ParseRow(row, path, &request->rows[i]));
    const std::optional<std::string>& id = request->rows[i].prediction_id;
    if (id.has_value()) {
      auto [it, inserted] = row_by_id.emplace(*id, i);
      if (!inserted) {
        return InvalidArgument(path + ".id: " + internal::QuoteName(*id) + " is also the id of " +
                               IndexPath("rows", it->second));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<PredictRequest> ParsePredictRequest(std::string_view body, size_t max_rows) {
  KILN_ASSIGN_OR_RETURN(Json root, internal::ParseRequestBody(body));
  PredictRequest request;
  if (root.contains("rows")) {
    KILN_RETURN_IF_ERROR(ParseRows(root, max_rows, &request));
  } else {
    if (root.contains("timestamp")) {
      return InvalidArgument(
          "unknown field 'timestamp' (a replay's prediction time is \"as_of\"; request fields such as event "
          "times "
          "go in \"request\")");
    }
    KILN_RETURN_IF_ERROR(
        internal::CheckFields(root, "", {"entity", "request", "unit_id", "id", "as_of"}, /*hints=*/{"rows"}));
    if (max_rows < 1) return internal::LimitExceeded(1, "rows", max_rows);
    request.rows.resize(1);
    KILN_RETURN_IF_ERROR(ParseRow(root, "", &request.rows[0]));
  }
  if (const Json* as_of = FindField(root, "as_of")) {
    KILN_ASSIGN_OR_RETURN(int64_t micros, internal::ParseTimestampValue(*as_of, "as_of"));
    request.as_of_micros = micros;
  }
  return request;
}

}  // namespace kiln::serving
