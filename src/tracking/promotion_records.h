#pragma once
// Promotion records: what `kiln models promote` decided and why. A promotion
// names a candidate version, the alias it would take ("champion") and the
// guardrail checks that were run; it is accepted exactly when every check
// passed. ModelRegistry::RecordPromotion stores it (with the version tags
// and the alias move, in one transaction) and ListPromotions reads it back;
// the functions here are the pure parts. Plain values; thread-safe.
//
// Stored in model_promotions and model_promotion_checks
// (docs/formats/model-registry.md).

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace kiln::tracking {

// Version tags a promotion sets on its candidate.
inline constexpr std::string_view kCheckTagPrefix = "kiln.check.";  // + check name
inline constexpr std::string_view kLastPromotionTag = "kiln.promotion.last";
// The alias-history reason of a move made by an accepted promotion.
inline constexpr std::string_view kPromotionReason = "promotion";

// One guardrail's outcome. `observed` and `threshold` are NaN when the check
// has no number (e.g. "no NaN in predictions" may still report a count).
struct PromotionCheck {
  std::string name;  // e.g. "validation_metric", "holdout_predictions"; a tag-key suffix
  bool passed = false;
  std::string detail;  // what was compared, and by how much it failed
  double observed = std::numeric_limits<double>::quiet_NaN();
  double threshold = std::numeric_limits<double>::quiet_NaN();
};

struct PromotionRecord {
  int64_t id = 0;  // increases in commit order
  std::string model;
  int64_t candidate_version = 0;
  std::string alias;
  std::optional<int64_t> previous_version;  // where the alias pointed when recorded
  bool accepted = false;
  std::string actor;                   // "" when unknown
  int64_t timestamp = 0;               // ms, from the registry's clock
  std::vector<PromotionCheck> checks;  // in the order given
};

struct NewPromotion {
  std::string model;
  int64_t candidate_version = 0;
  std::string alias = "champion";
  std::string actor;                   // optional
  std::vector<PromotionCheck> checks;  // may be empty: then accepted
  // The version the checks compared the candidate against (0: the alias
  // was unset). When given and the alias points elsewhere by the time the
  // record is written, nothing is recorded (kFailedPrecondition): the
  // comparison no longer holds.
  std::optional<int64_t> expected_previous_version;
};

// Check names must be non-empty, unique within a promotion and valid as
// the suffix of a version tag key (kiln.check.<name>). Errors:
// kInvalidArgument naming the check.
Status ValidatePromotionChecks(const std::vector<PromotionCheck>& checks);

// True when every check passed (and for no checks).
bool AllChecksPassed(const std::vector<PromotionCheck>& checks);

// The kiln.check.<name> tag value: "passed" or "failed: <detail>" ("failed"
// without a detail), cut to the registry's tag value limit on a UTF-8
// character boundary.
std::string CheckTagValue(const PromotionCheck& check);

// "refused: validation_metric failed (auc 0.81 < 0.83); latency failed
// (…)", or "accepted" — what a CLI prints after a promotion.
std::string DescribePromotion(const PromotionRecord& record);

}  // namespace kiln::tracking
