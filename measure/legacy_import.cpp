#include "measure/legacy_import.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <utility>

#include "core/errors.h"
#include "core/file_read.h"
#include "core/json_reader.h"
#include "core/layer_config.h"
#include "db/vocabulary.h"

namespace lj {
namespace {

constexpr double kSentinel = -0.1;        // the prototype's value for a failed batch
constexpr double kMicro = 1e-6;           // uJ -> J, us -> s
constexpr int64_t kRepetitions = 5 * 10;  // 5 batches x 10 repeats per mean
constexpr const char* kMeter = "pyrapl";
constexpr const char* kForwardNote = "legacy-pyrapl: forward is layer(x) only";
constexpr const char* kBackwardNote =
    "legacy-pyrapl: backward includes MSE loss and SGD(momentum 0.9) step "
    "(MSE loss + loss.backward() + SGD lr 0.001 momentum 0.9), not the layer's backward alone";

// The layout of one prototype CSV file.
struct FileFormat {
  const char* file_name;
  LayerType type;
  std::vector<const char*> columns;  // header, in order
  int integer_columns;               // the first n columns are integers (the geometry)
  bool has_backward;                 // false: back_* were not measured
  std::function<LayerConfig(const std::vector<double>&)> to_config;
};

int64_t I(double v) { return static_cast<int64_t>(v); }

const std::vector<FileFormat>& Formats() {
  static const std::vector<FileFormat> formats = {
      {"conv.csv",
       LayerType::kConv2d,
       {"batch_size", "in_chan", "out_chan", "side_len", "k_size", "stride", "for_energy",
        "for_time", "back_energy", "back_time"},
       6,
       true,
       [](const std::vector<double>& v) {
         LayerConfig c;
         c.type = LayerType::kConv2d;
         c.batch_size = I(v[0]);
         c.in_channels = I(v[1]);
         c.out_channels = I(v[2]);
         c.height = c.width = I(v[3]);
         c.kernel_size = I(v[4]);
         c.stride = I(v[5]);
         c.padding = 0;
         c.groups = 1;
         c.bias = true;  // nn.Conv2d default
         return c;
       }},
      {"linear.csv",
       LayerType::kLinear,
       {"batch_size", "in_size", "out_size", "for_energy", "for_time", "back_energy", "back_time"},
       3,
       true,
       [](const std::vector<double>& v) {
         LayerConfig c;
         c.type = LayerType::kLinear;
         c.batch_size = I(v[0]);
         c.in_features = I(v[1]);
         c.out_features = I(v[2]);
         c.bias = true;  // nn.Linear default
         return c;
       }},
      {"pool.csv",
       LayerType::kMaxPool2d,
       {"batch_size", "k_side_length", "stride", "in_chan", "im_side_length", "for_energy",
        "for_time", "back_energy", "back_time"},
       5,
       false,
       [](const std::vector<double>& v) {
         LayerConfig c;
         c.type = LayerType::kMaxPool2d;
         c.batch_size = I(v[0]);
         c.kernel_size = I(v[1]);
         c.stride = I(v[2]);
         c.in_channels = I(v[3]);
         c.height = c.width = I(v[4]);
         c.padding = 0;
         return c;
       }},
  };
  return formats;
}

std::string Join(const std::vector<const char*>& names) {
  std::string out;
  for (const char* n : names) out += (out.empty() ? "" : ",") + std::string(n);
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitCommas(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    fields.push_back(
        Trim(line.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

uint64_t Fnv1a64(const std::string& bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string Hex(uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

// One checked sample, ready to store.
struct PendingSample {
  int64_t row_index;
  Pass pass;
  std::string config_json;
  double energy_j;
  double time_s;
};

// A parsed and checked file, nothing written yet.
struct ParsedFile {
  const FileFormat* format = nullptr;
  std::string path;
  std::string content_hash;
  ImportFileSummary summary;
  std::vector<PendingSample> samples;
};

// Checks one pass's measurement; returns the reason to reject it, if any.
std::optional<RejectReason> CheckPass(double energy_uj, double time_us) {
  if (energy_uj < 0) return RejectReason::kNegativeEnergy;
  if (energy_uj == 0) return RejectReason::kZeroEnergy;
  if (time_us <= 0) return RejectReason::kNonPositiveTime;
  return std::nullopt;
}

ParsedFile ParseFile(const FileFormat& format, const std::string& path) {
  const std::string content = ReadTextFile(path);

  ParsedFile parsed;
  parsed.format = &format;
  parsed.path = path;
  parsed.content_hash = Hex(Fnv1a64(content));
  parsed.summary.file = path;
  parsed.summary.layer = std::string(ToString(format.type));
  parsed.summary.passes_per_row = format.has_backward ? 2 : 1;

  const size_t n_columns = format.columns.size();
  const std::string expected_header = Join(format.columns);
  std::istringstream lines(content);
  std::string raw;
  int64_t line_number = 0;
  bool header_seen = false;
  std::vector<double> values(n_columns);
  while (std::getline(lines, raw)) {
    ++line_number;
    std::string_view line(raw);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files
    if (line_number == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // BOM
    if (Trim(line).empty()) continue;  // blank lines carry no data
    const std::string where = path + ":" + std::to_string(line_number);
    std::vector<std::string_view> fields = SplitCommas(line);

    if (!header_seen) {
      std::string header;
      for (std::string_view f : fields) header += (header.empty() ? "" : ",") + std::string(f);
      if (header != expected_header) {
        throw ConfigError(where + ": header must be '" + expected_header + "', got '" +
                          std::string(line) + "'");
      }
      header_seen = true;
      continue;
    }
    if (fields.size() != n_columns) {
      throw ConfigError(where + ": expected " + std::to_string(n_columns) + " columns (" +
                        expected_header + "), got " + std::to_string(fields.size()));
    }
    for (size_t c = 0; c < n_columns; ++c) {
      const std::string col = "column " + std::to_string(c + 1) + " (" + format.columns[c] + ")";
      std::string_view text = fields[c];
      double value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
          !std::isfinite(value)) {
        throw ConfigError(where + ": " + col + ": '" + std::string(text) +
                          "' is not a finite number");
      }
      if (static_cast<int>(c) < format.integer_columns && value != kSentinel &&
          (value != std::floor(value) || std::fabs(value) > 1e15)) {
        throw ConfigError(where + ": " + col + ": '" + std::string(text) + "' is not an integer");
      }
      values[c] = value;
    }

    const int64_t row_index = parsed.summary.rows_read++;
    const int passes = parsed.summary.passes_per_row;
    auto reject_row = [&](RejectReason reason) { parsed.summary.rejected[reason] += passes; };

    bool sentinel = false;
    for (double v : values) sentinel = sentinel || v == kSentinel;
    if (sentinel) {
      reject_row(RejectReason::kSentinel);
      continue;
    }
    const LayerConfig config = format.to_config(values);
    try {
      Validate(config, where);
    } catch (const ConfigError&) {
      reject_row(RejectReason::kImpossibleGeometry);
      continue;
    }
    const std::string config_json = ToJson(config).dump();
    // The prototype called layer(x) on a plain tensor x (no requires_grad): its backward rows
    // computed the weight gradients only, never an input gradient (core input_grad false).
    LayerConfig backward_config = config;
    if (HasInputGradField(config.type)) backward_config.input_grad = false;
    const std::string backward_config_json = ToJson(backward_config).dump();
    const size_t e = static_cast<size_t>(format.integer_columns);  // for_energy column
    struct PassColumns {
      Pass pass;
      double energy_uj, time_us;
    };
    std::vector<PassColumns> measured = {{Pass::kForward, values[e], values[e + 1]}};
    if (format.has_backward) measured.push_back({Pass::kBackward, values[e + 2], values[e + 3]});
    for (const PassColumns& m : measured) {
      if (std::optional<RejectReason> reason = CheckPass(m.energy_uj, m.time_us)) {
        ++parsed.summary.rejected[*reason];
        continue;
      }
      parsed.samples.push_back({row_index, m.pass,
                                m.pass == Pass::kBackward ? backward_config_json : config_json,
                                m.energy_uj * kMicro, m.time_us * kMicro});
      ++parsed.summary.samples_imported;
    }
  }
  if (!header_seen) {
    throw ConfigError(path + ":1: empty file, expected header '" + expected_header + "'");
  }
  return parsed;
}

// Refuses content already stored as a run of `kind` in this database (the store's query on
// runs.source_json: same file name unless `file` is "", same content hash).
void RefuseDuplicate(Store& store, RunKind kind, const std::string& file, const std::string& hash,
                     const std::string& shown_path) {
  if (const std::optional<int64_t> run =
          store.FindRunBySourceHash(std::string(ToString(kind)), file, hash)) {
    throw ConfigError(shown_path + ": already imported into " + store.path() + " as run " +
                      std::to_string(*run) + " (same content); nothing imported");
  }
}

// One parsed dir/nets/<net>.json file (see ImportNetworkSummary). An energy that is not > 0 (a
// RAPL counter wraparound that the prototype did not handle, e.g. -1312611965 uJ) is absent:
// that epoch's phase keeps its time, and the iteration (forward + backward) has no energy.
struct ParsedNetwork {
  ImportNetworkSummary summary;
  std::string content_hash;
  std::vector<double> forward_s, iteration_s;
  std::vector<std::optional<double>> forward_j, iteration_j;
};

// The numbers of `key`; times must be > 0 (`positive`), energies may be anything finite (their
// sign is judged by the caller).
std::vector<double> NumberArray(const nlohmann::json& j, const char* key, bool positive,
                                const std::string& path) {
  if (!j.contains(key) || !j[key].is_array() || j[key].empty()) {
    throw ConfigError(path + ": '" + key + "' must be a non-empty array of numbers");
  }
  std::vector<double> out;
  for (const auto& v : j[key]) {
    if (!v.is_number() || !std::isfinite(v.get<double>()) || (positive && !(v.get<double>() > 0))) {
      throw ConfigError(path + ": '" + key + "' must hold " +
                        (positive ? "positive numbers" : "finite numbers") + ", got " + v.dump());
    }
    out.push_back(v.get<double>());
  }
  return out;
}

ParsedNetwork ParseNetworkFile(const std::string& path) {
  const std::string content = ReadTextFile(path);
  const nlohmann::json j = ParseJsonText(content, path);
  if (!j.is_object() || !j.contains("net") || !j["net"].is_string() || !j.contains("batch_size") ||
      !j["batch_size"].is_number_integer() || j["batch_size"].get<int64_t>() <= 0) {
    throw ConfigError(path + ": needs a string 'net' and a positive integer 'batch_size'");
  }
  ParsedNetwork net;
  net.summary.file = path;
  net.summary.network = j["net"].get<std::string>() + "_legacy";
  net.summary.batch_size = j["batch_size"].get<int64_t>();
  net.content_hash = Hex(Fnv1a64(content));
  const auto fwd_uj = NumberArray(j, "forward_energy", false, path);
  const auto fwd_us = NumberArray(j, "forward_time", true, path);
  const auto bwd_uj = NumberArray(j, "backward_energy", false, path);
  const auto bwd_us = NumberArray(j, "backward_time", true, path);
  if (fwd_us.size() != fwd_uj.size() || bwd_uj.size() != fwd_uj.size() ||
      bwd_us.size() != fwd_uj.size()) {
    throw ConfigError(path + ": forward/backward energy and time arrays differ in length");
  }
  const auto energy = [](double uj) -> std::optional<double> {
    if (uj > 0) return uj * kMicro;
    return std::nullopt;
  };
  for (size_t i = 0; i < fwd_uj.size(); ++i) {
    const std::optional<double> fwd_j = energy(fwd_uj[i]), bwd_j = energy(bwd_uj[i]);
    net.summary.rejected_energies += (fwd_j ? 0 : 1) + (bwd_j ? 0 : 1);
    net.forward_j.push_back(fwd_j);
    net.forward_s.push_back(fwd_us[i] * kMicro);
    net.iteration_j.push_back(fwd_j && bwd_j ? std::optional<double>(*fwd_j + *bwd_j)
                                             : std::nullopt);
    net.iteration_s.push_back((fwd_us[i] + bwd_us[i]) * kMicro);
  }
  net.summary.epochs = static_cast<int64_t>(fwd_uj.size());
  return net;
}

}  // namespace

std::string_view ToString(RejectReason reason) {
  switch (reason) {
    case RejectReason::kSentinel:
      return "-0.1 sentinel";
    case RejectReason::kImpossibleGeometry:
      return "impossible geometry";
    case RejectReason::kNegativeEnergy:
      return "negative energy (wraparound)";
    case RejectReason::kZeroEnergy:
      return "zero energy (below RAPL resolution)";
    case RejectReason::kNonPositiveTime:
      return "non-positive time";
  }
  return "unknown";
}

int64_t ImportFileSummary::RejectedSamples() const {
  int64_t total = 0;
  for (const auto& entry : rejected) total += entry.second;
  return total;
}

namespace {

// Step 1 of an import: every file of `dir` parsed and checked, nothing written.
void ParseLegacyDir(const std::string& dir, std::vector<ParsedFile>& parsed,
                    std::vector<ParsedNetwork>& networks) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw ConfigError(dir + ": not a directory");
  for (const FileFormat& format : Formats()) {
    const std::string path = (fs::path(dir) / format.file_name).string();
    if (!fs::exists(path, ec)) continue;
    parsed.push_back(ParseFile(format, path));
  }
  const fs::path nets_dir = fs::path(dir) / "nets";
  if (fs::is_directory(nets_dir, ec)) {
    std::vector<std::string> paths;
    for (const auto& entry : fs::directory_iterator(nets_dir)) {
      if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
    }
    std::sort(paths.begin(), paths.end());
    for (const std::string& path : paths) networks.push_back(ParseNetworkFile(path));
  }
  if (parsed.empty() && networks.empty()) {
    throw ConfigError(dir + ": none of conv.csv, linear.csv, pool.csv, nets/*.json found");
  }
}

}  // namespace

void CheckLegacyDir(const std::string& dir) {
  std::vector<ParsedFile> parsed;
  std::vector<ParsedNetwork> networks;
  ParseLegacyDir(dir, parsed, networks);
}

ImportSummary ImportLegacy(const std::string& dir, const std::string& host_name, Store& store,
                           const std::string& command_line) {
  if (host_name.empty()) throw ConfigError("legacy import of " + dir + ": host name is empty");
  // 1. Parse and check every file before writing anything.
  std::vector<ParsedFile> parsed;
  std::vector<ParsedNetwork> networks;
  ParseLegacyDir(dir, parsed, networks);
  for (const ParsedFile& p : parsed) {
    RefuseDuplicate(store, RunKind::kImport, p.format->file_name, p.content_hash, p.path);
  }
  for (const ParsedNetwork& net : networks) {
    RefuseDuplicate(store, RunKind::kNetwork, "", net.content_hash, net.summary.file);
  }

  // 2. Write everything in one transaction.
  ImportSummary summary;
  summary.host_name = host_name;
  Store::Transaction txn(store);
  HostInfo host;
  host.hostname = host_name;
  host.cpu_model = "unknown";
  host.torch_version = "unknown";
  host.blas = "unknown";
  host.rapl_domains = "package";
  summary.host_id = store.UpsertHost(host);

  for (ParsedFile& p : parsed) {
    RunInfo run;
    run.host_id = summary.host_id;
    run.command_line = command_line;
    run.kind = std::string(ToString(RunKind::kImport));
    run.layer = p.summary.layer;
    run.source_json = nlohmann::json{
        {"source", "legacy-pyrapl"},
        {"file", p.format->file_name},
        {"path", p.path},
        {"columns", Join(p.format->columns)},
        {"content_fnv1a64",
         p.content_hash}}.dump();
    run.target_n = p.summary.rows_read;
    run.meter = kMeter;
    run.trials = 1;
    p.summary.run_id = store.CreateRun(run);

    std::vector<SampleRow> rows;
    rows.reserve(p.samples.size());
    for (const PendingSample& s : p.samples) {
      SampleRow row;
      row.run_id = p.summary.run_id;
      row.sample_index = s.row_index;
      row.layer = p.summary.layer;
      row.pass = std::string(ToString(s.pass));
      row.config = s.config_json;
      row.repetitions = kRepetitions;
      row.trials = 1;
      row.time_s = s.time_s;
      row.time_std_s = 0;  // not recorded by the prototype
      row.energy_j = s.energy_j;
      row.meter = kMeter;
      row.notes = s.pass == Pass::kBackward ? kBackwardNote : kForwardNote;
      rows.push_back(std::move(row));
    }
    store.InsertSamples(rows);
    store.SetRunStatus(p.summary.run_id, std::string(ToString(RunStatus::kFinished)));
    summary.files.push_back(std::move(p.summary));
  }
  for (ParsedNetwork& net : networks) {
    RunInfo run;
    run.host_id = summary.host_id;
    run.command_line = command_line;
    run.kind = std::string(ToString(RunKind::kNetwork));
    run.source_json = nlohmann::json{{"source", "legacy-pyrapl"},
                                     {"file", net.summary.file},
                                     {"network", net.summary.network},
                                     {"content_fnv1a64", net.content_hash},
                                     {"phases",
                                      "forward = model(x); iteration = forward + "
                                      "cross-entropy + backward + SGD step"}}
                          .dump();
    run.target_n = net.summary.epochs;
    run.meter = kMeter;
    run.trials = 1;
    net.summary.run_id = store.CreateRun(run);
    std::vector<NetworkSampleRow> rows;
    for (int64_t i = 0; i < net.summary.epochs; ++i) {
      const auto row = [&](const char* phase, double time_s, std::optional<double> energy_j) {
        NetworkSampleRow r;
        r.run_id = net.summary.run_id;
        r.network = net.summary.network;
        r.batch_size = net.summary.batch_size;
        r.phase = phase;
        r.iteration = i;
        r.time_s = time_s;
        r.energy_j = energy_j;
        r.meter = kMeter;
        return r;
      };
      rows.push_back(row("forward", net.forward_s[i], net.forward_j[i]));
      rows.push_back(row("iteration", net.iteration_s[i], net.iteration_j[i]));
    }
    store.InsertNetworkSamples(rows);
    store.SetRunStatus(net.summary.run_id, std::string(ToString(RunStatus::kFinished)));
    summary.networks.push_back(net.summary);
  }
  txn.Commit();
  return summary;
}

std::string FormatImportSummary(const ImportSummary& summary) {
  std::ostringstream out;
  int64_t rows = 0, imported = 0, rejected = 0;
  for (const ImportFileSummary& f : summary.files) {
    const int64_t n = f.rows_read * f.passes_per_row;
    out << std::filesystem::path(f.file).filename().string() << " -> run " << f.run_id << " ("
        << f.layer << "): " << f.rows_read << " rows, " << n << " samples ("
        << (f.passes_per_row == 2 ? "forward+backward" : "forward only")
        << "): " << f.samples_imported << " imported, " << f.RejectedSamples() << " rejected";
    if (!f.rejected.empty()) {
      out << " (";
      bool first = true;
      for (const auto& [reason, count] : f.rejected) {
        out << (first ? "" : ", ") << ToString(reason) << ": " << count;
        first = false;
      }
      out << ")";
    }
    out << "\n";
    rows += f.rows_read;
    imported += f.samples_imported;
    rejected += f.RejectedSamples();
  }
  for (const ImportNetworkSummary& n : summary.networks) {
    out << std::filesystem::path(n.file).filename().string() << " -> run " << n.run_id
        << " (network " << n.network << ", batch " << n.batch_size << "): " << n.epochs
        << " epochs x phases forward, iteration";
    if (n.rejected_energies > 0) {
      out << "; " << n.rejected_energies
          << " energies not > 0 (wraparound) stored as absent, their times kept";
    }
    out << "\n";
  }
  out << "host '" << summary.host_name << "' (id " << summary.host_id << "): " << rows << " rows, "
      << imported << " samples imported, " << rejected << " rejected\n";
  return out.str();
}

}  // namespace lj
