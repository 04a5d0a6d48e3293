#pragma once
// The code snapshot of a training run: a deterministic tarball of a folder's
// working tree (tar_archive.h), so the run can be re-executed from it alone,
// plus the git state it came from (commit, branch, remote, uncommitted diff).
// Format and guarantees: docs/formats/snapshot.md.
//
// In a git work tree the files are those `git ls-files --cached --others
// --exclude-standard` lists under the folder (tracked files with their
// on-disk contents, untracked files that are not ignored; deleted files are
// absent). Outside git, the folder is walked honouring .gitignore files. In
// both cases .kilnignore files (gitignore syntax) exclude more. Stateless
// functions; they run `git` (subprocess.h) and read the disk.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace kiln::training {

struct CodeSnapshotOptions {
  int64_t max_total_bytes = int64_t{100} << 20;  // sum of file sizes
  int64_t max_files = 20000;                     // files + symlinks
  bool use_git = true;                           // false: always walk the folder
  std::string git_program = "git";
  std::chrono::milliseconds git_timeout{60000};  // per git command
};

struct CodeSnapshot {
  std::string tar_path;  // where the archive was written
  std::string digest;    // SHA-256 (hex) of the archive bytes
  int64_t files = 0;     // members: regular files and symlinks
  int64_t bytes = 0;     // sum of the regular files' sizes
  int64_t archive_bytes = 0;
  std::string source_dir;  // the captured folder, absolute and canonical

  bool is_git = false;
  std::string git_commit;      // HEAD; "" in a repository without commits
  std::string git_branch;      // "" when HEAD is detached
  std::string git_remote_url;  // "origin" (else the first remote), credentials removed; "" if none
  std::string git_subdir;      // source_dir relative to the repository root; "" at the root
  // `git diff HEAD -- <source_dir>`: staged and unstaged changes to tracked
  // files, paths relative to the repository root; binary files appear as
  // "Binary files a/x and b/x differ". Empty when clean.
  std::string git_diff;
  bool git_dirty = false;              // tracked files under source_dir differ from HEAD
  std::vector<std::string> untracked;  // untracked, not ignored (relative to source_dir); in the archive
};

// Writes the snapshot of `dir` to `out_tar_path` (created or replaced) and
// returns its description.
// Errors: kNotFound when `dir` does not exist; kInvalidArgument when it is
// not a folder; kFailedPrecondition when the snapshot would exceed the
// limits (naming the largest folders and files and how to exclude them) or
// files cannot be read (naming them); kUnavailable / kInternal when git
// fails (with git's message).
Result<CodeSnapshot> CaptureCodeSnapshot(const std::string& dir, const std::string& out_tar_path,
                                         const CodeSnapshotOptions& options = {});

// MLflow's source tags for the snapshot (mlflow.source.type "PROJECT",
// mlflow.source.name, and for git: mlflow.source.git.commit, .branch,
// .repoURL, .dirty as "true"/"false"; empty values are left out) plus
// kiln.snapshot.code_digest and kiln.snapshot.files.
std::map<std::string, std::string> MlflowGitTags(const CodeSnapshot& snapshot);

// "https://user:token@host/x.git" → "https://host/x.git"; other URLs unchanged.
std::string RedactUrlCredentials(const std::string& url);

}  // namespace kiln::training
