#pragma once
// Push: new rows for a push source from a streaming producer. The rows are
// checked against the source's declared columns and types, then against
// the expectations of every feature view fed by the source; failing rows go
// to quarantine with their reason, the rest to the online store (the latest
// record per entity of each online view, row features only) and/or the
// offline store (table feature_pushed_rows, read back by source_reader.h).
//
// Pusher borrows the database and clock (they must outlive it); it keeps no
// state between calls and is thread-safe.

#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "data/frame.h"
#include "features/feature_store.h"
#include "features/online_store.h"
#include "features/repository.h"

namespace kiln::storage {
class Database;
}

namespace kiln::features {

// `rows` converted to the push source's columns, in the order: declared
// columns (by name), then the timestamp fields. Conversions: int64 →
// float64, integral float64 → int64, ISO 8601 strings → timestamps (naive
// ones in the source's time zone). A missing created-timestamp column is
// filled with `now_micros`. Errors name the row and column: "row 2: column
// 'delay' must be float64, got string", "rows lack column 'origin' of push
// source 'flight_events' (columns: …)", "row 0: column 'event_timestamp'
// (the event timestamp) is null".
Result<data::Frame> ConformPushRows(const SourceDef& source, const data::Frame& rows, int64_t now_micros);

class Pusher {
 public:
  Pusher(storage::Database& database, Clock& clock);

  // REQUIRES: `online` is non-null when request.to includes the online store.
  // Errors: unknown source, not a push source, bad rows (ConformPushRows),
  // pushing online to a view with aggregation features.
  Result<PushResult> Run(const Repository& repository, const PushRequest& request, OnlineStore* online,
                         int threads);

 private:
  storage::Database& database_;
  Clock& clock_;
};

}  // namespace kiln::features
