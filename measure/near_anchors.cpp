#include "measure/near_anchors.h"

#include <set>
#include <string>

#include "core/errors.h"
#include "net/net_builder.h"
#include "net/net_spec.h"

namespace lj {

std::vector<NearAnchor> AnchorsFromNets(const std::vector<std::string>& net_paths, LayerType type) {
  std::vector<NearAnchor> out;
  std::set<std::string> seen;
  for (const std::string& item : net_paths) {
    std::string path = item;
    int64_t batch = 0;
    const size_t colon = item.rfind(':');
    if (colon != std::string::npos && colon + 1 < item.size() &&
        item.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
      path = item.substr(0, colon);
      if (item.size() - colon - 1 > 9 || (batch = std::stoll(item.substr(colon + 1))) <= 0) {
        throw ConfigError("--near " + item + ": the batch size after ':' must be 1 to 999999999");
      }
    }
    NetSpec spec = LoadNetSpec(path);
    if (batch > 0) spec.batch_size = batch;
    const auto add = [&](const LayerConfig& c, const std::string& where) {
      if (c.type != type || !seen.insert(ToJson(c).dump()).second) return;
      out.push_back({spec.name, where, c});
    };
    for (const LayerInstance& l : LayersFromNetSpec(spec)) {
      if (l.config) add(*l.config, l.path);
      for (const LayerConfig& acc : l.grad_accumulations)
        add(acc, l.path + kForkAccumulationSuffix);
    }
  }
  return out;
}

}  // namespace lj
