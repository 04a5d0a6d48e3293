#include "server/http_server.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "server/api_error.h"
#include "server/url.h"

namespace kiln::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;

// What the server keeps of a connection, whatever its transport.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void CloseIfIdle() = 0;
};

class HttpServer::Impl {
 public:
  Impl(const Router& router, Authenticator& authenticator, HttpServerOptions options)
      : router_(router), authenticator_(authenticator), options_(std::move(options)),
        acceptor_(io_), unix_acceptor_(io_), signals_(io_) {}

  Status Start();
  Status ListenTcp();
  Status ListenUnix();
  void Accept();
  void AcceptUnix();
  void Stop();
  void Wait() {
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  void Track(const std::shared_ptr<SessionBase>& session);

  const Router& router_;
  Authenticator& authenticator_;
  HttpServerOptions options_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  unix_socket::acceptor unix_acceptor_;
  asio::signal_set signals_;
  std::vector<std::thread> threads_;
  std::atomic<bool> draining_{false};
  std::atomic<int> bound_port_{0};
  std::mutex sessions_mutex_;
  std::list<std::weak_ptr<SessionBase>> sessions_;
  IdGenerator ids_;
};

// One connection: reads a request, dispatches it, writes the response, and
// loops while keep-alive holds. All its handlers run on its strand.
// `Protocol` is TCP or a Unix stream socket; requests on the Unix socket are
// granted HttpServerOptions::unix_socket_role without credentials.
template <class Protocol>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Protocol>> {
 public:
  Session(typename Protocol::socket socket, HttpServer::Impl* server, std::optional<Role> role)
      : stream_(std::move(socket)), server_(server), socket_role_(role) {}
  using std::enable_shared_from_this<Session<Protocol>>::shared_from_this;

  void Begin() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Called on drain: closes the connection if it is between requests.
  void CloseIfIdle() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(asio::socket_base::shutdown_both, ignored);
        self->stream_.socket().close(ignored);
      }
    });
  }

 private:
  void ReadHeader() {
    if (server_->draining_) return Close();
    header_parser_.emplace();
    header_parser_->header_limit(64 * 1024);
    header_parser_->body_limit(std::numeric_limits<uint64_t>::max());
    request_ = HttpRequest();
    route_ = nullptr;
    idle_ = true;
    stream_.expires_after(server_->options_.idle_timeout);
    http::async_read_header(stream_, buffer_, *header_parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    idle_ = false;
    if (ec) {
      if (ec == http::error::header_limit) {
        return Respond(ErrorResponse(InvalidArgument("request header exceeds 64 KiB")), false);
      }
      if (ec != http::error::end_of_stream && ec != asio::error::operation_aborted &&
          ec != beast::error::timeout && ec != asio::error::eof && ec != asio::error::connection_reset) {
        // A malformed request line or header: answer 400 and close.
        return Respond(ErrorResponse(InvalidArgument("malformed HTTP request: " + ec.message())), false);
      }
      return Close();
    }
    auto& header = header_parser_->get();
    request_.method = std::string(header.method_string());
    std::string_view target(header.target().data(), header.target().size());
    size_t question = target.find('?');
    request_.path = PercentDecode(target.substr(0, question), /*plus_is_space=*/false);
    if (question != std::string_view::npos) request_.query = ParseQueryString(target.substr(question + 1));
    for (const auto& field : header) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request_.headers[name] = std::string(field.value());
    }
    keep_alive_ = header.keep_alive();

    bool method_mismatch = false;
    route_ = server_->router_.Match(request_, &method_mismatch);
    method_mismatch_ = method_mismatch;
    if (socket_role_) {
      request_.role = *socket_role_;
      request_.user = "unix-socket";
      auth_status_ = Status::Ok();
    } else {
      auth_status_ = server_->authenticator_.Authenticate(request_);
    }
    if (auth_status_.ok() && route_ != nullptr) auth_status_ = Router::Authorize(*route_, request_);

    auto length = header_parser_->content_length();
    if (route_ != nullptr && route_->stream_body) {
      // Refuse before accepting a possibly huge upload.
      if (!auth_status_.ok()) return Respond(ErrorResponse(auth_status_), false);
      if (length && *length > server_->options_.max_stream_bytes) return RespondTooLarge(*length);
      request_.body_file = (std::filesystem::path(server_->options_.temp_dir) /
                            ("upload-" + server_->ids_.NewId() + ".part")).string();
      file_parser_.emplace(std::move(*header_parser_));
      file_parser_->body_limit(server_->options_.max_stream_bytes);
      beast::error_code open_error;
      file_parser_->get().body().open(request_.body_file.c_str(), beast::file_mode::write, open_error);
      if (open_error) {
        return Respond(ErrorResponse(Internal("cannot create upload file: " + open_error.message())), false);
      }
      SendContinueIfExpected([self = shared_from_this()] {
        http::async_read(self->stream_, self->buffer_, *self->file_parser_,
                         [self](beast::error_code ec, size_t) { self->OnBody(ec); });
      });
      return;
    }
    if (length && *length > server_->options_.max_body_bytes) return RespondTooLarge(*length);
    string_parser_.emplace(std::move(*header_parser_));
    string_parser_->body_limit(server_->options_.max_body_bytes);
    SendContinueIfExpected([self = shared_from_this()] {
      http::async_read(self->stream_, self->buffer_, *self->string_parser_,
                       [self](beast::error_code ec, size_t) { self->OnBody(ec); });
    });
  }

  template <typename Next>
  void SendContinueIfExpected(Next next) {
    const std::string* expect = request_.Header("expect");
    if (expect == nullptr || !beast::iequals(*expect, "100-continue")) return next();
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(kContinue),
                      [self = shared_from_this(), next](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        next();
                      });
  }

  void RespondTooLarge(uint64_t length) {
    uint64_t limit = route_ != nullptr && route_->stream_body ? server_->options_.max_stream_bytes
                                                              : server_->options_.max_body_bytes;
    Respond(ErrorResponse(ResourceExhausted("request body of " + std::to_string(length) +
                                            " bytes exceeds the limit of " + std::to_string(limit) +
                                            " bytes")),
            false);
  }

  void OnBody(beast::error_code ec) {
    stream_.expires_never();
    if (ec == http::error::body_limit) {
      RemoveBodyFile();
      return RespondTooLarge(file_parser_ ? server_->options_.max_stream_bytes + 1
                                          : server_->options_.max_body_bytes + 1);
    }
    if (ec) {
      RemoveBodyFile();
      return Close();
    }
    if (file_parser_) {
      file_parser_->get().body().close();
      file_parser_.reset();
    } else {
      request_.body = std::move(string_parser_->get().body());
      string_parser_.reset();
    }
    HttpResponse response;
    if (route_ == nullptr) {
      response = Router::NoRouteResponse(request_, method_mismatch_);
    } else if (!auth_status_.ok()) {
      response = ErrorResponse(auth_status_);
    } else {
      response = Router::Invoke(*route_, request_);
    }
    RemoveBodyFile();
    Respond(std::move(response), keep_alive_);
  }

  void Respond(HttpResponse response, bool keep_alive) {
    keep_alive = keep_alive && !server_->draining_;
    bool head = request_.method == "HEAD";
    if (!response.file_path.empty()) {
      auto message = std::make_shared<http::response<http::file_body>>();
      beast::error_code error;
      message->body().open(response.file_path.c_str(), beast::file_mode::scan, error);
      if (error) {
        return Respond(ErrorResponse(Internal("cannot read '" + response.file_path + "': " + error.message())),
                       keep_alive);
      }
      Fill(*message, response, keep_alive);
      message->prepare_payload();
      return Write(message, keep_alive);
    }
    auto message = std::make_shared<http::response<http::string_body>>();
    Fill(*message, response, keep_alive);
    if (!head) message->body() = std::move(response.body);
    message->prepare_payload();
    Write(message, keep_alive);
  }

  template <typename Message>
  void Fill(Message& message, const HttpResponse& response, bool keep_alive) {
    message.version(11);
    message.result(static_cast<http::status>(response.status));
    message.set(http::field::server, "kiln");
    message.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message.set(name, value);
    message.keep_alive(keep_alive);
  }

  template <typename Message>
  void Write(std::shared_ptr<Message> message, bool keep_alive) {
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message, keep_alive](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        if (!keep_alive) return self->Linger();
                        self->ReadHeader();
                      });
  }

  void RemoveBodyFile() {
    if (file_parser_) {
      beast::error_code ignored;
      file_parser_->get().body().close();
      file_parser_.reset();
    }
    if (!request_.body_file.empty()) {
      std::error_code ignored;
      std::filesystem::remove(request_.body_file, ignored);
      request_.body_file.clear();
    }
  }

  // After answering without reading the whole request (413, 401 on an
  // upload): stop sending, then read and discard what the client is still
  // sending for a moment, so it sees the answer instead of a reset.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(asio::socket_base::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    drain_budget_ = 64ull << 20;
    DrainSome();
  }

  void DrainSome() {
    auto scratch = std::make_shared<std::array<char, 65536>>();
    stream_.async_read_some(asio::buffer(*scratch),
                            [self = shared_from_this(), scratch](beast::error_code ec, size_t read) {
                              if (ec || read >= self->drain_budget_) return self->Close();
                              self->drain_budget_ -= read;
                              self->DrainSome();
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(asio::socket_base::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::basic_stream<Protocol> stream_;
  HttpServer::Impl* server_;
  std::optional<Role> socket_role_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> string_parser_;
  std::optional<http::request_parser<http::file_body>> file_parser_;
  HttpRequest request_;
  const Route* route_ = nullptr;
  bool method_mismatch_ = false;
  Status auth_status_;
  bool keep_alive_ = true;
  bool idle_ = false;
  uint64_t drain_budget_ = 0;
};

Status HttpServer::Impl::ListenTcp() {
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return InvalidArgument("invalid --host '" + options_.host + "': " + ec.message());
  tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " +
                       ec.message());
  }
  bound_port_ = acceptor_.local_endpoint().port();
  return Status::Ok();
}

Status HttpServer::Impl::ListenUnix() {
  const std::string& path = options_.unix_socket;
  std::error_code fs_error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), fs_error);
  // A socket file left by a process that died is in the way; anything else
  // at that path is not ours to remove.
  if (std::filesystem::is_socket(std::filesystem::symlink_status(path, fs_error))) {
    std::filesystem::remove(path, fs_error);
  }
  beast::error_code ec;
  unix_socket::endpoint endpoint(path);
  unix_acceptor_.open(endpoint.protocol(), ec);
  if (!ec) unix_acceptor_.bind(endpoint, ec);
  if (!ec) unix_acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable("cannot listen on Unix socket " + path + ": " + ec.message());
  // Only this user (and the sandboxes it binds the socket into) may connect.
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               fs_error);
  return Status::Ok();
}

Status HttpServer::Impl::Start() {
  if (!options_.listen_tcp && options_.unix_socket.empty()) {
    return InvalidArgument("the server needs a TCP port or a Unix socket to listen on");
  }
  if (options_.listen_tcp) KILN_RETURN_IF_ERROR(ListenTcp());
  if (!options_.unix_socket.empty()) KILN_RETURN_IF_ERROR(ListenUnix());
  std::error_code fs_error;
  std::filesystem::create_directories(options_.temp_dir, fs_error);
  if (options_.handle_signals) {
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.async_wait([this](beast::error_code ec, int) {
      if (!ec) Stop();
    });
  }
  if (options_.listen_tcp) Accept();
  if (!options_.unix_socket.empty()) AcceptUnix();
  int threads = options_.threads;
  if (threads <= 0) threads = std::max(8, 4 * static_cast<int>(std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
  return Status::Ok();
}

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      return Accept();
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto session = std::make_shared<Session<tcp>>(std::move(socket), this, std::nullopt);
    Track(session);
    session->Begin();
    Accept();
  });
}

void HttpServer::Impl::AcceptUnix() {
  unix_acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, unix_socket::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !unix_acceptor_.is_open()) return;
      return AcceptUnix();
    }
    auto session = std::make_shared<Session<unix_socket>>(std::move(socket), this, options_.unix_socket_role);
    Track(session);
    session->Begin();
    AcceptUnix();
  });
}

void HttpServer::Impl::Track(const std::shared_ptr<SessionBase>& session) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.remove_if([](const std::weak_ptr<SessionBase>& s) { return s.expired(); });
  sessions_.push_back(session);
}

void HttpServer::Impl::Stop() {
  if (draining_.exchange(true)) return;
  asio::post(io_, [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    if (unix_acceptor_.is_open()) {
      unix_acceptor_.close(ignored);
      std::error_code fs_error;
      std::filesystem::remove(options_.unix_socket, fs_error);
    }
    signals_.cancel(ignored);
    std::lock_guard lock(sessions_mutex_);
    for (auto& weak : sessions_) {
      if (auto session = weak.lock()) session->CloseIfIdle();
    }
  });
}

HttpServer::HttpServer(const Router& router, Authenticator& authenticator, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(router, authenticator, std::move(options))) {}

HttpServer::~HttpServer() {
  Stop();
  Wait();
}

Status HttpServer::Start() { return impl_->Start(); }
int HttpServer::port() const { return impl_->bound_port_; }
void HttpServer::Wait() { impl_->Wait(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace kiln::server
