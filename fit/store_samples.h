#pragma once
// Reads the fit tool's input from layerjoule SQLite stores (db/store.h), grouped by host.
// Part of lj_fit_store (lj_fit + lj_db), so that lj_fit itself does not depend on SQLite.
#include <map>
#include <string>
#include <vector>

#include "fit/bundle_fit.h"

namespace lj {

struct HostSamples {
  ModelBundle header;  // host fields and sources; no models
  std::vector<PassSample> samples;
};

// All samples of every database, keyed by hostname (only `host` if non-empty). Samples of runs
// of kind "network" are skipped; samples of kind "net-layers" carry their network and layer
// paths (PassSample::network, network_paths). Host fields come from the hosts table; where one
// hostname has several host rows that differ (e.g. two torch versions), the distinct values are
// joined with " | ". Throws ConfigError("<db>: no such database") for a missing file, StoreError
// from the store, ConfigError("<db>: sample <id>: ...") for a sample whose config cannot be parsed.
std::map<std::string, HostSamples> ReadHostSamples(const std::vector<std::string>& db_paths,
                                                   const std::string& host = "");

}  // namespace lj
