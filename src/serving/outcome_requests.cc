// ParseLabelsRequest and ParseEventsRequest: the bodies of POST /api/labels
// and POST /api/events (inference_protocol.h, docs/api/serving-wire.md).

#include <unordered_map>

#include "serving/inference_protocol.h"
#include "serving/inference_protocol_internal.h"

namespace kiln::serving {

namespace {

using internal::FieldPath;
using internal::FindField;
using internal::IndexPath;

constexpr std::string_view kIdExpected = "a non-empty string (the client's idempotency key)";

Result<std::string> RequiredId(const Json& object, std::string_view path, std::string_view field,
                               std::string_view expected) {
  const Json* value = FindField(object, field);
  if (value == nullptr) return internal::MissingField(FieldPath(path, field), expected);
  return internal::ParseId(*value, FieldPath(path, field));
}

Result<int64_t> OptionalTimestamp(const Json& object, std::string_view path, int64_t now_micros) {
  const Json* value = FindField(object, "timestamp");
  if (value == nullptr) return now_micros;
  return internal::ParseTimestampValue(*value, FieldPath(path, "timestamp"));
}

bool SameContent(const Label& a, const Label& b) {
  return a.prediction_id == b.prediction_id && a.value == b.value &&
         (!a.timestamp_given || !b.timestamp_given || a.timestamp_micros == b.timestamp_micros);
}
bool SameContent(const BusinessEvent& a, const BusinessEvent& b) {
  return a.unit_id == b.unit_id && a.name == b.name && a.value == b.value &&
         (!a.timestamp_given || !b.timestamp_given || a.timestamp_micros == b.timestamp_micros) &&
         a.properties == b.properties;
}

Result<Label> ParseLabel(const Json& object, const std::string& path, bool single, int64_t now_micros) {
  KILN_RETURN_IF_ERROR(internal::CheckFields(object, path, {"id", "prediction_id", "value", "timestamp"},
                                             single ? std::initializer_list<std::string_view>{"labels"}
                                                    : std::initializer_list<std::string_view>{}));
  Label label;
  KILN_ASSIGN_OR_RETURN(label.label_id, RequiredId(object, path, "id", kIdExpected));
  KILN_ASSIGN_OR_RETURN(label.prediction_id, RequiredId(object, path, "prediction_id",
                                                        "a non-empty string (the id of a prediction)"));
  const Json* value = FindField(object, "value");
  if (value == nullptr) return internal::MissingField(FieldPath(path, "value"), "a number or a boolean");
  KILN_ASSIGN_OR_RETURN(label.value, internal::ParseOutcomeValue(*value, FieldPath(path, "value")));
  KILN_ASSIGN_OR_RETURN(label.timestamp_micros, OptionalTimestamp(object, path, now_micros));
  label.timestamp_given = FindField(object, "timestamp") != nullptr;
  return label;
}

Result<BusinessEvent> ParseEvent(Json& object, const std::string& path, bool single, int64_t now_micros) {
  KILN_RETURN_IF_ERROR(internal::CheckFields(object, path,
                                             {"id", "unit_id", "name", "value", "timestamp", "properties"},
                                             single ? std::initializer_list<std::string_view>{"events"}
                                                    : std::initializer_list<std::string_view>{}));
  BusinessEvent event;
  KILN_ASSIGN_OR_RETURN(event.event_id, RequiredId(object, path, "id", kIdExpected));
  KILN_ASSIGN_OR_RETURN(event.unit_id, RequiredId(object, path, "unit_id", "a non-empty string"));
  KILN_ASSIGN_OR_RETURN(event.name,
                        RequiredId(object, path, "name", "a non-empty string such as \"conversion\""));
  if (const Json* value = FindField(object, "value")) {
    KILN_ASSIGN_OR_RETURN(event.value, internal::ParseOutcomeValue(*value, FieldPath(path, "value")));
  }
  KILN_ASSIGN_OR_RETURN(event.timestamp_micros, OptionalTimestamp(object, path, now_micros));
  event.timestamp_given = FindField(object, "timestamp") != nullptr;
  if (Json* properties = FindField(object, "properties")) {
    if (!properties->is_object()) {
      return internal::WrongType(FieldPath(path, "properties"), "an object", *properties);
    }
    event.properties = std::move(*properties);
  }
  return event;
}

// The shared shape of both bodies: {"<list_field>": [item, …]} or a single
// item object. `parse(item, path, single)` parses one item.
template <typename Item, typename Parse>
Result<std::vector<Item>> ParseOutcomes(std::string_view body, std::string_view list_field,
                                        std::string_view noun, std::string_view single_example,
                                        size_t max_items, Parse parse, std::string (*id_of)(const Item&)) {
  KILN_ASSIGN_OR_RETURN(Json root, internal::ParseRequestBody(body));
  std::vector<Item> items;
  if (!root.contains(list_field)) {
    if (root.empty()) {
      return InvalidArgument("expected {\"" + std::string(list_field) + "\": [...]} or a single " +
                             std::string(single_example));
    }
    if (max_items < 1) return internal::LimitExceeded(1, noun, max_items);
    KILN_ASSIGN_OR_RETURN(Item item, parse(root, std::string(), /*single=*/true));
    items.push_back(std::move(item));
    return items;
  }
  KILN_RETURN_IF_ERROR(internal::CheckFields(root, "", {list_field}));
  Json& list = root[std::string(list_field)];
  if (!list.is_array()) return internal::WrongType(list_field, "an array", list);
  if (list.size() > max_items) return internal::LimitExceeded(list.size(), noun, max_items);
  items.reserve(list.size());
  std::unordered_map<std::string, size_t> index_by_id;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = IndexPath(list_field, i);
    if (!list[i].is_object()) return internal::WrongType(path, "an object", list[i]);
    KILN_ASSIGN_OR_RETURN(Item item, parse(list[i], path, /*single=*/false));
    auto [it, inserted] = index_by_id.emplace(id_of(item), i);
    if (!inserted && !SameContent(items[it->second], item)) {
      return InvalidArgument(path + ".id: " + internal::QuoteName(it->first) + " is also the id of " +
                             IndexPath(list_field, it->second) + ", with different content");
    }
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace

Result<std::vector<Label>> ParseLabelsRequest(std::string_view body, size_t max_items, int64_t now_micros) {
  auto parse = [now_micros](Json& object, const std::string& path, bool single) {
    return ParseLabel(object, path, single, now_micros);
  };
  return ParseOutcomes<Label>(
      body, "labels", "labels", "label {\"id\", \"prediction_id\", \"value\"}", max_items, parse,
      +[](const Label& label) { return label.label_id; });
}

Result<std::vector<BusinessEvent>> ParseEventsRequest(std::string_view body, size_t max_items,
                                                      int64_t now_micros) {
  auto parse = [now_micros](Json& object, const std::string& path, bool single) {
    return ParseEvent(object, path, single, now_micros);
  };
  return ParseOutcomes<BusinessEvent>(
      body, "events", "events", "event {\"id\", \"unit_id\", \"name\"}", max_items, parse,
      +[](const BusinessEvent& event) { return event.event_id; });
}

}  // namespace kiln::serving
