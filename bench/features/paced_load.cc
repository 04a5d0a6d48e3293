#include "paced_load.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>

namespace kiln_bench {

namespace {

int64_t NowNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

struct Connection {
  int fd = -1;
  bool busy = false;
  bool want_write = false;
  const std::string* request = nullptr;
  size_t written = 0;
  std::string in;
  int64_t due_nanos = 0;
  int64_t sent_nanos = 0;
  bool measured = false;
};

// The answer at the start of `in`: its total length and status, or 0 while
// incomplete; -1 when it cannot be parsed (no Content-Length).
struct Parsed {
  int64_t length = 0;
  int status = 0;
  bool close = false;
};
Parsed ParseAnswer(const std::string& in) {
  Parsed parsed;
  const size_t header_end = in.find("\r\n\r\n");
  if (header_end == std::string::npos) return parsed;
  if (in.size() < 12 || in.compare(0, 5, "HTTP/") != 0) {
    parsed.length = -1;
    return parsed;
  }
  parsed.status = std::atoi(in.c_str() + 9);
  int64_t content_length = -1;
  size_t line = in.find("\r\n") + 2;
  while (line < header_end) {
    size_t end = in.find("\r\n", line);
    size_t colon = in.find(':', line);
    if (colon != std::string::npos && colon < end) {
      std::string name = in.substr(line, colon - line);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      size_t value = colon + 1;
      while (value < end && in[value] == ' ') ++value;
      if (name == "content-length") {
        content_length = std::atoll(in.c_str() + value);
      } else if (name == "connection") {
        std::string text = in.substr(value, end - value);
        std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
        parsed.close = text == "close";
      }
    }
    line = end + 2;
  }
  if (content_length < 0) {
    parsed.length = -1;
    return parsed;
  }
  const int64_t total = static_cast<int64_t>(header_end) + 4 + content_length;
  if (static_cast<int64_t>(in.size()) >= total) parsed.length = total;
  return parsed;
}

class Generator {
 public:
  explicit Generator(const PacedLoadOptions& options) : options_(options), random_(options.seed | 1) {
    for (const std::string& body : options.bodies) {
      std::string request = options.method + " " + options.target + " HTTP/1.1\r\nHost: " + options.host +
                            "\r\nUser-Agent: kiln_bench_features_http\r\n";
      if (options.method != "GET") {
        request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
      }
      request += "\r\n" + body;
      requests_.push_back(std::move(request));
    }
  }

  ~Generator() {
    for (Connection& connection : connections_) {
      if (connection.fd >= 0) close(connection.fd);
    }
    if (timer_ >= 0) close(timer_);
    if (epoll_ >= 0) close(epoll_);
  }

  PacedLoadResult Run() {
    epoll_ = epoll_create1(0);
    timer_ = timerfd_create(CLOCK_MONOTONIC, 0);
    if (epoll_ < 0 || timer_ < 0) return Fail("epoll/timerfd: " + std::string(std::strerror(errno)));
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kTimerTag;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, timer_, &event);
    connections_.resize(static_cast<size_t>(std::max(1, options_.connections)));
    for (size_t i = 0; i < connections_.size(); ++i) {
      if (!Connect(i)) return std::move(result_);
      idle_.push_back(i);
    }
    const bool open_loop = options_.rate > 0;
    start_ = NowNanos() + 10'000'000;
    measure_begin_ = start_ + static_cast<int64_t>(options_.warmup_seconds * 1e9);
    end_ = measure_begin_ + static_cast<int64_t>(options_.seconds * 1e9);
    total_due_ = open_loop ? static_cast<int64_t>((options_.warmup_seconds + options_.seconds) * options_.rate) : 0;
    const int64_t give_up = end_ + 10'000'000'000;  // answers still missing 10 s after the end

    if (!open_loop) {
      while (NowNanos() < start_) {
      }
      while (!idle_.empty()) {
        size_t index = idle_.back();
        idle_.pop_back();
        Send(index, NowNanos());
      }
    }
    epoll_event events[64];
    while (result_.first_error.empty()) {
      int64_t now = NowNanos();
      if (open_loop) {
        while (next_ < total_due_ && Due(next_) <= now) {
          const int64_t due = Due(next_++);
          if (!idle_.empty()) {
            size_t index = idle_.back();
            idle_.pop_back();
            Send(index, due);
          } else {
            queue_.push_back(due);
            result_.max_queued = std::max<int64_t>(result_.max_queued, static_cast<int64_t>(queue_.size()));
          }
        }
        if (next_ < total_due_) ArmTimer(Due(next_));
      }
      if (in_flight_ == 0 && queue_.empty() && (open_loop ? next_ >= total_due_ : now >= end_)) break;
      if (now > give_up) {
        result_.first_error = std::to_string(in_flight_) + " answers still missing 10 s after the load ended";
        break;
      }
      int ready = epoll_wait(epoll_, events, 64, 100);
      if (ready < 0 && errno != EINTR) return Fail("epoll_wait: " + std::string(std::strerror(errno)));
      for (int e = 0; e < ready; ++e) {
        if (events[e].data.u64 == kTimerTag) {
          uint64_t expirations;
          [[maybe_unused]] ssize_t ignored = read(timer_, &expirations, sizeof expirations);
          continue;
        }
        const size_t index = static_cast<size_t>(events[e].data.u64);
        if (events[e].events & EPOLLOUT) Flush(index);
        if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) Receive(index, open_loop);
        if (!result_.first_error.empty()) break;
      }
    }
    result_.seconds = static_cast<double>(std::max(last_answer_, end_) - measure_begin_) / 1e9;
    if (open_loop) result_.seconds = options_.seconds;
    return std::move(result_);
  }

 private:
  static constexpr uint64_t kTimerTag = ~uint64_t{0};

  int64_t Due(int64_t index) const { return start_ + static_cast<int64_t>(static_cast<double>(index) * 1e9 / options_.rate); }

  PacedLoadResult Fail(const std::string& error) {
    if (result_.first_error.empty()) result_.first_error = error;
    return std::move(result_);
  }

  void ArmTimer(int64_t at) {
    itimerspec spec{};
    spec.it_value.tv_sec = at / 1'000'000'000;
    spec.it_value.tv_nsec = at % 1'000'000'000;
    timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  bool Connect(size_t index) {
    Connection& connection = connections_[index];
    if (connection.fd >= 0) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, connection.fd, nullptr);
      close(connection.fd);
    }
    connection = Connection();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(options_.port));
    if (fd < 0 || inet_pton(AF_INET, options_.host.c_str(), &address.sin_addr) != 1 ||
        connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      if (fd >= 0) close(fd);
      Fail("connect " + options_.host + ":" + std::to_string(options_.port) + ": " + std::strerror(errno));
      return false;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    connection.fd = fd;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = index;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
    return true;
  }

  uint64_t NextRandom() {
    random_ ^= random_ << 13;
    random_ ^= random_ >> 7;
    random_ ^= random_ << 17;
    return random_;
  }

  void Send(size_t index, int64_t due) {
    Connection& connection = connections_[index];
    connection.busy = true;
    connection.request = &requests_[NextRandom() % requests_.size()];
    connection.written = 0;
    connection.due_nanos = due;
    connection.sent_nanos = NowNanos();
    connection.measured = due >= measure_begin_ && due < end_;
    if (connection.measured && connection.sent_nanos - due >= 1'000'000) ++result_.late_sends;
    ++in_flight_;
    Flush(index);
  }

  void Flush(size_t index) {
    Connection& connection = connections_[index];
    if (connection.request == nullptr) return;
    while (connection.written < connection.request->size()) {
      ssize_t n = write(connection.fd, connection.request->data() + connection.written,
                        connection.request->size() - connection.written);
      if (n > 0) {
        connection.written += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        SetWantWrite(index, true);
        return;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        Fail("write: " + std::string(std::strerror(errno)));
        return;
      }
    }
    if (connection.want_write) SetWantWrite(index, false);
  }

  void SetWantWrite(size_t index, bool want) {
    Connection& connection = connections_[index];
    connection.want_write = want;
    epoll_event event{};
    event.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    event.data.u64 = index;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, connection.fd, &event);
  }

  void Receive(size_t index, bool open_loop) {
    Connection& connection = connections_[index];
    char buffer[16384];
    for (;;) {
      ssize_t n = read(connection.fd, buffer, sizeof buffer);
      if (n > 0) {
        connection.in.append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n == 0 && !connection.busy) {  // an idle keep-alive connection timed out
        Connect(index);
        return;
      }
      Fail(n == 0 ? "the server closed a connection with a request in flight"
                  : "read: " + std::string(std::strerror(errno)));
      return;
    }
    if (!connection.busy) return;
    Parsed parsed = ParseAnswer(connection.in);
    if (parsed.length < 0) {
      Fail("cannot parse the answer (no Content-Length?): " + connection.in.substr(0, 300));
      return;
    }
    if (parsed.length == 0) return;
    const int64_t now = NowNanos();
    last_answer_ = now;
    if (connection.measured) {
      ++result_.completed;
      result_.latency_ms.push_back(static_cast<double>(now - (open_loop ? connection.due_nanos : connection.sent_nanos)) / 1e6);
      result_.service_ms.push_back(static_cast<double>(now - connection.sent_nanos) / 1e6);
      if (parsed.status < 200 || parsed.status > 299) {
        if (result_.non_2xx++ == 0) {
          result_.first_error = "HTTP " + std::to_string(parsed.status) + ": " +
                                connection.in.substr(0, std::min<size_t>(static_cast<size_t>(parsed.length), 600));
        }
      }
    }
    connection.in.erase(0, static_cast<size_t>(parsed.length));
    connection.busy = false;
    connection.request = nullptr;
    --in_flight_;
    if (parsed.close && !Connect(index)) return;
    if (open_loop) {
      if (!queue_.empty()) {
        const int64_t due = queue_.front();
        queue_.pop_front();
        Send(index, due);
      } else {
        idle_.push_back(index);
      }
    } else if (now < end_) {
      Send(index, now);
    }
  }

  const PacedLoadOptions& options_;
  uint64_t random_;
  std::vector<std::string> requests_;
  std::vector<Connection> connections_;
  std::vector<size_t> idle_;
  std::deque<int64_t> queue_;
  int epoll_ = -1;
  int timer_ = -1;
  int64_t start_ = 0, measure_begin_ = 0, end_ = 0, last_answer_ = 0;
  int64_t next_ = 0, total_due_ = 0, in_flight_ = 0;
  PacedLoadResult result_;
};

}  // namespace

PacedLoadResult RunPacedLoad(const PacedLoadOptions& options) { return Generator(options).Run(); }

}  // namespace kiln_bench
