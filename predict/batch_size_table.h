#pragma once
// `predict NET --batch-sizes LIST`: one prediction per batch size, as a table that answers
// "which batch size costs least, and which fit in memory" (issue 13). No LibTorch.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "predict/predictor.h"

namespace lj {

// "8,16,32" (any positive integers, each once, any order: the table sorts them) or a doubling
// range "8..512" (8, 16, ..., up to 512; "8..500" stops at 256). Throws ConfigError naming the
// text and the bad item: an empty item, a non-integer, a value <= 0 or > 2^31, a repeat, a
// range whose end is below its start.
std::vector<int64_t> ParseBatchSizes(const std::string& text);

// A memory size in bytes: a number (decimals allowed) and a unit, binary (B, K or KiB, M or
// MiB, G or GiB, T or TiB) or decimal (kB, MB, GB, TB), e.g. "16GiB", "1.5G", "512 MB".
// Throws ConfigError on a missing or unknown unit, a value <= 0, or more than 2^62 bytes.
int64_t ParseMemorySize(const std::string& text);

struct BatchSizeRow {
  NetworkPrediction prediction;  // at this batch size
  bool fits = true;              // memory.peak_bytes <= the budget
  bool least_energy = false;     // least energy per epoch among the rows that fit
  bool fastest = false;          // least time per epoch among the rows that fit
};

struct BatchSizeTable {
  std::string network;
  int64_t dataset_size = 0;
  int64_t max_memory_bytes = 0;
  std::string max_memory_source;   // "--max-memory 8GiB" or "physical memory of HOST"
  bool has_energy = false;         // every row has an energy per epoch
  std::vector<BatchSizeRow> rows;  // ascending batch size
};

// Marks the rows: fits (peak memory <= max_memory_bytes), the least energy per epoch (only when
// every row has energy) and the fastest epoch, both among the rows that fit; ties go to the
// smaller batch size. `predictions` must be of one network, in any order; rows come out sorted.
BatchSizeTable MakeBatchSizeTable(std::vector<NetworkPrediction> predictions,
                                  int64_t max_memory_bytes, std::string max_memory_source);

// One row per batch size: steps per epoch; time and energy per batch, per sample and per epoch;
// peak memory; "least energy", "fastest" and "does not fit" marks; then what the marks mean.
// Lower-bound values carry ">=".
std::string FormatBatchSizeTable(const BatchSizeTable& table);

// {"network", "dataset_size", "max_memory_bytes", "max_memory_source", "least_energy_batch_size"
//  (or null), "fastest_batch_size" (or null), "rows": [{"batch_size", "steps_per_epoch",
//  "time_per_batch_s", "time_per_sample_s", "time_per_epoch_s", "energy_per_batch_j",
//  "energy_per_sample_j", "energy_per_epoch_j" (null without energy models),
//  "lower_bound", "peak_memory_bytes", "peak_memory_at", "fits", "least_energy", "fastest"}]}
nlohmann::json ToJson(const BatchSizeTable& table);

}  // namespace lj
