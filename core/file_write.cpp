#include "core/file_write.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/errors.h"

namespace lj {

void WriteTextFileAtomically(const std::string& path, const std::string& text) {
  const std::filesystem::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  const auto fail = [&](const std::string& why) {
    std::remove(tmp.c_str());
    throw ConfigError(path + ": cannot write: " + why);
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wx");  // x: never through an existing file or link
  if (!f) fail(std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size() &&
                       std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  const int write_errno = errno;
  if (std::fclose(f) != 0 || !written) fail(std::strerror(written ? errno : write_errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(std::strerror(errno));
}

}  // namespace lj
