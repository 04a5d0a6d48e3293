#pragma once
// The types of the columns a client sends for online reads and predictions:
// every join key (typed by its view's source schema) and every request field
// of the on-demand views, by name.

#include <map>
#include <string>

#include "data/value.h"
#include "features/repository.h"

namespace kiln::features {

std::map<std::string, data::Type> EntityColumnTypes(const Repository& repository);

}  // namespace kiln::features
