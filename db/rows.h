#pragma once
// The rows of the store's tables (db/schema.sql), one struct per table, as db/store.h reads and
// writes them. Units are in the names; JSON columns hold text.
#include <cstdint>
#include <optional>
#include <string>

namespace lj {

// Stored in table hosts; one row per distinct (hostname, cpu_model, ..., threads) description.
struct HostInfo {
  std::string hostname;
  std::string cpu_model;
  int sockets = 0;
  int cores = 0;         // physical cores in total
  int threads_used = 0;  // intra-op threads given to LibTorch
  std::string torch_version;
  std::string blas;          // e.g. "OpenBLAS 0.3.21 (pthread)"
  std::string rapl_domains;  // e.g. "package-0,package-1,dram-0"; "" without a meter
};

// Stored in table runs.
struct RunInfo {
  int64_t id = 0;  // assigned by CreateRun
  int64_t host_id = 0;
  std::string command_line;
  uint64_t seed = 0;
  std::string kind;         // db/vocabulary.h RunKind: "random", "near", "sweep", ...
  std::string layer;        // "conv2d", ... ("" for network runs)
  std::string source_json;  // what the run measured or imported (db/schema.sql runs)
  int64_t target_n = 0;     // configs wanted (random runs)
  std::string meter;        // "rapl" or "none"
  std::string status;       // "running", "interrupted", "finished", "failed"
  double min_time_s = 0;
  int trials = 0;
  std::string started_at;  // ISO-8601 UTC, set by the store
  std::string ended_at;
  // RFC 4122 version-4 UUID, made by CreateRun (which ignores this field: a copied RunInfo
  // makes a new run). "" in read-only files before schema 4. measure --merge stores a run
  // once per uuid.
  std::string uuid;
};

// One row of table samples: one pass of one config, means per single execution.
struct SampleRow {
  int64_t run_id = 0;
  int64_t sample_index = 0;  // index in the run's seed stream (deterministic per index)
  std::string layer;         // "conv2d", "maxpool2d", "linear"
  std::string pass;          // "forward", "backward"
  std::string config;        // JSON text, torch.nn names (see core/layer_config.h ToJson)
  int64_t repetitions = 0;   // executions per trial
  int trials = 0;
  double time_s = 0;               // mean wall time of one execution
  double time_std_s = 0;           // standard deviation over trials of the per-execution time
  std::optional<double> energy_j;  // package energy summed over sockets, per execution
  std::optional<double> energy_std_j;
  std::optional<std::string> energy_by_socket_j;  // JSON array, one per package zone
  std::optional<double> dram_energy_j;
  std::optional<double> psys_energy_j;
  std::optional<double> idle_power_w;  // package idle power (summed) most recently measured
  std::string meter;                   // "rapl", "none", or an import source like "pyrapl"
  std::optional<std::string> sweep;    // sweep name for one-factor sweeps
  std::optional<double> sweep_value;   // value of the varied parameter
  std::optional<std::string> notes;    // e.g. what an imported backward covers
  // Tensor memory of one execution (c10 allocations; measure/tensor_memory.h), bytes: the
  // pass's peak above what was allocated before it, and on forward rows what autograd keeps
  // for backward beyond the inputs and weights. Unset in imported rows and before schema 4.
  std::optional<int64_t> peak_memory_bytes;
  std::optional<int64_t> saved_bytes;
  // Measurement conditions of the trials (measure/sample_conditions.h): other processes' share
  // of all cores' time, package temperature before and after (degrees Celsius), and whether
  // the share stayed above measure's --max-contention after re-measurement. Unset in imported
  // rows and before schema 4, and where the host does not expose them.
  std::optional<double> contention_share;
  std::optional<double> temperature_start_c;
  std::optional<double> temperature_end_c;
  std::optional<bool> contended;
  // Minor page faults per execution, mean over the trials (measure/page_faults.h): the fresh
  // pages the pass touched first. Unset before schema 6 and in imported rows.
  std::optional<double> minor_faults;
  // When the row was stored (samples.created_at, ISO-8601 UTC with milliseconds): set by the
  // database on insert, filled on read.
  std::string created_at;
};

// A config that threw while building or running; the run goes on.
struct FailureRow {
  int64_t run_id = 0;
  int64_t sample_index = 0;
  std::string layer;
  std::string config;  // JSON text
  std::string error;
};

// Idle power readings taken at run start and periodically.
struct IdleRow {
  int64_t run_id = 0;
  double duration_s = 0;
  double package_power_w = 0;  // summed over sockets
  std::optional<double> dram_power_w;
  std::optional<std::string> by_socket_w;  // JSON array
};

// One row of table network_samples: one phase of one training iteration of a whole network
// (measure --net), written per iteration; warm-up iterations are not stored.
struct NetworkSampleRow {
  int64_t run_id = 0;
  std::string network;  // net.json "name", or the TorchScript file name without extension
  int64_t batch_size = 0;
  std::string phase;               // "forward", "loss", "backward", "optimizer", "iteration"
  int64_t iteration = 0;           // 0-based index of the measured iteration
  double time_s = 0;               // wall time of this phase in this iteration
  std::optional<double> energy_j;  // package energy summed over sockets, this phase
  std::optional<double> dram_energy_j;
  std::optional<double> idle_power_w;  // package idle power most recently measured
  std::string meter;                   // "rapl" or "none"
  // Iteration rows only: the peak resident memory during the iteration above the process's
  // before the network was built (measure/peak_memory.h); unset on phase rows and where not
  // measured (schema < 3, or no VmHWM reset).
  std::optional<int64_t> peak_memory_bytes;
  // Minor page faults of the process during this phase of this iteration (the iteration row:
  // all its phases; measure/page_faults.h). Unset before schema 6.
  std::optional<int64_t> minor_faults;
  // When the row was stored (network_samples.created_at): set by the database, filled on read.
  std::string created_at;
};

// The net.json names of the two framework-memory probe networks (configs/nets/probes/): a
// training step with tensors of a few hundred bytes (flatten + linear 4 -> 2), and the same with
// one 5x5 conv2d in front (which ATen runs through oneDNN). `measure --net` on them stores their
// network_samples like any network's; `fit` reads their peak_memory_bytes as what LibTorch
// itself takes to train on this host, and what one oneDNN conv2d adds (fit/store_samples.h
// ReadFrameworkMemory).
inline constexpr const char* kFrameworkProbeNetwork = "probe_framework";
inline constexpr const char* kConvFrameworkProbeNetwork = "probe_framework_conv2d";
// True for the network name of either probe.
inline bool IsFrameworkProbeNetwork(const std::string& network) {
  return network == kFrameworkProbeNetwork || network == kConvFrameworkProbeNetwork;
}

// One row of table speed_probes (schema 5): one pass of one of the fixed reference configs of
// measure/speed_probe.h, measured at a run's start, periodically and at its end, so that fit can
// tell the machine's speed at the time of every sample (fit/drift_correction.h).
// One more row per probe, layer kFirstTouchProbeLayer, pass "forward", config {"bytes": B,
// "page_bytes": P}, time_s the seconds to map, touch and unmap B bytes
// (measure/first_touch_probe.h): the cost of fresh memory, which is not a speed factor
// (fit/drift_correction.h leaves it out).
inline constexpr const char* kFirstTouchProbeLayer = "first_touch";
struct SpeedProbeRow {
  int64_t run_id = 0;
  std::string measured_at;  // ISO-8601 UTC with milliseconds, the same for all rows of a probe
  std::string layer;        // core LayerType name of the reference config, or kFirstTouchProbeLayer
  std::string pass;         // "forward", "backward"
  std::string config;       // JSON text of the reference config
  double time_s = 0;        // mean wall time of one execution
  double time_std_s = 0;    // standard deviation over trials of the per-execution time
};

}  // namespace lj
