#pragma once
// How the CLI reaches the API: in-process against a data directory (the same
// router the server uses), or over HTTP against a running server. Both speak
// the same JSON messages, so every command works the same either way.

#include <memory>
#include <string>

#include "common/json.h"
#include "common/status.h"

namespace kiln::server {
class App;
}

namespace kiln::cli {

class ApiClient {
 public:
  virtual ~ApiClient() = default;
  // Sends a JSON request; GET bodies are sent as query parameters.
  // A non-2xx answer becomes a Status carrying the server's message.
  virtual Result<Json> Call(const std::string& method, const std::string& path, const Json& body) = 0;
  // GETs `path` (with `query` as parameters) and writes the response body
  // to `output_file` as it arrives.
  virtual Status Download(const std::string& path, const Json& query, const std::string& output_file) = 0;
  // True in-process: the "server" shares this machine's files.
  virtual bool is_local() const = 0;
};

// Dispatches in-process to the App's router with full (admin) rights.
std::unique_ptr<ApiClient> MakeLocalClient(server::App& app);
// `url` is http://host:port; `token` may be empty.
Result<std::unique_ptr<ApiClient>> MakeHttpClient(const std::string& url, const std::string& token);

// Builds "a=1&b=x" from a flat JSON object (arrays repeat the key).
std::string ToQueryString(const Json& object);
// The Status a JSON error body and HTTP status describe.
Status StatusFromErrorBody(int http_status, const std::string& body);

}  // namespace kiln::cli
