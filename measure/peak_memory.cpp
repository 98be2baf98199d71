#include "measure/peak_memory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <utility>

namespace lj {
namespace {

// Opens `path` without following a symlink and without blocking on a FIFO; -1 unless it is a
// regular file (what /proc/self/status and clear_refs are).
int OpenRegular(const std::string& path, int flags) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return -1;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

// /proc files report a size of 0; read until EOF, at most 64 KiB.
std::optional<std::string> ReadProcFile(const std::string& path) {
  const int fd = OpenRegular(path, O_RDONLY);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[4096];
  while (text.size() < 65536) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

}  // namespace

std::optional<int64_t> StatusFieldBytes(const std::string& status_text, const std::string& field) {
  const std::string key = field + ":";
  size_t pos = 0;
  while (pos < status_text.size()) {
    const size_t end = std::min(status_text.find('\n', pos), status_text.size());
    if (status_text.compare(pos, key.size(), key) == 0) {
      std::istringstream line(status_text.substr(pos + key.size(), end - pos - key.size()));
      int64_t kib = -1;
      std::string unit, rest;
      if (!(line >> kib >> unit) || kib < 0 || unit != "kB" || (line >> rest)) return std::nullopt;
      if (kib > INT64_MAX / 1024) return std::nullopt;
      return kib * 1024;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

PeakMemoryProbe::PeakMemoryProbe(std::string proc_self, std::function<int64_t()> excluded)
    : proc_self_(std::move(proc_self)), excluded_(std::move(excluded)) {
  available_ = true;
  if (excluded_) excluded_at_baseline_ = excluded_();
  const std::optional<int64_t> rss = Field("VmRSS");
  if (!rss || !Field("VmHWM")) {
    Disable(proc_self_ + "/status has no VmRSS or VmHWM in kB");
    return;
  }
  const std::optional<int64_t> anon = Field("RssAnon");
  if (!anon || !Field("RssFile") || !Field("RssShmem")) {
    Disable(proc_self_ + "/status has no RssAnon, RssFile or RssShmem in kB");
    return;
  }
  baseline_bytes_ = *anon;
  Reset();
}

void PeakMemoryProbe::Disable(std::string reason) {
  available_ = false;
  reason_ = std::move(reason);
}

std::optional<int64_t> PeakMemoryProbe::Field(const std::string& field) {
  const std::optional<std::string> text = ReadProcFile(proc_self_ + "/status");
  if (!text) return std::nullopt;
  return StatusFieldBytes(*text, field);
}

void PeakMemoryProbe::Reset() {
  if (!available_) return;
  if (excluded_) excluded_growth_ = std::max<int64_t>(0, excluded_() - excluded_at_baseline_);
  const std::string path = proc_self_ + "/clear_refs";
  // No O_CREAT, no symlink, no FIFO: a fake or hostile directory cannot make this create,
  // follow or block.
  const int fd = OpenRegular(path, O_WRONLY);
  if (fd < 0) {
    Disable(path + ": cannot open for writing (" + std::strerror(errno) + ")");
    return;
  }
  ssize_t n = -1;
  do {
    n = write(fd, "5", 1);
  } while (n < 0 && errno == EINTR);
  const int error = errno;
  close(fd);
  if (n != 1) Disable(path + ": writing 5 failed (" + std::strerror(error) + ")");
}

std::optional<int64_t> PeakMemoryProbe::PeakAboveBaselineBytes() {
  if (!available_) return std::nullopt;
  const std::optional<std::string> text = ReadProcFile(proc_self_ + "/status");
  const std::optional<int64_t> hwm = text ? StatusFieldBytes(*text, "VmHWM") : std::nullopt;
  const std::optional<int64_t> file = text ? StatusFieldBytes(*text, "RssFile") : std::nullopt;
  const std::optional<int64_t> shmem = text ? StatusFieldBytes(*text, "RssShmem") : std::nullopt;
  if (!hwm || !file || !shmem) {
    Disable(proc_self_ + "/status: VmHWM, RssFile or RssShmem is gone");
    return std::nullopt;
  }
  return std::max<int64_t>(0, *hwm - *file - *shmem - baseline_bytes_ - excluded_growth_);
}

}  // namespace lj
