#pragma once
// The features fit computes (fit/features.h) for a set of stored configs, as JSON, so that
// notebooks and other tools read fit's own definition (and core's MACs and tensor sizes)
// instead of re-implementing it: `fit --db PATH --export-features FILE`.
#include <nlohmann/json.hpp>
#include <vector>

#include "core/layer_config.h"

namespace lj {

// {"features": [{"layer": "conv2d", "config": {core ToJson}, "values": {"batch_size": 8, ...,
//  "macs": ...}}, ...]}: one entry per distinct (layer, config) of `configs`, in first-seen
// order; "values" has every FeatureNames(layer) entry. Features are of valid configs only: an
// invalid config is left out.
nlohmann::json ExportFeatures(const std::vector<LayerConfig>& configs);

}  // namespace lj
