// ReadTar and ExtractTar: a streaming parser for ustar, pax and GNU long-name
// archives, and an extractor that keeps every write inside its destination.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "training/tar_archive.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;
constexpr size_t kBlockSize = 512;
constexpr int kMaxSymlinkDepth = 40;

// Where archive bytes come from.
class Source {
 public:
  virtual ~Source() = default;
  // Up to `size` bytes; 0 at the end.
  virtual Result<size_t> Read(char* buffer, size_t size) = 0;
};

class StringSource : public Source {
 public:
  explicit StringSource(std::string_view bytes) : bytes_(bytes) {}
  Result<size_t> Read(char* buffer, size_t size) override {
    size_t n = std::min(size, bytes_.size() - offset_);
    std::memcpy(buffer, bytes_.data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  std::string_view bytes_;
  size_t offset_ = 0;
};

class FileSource : public Source {
 public:
  FileSource(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileSource() override { ::close(fd_); }
  Result<size_t> Read(char* buffer, size_t size) override {
    while (true) {
      ssize_t n = ::read(fd_, buffer, size);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Internal("cannot read '" + path_ + "': " + std::strerror(errno));
    }
  }

 private:
  int fd_;
  std::string path_;
};

enum class MemberKind { kFile, kDirectory, kSymlink, kHardLink, kOther };

struct MemberHeader {
  std::string path;  // as stored
  MemberKind kind = MemberKind::kFile;
  char type_flag = '0';
  uint32_t mode = 0644;
  uint64_t size = 0;
  std::string link_target;
};

std::string FieldString(const char* field, size_t width) { return std::string(field, strnlen(field, width)); }

// Octal (space/NUL terminated) or GNU base-256 when the high bit is set.
std::optional<uint64_t> ParseNumber(const char* field, size_t width) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(field);
  uint64_t value = 0;
  if (bytes[0] & 0x80) {
    value = bytes[0] & 0x7f;
    for (size_t i = 1; i < width; ++i) {
      if (value >> 56) return std::nullopt;
      value = (value << 8) | bytes[i];
    }
    return value;
  }
  size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) value = (value << 3) | (field[i] - '0');
  for (; i < width; ++i) {
    if (field[i] != ' ' && field[i] != '\0') return std::nullopt;
  }
  return value;
}

// Reads members one by one; each member's data must be consumed (or is
// skipped) before the next Next().
class TarParser {
 public:
  explicit TarParser(Source& source) : source_(source) {}

  // False at the end of the archive.
  Result<bool> Next(MemberHeader* member) {
    KILN_RETURN_IF_ERROR(SkipRest());
    std::optional<std::string> long_path, long_link;
    std::optional<uint64_t> pax_size;
    while (true) {
      char block[kBlockSize];
      KILN_ASSIGN_OR_RETURN(size_t got, ReadUpTo(block, kBlockSize));
      if (got == 0) return false;  // no end marker: accepted, as GNU tar does
      if (got < kBlockSize) return Truncated("a header");
      bool all_zero = true;
      for (char c : block) all_zero = all_zero && c == '\0';
      if (all_zero) return false;
      KILN_RETURN_IF_ERROR(CheckChecksum(block));
      MemberHeader header;
      header.type_flag = block[156];
      std::optional<uint64_t> size = ParseNumber(block + 124, 12);
      std::optional<uint64_t> mode = ParseNumber(block + 100, 8);
      if (!size || !mode)
        return NotTar("bad size or mode field at byte " + std::to_string(offset_ - kBlockSize));
      header.size = pax_size.value_or(*size);
      header.mode = static_cast<uint32_t>(*mode);
      header.path = FieldString(block, 100);
      if (std::memcmp(block + 257, "ustar\0", 6) == 0 && block[345] != '\0') {
        header.path = FieldString(block + 345, 155) + "/" + header.path;
      }
      header.link_target = FieldString(block + 157, 100);
      remaining_ = header.size;
      padding_ = (kBlockSize - header.size % kBlockSize) % kBlockSize;
      char type = header.type_flag;
      if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
        KILN_ASSIGN_OR_RETURN(std::string data, ReadAllData(header.size));
        if (type == 'L') long_path = FieldString(data.data(), data.size());
        if (type == 'K') long_link = FieldString(data.data(), data.size());
        if (type == 'x') KILN_RETURN_IF_ERROR(ParsePax(data, &long_path, &long_link, &pax_size));
        continue;
      }
      if (long_path) header.path = *long_path;
      if (long_link) header.link_target = *long_link;
      switch (type) {
        case '0':
        case '\0':
        case '7':
          header.kind = MemberKind::kFile;
          break;
        case '5':
          header.kind = MemberKind::kDirectory;
          break;
        case '2':
          header.kind = MemberKind::kSymlink;
          break;
        case '1':
          header.kind = MemberKind::kHardLink;
          break;
        default:
          header.kind = MemberKind::kOther;
          break;
      }
      if (header.kind != MemberKind::kFile) {  // only regular files carry data
        KILN_RETURN_IF_ERROR(SkipRest());
      }
      *member = std::move(header);
      return true;
    }
  }

  // Passes the current member's data to `consume` in chunks.
  Status ReadData(const std::function<Status(const char*, size_t)>& consume) {
    std::vector<char> buffer(1 << 16);
    while (remaining_ > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(remaining_, buffer.size()));
      KILN_ASSIGN_OR_RETURN(size_t got, ReadUpTo(buffer.data(), want));
      if (got < want) return Truncated("member data");
      remaining_ -= got;
      KILN_RETURN_IF_ERROR(consume(buffer.data(), got));
    }
    return SkipRest();
  }

 private:
  Result<size_t> ReadUpTo(char* buffer, size_t size) {
    size_t done = 0;
    while (done < size) {
      KILN_ASSIGN_OR_RETURN(size_t n, source_.Read(buffer + done, size - done));
      if (n == 0) break;
      done += n;
    }
    offset_ += done;
    return done;
  }

  Status SkipRest() {
    char buffer[kBlockSize];
    uint64_t left = remaining_ + padding_;
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, kBlockSize));
      KILN_ASSIGN_OR_RETURN(size_t got, ReadUpTo(buffer, want));
      if (got < want) return Truncated("member data");
      left -= got;
    }
    remaining_ = padding_ = 0;
    return Status::Ok();
  }

  Result<std::string> ReadAllData(uint64_t size) {
    if (size > (1 << 20)) return NotTar("extended header of " + std::to_string(size) + " bytes");
    std::string data;
    KILN_RETURN_IF_ERROR(ReadData([&](const char* chunk, size_t n) {
      data.append(chunk, n);
      return Status::Ok();
    }));
    return data;
  }

  Status CheckChecksum(const char* block) {
    std::optional<uint64_t> stored = ParseNumber(block + 148, 8);
    uint64_t sum = 8 * ' ';
    for (size_t i = 0; i < kBlockSize; ++i) {
      if (i < 148 || i >= 156) sum += static_cast<unsigned char>(block[i]);
    }
    if (!stored || *stored != sum) {
      return NotTar("header checksum mismatch at byte " + std::to_string(offset_ - kBlockSize));
    }
    return Status::Ok();
  }

  Status ParsePax(const std::string& data, std::optional<std::string>* path, std::optional<std::string>* link,
                  std::optional<uint64_t>* size) {
    size_t at = 0;
    while (at < data.size()) {
      size_t space = data.find(' ', at);
      if (space == std::string::npos) return NotTar("malformed pax header");
      size_t length = std::strtoull(data.c_str() + at, nullptr, 10);
      if (length <= space - at || at + length > data.size() || data[at + length - 1] != '\n') {
        return NotTar("malformed pax header");
      }
      std::string record = data.substr(space + 1, at + length - space - 2);
      at += length;
      size_t equals = record.find('=');
      if (equals == std::string::npos) return NotTar("malformed pax record '" + record + "'");
      std::string key = record.substr(0, equals), value = record.substr(equals + 1);
      if (key == "path") *path = value;
      if (key == "linkpath") *link = value;
      if (key == "size") *size = std::strtoull(value.c_str(), nullptr, 10);
    }
    return Status::Ok();
  }

  Status NotTar(const std::string& why) { return InvalidArgument("not a tar archive: " + why); }
  Status Truncated(const std::string& what) {
    return InvalidArgument("truncated tar archive: it ends inside " + what + " at byte " +
                           std::to_string(offset_));
  }

  Source& source_;
  uint64_t offset_ = 0;
  uint64_t remaining_ = 0;
  uint64_t padding_ = 0;
};

Status EntryError(const std::string& path, const std::string& why) {
  return InvalidArgument("tar entry '" + path + "': " + why);
}

// Splits a stored path into segments, dropping "." and empty ones; refuses
// absolute paths and "..". An empty result is the archive's root.
Result<std::vector<std::string>> EntrySegments(const std::string& path) {
  if (!path.empty() && path.front() == '/') return EntryError(path, "absolute paths are not allowed");
  if (path.find('\0') != std::string::npos) return EntryError(path, "path contains a NUL byte");
  std::vector<std::string> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find('/', start), path.size());
    std::string segment = path.substr(start, end - start);
    if (segment == "..") return EntryError(path, "'..' segments are not allowed");
    if (!segment.empty() && segment != ".") segments.push_back(std::move(segment));
    start = end + 1;
  }
  return segments;
}

std::string Join(const std::vector<std::string>& segments, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += (i ? "/" : "") + segments[i];
  return out;
}

Status UnsupportedKind(const MemberHeader& member) {
  if (member.kind == MemberKind::kHardLink) return EntryError(member.path, "hard links are not supported");
  return EntryError(member.path, std::string("unsupported entry type '") + member.type_flag +
                                     "' (only files, folders and symlinks)");
}

// Follows `target` (relative to the link's folder) through the archive's own
// symlinks, without touching the disk; fails when it would leave the root.
Status CheckLinkStaysInside(const std::string& link_path, const std::map<std::string, std::string>& links) {
  std::vector<std::string> stack;
  int depth = 0;
  std::function<Status(const std::string&)> walk = [&](const std::string& target) -> Status {
    if (target.empty() || target.front() == '/') {
      return EntryError(link_path, "symlink target '" + links.at(link_path) + "' is absolute");
    }
    size_t start = 0;
    while (start <= target.size()) {
      size_t end = std::min(target.find('/', start), target.size());
      std::string segment = target.substr(start, end - start);
      start = end + 1;
      if (segment.empty() || segment == ".") continue;
      if (segment == "..") {
        if (stack.empty()) {
          return EntryError(link_path,
                            "symlink target '" + links.at(link_path) + "' points outside the archive");
        }
        stack.pop_back();
        continue;
      }
      stack.push_back(segment);
      auto link = links.find(Join(stack, stack.size()));
      if (link == links.end()) continue;
      if (++depth > kMaxSymlinkDepth) return EntryError(link_path, "too many levels of symlinks");
      stack.pop_back();
      KILN_RETURN_IF_ERROR(walk(link->second));
    }
    return Status::Ok();
  };
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> segments, EntrySegments(link_path));
  stack.assign(segments.begin(), segments.end() - 1);
  return walk(links.at(link_path));
}

// Creates dest/segments[0..count) as real folders, refusing symlinks and files on the way.
Status MakeFolders(const std::string& dest, const std::string& entry,
                   const std::vector<std::string>& segments, size_t count) {
  std::string path = dest;
  for (size_t i = 0; i < count; ++i) {
    path += "/" + segments[i];
    if (::mkdir(path.c_str(), 0755) == 0) continue;
    if (errno != EEXIST) return Internal("cannot create folder '" + path + "': " + std::strerror(errno));
    struct stat info;
    if (::lstat(path.c_str(), &info) != 0)
      return Internal("cannot inspect '" + path + "': " + std::strerror(errno));
    if (S_ISLNK(info.st_mode)) {
      return EntryError(entry, "'" + Join(segments, i + 1) + "' is a symlink; refusing to write through it");
    }
    if (!S_ISDIR(info.st_mode)) return EntryError(entry, "'" + Join(segments, i + 1) + "' is not a folder");
  }
  return Status::Ok();
}

Status ExtractFile(TarParser& parser, const MemberHeader& member, const std::string& dest,
                   const std::vector<std::string>& segments) {
  KILN_RETURN_IF_ERROR(MakeFolders(dest, member.path, segments, segments.size() - 1));
  std::string path = dest + "/" + Join(segments, segments.size());
  mode_t mode = (member.mode & 0111) ? 0755 : 0644;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0 && (errno == ELOOP || errno == EISDIR)) {
    return EntryError(member.path, errno == ELOOP ? "a symlink is in the way" : "a folder is in the way");
  }
  if (fd < 0) return Internal("cannot create '" + path + "': " + std::strerror(errno));
  Status status = parser.ReadData([&](const char* data, size_t size) -> Status {
    while (size > 0) {
      ssize_t n = ::write(fd, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Internal("cannot write '" + path + "': " + std::strerror(errno));
      data += n;
      size -= static_cast<size_t>(n);
    }
    return Status::Ok();
  });
  if (status.ok() && ::fchmod(fd, mode) != 0) status = Internal("cannot chmod '" + path + "'");
  ::close(fd);
  return status;
}

Status Extract(Source& source, const std::string& dest_dir) {
  std::error_code error;
  fs::create_directories(dest_dir, error);
  if (error) return Internal("cannot create folder '" + dest_dir + "': " + error.message());
  if (!fs::is_empty(dest_dir, error) || error) {
    return FailedPrecondition("cannot extract into '" + dest_dir + "': the folder is not empty");
  }
  std::string dest = fs::path(dest_dir).lexically_normal().string();
  while (dest.size() > 1 && dest.back() == '/') dest.pop_back();
  TarParser parser(source);
  std::map<std::string, std::string> links;  // cleaned path → target; created last
  MemberHeader member;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool more, parser.Next(&member));
    if (!more) break;
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> segments, EntrySegments(member.path));
    if (segments.empty()) continue;  // "./": the destination itself
    for (size_t i = 1; i <= segments.size(); ++i) {
      std::string prefix = Join(segments, i);
      if (links.count(prefix) && (i < segments.size() || member.kind != MemberKind::kSymlink)) {
        return EntryError(member.path, "'" + prefix + "' is a symlink; refusing to write through it");
      }
    }
    switch (member.kind) {
      case MemberKind::kFile:
        KILN_RETURN_IF_ERROR(ExtractFile(parser, member, dest, segments));
        break;
      case MemberKind::kDirectory:
        KILN_RETURN_IF_ERROR(MakeFolders(dest, member.path, segments, segments.size()));
        break;
      case MemberKind::kSymlink:
        links[Join(segments, segments.size())] = member.link_target;
        break;
      default:
        return UnsupportedKind(member);
    }
  }
  for (const auto& [path, target] : links) KILN_RETURN_IF_ERROR(CheckLinkStaysInside(path, links));
  for (const auto& [path, target] : links) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> segments, EntrySegments(path));
    KILN_RETURN_IF_ERROR(MakeFolders(dest, path, segments, segments.size() - 1));
    if (::symlink(target.c_str(), (dest + "/" + path).c_str()) != 0) {
      if (errno == EEXIST) return EntryError(path, "symlink would replace another entry");
      return Internal("cannot create symlink '" + dest + "/" + path + "': " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<TarEntry>> ReadTar(std::string_view archive) {
  StringSource source(archive);
  TarParser parser(source);
  std::vector<TarEntry> entries;
  MemberHeader member;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool more, parser.Next(&member));
    if (!more) break;
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> segments, EntrySegments(member.path));
    if (segments.empty()) continue;
    TarEntry entry;
    entry.path = Join(segments, segments.size());
    switch (member.kind) {
      case MemberKind::kFile:
        entry.executable = (member.mode & 0111) != 0;
        KILN_RETURN_IF_ERROR(parser.ReadData([&](const char* data, size_t size) {
          entry.contents.append(data, size);
          return Status::Ok();
        }));
        break;
      case MemberKind::kDirectory:
        entry.type = TarEntryType::kDirectory;
        break;
      case MemberKind::kSymlink:
        entry.type = TarEntryType::kSymlink;
        entry.link_target = member.link_target;
        break;
      default:
        return UnsupportedKind(member);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

Status ExtractTar(const std::string& tar_path, const std::string& dest_dir) {
  int fd = ::open(tar_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::string message = "cannot open archive '" + tar_path + "': " + std::strerror(errno);
    return errno == ENOENT ? NotFound(std::move(message)) : Internal(std::move(message));
  }
  FileSource source(fd, tar_path);
  return Extract(source, dest_dir);
}

Status ExtractTarBytes(std::string_view archive, const std::string& dest_dir) {
  StringSource source(archive);
  return Extract(source, dest_dir);
}

}  // namespace kiln::training
