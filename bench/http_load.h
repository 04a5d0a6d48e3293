#pragma once
// A closed-loop HTTP load generator: N client threads, each with one
// keep-alive connection (Boost.Beast, synchronous), issuing operations until a
// request count or a deadline is reached, recording every request's latency.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "latency.h"

namespace kiln_bench {

struct HttpResponse {
  int status = 0;          // HTTP status; 0 when the request failed on the wire
  std::string body;        // response body, or the transport error text
};

// One keep-alive connection to host:port. Not thread-safe: one per thread.
class HttpClient {
 public:
  HttpClient(std::string host, std::string port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request (JSON body for POST), reconnecting once if the server
  // closed the idle connection. Records the latency (send to last body byte).
  HttpResponse Post(const std::string& target, const std::string& json_body);
  HttpResponse Get(const std::string& target);

  std::vector<double>& latencies_ms() { return latencies_ms_; }

 private:
  HttpResponse Send(bool post, const std::string& target, const std::string& body);
  struct Connection;
  std::string host_;
  std::string port_;
  Connection* connection_ = nullptr;
  std::vector<double> latencies_ms_;
};

struct LoadOptions {
  std::string host = "127.0.0.1";
  std::string port;
  int clients = 1;
  int64_t max_operations = 1000;  // bound by count ...
  double max_seconds = 30;        // ... and by time, whichever comes first
};

// One operation (one or more requests) by client `client`; `index` is the
// operation's global number (0, 1, ...). Returns "" on success, else an error
// text (with the failing request and response) that stops the whole load.
using Operation = std::function<std::string(int client, int64_t index, HttpClient& http)>;

struct LoadResult {
  int64_t operations = 0;
  double seconds = 0;                 // wall time of the whole load
  std::vector<double> request_ms;     // every request's latency
  std::vector<double> operation_ms;   // every operation's latency (incl. client-side parsing)
  std::string error;                  // first error, empty when all succeeded
};

LoadResult RunLoad(const LoadOptions& options, const Operation& operation);

// "<what>: HTTP <status>: <first 600 bytes of the body>" for error reports.
std::string DescribeFailure(const std::string& what, const HttpResponse& response);

}  // namespace kiln_bench
