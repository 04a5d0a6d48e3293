// The file prediction store (docs/formats/prediction-log.md): append-only
// JSON-lines segments predictions-<first timestamp>-<seq>.jsonl under one
// directory. Each segment starts with a header line carrying
// format_version, and a finished segment (rotated, or closed with the
// store) ends with a summary line giving its time range, which lets Read
// skip it without scanning. Writes are one write(2) per batch; a batch that
// fails is cut off again, so segments only ever hold whole lines, except the
// last line after a crash, which readers skip with a warning.
//
// Thread safety: Write/WriteDrop/Flush from one thread; Read from any, at
// the same time (it reads the active segment only up to its last whole batch).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "common/json_writer.h"
#include "data/file_io.h"
#include "data/timestamp.h"
#include "serving/prediction_log.h"

namespace kiln::serving {

namespace {

namespace fs = std::filesystem;
using OrderedJson = nlohmann::ordered_json;

constexpr int kFormatVersion = 1;
constexpr std::string_view kPrefix = "predictions-";
constexpr std::string_view kSuffix = ".jsonl";
constexpr int64_t kTailBytes = 4096;  // a summary line is far shorter

Status ErrnoError(const std::string& what, const std::string& path) {
  return Unavailable("cannot " + what + " prediction log segment " + path + ": " + std::strerror(errno));
}

// "2001-04-01T08:00:00.25Z" → "20010401T080000Z": file-name friendly, to the second.
std::string CompactTimestamp(int64_t micros) {
  std::string out;
  for (char c : data::FormatTimestamp(micros)) {
    if (c == '.') break;
    if (c != '-' && c != ':') out += c;
  }
  if (out.empty() || out.back() != 'Z') out += 'Z';
  return out;
}

// The sequence number of a segment file name, or -1 for other files.
int64_t SegmentSeq(std::string_view name) {
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return -1;
  name.remove_suffix(kSuffix.size());
  size_t dash = name.rfind('-');
  if (dash == std::string_view::npos || dash < kPrefix.size()) return -1;
  std::string_view digits = name.substr(dash + 1);
  int64_t seq = -1;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (error != std::errc() || end != digits.data() + digits.size() || seq < 0) return -1;
  return seq;
}

struct SegmentFile {
  std::string path;
  int64_t seq = 0;
};

Result<std::vector<SegmentFile>> ListSegments(const std::string& directory) {
  std::vector<SegmentFile> segments;
  std::error_code error;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    int64_t seq = SegmentSeq(it->path().filename().string());
    if (seq >= 0) segments.push_back({it->path().string(), seq});
  }
  if (error) return Unavailable("cannot list prediction log directory " + directory + ": " + error.message());
  std::sort(segments.begin(), segments.end(), [](const SegmentFile& a, const SegmentFile& b) { return a.seq < b.seq; });
  return segments;
}

// Records, drop markers and time range of a segment, as its summary line says.
struct SegmentSummary {
  int64_t records = 0;
  int64_t drop_markers = 0;
  std::optional<int64_t> min_micros, max_micros;

  void Add(int64_t first, int64_t last) {
    min_micros = min_micros ? std::min(*min_micros, first) : first;
    max_micros = max_micros ? std::max(*max_micros, last) : last;
  }
};

void AppendSummaryLine(const SegmentSummary& summary, std::string* out) {
  JsonWriter writer(out);
  writer.BeginObject();
  writer.Field("kind", "segment_end");
  writer.Field("records", summary.records);
  writer.Field("drop_markers", summary.drop_markers);
  writer.Key("min_timestamp");
  summary.min_micros ? writer.String(data::FormatTimestamp(*summary.min_micros)) : writer.Null();
  writer.Key("max_timestamp");
  summary.max_micros ? writer.String(data::FormatTimestamp(*summary.max_micros)) : writer.Null();
  writer.EndObject();
  out->push_back('\n');
}

std::optional<int64_t> TimestampOf(const OrderedJson& line, const char* field) {
  auto it = line.find(field);
  if (it == line.end() || !it->is_string()) return std::nullopt;
  auto micros = data::ParseTimestamp(it->get_ref<const std::string&>(), data::TimeZone::Utc());
  return micros.ok() ? std::optional<int64_t>(*micros) : std::nullopt;
}

// The summary at the end of a finished segment; nullopt when it has none
// (the active segment, or one a crash left unfinished).
std::optional<SegmentSummary> ReadSummary(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat info {};
  std::string tail;
  if (::fstat(fd, &info) == 0 && info.st_size > 0) {
    int64_t length = std::min<int64_t>(info.st_size, kTailBytes);
    tail.resize(static_cast<size_t>(length));
    ssize_t read = ::pread(fd, tail.data(), tail.size(), info.st_size - length);
    tail.resize(read > 0 ? static_cast<size_t>(read) : 0);
  }
  ::close(fd);
  if (tail.empty() || tail.back() != '\n') return std::nullopt;
  tail.pop_back();
  size_t start = tail.rfind('\n');
  if (start == std::string::npos) return std::nullopt;  // a summary is never alone in a segment
  OrderedJson line = OrderedJson::parse(tail.substr(start + 1), nullptr, /*allow_exceptions=*/false);
  if (!line.is_object() || line.value("kind", "") != "segment_end") return std::nullopt;
  SegmentSummary summary;
  summary.min_micros = TimestampOf(line, "min_timestamp");
  summary.max_micros = TimestampOf(line, "max_timestamp");
  return summary;
}

bool Overlaps(const PredictionQuery& query, int64_t first, int64_t last) {
  return (!query.start_micros || last >= *query.start_micros) && (!query.end_micros || first < *query.end_micros);
}

// false (errno set) when a write fails part way.
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

class FilePredictionStore : public PredictionStore {
 public:
  FilePredictionStore(std::string directory, int64_t segment_bytes, int64_t next_seq)
      : directory_(std::move(directory)), segment_bytes_(segment_bytes), next_seq_(next_seq) {}
  ~FilePredictionStore() override { (void)FinishSegment(); }

  Status Write(std::span<const PredictionRecord> records) override {
    if (records.empty()) return Status::Ok();
    std::string body;
    body.reserve(records.size() * 512);
    SegmentSummary added;
    for (const PredictionRecord& record : records) {
      AppendPredictionRecordJson(record, &body);
      body.push_back('\n');
      added.Add(record.timestamp_micros, record.timestamp_micros);
    }
    added.records = static_cast<int64_t>(records.size());
    return AppendBatch(std::move(body), records.front().timestamp_micros, added);
  }

  Status WriteDrop(const DropMarker& drop) override {
    std::string body;
    JsonWriter writer(&body);
    writer.BeginObject();
    writer.Field("kind", "drops");
    writer.Field("count", drop.count);
    writer.Field("first", data::FormatTimestamp(drop.first_micros));
    writer.Field("last", data::FormatTimestamp(drop.last_micros));
    writer.EndObject();
    body.push_back('\n');
    SegmentSummary added;
    added.drop_markers = 1;
    added.Add(drop.first_micros, drop.last_micros);
    return AppendBatch(std::move(body), drop.first_micros, added);
  }

  Status Flush() override {
    Status status = std::exchange(deferred_error_, Status::Ok());
    if (fd_ >= 0 && ::fsync(fd_) != 0 && status.ok()) status = ErrnoError("fsync", path_);
    if (directory_changed_) {
      int dir = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dir >= 0 && ::fsync(dir) == 0) {
        directory_changed_ = false;
      } else if (status.ok()) {
        status = Unavailable("cannot fsync prediction log directory " + directory_ + ": " + std::strerror(errno));
      }
      if (dir >= 0) ::close(dir);
    }
    return status;
  }

  Result<PredictionReadResult> Read(const PredictionQuery& query) override;

  std::string Describe() const override { return "file " + directory_; }

 private:
  // Appends whole lines as one write(2), rotating first when they would take
  // the current segment past segment_bytes_.
  Status AppendBatch(std::string body, int64_t first_micros, const SegmentSummary& added) {
    if (fd_ >= 0 && size_ > 0 && size_ + static_cast<int64_t>(body.size()) > segment_bytes_) {
      deferred_error_ = FinishSegment();
    }
    if (fd_ < 0) {
      KILN_RETURN_IF_ERROR(OpenSegment(first_micros));
      std::string header;
      JsonWriter writer(&header);
      writer.BeginObject();
      writer.Field("kind", "segment");
      writer.Field("format_version", static_cast<int64_t>(kFormatVersion));
      writer.Field("segment", seq_);
      writer.EndObject();
      header.push_back('\n');
      body.insert(0, header);
    }
    if (!WriteAll(fd_, body)) {
      Status error = ErrnoError("write", path_);
      // Cut the partial batch off so the segment keeps only whole lines; if
      // that fails, leave the segment (its torn last line is skipped by
      // readers) and continue in a new one.
      if (::ftruncate(fd_, size_) != 0 || size_ == 0) {
        ::close(fd_);
        fd_ = -1;
        if (size_ == 0) ::unlink(path_.c_str());
        std::lock_guard<std::mutex> lock(mutex_);
        active_path_.clear();
      }
      return error;
    }
    size_ += static_cast<int64_t>(body.size());
    summary_.records += added.records;
    summary_.drop_markers += added.drop_markers;
    summary_.Add(*added.min_micros, *added.max_micros);
    std::lock_guard<std::mutex> lock(mutex_);
    active_size_ = size_;
    return Status::Ok();
  }

  Status OpenSegment(int64_t first_micros) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      char seq[24];
      std::snprintf(seq, sizeof seq, "%06lld", static_cast<long long>(next_seq_));
      std::string path = (fs::path(directory_) / (std::string(kPrefix) + CompactTimestamp(first_micros) + "-" +
                                                  seq + std::string(kSuffix))).string();
      // Created and made active in one step for readers (see Read).
      std::lock_guard<std::mutex> lock(mutex_);
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0 && errno == EEXIST) {
        ++next_seq_;  // another writer on the same directory: take the next number
        continue;
      }
      if (fd < 0) return ErrnoError("create", path);
      fd_ = fd;
      path_ = std::move(path);
      seq_ = next_seq_++;
      size_ = 0;
      summary_ = SegmentSummary{};
      directory_changed_ = true;
      active_path_ = path_;
      active_size_ = 0;
      return Status::Ok();
    }
    return Unavailable("cannot create a new prediction log segment in " + directory_ +
                       ": 100 sequence numbers in a row are taken");
  }

  // Ends the current segment with its summary line, fsyncs and closes it.
  Status FinishSegment() {
    if (fd_ < 0) return Status::Ok();
    std::string summary;
    AppendSummaryLine(summary_, &summary);
    Status status;
    if (!WriteAll(fd_, summary)) {
      status = ErrnoError("write", path_);
      (void)!::ftruncate(fd_, size_);  // if this fails too, readers skip the torn last line
    }
    if (::fsync(fd_) != 0 && status.ok()) status = ErrnoError("fsync", path_);
    ::close(fd_);
    fd_ = -1;
    std::lock_guard<std::mutex> lock(mutex_);
    active_path_.clear();
    return status;
  }

  const std::string directory_;
  const int64_t segment_bytes_;
  // Writer state (the writing thread only).
  int64_t next_seq_;
  int fd_ = -1;
  std::string path_;
  int64_t seq_ = 0;
  int64_t size_ = 0;  // bytes of whole lines in the current segment
  SegmentSummary summary_;
  bool directory_changed_ = false;  // a segment was created since the last directory fsync
  Status deferred_error_;           // from finishing a segment at rotation; reported by Flush
  // Shared with readers.
  mutable std::mutex mutex_;
  std::string active_path_;  // "" when no segment is open
  int64_t active_size_ = 0;
};

// The leading fields of a prediction line as AppendPredictionRecordJson
// writes them: {"kind":"prediction","id":…,"timestamp":…,"model":…,"version":N,
// read without parsing the rest. nullopt for any other line, or one whose
// strings hold escapes: those take the full parse.
struct LineHead {
  std::string_view timestamp;
  std::string_view model;
  int64_t version = 0;
};

std::optional<LineHead> ReadLineHead(std::string_view line) {
  size_t at = 0;
  auto literal = [&](std::string_view text) {
    if (line.substr(at, text.size()) != text) return false;
    at += text.size();
    return true;
  };
  auto string = [&](std::string_view* out) {
    if (at >= line.size() || line[at] != '"') return false;
    size_t end = line.find_first_of("\"\\", at + 1);
    if (end == std::string_view::npos || line[end] != '"') return false;
    *out = line.substr(at + 1, end - at - 1);
    at = end + 1;
    return true;
  };
  LineHead head;
  std::string_view id;
  if (!literal(R"({"kind":"prediction","id":)") || !string(&id) || !literal(R"(,"timestamp":)") ||
      !string(&head.timestamp) || !literal(R"(,"model":)") || !string(&head.model) || !literal(R"(,"version":)")) {
    return std::nullopt;
  }
  auto [end, error] = std::from_chars(line.data() + at, line.data() + line.size(), head.version);
  if (error != std::errc() || end == line.data() + line.size() || *end != ',') return std::nullopt;
  return head;
}

// One segment's lines, filtered into `result` (records through `keep`).
class SegmentScanner {
 public:
  SegmentScanner(const PredictionQuery& query, PredictionReadResult* result) : query_(query), result_(result) {}

  // Calls keep(record) for each matching record, in file order.
  template <typename Keep>
  Status Scan(const std::string& path, std::string_view text, Keep&& keep) {
    int64_t line_number = 0;
    while (!text.empty()) {
      ++line_number;
      size_t newline = text.find('\n');
      if (newline == std::string_view::npos) {
        ++result_->skipped_lines;
        result_->warnings.push_back(path + ": skipped a torn last line " + std::to_string(line_number) + " (" +
                                    std::to_string(text.size()) +
                                    " bytes without a newline; the writer stopped mid-write)");
        break;
      }
      std::string_view line = text.substr(0, newline);
      text.remove_prefix(newline + 1);
      if (line.empty()) continue;
      Status status = ScanLine(line, keep);
      if (!status.ok()) {
        return Status(status.code(),
                      "prediction log " + path + " line " + std::to_string(line_number) + ": " + status.message());
      }
    }
    return Status::Ok();
  }

 private:
  template <typename Keep>
  Status ScanLine(std::string_view text, Keep& keep) {
    // Fast path: a prediction line as this store writes it is filtered on
    // its leading fields; only the records kept are parsed in full.
    if (std::optional<LineHead> head = ReadLineHead(text)) {
      if (!query_.model.empty() && head->model != query_.model) return Status::Ok();
      if (query_.version && head->version != *query_.version) return Status::Ok();
      if (query_.start_micros || query_.end_micros) {
        auto timestamp = data::ParseTimestamp(head->timestamp, data::TimeZone::Utc());
        if (timestamp.ok() && !Overlaps(query_, *timestamp, *timestamp)) return Status::Ok();
      }
      return keep(text);
    }
    OrderedJson line = OrderedJson::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!line.is_object()) return ParsePredictionRecordJson(text).status();  // words the error
    std::string kind = line.contains("kind") && line["kind"].is_string() ? line["kind"].get<std::string>() : "";
    if (kind == "segment") {
      auto version = line.find("format_version");
      if (version == line.end() || !version->is_number_integer()) {
        return InvalidArgument("field 'format_version': expected an integer");
      }
      if (version->get<int64_t>() > kFormatVersion) {
        return FailedPrecondition("format_version " + std::to_string(version->get<int64_t>()) +
                                  " is newer than this kiln reads (" + std::to_string(kFormatVersion) +
                                  "); upgrade kiln");
      }
      return Status::Ok();
    }
    if (kind == "segment_end") return Status::Ok();
    if (kind == "drops") {
      auto count = line.find("count");
      std::optional<int64_t> first = TimestampOf(line, "first"), last = TimestampOf(line, "last");
      if (count == line.end() || !count->is_number_integer()) {
        return InvalidArgument("field 'count': expected an integer");
      }
      if (!first || !last) return InvalidArgument("field 'first'/'last': expected ISO 8601 timestamp strings");
      if (Overlaps(query_, *first, *last)) result_->drops.push_back({count->get<int64_t>(), *first, *last});
      return Status::Ok();
    }
    if (!kind.empty() && kind != "prediction") return InvalidArgument("field 'kind': unknown kind \"" + kind + "\"");
    // Filter on the parsed line before building the record.
    if (!query_.model.empty() && line.value("model", "") != query_.model) return Status::Ok();
    auto version = line.find("version");
    if (query_.version && (version == line.end() || !version->is_number_integer() ||
                           version->get<int64_t>() != *query_.version)) {
      return Status::Ok();
    }
    if (query_.start_micros || query_.end_micros) {
      std::optional<int64_t> timestamp = TimestampOf(line, "timestamp");
      if (timestamp && !Overlaps(query_, *timestamp, *timestamp)) return Status::Ok();
    }
    return keep(text);
  }

  const PredictionQuery& query_;
  PredictionReadResult* result_;
};

Result<PredictionReadResult> FilePredictionStore::Read(const PredictionQuery& query) {
  // Listed together with the active segment's size: every listed segment
  // is then either finished (whole) or the active one, read up to its last
  // whole batch.
  std::string active_path;
  int64_t active_size = 0;
  Result<std::vector<SegmentFile>> listed = std::vector<SegmentFile>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    listed = ListSegments(directory_);
    active_path = active_path_;
    active_size = active_size_;
  }
  KILN_ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, std::move(listed));

  PredictionReadResult result;
  ReservoirSampler sampler(query.sample, query.seed);
  std::vector<std::pair<int64_t, PredictionRecord>> kept;  // (scan order, record)
  std::shared_ptr<const std::vector<std::string>> last_names;
  SegmentScanner scanner(query, &result);
  auto keep = [&](std::string_view text) -> Status {
    int64_t order = result.matched++;
    int64_t slot = query.sample > 0 ? sampler.Offer() : static_cast<int64_t>(kept.size());
    if (slot < 0) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(PredictionRecord record, ParsePredictionRecordJson(text));
    if (last_names != nullptr && record.feature_names != nullptr && *last_names == *record.feature_names) {
      record.feature_names = last_names;  // share one list per model version
    } else {
      last_names = record.feature_names;
    }
    if (slot == static_cast<int64_t>(kept.size())) {
      kept.emplace_back(order, std::move(record));
    } else {
      kept[static_cast<size_t>(slot)] = {order, std::move(record)};
    }
    return Status::Ok();
  };

  const bool has_range = query.start_micros.has_value() || query.end_micros.has_value();
  for (const SegmentFile& segment : segments) {
    const bool active = segment.path == active_path;
    if (active && active_size == 0) continue;
    if (has_range && !active) {
      std::optional<SegmentSummary> summary = ReadSummary(segment.path);
      if (summary && (!summary->min_micros || !Overlaps(query, *summary->min_micros, *summary->max_micros))) {
        continue;
      }
    }
    auto bytes = data::ReadFileBytes(segment.path, active ? static_cast<size_t>(active_size) : 0);
    if (!bytes.ok()) {
      if (!fs::exists(segment.path)) continue;  // removed since listed
      return Unavailable("cannot read prediction log segment " + segment.path + ": " + bytes.status().message());
    }
    KILN_RETURN_IF_ERROR(scanner.Scan(segment.path, bytes->view(), keep));
  }

  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second.timestamp_micros != b.second.timestamp_micros
               ? a.second.timestamp_micros < b.second.timestamp_micros
               : a.first < b.first;
  });
  result.records.reserve(kept.size());
  for (auto& [order, record] : kept) result.records.push_back(std::move(record));
  std::stable_sort(result.drops.begin(), result.drops.end(),
                   [](const DropMarker& a, const DropMarker& b) { return a.first_micros < b.first_micros; });
  return result;
}

}  // namespace

Result<std::unique_ptr<PredictionStore>> OpenFilePredictionStore(const std::string& directory,
                                                                 int64_t segment_bytes) {
  if (segment_bytes <= 0) {
    return InvalidArgument("prediction log segment size must be positive, got " + std::to_string(segment_bytes));
  }
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) return Unavailable("cannot create prediction log directory " + directory + ": " + error.message());
  KILN_ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(directory));
  int64_t next_seq = segments.empty() ? 1 : segments.back().seq + 1;
  return std::unique_ptr<PredictionStore>(std::make_unique<FilePredictionStore>(directory, segment_bytes, next_seq));
}

}  // namespace kiln::serving
