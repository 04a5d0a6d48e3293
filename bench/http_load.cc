#include "http_load.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace kiln_bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

struct HttpClient::Connection {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool open = false;
};

HttpClient::HttpClient(std::string host, std::string port)
    : host_(std::move(host)), port_(std::move(port)), connection_(new Connection) {}

HttpClient::~HttpClient() {
  beast::error_code ignored;
  connection_->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  delete connection_;
}

HttpResponse HttpClient::Post(const std::string& target, const std::string& json_body) {
  return Send(true, target, json_body);
}

HttpResponse HttpClient::Get(const std::string& target) { return Send(false, target, ""); }

HttpResponse HttpClient::Send(bool post, const std::string& target, const std::string& body) {
  http::request<http::string_body> request{post ? http::verb::post : http::verb::get, target, 11};
  request.set(http::field::host, host_);
  request.keep_alive(true);
  if (post) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();

  for (int attempt = 0; attempt < 2; ++attempt) {
    beast::error_code error;
    if (!connection_->open) {
      asio::ip::tcp::resolver resolver(connection_->io);
      auto endpoints = resolver.resolve(host_, port_, error);
      if (!error) connection_->stream.connect(endpoints, error);
      if (error) return {0, "connect " + host_ + ":" + port_ + ": " + error.message()};
      connection_->stream.socket().set_option(asio::ip::tcp::no_delay(true), error);
      connection_->buffer.clear();
      connection_->open = true;
    }
    auto start = Clock::now();
    http::write(connection_->stream, request, error);
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    if (!error) http::read(connection_->stream, connection_->buffer, parser, error);
    if (error) {
      // A kept-alive connection the server closed: reconnect once.
      connection_->stream.socket().close(error);
      connection_->open = false;
      if (attempt == 0) continue;
      return {0, "request " + target + ": " + error.message()};
    }
    latencies_ms_.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    http::response<http::string_body> response = parser.release();
    if (!response.keep_alive()) {
      connection_->stream.socket().close(error);
      connection_->open = false;
    }
    return {static_cast<int>(response.result_int()), std::move(response.body())};
  }
  return {0, "unreachable"};
}

LoadResult RunLoad(const LoadOptions& options, const Operation& operation) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  LoadResult result;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.max_seconds));

  auto client_loop = [&](int client) {
    HttpClient http(options.host, options.port);
    std::vector<double> operation_ms;
    std::string error;
    while (!stop.load(std::memory_order_relaxed) && Clock::now() < deadline) {
      int64_t index = next.fetch_add(1);
      if (index >= options.max_operations) break;
      auto began = Clock::now();
      error = operation(client, index, http);
      if (!error.empty()) {
        stop = true;
        break;
      }
      operation_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - began).count());
    }
    std::lock_guard lock(mutex);
    result.operations += static_cast<int64_t>(operation_ms.size());
    result.request_ms.insert(result.request_ms.end(), http.latencies_ms().begin(), http.latencies_ms().end());
    result.operation_ms.insert(result.operation_ms.end(), operation_ms.begin(), operation_ms.end());
    if (!error.empty() && result.error.empty()) result.error = error;
  };

  std::vector<std::thread> threads;
  for (int client = 0; client < options.clients; ++client) threads.emplace_back(client_loop, client);
  for (auto& thread : threads) thread.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

std::string DescribeFailure(const std::string& what, const HttpResponse& response) {
  return what + ": HTTP " + std::to_string(response.status) + ": " + response.body.substr(0, 600);
}

}  // namespace kiln_bench
