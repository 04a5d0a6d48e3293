#pragma once
// A fast path for the common Open Inference Protocol body: inputs of
// datatype FP32/FP64 with flat numeric data, plain-ASCII names and ids, no
// "outputs" or "parameters". It scans the text once with std::from_chars
// instead of building a JSON tree, which is most of the cost of a large
// batch (a 1,000-row request holds tens of thousands of numbers).
//
// It accepts only what ParseInferRequest accepts and returns the same
// InferRequest; anything else — an unusual layout, an escape, a number
// outside FP32, a size error — returns nullopt and the caller runs the full
// parser, which produces the error message (tests and the fuzz test check
// the equivalence). Pure; thread-safe.

#include <optional>
#include <string_view>

#include "serving/inference_protocol.h"

namespace kiln::serving {

std::optional<InferRequest> TryParseInferRequestFast(std::string_view body, size_t max_elements);

}  // namespace kiln::serving
