#pragma once
// Host-wide single-instance lock for `measure`. RAPL counts the whole package, so two
// measurements at once would spoil each other's numbers. Uses flock(2) on a lock file: the
// kernel releases it when the process dies, even on kill -9, so no stale lock is left behind.
#include <string>

namespace lj {

// Default: /run/lock/layerjoule-measure.lock (falls back to /tmp if /run/lock is missing).
std::string DefaultLockPath();

class InstanceLock {
 public:
  // Takes the lock without waiting. Throws std::runtime_error naming the lock file and the pid
  // of the holder ("another measure (pid 1234) is running on this host; ...") if it is held.
  explicit InstanceLock(const std::string& path);
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace lj
