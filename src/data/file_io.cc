#include "data/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kiln::data {

Result<FileBytes> ReadFileBytes(const std::string& path, size_t limit, size_t* file_size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(path + ": no such file");
    return InvalidArgument(path + ": cannot open: " + std::strerror(errno));
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    return InvalidArgument(path + ": cannot read: " + std::strerror(error));
  }
  if (S_ISDIR(info.st_mode)) {
    ::close(fd);
    return InvalidArgument(path + ": is a directory, not a file");
  }
  const size_t size = static_cast<size_t>(info.st_size);
  if (file_size != nullptr) *file_size = size;
  const size_t wanted = limit == 0 ? size : std::min(size, limit);
  std::unique_ptr<char[]> data(new char[wanted + 1]);
  size_t done = 0;
  while (done < wanted) {
    const ssize_t n = ::read(fd, data.get() + done, wanted - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return InvalidArgument(path + ": cannot read: " + std::strerror(error));
    }
    if (n == 0) break;  // the file shrank while reading
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return FileBytes(std::move(data), done);
}

}  // namespace kiln::data
