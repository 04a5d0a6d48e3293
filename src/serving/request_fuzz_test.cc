// A deterministic mutation fuzzer over the request parsers of
// inference_protocol.h: a seeded PRNG mutates valid bodies (bit flips,
// inserts, deletes, truncation, JSON token splices, crossover, deep nesting,
// huge numbers, long strings, NaN literals, duplicate keys, and edits of the
// parsed tree) and every parser must answer each input with a value or a
// Status: no crash, no escaping exception, a non-empty UTF-8 message of
// bounded length, a code of kInvalidArgument or kResourceExhausted.
//
// Budget: KILN_FUZZ_SECONDS (default 10) split evenly across the four
// parsers; KILN_FUZZ_ITERATIONS=N runs exactly N inputs per parser instead
// (to replay a failure); KILN_FUZZ_SEED changes the seed (default printed).
// Hangs are caught by ctest's timeout; the slowest input is reported.

#include <gtest/gtest.h>

#include <cstring>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <random>

#include "serving/infer_fast_path.h"
#include "serving/inference_protocol.h"

namespace kiln::serving {
namespace {

constexpr size_t kMaxElements = 10000;
constexpr size_t kMaxRows = 100;
constexpr size_t kMaxItems = 100;
constexpr int64_t kNow = 986198400000000;
constexpr size_t kMaxInputBytes = 1 << 20;
constexpr size_t kMaxMessageBytes = 2048;

double EnvDouble(const char* name, double fallback) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? fallback : std::atof(value);
}

uint64_t Seed() { return static_cast<uint64_t>(EnvDouble("KILN_FUZZ_SEED", 20010402)); }

bool IsUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80         ? 1
                          : (lead >> 5) == 6  ? 2
                          : (lead >> 4) == 14 ? 3
                          : (lead >> 3) == 30 ? 4
                                              : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

// The input, printable and cut, for a failure message.
std::string Show(std::string_view input) {
  std::string shown =
      Json(std::string(input.substr(0, 300))).dump(-1, ' ', true, Json::error_handler_t::replace);
  if (input.size() > 300) shown += " … (" + std::to_string(input.size()) + " bytes)";
  return shown;
}

class Mutator {
 public:
  Mutator(uint64_t seed, std::vector<std::string> corpus) : random_(seed), corpus_(std::move(corpus)) {}

  std::string Next() {
    // Build on the previous input while it is small, so mutations compound.
    std::string input =
        (Below(2) == 0 && !last_.empty() && last_.size() < 8192) ? last_ : corpus_[Below(corpus_.size())];
    // Half the inputs stay valid JSON (edits of the parsed tree) to reach the
    // validators; the other half mutate the bytes.
    const bool tree = Below(2) == 0;
    const size_t mutations = 1 + Below(tree ? 3 : 4);
    for (size_t i = 0; i < mutations; ++i) tree ? MutateTree(&input) : Mutate(&input);
    if (input.size() > kMaxInputBytes) input.resize(kMaxInputBytes);
    last_ = input;
    return input;
  }

 private:
  size_t Below(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(random_); }
  size_t Position(const std::string& text) { return Below(text.size() + 1); }

  void Mutate(std::string* text) {
    static const char* const kTokens[] = {"{",
                                          "}",
                                          "[",
                                          "]",
                                          "\"",
                                          ":",
                                          ",",
                                          "null",
                                          "true",
                                          "false",
                                          "0",
                                          "-0",
                                          "1.5",
                                          "-1",
                                          "1e400",
                                          "-1e400",
                                          "18446744073709551616",
                                          "-9223372036854775809",
                                          "9223372036854775807",
                                          "NaN",
                                          "\"NaN\"",
                                          "Infinity",
                                          "-Infinity",
                                          "\"Infinity\"",
                                          "nan",
                                          "\"\\u0000\"",
                                          "\"\\ud800\"",
                                          "\"\\\"",
                                          "\"\xff\xfe\"",
                                          "\"é\"",
                                          "[]",
                                          "{}",
                                          "[[1,2],[3,4]]",
                                          "\"2001-04-02T08:00:00Z\"",
                                          "\"2001-13-45\"",
                                          "1e-400",
                                          "0.1e",
                                          "\t",
                                          "\\"};
    static const char* const kKeys[] = {"inputs",     "name",          "shape",     "datatype",  "data",
                                        "parameters", "outputs",       "id",        "rows",      "entity",
                                        "request",    "unit_id",       "as_of",     "labels",    "value",
                                        "events",     "prediction_id", "timestamp", "properties"};
    switch (Below(11)) {
      case 0:  // bit flip
        if (!text->empty()) (*text)[Below(text->size())] ^= static_cast<char>(1 << Below(8));
        break;
      case 1:  // insert a byte, biased to JSON syntax
        text->insert(Position(*text), 1,
                     Below(2) ? "{}[]\",:\\0123456789-+eE. "[Below(24)] : static_cast<char>(Below(256)));
        break;
      case 2:  // delete a range
        if (!text->empty()) text->erase(Below(text->size()), 1 + Below(16));
        break;
      case 3:  // truncate
        text->resize(Below(text->size() + 1));
        break;
      case 4:  // splice a JSON token
        text->insert(Position(*text), kTokens[Below(std::size(kTokens))]);
        break;
      case 5: {  // crossover with another seed
        const std::string& other = corpus_[Below(corpus_.size())];
        const size_t start = Below(other.size());
        text->insert(Position(*text), other.substr(start, Below(other.size() - start + 1)));
        break;
      }
      case 6: {  // deep nesting, balanced or not
        const size_t depth = Below(20) == 0 ? 100000 : std::vector<size_t>{2, 10, 63, 64, 65, 500}[Below(6)];
        std::string open, close;
        for (size_t i = 0; i < depth; ++i) {
          const bool object = Below(4) == 0;
          open += object ? "{\"a\":" : "[";
          close += object ? '}' : ']';
        }
        std::reverse(close.begin(), close.end());
        text->insert(Position(*text), Below(2) ? open + "1" + close : open);
        break;
      }
      case 7: {  // a huge number where a digit is
        const size_t at = text->find_first_of("0123456789", Below(text->size() + 1));
        const std::string huge = Below(2) ? std::string(400, '9') : "1" + std::string(30, '0') + "e-999";
        text->insert(at == std::string::npos ? Position(*text) : at, huge);
        break;
      }
      case 8: {  // a long string
        const size_t length =
            Below(20) == 0 ? 100000 : std::vector<size_t>{0, 64, 65, 128, 129, 1000}[Below(6)];
        text->insert(Position(*text), "\"" + std::string(length, static_cast<char>('a' + Below(26))) + "\"");
        break;
      }
      case 9:  // NaN and infinity literals, bare and quoted
        text->insert(Position(*text), std::vector<const char*>{"NaN", "\"NaN\"", "-Infinity", "\"Infinity\"",
                                                               "nan", "inf"}[Below(6)]);
        break;
      default: {  // duplicate a key after some '{'
        const size_t brace = text->find('{', Below(text->size() + 1));
        if (brace == std::string::npos) break;
        text->insert(brace + 1, std::string("\"") + kKeys[Below(std::size(kKeys))] +
                                    "\":" + kTokens[Below(std::size(kTokens))] + ",");
        break;
      }
    }
  }

  void MutateTree(std::string* text) {
    Json root = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded() || root.size() > 100000) return;
    Json* node = &root;
    for (size_t depth = 0; depth < 8 && (node->is_array() || node->is_object()) && !node->empty() && Below(3);
         ++depth) {
      auto it = node->begin();
      std::advance(it, Below(node->size()));
      node = &*it;
    }
    static const Json kValues[] = {nullptr,
                                   true,
                                   false,
                                   0,
                                   -1,
                                   1.5,
                                   1e308,
                                   18446744073709551615u,
                                   -9223372036854775807LL - 1,
                                   "NaN",
                                   "",
                                   "x",
                                   Json::array(),
                                   Json::object(),
                                   Json::array({1, 2}),
                                   Json::array({Json::array({1}), Json::array({2, 3})}),
                                   Json{{"a", 1}},
                                   std::string(200, 'z'),
                                   "2001-04-02",
                                   986198400000000};
    switch (Below(4)) {
      case 0:
        *node = kValues[Below(std::size(kValues))];
        break;
      case 1:  // remove a member or element
        if (node->is_object() && !node->empty()) {
          node->erase(node->begin().key());
        } else if (node->is_array() && !node->empty()) {
          node->erase(node->begin() + static_cast<ptrdiff_t>(Below(node->size())));
        }
        break;
      case 2:  // repeat an element
        if (node->is_array() && !node->empty() && node->size() < 5000) {
          const Json copy = (*node)[Below(node->size())];
          for (size_t n = 1 + Below(Below(2) ? 3 : 2000); n > 0; --n) node->push_back(copy);
        }
        break;
      default:  // add a member
        if (node->is_object())
          (*node)[std::string(1, static_cast<char>('a' + Below(26)))] = kValues[Below(std::size(kValues))];
        break;
    }
    *text = root.dump(-1, ' ', false, Json::error_handler_t::replace);
  }

  std::mt19937_64 random_;
  std::vector<std::string> corpus_;
  std::string last_;
};

template <typename T>
void CheckOutcome(const Result<T>& result, std::string_view input, int* failures) {
  if (result.ok()) return;
  const Status& status = result.status();
  const bool good =
      !status.message().empty() && status.message().size() <= kMaxMessageBytes && IsUtf8(status.message()) &&
      (status.code() == StatusCode::kInvalidArgument || status.code() == StatusCode::kResourceExhausted);
  if (!good && ++*failures <= 10) {
    ADD_FAILURE() << "bad status " << Show(status.ToString()) << " for input " << Show(input);
  }
}

// Runs `check` on mutated inputs for this parser's share of the budget and
// reports the count and the slowest input.
void Fuzz(const std::string& parser, std::vector<std::string> corpus,
          const std::function<bool(const std::string&, int*)>& check) {
  const double seconds = EnvDouble("KILN_FUZZ_SECONDS", 10) / 4;
  const auto iterations = static_cast<uint64_t>(EnvDouble("KILN_FUZZ_ITERATIONS", 0));
  const uint64_t seed = Seed() ^ std::hash<std::string>{}(parser);
  for (const std::string& body : corpus) {
    int failures = 0;
    EXPECT_TRUE(check(body, &failures)) << "seed " << Show(body) << " is refused";
  }
  Mutator mutator(seed, std::move(corpus));
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  uint64_t count = 0;
  uint64_t accepted = 0;
  double slowest = 0;
  size_t slowest_bytes = 0;
  int failures = 0;
  while (iterations > 0 ? count < iterations : std::chrono::steady_clock::now() < deadline) {
    const std::string input = mutator.Next();
    const auto before = std::chrono::steady_clock::now();
    try {
      accepted += check(input, &failures) ? 1 : 0;
    } catch (const std::exception& error) {
      if (++failures <= 10)
        ADD_FAILURE() << "exception escaped: " << error.what() << " for input " << Show(input);
    } catch (...) {
      if (++failures <= 10) ADD_FAILURE() << "unknown exception escaped for input " << Show(input);
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - before).count();
    if (elapsed > slowest) {
      slowest = elapsed;
      slowest_bytes = input.size();
    }
    ++count;
  }
  std::cout << "[ fuzz     ] " << parser << ": " << count << " inputs, " << accepted << " accepted (seed "
            << Seed() << "), slowest " << slowest * 1000 << " ms for " << slowest_bytes << " bytes, "
            << failures << " failures\n";
  EXPECT_GT(count, 0u);
}

bool SameInferRequest(const InferRequest& a, const InferRequest& b) {
  if (a.id != b.id || a.inputs.size() != b.inputs.size() || !b.outputs.empty()) return false;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const InferTensor& x = a.inputs[i];
    const InferTensor& y = b.inputs[i];
    if (x.name != y.name || x.datatype != y.datatype || x.shape != y.shape || x.numbers.size() != y.numbers.size() ||
        !y.strings.empty()) {
      return false;
    }
    for (size_t j = 0; j < x.numbers.size(); ++j) {
      if (std::memcmp(&x.numbers[j], &y.numbers[j], sizeof(double)) != 0) return false;
    }
  }
  return true;
}

TEST(RequestFuzzTest, InferRequestAndDenseConversion) {
  const std::vector<std::string> corpus = {
      R"({"id": "42", "inputs": [{"name": "input0", "shape": [2, 2], "datatype": "UINT32", "data": [1, 2, 3, 4]},
          {"name": "input1", "shape": [3], "datatype": "BOOL", "data": [true, false, true]}],
          "outputs": [{"name": "output0"}], "parameters": {"trace": true, "nested": {"a": [1]}}})",
      R"({"inputs": [{"name": "a", "shape": [2], "datatype": "FP32", "data": [1.5, "NaN"]},
          {"name": "b", "shape": [2, 1], "datatype": "FP64", "data": [[2], [-Infinity]]},
          {"name": "c", "shape": [2], "datatype": "INT64", "data": [-9223372036854775808, 7]}]})",
      R"({"inputs": [{"name": "matrix", "shape": [2, 3], "datatype": "FP32", "data": [[1, 2, 3], [4, 5, 6]]}]})",
      // The fast path's layouts (infer_fast_path.h).
      R"({"id": "r1", "inputs": [{"name": "input-0", "shape": [2, 3], "datatype": "FP32", "data": [1, -2.5, 3e2, 0, 4.25, -6e-3]}]})",
      R"({"inputs": [{"name": "a", "shape": [2], "datatype": "FP64", "data": [1, 2]},
          {"name": "b", "shape": [2, 1], "datatype": "FP32", "data": [0.1, 1E+3]}]})",
      R"({"inputs": [{"name": "s", "shape": [2], "datatype": "BYTES", "data": ["x", "é"]},
          {"name": "h", "shape": [1], "datatype": "FP16", "data": [65504]},
          {"name": "i", "shape": [1, 1, 1], "datatype": "INT8", "data": [[[-128]]]}]})",
  };
  Fuzz("infer", corpus, [](const std::string& input, int* failures) -> bool {
    Result<InferRequest> request = ParseInferRequest(input, kMaxElements);
    CheckOutcome(request, input, failures);
    // The fast path accepts a subset of what the full parser accepts, with the same result.
    if (std::optional<InferRequest> fast = TryParseInferRequestFast(input, kMaxElements)) {
      EXPECT_TRUE(request.ok()) << "fast path accepted what the parser refuses: " << Show(input);
      if (request.ok()) {
        EXPECT_TRUE(SameInferRequest(*fast, *request)) << "fast path differs on " << Show(input);
      }
    }
    if (!request.ok()) return false;
    size_t elements = 0;
    std::vector<std::string> names;
    for (const InferTensor& tensor : request->inputs) {
      size_t product = 1;
      for (int64_t dim : tensor.shape) product *= static_cast<size_t>(dim);
      const size_t count = tensor.datatype == "BYTES" ? tensor.strings.size() : tensor.numbers.size();
      EXPECT_EQ(count, product) << "tensor " << tensor.name << " of " << Show(input);
      elements += count;
      names.push_back(tensor.name);
    }
    EXPECT_LE(elements, kMaxElements) << Show(input);
    // As the model's features: the inputs' own names (layout 1), and three
    // fixed names (layout 2 or an unknown-feature error).
    for (const std::vector<std::string>& features : {names, std::vector<std::string>{"a", "b", "c"}}) {
      Result<DenseRows> dense = InferInputsToDense(*request, features, kMaxRows);
      CheckOutcome(dense, input, failures);
      if (!dense.ok()) continue;
      EXPECT_EQ(dense->values.size(), dense->rows * dense->columns) << Show(input);
      EXPECT_LE(dense->rows, kMaxRows);
      std::vector<float> predictions(dense->values.begin(),
                                     dense->values.begin() + std::min(dense->rows, dense->values.size()));
      const std::string response = EncodeInferResponse("m", "1", request->id, predictions);
      Json parsed = Json::parse(response, nullptr, /*allow_exceptions=*/false);
      EXPECT_FALSE(parsed.is_discarded()) << "invalid response JSON " << Show(response);
    }
    return true;
  });
}

TEST(RequestFuzzTest, PredictRequest) {
  const std::vector<std::string> corpus = {
      R"({"entity": {"origin": "ORD", "flight": 1234}, "request": {"departure": "2001-04-02T08:15:00Z",
          "distance": 740.5, "gate": null}, "unit_id": "u-7", "id": "p-1"})",
      R"({"rows": [{"entity": {"origin": "ORD"}}, {"request": {"x": true}, "unit_id": "u", "id": "p"}],
          "as_of": "2001-04-02T08:00:00+01:00"})",
      R"({"rows": [{"entity": {"origin": "SFO"}, "id": "a"}, {"entity": {"origin": "LAX"}, "id": "b"}],
          "as_of": 986198400000000})",
  };
  Fuzz("predict", corpus, [](const std::string& input, int* failures) -> bool {
    Result<PredictRequest> request = ParsePredictRequest(input, kMaxRows);
    CheckOutcome(request, input, failures);
    if (!request.ok()) return false;
    EXPECT_GE(request->rows.size(), 1u);
    EXPECT_LE(request->rows.size(), kMaxRows);
    for (const PredictRow& row : request->rows) {
      EXPECT_TRUE(row.entity.is_object() && row.request.is_object()) << Show(input);
      for (const auto& [key, value] : row.entity.items())
        EXPECT_TRUE(value.is_primitive() && !value.is_null());
      if (row.prediction_id) {
        EXPECT_FALSE(row.prediction_id->empty());
      }
    }
    return true;
  });
}

TEST(RequestFuzzTest, LabelsRequest) {
  const std::vector<std::string> corpus = {
      R"({"labels": [{"id": "l-1", "prediction_id": "pred-1", "value": 1, "timestamp": "2001-04-05T10:00:00Z"},
          {"id": "l-2", "prediction_id": "pred-2", "value": false, "timestamp": 986198400000000}]})",
      R"({"id": "l-9", "prediction_id": "pred-9", "value": 0.25})",
  };
  Fuzz("labels", corpus, [](const std::string& input, int* failures) -> bool {
    Result<std::vector<Label>> labels = ParseLabelsRequest(input, kMaxItems, kNow);
    CheckOutcome(labels, input, failures);
    if (!labels.ok()) return false;
    EXPECT_LE(labels->size(), kMaxItems);
    for (const Label& label : *labels) {
      EXPECT_TRUE(!label.label_id.empty() && label.label_id.size() <= 128) << Show(input);
      EXPECT_TRUE(!label.prediction_id.empty() && label.prediction_id.size() <= 128) << Show(input);
      EXPECT_TRUE(std::isfinite(label.value)) << Show(input);
    }
    return true;
  });
}

TEST(RequestFuzzTest, EventsRequest) {
  const std::vector<std::string> corpus = {
      R"({"events": [{"id": "e-1", "unit_id": "u-7", "name": "conversion"},
          {"id": "e-2", "unit_id": "u-8", "name": "claim", "value": 1250.5, "timestamp": "2001-04-03",
           "properties": {"channel": "web", "items": [1, {"sku": "x"}]}}]})",
      R"({"id": "e", "unit_id": "u", "name": "click", "value": true, "timestamp": 986198400000000})",
  };
  Fuzz("events", corpus, [](const std::string& input, int* failures) -> bool {
    Result<std::vector<BusinessEvent>> events = ParseEventsRequest(input, kMaxItems, kNow);
    CheckOutcome(events, input, failures);
    if (!events.ok()) return false;
    EXPECT_LE(events->size(), kMaxItems);
    for (const BusinessEvent& event : *events) {
      EXPECT_TRUE(!event.name.empty() && event.name.size() <= 128) << Show(input);
      EXPECT_TRUE(event.properties.is_object()) << Show(input);
      (void)event.properties.dump();  // printing recurses per level: depth is bounded
    }
    return true;
  });
}

// The cases the fuzzer reaches only by chance, checked every run.
TEST(RequestFuzzTest, DeepNestingIsRefusedByEveryParser) {
  for (const std::string& unit : {std::string("["), std::string("{\"a\":")}) {
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += unit;
    for (const std::string& body : {deep, "{\"entity\": " + deep, Json(deep).dump()}) {
      std::vector<Status> statuses = {ParseInferRequest(body, kMaxElements).status(),
                                      ParsePredictRequest(body, kMaxRows).status(),
                                      ParseLabelsRequest(body, kMaxItems, kNow).status(),
                                      ParseEventsRequest(body, kMaxItems, kNow).status()};
      for (const Status& status : statuses) {
        EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
        EXPECT_NE(status.message().find("nested deeper than 64 levels"), std::string::npos)
            << status.message();
      }
    }
  }
}

TEST(RequestFuzzTest, DeepButValidJsonIsRefusedToo) {
  // Valid JSON that every parser would otherwise accept into a Json value
  // (parameters, properties), where copying or printing it recurses per level.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string infer = R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}],
                                "parameters": {"p": )" +
                            deep + "}}";
  const std::string event = R"({"id": "e", "unit_id": "u", "name": "c", "properties": {"p": )" + deep + "}}";
  for (const Status& status : {ParseInferRequest(infer, kMaxElements).status(),
                               ParseEventsRequest(event, kMaxItems, kNow).status()}) {
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find("nested deeper than 64 levels"), std::string::npos) << status.message();
  }
  // 64 levels in all are fine.
  const std::string ok_depth = std::string(62, '[') + std::string(62, ']');
  EXPECT_TRUE(
      ParseEventsRequest(R"({"id": "e", "unit_id": "u", "name": "c", "properties": {"p": )" + ok_depth + "}}",
                         kMaxItems, kNow)
          .ok());
}

TEST(RequestFuzzTest, ParseErrorsAreShortAndUtf8) {
  const std::string body =
      "{\"inputs\": \"" + std::string(100000, 'x') + "\xff";  // unterminated, invalid UTF-8
  const Status status = ParseInferRequest(body, kMaxElements).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("malformed JSON"), std::string::npos) << Show(status.message());
  EXPECT_LE(status.message().size(), 400u);
  EXPECT_TRUE(IsUtf8(status.message()));
}

}  // namespace
}  // namespace kiln::serving
