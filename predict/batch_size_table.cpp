#include "predict/batch_size_table.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <utility>

#include "core/errors.h"
#include "predict/report.h"
#include "predict/training_memory.h"

namespace lj {
namespace {

constexpr int64_t kMaxBatchSize = int64_t{1} << 31;

int64_t ParseBatchSize(const std::string& list, const std::string& item) {
  const std::string where = "--batch-sizes \"" + list + "\": ";
  if (item.empty()) throw ConfigError(where + "an empty item");
  if (item.find_first_not_of("0123456789+-") != std::string::npos) {
    throw ConfigError(where + "\"" + item + "\" is not an integer");
  }
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(item.c_str(), &end, 10);
  if (end == item.c_str() || *end != '\0') {
    throw ConfigError(where + "\"" + item + "\" is not an integer");
  }
  if (errno == ERANGE || value > kMaxBatchSize) {
    throw ConfigError(where + "batch size " + item + " is larger than 2^31");
  }
  if (value <= 0) throw ConfigError(where + "batch size must be > 0, got " + item);
  return value;
}

std::string WithBound(const std::string& text, bool lower_bound) {
  return lower_bound && text != "-" ? ">= " + text : text;
}

}  // namespace

std::vector<int64_t> ParseBatchSizes(const std::string& text) {
  std::vector<int64_t> sizes;
  const size_t dots = text.find("..");
  if (dots != std::string::npos) {
    const int64_t lo = ParseBatchSize(text, text.substr(0, dots));
    const int64_t hi = ParseBatchSize(text, text.substr(dots + 2));
    if (hi < lo) {
      throw ConfigError("--batch-sizes \"" + text + "\": the range ends at " + std::to_string(hi) +
                        ", below its start " + std::to_string(lo));
    }
    for (int64_t b = lo; b <= hi; b *= 2) sizes.push_back(b);
    return sizes;
  }
  std::set<int64_t> seen;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const int64_t b = ParseBatchSize(text, item);
    if (!seen.insert(b).second) {
      throw ConfigError("--batch-sizes \"" + text + "\": batch size " + item + " is repeated");
    }
    sizes.push_back(b);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return sizes;
}

int64_t ParseMemorySize(const std::string& text) {
  const std::string where = "--max-memory \"" + text + "\": ";
  const size_t first = text.find_first_not_of(" \t");
  const std::string trimmed = first == std::string::npos
                                  ? ""
                                  : text.substr(first, text.find_last_not_of(" \t") - first + 1);
  // A decimal number (no hex, inf or nan), then the unit.
  const size_t number_end = trimmed.find_first_not_of("0123456789.eE+-");
  const std::string number = trimmed.substr(0, number_end);
  std::string unit = number_end == std::string::npos ? "" : trimmed.substr(number_end);
  unit.erase(0, unit.find_first_not_of(" \t"));
  size_t pos = 0;
  double value = 0;
  try {
    value = std::stod(number, &pos);
  } catch (const std::out_of_range&) {
    throw ConfigError(where + "more than 2^62 bytes");
  } catch (const std::exception&) {
    throw ConfigError(where + "expected a number and a unit, e.g. 16GiB or 512MB");
  }
  const bool hex = number == "0" && !unit.empty() && (unit[0] == 'x' || unit[0] == 'X');
  if (pos != number.size() || hex) {
    throw ConfigError(where + "expected a decimal number and a unit, e.g. 16GiB or 512MB");
  }
  static const std::vector<std::pair<std::string, double>> kUnits = {
      {"B", 1},    {"K", 1024.0},          {"KiB", 1024.0},
      {"kB", 1e3}, {"M", 1048576.0},       {"MiB", 1048576.0},
      {"MB", 1e6}, {"G", 1073741824.0},    {"GiB", 1073741824.0},
      {"GB", 1e9}, {"T", 1099511627776.0}, {"TiB", 1099511627776.0},
      {"TB", 1e12}};
  const auto u = std::find_if(kUnits.begin(), kUnits.end(),
                              [&](const auto& entry) { return entry.first == unit; });
  if (u == kUnits.end()) {
    throw ConfigError(where + (unit.empty() ? "no unit" : "unknown unit \"" + unit + "\"") +
                      "; use B, K/KiB, M/MiB, G/GiB, T/TiB or kB, MB, GB, TB (case matters)");
  }
  const double bytes = std::floor(value * u->second);
  if (!(bytes >= 1)) throw ConfigError(where + "must be at least 1 byte");
  if (!(bytes <= 4.611686018427388e18)) throw ConfigError(where + "more than 2^62 bytes");
  return static_cast<int64_t>(bytes);
}

BatchSizeTable MakeBatchSizeTable(std::vector<NetworkPrediction> predictions,
                                  int64_t max_memory_bytes, std::string max_memory_source) {
  BatchSizeTable table;
  table.max_memory_bytes = max_memory_bytes;
  table.max_memory_source = std::move(max_memory_source);
  std::sort(predictions.begin(), predictions.end(),
            [](const auto& a, const auto& b) { return a.run.batch_size < b.run.batch_size; });
  table.has_energy = !predictions.empty();
  for (NetworkPrediction& p : predictions) {
    if (table.network.empty()) {
      table.network = p.run.network;
      table.dataset_size = p.run.dataset_size;
    }
    if (!p.per_epoch.energy_j) table.has_energy = false;
    BatchSizeRow row;
    row.fits = p.memory.peak_bytes <= max_memory_bytes;
    row.prediction = std::move(p);
    table.rows.push_back(std::move(row));
  }
  BatchSizeRow* least = nullptr;
  BatchSizeRow* fastest = nullptr;
  for (BatchSizeRow& row : table.rows) {
    if (!row.fits) continue;
    const PhaseTotals& e = row.prediction.per_epoch;
    if (fastest == nullptr || e.time_s < fastest->prediction.per_epoch.time_s) fastest = &row;
    if (table.has_energy &&
        (least == nullptr || *e.energy_j < *least->prediction.per_epoch.energy_j)) {
      least = &row;
    }
  }
  if (least != nullptr) least->least_energy = true;
  if (fastest != nullptr) fastest->fastest = true;
  return table;
}

std::string FormatBatchSizeTable(const BatchSizeTable& table) {
  std::ostringstream out;
  out << "network " << table.network << ", " << table.dataset_size
      << " samples per epoch; memory budget " << FormatBytes(table.max_memory_bytes) << " ("
      << table.max_memory_source << ")\n";
  char buf[512];
  std::snprintf(buf, sizeof buf, "%6s %6s  %-12s %-12s %-12s  %-13s %-13s %-13s  %s\n", "batch",
                "steps", "time/batch", "time/sample", "time/epoch", "energy/batch", "energy/sample",
                "energy/epoch", "peak memory");
  out << buf;
  for (const BatchSizeRow& row : table.rows) {
    const NetworkPrediction& p = row.prediction;
    const double b = static_cast<double>(p.run.batch_size);
    const bool tlb = p.per_batch.time_lower_bound;
    const bool elb = p.per_batch.energy_lower_bound;
    auto per_sample = [&](std::optional<double> v) -> std::optional<double> {
      if (!v) return std::nullopt;
      return *v / b;
    };
    std::vector<std::string> marks;
    if (row.least_energy) marks.push_back("least energy per epoch");
    if (row.fastest) marks.push_back("fastest epoch");
    if (!row.fits) marks.push_back("does not fit");
    std::string mark;
    for (const std::string& m : marks) mark += (mark.empty() ? "<- " : ", ") + m;
    std::snprintf(buf, sizeof buf, "%6lld %6lld  %-12s %-12s %-12s  %-13s %-13s %-13s  %-11s  %s",
                  static_cast<long long>(p.run.batch_size),
                  static_cast<long long>(p.steps_per_epoch),
                  WithBound(FormatSeconds(p.per_batch.time_s), tlb).c_str(),
                  WithBound(FormatSeconds(p.per_batch.time_s / b), tlb).c_str(),
                  WithBound(FormatSeconds(p.per_epoch.time_s), tlb).c_str(),
                  WithBound(FormatJoules(p.per_batch.energy_j), elb).c_str(),
                  WithBound(FormatJoules(per_sample(p.per_batch.energy_j)), elb).c_str(),
                  WithBound(FormatJoules(p.per_epoch.energy_j), elb).c_str(),
                  FormatBytes(p.memory.peak_bytes).c_str(), mark.c_str());
    std::string line = buf;
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  }
  if (!table.has_energy) {
    out << "no energy per epoch to compare (the models have no energy: their data had no "
           "meter); the fastest epoch is marked\n";
  }
  out << "peak memory: parameters, gradients, optimizer state, the batch, tensors kept for "
         "backward and the largest transients";
  const TrainingMemory* first =
      table.rows.empty() ? nullptr : &table.rows.front().prediction.memory;
  if (first && first->blas_workspace_bytes > 0) out << ", OpenBLAS's packing buffers";
  if (first && first->framework_bytes) {
    out << ", plus LibTorch itself (" << FormatBytes(*first->framework_bytes) << ", measured on "
        << table.rows.front().prediction.bundle_host << ")";
  } else {
    out << " (LibTorch itself not measured: the bundle has no framework-memory probe)";
  }
  out << " (docs/memory_accounting.md); \"does not fit\": above the budget\n";
  return out.str();
}

nlohmann::json ToJson(const BatchSizeTable& table) {
  nlohmann::json rows = nlohmann::json::array();
  nlohmann::json least = nullptr, fastest = nullptr;
  auto opt = [](std::optional<double> v) -> nlohmann::json {
    if (!v) return nullptr;
    return *v;
  };
  for (const BatchSizeRow& row : table.rows) {
    const NetworkPrediction& p = row.prediction;
    const double b = static_cast<double>(p.run.batch_size);
    std::optional<double> energy_per_sample;
    if (p.per_batch.energy_j) energy_per_sample = *p.per_batch.energy_j / b;
    rows.push_back({{"batch_size", p.run.batch_size},
                    {"steps_per_epoch", p.steps_per_epoch},
                    {"time_per_batch_s", p.per_batch.time_s},
                    {"time_per_sample_s", p.per_batch.time_s / b},
                    {"time_per_epoch_s", p.per_epoch.time_s},
                    {"energy_per_batch_j", opt(p.per_batch.energy_j)},
                    {"energy_per_sample_j", opt(energy_per_sample)},
                    {"energy_per_epoch_j", opt(p.per_epoch.energy_j)},
                    {"lower_bound", p.LowerBound()},
                    {"peak_memory_bytes", p.memory.peak_bytes},
                    {"peak_memory_at", p.memory.peak_at},
                    {"fits", row.fits},
                    {"least_energy", row.least_energy},
                    {"fastest", row.fastest}});
    if (row.least_energy) least = p.run.batch_size;
    if (row.fastest) fastest = p.run.batch_size;
  }
  return {{"network", table.network},
          {"dataset_size", table.dataset_size},
          {"max_memory_bytes", table.max_memory_bytes},
          {"max_memory_source", table.max_memory_source},
          {"least_energy_batch_size", least},
          {"fastest_batch_size", fastest},
          {"rows", rows}};
}

}  // namespace lj
