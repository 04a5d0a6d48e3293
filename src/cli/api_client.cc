#include "cli/api_client.h"

#include <filesystem>
#include <fstream>
#include <limits>

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

  Status Download(const std::string& path, const Json& query, const std::string& output_file) override {
    server::HttpRequest request;
    request.method = "GET";
    request.path = path;
    request.role = server::Role::kAdmin;
    request.user = "cli";
    request.query = server::ParseQueryString(ToQueryString(query));
    server::HttpResponse response = app_.router().Dispatch(request);
    if (response.status / 100 != 2) return StatusFromErrorBody(response.status, response.body);
    std::error_code error;
    if (!response.file_path.empty()) {
      std::filesystem::copy_file(response.file_path, output_file,
                                 std::filesystem::copy_options::overwrite_existing, error);
      if (error) return Internal("cannot write '" + output_file + "': " + error.message());
      std::filesystem::permissions(output_file, std::filesystem::perms::owner_write,
                                   std::filesystem::perm_options::add, error);
      return Status::Ok();
    }
    std::ofstream out(output_file, std::ios::binary | std::ios::trunc);
    out << response.body;
    if (!out) return Internal("cannot write '" + output_file + "'");
    return Status::Ok();
  }

  bool is_local() const override { return true; }

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

  Status Download(const std::string& path, const Json& query, const std::string& output_file) override {
    // A fresh connection: the body streams to the file, whatever its size.
    asio::io_context io;
    beast::tcp_stream stream(io);
    beast::error_code ec;
    asio::ip::tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host_, port_, ec);
    if (!ec) stream.connect(endpoints, ec);
    if (ec) return Unavailable("cannot reach the Kiln server at " + host_ + ":" + port_ + ": " + ec.message());
    std::string target = path;
    std::string query_string = ToQueryString(query);
    if (!query_string.empty()) target += "?" + query_string;
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, host_ + ":" + port_);
    request.set(http::field::user_agent, "kiln-cli");
    if (!token_.empty()) request.set(http::field::authorization, "Bearer " + token_);
    http::write(stream, request, ec);
    if (ec) return Unavailable("request to " + host_ + ":" + port_ + " failed: " + ec.message());
    beast::flat_buffer buffer;
    http::response_parser<http::file_body> parser;
    // Not boost::none: Boost 1.74 compares a Content-Length against an empty
    // limit as "too large".
    parser.body_limit((std::numeric_limits<std::uint64_t>::max)());
    http::read_header(stream, buffer, parser, ec);
    if (ec) return Unavailable("request to " + host_ + ":" + port_ + " failed: " + ec.message());
    int status = parser.get().result_int();
    if (status / 100 != 2) {
      http::response_parser<http::string_body> error_parser(std::move(parser));
      http::read(stream, buffer, error_parser, ec);
      return StatusFromErrorBody(status, error_parser.get().body());
    }
    parser.get().body().open(output_file.c_str(), beast::file_mode::write, ec);
    if (ec) return Internal("cannot write '" + output_file + "': " + ec.message());
    http::read(stream, buffer, parser, ec);
    if (ec) return Unavailable("download from " + host_ + ":" + port_ + " failed: " + ec.message());
    return Status::Ok();
  }

  bool is_local() const override { return false; }

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
