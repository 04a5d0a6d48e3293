#include "cli/api_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/api_error.h"
#include "server/app.h"
#include "server/url.h"

namespace kiln::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string ScalarText(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

class LocalClient : public ApiClient {
 public:
  explicit LocalClient(server::App& app) : app_(app) {}

  Result<Json> Call(const std::string& method, const std::string& path, const Json& body) override {
    server::HttpRequest request;
    request.method = method;
    request.path = path;
    request.role = server::Role::kAdmin;
    request.user = "cli";
    if (method == "GET") {
      request.query = server::ParseQueryString(ToQueryString(body));
    } else {
      request.body = body.dump();
    }
    server::HttpResponse response = app_.router().Dispatch(request);
    if (response.status / 100 != 2) return StatusFromErrorBody(response.status, response.body);
    if (response.body.empty()) return Json::object();
    return ParseJsonObject(response.body);
  }

 private:
  server::App& app_;
};

class HttpClient : public ApiClient {
 public:
  HttpClient(std::string host, std::string port, std::string token)
      : host_(std::move(host)), port_(std::move(port)), token_(std::move(token)), stream_(io_) {}

  Result<Json> Call(const std::string& method, const std::string& path, const Json& body) override {
    std::string target = path;
    http::request<http::string_body> request;
    if (method == "GET") {
      std::string query = ToQueryString(body);
      if (!query.empty()) target += "?" + query;
    } else {
      request.body() = body.dump();
      request.set(http::field::content_type, "application/json");
    }
    request.method_string(method);
    request.target(target);
    request.version(11);
    request.set(http::field::host, host_ + ":" + port_);
    request.set(http::field::user_agent, "kiln-cli");
    if (!token_.empty()) request.set(http::field::authorization, "Bearer " + token_);
    request.keep_alive(true);
    request.prepare_payload();

    for (int attempt = 0; attempt < 2; ++attempt) {
      beast::error_code ec;
      if (!connected_) {
        asio::ip::tcp::resolver resolver(io_);
        auto endpoints = resolver.resolve(host_, port_, ec);
        if (!ec) stream_.connect(endpoints, ec);
        if (ec) return Unavailable("cannot reach the Kiln server at " + host_ + ":" + port_ + ": " + ec.message());
        connected_ = true;
      }
      http::write(stream_, request, ec);
      beast::flat_buffer buffer;
      http::response<http::string_body> response;
      if (!ec) http::read(stream_, buffer, response, ec);
      if (ec) {
        connected_ = false;
        stream_.close();
        if (attempt == 0 && method == "GET") continue;
        return Unavailable("request to " + host_ + ":" + port_ + " failed: " + ec.message());
      }
      if (!response.keep_alive()) {
        connected_ = false;
        stream_.close();
      }
      int status = response.result_int();
      if (status / 100 != 2) return StatusFromErrorBody(status, response.body());
      if (response.body().empty()) return Json::object();
      return ParseJsonObject(response.body());
    }
    return Unavailable("request to " + host_ + ":" + port_ + " failed");
  }

 private:
  std::string host_;
  std::string port_;
  std::string token_;
  asio::io_context io_;
  beast::tcp_stream stream_;
  bool connected_ = false;
};

}  // namespace

std::string ToQueryString(const Json& object) {
  std::string out;
  for (const auto& [key, value] : object.items()) {
    auto append = [&](const Json& item) {
      if (!out.empty()) out += '&';
      out += server::PercentEncode(key) + "=" + server::PercentEncode(ScalarText(item));
    };
    if (value.is_array()) {
      for (const Json& item : value) append(item);
    } else if (!value.is_null()) {
      append(value);
    }
  }
  return out;
}

Status StatusFromErrorBody(int http_status, const std::string& body) {
  std::string message = body;
  std::string code;
  Json parsed = Json::parse(body, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object()) {
    if (parsed.contains("message") && parsed["message"].is_string()) message = parsed["message"];
    if (parsed.contains("error_code") && parsed["error_code"].is_string()) code = parsed["error_code"];
  }
  StatusCode status_code = StatusCode::kInternal;
  switch (http_status) {
    case 400: status_code = StatusCode::kInvalidArgument; break;
    case 401: status_code = StatusCode::kUnauthenticated; break;
    case 403: status_code = StatusCode::kPermissionDenied; break;
    case 404: status_code = StatusCode::kNotFound; break;
    case 413: status_code = StatusCode::kResourceExhausted; break;
    case 503: status_code = StatusCode::kUnavailable; break;
    default: break;
  }
  if (code == "RESOURCE_ALREADY_EXISTS") status_code = StatusCode::kAlreadyExists;
  return Status(status_code, message).WithApiCode(code);
}

std::unique_ptr<ApiClient> MakeLocalClient(server::App& app) { return std::make_unique<LocalClient>(app); }

Result<std::unique_ptr<ApiClient>> MakeHttpClient(const std::string& url, const std::string& token) {
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
  } else if (rest.find("://") != std::string::npos) {
    return InvalidArgument("unsupported server URL '" + url + "': use http://host:port");
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  size_t colon = rest.rfind(':');
  std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
  std::string port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("invalid server URL '" + url + "': expected http://host:port");
  }
  return std::unique_ptr<ApiClient>(std::make_unique<HttpClient>(host, port, token));
}

}  // namespace kiln::cli
