#include "features/redis_online_store.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <charconv>

namespace kiln::features {
namespace {

// KEYS[i] / ARGV[i]: a record key and its encoded record (format_version 1:
// byte 1 is the version, bytes 2..9 the event_micros in an order-preserving
// big-endian form, so comparing them byte by byte compares the times).
// Writes each record unless the stored one is newer; returns how many it wrote.
constexpr std::string_view kWriteScript = R"lua(
local written = 0
for i = 1, #KEYS do
  local new = ARGV[i]
  local old = redis.call('GET', KEYS[i])
  local keep_old = false
  if old and #old >= 17 and string.byte(old, 1) == 1 then
    for j = 2, 9 do
      local a, b = string.byte(old, j), string.byte(new, j)
      if a ~= b then
        keep_old = a > b
        break
      end
    end
  end
  if not keep_old then
    redis.call('SET', KEYS[i], new)
    written = written + 1
  end
end
return written
)lua";

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval Milliseconds(int ms) {
  timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

std::string HostPort(const RedisEndpoint& endpoint) {
  bool ipv6 = endpoint.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

// The one place a hiredis failure becomes a Status: a lost connection
// (reply == nullptr), an error reply, or a reply of an unexpected type.
Status CheckReply(const RedisEndpoint& endpoint, const redisContext* context, const redisReply* reply,
                  std::string_view action, int expected_type) {
  if (reply == nullptr) {
    std::string reason = context->err != 0 ? context->errstr : "no reply";
    if (reason.empty()) reason = "connection lost";
    return Unavailable("cannot reach Redis at " + HostPort(endpoint) + ": " + reason);
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    std::string_view text(reply->str, reply->len);
    std::string message =
        "Redis at " + HostPort(endpoint) + " refused " + std::string(action) + ": " + std::string(text);
    if (text.starts_with("NOAUTH") || text.starts_with("WRONGPASS")) {
      return Unauthenticated(message + " (put the password in the URI: redis://:password@host:port)");
    }
    if (text.starts_with("NOPERM")) return PermissionDenied(std::move(message));
    if (text.starts_with("OOM")) return ResourceExhausted(std::move(message));
    if (text.starts_with("LOADING") || text.starts_with("BUSY") || text.starts_with("MASTERDOWN") ||
        text.starts_with("TRYAGAIN") || text.starts_with("READONLY")) {
      return Unavailable(std::move(message));
    }
    return Internal(std::move(message));
  }
  if (expected_type != 0 && reply->type != expected_type) {
    return Internal("Redis at " + HostPort(endpoint) + " answered " + std::string(action) +
                    " with an unexpected reply of type " + std::to_string(reply->type));
  }
  return Status::Ok();
}

std::string GlobEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

// An open hiredis context. Binary-safe commands; counts replies still owed
// so a connection left mid-pipeline is never reused.
class RedisConnection {
 public:
  RedisConnection(redisContext* context, const RedisEndpoint& endpoint)
      : context_(context), endpoint_(endpoint) {}
  ~RedisConnection() { redisFree(context_); }
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  static Result<std::unique_ptr<RedisConnection>> Connect(const RedisEndpoint& endpoint,
                                                          const RedisOnlineStore::Options& options) {
    redisContext* context = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port,
                                                    Milliseconds(options.connect_timeout_ms));
    if (context == nullptr) {
      return ResourceExhausted("cannot reach Redis at " + HostPort(endpoint) +
                               ": out of memory for a connection");
    }
    auto connection = std::make_unique<RedisConnection>(context, endpoint);
    if (context->err != 0) return CheckReply(endpoint, context, nullptr, "a connection", 0);
    redisSetTimeout(context, Milliseconds(options.command_timeout_ms));
    redisEnableKeepAlive(context);
    if (!endpoint.password.empty()) {
      std::vector<std::string_view> auth = {"AUTH"};
      if (!endpoint.user.empty()) auth.push_back(endpoint.user);
      auth.push_back(endpoint.password);
      KILN_RETURN_IF_ERROR(connection->Command(auth, "AUTH", REDIS_REPLY_STATUS).status());
    }
    if (endpoint.db != 0) {
      std::string db = std::to_string(endpoint.db);
      KILN_RETURN_IF_ERROR(connection->Command({"SELECT", db}, "SELECT " + db, REDIS_REPLY_STATUS).status());
    }
    return connection;
  }

  void Append(std::span<const std::string_view> args) {
    argv_.clear();
    lengths_.clear();
    for (std::string_view arg : args) {
      argv_.push_back(arg.data());
      lengths_.push_back(arg.size());
    }
    redisAppendCommandArgv(context_, static_cast<int>(args.size()), argv_.data(), lengths_.data());
    ++pending_;
  }

  // The next pipelined reply. An error reply is returned (not a Status) so
  // the caller can act on NOSCRIPT; a lost connection is a Status.
  Result<Reply> Next(std::string_view action) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      return CheckReply(endpoint_, context_, nullptr, action, 0);
    }
    --pending_;
    return Reply(static_cast<redisReply*>(raw));
  }

  // Append + Next, requiring `expected_type` (0: any non-error reply).
  Result<Reply> Command(std::span<const std::string_view> args, std::string_view action, int expected_type) {
    Append(args);
    KILN_ASSIGN_OR_RETURN(Reply reply, Next(action));
    KILN_RETURN_IF_ERROR(CheckReply(endpoint_, context_, reply.get(), action, expected_type));
    return reply;
  }
  Result<Reply> Command(std::initializer_list<std::string_view> args, std::string_view action,
                        int expected_type) {
    return Command(std::span<const std::string_view>(args.begin(), args.size()), action, expected_type);
  }

  const redisContext* context() const { return context_; }
  bool broken() const { return context_->err != 0 || pending_ != 0; }

 private:
  redisContext* context_;
  const RedisEndpoint& endpoint_;
  int pending_ = 0;
  std::vector<const char*> argv_;
  std::vector<size_t> lengths_;
};

class RedisOnlineStore::Lease {
 public:
  Lease(RedisOnlineStore* store, std::unique_ptr<RedisConnection> connection, bool reused)
      : store_(store), connection_(std::move(connection)), reused_(reused) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (connection_) store_->Release(std::move(connection_));
  }
  RedisConnection& connection() { return *connection_; }
  // A pooled connection may have died while idle (e.g. Redis restarted).
  bool MayRetry() const { return reused_ && connection_->broken(); }

 private:
  RedisOnlineStore* store_;
  std::unique_ptr<RedisConnection> connection_;
  bool reused_;
};

std::string RedisEndpoint::Describe() const {
  return "redis://" + HostPort(*this) + "/" + std::to_string(db);
}

Result<RedisEndpoint> RedisEndpoint::Parse(std::string_view uri) {
  auto invalid = [uri](std::string_view why) {
    return InvalidArgument("invalid Redis URI '" + std::string(uri) + "': " + std::string(why) +
                           " (use redis://[:password@]host[:port][/db])");
  };
  if (!uri.starts_with("redis://")) return invalid("it does not start with redis://");
  std::string_view rest = uri.substr(8);
  RedisEndpoint endpoint;
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      endpoint.password = std::string(credentials);
    } else {
      endpoint.user = std::string(credentials.substr(0, colon));
      endpoint.password = std::string(credentials.substr(colon + 1));
    }
  }
  std::string_view db_text;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    db_text = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::string_view port_text;
  if (rest.starts_with("[")) {  // [ipv6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return invalid("']' is missing after the IPv6 address");
    endpoint.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (after.starts_with(":"))
      port_text = after.substr(1);
    else if (!after.empty())
      return invalid("unexpected text after the IPv6 address");
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    endpoint.host = std::string(rest.substr(0, colon));
    port_text = rest.substr(colon + 1);
  } else {
    endpoint.host = std::string(rest);
  }
  if (endpoint.host.empty()) return invalid("the host is missing");
  auto parse_int = [](std::string_view text, int* value) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
    return error == std::errc() && end == text.data() + text.size();
  };
  if (!port_text.empty() &&
      (!parse_int(port_text, &endpoint.port) || endpoint.port <= 0 || endpoint.port > 65535)) {
    return invalid("port '" + std::string(port_text) + "' is not a number from 1 to 65535");
  }
  if (!db_text.empty() && (!parse_int(db_text, &endpoint.db) || endpoint.db < 0)) {
    return invalid("database '" + std::string(db_text) + "' is not a number");
  }
  return endpoint;
}

std::string RedisOnlineStore::RecordKey(const ViewKey& view, std::string_view entity_key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string key;
  key.reserve(5 + view.view.size() + 18 + 2 * entity_key.size());
  key.append("kiln:");
  key.append(view.view);
  key.push_back(':');
  key.append(FingerprintHex(view.fingerprint));
  key.push_back(':');
  for (char c : entity_key) {
    key.push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    key.push_back(kDigits[static_cast<uint8_t>(c) & 0xf]);
  }
  return key;
}

Result<std::unique_ptr<RedisOnlineStore>> RedisOnlineStore::Open(const std::string& uri,
                                                                 const Options& options) {
  KILN_ASSIGN_OR_RETURN(RedisEndpoint endpoint, RedisEndpoint::Parse(uri));
  std::unique_ptr<RedisOnlineStore> store(new RedisOnlineStore(std::move(endpoint), options));
  {
    KILN_ASSIGN_OR_RETURN(Lease lease, store->Acquire());
    KILN_ASSIGN_OR_RETURN(Reply reply, lease.connection().Command({"SCRIPT", "LOAD", kWriteScript},
                                                                  "SCRIPT LOAD", REDIS_REPLY_STRING));
    store->script_sha_.assign(reply->str, reply->len);
  }
  return store;
}

RedisOnlineStore::RedisOnlineStore(RedisEndpoint endpoint, const Options& options)
    : endpoint_(std::move(endpoint)), options_(options) {}

RedisOnlineStore::~RedisOnlineStore() = default;

Result<RedisOnlineStore::Lease> RedisOnlineStore::Acquire() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (!idle_.empty()) {
        std::unique_ptr<RedisConnection> connection = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(connection), /*reused=*/true);
      }
      if (open_ < std::max(1, options_.pool_size)) break;
      available_.wait(lock);
    }
    ++open_;
  }
  Result<std::unique_ptr<RedisConnection>> connection = RedisConnection::Connect(endpoint_, options_);
  if (!connection.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    --open_;
    available_.notify_one();
    return connection.status();
  }
  return Lease(this, std::move(connection).value(), /*reused=*/false);
}

void RedisOnlineStore::Release(std::unique_ptr<RedisConnection> connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (connection->broken()) {
    // The server likely went away: idle connections are probably dead too.
    open_ -= 1 + static_cast<int>(idle_.size());
    idle_.clear();
    connection.reset();
  } else {
    idle_.push_back(std::move(connection));
  }
  available_.notify_all();
}

Status RedisOnlineStore::Write(const ViewKey& view, std::span<const std::string> entity_keys,
                               std::span<const OnlineRecord> records) {
  if (entity_keys.size() != records.size()) {
    return InvalidArgument("online store write of " + std::to_string(records.size()) + " records with " +
                           std::to_string(entity_keys.size()) + " entity keys");
  }
  const size_t chunk =
      std::max<size_t>(1, options_.records_per_script) * std::max<size_t>(1, options_.scripts_per_round_trip);
  for (size_t begin = 0; begin < records.size(); begin += chunk) {
    size_t count = std::min(chunk, records.size() - begin);
    for (int attempt = 0;; ++attempt) {
      KILN_ASSIGN_OR_RETURN(Lease lease, Acquire());
      Status status = WriteChunk(lease.connection(), view, entity_keys.subspan(begin, count),
                                 records.subspan(begin, count));
      if (status.ok()) break;
      // Rewriting records is harmless (newer-or-equal rule), so a chunk that
      // failed on a connection that died while idle is sent again once.
      if (attempt > 0 || !lease.MayRetry()) return status;
    }
  }
  return Status::Ok();
}

// Pipelines one EVALSHA per `records_per_script` records, then reads every
// reply; groups refused with NOSCRIPT (script cache flushed, server
// restarted) are sent again with EVAL, which also reloads the script.
Status RedisOnlineStore::WriteChunk(RedisConnection& connection, const ViewKey& view,
                                    std::span<const std::string> entity_keys,
                                    std::span<const OnlineRecord> records) {
  const size_t per_script = std::max<size_t>(1, options_.records_per_script);
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::vector<std::string_view> args;
  auto append_group = [&](size_t group, bool use_eval) {
    size_t begin = group * per_script;
    size_t count = std::min(per_script, records.size() - begin);
    keys.clear();
    values.clear();
    for (size_t i = begin; i < begin + count; ++i) {
      keys.push_back(RecordKey(view, entity_keys[i]));
      values.push_back(EncodeOnlineRecord(records[i]));
    }
    std::string key_count = std::to_string(count);
    args.clear();
    args.push_back(use_eval ? "EVAL" : "EVALSHA");
    args.push_back(use_eval ? kWriteScript : std::string_view(script_sha_));
    args.push_back(key_count);
    for (const std::string& key : keys) args.push_back(key);
    for (const std::string& value : values) args.push_back(value);
    connection.Append(args);  // hiredis copies the arguments into its buffer
  };

  const size_t groups = (records.size() + per_script - 1) / per_script;
  for (size_t group = 0; group < groups; ++group) append_group(group, /*use_eval=*/false);
  std::vector<size_t> missing_script;
  Status first_error;
  for (size_t group = 0; group < groups; ++group) {
    KILN_ASSIGN_OR_RETURN(Reply reply, connection.Next("a write script"));
    if (reply->type == REDIS_REPLY_ERROR &&
        std::string_view(reply->str, reply->len).starts_with("NOSCRIPT")) {
      missing_script.push_back(group);
      continue;
    }
    Status status = CheckReply(endpoint_, connection.context(), reply.get(), "the write script (EVALSHA)",
                               REDIS_REPLY_INTEGER);
    if (!status.ok() && first_error.ok()) first_error = std::move(status);
  }
  for (size_t group : missing_script) append_group(group, /*use_eval=*/true);
  for (size_t i = 0; i < missing_script.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(Reply reply, connection.Next("a write script"));
    Status status = CheckReply(endpoint_, connection.context(), reply.get(), "the write script (EVAL)",
                               REDIS_REPLY_INTEGER);
    if (!status.ok() && first_error.ok()) first_error = std::move(status);
  }
  return first_error;
}

Status RedisOnlineStore::Read(const ViewKey& view, std::span<const data::Type> types,
                              std::span<const std::string> entity_keys,
                              std::vector<std::optional<OnlineRecord>>* out) {
  const size_t n = entity_keys.size();
  out->assign(n, std::nullopt);
  if (n == 0) return Status::Ok();
  std::vector<std::string> keys;
  keys.reserve(n);
  for (const std::string& entity_key : entity_keys) keys.push_back(RecordKey(view, entity_key));
  std::vector<std::string_view> args;
  args.reserve(n + 1);
  args.push_back("MGET");
  for (const std::string& key : keys) args.push_back(key);

  Reply reply;
  for (int attempt = 0;; ++attempt) {
    KILN_ASSIGN_OR_RETURN(Lease lease, Acquire());
    Result<Reply> result = lease.connection().Command(args, "MGET", REDIS_REPLY_ARRAY);
    if (result.ok()) {
      reply = std::move(result).value();
      break;
    }
    if (attempt > 0 || !lease.MayRetry()) return result.status();
  }
  if (reply->elements != n) {
    return Internal("Redis at " + HostPort(endpoint_) + " answered MGET of " + std::to_string(n) +
                    " keys with " + std::to_string(reply->elements) + " values");
  }
  for (size_t i = 0; i < n; ++i) {
    const redisReply* element = reply->element[i];
    if (element->type == REDIS_REPLY_NIL) continue;
    if (element->type != REDIS_REPLY_STRING) {
      return Internal("Redis key " + keys[i] + " does not hold a string (not written by kiln?)");
    }
    Result<OnlineRecord> record = DecodeOnlineRecord(std::string_view(element->str, element->len), types);
    if (!record.ok()) {
      return Internal("Redis key " + keys[i] + ": " + record.status().message());
    }
    (*out)[i] = std::move(record).value();
  }
  return Status::Ok();
}

Status RedisOnlineStore::DeleteView(std::string_view view) {
  std::string pattern = "kiln:" + GlobEscape(view) + ":";
  for (int i = 0; i < 16; ++i) pattern.append("[0-9a-f]");
  pattern.append(":*");
  KILN_ASSIGN_OR_RETURN(Lease lease, Acquire());
  RedisConnection& connection = lease.connection();
  std::string cursor = "0";
  std::vector<std::string_view> unlink;
  do {
    KILN_ASSIGN_OR_RETURN(Reply reply, connection.Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"},
                                                          "SCAN", REDIS_REPLY_ARRAY));
    if (reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
      return Internal("Redis at " + HostPort(endpoint_) + " answered SCAN with an unexpected shape");
    }
    cursor.assign(reply->element[0]->str, reply->element[0]->len);
    const redisReply* found = reply->element[1];
    if (found->elements == 0) continue;
    unlink.assign({"UNLINK"});
    for (size_t i = 0; i < found->elements; ++i) {
      unlink.emplace_back(found->element[i]->str, found->element[i]->len);
    }
    KILN_RETURN_IF_ERROR(connection.Command(unlink, "UNLINK", REDIS_REPLY_INTEGER).status());
  } while (cursor != "0");
  return Status::Ok();
}

}  // namespace kiln::features
