#include "tracking_api.h"

#include <cctype>

#include <nlohmann/json.hpp>

namespace kiln_bench {

std::string CreateExperiment(HttpClient& http, const std::string& name, std::string& error) {
  nlohmann::json body = {{"name", name}};
  HttpResponse response = http.Post(std::string(kApi) + "experiments/create", body.dump());
  if (response.status != 200) {
    error = DescribeFailure("POST experiments/create " + body.dump(), response);
    return "";
  }
  std::string id = StringField(response.body, "experiment_id");
  if (id.empty()) error = "experiments/create: no experiment_id in " + response.body.substr(0, 300);
  return id;
}

std::string CreateRunBody(const std::string& experiment_id, int64_t start_time) {
  return "{\"experiment_id\":\"" + experiment_id + "\",\"start_time\":" + std::to_string(start_time) +
         ",\"tags\":[{\"key\":\"mlflow.user\",\"value\":\"k6\"}]}";
}

std::string RunIdOf(const std::string& create_run_response) {
  return StringField(create_run_response, "run_id");
}

std::string CreateRun(HttpClient& http, const std::string& experiment_id, int64_t start_time, std::string& error) {
  std::string body = CreateRunBody(experiment_id, start_time);
  HttpResponse response = http.Post(std::string(kApi) + "runs/create", body);
  if (response.status != 200) {
    error = DescribeFailure("POST runs/create " + body, response);
    return "";
  }
  std::string id = RunIdOf(response.body);
  if (id.empty()) error = "runs/create: no run.info.run_id in " + response.body.substr(0, 300);
  return id;
}

std::string StringField(std::string_view json, std::string_view field) {
  std::string pattern = "\"" + std::string(field) + "\"";
  size_t at = json.find(pattern);
  if (at == std::string_view::npos) return "";
  at = json.find(':', at + pattern.size());
  if (at == std::string_view::npos) return "";
  at = json.find('"', at);
  if (at == std::string_view::npos) return "";
  size_t end = json.find('"', at + 1);
  if (end == std::string_view::npos) return "";
  return std::string(json.substr(at + 1, end - at - 1));
}

int64_t CountOf(std::string_view text, std::string_view needle) {
  int64_t count = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

std::string UrlEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace kiln_bench
