#pragma once
// An HTTP/1.1 load generator on one thread (epoll, non-blocking sockets,
// keep-alive connections, no pipelining) in two modes:
//
// - open loop (rate > 0): request i is due at start + i / rate whatever the
//   server does. It goes out on an idle connection; when none is idle it
//   waits in a queue. Its latency runs from its DUE time to the last byte
//   of the answer, so a slow server is charged for the requests it held
//   back (no coordinated omission). `service_ms` runs from the actual send.
// - closed loop (rate == 0): every connection sends its next request as
//   soon as the previous answer arrived; measures the maximum rate.
//
// Answers must carry Content-Length (Kiln's server always does). Not
// thread-safe; one RunPacedLoad at a time per thread.

#include <cstdint>
#include <string>
#include <vector>

namespace kiln_bench {

struct PacedLoadOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string method = "POST";
  std::string target = "/api/features/online";
  // Request bodies; request i uses bodies[pick(i)], picked by a seeded
  // generator. One empty body for a GET.
  std::vector<std::string> bodies = {""};
  double rate = 0;            // requests/s; 0 = closed loop
  int connections = 32;
  double seconds = 10;        // measured period
  double warmup_seconds = 1;  // sent first, not recorded
  uint64_t seed = 1;
};

struct PacedLoadResult {
  int64_t completed = 0;       // measured answers
  int64_t non_2xx = 0;         // measured answers with a status outside 200..299
  std::string first_error;     // transport error or first non-2xx answer (status + body start)
  double seconds = 0;          // measured period, first due time to last answer
  std::vector<double> latency_ms;  // due (open loop) or send (closed) → answer
  std::vector<double> service_ms;  // send → answer
  int64_t max_queued = 0;      // open loop: most requests waiting for a connection
  int64_t late_sends = 0;      // open loop: requests sent ≥ 1 ms after their due time
};

PacedLoadResult RunPacedLoad(const PacedLoadOptions& options);

}  // namespace kiln_bench
