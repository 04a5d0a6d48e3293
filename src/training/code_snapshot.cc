#include "training/code_snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "training/gitignore.h"
#include "training/subprocess.h"
#include "training/tar_archive.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;
constexpr const char* kKilnIgnore = ".kilnignore";

// Runs git in `dir`; a non-zero exit is an error carrying git's message.
class Git {
 public:
  Git(std::string dir, const CodeSnapshotOptions& options) : dir_(std::move(dir)), options_(options) {}

  Result<SubprocessResult> Run(std::vector<std::string> args) const {
    std::vector<std::string> argv = {options_.git_program, "-C", dir_, "-c", "core.quotepath=off"};
    argv.insert(argv.end(), args.begin(), args.end());
    SubprocessOptions subprocess;
    subprocess.timeout = options_.git_timeout;
    subprocess.max_output_bytes = size_t{1} << 30;
    return RunSubprocess(argv, subprocess);
  }

  Result<std::string> Output(std::vector<std::string> args) const {
    std::string command = "git " + args.front();
    KILN_ASSIGN_OR_RETURN(SubprocessResult result, Run(std::move(args)));
    if (!result.succeeded()) {
      return Internal(command + " failed in '" + dir_ + "': " + result.ErrorText());
    }
    return std::move(result.stdout_text);
  }

  // NUL-separated paths from `git ls-files -z ...`.
  Result<std::vector<std::string>> Paths(std::vector<std::string> args) const {
    KILN_ASSIGN_OR_RETURN(std::string output, Output(std::move(args)));
    std::vector<std::string> paths;
    size_t start = 0;
    while (start < output.size()) {
      size_t end = output.find('\0', start);
      if (end == std::string::npos) end = output.size();
      if (end > start) paths.push_back(output.substr(start, end - start));
      start = end + 1;
    }
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    return paths;
  }

 private:
  std::string dir_;
  const CodeSnapshotOptions& options_;
};

std::string TrimLine(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string HumanBytes(int64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0)
    std::snprintf(text, sizeof text, "%lld bytes", static_cast<long long>(bytes));
  else
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

// Whether `dir` is in a git work tree (and not ignored by it); fills the git fields.
Result<bool> ReadGitState(const Git& git, CodeSnapshot* snapshot) {
  Result<SubprocessResult> probe = git.Run({"rev-parse", "--is-inside-work-tree", "--show-prefix"});
  if (!probe.ok() && probe.status().code() == StatusCode::kNotFound) return false;  // git not installed
  KILN_RETURN_IF_ERROR(probe.status());
  if (!probe->succeeded()) {
    const std::string& error = probe->stderr_text;
    if (error.find("not a git repository") != std::string::npos ||
        error.find("must be run in a work tree") != std::string::npos) {
      return false;
    }
    return Internal("git rev-parse failed in '" + snapshot->source_dir + "': " + probe->ErrorText());
  }
  std::string inside = probe->stdout_text.substr(0, probe->stdout_text.find('\n'));
  if (inside != "true") return false;
  KILN_ASSIGN_OR_RETURN(SubprocessResult ignored, git.Run({"check-ignore", "-q", "."}));
  if (ignored.exit_code == 0) return false;  // the folder itself is ignored: not part of the repository
  snapshot->git_subdir = TrimLine(probe->stdout_text.substr(probe->stdout_text.find('\n') + 1));
  if (!snapshot->git_subdir.empty() && snapshot->git_subdir.back() == '/') snapshot->git_subdir.pop_back();

  KILN_ASSIGN_OR_RETURN(SubprocessResult head, git.Run({"rev-parse", "--verify", "-q", "HEAD"}));
  if (head.succeeded()) snapshot->git_commit = TrimLine(head.stdout_text);
  KILN_ASSIGN_OR_RETURN(SubprocessResult branch, git.Run({"symbolic-ref", "-q", "--short", "HEAD"}));
  if (branch.succeeded()) snapshot->git_branch = TrimLine(branch.stdout_text);
  KILN_ASSIGN_OR_RETURN(std::string remotes, git.Output({"remote"}));
  std::string remote = remotes.substr(0, remotes.find('\n'));
  if (remotes.find("origin\n") == 0 || remotes.find("\norigin\n") != std::string::npos) remote = "origin";
  if (!remote.empty()) {
    KILN_ASSIGN_OR_RETURN(std::string url, git.Output({"remote", "get-url", remote}));
    snapshot->git_remote_url = RedactUrlCredentials(TrimLine(url));
  }
  if (!snapshot->git_commit.empty()) {
    KILN_ASSIGN_OR_RETURN(snapshot->git_diff, git.Output({"diff", "--no-color", "--no-ext-diff",
                                                          "--no-textconv", "HEAD", "--", "."}));
    snapshot->git_dirty = !snapshot->git_diff.empty();
  }
  return true;
}

// Files and symlinks of a git work tree under the folder, minus .kilnignore'd ones.
Result<std::vector<WalkedEntry>> ListGitFiles(const Git& git, CodeSnapshot* snapshot) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> tracked, git.Paths({"ls-files", "-z", "--cached"}));
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> untracked,
                        git.Paths({"ls-files", "-z", "--others", "--exclude-standard"}));
  std::vector<std::string> paths = tracked;
  paths.insert(paths.end(), untracked.begin(), untracked.end());
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());

  GitignoreMatcher kilnignore;
  std::set<std::string> loaded_dirs;
  std::vector<WalkedEntry> entries;
  auto load_rules = [&](const std::string& folder) -> Status {
    if (!loaded_dirs.insert(folder).second) return Status::Ok();
    return kilnignore.AddRulesFromFile(snapshot->source_dir, folder, kKilnIgnore);
  };
  for (const std::string& path : paths) {
    KILN_RETURN_IF_ERROR(load_rules(""));
    for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      KILN_RETURN_IF_ERROR(load_rules(path.substr(0, slash)));
    }
    struct stat info;
    if (::lstat((snapshot->source_dir + "/" + path).c_str(), &info) != 0)
      continue;  // deleted in the work tree
    bool is_file = S_ISREG(info.st_mode), is_link = S_ISLNK(info.st_mode);
    if (!is_file && !is_link) continue;  // submodules, other types
    if (kilnignore.IsIgnored(path, false)) continue;
    WalkedEntry entry;
    entry.path = path;
    entry.kind = is_link ? WalkedEntry::Kind::kSymlink : WalkedEntry::Kind::kFile;
    entry.size = is_file ? static_cast<int64_t>(info.st_size) : 0;
    entry.executable = is_file && (info.st_mode & S_IXUSR);
    entries.push_back(std::move(entry));
  }
  for (const std::string& path : untracked) {
    if (std::binary_search(paths.begin(), paths.end(), path) && !kilnignore.IsIgnored(path, false)) {
      snapshot->untracked.push_back(path);
    }
  }
  return entries;
}

// kFailedPrecondition naming where the bytes and files are and how to exclude them.
Status TooLarge(const std::vector<WalkedEntry>& entries, int64_t total_bytes, const std::string& dir,
                const CodeSnapshotOptions& options) {
  struct Group {
    int64_t bytes = 0;
    int64_t files = 0;
  };
  std::map<std::string, Group> groups;  // top-level folder ("data/") or file
  for (const WalkedEntry& entry : entries) {
    size_t slash = entry.path.find('/');
    Group& group = groups[slash == std::string::npos ? entry.path : entry.path.substr(0, slash + 1)];
    group.bytes += entry.size;
    group.files += 1;
  }
  bool by_count = static_cast<int64_t>(entries.size()) > options.max_files;
  std::vector<std::pair<std::string, Group>> sorted(groups.begin(), groups.end());
  std::stable_sort(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) {
    return by_count ? a.second.files > b.second.files : a.second.bytes > b.second.bytes;
  });
  std::string message = "the code snapshot of '" + dir + "' is too large: " + HumanBytes(total_bytes) +
                        " in " + std::to_string(entries.size()) +
                        " files (limits: " + HumanBytes(options.max_total_bytes) + ", " +
                        std::to_string(options.max_files) + " files). Largest: ";
  for (size_t i = 0; i < sorted.size() && i < 5; ++i) {
    const auto& [name, group] = sorted[i];
    message += (i ? ", " : "") + name + " (" + HumanBytes(group.bytes);
    if (name.back() == '/') message += ", " + std::to_string(group.files) + " files";
    message += ")";
  }
  if (!by_count) {
    std::vector<const WalkedEntry*> files;
    for (const WalkedEntry& entry : entries) files.push_back(&entry);
    std::stable_sort(files.begin(), files.end(), [](auto* a, auto* b) { return a->size > b->size; });
    message += ". Biggest files: ";
    for (size_t i = 0; i < files.size() && i < 3; ++i) {
      message += (i ? ", " : "") + files[i]->path + " (" + HumanBytes(files[i]->size) + ")";
    }
  }
  std::string example = sorted.empty() ? "data/" : sorted.front().first;
  return FailedPrecondition(
      message + ". Exclude what the run does not need with .gitignore or a .kilnignore file in '" + dir +
      "' (gitignore syntax, e.g. a line '" + example + "').");
}

// Opens every file once so all unreadable ones are reported together.
Status CheckReadable(const std::vector<WalkedEntry>& entries, const std::string& dir) {
  std::vector<std::string> problems;
  for (const WalkedEntry& entry : entries) {
    if (entry.kind != WalkedEntry::Kind::kFile) continue;
    int fd = ::open((dir + "/" + entry.path).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      problems.push_back(entry.path + " (" + std::strerror(errno) + ")");
    } else {
      ::close(fd);
    }
  }
  if (problems.empty()) return Status::Ok();
  std::string list;
  for (size_t i = 0; i < problems.size() && i < 10; ++i) list += (i ? ", " : "") + problems[i];
  if (problems.size() > 10) list += " and " + std::to_string(problems.size() - 10) + " more";
  return FailedPrecondition("cannot read " + std::to_string(problems.size()) + " file" +
                            (problems.size() == 1 ? "" : "s") + " of the code snapshot of '" + dir +
                            "': " + list + ". Make them readable or exclude them with a .kilnignore file.");
}

// Whether a relative symlink at `path` resolves (lexically) inside the snapshot.
bool LinkStaysInside(const std::string& path, const std::string& target) {
  if (target.empty() || target.front() == '/') return false;
  fs::path resolved = (fs::path(path).parent_path() / target).lexically_normal();
  return !resolved.empty() && *resolved.begin() != "..";
}

}  // namespace

std::string RedactUrlCredentials(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  size_t host_start = scheme_end + 3;
  size_t path_start = url.find('/', host_start);
  size_t at = url.rfind('@', path_start == std::string::npos ? std::string::npos : path_start);
  if (at == std::string::npos || at < host_start) return url;
  std::string scheme = url.substr(0, scheme_end);
  std::string user_info = url.substr(host_start, at - host_start);
  bool http = scheme == "http" || scheme == "https";
  if (!http && user_info.find(':') == std::string::npos) return url;  // ssh://git@host: a user name only
  return url.substr(0, host_start) + url.substr(at + 1);
}

Result<CodeSnapshot> CaptureCodeSnapshot(const std::string& dir, const std::string& out_tar_path,
                                         const CodeSnapshotOptions& options) {
  std::error_code error;
  fs::path canonical = fs::canonical(dir, error);
  if (error) return NotFound("code folder '" + dir + "' does not exist");
  if (!fs::is_directory(canonical)) return InvalidArgument("code folder '" + dir + "' is not a folder");
  CodeSnapshot snapshot;
  snapshot.source_dir = canonical.string();

  std::vector<WalkedEntry> entries;
  Git git(snapshot.source_dir, options);
  if (options.use_git) {
    KILN_ASSIGN_OR_RETURN(snapshot.is_git, ReadGitState(git, &snapshot));
  }
  if (snapshot.is_git) {
    KILN_ASSIGN_OR_RETURN(entries, ListGitFiles(git, &snapshot));
  } else {
    KILN_ASSIGN_OR_RETURN(WalkResult walk, WalkUnignored(snapshot.source_dir, {".gitignore", kKilnIgnore}));
    if (!walk.unreadable_dirs.empty()) {
      std::string list;
      for (const std::string& folder : walk.unreadable_dirs) list += (list.empty() ? "" : ", ") + folder;
      return FailedPrecondition("cannot list folders of the code snapshot of '" + snapshot.source_dir +
                                "': " + list +
                                ". Make them readable or exclude them with a .kilnignore file.");
    }
    entries = std::move(walk.entries);
  }

  int64_t total_bytes = 0;
  for (const WalkedEntry& entry : entries) total_bytes += entry.size;
  if (total_bytes > options.max_total_bytes || static_cast<int64_t>(entries.size()) > options.max_files) {
    return TooLarge(entries, total_bytes, snapshot.source_dir, options);
  }
  KILN_RETURN_IF_ERROR(CheckReadable(entries, snapshot.source_dir));

  TarWriter writer;
  std::vector<std::string> escaping_links;
  for (const WalkedEntry& entry : entries) {
    std::string host_path = snapshot.source_dir + "/" + entry.path;
    if (entry.kind == WalkedEntry::Kind::kFile) {
      writer.AddFile(entry.path, host_path, entry.executable);
      continue;
    }
    std::error_code link_error;
    std::string target = fs::read_symlink(host_path, link_error).string();
    if (link_error)
      return FailedPrecondition("cannot read symlink '" + host_path + "': " + link_error.message());
    if (!LinkStaysInside(entry.path, target)) escaping_links.push_back(entry.path + " -> " + target);
    writer.AddSymlink(entry.path, target);
  }
  if (!escaping_links.empty()) {
    std::string list;
    for (const std::string& link : escaping_links) list += (list.empty() ? "" : ", ") + link;
    return FailedPrecondition(
        "the code snapshot of '" + snapshot.source_dir + "' has symlinks pointing outside it: " + list +
        ". Snapshots keep symlinks as links, so a run could not see their targets: copy "
        "the files in or exclude the links with a .kilnignore file.");
  }
  KILN_ASSIGN_OR_RETURN(TarSummary summary, writer.WriteToFile(out_tar_path));
  snapshot.tar_path = out_tar_path;
  snapshot.digest = summary.sha256;
  snapshot.files = summary.members;
  snapshot.bytes = summary.content_bytes;
  snapshot.archive_bytes = summary.archive_bytes;
  return snapshot;
}

std::map<std::string, std::string> MlflowGitTags(const CodeSnapshot& snapshot) {
  std::map<std::string, std::string> tags;
  tags["mlflow.source.type"] = "PROJECT";
  std::string name = snapshot.git_remote_url.empty() ? snapshot.source_dir : snapshot.git_remote_url;
  if (!snapshot.git_remote_url.empty() && !snapshot.git_subdir.empty()) name += "#" + snapshot.git_subdir;
  tags["mlflow.source.name"] = name;
  if (snapshot.is_git) {
    if (!snapshot.git_commit.empty()) tags["mlflow.source.git.commit"] = snapshot.git_commit;
    if (!snapshot.git_branch.empty()) tags["mlflow.source.git.branch"] = snapshot.git_branch;
    if (!snapshot.git_remote_url.empty()) tags["mlflow.source.git.repoURL"] = snapshot.git_remote_url;
    tags["mlflow.source.git.dirty"] = snapshot.git_dirty ? "true" : "false";
  }
  tags["kiln.snapshot.code_digest"] = snapshot.digest;
  tags["kiln.snapshot.files"] = std::to_string(snapshot.files);
  return tags;
}

}  // namespace kiln::training
