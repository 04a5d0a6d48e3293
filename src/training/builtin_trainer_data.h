#pragma once
// The built-in trainer's view of data: reading and checking a trainer
// job's CSV, and turning frame columns into the dense float matrices and
// label vectors XGBoost takes (bool → 0/1, null → NaN, XGBoost's "missing").
// LoadedModel uses the same conversion, so training and serving see the
// same numbers. Stateless functions; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/frame.h"
#include "training/builtin_trainer_job.h"

namespace kiln::training {

// XGBoost's feature type for a column type: "i" (bool), "int", "float".
std::string XGBoostFeatureType(data::Type type);

// OK for bool, int64 and float64. Error: "feature 'x' is a string column;
// <consumer> takes numbers and booleans" (consumer: "the built-in trainer").
Status CheckFeatureType(std::string_view feature, data::Type type, std::string_view consumer);

// Row-major rows × features floats of `rows` (every row when null).
// Errors: "input lacks feature 'x' (columns: a, b)", a feature of a wrong
// type, "feature 'x' is infinite in row 7; use null for a missing value".
Result<std::vector<float>> FeatureMatrix(const data::Frame& frame, const std::vector<std::string>& features,
                                         const std::vector<int64_t>* rows, std::string_view consumer);

// Reads the job's CSV (label, features and a time split's column only).
// Checks that each named column exists ("label 'y' is not a column of
// data.csv (columns: a, b)"), that features are numbers or booleans, and
// parses a time column holding ISO 8601 text as timestamps.
Result<data::Frame> ReadTrainingData(const TrainerJob& job, bool quiet);

// The label as floats. Errors: "label 'y' is a string column; the built-in
// trainer takes numbers and booleans", "label 'y' is null in row 7 (3 rows
// in all); the built-in trainer needs a label on every row", and for binary
// objectives "label 'y' is 2 in row 5; binary:logistic needs labels 0/1 or
// true/false".
Result<std::vector<float>> LabelValues(const data::Frame& frame, const std::string& label,
                                       std::string_view objective);

// Picks `rows` of `values`.
std::vector<float> TakeValues(const std::vector<float>& values, const std::vector<int64_t>& rows);

}  // namespace kiln::training
