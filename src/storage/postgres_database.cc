#include "storage/postgres_database.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kiln::storage {
namespace {

// Type OIDs from the server's pg_type.h (not part of the client headers).
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700, kFloat8Oid = 701, kNumericOid = 1700, kUntypedOid = 0;
// Generated search SQL has unbounded variety; the cache starts over past this.
constexpr size_t kMaxCachedStatements = 256;

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ConnHandle = std::unique_ptr<PGconn, PgConnDeleter>;
using ResultHandle = std::unique_ptr<PGresult, PgResultDeleter>;

std::string Trimmed(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Every libpq failure becomes a Status here. `result` may be null (libpq
// returns no result when the connection is gone or out of memory).
Status PgError(PGconn* conn, const PGresult* result, std::string_view what, const std::string& location) {
  if (result == nullptr) {
    return Unavailable("lost connection to PostgreSQL at " + location + " while " + std::string(what) + ": " +
                       Trimmed(PQerrorMessage(conn)));
  }
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
  std::string message = std::string(what) + ": " + Trimmed(primary ? primary : PQresultErrorMessage(result));
  if (detail != nullptr) message += " (" + Trimmed(detail) + ")";
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string_view sqlstate = state ? state : "";
  if (sqlstate.starts_with("23")) return AlreadyExists("constraint violated: " + message);
  if (sqlstate == "40001" || sqlstate == "40P01") return Unavailable("transaction conflict, retry: " + message);
  if (sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57P") ||
      PQstatus(conn) != CONNECTION_OK) {
    return Unavailable("PostgreSQL at " + location + " is unavailable: " + message);
  }
  return Internal("postgresql " + message);
}

bool Succeeded(const PGresult* result) {
  if (result == nullptr) return false;
  ExecStatusType status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY;
}

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest exact form
  return std::string(buffer, end);
}

double ParseDouble(const char* text, int length) {
  double value = 0;
  auto [end, error] = std::from_chars(text, text + length, value);  // also NaN, Infinity, -Infinity
  if (error == std::errc::result_out_of_range) return std::strtod(std::string(text, length).c_str(), nullptr);
  return value;
}

SqlValue Decode(const PGresult* result, int row, int column, Oid type) {
  if (PQgetisnull(result, row, column)) return std::monostate{};
  const char* text = PQgetvalue(result, row, column);
  int length = PQgetlength(result, row, column);
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid: {
      int64_t value = 0;
      std::from_chars(text, text + length, value);
      return value;
    }
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid: return ParseDouble(text, length);
    case kBoolOid: return static_cast<int64_t>(text[0] == 't');
    default: return std::string(text, length);
  }
}

// Where `uri` carries a password: [begin, end) spans of the user info's
// ":password" and of each "password=..." query parameter with its separator.
// Like libpq, the user info is whatever precedes an '@' before the first '/'.
std::vector<std::pair<size_t, size_t>> PasswordSpans(std::string_view uri) {
  std::vector<std::pair<size_t, size_t>> spans;
  size_t scheme = uri.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t at = uri.find_first_of("@/", start);
  size_t colon = uri.find(':', start);
  bool has_user_info = at != std::string_view::npos && uri[at] == '@';
  if (has_user_info && colon < at) spans.emplace_back(colon, at);
  for (size_t separator = uri.find('?', has_user_info ? at : start); separator != std::string_view::npos;) {
    size_t next = uri.find('&', separator + 1);
    if (uri.substr(separator + 1).starts_with("password=")) {
      spans.emplace_back(separator + 1, next == std::string_view::npos ? uri.size() : next + 1);
    }
    separator = next;
  }
  return spans;
}

// `message` with every password in `uri` replaced by "***" (libpq echoes
// malformed URI tokens in its errors).
std::string Scrubbed(std::string message, std::string_view uri) {
  for (auto [begin, end] : PasswordSpans(uri)) {
    std::string_view span = uri.substr(begin, end - begin);
    std::string secret(span.substr(span.find_first_of(":=") + 1));
    if (!secret.empty() && secret.back() == '&') secret.pop_back();
    if (secret.empty()) continue;
    for (size_t at = message.find(secret); at != std::string::npos; at = message.find(secret, at + 3)) {
      message.replace(at, secret.size(), "***");
    }
  }
  return message;
}

// Parameters in libpq's text format. Integers are typed int8 and doubles
// float8; strings and NULL are untyped so the server infers them from context.
struct BoundParams {
  explicit BoundParams(const std::vector<SqlValue>& params) {
    encoded.reserve(params.size());  // `values` points into it: no reallocation
    for (const SqlValue& value : params) {
      if (std::holds_alternative<std::monostate>(value)) {
        values.push_back(nullptr), types.push_back(kUntypedOid), signature += 'n';
      } else if (auto p = std::get_if<int64_t>(&value)) {
        values.push_back(encoded.emplace_back(std::to_string(*p)).c_str());
        types.push_back(kInt8Oid), signature += 'i';
      } else if (auto p = std::get_if<double>(&value)) {
        values.push_back(encoded.emplace_back(FormatDouble(*p)).c_str());
        types.push_back(kFloat8Oid), signature += 'd';
      } else {
        values.push_back(std::get<std::string>(value).c_str());
        types.push_back(kUntypedOid), signature += 's';
      }
    }
  }
  std::vector<std::string> encoded;
  std::vector<const char*> values;
  std::vector<Oid> types;
  std::string signature;  // the types, part of the statement cache key
};

// One PGconn and its prepared statements. Used by one thread at a time.
class PostgresConnection : public Connection {
 public:
  PostgresConnection(ConnHandle conn, std::string location)
      : conn_(std::move(conn)), location_(std::move(location)) {}

  Result<int64_t> Execute(std::string_view sql, const std::vector<SqlValue>& params) override {
    KILN_ASSIGN_OR_RETURN(ResultHandle result, Run(sql, params));
    const char* tuples = PQcmdTuples(result.get());
    int64_t changed = 0;
    std::from_chars(tuples, tuples + std::strlen(tuples), changed);
    return changed;
  }

  Result<Rows> Query(std::string_view sql, const std::vector<SqlValue>& params) override {
    KILN_ASSIGN_OR_RETURN(ResultHandle result, Run(sql, params));
    int row_count = PQntuples(result.get());
    int column_count = PQnfields(result.get());
    std::vector<Oid> types(column_count);
    for (int c = 0; c < column_count; ++c) types[c] = PQftype(result.get(), c);
    Rows rows;
    rows.reserve(row_count);
    for (int r = 0; r < row_count; ++r) {
      std::vector<SqlValue> values;
      values.reserve(column_count);
      for (int c = 0; c < column_count; ++c) values.push_back(Decode(result.get(), r, c, types[c]));
      rows.emplace_back(std::move(values));
    }
    return rows;
  }

  Status ExecuteScript(std::string_view sql) override { return Simple(std::string(sql), "running script"); }
  // Write transactions queue behind one advisory lock, as SQLite's BEGIN
  // IMMEDIATE makes them queue: read-then-write logic (next id = MAX + 1,
  // latest-metric comparison) then behaves the same on both backends.
  Status Begin() override {
    return Simple("BEGIN; SELECT pg_advisory_xact_lock(7326758)", "beginning transaction");
  }
  Status Rollback() override { return Simple("ROLLBACK", "rolling back"); }
  Status Commit() override {
    ResultHandle result(PQexec(conn_.get(), "COMMIT"));
    if (!Succeeded(result.get())) return PgError(conn_.get(), result.get(), "committing", location_);
    // PostgreSQL answers COMMIT of a transaction aborted by an earlier error
    // with ROLLBACK; SQLite would have committed the statements that worked.
    if (std::strcmp(PQcmdStatus(result.get()), "ROLLBACK") == 0) {
      return Internal("postgresql transaction was rolled back because a statement in it failed; "
                      "a failed statement aborts the whole transaction on PostgreSQL");
    }
    return Status::Ok();
  }
  Dialect dialect() const override { return Dialect::kPostgres; }

  // Quiet NOTICEs; no JIT: Kiln's queries are short, and compiling them
  // cost ~45 ms per search-runs call in measurements.
  Status ConfigureSession() {
    return Simple("SET client_min_messages = warning; SET jit = off", "configuring session");
  }

  // Makes the connection fit for its next user: reconnects if it is broken
  // and rolls back a transaction a previous user left open.
  Status Ready() {
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      PQreset(conn_.get());
      statements_.clear();  // prepared statements die with the session
      if (PQstatus(conn_.get()) != CONNECTION_OK) {
        return Unavailable("cannot reconnect to PostgreSQL at " + location_ + ": " +
                           Trimmed(PQerrorMessage(conn_.get())));
      }
      KILN_RETURN_IF_ERROR(ConfigureSession());
    }
    PGTransactionStatusType state = PQtransactionStatus(conn_.get());
    if (state == PQTRANS_INTRANS || state == PQTRANS_INERROR) return Rollback();
    return Status::Ok();
  }

 private:
  Status Simple(const std::string& sql, std::string_view what) {
    ResultHandle result(PQexec(conn_.get(), sql.c_str()));
    return Succeeded(result.get()) ? Status::Ok() : PgError(conn_.get(), result.get(), what, location_);
  }

  Result<ResultHandle> Run(std::string_view sql, const std::vector<SqlValue>& params) {
    BoundParams bound(params);
    std::string key = bound.signature + '|' + std::string(sql);
    KILN_ASSIGN_OR_RETURN(std::string name, Prepare(key, sql, bound));
    ResultHandle result(PQexecPrepared(conn_.get(), name.c_str(), static_cast<int>(bound.values.size()),
                                       bound.values.data(), nullptr, nullptr, /*resultFormat=*/0));
    if (Succeeded(result.get())) return result;
    const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
    // "cached plan must not change result type" after a schema change, or a
    // statement the session lost (DISCARD ALL): prepare afresh next time.
    if (state != nullptr && (std::strcmp(state, "0A000") == 0 || std::strcmp(state, "26000") == 0)) {
      statements_.erase(key);
    }
    return PgError(conn_.get(), result.get(), "running '" + std::string(sql.substr(0, 200)) + "'", location_);
  }

  // The name of a server-side prepared statement for `sql` with these parameter types.
  Result<std::string> Prepare(const std::string& key, std::string_view sql, const BoundParams& bound) {
    auto it = statements_.find(key);
    if (it != statements_.end()) return it->second;
    int placeholders = 0;
    std::string rewritten = RewritePlaceholders(sql, &placeholders);
    if (static_cast<size_t>(placeholders) != bound.types.size()) {
      return InvalidArgument("statement has " + std::to_string(placeholders) + " placeholders but " +
                             std::to_string(bound.types.size()) + " parameters were bound: '" +
                             std::string(sql.substr(0, 200)) + "'");
    }
    if (statements_.size() >= kMaxCachedStatements) {
      ResultHandle result(PQexec(conn_.get(), "DEALLOCATE ALL"));  // fails only in an aborted transaction
      if (Succeeded(result.get())) statements_.clear();
    }
    std::string name = "kiln_" + std::to_string(++statements_prepared_);
    ResultHandle result(PQprepare(conn_.get(), name.c_str(), rewritten.c_str(), placeholders, bound.types.data()));
    if (!Succeeded(result.get())) {
      return PgError(conn_.get(), result.get(), "preparing '" + std::string(sql.substr(0, 200)) + "'", location_);
    }
    statements_.emplace(key, name);
    return name;
  }

  ConnHandle conn_;
  std::string location_;  // the URI without password, for messages
  std::unordered_map<std::string, std::string> statements_;  // signature|sql -> prepared name
  int64_t statements_prepared_ = 0;
};

}  // namespace

std::string RewritePlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int placeholders = 0;
  size_t i = 0;
  auto copy_through = [&](size_t end) {  // copies sql[i, end) (or to the end)
    end = std::min(end, sql.size());
    out.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < sql.size()) {
    char c = sql[i];
    char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    if (c == '\'' || c == '"') {
      // A doubled quote inside closes and reopens the literal: same outcome.
      size_t close = sql.find(c, i + 1);
      copy_through(close == std::string_view::npos ? close : close + 1);
    } else if (c == '-' && next == '-') {
      copy_through(sql.find('\n', i));
    } else if (c == '/' && next == '*') {
      size_t close = sql.find("*/", i + 2);
      copy_through(close == std::string_view::npos ? close : close + 2);
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++placeholders);
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  *count = placeholders;
  return out;
}

std::string RedactPassword(std::string_view uri) {
  std::string out(uri);
  auto spans = PasswordSpans(uri);
  for (auto span = spans.rbegin(); span != spans.rend(); ++span) out.erase(span->first, span->second - span->first);
  while (!out.empty() && (out.back() == '?' || out.back() == '&')) out.pop_back();
  return out;
}

PostgresDatabase::PostgresDatabase(std::string uri, int pool_size)
    : uri_(std::move(uri)), described_(RedactPassword(uri_)), pool_size_(std::max(1, pool_size)) {}

PostgresDatabase::~PostgresDatabase() = default;

Result<std::unique_ptr<Database>> PostgresDatabase::Open(const std::string& uri, int pool_size) {
  std::unique_ptr<PostgresDatabase> database(new PostgresDatabase(uri, pool_size));
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
  if (options == nullptr) {
    std::string message = error ? Scrubbed(Trimmed(error), uri) : "out of memory";
    PQfreemem(error);
    return InvalidArgument("invalid PostgreSQL URI " + database->described_ + ": " + message);
  }
  PQconninfoFree(options);
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, database->Connect());
  database->idle_.push_back(std::move(connection));
  database->open_ = 1;
  return std::unique_ptr<Database>(std::move(database));
}

Result<std::unique_ptr<Connection>> PostgresDatabase::Connect() const {
  // Later entries override earlier ones, so the URI's own settings win.
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"10", "kiln", uri_.c_str(), nullptr};
  ConnHandle conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (conn == nullptr) return Unavailable("cannot connect to PostgreSQL at " + described_ + ": out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Unavailable("cannot connect to PostgreSQL at " + described_ + ": " +
                       Scrubbed(Trimmed(PQerrorMessage(conn.get())), uri_));
  }
  auto connection = std::make_unique<PostgresConnection>(std::move(conn), described_);
  KILN_RETURN_IF_ERROR(connection->ConfigureSession());
  return std::unique_ptr<Connection>(std::move(connection));
}

Result<PooledConnection> PostgresDatabase::Acquire() {
  std::unique_ptr<Connection> connection;
  {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [this] { return !idle_.empty() || open_ < pool_size_; });
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // reserve the slot; connect outside the lock
    }
  }
  if (connection == nullptr) {
    auto connected = Connect();
    if (!connected.ok()) {
      {
        std::lock_guard lock(mutex_);
        --open_;
      }
      available_.notify_one();
      return connected.status();
    }
    connection = std::move(*connected);
  }
  auto* postgres = static_cast<PostgresConnection*>(connection.get());
  PooledConnection pooled(this, std::move(connection));  // back to the pool even if not ready
  KILN_RETURN_IF_ERROR(postgres->Ready());
  return pooled;
}

void PostgresDatabase::Release(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

Result<std::unique_ptr<Database>> OpenPostgres(const std::string& uri, int pool_size) {
  return PostgresDatabase::Open(uri, pool_size);
}

}  // namespace kiln::storage
