#include "data/read_plan.h"

#include <unordered_map>
#include <unordered_set>

#include "data/number_format.h"

namespace kiln::data {
namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace

Result<ReadPlan> PlanColumns(const std::vector<std::string>& source_names, const ReadOptions& options,
                             const std::string& source) {
  std::unordered_map<std::string_view, size_t> index_of;
  for (size_t i = 0; i < source_names.size(); ++i) index_of.emplace(source_names[i], i);
  const std::string listing = " (columns: " + JoinNames(source_names) + ")";

  std::unordered_map<std::string, Type> declared;
  for (const auto& [name, type] : options.types) {
    if (!index_of.count(name)) {
      return InvalidArgument(source + ": a type is declared for column '" + name +
                             "', which is not in the file" + listing);
    }
    declared[name] = type;
  }
  for (const std::string& name : options.timestamp_columns) {
    if (!index_of.count(name)) {
      return InvalidArgument(source + ": timestamp column '" + name + "' is not in the file" + listing);
    }
    auto it = declared.find(name);
    if (it != declared.end() && it->second != Type::kTimestamp) {
      return InvalidArgument(source + ": column '" + name + "' is listed as a timestamp column " +
                             "but declared " + std::string(TypeName(it->second)));
    }
    declared[name] = Type::kTimestamp;
  }

  ReadPlan plan;
  plan.slot_of_source.assign(source_names.size(), -1);
  auto add = [&](size_t source_index) {
    PlannedColumn column;
    column.name = source_names[source_index];
    column.source = source_index;
    auto it = declared.find(column.name);
    if (it != declared.end()) column.declared = it->second;
    plan.slot_of_source[source_index] = static_cast<int>(plan.columns.size());
    plan.columns.push_back(std::move(column));
  };
  if (options.columns.empty()) {
    for (size_t i = 0; i < source_names.size(); ++i) add(i);
    return plan;
  }
  std::unordered_set<std::string_view> seen;
  for (const std::string& name : options.columns) {
    auto it = index_of.find(name);
    if (it == index_of.end()) {
      return InvalidArgument(source + ": no column '" + name + "'" + listing);
    }
    if (!seen.insert(name).second) {
      return InvalidArgument(source + ": column '" + name + "' is selected twice");
    }
    add(it->second);
  }
  return plan;
}

Type InferType(uint8_t seen) {
  const bool numbers = seen & (kSeenInt | kSeenFloat);
  if ((seen & kSeenString) || ((seen & kSeenBool) && numbers)) return Type::kString;
  if (seen & kSeenBool) return Type::kBool;
  if (seen & kSeenFloat) return Type::kFloat64;
  if (seen & kSeenInt) return Type::kInt64;
  if (seen & kSeenEmptyQuoted) return Type::kString;
  return Type::kFloat64;
}

uint8_t ClassifyText(std::string_view text) {
  const char first = text[0];
  if ((first >= '0' && first <= '9') || first == '-' || first == '+' || first == '.') {
    // Plain decimal integers up to 18 digits cannot overflow int64.
    size_t digits_begin = (first == '-' || first == '+') ? 1 : 0;
    size_t i = digits_begin;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == text.size() && i > digits_begin) {
      if (i - digits_begin <= 18 || ParseInt64(text)) return kSeenInt;
    }
    return ParseFloat64(text) ? kSeenFloat : kSeenString;
  }
  switch (first) {
    case 't':
    case 'T':
    case 'f':
    case 'F':
      return ParseBool(text) ? kSeenBool : kSeenString;
    case 'n':
    case 'N':
    case 'i':
    case 'I':
      return ParseFloat64(text) ? kSeenFloat : kSeenString;
    default:
      return kSeenString;
  }
}

}  // namespace kiln::data
