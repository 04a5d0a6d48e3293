#pragma once
// Small readers over the API's JSON for CLI rendering: they tolerate absent
// fields (MLflow omits empty ones) instead of throwing.

#include <string>

#include "common/json.h"

namespace kiln::cli {

std::string Str(const Json& object, const char* key);
int64_t Int(const Json& object, const char* key);
// A metric value as sent: a number or "NaN"/"Infinity"/"-Infinity".
double Number(const Json& object, const char* key);
const Json& Array(const Json& object, const char* key);
void PrintJson(const Json& value);

}  // namespace kiln::cli
