// The OIP fast path: takes the common layouts, gives up on everything else,
// and agrees with ParseInferRequest bit for bit where it answers.
#include "serving/infer_fast_path.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace kiln::serving {
namespace {

constexpr size_t kMax = 100'000;

void ExpectSame(const std::string& body) {
  std::optional<InferRequest> fast = TryParseInferRequestFast(body, kMax);
  ASSERT_TRUE(fast.has_value()) << body;
  Result<InferRequest> full = ParseInferRequest(body, kMax);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(fast->id, full->id);
  ASSERT_EQ(fast->inputs.size(), full->inputs.size());
  for (size_t i = 0; i < fast->inputs.size(); ++i) {
    EXPECT_EQ(fast->inputs[i].name, full->inputs[i].name);
    EXPECT_EQ(fast->inputs[i].datatype, full->inputs[i].datatype);
    EXPECT_EQ(fast->inputs[i].shape, full->inputs[i].shape);
    ASSERT_EQ(fast->inputs[i].numbers.size(), full->inputs[i].numbers.size());
    for (size_t j = 0; j < fast->inputs[i].numbers.size(); ++j) {
      EXPECT_EQ(0, std::memcmp(&fast->inputs[i].numbers[j], &full->inputs[i].numbers[j], sizeof(double)))
          << body << " element " << j;
    }
  }
}

TEST(InferFastPathTest, TakesFlatFloatTensorsAndAgreesWithTheParser) {
  ExpectSame(R"({"inputs":[{"name":"input-0","shape":[2,3],"datatype":"FP32","data":[1,-2.5,3e2,0,4.25,-6e-3]}]})");
  ExpectSame(" {\n \"id\" : \"r-7\" , \"inputs\" : [ { \"datatype\" : \"FP64\" , \"data\" : [ 0.1 , 1E+300 ] ,"
             " \"shape\" : [ 2 ] , \"name\" : \"x\" } ] } \n");
  ExpectSame(R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[3.4028234e38,-1.17549435e-38]},
                           {"name":"b","shape":[2,1],"datatype":"FP64","data":[123456789012345678901234567890,-0.0]}]})");
  // A 1,000 × 10 batch.
  std::string data;
  for (int i = 0; i < 10'000; ++i) data += (i ? "," : "") + std::to_string(i * 0.37 - 1000);
  ExpectSame(R"({"inputs":[{"name":"input-0","shape":[1000,10],"datatype":"FP32","data":[)" + data + "]}]}");
}

TEST(InferFastPathTest, LeavesEverythingElseToTheFullParser) {
  for (const char* body : {
           R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[[1],[2]]}]})",       // nested
           R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":["NaN"]}]})",         // literal
           R"({"inputs":[{"name":"a","shape":[1],"datatype":"INT64","data":[1]}]})",            // other type
           R"({"inputs":[{"name":"a","shape":[1],"datatype":"fp32","data":[1]}]})",             // case
           R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[1]}]})",             // size
           R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1e39]}]})",          // FP32 range
           R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[01]}]})",            // JSON grammar
           R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[+1]}]})",
           R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[.5]}]})",
           R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[5.]}]})",
           R"({"inputs":[{"name":"a\"b","shape":[1],"datatype":"FP32","data":[1]}]})",         // escape
           R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[]})",
           R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]},{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]})",
           R"({"inputs":[{"name":"a","name":"b","shape":[1],"datatype":"FP32","data":[1]}]})",  // duplicate key
           R"({"inputs":[]})", R"({})", "", R"("{\"inputs\":[]}")",
           R"({"inputs":[{"name":"","shape":[1],"datatype":"FP32","data":[1]}]})",              // empty name
           R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]} trailing)",
       }) {
    EXPECT_FALSE(TryParseInferRequestFast(body, kMax).has_value()) << body;
  }
  // Over the element limit: the full parser names the limit.
  EXPECT_FALSE(TryParseInferRequestFast(R"({"inputs":[{"name":"a","shape":[3],"datatype":"FP32","data":[1,2,3]}]})", 2)
                   .has_value());
}

}  // namespace
}  // namespace kiln::serving
