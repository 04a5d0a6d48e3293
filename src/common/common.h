#pragma once
// The common module's public contract: errors, JSON, hashing, clocks, ids.
#include "common/clock.h"
#include "common/hashing.h"
#include "common/json.h"
#include "common/progress.h"
#include "common/status.h"
#include "common/version.h"
