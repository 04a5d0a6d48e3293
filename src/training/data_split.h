#pragma once
// Dividing a frame's rows into train / validation / holdout, as a SplitSpec
// says: random (a seeded shuffle that gives the same rows on every machine
// and compiler: SplitMix64 and our own bounded draw, no std:: distributions)
// or by time (rows ordered by a timestamp or int64 column, ties kept in row
// order). Stateless functions; thread-safe.

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "data/frame.h"
#include "training/run_spec.h"

namespace kiln::training {

// Row indices of each part, each ascending; together they are every row once.
struct SplitRows {
  std::vector<int64_t> train;
  std::vector<int64_t> validation;
  std::vector<int64_t> holdout;
};

// Random: round(n × validation_fraction) rows drawn by a seeded
// Fisher–Yates shuffle go to validation, the next round(n ×
// holdout_fraction) to holdout, the rest to train.
// Time: rows ordered by `time_column` (a timestamp or int64 column; when
// empty, the frame's only timestamp column); the earliest rows are train,
// then validation, and the latest holdout, by the same counts. With
// `validation_start_micros`, rows at or after it are validation and the
// latest round(those × holdout_fraction) of them holdout
// (validation_fraction is then unused).
// Errors name the field or column: "split.validation_fraction must be in
// [0, 1), got 1.5", "split.time_column 'delay' is a float64 column; a time
// split needs a timestamp or int64 column", "split.time_column 'ts' is null
// in 3 rows; a time split needs a time on every row".
Result<SplitRows> SplitData(const data::Frame& frame, const SplitSpec& spec);

// SplitMix64 (Steele, Lea & Flood 2014): a tiny, portable, seeded generator.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, bound) by rejection, the same on every platform.
  // REQUIRES: bound > 0.
  uint64_t Below(uint64_t bound);

 private:
  uint64_t state_;
};

}  // namespace kiln::training
