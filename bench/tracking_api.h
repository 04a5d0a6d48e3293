#pragma once
// Request bodies and small response readers for the MLflow-compatible
// tracking API, written for speed (the load generator shares the CPU with the
// server, so building a body must cost little). Stateless; thread-safe.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "http_load.h"

namespace kiln_bench {

inline constexpr std::string_view kApi = "/api/2.0/mlflow/";

inline void AppendNumber(std::string& out, double value) {
  char text[32];
  int length = std::snprintf(text, sizeof text, "%.6f", value);
  out.append(text, static_cast<size_t>(length));
}

// {"key":..,"value":..,"timestamp":..,"step":..} appended to `out`.
inline void AppendMetric(std::string& out, std::string_view key, double value, int64_t timestamp, int64_t step) {
  out += "{\"key\":\"";
  out += key;
  out += "\",\"value\":";
  AppendNumber(out, value);
  out += ",\"timestamp\":";
  out += std::to_string(timestamp);
  out += ",\"step\":";
  out += std::to_string(step);
  out += '}';
}

inline void AppendParam(std::string& out, std::string_view key, std::string_view value) {
  out += "{\"key\":\"";
  out += key;
  out += "\",\"value\":\"";
  out += value;
  out += "\"}";
}

// POST experiments/create; returns the id or "" with `error` set.
std::string CreateExperiment(HttpClient& http, const std::string& name, std::string& error);

// POST runs/create as MLflow-Go's k6 script sends it (start_time, tag
// mlflow.user = k6); returns the run id or "" with `error` set.
std::string CreateRun(HttpClient& http, const std::string& experiment_id, int64_t start_time, std::string& error);
std::string CreateRunBody(const std::string& experiment_id, int64_t start_time);

// The run id in a runs/create response, "" when absent.
std::string RunIdOf(const std::string& create_run_response);

// The value of the first `"<field>":"<string>"` in a JSON text (no escapes
// expected), "" when absent. Cheap alternative to parsing megabytes.
std::string StringField(std::string_view json, std::string_view field);

// Occurrences of `needle` in `text`.
int64_t CountOf(std::string_view text, std::string_view needle);

// Percent-encodes a query-string value.
std::string UrlEncode(std::string_view text);

}  // namespace kiln_bench
