#include "fit/feature_export.h"

#include <set>
#include <string>
#include <utility>

#include "fit/features.h"

namespace lj {

nlohmann::json ExportFeatures(const std::vector<LayerConfig>& configs) {
  nlohmann::json entries = nlohmann::json::array();
  std::set<std::pair<LayerType, std::string>> seen;
  for (const LayerConfig& c : configs) {
    if (!IsValid(c)) continue;
    const nlohmann::json config = ToJson(c);
    if (!seen.insert({c.type, config.dump()}).second) continue;
    const std::vector<std::string>& names = FeatureNames(c.type);
    const std::vector<double> values = FeatureValues(c);
    nlohmann::json named = nlohmann::json::object();
    for (size_t i = 0; i < names.size(); ++i) named[names[i]] = values[i];
    entries.push_back({{"layer", ToString(c.type)}, {"config", config}, {"values", named}});
  }
  return {{"features", entries}};
}

}  // namespace lj
