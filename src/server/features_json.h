#pragma once
// JSON shapes of the feature-store API (docs/api/features.md): columnar
// frames ({"origin": ["ORD", "SFO"], "departure": ["2001-04-01T08:00:00", …]},
// as Feast's feature server takes entities and push data), rows of values
// and online responses. Stateless.

#include <map>
#include <string>

#include "common/json.h"
#include "common/status.h"
#include "data/frame.h"
#include "data/value.h"
#include "data/value_json.h"

namespace kiln::server {

using data::ValueFromJson;
using data::ValueToJson;

// {"col": [values…], …} with every array the same length, or a list of row
// objects [{"col": v, …}, …]. Column types come from `types` when named
// there, otherwise from the first non-null value (string, integer → int64,
// other number → float64, bool). Errors: "entities: column 'origin' has 3
// values but 'departure' has 2", "entities: expected an object of columns
// or a list of rows".
Result<data::Frame> FrameFromJson(const Json& json, const std::map<std::string, data::Type>& types,
                                  const std::string& where);
// The columnar shape.
Json FrameToJson(const data::Frame& frame);

}  // namespace kiln::server
