#pragma once
// Request and response bodies of the prediction APIs, parsed and encoded
// without touching models or stores (so they can be fuzzed in isolation):
//
// - Open Inference Protocol v2 (KServe/Triton/Seldon) infer requests:
//   {"id": "…", "inputs": [{"name", "shape", "datatype", "data"}], "parameters": {…}}
//   datatypes BOOL, UINT8..64, INT8..64, FP16 (as numbers), FP32, FP64, BYTES;
//   data flat or nested (row-major) and its element count must equal the
//   product of the shape. Two layouts map inputs to a model's features:
//   one tensor per feature named after it, shape [rows] or [rows, 1]; or a
//   single tensor of shape [rows, features] in the model's feature order.
// - Kiln's predict API (docs/api/serving.md): one row
//   {"entity": {...}, "request": {...}, "unit_id": "u1", "id": "…"?}
//   or {"rows": [row, …]}; plus an optional "as_of" (replays).
// - Labels {"labels": [{"id", "prediction_id", "value", "timestamp"?}]} and
//   events {"events": [{"id", "unit_id", "name", "value"?, "timestamp"?, "properties"?}]}
//   (a single object without the list is accepted too).
//
// Every error is kInvalidArgument naming the field ("inputs[0].shape: expected
// an array of non-negative integers", "rows[3].entity: expected an object")
// except too many rows: kResourceExhausted "batch of 5000 rows exceeds the
// limit of 1000" (HTTP 413). Pure functions, thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "serving/outcome_store.h"

namespace kiln::serving {

struct InferTensor {
  std::string name;
  std::string datatype;         // as sent, upper case
  std::vector<int64_t> shape;
  std::vector<double> numbers;  // numeric and BOOL data (true = 1), row-major
  std::vector<std::string> strings;  // BYTES data
};

struct InferRequest {
  std::string id;  // echoed in the response
  std::vector<InferTensor> inputs;
  std::vector<std::string> outputs;  // requested output names ("" = all)
  Json parameters = Json::object();
};

// Errors also for: no inputs, duplicate input names, an unknown datatype,
// data of the wrong type for its datatype, shape/data size mismatch, more
// than `max_elements` numbers in total (kResourceExhausted).
Result<InferRequest> ParseInferRequest(std::string_view body, size_t max_elements);

// The inputs as dense float32 rows in `feature_names` order (NaN = missing:
// JSON null is not allowed in OIP, so NaN only for absent features… which
// are an error). Errors: "input 'x' is not a feature of the model (features:
// a, b, …)", "input lacks feature 'delay_mean_1d'", "input 'a' has 3 rows,
// 'b' has 2", BYTES data for a numeric feature, more than max_rows rows
// (kResourceExhausted).
struct DenseRows {
  size_t rows = 0;
  size_t columns = 0;
  std::vector<float> values;  // rows × columns, row-major
};
Result<DenseRows> InferInputsToDense(const InferRequest& request, const std::vector<std::string>& feature_names,
                                     size_t max_rows);

// The OIP response: {"model_name", "model_version", "id", "outputs": [{"name":
// "predict", "datatype": "FP32", "shape": [rows], "data": [...]}]}.
std::string EncodeInferResponse(std::string_view model_name, std::string_view model_version, std::string_view id,
                                const std::vector<float>& predictions);

// --- Kiln predict API ---
struct PredictRow {
  Json entity = Json::object();   // join keys (values checked later against the entity types)
  Json request = Json::object();  // request fields
  std::string unit_id;
  std::optional<std::string> prediction_id;  // client-chosen id (else generated)
};
struct PredictRequest {
  std::vector<PredictRow> rows;
  bool batch = false;          // body used "rows": the response is a list too
  std::optional<int64_t> as_of_micros;  // "as_of": ISO 8601 or µs since epoch
};
Result<PredictRequest> ParsePredictRequest(std::string_view body, size_t max_rows);

// --- Outcomes ---
// `now_micros` fills absent timestamps. Timestamps: ISO 8601 text or µs.
Result<std::vector<Label>> ParseLabelsRequest(std::string_view body, size_t max_items, int64_t now_micros);
Result<std::vector<BusinessEvent>> ParseEventsRequest(std::string_view body, size_t max_items, int64_t now_micros);

}  // namespace kiln::serving
