#pragma once
// Friendly generated run names in MLflow's shape, "adjective-noun-NNN"
// (e.g. "amber-heron-042"), drawn from Kiln's own word lists. Deterministic
// given the IdGenerator's seed. Thread-safe (IdGenerator is).

#include <string>

#include "common/clock.h"

namespace kiln::tracking {

std::string GenerateRunName(IdGenerator& ids);

}  // namespace kiln::tracking
