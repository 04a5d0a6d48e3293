#include "serving/inference_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace kiln::serving {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr size_t kLimit = 100000;

std::string InferError(std::string_view body, size_t max_elements = kLimit) {
  Result<InferRequest> request = ParseInferRequest(body, max_elements);
  if (request.ok()) return "(parsed)";
  EXPECT_EQ(request.status().code(), StatusCode::kInvalidArgument) << request.status().ToString();
  return request.status().message();
}

std::string Input(std::string_view datatype, std::string_view shape, std::string_view data,
                  std::string_view name = "x") {
  return R"({"inputs": [{"name": ")" + std::string(name) + R"(", "datatype": ")" + std::string(datatype) +
         R"(", "shape": )" + std::string(shape) + R"(, "data": )" + std::string(data) + "}]}";
}

TEST(ParseInferRequestTest, ReadsTheSpecExample) {
  Result<InferRequest> request = ParseInferRequest(R"({
    "id": "42",
    "inputs": [
      {"name": "input0", "shape": [2, 2], "datatype": "UINT32", "data": [1, 2, 3, 4]},
      {"name": "input1", "shape": [3], "datatype": "BOOL", "data": [true, false, true],
       "parameters": {"note": "x"}}
    ],
    "outputs": [{"name": "output0"}],
    "parameters": {"trace": true}
  })",
                                                   kLimit);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_EQ(request->id, "42");
  ASSERT_EQ(request->inputs.size(), 2u);
  EXPECT_EQ(request->inputs[0].name, "input0");
  EXPECT_EQ(request->inputs[0].datatype, "UINT32");
  EXPECT_THAT(request->inputs[0].shape, ElementsAre(2, 2));
  EXPECT_THAT(request->inputs[0].numbers, ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(request->inputs[1].numbers, ElementsAre(1, 0, 1));
  EXPECT_THAT(request->outputs, ElementsAre("output0"));
  EXPECT_EQ(request->parameters, Json({{"trace", true}}));
}

TEST(ParseInferRequestTest, FlattensNestedDataRowMajor) {
  Result<InferRequest> request =
      ParseInferRequest(Input("FP32", "[2, 3]", "[[1, 2, 3], [4, 5.5, 6]]"), kLimit);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_THAT(request->inputs[0].numbers, ElementsAre(1, 2, 3, 4, 5.5, 6));

  request = ParseInferRequest(Input("INT64", "[2, 2, 1]", "[[[1], [2]], [[3], [4]]]"), kLimit);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_THAT(request->inputs[0].numbers, ElementsAre(1, 2, 3, 4));
}

TEST(ParseInferRequestTest, NestedDataMustFollowTheShape) {
  EXPECT_EQ(InferError(Input("FP32", "[2, 2]", "[[1, 2], [3]]")),
            "inputs[0].data[1]: expected 2 elements (shape [2, 2]), got 1");
  EXPECT_EQ(InferError(Input("FP32", "[2, 2]", "[[1, 2], 3]")),
            "inputs[0].data[1]: expected an array of 2 elements (shape [2, 2]), got 3");
  EXPECT_EQ(InferError(Input("FP32", "[3, 2]", "[[1, 2], [3, 4]]")),
            "inputs[0].data: expected 3 elements (shape [3, 2]), got 2");
  EXPECT_EQ(
      InferError(Input("FP32", "[2, 2]", "[[1, 2], [3, [4]]]")),
      "inputs[0].data[1][1]: expected a number (or \"NaN\", \"Infinity\", \"-Infinity\") for FP32, got an "
      "array");
  EXPECT_EQ(InferError(Input("FP32", "[4]", "[[1, 2], [3, 4]]")),
            "inputs[0]: shape [4] needs 4 elements, data has 2");
}

TEST(ParseInferRequestTest, ShapeMustMatchTheDataSize) {
  EXPECT_EQ(InferError(Input("FP32", "[2, 3]", "[1, 2, 3, 4]")),
            "inputs[0]: shape [2, 3] needs 6 elements, data has 4");
  EXPECT_EQ(InferError(Input("FP32", "[4294967296, 4294967296]", "[1]")),
            "inputs[0]: shape [4294967296, 4294967296] needs more than 2^64 elements, data has 1");
  EXPECT_EQ(InferError(Input("FP32", "[-1]", "[1]")),
            "inputs[0].shape[0]: expected a non-negative integer, got -1");
  EXPECT_EQ(InferError(Input("FP32", "[1.5]", "[1]")),
            "inputs[0].shape[0]: expected a non-negative integer, got 1.5");
  EXPECT_EQ(InferError(Input("FP32", "3", "[1]")),
            "inputs[0].shape: expected an array of non-negative integers, got 3");
  EXPECT_TRUE(ParseInferRequest(Input("FP32", "[0]", "[]"), kLimit).ok());
  EXPECT_TRUE(ParseInferRequest(Input("FP32", "[]", "[7]"), kLimit).ok());  // a scalar
}

TEST(ParseInferRequestTest, ChecksEveryElementAgainstTheDatatype) {
  EXPECT_EQ(InferError(Input("BOOL", "[2]", "[true, 1]")),
            "inputs[0].data[1]: expected true or false for BOOL, got 1");
  EXPECT_EQ(InferError(Input("INT8", "[2]", "[127, 128]")),
            "inputs[0].data[1]: expected an integer in [-128, 127] for INT8, got 128");
  EXPECT_EQ(InferError(Input("INT8", "[1]", "[-129]")),
            "inputs[0].data[0]: expected an integer in [-128, 127] for INT8, got -129");
  EXPECT_EQ(InferError(Input("UINT8", "[1]", "[-1]")),
            "inputs[0].data[0]: expected an integer in [0, 255] for UINT8, got -1");
  EXPECT_EQ(InferError(Input("INT32", "[1]", "[1.0]")),
            "inputs[0].data[0]: expected an integer in [-2147483648, 2147483647] for INT32, got 1.0");
  EXPECT_EQ(
      InferError(Input("INT64", "[1]", "[\"7\"]")),
      "inputs[0].data[0]: expected an integer in [-9223372036854775808, 9223372036854775807] for INT64, got "
      "\"7\"");
  EXPECT_EQ(
      InferError(Input("FP64", "[1]", "[\"abc\"]")),
      "inputs[0].data[0]: expected a number (or \"NaN\", \"Infinity\", \"-Infinity\") for FP64, got \"abc\"");
  EXPECT_EQ(
      InferError(Input("FP32", "[2]", "[1, null]")),
      "inputs[0].data[1]: expected a number for FP32, got null (the protocol has no null; send \"NaN\" for a "
      "missing value)");
  EXPECT_EQ(InferError(Input("FP32", "[1]", "[1e39]")),
            "inputs[0].data[0]: 1e+39 is out of the range of FP32");
  EXPECT_EQ(InferError(Input("FP16", "[1]", "[70000]")),
            "inputs[0].data[0]: 70000 is out of the range of FP16");
  EXPECT_EQ(InferError(Input("BYTES", "[1]", "[1]")),
            "inputs[0].data[0]: expected a string for BYTES, got 1");

  Result<InferRequest> bounds = ParseInferRequest(
      R"({"inputs": [{"name": "u", "datatype": "UINT64", "shape": [1], "data": [18446744073709551615]},
                     {"name": "i", "datatype": "INT64", "shape": [1], "data": [-9223372036854775808]},
                     {"name": "h", "datatype": "FP16", "shape": [1], "data": [65504]},
                     {"name": "f", "datatype": "FP32", "shape": [1], "data": [3.4028235e38]},
                     {"name": "s", "datatype": "BYTES", "shape": [2], "data": ["a", ""]}]})",
      kLimit);
  ASSERT_TRUE(bounds.ok()) << bounds.status().ToString();
  EXPECT_EQ(bounds->inputs[0].numbers[0], 18446744073709551615.0);
  EXPECT_EQ(bounds->inputs[1].numbers[0], -9223372036854775808.0);
  EXPECT_EQ(bounds->inputs[2].numbers[0], 65504);
  EXPECT_EQ(static_cast<float>(bounds->inputs[3].numbers[0]), std::numeric_limits<float>::max());
  EXPECT_THAT(bounds->inputs[4].strings, ElementsAre("a", ""));
  EXPECT_TRUE(bounds->inputs[4].numbers.empty());
}

TEST(ParseInferRequestTest, FloatDataMayCarryNaNAndInfinityAsStringsOrBareLiterals) {
  for (std::string_view data : {R"(["NaN", "Infinity", "-Infinity", 2])", "[NaN, Infinity, -Infinity, 2]"}) {
    Result<InferRequest> request = ParseInferRequest(Input("FP32", "[4]", data), kLimit);
    ASSERT_TRUE(request.ok()) << data << ": " << request.status().ToString();
    const std::vector<double>& numbers = request->inputs[0].numbers;
    EXPECT_TRUE(std::isnan(numbers[0]));
    EXPECT_EQ(numbers[1], std::numeric_limits<double>::infinity());
    EXPECT_EQ(numbers[2], -std::numeric_limits<double>::infinity());
    EXPECT_EQ(numbers[3], 2);
  }
  EXPECT_EQ(InferError(Input("INT32", "[1]", "[\"NaN\"]")),
            "inputs[0].data[0]: expected an integer in [-2147483648, 2147483647] for INT32, got \"NaN\"");
}

TEST(ParseInferRequestTest, NamesTheFieldOfEveryStructuralError) {
  EXPECT_EQ(InferError(""), "inputs: missing, expected a non-empty array of input tensors");
  EXPECT_EQ(InferError(R"({"inputs": []})"),
            "inputs: expected a non-empty array of input tensors, got an empty array");
  EXPECT_EQ(InferError(R"({"inputs": [3]})"), "inputs[0]: expected an input tensor object, got 3");
  EXPECT_EQ(InferError(R"({"inptus": []})"), "unknown field 'inptus' (did you mean 'inputs'?)");
  EXPECT_EQ(InferError(R"({"inputs": [{"name": "x", "shap": [1], "datatype": "FP32", "data": [1]}]})"),
            "inputs[0]: unknown field 'shap' (did you mean 'shape'?)");
  EXPECT_EQ(InferError(R"({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]})"),
            "inputs[0].name: missing, expected the input's name");
  EXPECT_EQ(InferError(R"({"inputs": [{"name": "x", "shape": [1], "data": [1]}]})"),
            "inputs[0].datatype: missing, expected a datatype such as FP32");
  EXPECT_EQ(InferError(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]})"),
            "inputs[0].data: missing, expected an array of the tensor's elements");
  EXPECT_EQ(
      InferError(Input("fp32", "[1]", "[1]")),
      "inputs[0].datatype: unknown datatype 'fp32' (expected one of: BOOL, UINT8, UINT16, UINT32, UINT64, "
      "INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES; names are upper case)");
  EXPECT_EQ(InferError(Input("FP32", "[1]", "1")),
            "inputs[0].data: expected an array of the tensor's elements, got 1");
  EXPECT_EQ(InferError(R"({"id": 42, "inputs": []})"), "id: expected a string, got 42");
  EXPECT_EQ(InferError(R"({"parameters": [], "inputs": []})"),
            "parameters: expected an object, got an empty array");
  EXPECT_EQ(InferError(R"({"outputs": [{"nam": "y"}], "inputs": []})"),
            "outputs[0]: unknown field 'nam' (did you mean 'name'?)");
  EXPECT_EQ(InferError(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]},
                                      {"name": "x", "shape": [1], "datatype": "FP32", "data": [2]}]})"),
            "inputs[1].name: input 'x' appears more than once");
  EXPECT_THAT(InferError(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [],
                                         "parameters": {"binary_data_size": 4}}]})"),
              HasSubstr("binary tensor data is not supported"));
  EXPECT_THAT(InferError("{\"inputs\": ["), HasSubstr("malformed JSON"));
  EXPECT_EQ(InferError("[1]"), "malformed JSON: expected a JSON object");
}

TEST(ParseInferRequestTest, RefusesTooManyElementsAsResourceExhausted) {
  Result<InferRequest> request =
      ParseInferRequest(R"({"inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]},
                                       {"name": "b", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]}]})",
                        5);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(request.status().message(), "batch of 6 tensor elements exceeds the limit of 5");
  EXPECT_TRUE(ParseInferRequest(Input("FP32", "[5]", "[1, 2, 3, 4, 5]"), 5).ok());
}

TEST(ParseInferRequestTest, RefusesDeepNestingBeforeParsing) {
  std::string deep =
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}], "parameters": {"a": )";
  deep += std::string(100000, '[') + std::string(100000, ']') + "}}";
  EXPECT_THAT(InferError(deep), HasSubstr("malformed JSON: nested deeper than 64 levels at byte "));
  // Also inside a body sent as a JSON string holding the JSON (double-encoded).
  EXPECT_THAT(InferError(Json(deep).dump()), HasSubstr("nested deeper than 64 levels"));
}

TEST(EncodeInferResponseTest, WritesTheProtocolResponse) {
  const std::string body = EncodeInferResponse("delay \"model\"", "3", "req-1", {0.25f, 1.0f, 0.1f, 1e-8f});
  EXPECT_EQ(
      body,
      R"({"model_name":"delay \"model\"","model_version":"3","id":"req-1","outputs":[{"name":"predict",)"
      R"("datatype":"FP32","shape":[4],"data":[0.25,1,0.1,1e-08]}]})");
  Json parsed = Json::parse(body);
  // Shortest round-trip: every float reads back exactly.
  EXPECT_EQ(parsed["outputs"][0]["data"][2].get<float>(), 0.1f);
  EXPECT_EQ(parsed["outputs"][0]["data"][3].get<float>(), 1e-8f);
}

TEST(EncodeInferResponseTest, OmitsAnEmptyIdAndVersionAndWritesNonFiniteAsNull) {
  const std::string body = EncodeInferResponse(
      "m", "", "", {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), -2.5f});
  EXPECT_EQ(
      body,
      R"({"model_name":"m","outputs":[{"name":"predict","datatype":"FP32","shape":[3],"data":[null,null,-2.5]}]})");
  EXPECT_EQ(
      EncodeInferResponse("m", "1", "", {}),
      R"({"model_name":"m","model_version":"1","outputs":[{"name":"predict","datatype":"FP32","shape":[0],"data":[]}]})");
}

const std::vector<std::string> kFeatures = {"distance", "delay_mean_1d", "hour"};

Result<DenseRows> Dense(std::string_view body, size_t max_rows = 1000) {
  Result<InferRequest> request = ParseInferRequest(body, kLimit);
  if (!request.ok()) return request.status();
  return InferInputsToDense(*request, kFeatures, max_rows);
}

std::string DenseError(std::string_view body, size_t max_rows = 1000) {
  Result<DenseRows> dense = Dense(body, max_rows);
  if (dense.ok()) return "(converted)";
  EXPECT_EQ(dense.status().code(), StatusCode::kInvalidArgument) << dense.status().ToString();
  return dense.status().message();
}

TEST(InferInputsToDenseTest, OneInputPerFeatureInAnyOrder) {
  Result<DenseRows> dense = Dense(R"({"inputs": [
      {"name": "hour", "shape": [2], "datatype": "INT32", "data": [8, 17]},
      {"name": "distance", "shape": [2, 1], "datatype": "FP64", "data": [[740], [2475]]},
      {"name": "delay_mean_1d", "shape": [2], "datatype": "FP32", "data": [12.5, "NaN"]}]})");
  ASSERT_TRUE(dense.ok()) << dense.status().ToString();
  EXPECT_EQ(dense->rows, 2u);
  EXPECT_EQ(dense->columns, 3u);
  ASSERT_EQ(dense->values.size(), 6u);
  EXPECT_THAT(std::vector<float>(dense->values.begin(), dense->values.begin() + 3),
              ElementsAre(740, 12.5f, 8));
  EXPECT_EQ(dense->values[3], 2475);
  EXPECT_TRUE(std::isnan(dense->values[4]));  // NaN = missing
  EXPECT_EQ(dense->values[5], 17);
}

TEST(InferInputsToDenseTest, OneMatrixInTheModelsFeatureOrder) {
  Result<DenseRows> dense = Dense(R"({"inputs": [
      {"name": "input-0", "shape": [2, 3], "datatype": "FP32", "data": [[1, 2, 3], [4, 5, 6]]}]})");
  ASSERT_TRUE(dense.ok()) << dense.status().ToString();
  EXPECT_EQ(dense->rows, 2u);
  EXPECT_EQ(dense->columns, 3u);
  EXPECT_THAT(dense->values, ElementsAre(1, 2, 3, 4, 5, 6));

  EXPECT_EQ(
      DenseError(
          R"({"inputs": [{"name": "input-0", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]})"),
      "input 'input-0' has shape [2, 2]: expected one input per feature, or one input of shape [rows, 3] "
      "with "
      "the model's features in order (distance, delay_mean_1d, hour)");
}

TEST(InferInputsToDenseTest, NamesUnknownMissingAndMismatchedInputs) {
  EXPECT_EQ(
      DenseError(R"({"inputs": [{"name": "distanse", "shape": [1], "datatype": "FP32", "data": [1]}]})"),
      "input 'distanse' is not a feature of the model (did you mean 'distance'?)");
  EXPECT_EQ(DenseError(R"({"inputs": [{"name": "origin", "shape": [1], "datatype": "FP32", "data": [1]}]})"),
            "input 'origin' is not a feature of the model (features: distance, delay_mean_1d, hour)");
  EXPECT_EQ(
      DenseError(R"({"inputs": [{"name": "distance", "shape": [1], "datatype": "FP32", "data": [1]}]})"),
      "input lacks features 'delay_mean_1d', 'hour'");
  EXPECT_EQ(DenseError(R"({"inputs": [{"name": "distance", "shape": [1], "datatype": "FP32", "data": [1]},
                                      {"name": "hour", "shape": [1], "datatype": "FP32", "data": [1]}]})"),
            "input lacks feature 'delay_mean_1d'");
  EXPECT_EQ(
      DenseError(R"({"inputs": [{"name": "distance", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]},
                                      {"name": "hour", "shape": [2], "datatype": "FP32", "data": [1, 2]}]})"),
      "input 'hour' has 2 rows, 'distance' has 3");
  EXPECT_EQ(
      DenseError(R"({"inputs": [{"name": "distance", "shape": [1], "datatype": "BYTES", "data": ["far"]}]})"),
      "input 'distance' has datatype BYTES, but the model's features are numeric");
  EXPECT_EQ(
      DenseError(R"({"inputs": [{"name": "distance", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]},
                                      {"name": "hour", "shape": [1], "datatype": "FP32", "data": [1]}]})"),
      "input 'distance' has shape [1, 2]: a per-feature input has shape [rows] or [rows, 1]");
}

TEST(InferInputsToDenseTest, RefusesTooManyRowsAsResourceExhausted) {
  for (
      std::string_view body :
      {R"({"inputs": [{"name": "m", "shape": [3, 3], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6, 7, 8, 9]}]})",
       R"({"inputs": [{"name": "hour", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]}]})"}) {
    Result<DenseRows> dense = Dense(body, 2);
    ASSERT_FALSE(dense.ok()) << body;
    EXPECT_EQ(dense.status().code(), StatusCode::kResourceExhausted);
    EXPECT_EQ(dense.status().message(), "batch of 3 rows exceeds the limit of 2");
  }
}

TEST(InferInputsToDenseTest, ValuesBeyondFloatBecomeInfinity) {
  Result<DenseRows> dense = Dense(R"({"inputs": [
      {"name": "m", "shape": [1, 3], "datatype": "FP64", "data": [1e300, -1e300, 0.1]}]})");
  ASSERT_TRUE(dense.ok()) << dense.status().ToString();
  EXPECT_THAT(dense->values, ElementsAre(std::numeric_limits<float>::infinity(),
                                         -std::numeric_limits<float>::infinity(), 0.1f));
}

}  // namespace
}  // namespace kiln::serving
