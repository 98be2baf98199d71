#include "measure/network_run.h"

#include <spdlog/spdlog.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/errors.h"
#include "core/file_read.h"
#include "core/json_reader.h"
#include "db/connection.h"
#include "db/store.h"
#include "db/vocabulary.h"
#include "measure/page_faults.h"
#include "measure/peak_memory.h"
#include "measure/sample_rows.h"
#include "measure/torch_info.h"
#include "net/net_builder.h"
#include "net/net_module.h"
#include "net/torchscript_layers.h"

namespace lj {
namespace {

using Clock = std::chrono::steady_clock;

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// A network ready to train: its forward function, trainable parameters and leaf layers.
struct TrainableNet {
  std::string name;
  InputSpec input;
  // Token ids (input.IsTokenIds()): drawn uniformly in [0, vocabulary); 0: all ids are 0.
  int64_t vocabulary = 0;
  int64_t batch_size = 0;
  OptimizerSpec optimizer;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  std::vector<torch::Tensor> parameters;
  std::vector<LayerInstance> layers;  // filled only when --layers asks for them
  std::string description;            // runs.source_json: the net.json text or a JSON summary
};

// The rows (num_embeddings) of the first nn.Embedding, in module order, of a TorchScript module
// (the token embedding of a language model, before its position and type embeddings), or 0.
int64_t FirstEmbeddingRows(const torch::jit::Module& module) {
  for (const torch::jit::NameModule& m : module.named_modules()) {
    const auto type_name = m.value.type()->name();
    if (!type_name || type_name->name() != "Embedding" || !m.value.hasattr("weight")) continue;
    const c10::IValue weight = m.value.attr("weight");
    if (weight.isTensor() && weight.toTensor().dim() == 2) return weight.toTensor().size(0);
  }
  return 0;
}

// One batch of input: float32 images torch::randn(N, C, H, W), or int64 token ids (N, S)
// uniform in [0, vocabulary) (zeros without a vocabulary), from the seeded global generator.
torch::Tensor MakeInput(const InputSpec& input, int64_t vocabulary, int64_t batch_size) {
  std::vector<int64_t> shape = {batch_size};
  for (int64_t d : input.SampleShape()) shape.push_back(d);
  if (!input.IsTokenIds()) return torch::randn(shape);
  if (vocabulary <= 0) return torch::zeros(shape, torch::kLong);
  return torch::randint(vocabulary, shape, torch::TensorOptions().dtype(torch::kLong));
}

TrainableNet LoadNet(const NetworkRunOptions& options) {
  TrainableNet net;
  const std::string& path = options.net_path;
  if (IsNetJson(path)) {
    const NetSpec spec = LoadNetSpecWithOverrides(path, options.overrides);
    BuiltNet built = BuildNet(spec);
    built.module->train();
    std::shared_ptr<NetModuleImpl> module = built.module;
    net.name = spec.name;
    net.input = spec.input;
    net.vocabulary = spec.input.vocabulary;
    net.batch_size = spec.batch_size;
    net.optimizer = spec.optimizer;
    net.forward = [module](const torch::Tensor& x) { return module->forward(x); };
    net.parameters = module->parameters();
    net.layers = std::move(built.layers);
    net.description = ReadTextFile(path);
    return net;
  }
  const NetworkOverrides& o = options.overrides;
  if (!o.input) {
    throw ConfigError(path + ": a TorchScript file has no input size; give --input or --input-ids");
  }
  if (!o.batch_size || *o.batch_size <= 0) {
    throw ConfigError(path + ": a TorchScript file has no batch size; give --batch-size B > 0");
  }
  net.name = TorchScriptNetworkName(path);
  if (o.optimizer) {
    net.optimizer.type = *o.optimizer;
    net.optimizer.lr = *o.optimizer == "adam" ? 1e-3 : 0.01;
  }
  net.input = *o.input;
  net.batch_size = *o.batch_size;
  if (options.layers) net.layers = LayersFromTorchScript(path, net.input, net.batch_size);
  CheckInputFile(path, MaxTorchScriptBytes());  // refuses a FIFO before torch opens it
  auto module = std::make_shared<torch::jit::Module>();
  try {
    *module = torch::jit::load(path);
  } catch (const std::exception& e) {
    throw ConfigError(path + ": not a readable TorchScript module: " + FirstLine(e.what()));
  }
  if (net.input.IsTokenIds()) {
    net.vocabulary = FirstEmbeddingRows(*module);
    if (net.vocabulary == 0) {
      spdlog::warn("{}: no nn.Embedding found for the vocabulary of --input-ids: all ids are 0",
                   path);
    }
  }
  module->train();
  for (const torch::Tensor& p : module->parameters()) {
    if (p.requires_grad()) net.parameters.push_back(p);
  }
  net.forward = [module](const torch::Tensor& x) { return module->forward({x}).toTensor(); };
  net.description =
      nlohmann::json({{"torchscript", path},
                      {"input", net.input.SampleShape()},  // [C, H, W], or [S] for token ids
                      {"input_ids", net.input.IsTokenIds()},
                      {"batch_size", net.batch_size}})
          .dump();
  return net;
}

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(const OptimizerSpec& spec,
                                                       const std::vector<torch::Tensor>& params) {
  if (spec.type == "adam") {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(spec.lr).weight_decay(spec.weight_decay));
  }
  return std::make_unique<torch::optim::SGD>(
      params,
      torch::optim::SGDOptions(spec.lr).momentum(spec.momentum).weight_decay(spec.weight_decay));
}

bool HasPackageZone(const EnergyMeter* meter) {
  if (meter == nullptr) return false;
  for (const RaplZone& z : meter->Zones()) {
    if (z.domain == RaplDomain::kPackage) return true;
  }
  return false;
}

// Runs training iterations and times their phases; reads the meter after every phase.
class Trainer {
 public:
  // `memory`: the probe made before the network was built (its baseline), or null.
  Trainer(TrainableNet& net, EnergyMeter* meter, uint64_t seed, PeakMemoryProbe* memory)
      : net_(net), meter_(meter), memory_(memory) {
    torch::manual_seed(seed);
    input_ = MakeInput(net.input, net.vocabulary, net.batch_size);
    torch::Tensor out;
    {
      torch::NoGradGuard no_grad;
      out = net.forward(input_);
    }
    if (out.dim() != 2 || out.size(0) != net.batch_size) {
      throw ConfigError(net.name + ": the output " + ShapeToString(out.sizes().vec()) +
                        " is not (batch_size, classes) = (" + std::to_string(net.batch_size) +
                        ", C); cross_entropy needs class scores");
    }
    labels_ = torch::randint(0, out.size(1), {net.batch_size}, torch::kLong);
    if (net.parameters.empty()) throw ConfigError(net.name + ": no trainable parameters");
    optimizer_ = MakeOptimizer(net.optimizer, net.parameters);
    with_energy_ = HasPackageZone(meter);
  }

  // One iteration; rows in AllNetworkPhaseNames() order with iteration index `iteration`.
  std::vector<NetworkSampleRow> Step(int64_t iteration) {
    std::vector<NetworkSampleRow> rows;
    // The iteration's energy is the sum of its phases' windows (each corrected for its own
    // wraparound); a phase longer than the meter's unambiguous window (issue 11) has no energy,
    // and then neither has the iteration.
    std::optional<WindowedEnergy> windows;
    if (meter_) windows.emplace(*meter_);
    bool energy_known = true;
    // The peak memory is the iteration's; its reset and read stay outside the timed phases and
    // the iteration's time (a read of /proc/self/status takes tens of microseconds).
    const bool memory_was_measured = memory_ != nullptr && memory_->available();
    if (memory_) memory_->Reset();
    // Page faults (measure/page_faults.h) are read around each phase, outside its time.
    const std::optional<int64_t> iteration_faults_before = ProcessMinorFaults();
    const auto start = Clock::now();
    auto end = start;
    torch::Tensor output, loss;
    auto phase = [&](NetworkPhase name, const std::function<void()>& run) {
      const std::optional<int64_t> faults_before = ProcessMinorFaults();
      const auto t0 = Clock::now();
      run();
      end = Clock::now();
      NetworkSampleRow row;
      row.minor_faults = MinorFaultsBetween(faults_before, ProcessMinorFaults());
      row.phase = std::string(ToString(name));
      row.time_s = std::chrono::duration<double>(end - t0).count();
      if (windows) {
        const EnergyDelta delta = windows->Read();
        if (row.time_s > meter_->MaxWindowS()) {
          energy_known = false;
          spdlog::warn(
              "{} phase took {:.1f} s, longer than the {:.1f} s RAPL window that is "
              "unambiguous here: its energy is not stored",
              row.phase, row.time_s, meter_->MaxWindowS());
        } else {
          SetEnergy(row, delta);
        }
      }
      rows.push_back(std::move(row));
    };
    phase(NetworkPhase::kForward, [&] { output = net_.forward(input_); });
    phase(NetworkPhase::kLoss,
          [&] { loss = torch::nn::functional::cross_entropy(output, labels_); });
    phase(NetworkPhase::kBackward, [&] { loss.backward(); });
    phase(NetworkPhase::kOptimizer, [&] {
      optimizer_->step();
      optimizer_->zero_grad();
    });
    NetworkSampleRow total;
    total.phase = std::string(ToString(NetworkPhase::kIteration));
    total.time_s = std::chrono::duration<double>(end - start).count();
    total.minor_faults = MinorFaultsBetween(iteration_faults_before, ProcessMinorFaults());
    if (memory_) {
      total.peak_memory_bytes = memory_->PeakAboveBaselineBytes();
      if (memory_was_measured && !memory_->available()) {
        spdlog::warn("iteration {}: peak memory is no longer measured: {}", iteration,
                     memory_->unavailable_reason());
      }
    }
    if (windows && energy_known) SetEnergy(total, windows->Total());
    rows.push_back(std::move(total));
    for (NetworkSampleRow& r : rows) {
      r.iteration = iteration;
      r.network = net_.name;
      r.batch_size = net_.batch_size;
      r.time_s = std::max(r.time_s, 1e-9);  // the schema wants time_s > 0
    }
    return rows;
  }

 private:
  void SetEnergy(NetworkSampleRow& row, const EnergyDelta& delta) const {
    if (!with_energy_) return;
    row.energy_j = delta.package_j;
    row.dram_energy_j = delta.dram_j;
  }

  TrainableNet& net_;
  EnergyMeter* meter_;
  PeakMemoryProbe* memory_;
  bool with_energy_ = false;
  torch::Tensor input_, labels_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
};

// The distinct configs of one training step of the network and the paths using each: every
// layer's config, its gradient accumulations ("<path> grad accumulation", add), the loss
// ("loss", cross_entropy on the network output), the optimizer step ("optimizer step", sgd or
// adam over the trainable tensors the optimizer gets), and over the same tensors the
// accumulation into .grad ("grad accumulation (.grad)") and the fill of zero_grad()
// ("zero_grad").
std::vector<std::pair<LayerConfig, std::vector<std::string>>> DistinctConfigs(
    const TrainableNet& net) {
  std::vector<std::pair<LayerConfig, std::vector<std::string>>> out;
  std::map<std::string, size_t> index;
  auto add = [&](const LayerConfig& config, const std::string& path) {
    const std::string key = std::string(ToString(config.type)) + ToJson(config).dump();
    auto [it, inserted] = index.emplace(key, out.size());
    if (inserted) out.push_back({config, {}});
    out[it->second].second.push_back(path);
  };
  for (const LayerInstance& l : net.layers) {
    if (l.config) add(*l.config, l.path);
    for (const LayerConfig& acc : l.grad_accumulations) add(acc, l.path + kForkAccumulationSuffix);
  }
  if (auto loss = LossConfigOf(net.layers)) add(*loss, kLossPath);
  LayerConfig step;
  step.type = net.optimizer.type == "adam" ? LayerType::kAdam : LayerType::kSgd;
  step.parameters = 0;
  step.parameter_tensors = static_cast<int64_t>(net.parameters.size());
  for (const torch::Tensor& p : net.parameters) step.parameters += p.numel();
  if (IsValid(step)) {
    // The step, and (LibTorch 1.13's zero_grad() zero-fills) the accumulation of every backward
    // into .grad and the fill in every optimizer phase (predict/NET_FORMAT.md, "The training
    // loop"): all three over the same tensors.
    for (const auto& [type, path] :
         {std::pair<LayerType, const char*>{step.type, kOptimizerStepPath},
          {LayerType::kGradAccumulate, kGradAccumulationPath},
          {LayerType::kZeroGrad, kZeroGradPath}}) {
      LayerConfig c = step;
      c.type = type;
      add(c, path);
    }
  }
  return out;
}

void MeasureNetworkLayers(const TrainableNet& net, const NetworkRunOptions& options,
                          MeasureSession& session, std::optional<double> idle_power_w,
                          const std::atomic<bool>& stop, NetworkRunSummary& summary) {
  const auto configs = DistinctConfigs(net);
  summary.layer_configs = static_cast<int64_t>(configs.size());
  Store& store = session.store();
  RunInfo run = session.NewRun(RunKind::kNetLayers);
  run.source_json = net.description;
  run.target_n = summary.layer_configs;
  run.min_time_s = options.layer_options.min_time_s;
  run.trials = options.layer_options.trials;
  summary.layer_run_id = session.CreateRun(run);
  session.MaybeProbeSpeed(summary.layer_run_id, &stop, true);
  for (size_t i = 0; i < configs.size() && !stop.load(); ++i) {
    if (i > 0 && !session.MaybeProbeSpeed(summary.layer_run_id, &stop)) break;
    const auto& [config, paths] = configs[i];
    const int64_t index = static_cast<int64_t>(i);
    try {
      const auto results = MeasureLayer(config, options.layer_options, session.meter(), &stop,
                                        options.session.seed + i);
      std::vector<SampleRow> rows = ToSampleRows(results, config, summary.layer_run_id, index,
                                                 session.meter_name(), idle_power_w);
      std::string notes = net.name + " layer ";
      for (size_t p = 0; p < paths.size(); ++p) notes += (p ? ", " : "") + paths[p];
      for (SampleRow& r : rows) r.notes = notes;
      store.InsertSamples(rows);
      ++summary.layers_stored;
      if (results.size() > 1) {
        spdlog::info("[net-layers] {} {}: fwd {:.3g} s bwd {:.3g} s", ToString(config.type),
                     paths.front(), results.at(0).time_s, results.at(1).time_s);
      } else {  // sgd / adam: the step is the only (forward) row
        spdlog::info("[net-layers] {} {}: {:.3g} s", ToString(config.type), paths.front(),
                     results.at(0).time_s);
      }
    } catch (const MeasurementInterrupted&) {
      break;
    } catch (const StoreError&) {
      throw;
    } catch (const MeterError& e) {
      store.SetRunStatus(summary.layer_run_id, std::string(ToString(RunStatus::kFailed)));
      throw MeterError(std::string(e.what()) + "; run " + std::to_string(summary.layer_run_id) +
                       " is marked failed");
    } catch (const std::exception& e) {
      store.InsertFailure({summary.layer_run_id, index, std::string(ToString(config.type)),
                           ToJson(config).dump(), e.what()});
      ++summary.layers_failed;
      spdlog::warn("[net-layers] {} failed: {}", paths.front(), e.what());
    }
  }
  if (!stop.load()) session.MaybeProbeSpeed(summary.layer_run_id, &stop, true);
  const bool complete = summary.layers_stored + summary.layers_failed == summary.layer_configs;
  store.SetRunStatus(
      summary.layer_run_id,
      std::string(ToString(complete ? RunStatus::kFinished : RunStatus::kInterrupted)));
}

}  // namespace

NetworkRunSummary RunNetworkMeasurement(const NetworkRunOptions& options,
                                        const std::atomic<bool>& stop) {
  const auto wall_start = Clock::now();
  // 1. Validate and build everything before anything is written.
  if (options.iterations <= 0) {
    throw ConfigError("--iterations must be > 0, got " + std::to_string(options.iterations));
  }
  if (options.warmup_iterations < 0) {
    throw ConfigError("warm-up iterations must be >= 0, got " +
                      std::to_string(options.warmup_iterations));
  }
  if (options.layers) Validate(options.layer_options);
  torch::manual_seed(options.session.seed);
  // The baseline of the peak memory: before the network's weights exist, so that the peak
  // counts parameters, gradients, optimizer state and the batch as predict's accounting does,
  // and after the intra-op threads have started (SetTorchThreads), so that it does not count
  // their start-up, which happens once per process whatever the network.
  SetTorchThreads(TorchThreadsFor(options.session.threads));
  PeakMemoryProbe memory("/proc/self", SqliteHeapBytes);
  if (!memory.available()) {
    spdlog::warn("peak memory is not measured: {}", memory.unavailable_reason());
  }
  TrainableNet net = LoadNet(options);

  // 2. Lock, meter, threads, host; then the database.
  MeasureSession session(options.session);
  EnergyMeter* meter = session.meter();
  std::unique_ptr<Trainer> trainer;
  try {
    trainer = std::make_unique<Trainer>(net, meter, options.session.seed,
                                        memory.available() ? &memory : nullptr);
  } catch (const c10::Error& e) {
    throw ConfigError(options.net_path + ": cannot run the network: " + FirstLine(e.what()));
  }
  Store& store = session.store();  // created only now: a network that cannot run writes nothing
  RunInfo run = session.NewRun(RunKind::kNetwork);
  run.source_json = net.description;
  run.target_n = options.iterations;
  NetworkRunSummary summary;
  summary.run_id = session.CreateRun(run);
  summary.network = net.name;
  summary.batch_size = net.batch_size;
  summary.meter = session.meter_name();
  spdlog::info("run {}: network {} at batch {} on {} ({} threads), meter {}", summary.run_id,
               net.name, net.batch_size, session.host().cpu_model, session.threads(),
               session.meter_name());
  std::optional<double> idle_power_w;

  // 3. Warm-up, then the measured iterations, each stored in one transaction.
  std::map<std::string, NetworkPhaseStats> sums;
  try {
    idle_power_w = session.MeasureIdlePower(summary.run_id, &stop);
    // The machine's speed before, between and after the iterations (measure/speed_probe.h); a
    // probe runs only between iterations, never inside one.
    session.MaybeProbeSpeed(summary.run_id, &stop, true);
    for (int i = 0; i < options.warmup_iterations && !stop.load(); ++i) trainer->Step(-1);
    for (int64_t i = 0; i < options.iterations && !stop.load(); ++i) {
      if (i > 0 && !session.MaybeProbeSpeed(summary.run_id, &stop)) break;
      std::vector<NetworkSampleRow> rows = trainer->Step(i);
      for (NetworkSampleRow& r : rows) {
        r.run_id = summary.run_id;
        r.meter = session.meter_name();
        if (r.energy_j) r.idle_power_w = idle_power_w;
        NetworkPhaseStats& s = sums[r.phase];
        s.time_s += r.time_s;
        if (r.energy_j) s.energy_j = s.energy_j.value_or(0.0) + *r.energy_j;
        if (r.minor_faults) s.minor_faults = s.minor_faults.value_or(0.0) + *r.minor_faults;
        if (r.peak_memory_bytes) {
          s.peak_memory_bytes = std::max(s.peak_memory_bytes.value_or(0), *r.peak_memory_bytes);
        }
      }
      store.InsertNetworkSamples(rows);
      ++summary.iterations;
      spdlog::info("[{}] iteration {}: {:.4g} s", net.name, i, rows.back().time_s);
    }
  } catch (const c10::Error& e) {
    store.SetRunStatus(summary.run_id, std::string(ToString(RunStatus::kFailed)));
    throw std::runtime_error(net.name + ": training iteration failed: " + FirstLine(e.what()));
  } catch (const MeterError& e) {
    // A RAPL zone gone or a counter that keeps resetting: no later iteration can be measured.
    store.SetRunStatus(summary.run_id, std::string(ToString(RunStatus::kFailed)));
    throw MeterError(std::string(e.what()) + "; run " + std::to_string(summary.run_id) +
                     " is marked failed");
  }
  if (!stop.load()) session.MaybeProbeSpeed(summary.run_id, &stop, true);
  trainer.reset();
  for (const std::string& phase : AllNetworkPhaseNames()) {
    auto it = sums.find(phase);
    if (it == sums.end()) continue;
    NetworkPhaseStats s = it->second;
    s.phase = phase;
    s.time_s /= static_cast<double>(summary.iterations);
    if (s.energy_j) *s.energy_j /= static_cast<double>(summary.iterations);
    if (s.minor_faults) *s.minor_faults /= static_cast<double>(summary.iterations);
    summary.phases.push_back(s);
  }
  const bool complete = summary.iterations == options.iterations;
  summary.status = std::string(ToString(complete ? RunStatus::kFinished : RunStatus::kInterrupted));
  store.SetRunStatus(summary.run_id, summary.status);

  // 4. --layers: the network's layers as ordinary samples for fit.
  if (options.layers && complete) {
    MeasureNetworkLayers(net, options, session, idle_power_w, stop, summary);
    if (summary.layers_stored + summary.layers_failed < summary.layer_configs) {
      summary.status = std::string(ToString(RunStatus::kInterrupted));
    }
  }
  summary.wall_s = std::chrono::duration<double>(Clock::now() - wall_start).count();
  return summary;
}

std::string FormatNetworkSummary(const NetworkRunSummary& s) {
  std::ostringstream out;
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%.1f s", s.wall_s);
  out << "run " << s.run_id << " " << s.status << ": " << s.network << " at batch " << s.batch_size
      << ", " << s.iterations << " iterations stored, meter " << s.meter << ", " << buf
      << " wall\n";
  // Means over the iterations (energy: their sum over their number); the peak memory is the
  // largest of one iteration's, above the resident memory before the network was built; minor
  // faults are the mean per iteration (measure/page_faults.h).
  out << "phase      mean time_s  mean energy_j  minor faults  peak memory\n";
  for (const NetworkPhaseStats& p : s.phases) {
    std::string energy = "-";
    if (p.energy_j) {
      std::snprintf(buf, sizeof(buf), "%.4g", *p.energy_j);
      energy = buf;
    }
    std::string memory;
    if (p.peak_memory_bytes) {
      std::snprintf(buf, sizeof(buf), "%.1f MiB",
                    static_cast<double>(*p.peak_memory_bytes) / 1048576.0);
      memory = buf;
    }
    std::string faults = "-";
    if (p.minor_faults) {
      std::snprintf(buf, sizeof(buf), "%.0f", *p.minor_faults);
      faults = buf;
    }
    std::snprintf(buf, sizeof(buf), "%-10s %11.4g  %13s  %12s  %s", p.phase.c_str(), p.time_s,
                  energy.c_str(), faults.c_str(), memory.c_str());
    std::string line = buf;
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  }
  if (s.layer_run_id != 0) {
    out << "layers: run " << s.layer_run_id << " (net-layers): " << s.layers_stored << " of "
        << s.layer_configs << " distinct layer, loss and optimizer configs stored, "
        << s.layers_failed << " failed\n";
  }
  if (s.status == ToString(RunStatus::kInterrupted))
    out << "interrupted: the iterations above are stored\n";
  return out.str();
}

}  // namespace lj
