#include "training/data_split.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace kiln::training {
namespace {

std::string FormatFraction(double value) {
  std::string text = std::to_string(value);
  while (text.size() > 1 && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

Status CheckFraction(const char* field, double value) {
  if (!(value >= 0 && value < 1)) {
    return InvalidArgument(std::string("split.") + field + " must be in [0, 1), got " +
                           FormatFraction(value));
  }
  return Status::Ok();
}

size_t RoundedCount(size_t rows, double fraction) {
  return static_cast<size_t>(std::llround(static_cast<double>(rows) * fraction));
}

void SortAll(SplitRows& rows) {
  std::sort(rows.train.begin(), rows.train.end());
  std::sort(rows.validation.begin(), rows.validation.end());
  std::sort(rows.holdout.begin(), rows.holdout.end());
}

// `ordered` assigned in order: the first `train` rows, then `validation`, the rest holdout.
SplitRows Assign(const std::vector<int64_t>& ordered, size_t train, size_t validation) {
  SplitRows rows;
  rows.train.assign(ordered.begin(), ordered.begin() + train);
  rows.validation.assign(ordered.begin() + train, ordered.begin() + train + validation);
  rows.holdout.assign(ordered.begin() + train + validation, ordered.end());
  SortAll(rows);
  return rows;
}

Result<const data::Column*> TimeColumn(const data::Frame& frame, const SplitSpec& spec, std::string* name) {
  if (spec.time_column.empty()) {
    std::vector<std::string> candidates;
    for (size_t i = 0; i < frame.num_columns(); ++i) {
      if (frame.column(i).type() == data::Type::kTimestamp) candidates.push_back(frame.names()[i]);
    }
    if (candidates.size() != 1) {
      std::string which = "the data has no timestamp column";
      if (!candidates.empty()) {
        which = "the data has several timestamp columns:";
        for (const std::string& candidate : candidates) which += " " + candidate;
      }
      return InvalidArgument("a time split needs split.time_column (" + which + ")");
    }
    *name = candidates[0];
  } else {
    *name = spec.time_column;
  }
  const data::Column* column = frame.Find(*name);
  if (column == nullptr) {
    std::string names;
    for (const std::string& each : frame.names()) names += (names.empty() ? "" : ", ") + each;
    return InvalidArgument("split.time_column '" + *name +
                           "' is not a column of the data (columns: " + names + ")");
  }
  if (column->type() != data::Type::kTimestamp && column->type() != data::Type::kInt64) {
    return InvalidArgument("split.time_column '" + *name + "' is a " +
                           std::string(data::TypeName(column->type())) +
                           " column; a time split needs a timestamp or int64 column");
  }
  size_t nulls = column->NullCount();
  if (nulls > 0) {
    return InvalidArgument("split.time_column '" + *name + "' is null in " + std::to_string(nulls) +
                           (nulls == 1 ? " row" : " rows") + "; a time split needs a time on every row");
  }
  return column;
}

Result<SplitRows> TimeSplit(const data::Frame& frame, const SplitSpec& spec) {
  std::string name;
  KILN_ASSIGN_OR_RETURN(const data::Column* column, TimeColumn(frame, spec, &name));
  const std::vector<int64_t>& times = column->ints();
  std::vector<int64_t> order(frame.num_rows());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return times[a] < times[b]; });
  const size_t rows = order.size();
  if (spec.validation_start_micros) {
    const int64_t start = *spec.validation_start_micros;
    size_t train =
        std::partition_point(order.begin(), order.end(), [&](int64_t row) { return times[row] < start; }) -
        order.begin();
    size_t later = rows - train;
    return Assign(order, train, later - std::min(later, RoundedCount(later, spec.holdout_fraction)));
  }
  size_t validation = RoundedCount(rows, spec.validation_fraction);
  size_t holdout = std::min(rows - std::min(rows, validation), RoundedCount(rows, spec.holdout_fraction));
  validation = std::min(validation, rows);
  return Assign(order, rows - validation - holdout, validation);
}

SplitRows RandomSplit(size_t rows, const SplitSpec& spec) {
  std::vector<int64_t> order(rows);
  std::iota(order.begin(), order.end(), 0);
  SplitMix64 generator(spec.seed);
  for (size_t i = rows; i > 1; --i) std::swap(order[i - 1], order[generator.Below(i)]);
  size_t validation = std::min(rows, RoundedCount(rows, spec.validation_fraction));
  size_t holdout = std::min(rows - validation, RoundedCount(rows, spec.holdout_fraction));
  // Validation first, then holdout, then train, in shuffled order.
  SplitRows result;
  result.validation.assign(order.begin(), order.begin() + validation);
  result.holdout.assign(order.begin() + validation, order.begin() + validation + holdout);
  result.train.assign(order.begin() + validation + holdout, order.end());
  SortAll(result);
  return result;
}

}  // namespace

uint64_t SplitMix64::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::Below(uint64_t bound) {
  // Reject the top (2^64 mod bound) values so every remainder is equally likely.
  const uint64_t threshold = (0 - bound) % bound;
  while (true) {
    uint64_t value = Next();
    if (value >= threshold) return value % bound;
  }
}

Result<SplitRows> SplitData(const data::Frame& frame, const SplitSpec& spec) {
  KILN_RETURN_IF_ERROR(CheckFraction("validation_fraction", spec.validation_fraction));
  KILN_RETURN_IF_ERROR(CheckFraction("holdout_fraction", spec.holdout_fraction));
  if (spec.validation_fraction + spec.holdout_fraction >= 1) {
    return InvalidArgument("split: validation_fraction + holdout_fraction must be below 1, got " +
                           FormatFraction(spec.validation_fraction + spec.holdout_fraction));
  }
  if (spec.kind == SplitKind::kTime) return TimeSplit(frame, spec);
  return RandomSplit(frame.num_rows(), spec);
}

}  // namespace kiln::training
