#pragma once
// The data module's public contract: typed values, columns, frames,
// timestamps and time zones, CSV and JSON-lines readers and writers.
#include "data/column.h"
#include "data/csv.h"
#include "data/frame.h"
#include "data/timestamp.h"
#include "data/value.h"
