#pragma once
// Reads the fit tool's input from layerjoule SQLite stores (db/store.h), grouped by host.
// Part of lj_fit_store (lj_fit + lj_db), so that lj_fit itself does not depend on SQLite.
#include <map>
#include <string>
#include <vector>

#include "fit/bundle_fit.h"
#include "fit/drift_correction.h"

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
// With `drift` (from ReadDriftCorrections), each sample's time_s is divided by its host's factor
// at the sample's created_at (fit/drift_correction.h); a sample with no probe near it keeps its
// time and is counted in *uncorrected (when given). Energy is never scaled.
// Malloc settings (run option kMallocRunOption, core/malloc_setting.h): with a non-empty
// `malloc` (a name or description, CanonicalMallocSetting), only the runs that recorded that
// setting are read; with "", every run, but a host whose runs recorded two settings is refused
// with ConfigError("host H: its runs were measured under different malloc settings: ..."),
// naming each setting's runs. Runs that recorded none (measured before the option existed, and
// imports) are read either way. header.malloc_setting is the setting the read runs recorded.
std::map<std::string, HostSamples> ReadHostSamples(
    const std::vector<std::string>& db_paths, const std::string& host = "",
    const std::map<std::string, DriftCorrection>* drift = nullptr, int64_t* uncorrected = nullptr,
    const std::string& malloc = "");

// The speed probes of every database (table speed_probes), one DriftCorrection per hostname
// (only `host` if non-empty) that has any; probes of all runs and files of a host are pooled.
// Throws ConfigError for a missing file or a malformed measured_at, StoreError from the store.
std::map<std::string, DriftCorrection> ReadDriftCorrections(
    const std::vector<std::string>& db_paths, const std::string& host = "");

// The first-touch probes (db/rows.h kFirstTouchProbeLayer, measure/first_touch_probe.h) of every
// database: per hostname (only `host` if non-empty), seconds per page of each probe, in the
// order stored. Throws ConfigError for a missing file or a malformed probe config, StoreError
// from the store.
std::map<std::string, std::vector<double>> ReadFirstTouchCosts(
    const std::vector<std::string>& db_paths, const std::string& host = "");

// The framework memory (fit/model_bundle.h FrameworkMemory) of every host (only `host` if
// non-empty) with network_samples of the probe network kFrameworkProbeNetwork (db/rows.h) that
// carry peak_memory_bytes: base_bytes = the median iteration peak of that probe; conv2d_bytes =
// the median of kConvFrameworkProbeNetwork's minus base_bytes, floored at 0 (absent without
// its rows); runs = the probe runs of both. The probes' own tensors (< 64 KiB) are not
// subtracted. Throws ConfigError for a missing file, StoreError from the store.
std::map<std::string, FrameworkMemory> ReadFrameworkMemory(const std::vector<std::string>& db_paths,
                                                           const std::string& host = "");

// `time_s` of a row of `hostname` stored at `created_at` (ISO-8601 UTC), divided by that host's
// factor in `drift` at that time; as given, and counted in *uncorrected (when given), where no
// probe is near. Throws ConfigError("<context>: not an ISO-8601 UTC time: ...").
double DriftCorrected(double time_s, const std::string& created_at, const std::string& hostname,
                      const std::map<std::string, DriftCorrection>& drift, int64_t* uncorrected,
                      const std::string& context);

}  // namespace lj
