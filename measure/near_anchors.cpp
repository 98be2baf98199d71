#include "measure/near_anchors.h"

#include <set>

#include "predict/net_builder.h"
#include "predict/net_spec.h"

namespace lj {

std::vector<NearAnchor> AnchorsFromNets(const std::vector<std::string>& net_paths, LayerType type) {
  std::vector<NearAnchor> out;
  std::set<std::string> seen;
  for (const std::string& path : net_paths) {
    const NetSpec spec = LoadNetSpec(path);
    const auto add = [&](const LayerConfig& c, const std::string& where) {
      if (c.type != type || !seen.insert(ToJson(c).dump()).second) return;
      out.push_back({spec.name, where, c});
    };
    for (const LayerInstance& l : LayersFromNetSpec(spec)) {
      if (l.config) add(*l.config, l.path);
      for (const LayerConfig& acc : l.grad_accumulations) add(acc, l.path + " grad accumulation");
    }
  }
  return out;
}

}  // namespace lj
