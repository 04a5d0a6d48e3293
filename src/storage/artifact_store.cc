#include "storage/artifact_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unordered_set>
#include <utility>

#include "common/hashing.h"

namespace kiln::storage {
namespace {

namespace fs = std::filesystem;

constexpr size_t kChunkBytes = 1 << 20;
constexpr int64_t kStaleTempMillis = int64_t{60} * 60 * 1000;
constexpr size_t kDigestHexLength = 64;

constexpr std::string_view kColumns = "path, is_dir, digest, size_bytes, modified_time";
// The rows at and under the path bound to its '?', following `parent` links.
constexpr std::string_view kSubtree =
    "WITH RECURSIVE subtree(path) AS ("
    "SELECT path FROM artifact_entries WHERE path = ? "
    "UNION ALL SELECT e.path FROM artifact_entries e JOIN subtree s ON e.parent = s.path) ";

// Owns a POSIX file descriptor and closes it when destroyed.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  ~FileDescriptor() { Reset(); }
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

Status ErrnoStatus(std::string_view what, const std::string& file, int error) {
  std::string message = std::string(what) + " '" + file + "': " + std::strerror(error);
  if (error == ENOENT) return NotFound(message);
  return Internal(message);
}

Result<FileDescriptor> OpenFile(const std::string& path, int flags) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus("cannot open", path, errno);
  return FileDescriptor(fd);
}

Status SyncFile(int fd, const std::string& path) {
  if (::fsync(fd) != 0) return ErrnoStatus("cannot fsync", path, errno);
  return Status::Ok();
}

Status SyncDirectory(const std::string& directory) {
  KILN_ASSIGN_OR_RETURN(FileDescriptor fd, OpenFile(directory, O_RDONLY | O_DIRECTORY));
  return SyncFile(fd.get(), directory);
}

// Creates `directory` and its missing parents, fsyncing each parent that
// gained an entry so the new directories survive a crash.
Status MakeDirectories(const fs::path& directory) {
  std::error_code error;
  if (fs::is_directory(directory, error)) return Status::Ok();
  fs::path parent = directory.parent_path();
  if (!parent.empty() && parent != directory) KILN_RETURN_IF_ERROR(MakeDirectories(parent));
  if (::mkdir(directory.c_str(), 0755) != 0) {
    if (errno == EEXIST) return Status::Ok();
    return ErrnoStatus("cannot create directory", directory.string(), errno);
  }
  return SyncDirectory(parent.empty() ? "." : parent.string());
}

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", path, errno);
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
  return Status::Ok();
}

// Reads the whole file from its start in fixed-size chunks, passing each to
// `sink` (hashing or copying), so memory use is independent of the file size.
template <typename Sink>
Result<int64_t> StreamFile(int fd, const std::string& path, Sink sink) {
  if (::lseek(fd, 0, SEEK_SET) < 0) return ErrnoStatus("cannot seek in", path, errno);
  std::vector<char> buffer(kChunkBytes);
  int64_t total = 0;
  while (true) {
    ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot read", path, errno);
    }
    if (got == 0) return total;
    KILN_RETURN_IF_ERROR(sink(buffer.data(), static_cast<size_t>(got)));
    total += got;
  }
}

// A new, uniquely named file in `directory`.
Result<std::pair<std::string, FileDescriptor>> CreateTempFile(const std::string& directory,
                                                              std::string_view prefix) {
  std::string name = directory + "/" + std::string(prefix) + "XXXXXX";
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot create a temporary file in", directory, errno);
  return std::pair(std::move(name), FileDescriptor(fd));
}

// Copies the file behind `fd` into a new fsynced file in `directory`.
Result<std::string> CopyToDirectory(int fd, const std::string& path, const std::string& directory) {
  KILN_RETURN_IF_ERROR(MakeDirectories(directory));
  KILN_ASSIGN_OR_RETURN(auto staged, CreateTempFile(directory, "copy-"));
  std::string& staged_path = staged.first;
  FileDescriptor& staged_fd = staged.second;
  auto copied = StreamFile(fd, path, [&](const char* data, size_t size) {
    return WriteAll(staged_fd.get(), data, size, staged_path);
  });
  Status status = copied.ok() ? SyncFile(staged_fd.get(), staged_path) : copied.status();
  if (!status.ok()) {
    ::unlink(staged_path.c_str());
    return status;
  }
  return std::move(staged_path);
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t code_point;
    if ((lead & 0xE0) == 0xC0) {
      extra = 1, code_point = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, code_point = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, code_point = lead & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    static constexpr uint32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};
    if (code_point < kSmallest[extra] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// The path as it may appear in a message: control characters (and, when the
// path is not UTF-8, every non-ASCII byte) escaped as \xNN, long paths cut.
std::string Printable(std::string_view path) {
  constexpr size_t kShown = 120;
  bool escape_high = !IsValidUtf8(path);
  std::string out;
  for (char c : path.substr(0, kShown)) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F || (escape_high && byte >= 0x80)) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += c;
    }
  }
  if (path.size() > kShown) out += "...";
  return out;
}

Status BadPath(std::string_view path, std::string_view rule) {
  return InvalidArgument("invalid artifact path '" + Printable(path) + "': " + std::string(rule));
}

// "a/b/c" -> "a/b"; "a" -> "".
std::string ParentOf(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

// "a/b/c" -> {"a", "a/b"}.
std::vector<std::string> AncestorsOf(std::string_view path) {
  std::vector<std::string> out;
  for (size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1)) {
    out.emplace_back(path.substr(0, slash));
  }
  return out;
}

bool IsDigest(std::string_view text) {
  return text.size() == kDigestHexLength && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

ArtifactInfo InfoFromRow(const Row& row) {
  ArtifactInfo info;
  info.path = row.String(0);
  info.is_dir = row.Int(1) != 0;
  info.digest = row.IsNull(2) ? std::string() : row.String(2);
  info.size_bytes = row.Int(3);
  info.modified_millis = row.Int(4);
  return info;
}

// Serializes tree changes and object removals across threads and processes.
Status LockTree(Connection& connection) {
  KILN_ASSIGN_OR_RETURN(
      int64_t changed,
      connection.Execute("UPDATE artifact_tree_lock SET generation = generation + 1 WHERE id = 1"));
  if (changed != 1) return Internal("artifact_tree_lock has no row: the storage migrations were not applied");
  return Status::Ok();
}

// Checks that a file may be stored at `path`; returns the digest it replaces
// ("" when there is none).
Result<std::string> CheckFilePlacement(Connection& connection, const std::string& path) {
  std::string sql = "SELECT path, is_dir, digest FROM artifact_entries WHERE path IN (?";
  std::vector<SqlValue> params = {path};
  for (std::string& ancestor : AncestorsOf(path)) {
    sql += ", ?";
    params.emplace_back(std::move(ancestor));
  }
  sql += ")";
  KILN_ASSIGN_OR_RETURN(Rows rows, connection.Query(sql, params));
  std::string replaced;
  for (const Row& row : rows) {
    std::string found = row.String(0);
    bool is_dir = row.Int(1) != 0;
    if (found == path && is_dir) {
      return FailedPrecondition("cannot store a file at '" + path + "': it is a directory");
    }
    if (found == path) {
      replaced = row.String(2);
    } else if (!is_dir) {
      return FailedPrecondition("cannot store '" + path + "': '" + found + "' is a file, not a directory");
    }
  }
  return replaced;
}

// Records `path` -> digest, creating missing parent directory rows.
Status RecordFile(Connection& connection, const std::string& path, const std::string& digest, int64_t size,
                  int64_t now) {
  for (const std::string& ancestor : AncestorsOf(path)) {
    KILN_RETURN_IF_ERROR(
        connection
            .Execute("INSERT INTO artifact_entries (path, parent, is_dir, digest, size_bytes, "
                     "modified_time) VALUES (?, ?, 1, NULL, 0, ?) ON CONFLICT (path) DO NOTHING",
                     {ancestor, ParentOf(ancestor), now})
            .status());
  }
  KILN_ASSIGN_OR_RETURN(
      int64_t changed,
      connection.Execute(
          "INSERT INTO artifact_entries (path, parent, is_dir, digest, size_bytes, modified_time) "
          "VALUES (?, ?, 0, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET digest = excluded.digest, "
          "size_bytes = excluded.size_bytes, modified_time = excluded.modified_time "
          "WHERE artifact_entries.is_dir = 0",
          {path, ParentOf(path), digest, size, now}));
  if (changed != 1) return FailedPrecondition("cannot store a file at '" + path + "': it is a directory");
  return Status::Ok();
}

}  // namespace

Status ValidateArtifactPath(std::string_view path) {
  if (path.empty()) return InvalidArgument("invalid artifact path '': the path is empty");
  if (path.size() > kMaxArtifactPathBytes) {
    return BadPath(path, "longer than " + std::to_string(kMaxArtifactPathBytes) + " bytes");
  }
  if (path.find('\0') != std::string_view::npos) return BadPath(path, "NUL bytes are not allowed");
  if (std::any_of(path.begin(), path.end(), [](char c) {
        unsigned char byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7F;
      })) {
    return BadPath(path, "control characters are not allowed");
  }
  if (path.find('\\') != std::string_view::npos) {
    return BadPath(path, "backslashes are not allowed; separate directories with '/'");
  }
  if (path.front() == '/') {
    return BadPath(path, "absolute paths are not allowed; give a path relative to the artifact root");
  }
  if (!IsValidUtf8(path)) return BadPath(path, "not valid UTF-8");
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view segment = path.substr(start, slash - start);
    if (segment.empty()) return BadPath(path, "empty segments ('//' or a trailing '/') are not allowed");
    if (segment == "." || segment == "..") return BadPath(path, "'.' and '..' segments are not allowed");
    if (segment.size() > kMaxArtifactSegmentBytes) {
      return BadPath(path, "a segment is longer than " + std::to_string(kMaxArtifactSegmentBytes) + " bytes");
    }
    start = slash + 1;
  }
  return Status::Ok();
}

ArtifactStore::ArtifactStore(Database& database, std::string root_directory, Clock& clock)
    : database_(database), root_(std::move(root_directory)), clock_(clock) {}

std::string ArtifactStore::temp_directory() const { return (fs::path(root_) / "tmp").string(); }

std::string ArtifactStore::ObjectFile(const std::string& digest) const {
  return (fs::path(root_) / "objects" / digest.substr(0, 2) / digest.substr(2)).string();
}

Result<ArtifactInfo> ArtifactStore::PutFile(std::string_view logical_path, const std::string& temp_file) {
  KILN_RETURN_IF_ERROR(ValidateArtifactPath(logical_path));
  const std::string path(logical_path);
  KILN_ASSIGN_OR_RETURN(FileDescriptor source, OpenFile(temp_file, O_RDONLY));
  struct stat source_stat {};
  if (::fstat(source.get(), &source_stat) != 0) return ErrnoStatus("cannot stat", temp_file, errno);
  if (!S_ISREG(source_stat.st_mode)) return InvalidArgument("'" + temp_file + "' is not a regular file");

  Sha256 hasher;
  KILN_ASSIGN_OR_RETURN(int64_t size, StreamFile(source.get(), temp_file, [&](const char* data, size_t n) {
                          hasher.Update(data, n);
                          return Status::Ok();
                        }));
  const std::string digest = hasher.FinishHex();
  const std::string object = ObjectFile(digest);
  const std::string shard = fs::path(object).parent_path().string();
  KILN_RETURN_IF_ERROR(MakeDirectories(shard));

  // Slow work happens before the tree lock: flushing the data and, when the
  // upload sits on another filesystem, copying it next to the objects.
  std::string staged;  // a copy this call made; removed unless moved into place
  auto remove_staged = [&staged] {
    if (!staged.empty()) ::unlink(staged.c_str());
  };
  bool prepared = false;
  auto prepare = [&]() -> Status {
    if (prepared) return Status::Ok();
    struct stat shard_stat {};
    if (::stat(shard.c_str(), &shard_stat) != 0) return ErrnoStatus("cannot stat", shard, errno);
    if (shard_stat.st_dev != source_stat.st_dev) {
      KILN_ASSIGN_OR_RETURN(staged, CopyToDirectory(source.get(), temp_file, temp_directory()));
    } else {
      KILN_RETURN_IF_ERROR(SyncFile(source.get(), temp_file));
    }
    prepared = true;
    return Status::Ok();
  };
  if (::access(object.c_str(), F_OK) != 0) {
    Status status = prepare();
    if (!status.ok()) {
      remove_staged();
      return status;
    }
  }

  std::string replaced;
  bool moved_temp_file = false;
  const int64_t now = clock_.NowMillis();
  Status status = database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(LockTree(connection));
    KILN_ASSIGN_OR_RETURN(replaced, CheckFilePlacement(connection, path));
    if (::access(object.c_str(), F_OK) != 0) {
      KILN_RETURN_IF_ERROR(prepare());
      std::string from = staged.empty() ? temp_file : staged;
      if (::chmod(from.c_str(), 0444) != 0) return ErrnoStatus("cannot make read-only", from, errno);
      if (::rename(from.c_str(), object.c_str()) != 0) {
        if (errno != EXDEV || !staged.empty()) return ErrnoStatus("cannot move into place", from, errno);
        // Same device number but another mount (a bind mount): copy instead.
        KILN_ASSIGN_OR_RETURN(staged, CopyToDirectory(source.get(), temp_file, temp_directory()));
        if (::chmod(staged.c_str(), 0444) != 0) return ErrnoStatus("cannot make read-only", staged, errno);
        if (::rename(staged.c_str(), object.c_str()) != 0)
          return ErrnoStatus("cannot move into place", staged, errno);
      }
      if (staged.empty()) {
        moved_temp_file = true;
      } else {
        staged.clear();
      }
      KILN_RETURN_IF_ERROR(SyncDirectory(shard));
    }
    return RecordFile(connection, path, digest, size, now);
  });
  remove_staged();
  // An object moved in before a failed commit is complete but unreferenced;
  // CollectGarbage removes it.
  if (!status.ok()) return status;
  if (!moved_temp_file) ::unlink(temp_file.c_str());
  if (!replaced.empty() && replaced != digest) {
    // The put succeeded; an object left behind here is collected later.
    (void)RemoveUnreferenced({replaced});
  }
  return ArtifactInfo{path, false, size, digest, now};
}

Result<ArtifactInfo> ArtifactStore::PutBytes(std::string_view path, std::string_view data) {
  KILN_RETURN_IF_ERROR(ValidateArtifactPath(path));
  KILN_RETURN_IF_ERROR(MakeDirectories(temp_directory()));
  KILN_ASSIGN_OR_RETURN(auto staged, CreateTempFile(temp_directory(), "put-"));
  Status written = WriteAll(staged.second.get(), data.data(), data.size(), staged.first);
  staged.second.Reset();
  Result<ArtifactInfo> result = written.ok() ? PutFile(path, staged.first) : Result<ArtifactInfo>(written);
  if (!result.ok()) ::unlink(staged.first.c_str());
  return result;
}

Result<ArtifactInfo> ArtifactStore::Stat(std::string_view path) {
  KILN_RETURN_IF_ERROR(ValidateArtifactPath(path));
  KILN_ASSIGN_OR_RETURN(PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(Rows rows, connection->Query("SELECT " + std::string(kColumns) +
                                                         " FROM artifact_entries WHERE path = ?",
                                                     {std::string(path)}));
  if (rows.empty()) return NotFound("artifact '" + std::string(path) + "' does not exist");
  return InfoFromRow(rows[0]);
}

Result<std::string> ArtifactStore::ObjectPath(std::string_view path) {
  KILN_ASSIGN_OR_RETURN(ArtifactInfo info, Stat(path));
  if (info.is_dir) return InvalidArgument("artifact '" + info.path + "' is a directory, not a file");
  if (!IsDigest(info.digest)) {
    return Internal("artifact '" + info.path + "' has a malformed digest '" + info.digest + "'");
  }
  std::string object = ObjectFile(info.digest);
  if (::access(object.c_str(), R_OK) != 0) {
    return Internal("the contents of artifact '" + info.path + "' (sha256 " + info.digest +
                    ") are missing: " + object + ": " + std::strerror(errno));
  }
  return object;
}

Result<std::vector<ArtifactInfo>> ArtifactStore::List(std::string_view directory) {
  if (directory.size() > 1 && directory.back() == '/') directory.remove_suffix(1);
  if (!directory.empty()) KILN_RETURN_IF_ERROR(ValidateArtifactPath(directory));
  KILN_ASSIGN_OR_RETURN(PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(Rows rows, connection->Query("SELECT " + std::string(kColumns) +
                                                         " FROM artifact_entries WHERE parent = ?",
                                                     {std::string(directory)}));
  std::vector<ArtifactInfo> out;
  out.reserve(rows.size());
  for (const Row& row : rows) out.push_back(InfoFromRow(row));
  std::sort(out.begin(), out.end(),
            [](const ArtifactInfo& a, const ArtifactInfo& b) { return a.path < b.path; });
  return out;
}

Status ArtifactStore::Delete(std::string_view logical_path) {
  KILN_RETURN_IF_ERROR(ValidateArtifactPath(logical_path));
  const std::string path(logical_path);
  std::vector<std::string> digests;
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(LockTree(connection));
    KILN_ASSIGN_OR_RETURN(Rows self,
                          connection.Query("SELECT is_dir FROM artifact_entries WHERE path = ?", {path}));
    if (self.empty()) return NotFound("artifact '" + path + "' does not exist");
    KILN_ASSIGN_OR_RETURN(
        Rows rows,
        connection.Query(std::string(kSubtree) + "SELECT DISTINCT e.digest FROM artifact_entries e "
                                                 "JOIN subtree s ON e.path = s.path WHERE e.is_dir = 0",
                         {path}));
    for (const Row& row : rows) digests.push_back(row.String(0));
    return connection
        .Execute(
            std::string(kSubtree) + "DELETE FROM artifact_entries WHERE path IN (SELECT path FROM subtree)",
            {path})
        .status();
  }));
  // The entries are gone; an object that cannot be removed now is left for
  // CollectGarbage rather than failing the delete.
  (void)RemoveUnreferenced(digests);
  return Status::Ok();
}

Status ArtifactStore::RemoveUnreferenced(const std::vector<std::string>& digests) {
  if (digests.empty()) return Status::Ok();
  // Checking references and unlinking under the tree lock keeps a concurrent
  // put, which finds the object present and skips writing it, from losing it.
  return database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(LockTree(connection));
    for (const std::string& digest : digests) {
      if (!IsDigest(digest)) continue;
      KILN_ASSIGN_OR_RETURN(
          Rows rows, connection.Query("SELECT 1 FROM artifact_entries WHERE digest = ? LIMIT 1", {digest}));
      if (!rows.empty()) continue;
      std::string object = ObjectFile(digest);
      if (::unlink(object.c_str()) != 0 && errno != ENOENT)
        return ErrnoStatus("cannot remove", object, errno);
    }
    return Status::Ok();
  });
}

Result<GarbageReport> ArtifactStore::CollectGarbage() {
  GarbageReport report;
  const fs::path objects = fs::path(root_) / "objects";
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(LockTree(connection));
    KILN_ASSIGN_OR_RETURN(Rows rows,
                          connection.Query("SELECT DISTINCT digest FROM artifact_entries WHERE is_dir = 0"));
    std::unordered_set<std::string> referenced;
    for (const Row& row : rows) referenced.insert(row.String(0));
    std::error_code error;
    if (!fs::is_directory(objects, error)) return Status::Ok();
    for (fs::directory_iterator shard(objects, error), end; !error && shard != end; shard.increment(error)) {
      if (!shard->is_directory(error)) continue;
      std::string prefix = shard->path().filename().string();
      for (fs::directory_iterator file(shard->path(), error); !error && file != end; file.increment(error)) {
        if (referenced.count(prefix + file->path().filename().string()) > 0) continue;
        std::error_code ignored;
        uintmax_t bytes = file->is_regular_file(ignored) ? file->file_size(ignored) : 0;
        if (fs::remove(file->path(), ignored)) {
          ++report.objects_removed;
          report.bytes_removed += static_cast<int64_t>(bytes);
        }
      }
    }
    if (error) return Internal("cannot scan '" + objects.string() + "': " + error.message());
    return Status::Ok();
  }));

  // Staging files of puts that crashed; anything this old is not in flight.
  const int64_t cutoff = clock_.NowMillis() - kStaleTempMillis;
  std::error_code error;
  for (fs::directory_iterator file(temp_directory(), error), end; !error && file != end;
       file.increment(error)) {
    struct stat file_stat {};
    if (::lstat(file->path().c_str(), &file_stat) != 0 || !S_ISREG(file_stat.st_mode)) continue;
    int64_t modified =
        static_cast<int64_t>(file_stat.st_mtim.tv_sec) * 1000 + file_stat.st_mtim.tv_nsec / 1000000;
    if (modified < cutoff && ::unlink(file->path().c_str()) == 0) ++report.temp_files_removed;
  }
  return report;
}

}  // namespace kiln::storage
