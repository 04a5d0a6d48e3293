#pragma once
// The HTTP/1.1 server: keep-alive, many concurrent clients on a pool of I/O
// threads, buffered JSON bodies up to a limit (413 beyond it), bodies of
// streaming routes written to temporary files, and graceful shutdown: on
// Stop() (or SIGTERM/SIGINT) it stops accepting, lets in-flight requests
// finish and closes idle connections. Boost.Beast stays inside the .cc.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "server/http_types.h"
#include "server/router.h"

namespace kiln::server {

// Turns credentials into request.role / request.user. Thread-safe.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Sets request.role (kNone for anonymous). Errors: kUnauthenticated for a
  // token that is malformed or unknown.
  virtual Status Authenticate(HttpRequest& request) = 0;
};

// Grants every request `role`: used when authentication is off.
class AllowAllAuthenticator : public Authenticator {
 public:
  explicit AllowAllAuthenticator(Role role = Role::kAdmin) : role_(role) {}
  Status Authenticate(HttpRequest& request) override {
    request.role = role_;
    return Status::Ok();
  }

 private:
  Role role_;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 5000;  // 0 picks a free port; see HttpServer::port()
  uint64_t max_body_bytes = 32ull << 20;
  uint64_t max_stream_bytes = 1ull << 40;
  std::string temp_dir = "/tmp";  // where streamed bodies land
  int threads = 0;                // 0: 4 per core, at least 8
  std::chrono::seconds idle_timeout{300};
  bool handle_signals = true;     // SIGTERM/SIGINT trigger Stop()
  bool listen_tcp = true;         // false: only the Unix socket
  // Also (or only) listen on this Unix socket path; a stale socket file is
  // replaced, the file is made owner-only and removed on Stop(). Requests
  // on it are granted `unix_socket_role` without credentials: whoever can
  // open the file (this user, and the run sandboxes it is bound into) is
  // trusted, as with a local database socket.
  std::string unix_socket;
  Role unix_socket_role = Role::kWriter;
};

class HttpServer {
 public:
  HttpServer(const Router& router, Authenticator& authenticator, HttpServerOptions options);
  ~HttpServer();

  // Binds, listens and starts the I/O threads. Errors: kUnavailable when the
  // address cannot be bound.
  Status Start();
  int port() const;
  // Blocks until the server has stopped and every connection is closed.
  void Wait();
  // Graceful stop; safe from any thread, idempotent.
  void Stop();

 // The Beast-based implementation; public only so its sessions can name it.
  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::server
