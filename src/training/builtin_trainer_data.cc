#include "training/builtin_trainer_data.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "data/csv.h"
#include "data/timestamp.h"

namespace kiln::training {
namespace {

std::string ColumnList(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  return list;
}

std::string FormatNumber(const data::Column& column, size_t row) { return column.Get(row).ToString(); }

// Replaces a string column holding ISO 8601 text by a timestamp column.
Status ParseTimeColumn(data::Frame& frame, const std::string& name, const std::string& file) {
  int index = frame.IndexOf(name);
  const data::Column& text = frame.column(index);
  if (text.type() != data::Type::kString) return Status::Ok();
  data::Column times(data::Type::kTimestamp);
  times.Reserve(text.size());
  for (size_t row = 0; row < text.size(); ++row) {
    if (text.IsNull(row)) {
      times.AppendNull();
      continue;
    }
    Result<int64_t> micros = data::ParseTimestamp(text.strings()[row], data::TimeZone::Utc());
    if (!micros.ok()) {
      return InvalidArgument(file + ": split.time_column '" + name + "', row " + std::to_string(row + 1) +
                             ": " + micros.status().message());
    }
    times.AppendInt(*micros);
  }
  return frame.SetColumn(name, std::move(times));
}

}  // namespace

std::string XGBoostFeatureType(data::Type type) {
  if (type == data::Type::kBool) return "i";
  if (type == data::Type::kInt64) return "int";
  return "float";
}

Status CheckFeatureType(std::string_view feature, data::Type type, std::string_view consumer) {
  if (type == data::Type::kBool || data::IsNumeric(type)) return Status::Ok();
  return InvalidArgument("feature '" + std::string(feature) + "' is a " + std::string(data::TypeName(type)) +
                         " column; " + std::string(consumer) + " takes numbers and booleans");
}

Result<std::vector<float>> FeatureMatrix(const data::Frame& frame, const std::vector<std::string>& features,
                                         const std::vector<int64_t>* rows, std::string_view consumer) {
  const size_t row_count = rows ? rows->size() : frame.num_rows();
  const size_t width = features.size();
  std::vector<float> matrix(row_count * width);
  for (size_t j = 0; j < width; ++j) {
    const data::Column* column = frame.Find(features[j]);
    if (column == nullptr) {
      return InvalidArgument("input lacks feature '" + features[j] +
                             "' (columns: " + ColumnList(frame.names()) + ")");
    }
    KILN_RETURN_IF_ERROR(CheckFeatureType(features[j], column->type(), consumer));
    const bool is_float = column->type() == data::Type::kFloat64;
    for (size_t i = 0; i < row_count; ++i) {
      const size_t row = rows ? static_cast<size_t>((*rows)[i]) : i;
      float value = std::numeric_limits<float>::quiet_NaN();
      if (!column->IsNull(row)) {
        if (is_float) {
          double number = column->floats()[row];
          if (std::isinf(number)) {
            return InvalidArgument("feature '" + features[j] + "' is infinite in row " +
                                   std::to_string(row + 1) + "; use null for a missing value");
          }
          value = static_cast<float>(number);
        } else {
          value = static_cast<float>(column->ints()[row]);
        }
      }
      matrix[i * width + j] = value;
    }
  }
  return matrix;
}

Result<data::Frame> ReadTrainingData(const TrainerJob& job, bool quiet) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> header, data::ReadCsvHeader(job.data_file));
  auto present = [&](const std::string& name) {
    return std::find(header.begin(), header.end(), name) != header.end();
  };
  const std::string where = " is not a column of " + job.data_file + " (columns: " + ColumnList(header) + ")";
  if (!present(job.label)) return InvalidArgument("label '" + job.label + "'" + where);
  data::ReadOptions options;
  options.source_name = job.data_file;
  options.columns = job.features;
  options.columns.push_back(job.label);
  for (const std::string& feature : job.features) {
    if (!present(feature)) return InvalidArgument("feature '" + feature + "'" + where);
  }
  const std::string& time_column = job.split.time_column;
  if (job.split.kind == SplitKind::kTime) {
    if (time_column.empty())
      return InvalidArgument("a time split of " + job.data_file + " needs split.time_column");
    if (!present(time_column)) return InvalidArgument("split.time_column '" + time_column + "'" + where);
    if (std::find(options.columns.begin(), options.columns.end(), time_column) == options.columns.end()) {
      options.columns.push_back(time_column);
    }
  }
  options.progress_label = "read " + job.data_file;
  options.quiet = quiet;
  KILN_ASSIGN_OR_RETURN(data::Frame frame, data::ReadCsv(job.data_file, options));
  for (const std::string& feature : job.features) {
    KILN_RETURN_IF_ERROR(CheckFeatureType(feature, frame.Find(feature)->type(), "the built-in trainer"));
  }
  if (job.split.kind == SplitKind::kTime)
    KILN_RETURN_IF_ERROR(ParseTimeColumn(frame, time_column, job.data_file));
  return frame;
}

Result<std::vector<float>> LabelValues(const data::Frame& frame, const std::string& label,
                                       std::string_view objective) {
  KILN_ASSIGN_OR_RETURN(const data::Column* column, frame.Get(label));
  if (column->type() != data::Type::kBool && !data::IsNumeric(column->type())) {
    return InvalidArgument("label '" + label + "' is a " + std::string(data::TypeName(column->type())) +
                           " column; the built-in trainer takes numbers and booleans");
  }
  if (size_t nulls = column->NullCount(); nulls > 0) {
    size_t first = 0;
    while (!column->IsNull(first)) ++first;
    return InvalidArgument("label '" + label + "' is null in row " + std::to_string(first + 1) + " (" +
                           std::to_string(nulls) + (nulls == 1 ? " row" : " rows") +
                           " in all); the built-in trainer needs a label on every row");
  }
  const bool binary = objective.substr(0, 7) == "binary:";
  const bool is_float = column->type() == data::Type::kFloat64;
  std::vector<float> values(column->size());
  for (size_t row = 0; row < column->size(); ++row) {
    double value = is_float ? column->floats()[row] : static_cast<double>(column->ints()[row]);
    if ((binary && value != 0 && value != 1) || !std::isfinite(value)) {
      return InvalidArgument("label '" + label + "' is " + FormatNumber(*column, row) + " in row " +
                             std::to_string(row + 1) + "; " +
                             (binary ? std::string(objective) + " needs labels 0/1 or true/false"
                                     : std::string("labels must be finite numbers")));
    }
    values[row] = static_cast<float>(value);
  }
  return values;
}

std::vector<float> TakeValues(const std::vector<float>& values, const std::vector<int64_t>& rows) {
  std::vector<float> taken;
  taken.reserve(rows.size());
  for (int64_t row : rows) taken.push_back(values[row]);
  return taken;
}

}  // namespace kiln::training
