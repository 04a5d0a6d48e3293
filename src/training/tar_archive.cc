// TarWriter: deterministic ustar (+ pax for long names). Reading and
// extracting live in tar_archive_reader.cc. Layout: docs/formats/snapshot.md.
#include "training/tar_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "common/hashing.h"

namespace kiln::training {
namespace {

constexpr size_t kBlockSize = 512;
constexpr uint64_t kMaxOctalSize = 077777777777ULL;  // 11 octal digits
constexpr const char* kPaxHeaderName = "././@PaxHeader";

// Where archive bytes go; every byte is also hashed and counted.
class Sink {
 public:
  virtual ~Sink() = default;
  Status Write(const char* data, size_t size) {
    hasher_.Update(data, size);
    bytes_ += static_cast<int64_t>(size);
    return WriteRaw(data, size);
  }
  Status WriteZeros(size_t size) {
    static const char kZeros[kBlockSize] = {};
    while (size > 0) {
      size_t chunk = std::min(size, kBlockSize);
      KILN_RETURN_IF_ERROR(Write(kZeros, chunk));
      size -= chunk;
    }
    return Status::Ok();
  }
  std::string FinishHex() { return hasher_.FinishHex(); }
  int64_t bytes() const { return bytes_; }

 protected:
  virtual Status WriteRaw(const char* data, size_t size) = 0;

 private:
  Sha256 hasher_;
  int64_t bytes_ = 0;
};

class StringSink : public Sink {
 public:
  std::string& text() { return text_; }

 protected:
  Status WriteRaw(const char* data, size_t size) override {
    text_.append(data, size);
    return Status::Ok();
  }

 private:
  std::string text_;
};

// Buffered writes to a file descriptor it owns.
class FileSink : public Sink {
 public:
  FileSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileSink() override { ::close(fd_); }
  Status Flush() {
    size_t done = 0;
    while (done < buffer_.size()) {
      ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Internal("cannot write '" + path_ + "': " + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    buffer_.clear();
    return Status::Ok();
  }

 protected:
  Status WriteRaw(const char* data, size_t size) override {
    buffer_.append(data, size);
    return buffer_.size() >= (1 << 20) ? Flush() : Status::Ok();
  }

 private:
  int fd_;
  std::string path_;
  std::string buffer_;
};

Status ValidateMemberPath(const std::string& path) {
  auto bad = [&](const char* rule) { return InvalidArgument("archive path '" + path + "': " + rule); };
  if (path.empty()) return bad("empty path");
  if (path.find('\0') != std::string::npos) return bad("contains a NUL byte");
  if (path.front() == '/') return bad("absolute paths are not allowed");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view segment(path.data() + start, end - start);
    if (segment.empty()) return bad("empty segment (double or trailing '/')");
    if (segment == "." || segment == "..") return bad("'.' and '..' segments are not allowed");
    start = end + 1;
  }
  return Status::Ok();
}

void PutField(char* field, size_t width, std::string_view value) {
  std::memcpy(field, value.data(), std::min(width, value.size()));
}

// `width - 1` zero-padded octal digits followed by NUL.
void PutOctal(char* field, size_t width, uint64_t value) {
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  field[width - 1] = '\0';
}

// Splits a path into ustar's prefix (≤ 155 bytes) and name (≤ 100 bytes).
std::optional<std::pair<std::string_view, std::string_view>> SplitUstarPath(std::string_view path) {
  if (path.size() <= 100) return std::make_pair(std::string_view(), path);
  for (size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1)) {
    if (slash > 155) break;
    size_t name_size = path.size() - slash - 1;
    if (name_size == 0 || name_size > 100 || slash == 0) continue;
    return std::make_pair(path.substr(0, slash), path.substr(slash + 1));
  }
  return std::nullopt;
}

// "<length> <key>=<value>\n" where <length> counts the whole record.
std::string PaxRecord(std::string_view key, std::string_view value) {
  size_t body = 1 + key.size() + 1 + value.size() + 1;
  size_t total = body + std::to_string(body).size();
  while (body + std::to_string(total).size() != total) total = body + std::to_string(total).size();
  return std::to_string(total) + " " + std::string(key) + "=" + std::string(value) + "\n";
}

std::string UstarHeader(std::string_view prefix, std::string_view name, char type, uint32_t mode,
                        uint64_t size, std::string_view link_target) {
  std::string block(kBlockSize, '\0');
  char* h = block.data();
  PutField(h, 100, name);
  PutOctal(h + 100, 8, mode);
  PutOctal(h + 108, 8, 0);  // uid
  PutOctal(h + 116, 8, 0);  // gid
  PutOctal(h + 124, 12, size);
  PutOctal(h + 136, 12, 0);  // mtime
  h[156] = type;
  PutField(h + 157, 100, link_target);
  std::memcpy(h + 257,
              "ustar\0"
              "00",
              8);
  // uname (265) and gname (297) stay empty.
  PutOctal(h + 329, 8, 0);  // devmajor
  PutOctal(h + 337, 8, 0);  // devminor
  PutField(h + 345, 155, prefix);
  std::memset(h + 148, ' ', 8);
  uint32_t checksum = 0;
  for (unsigned char c : block) checksum += c;
  PutOctal(h + 148, 7, checksum);  // six digits, NUL, then the space left above
  return block;
}

Status WritePadded(Sink& sink, const std::string& data) {
  KILN_RETURN_IF_ERROR(sink.Write(data.data(), data.size()));
  return sink.WriteZeros((kBlockSize - data.size() % kBlockSize) % kBlockSize);
}

// Header(s) of one member: a pax header first when ustar cannot hold it.
Status WriteHeaders(Sink& sink, const TarEntry& entry, uint64_t size) {
  std::string header_path = entry.path;
  char type = '0';
  uint32_t mode = entry.executable ? 0755 : 0644;
  if (entry.type == TarEntryType::kDirectory) {
    header_path += '/';
    type = '5';
    mode = 0755;
  } else if (entry.type == TarEntryType::kSymlink) {
    type = '2';
    mode = 0777;
  }
  std::string pax;
  auto split = SplitUstarPath(header_path);
  std::string_view prefix, name;
  if (split) {
    std::tie(prefix, name) = *split;
  } else {
    pax += PaxRecord("path", header_path);
    name = std::string_view(header_path).substr(header_path.size() - 100);
  }
  std::string_view link = entry.link_target;
  if (link.size() > 100) {
    pax += PaxRecord("linkpath", link);
    link = link.substr(0, 100);
  }
  if (size > kMaxOctalSize) pax += PaxRecord("size", std::to_string(size));
  if (!pax.empty()) {
    KILN_RETURN_IF_ERROR(
        sink.Write(UstarHeader("", kPaxHeaderName, 'x', 0644, pax.size(), "").data(), kBlockSize));
    KILN_RETURN_IF_ERROR(WritePadded(sink, pax));
  }
  std::string header = UstarHeader(prefix, name, type, mode, std::min(size, kMaxOctalSize), link);
  return sink.Write(header.data(), header.size());
}

Status OpenError(const std::string& path) {
  std::string message = "cannot read '" + path + "': " + std::strerror(errno);
  if (errno == ENOENT) return NotFound(std::move(message));
  if (errno == EACCES || errno == EPERM) return PermissionDenied(std::move(message));
  return FailedPrecondition(std::move(message));
}

// Streams a file from disk; its size must not change while it is read.
Status WriteHostFile(Sink& sink, const TarEntry& entry, const std::string& host_path,
                     int64_t* content_bytes) {
  int fd = ::open(host_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return OpenError(host_path);
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0) return OpenError(host_path);
  if (!S_ISREG(info.st_mode))
    return FailedPrecondition("cannot archive '" + host_path + "': not a regular file");
  uint64_t size = static_cast<uint64_t>(info.st_size);
  KILN_RETURN_IF_ERROR(WriteHeaders(sink, entry, size));
  std::string buffer(1 << 20, '\0');
  uint64_t left = size;
  auto changed = [&] {
    return FailedPrecondition("'" + host_path + "' changed while the archive was being written; try again");
  };
  while (true) {
    // Read one byte past the expected end to notice a file that grew.
    size_t want = static_cast<size_t>(std::min<uint64_t>(left + 1, buffer.size()));
    ssize_t n = ::read(fd, buffer.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return OpenError(host_path);
    if (n == 0) break;
    if (static_cast<uint64_t>(n) > left) return changed();
    KILN_RETURN_IF_ERROR(sink.Write(buffer.data(), static_cast<size_t>(n)));
    left -= static_cast<uint64_t>(n);
  }
  if (left != 0) return changed();
  *content_bytes += static_cast<int64_t>(size);
  return sink.WriteZeros((kBlockSize - size % kBlockSize) % kBlockSize);
}

}  // namespace

void TarWriter::AddFile(std::string path, std::string host_path, bool executable) {
  Member member;
  member.entry.path = std::move(path);
  member.entry.executable = executable;
  member.host_path = std::move(host_path);
  members_.push_back(std::move(member));
}

void TarWriter::AddBytes(std::string path, std::string contents, bool executable) {
  Member member;
  member.entry.path = std::move(path);
  member.entry.executable = executable;
  member.entry.contents = std::move(contents);
  members_.push_back(std::move(member));
}

void TarWriter::AddSymlink(std::string path, std::string target) {
  Member member;
  member.entry.path = std::move(path);
  member.entry.type = TarEntryType::kSymlink;
  member.entry.link_target = std::move(target);
  members_.push_back(std::move(member));
}

void TarWriter::AddDirectory(std::string path) {
  Member member;
  member.entry.path = std::move(path);
  member.entry.type = TarEntryType::kDirectory;
  members_.push_back(std::move(member));
}

namespace {

// Validates, sorts by path (refusing duplicates) and writes every member,
// then the end-of-archive marker.
template <typename MemberT>
Result<TarSummary> WriteSorted(const std::vector<MemberT>& members, Sink& sink) {
  std::vector<const MemberT*> sorted;
  for (const MemberT& member : members) sorted.push_back(&member);
  std::sort(sorted.begin(), sorted.end(),
            [](const MemberT* a, const MemberT* b) { return a->entry.path < b->entry.path; });
  for (size_t i = 0; i < sorted.size(); ++i) {
    const std::string& path = sorted[i]->entry.path;
    KILN_RETURN_IF_ERROR(ValidateMemberPath(path));
    if (i > 0 && sorted[i - 1]->entry.path == path) {
      return InvalidArgument("archive path '" + path + "' appears twice");
    }
  }
  TarSummary summary;
  for (const MemberT* member : sorted) {
    const TarEntry& entry = member->entry;
    if (entry.type == TarEntryType::kFile && !member->host_path.empty()) {
      KILN_RETURN_IF_ERROR(WriteHostFile(sink, entry, member->host_path, &summary.content_bytes));
    } else if (entry.type == TarEntryType::kFile) {
      KILN_RETURN_IF_ERROR(WriteHeaders(sink, entry, entry.contents.size()));
      KILN_RETURN_IF_ERROR(WritePadded(sink, entry.contents));
      summary.content_bytes += static_cast<int64_t>(entry.contents.size());
    } else {
      if (entry.type == TarEntryType::kSymlink && entry.link_target.empty()) {
        return InvalidArgument("archive path '" + entry.path + "': symlink with an empty target");
      }
      KILN_RETURN_IF_ERROR(WriteHeaders(sink, entry, 0));
    }
    ++summary.members;
  }
  KILN_RETURN_IF_ERROR(sink.WriteZeros(2 * kBlockSize));  // end-of-archive marker
  summary.archive_bytes = sink.bytes();
  summary.sha256 = sink.FinishHex();
  return summary;
}

}  // namespace

Result<TarSummary> TarWriter::WriteToFile(const std::string& out_path) const {
  int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("cannot create '" + out_path + "': " + std::strerror(errno));
  FileSink sink(fd, out_path);
  Result<TarSummary> summary = WriteSorted(members_, sink);
  Status flushed = summary.ok() ? sink.Flush() : Status::Ok();
  if (!summary.ok() || !flushed.ok()) {
    ::unlink(out_path.c_str());
    return summary.ok() ? flushed : summary.status();
  }
  return summary;
}

Result<std::string> TarWriter::WriteToString() const {
  StringSink sink;
  KILN_RETURN_IF_ERROR(WriteSorted(members_, sink).status());
  return std::move(sink.text());
}

Result<std::string> WriteTar(const std::vector<TarEntry>& entries) {
  TarWriter writer;
  for (const TarEntry& entry : entries) {
    switch (entry.type) {
      case TarEntryType::kFile:
        writer.AddBytes(entry.path, entry.contents, entry.executable);
        break;
      case TarEntryType::kSymlink:
        writer.AddSymlink(entry.path, entry.link_target);
        break;
      case TarEntryType::kDirectory:
        writer.AddDirectory(entry.path);
        break;
    }
  }
  return writer.WriteToString();
}

}  // namespace kiln::training
