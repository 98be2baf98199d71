#include "measure/host_info.h"

#include <unistd.h>

#include <fstream>
#include <set>
#include <string>
#include <utility>

namespace lj {
namespace {

std::string Trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  const auto end = s.find_last_not_of(" \t\r\n");
  return begin == std::string::npos ? "" : s.substr(begin, end - begin + 1);
}

}  // namespace

HostInfo DetectHost() {
  HostInfo host;
  char name[256] = {};
  host.hostname = gethostname(name, sizeof(name) - 1) == 0 ? name : "unknown";
  host.cpu_model = "unknown";

  std::ifstream cpuinfo("/proc/cpuinfo");
  std::set<std::string> sockets;
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, physical_id = "0";
  while (std::getline(cpuinfo, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = Trim(line.substr(0, colon));
    const std::string value = Trim(line.substr(colon + 1));
    if (key == "model name" && host.cpu_model == "unknown") host.cpu_model = value;
    if (key == "physical id") {
      physical_id = value;
      sockets.insert(value);
    }
    if (key == "core id") cores.emplace(physical_id, value);
  }
  host.sockets = sockets.empty() ? 1 : static_cast<int>(sockets.size());
  host.cores = cores.empty() ? static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))
                             : static_cast<int>(cores.size());
  return host;
}

}  // namespace lj
