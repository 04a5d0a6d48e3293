// Open Inference Protocol v2 infer requests (parsing) and responses
// (encoding). Dense conversion: inference_protocol_dense.cc.

#include "serving/inference_protocol.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "common/json_writer.h"
#include "serving/inference_protocol_internal.h"

namespace kiln::serving {

namespace {

using internal::CheckFields;
using internal::FindField;
using internal::IndexPath;
using internal::WrongType;

// Beyond this many dimensions a shape is refused (keeps the nested-data walk
// shallow; real tensors have a handful).
constexpr size_t kMaxRank = 32;

enum class ElementKind { kBool, kInteger, kFloat, kBytes };

struct Datatype {
  std::string_view name;
  ElementKind kind;
  int64_t min = 0;         // kInteger
  uint64_t max = 0;        // kInteger
  double float_limit = 0;  // kFloat: |value| must be below (rounds to infinity from there)
};

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr Datatype kDatatypes[] = {
    {"BOOL", ElementKind::kBool},
    {"UINT8", ElementKind::kInteger, 0, 255},
    {"UINT16", ElementKind::kInteger, 0, 65535},
    {"UINT32", ElementKind::kInteger, 0, 4294967295u},
    {"UINT64", ElementKind::kInteger, 0, std::numeric_limits<uint64_t>::max()},
    {"INT8", ElementKind::kInteger, -128, 127},
    {"INT16", ElementKind::kInteger, -32768, 32767},
    {"INT32", ElementKind::kInteger, -2147483648LL, 2147483647},
    {"INT64", ElementKind::kInteger, std::numeric_limits<int64_t>::min(),
     std::numeric_limits<int64_t>::max()},
    {"FP16", ElementKind::kFloat, 0, 0, 65520.0},
    {"FP32", ElementKind::kFloat, 0, 0, 0x1.ffffffp+127},
    {"FP64", ElementKind::kFloat, 0, 0, kInfinity},
    {"BYTES", ElementKind::kBytes},
};

const Datatype* FindDatatype(std::string_view name) {
  for (const Datatype& datatype : kDatatypes) {
    if (datatype.name == name) return &datatype;
  }
  return nullptr;
}

// "1 element", "3 elements".
std::string Elements(uint64_t count) {
  return std::to_string(count) + (count == 1 ? " element" : " elements");
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// Converts one data element into `tensor`; false when it does not fit the datatype.
bool AppendElement(const Json& leaf, const Datatype& type, InferTensor* tensor) {
  switch (type.kind) {
    case ElementKind::kBool:
      if (!leaf.is_boolean()) return false;
      tensor->numbers.push_back(leaf.get<bool>() ? 1.0 : 0.0);
      return true;
    case ElementKind::kInteger:
      if (leaf.is_number_unsigned()) {
        const uint64_t value = leaf.get<uint64_t>();
        if (value > type.max) return false;
        tensor->numbers.push_back(static_cast<double>(value));
        return true;
      }
      if (leaf.is_number_integer()) {
        const int64_t value = leaf.get<int64_t>();
        if (value < type.min || (value >= 0 && static_cast<uint64_t>(value) > type.max)) return false;
        tensor->numbers.push_back(static_cast<double>(value));
        return true;
      }
      return false;
    case ElementKind::kFloat:
      if (leaf.is_number()) {
        const double value = leaf.get<double>();
        if (!(std::fabs(value) < type.float_limit)) return false;
        tensor->numbers.push_back(value);
        return true;
      }
      if (leaf.is_string()) {
        // ParseJsonObject reads the bare literals Python writes as these strings.
        const std::string& text = leaf.get_ref<const std::string&>();
        if (text == "NaN") {
          tensor->numbers.push_back(std::numeric_limits<double>::quiet_NaN());
        } else if (text == "Infinity" || text == "-Infinity") {
          tensor->numbers.push_back(text[0] == '-' ? -kInfinity : kInfinity);
        } else {
          return false;
        }
        return true;
      }
      return false;
    case ElementKind::kBytes:
      if (!leaf.is_string()) return false;
      tensor->strings.push_back(leaf.get<std::string>());
      return true;
  }
  return false;
}

// Why AppendElement refused `leaf`, at `path`.
Status ElementError(const Json& leaf, const Datatype& type, const std::string& path) {
  const std::string type_name(type.name);
  switch (type.kind) {
    case ElementKind::kBool:
      return WrongType(path, "true or false for BOOL", leaf);
    case ElementKind::kInteger:
      return WrongType(path,
                       "an integer in [" + std::to_string(type.min) + ", " + std::to_string(type.max) +
                           "] for " + type_name,
                       leaf);
    case ElementKind::kFloat:
      if (leaf.is_number()) {
        return InvalidArgument(path + ": " + internal::Describe(leaf) + " is out of the range of " +
                               type_name);
      }
      if (leaf.is_null()) {
        return InvalidArgument(path + ": expected a number for " + type_name +
                               ", got null (the protocol has no null; send \"NaN\" for a missing value)");
      }
      return WrongType(path, "a number (or \"NaN\", \"Infinity\", \"-Infinity\") for " + type_name, leaf);
    case ElementKind::kBytes:
      return WrongType(path, "a string for BYTES", leaf);
  }
  return Internal("unknown element kind");
}

// The path of the element at `flat_index`: "inputs[0].data[5]", or in the
// nested form "inputs[0].data[2][1]".
std::string ElementPath(const std::string& data_path, bool nested, const std::vector<int64_t>& shape,
                        size_t flat_index) {
  if (!nested) return IndexPath(data_path, flat_index);
  std::vector<size_t> indices(shape.size());
  for (size_t level = shape.size(); level-- > 0;) {
    indices[level] = flat_index % static_cast<size_t>(shape[level]);
    flat_index /= static_cast<size_t>(shape[level]);
  }
  std::string path = data_path;
  for (size_t index : indices) path = IndexPath(path, index);
  return path;
}

// Nested data ([[1, 2], [3, 4]]) must follow the shape exactly: the array at
// depth d has shape[d] elements. Leaves are checked by AppendElement.
Status CheckNested(const Json& node, const std::vector<int64_t>& shape, size_t level,
                   const std::string& path) {
  const uint64_t expected = static_cast<uint64_t>(shape[level]);
  if (!node.is_array()) {
    return WrongType(path, "an array of " + Elements(expected) + " (shape " + ShapeText(shape) + ")", node);
  }
  if (node.size() != expected) {
    return InvalidArgument(path + ": expected " + Elements(expected) + " (shape " + ShapeText(shape) +
                           "), got " + std::to_string(node.size()));
  }
  if (level + 1 == shape.size()) return Status::Ok();
  for (size_t i = 0; i < node.size(); ++i) {
    KILN_RETURN_IF_ERROR(CheckNested(node[i], shape, level + 1, IndexPath(path, i)));
  }
  return Status::Ok();
}

template <typename Visit>
Status ForEachLeaf(const Json& node, size_t depth, size_t rank, size_t* flat_index, Visit& visit) {
  if (depth == rank) return visit(node, (*flat_index)++);
  for (const Json& child : node) KILN_RETURN_IF_ERROR(ForEachLeaf(child, depth + 1, rank, flat_index, visit));
  return Status::Ok();
}

// One input after the structural pass, before its elements are converted.
struct PendingInput {
  const Datatype* type = nullptr;
  const Json* data = nullptr;
  bool nested = false;
  uint64_t elements = 0;
};

Status ParseInputHeader(const Json& input, const std::string& path, InferTensor* tensor,
                        PendingInput* pending) {
  if (!input.is_object()) return WrongType(path, "an input tensor object", input);
  KILN_RETURN_IF_ERROR(CheckFields(input, path, {"name", "shape", "datatype", "parameters", "data"}));

  const Json* name = FindField(input, "name");
  if (name == nullptr) return internal::MissingField(path + ".name", "the input's name");
  if (!name->is_string() || name->get_ref<const std::string&>().empty()) {
    return WrongType(path + ".name", "a non-empty string", *name);
  }
  tensor->name = name->get<std::string>();

  const Json* datatype = FindField(input, "datatype");
  if (datatype == nullptr) return internal::MissingField(path + ".datatype", "a datatype such as FP32");
  if (!datatype->is_string()) return WrongType(path + ".datatype", "a datatype such as FP32", *datatype);
  tensor->datatype = datatype->get<std::string>();
  pending->type = FindDatatype(tensor->datatype);
  if (pending->type == nullptr) {
    std::string known;
    for (const Datatype& type : kDatatypes) known += (known.empty() ? "" : ", ") + std::string(type.name);
    return InvalidArgument(path + ".datatype: unknown datatype " + internal::QuoteName(tensor->datatype) +
                           " (expected one of: " + known + "; names are upper case)");
  }

  const Json* shape = FindField(input, "shape");
  static constexpr std::string_view kShapeExpected = "an array of non-negative integers";
  if (shape == nullptr) return internal::MissingField(path + ".shape", kShapeExpected);
  if (!shape->is_array()) return WrongType(path + ".shape", kShapeExpected, *shape);
  if (shape->size() > kMaxRank) {
    return InvalidArgument(path + ".shape: " + std::to_string(shape->size()) +
                           " dimensions is more than the limit of " + std::to_string(kMaxRank));
  }
  uint64_t product = 1;
  bool overflow = false;
  for (size_t i = 0; i < shape->size(); ++i) {
    const Json& dim = (*shape)[i];
    const bool valid = dim.is_number_unsigned() || (dim.is_number_integer() && dim.get<int64_t>() >= 0);
    if (!valid || dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return WrongType(IndexPath(path + ".shape", i), "a non-negative integer", dim);
    }
    tensor->shape.push_back(dim.get<int64_t>());
    overflow = overflow || __builtin_mul_overflow(product, dim.get<uint64_t>(), &product);
  }
  for (int64_t dim : tensor->shape) {
    if (dim == 0) product = 0, overflow = false;  // empty, however large the other dimensions
  }

  if (const Json* parameters = FindField(input, "parameters")) {
    if (!parameters->is_object()) return WrongType(path + ".parameters", "an object", *parameters);
    if (parameters->contains("binary_data_size")) {
      return InvalidArgument(path +
                             ".parameters.binary_data_size: binary tensor data is not supported; send the "
                             "tensor in \"data\" as JSON");
    }
  }

  const Json* data = FindField(input, "data");
  if (data == nullptr) return internal::MissingField(path + ".data", "an array of the tensor's elements");
  if (!data->is_array()) return WrongType(path + ".data", "an array of the tensor's elements", *data);
  pending->data = data;
  pending->nested = tensor->shape.size() >= 2 && !data->empty() && (*data)[0].is_array();
  if (pending->nested) {
    KILN_RETURN_IF_ERROR(CheckNested(*data, tensor->shape, 0, path + ".data"));
    pending->elements = product;  // no overflow: every level's array exists
  } else {
    pending->elements = data->size();
    if (overflow || product != data->size()) {
      return InvalidArgument(path + ": shape " + ShapeText(tensor->shape) + " needs " +
                             (overflow ? "more than 2^64 elements" : Elements(product)) + ", data has " +
                             std::to_string(data->size()));
    }
  }
  return Status::Ok();
}

Status ConvertData(const PendingInput& pending, const std::string& path, InferTensor* tensor) {
  const Datatype& type = *pending.type;
  if (type.kind == ElementKind::kBytes) {
    tensor->strings.reserve(pending.elements);
  } else {
    tensor->numbers.reserve(pending.elements);
  }
  auto visit = [&](const Json& leaf, size_t index) -> Status {
    if (AppendElement(leaf, type, tensor)) return Status::Ok();
    return ElementError(leaf, type, ElementPath(path + ".data", pending.nested, tensor->shape, index));
  };
  size_t flat_index = 0;
  return ForEachLeaf(*pending.data, 0, pending.nested ? tensor->shape.size() : 1, &flat_index, visit);
}

Status ParseOutputs(const Json& outputs, InferRequest* request) {
  if (!outputs.is_array()) return WrongType("outputs", "an array of {\"name\": …} objects", outputs);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string path = IndexPath("outputs", i);
    const Json& output = outputs[i];
    if (!output.is_object()) return WrongType(path, "an object with a \"name\"", output);
    KILN_RETURN_IF_ERROR(CheckFields(output, path, {"name", "parameters"}));
    const Json* name = FindField(output, "name");
    if (name == nullptr) return internal::MissingField(path + ".name", "the output's name");
    if (!name->is_string()) return WrongType(path + ".name", "a string", *name);
    const Json* parameters = FindField(output, "parameters");
    if (parameters != nullptr && !parameters->is_object()) {
      return WrongType(path + ".parameters", "an object", *parameters);
    }
    request->outputs.push_back(name->get<std::string>());
  }
  return Status::Ok();
}

}  // namespace

Result<InferRequest> ParseInferRequest(std::string_view body, size_t max_elements) {
  KILN_ASSIGN_OR_RETURN(Json root, internal::ParseRequestBody(body));
  KILN_RETURN_IF_ERROR(CheckFields(root, "", {"id", "inputs", "outputs", "parameters"}));
  InferRequest request;
  if (const Json* id = FindField(root, "id")) {
    if (!id->is_string()) return WrongType("id", "a string", *id);
    request.id = id->get<std::string>();
  }
  if (Json* parameters = FindField(root, "parameters")) {
    if (!parameters->is_object()) return WrongType("parameters", "an object", *parameters);
    request.parameters = std::move(*parameters);
  }
  if (const Json* outputs = FindField(root, "outputs"))
    KILN_RETURN_IF_ERROR(ParseOutputs(*outputs, &request));

  const Json* inputs = FindField(root, "inputs");
  static constexpr std::string_view kInputsExpected = "a non-empty array of input tensors";
  if (inputs == nullptr) return internal::MissingField("inputs", kInputsExpected);
  if (!inputs->is_array() || inputs->empty()) return WrongType("inputs", kInputsExpected, *inputs);

  // Structure first (names, shapes, sizes), so an oversize request is refused
  // before any element is converted.
  request.inputs.resize(inputs->size());
  std::vector<PendingInput> pending(inputs->size());
  std::unordered_set<std::string_view> names;
  uint64_t total_elements = 0;
  for (size_t i = 0; i < inputs->size(); ++i) {
    const std::string path = IndexPath("inputs", i);
    KILN_RETURN_IF_ERROR(ParseInputHeader((*inputs)[i], path, &request.inputs[i], &pending[i]));
    if (!names.insert(request.inputs[i].name).second) {
      return InvalidArgument(path + ".name: input " + internal::QuoteName(request.inputs[i].name) +
                             " appears more than once");
    }
    total_elements += pending[i].elements;  // each bounded by the body's size
  }
  if (total_elements > max_elements)
    return internal::LimitExceeded(total_elements, "tensor elements", max_elements);
  for (size_t i = 0; i < inputs->size(); ++i) {
    KILN_RETURN_IF_ERROR(ConvertData(pending[i], IndexPath("inputs", i), &request.inputs[i]));
  }
  return request;
}

std::string EncodeInferResponse(std::string_view model_name, std::string_view model_version,
                                std::string_view id, const std::vector<float>& predictions) {
  std::string out;
  out.reserve(128 + model_name.size() + model_version.size() + id.size() + predictions.size() * 12);
  out += "{\"model_name\":";
  AppendJsonString(&out, model_name);
  if (!model_version.empty()) {
    out += ",\"model_version\":";
    AppendJsonString(&out, model_version);
  }
  if (!id.empty()) {
    out += ",\"id\":";
    AppendJsonString(&out, id);
  }
  out += ",\"outputs\":[{\"name\":\"predict\",\"datatype\":\"FP32\",\"shape\":[";
  out += std::to_string(predictions.size());
  out += "],\"data\":[";
  char buffer[32];
  for (size_t i = 0; i < predictions.size(); ++i) {
    if (i > 0) out += ',';
    const float value = predictions[i];
    if (!std::isfinite(value)) {
      out += "null";  // JSON has no NaN or infinity, and the protocol no missing-value marker
      continue;
    }
    auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, end);
  }
  out += "]}]}";
  return out;
}

}  // namespace kiln::serving
