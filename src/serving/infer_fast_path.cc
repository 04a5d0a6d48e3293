#include "serving/infer_fast_path.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace kiln::serving {
namespace {

// FP32's largest finite value rounds from below this; ParseInferRequest
// refuses anything at or above it.
constexpr double kFloatLimit = 0x1.ffffffp+127;

class Scanner {
 public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    SkipSpace();
    return p_ < end_ && *p_ == c;
  }
  bool AtEnd() {
    SkipSpace();
    return p_ == end_;
  }
  // A string without escapes or control characters (anything else: fail,
  // so the full parser decides).
  bool String(std::string_view* out) {
    if (!Consume('"')) return false;
    const char* start = p_;
    while (p_ < end_ && *p_ != '"') {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++p_;
    }
    if (p_ == end_) return false;
    *out = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return true;
  }
  // A JSON number (strict grammar) as a double.
  bool Number(double* out) {
    SkipSpace();
    const char* start = p_;
    const char* q = p_;
    if (q < end_ && *q == '-') ++q;
    if (q == end_) return false;
    if (*q == '0') {
      ++q;
    } else if (*q >= '1' && *q <= '9') {
      while (q < end_ && *q >= '0' && *q <= '9') ++q;
    } else {
      return false;
    }
    if (q < end_ && *q == '.') {
      ++q;
      if (q == end_ || *q < '0' || *q > '9') return false;
      while (q < end_ && *q >= '0' && *q <= '9') ++q;
    }
    if (q < end_ && (*q == 'e' || *q == 'E')) {
      ++q;
      if (q < end_ && (*q == '+' || *q == '-')) ++q;
      if (q == end_ || *q < '0' || *q > '9') return false;
      while (q < end_ && *q >= '0' && *q <= '9') ++q;
    }
    auto [ptr, ec] = std::from_chars(start, q, *out);
    if (ec != std::errc() || ptr != q) return false;
    p_ = q;
    return true;
  }
  // A non-negative integer without sign, fraction or exponent.
  bool Count(int64_t* out) {
    SkipSpace();
    const char* q = p_;
    if (q == end_ || *q < '0' || *q > '9' || (*q == '0' && q + 1 < end_ && q[1] >= '0' && q[1] <= '9')) {
      return false;
    }
    int64_t value = 0;
    while (q < end_ && *q >= '0' && *q <= '9') {
      if (value > (int64_t{1} << 40)) return false;
      value = value * 10 + (*q - '0');
      ++q;
    }
    if (q < end_ && (*q == '.' || *q == 'e' || *q == 'E')) return false;
    p_ = q;
    *out = value;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

bool ParseInput(Scanner& scan, InferTensor* tensor, size_t max_elements) {
  if (!scan.Consume('{')) return false;
  bool has_name = false, has_shape = false, has_type = false, has_data = false;
  bool fp32 = false;
  do {
    std::string_view key;
    if (!scan.String(&key) || !scan.Consume(':')) return false;
    if (key == "name" && !has_name) {
      std::string_view name;
      if (!scan.String(&name) || name.empty()) return false;
      tensor->name = std::string(name);
      has_name = true;
    } else if (key == "shape" && !has_shape) {
      if (!scan.Consume('[')) return false;
      if (!scan.Consume(']')) {
        do {
          int64_t dimension = 0;
          if (!scan.Count(&dimension)) return false;
          tensor->shape.push_back(dimension);
          if (tensor->shape.size() > 8) return false;
        } while (scan.Consume(','));
        if (!scan.Consume(']')) return false;
      }
      has_shape = true;
    } else if (key == "datatype" && !has_type) {
      std::string_view type;
      if (!scan.String(&type)) return false;
      if (type == "FP32") {
        fp32 = true;
      } else if (type != "FP64") {
        return false;
      }
      tensor->datatype = std::string(type);
      has_type = true;
    } else if (key == "data" && !has_data) {
      if (!scan.Consume('[')) return false;
      if (!scan.Consume(']')) {
        do {
          double value = 0;
          if (!scan.Number(&value)) return false;  // nested arrays, strings, literals: full parser
          if (tensor->numbers.size() >= max_elements) return false;
          tensor->numbers.push_back(value);
        } while (scan.Consume(','));
        if (!scan.Consume(']')) return false;
      }
      has_data = true;
    } else {
      return false;
    }
  } while (scan.Consume(','));
  if (!scan.Consume('}') || !has_name || !has_shape || !has_type || !has_data || tensor->shape.empty()) return false;
  uint64_t elements = 1;
  for (int64_t dimension : tensor->shape) {
    elements *= static_cast<uint64_t>(dimension);
    if (elements > max_elements) return false;
  }
  if (elements != tensor->numbers.size()) return false;
  const double limit = fp32 ? kFloatLimit : INFINITY;
  for (double value : tensor->numbers) {
    if (!(std::fabs(value) < limit)) return false;
  }
  return true;
}

}  // namespace

std::optional<InferRequest> TryParseInferRequestFast(std::string_view body, size_t max_elements) {
  Scanner scan(body);
  InferRequest request;
  if (!scan.Consume('{')) return std::nullopt;
  bool has_id = false, has_inputs = false;
  size_t total = 0;
  do {
    std::string_view key;
    if (!scan.String(&key) || !scan.Consume(':')) return std::nullopt;
    if (key == "id" && !has_id) {
      std::string_view id;
      if (!scan.String(&id)) return std::nullopt;
      request.id = std::string(id);
      has_id = true;
    } else if (key == "inputs" && !has_inputs) {
      if (!scan.Consume('[')) return std::nullopt;
      do {
        InferTensor& tensor = request.inputs.emplace_back();
        if (!ParseInput(scan, &tensor, max_elements - total)) return std::nullopt;
        total += tensor.numbers.size();
        for (size_t i = 0; i + 1 < request.inputs.size(); ++i) {
          if (request.inputs[i].name == tensor.name) return std::nullopt;  // duplicate: full parser says so
        }
      } while (scan.Consume(','));
      if (!scan.Consume(']')) return std::nullopt;
      has_inputs = true;
    } else {
      return std::nullopt;
    }
  } while (scan.Consume(','));
  if (!scan.Consume('}') || !scan.AtEnd() || !has_inputs) return std::nullopt;
  return request;
}

}  // namespace kiln::serving
