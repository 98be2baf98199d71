#include "measure/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace lj {

std::string DefaultLockPath() {
  struct stat st {};
  const bool has_run_lock = stat("/run/lock", &st) == 0 && S_ISDIR(st.st_mode);
  return std::string(has_run_lock ? "/run/lock" : "/tmp") + "/layerjoule-measure.lock";
}

InstanceLock::InstanceLock(const std::string& path) {
  // measure runs as root (RAPL needs it) and the default path is in a world-writable
  // directory: never follow a symbolic link planted there (O_NOFOLLOW), never block on a FIFO
  // (O_NONBLOCK), and truncate nothing before the file is known to be ours (issue 11).
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
  if (fd_ < 0) {
    const int err = errno;
    if (err == ELOOP) {
      throw std::runtime_error("lock file " + path +
                               " is a symbolic link; refusing to follow it (remove it, or "
                               "give --lock-file PATH)");
    }
    throw std::runtime_error("cannot open lock file " + path + ": " + std::strerror(err));
  }
  struct stat st {};
  std::string refusal;
  if (fstat(fd_, &st) != 0) {
    refusal = std::string("cannot stat it: ") + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    refusal = "it is not a regular file";
  } else if (st.st_uid != geteuid()) {
    refusal = "it belongs to uid " + std::to_string(st.st_uid) + ", not to this user (uid " +
              std::to_string(geteuid()) + "); another user may be holding it";
  } else if (st.st_nlink != 1) {
    refusal = "it has " + std::to_string(st.st_nlink) + " hard links";
  }
  if (!refusal.empty()) {
    close(fd_);
    fd_ = -1;
    throw std::runtime_error("lock file " + path + ": " + refusal +
                             "; refusing to use it (remove it, or give --lock-file PATH)");
  }
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char holder[32] = {};
    const ssize_t n = pread(fd_, holder, sizeof(holder) - 1, 0);
    close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      const std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "unknown";
      throw std::runtime_error("another measure (pid " + pid.substr(0, pid.find('\n')) +
                               ") is running on this host (lock " + path +
                               "); RAPL counts the whole package, so two runs would spoil "
                               "each other's numbers. Wait for it or stop it first");
    }
    throw std::runtime_error("cannot lock " + path + ": " + std::strerror(err));
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t written = pwrite(fd_, pid.data(), pid.size(), 0);
  }
}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) close(fd_);  // closing releases the flock
}

}  // namespace lj
