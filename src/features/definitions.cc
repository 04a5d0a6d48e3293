#include "features/definitions.h"

namespace kiln::features {

std::string Location::ToString() const {
  if (file.empty()) return "";
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

bool Expectation::empty() const {
  return !type && !min && !max && allowed.empty() && !max_null_fraction;
}

std::string_view SourceKindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kCsv: return "csv";
    case SourceKind::kJsonLines: return "jsonl";
    case SourceKind::kSqlite: return "sqlite";
    case SourceKind::kPostgres: return "postgres";
    case SourceKind::kPush: return "push";
  }
  return "unknown";
}

Result<SourceKind> ParseSourceKind(std::string_view name) {
  if (name == "csv") return SourceKind::kCsv;
  if (name == "jsonl") return SourceKind::kJsonLines;
  if (name == "sqlite") return SourceKind::kSqlite;
  if (name == "postgres" || name == "postgresql") return SourceKind::kPostgres;
  if (name == "push") return SourceKind::kPush;
  return InvalidArgument("unknown source kind '" + std::string(name) +
                         "' (expected csv, jsonl, sqlite, postgres or push)");
}

Result<FeatureRef> ParseFeatureRef(std::string_view text) {
  const size_t split = text.find_first_of(".:");
  if (split == std::string_view::npos || split == 0 || split + 1 == text.size()) {
    return InvalidArgument("'" + std::string(text) +
                           "' is not a feature reference (use view.feature, view:feature or view.*)");
  }
  return FeatureRef{std::string(text.substr(0, split)), std::string(text.substr(split + 1))};
}

}  // namespace kiln::features
