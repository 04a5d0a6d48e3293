#include "server/features_json.h"

#include <cmath>
#include <limits>

#include "data/timestamp.h"

namespace kiln::server {
namespace {

data::Type InferType(const Json& json) {
  if (json.is_boolean()) return data::Type::kBool;
  if (json.is_number_integer()) return data::Type::kInt64;
  if (json.is_number()) return data::Type::kFloat64;
  return data::Type::kString;
}

}  // namespace

Result<data::Frame> FrameFromJson(const Json& json, const std::map<std::string, data::Type>& types,
                                  const std::string& where) {
  // Normalise rows to columns, keeping first-seen column order.
  std::vector<std::string> names;
  std::map<std::string, std::vector<const Json*>> columns;
  size_t rows = 0;
  if (json.is_array()) {
    rows = json.size();
    for (size_t r = 0; r < json.size(); ++r) {
      if (!json[r].is_object()) {
        return InvalidArgument(where + "[" + std::to_string(r) + "]: expected an object");
      }
      for (const auto& [name, value] : json[r].items()) {
        auto [it, inserted] = columns.try_emplace(name);
        if (inserted) names.push_back(name);
        it->second.resize(r, nullptr);
        it->second.push_back(&value);
      }
    }
    for (auto& [name, values] : columns) values.resize(rows, nullptr);
  } else if (json.is_object()) {
    bool first = true;
    std::string first_name;
    for (const auto& [name, values] : json.items()) {
      if (!values.is_array()) {
        return InvalidArgument(where + "." + name + ": expected a list of values");
      }
      if (first) {
        rows = values.size();
        first_name = name;
        first = false;
      } else if (values.size() != rows) {
        return InvalidArgument(where + ": column '" + name + "' has " +
                               std::to_string(values.size()) + " values but '" + first_name +
                               "' has " + std::to_string(rows));
      }
      names.push_back(name);
      auto& column = columns[name];
      column.reserve(values.size());
      for (const Json& value : values) column.push_back(&value);
    }
  } else {
    return InvalidArgument(where + ": expected an object of columns or a list of rows");
  }

  static const Json kNull = nullptr;
  data::Frame frame;
  for (const std::string& name : names) {
    const std::vector<const Json*>& values = columns[name];
    data::Type type = data::Type::kString;
    if (auto it = types.find(name); it != types.end()) {
      type = it->second;
    } else {
      bool found = false;
      for (const Json* value : values) {
        if (value != nullptr && !value->is_null()) {
          type = InferType(*value);
          found = true;
          break;
        }
      }
      if (!found) type = data::Type::kString;
      // A column mixing integers and other numbers is float64.
      if (type == data::Type::kInt64) {
        for (const Json* value : values) {
          if (value != nullptr && value->is_number_float()) type = data::Type::kFloat64;
        }
      }
    }
    data::Column column(type);
    column.Reserve(values.size());
    for (size_t r = 0; r < values.size(); ++r) {
      const Json& value = values[r] != nullptr ? *values[r] : kNull;
      KILN_ASSIGN_OR_RETURN(data::Value parsed,
                            ValueFromJson(value, type, where + "." + name + "[" + std::to_string(r) + "]"));
      column.Append(parsed);
    }
    KILN_RETURN_IF_ERROR(frame.AddColumn(name, std::move(column)));
  }
  return frame;
}

Json FrameToJson(const data::Frame& frame) {
  Json out = Json::object();
  for (size_t c = 0; c < frame.num_columns(); ++c) {
    const data::Column& column = frame.column(c);
    Json values = Json::array();
    for (size_t r = 0; r < column.size(); ++r) values.push_back(ValueToJson(column.Get(r)));
    out[frame.names()[c]] = std::move(values);
  }
  return out;
}

}  // namespace kiln::server
