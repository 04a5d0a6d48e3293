#pragma once
// Outcomes: ground-truth labels attached to logged predictions (they may
// arrive days later) and business events of units (a conversion, a claim).
// Stored in the metadata database (SQLite in the data directory, or
// PostgreSQL), tables `prediction_labels` and `business_events`
// (docs/formats/outcomes.md, format_version 1).
//
// Idempotent on the client's id: recording the same id again with the same
// content is a no-op reported as a duplicate; the same id with different
// content is refused (kAlreadyExists) and nothing of that batch is stored.
// A batch is stored in one transaction.
//
// Labels are not checked against the prediction log here (it may live in
// files and be large); joins report labels whose prediction is unknown.
//
// Thread-safe; borrows the database, which must outlive it.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/status.h"

namespace kiln::storage {
class Database;
}

namespace kiln::serving {

struct Label {
  std::string label_id;       // the client's idempotency key
  std::string prediction_id;
  double value = 0;           // 0/1 for a classifier, the target for a regressor
  int64_t timestamp_micros = 0;  // when the outcome became known
  // false when the client sent no time and the receipt time was filled in:
  // a retry then matches whatever time the first attempt stored.
  bool timestamp_given = true;
};

struct BusinessEvent {
  std::string event_id;   // the client's idempotency key
  std::string unit_id;
  std::string name;       // "conversion", "claim", …
  double value = 1;
  int64_t timestamp_micros = 0;
  bool timestamp_given = true;  // as for Label
  Json properties = Json::object();  // optional extra fields, stored as given
};

struct RecordCounts {
  int64_t created = 0;
  int64_t duplicates = 0;  // same id, same content: already there
};

struct LabelQuery {
  std::vector<std::string> prediction_ids;  // empty: any
  int64_t limit = 1000;
};
struct EventQuery {
  std::string unit_id;  // "" = any
  std::string name;     // "" = any
  std::optional<int64_t> start_micros, end_micros;
  int64_t limit = 1000;
};

class OutcomeStore {
 public:
  // (implementer's addition: `clock` stamps created_at.)
  explicit OutcomeStore(storage::Database& database, Clock& clock = SystemClock::Instance());

  // Errors: kAlreadyExists "label 'l-7' was already recorded with a
  // different value (prediction pred-1, value 1 vs 0)"; kInvalidArgument for
  // empty ids / names (the request parsers check these first).
  Result<RecordCounts> AddLabels(std::span<const Label> labels);
  Result<RecordCounts> AddEvents(std::span<const BusinessEvent> events);
  Result<std::vector<Label>> ListLabels(const LabelQuery& query);
  Result<std::vector<BusinessEvent>> ListEvents(const EventQuery& query);

 private:
  storage::Database& database_;
  Clock& clock_;
};

}  // namespace kiln::serving
