#pragma once
// Test helpers for the online-store suites (only *_test.cc files include
// this): a temporary directory, a Redis server for tests, and records of N
// float64 features. Header-only so it stays out of the kiln_features library.

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "features/online_store.h"

namespace kiln::features::testing_support {

inline std::string UniqueSuffix() {
  static std::atomic<int> counter{0};
  return std::to_string(getpid()) + "_" + std::to_string(counter++);
}

// A directory removed with its contents by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kiln-online-XXXXXX").string();
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A loopback TCP port nothing listens on right now.
inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

// The Redis the tests use: $KILN_TEST_REDIS_URI when set (scripts/with-redis),
// else a redis-server this process starts once on a free loopback port, with
// no persistence, stopped at exit (and killed with this process).
class RedisForTests {
 public:
  static constexpr const char* kServer = "/usr/bin/redis-server";

  // "" with *why set when no Redis can be had.
  static std::string Uri(std::string* why) {
    const char* configured = std::getenv("KILN_TEST_REDIS_URI");
    if (configured != nullptr && *configured != '\0') return configured;
    static RedisForTests instance;
    if (instance.uri_.empty()) *why = instance.why_;
    return instance.uri_;
  }

  // host and port of a redis://host:port URI (tests only use this form).
  static bool HostPort(const std::string& uri, std::string* host, int* port) {
    std::string rest = uri.substr(uri.find("://") + 3);
    if (size_t slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
    if (size_t at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos) return false;
    *host = rest.substr(0, colon);
    *port = std::atoi(rest.c_str() + colon + 1);
    return true;
  }

 private:
  RedisForTests() {
    if (access(kServer, X_OK) != 0) {
      why_ = std::string(kServer) + " is not installed (apt-get install redis-server)";
      return;
    }
    for (int attempt = 0; attempt < 3 && uri_.empty(); ++attempt) Start();
  }
  ~RedisForTests() { Stop(); }

  void Start() {
    dir_ = std::make_unique<TempDir>();
    int port = FreeLoopbackPort();
    std::string port_text = std::to_string(port);
    std::string log = dir_->path() + "/redis.log";
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      execl(kServer, "redis-server", "--port", port_text.c_str(), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", dir_->path().c_str(), "--logfile", log.c_str(), "--daemonize",
            "no", static_cast<char*>(nullptr));
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: port taken?
        pid_ = -1;
        why_ = "redis-server exited at start (see its log " + log + ")";
        return;
      }
      timeval timeout{1, 0};
      redisContext* context = redisConnectWithTimeout("127.0.0.1", port, timeout);
      bool up = false;
      if (context != nullptr && context->err == 0) {
        auto* reply = static_cast<redisReply*>(redisCommand(context, "PING"));
        up = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
        if (reply != nullptr) freeReplyObject(reply);
      }
      if (context != nullptr) redisFree(context);
      if (up) {
        uri_ = "redis://127.0.0.1:" + port_text;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    why_ = "redis-server did not answer within 10 s";
    Stop();
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  pid_t pid_ = -1;
  std::unique_ptr<TempDir> dir_;
  std::string uri_;
  std::string why_;
};

// CPU time of the calling thread, for rates that hold on a busy machine.
inline int64_t ThreadCpuNanos() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec * 1'000'000'000LL + now.tv_nsec;
}

// A record of `count` float64 features: values base, base + 1, ….
inline OnlineRecord FloatRecord(int64_t event_micros, size_t count, double base) {
  OnlineRecord record;
  record.event_micros = event_micros;
  record.written_micros = event_micros + 1;
  for (size_t i = 0; i < count; ++i) record.values.push_back(data::Value::Float(base + i));
  return record;
}

inline std::string Int64Key(int64_t id) {
  data::Value value = data::Value::Int(id);
  return EncodeEntityKey(std::span<const data::Value>(&value, 1));
}

}  // namespace kiln::features::testing_support
