#include "features/entity_column_types.h"

namespace kiln::features {

std::map<std::string, data::Type> EntityColumnTypes(const Repository& repository) {
  std::map<std::string, data::Type> types;
  for (const ResolvedView& view : repository.views()) {
    for (const std::string& key : view.join_keys) {
      for (const data::Field& field : view.source_schema) {
        if (field.name == key) types.emplace(key, field.type);
      }
    }
  }
  for (const ResolvedOnDemandView& view : repository.on_demand_views()) {
    for (const auto& [name, type] : view.def->request) types.emplace(name, type);
  }
  return types;
}

}  // namespace kiln::features
