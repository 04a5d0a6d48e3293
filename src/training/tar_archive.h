#pragma once
// Deterministic tar archives for run snapshots (docs/formats/snapshot.md).
//
// TarWriter writes POSIX ustar: members sorted by path (byte order), mtime 0,
// uid/gid 0, empty uname/gname, mode 0644 or 0755 for files (the executable
// bit is kept), 0755 for directories, symlinks stored as symlinks. A path that
// does not fit ustar's name/prefix fields (or a link target over 100 bytes) is
// carried in a pax extended header ('x') named "././@PaxHeader". The same
// members always give the same bytes, so the archive's SHA-256 identifies them.
//
// ReadTar / ExtractTar read ustar, pax ('x', 'g') and GNU long-name ('L', 'K')
// archives. ExtractTar refuses anything that would write outside the
// destination. Stateless functions; TarWriter is a single-threaded builder.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kiln::training {

enum class TarEntryType { kFile, kSymlink, kDirectory };

// One archive member. Paths are relative and '/'-separated, without a
// trailing '/': no empty, "." or ".." segments, no NUL.
struct TarEntry {
  std::string path;
  TarEntryType type = TarEntryType::kFile;
  bool executable = false;  // kFile: mode 0755 instead of 0644
  std::string contents;     // kFile
  std::string link_target;  // kSymlink, as stored (not resolved)
};

// What a written archive holds.
struct TarSummary {
  std::string sha256;  // lower-case hex digest of the archive bytes
  int64_t archive_bytes = 0;
  int64_t members = 0;        // files + symlinks + directories
  int64_t content_bytes = 0;  // sum of file sizes
};

// Collects members, then writes them sorted by path. Files added with
// AddFile are read from disk while writing, in chunks (a file whose size
// changes meanwhile is an error naming it).
class TarWriter {
 public:
  void AddFile(std::string path, std::string host_path, bool executable);
  void AddBytes(std::string path, std::string contents, bool executable);
  void AddSymlink(std::string path, std::string target);
  void AddDirectory(std::string path);

  // Writes the archive to `out_path` (created or truncated; removed again on
  // error). Errors: kInvalidArgument for a bad or duplicate member path
  // ("archive path 'a/../b': ..."), kNotFound / kPermissionDenied /
  // kFailedPrecondition naming an input file that cannot be read or changed,
  // kInternal when `out_path` cannot be written.
  Result<TarSummary> WriteToFile(const std::string& out_path) const;
  // The same bytes, in memory.
  Result<std::string> WriteToString() const;

 private:
  struct Member {
    TarEntry entry;
    std::string host_path;  // kFile read from disk when not empty
  };
  std::vector<Member> members_;
};

// Writes `entries` as a deterministic archive (order of `entries` is irrelevant).
Result<std::string> WriteTar(const std::vector<TarEntry>& entries);

// Parses an archive held in memory; members in archive order, with contents.
// Errors: kInvalidArgument "not a tar archive: ..." / "truncated tar archive: ...".
Result<std::vector<TarEntry>> ReadTar(std::string_view archive);

// Extracts the archive file `tar_path` into `dest_dir` (created when missing;
// must be empty otherwise). Files get mode 0644 or 0755, directories 0755.
// Refused with kInvalidArgument naming the entry: absolute paths, ".."
// segments, symlinks whose target is absolute or resolves outside
// `dest_dir` (also through other symlinks of the archive), writing through a
// symlink, hard links, devices and FIFOs. On error, what was extracted so far
// stays in `dest_dir`.
Status ExtractTar(const std::string& tar_path, const std::string& dest_dir);
// The same for an archive held in memory.
Status ExtractTarBytes(std::string_view archive, const std::string& dest_dir);

}  // namespace kiln::training
