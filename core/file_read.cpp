#include "core/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/errors.h"
#include "core/physical_memory.h"

namespace lj {
namespace {

std::string KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "directory";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISSOCK(mode)) return "socket";
  return "special file";
}

std::string Errno() { return std::strerror(errno); }

// An open descriptor, closed on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Opens without blocking (O_NONBLOCK: opening a FIFO for reading would wait for a writer) and
// checks type and size on the open descriptor, so the file checked is the file read.
// Returns the descriptor, blocking again, and stores the size in *size_bytes.
int OpenChecked(const std::string& path, int64_t max_bytes, int64_t* size_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw ConfigError(path + ": cannot open file (" + Errno() + ")");
  Fd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw ConfigError(path + ": cannot stat file (" + Errno() + ")");
  if (!S_ISREG(st.st_mode)) {
    throw ConfigError(path + ": not a regular file (" + KindOf(st.st_mode) + ")");
  }
  if (st.st_size > max_bytes) {
    throw ConfigError(path + ": file too large (" + std::to_string(st.st_size) +
                      " bytes, the limit is " + std::to_string(max_bytes) + ")");
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  *size_bytes = st.st_size;
  return owned.release();
}

}  // namespace

int64_t TorchScriptByteLimit(std::optional<int64_t> memory_bytes) {
  if (!memory_bytes || *memory_bytes <= 0) return kTorchScriptBytesWithoutMemorySize;
  return *memory_bytes / 4;
}

int64_t MaxTorchScriptBytes() { return TorchScriptByteLimit(PhysicalMemoryBytes()); }

int64_t CheckInputFile(const std::string& path, int64_t max_bytes) {
  int64_t size_bytes = 0;
  Fd fd(OpenChecked(path, max_bytes, &size_bytes));
  return size_bytes;
}

std::string ReadTextFile(const std::string& path, int64_t max_bytes) {
  int64_t size_bytes = 0;
  Fd fd(OpenChecked(path, max_bytes, &size_bytes));
  std::string text;
  text.reserve(static_cast<size_t>(size_bytes));
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ConfigError(path + ": cannot read file (" + Errno() + ")");
    }
    if (n == 0) break;
    if (static_cast<int64_t>(text.size()) + n > max_bytes) {
      throw ConfigError(path + ": file too large (grew past the limit of " +
                        std::to_string(max_bytes) + " bytes while being read)");
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace lj
