#pragma once
// The words the store's rows share with every module: run kinds (runs.kind), run statuses
// (runs.status) and network phases (network_samples.phase). db owns them: modules write
// ToString(...) and read with Parse...(), never their own spelling. The schema's CHECK
// constraints (db/schema.sql) list the same words; tests/db/vocabulary_test.cpp compares them.
#include <string>
#include <string_view>
#include <vector>

namespace lj {

enum class RunKind {
  kRandom,     // "random": random configs within a bounds file (measure --layer)
  kNear,       // "near": random configs, a share of them near a network's layers (--near)
  kSweep,      // "sweep": a one-factor sweep file (--sweep)
  kImport,     // "import": one imported prototype CSV file (--import-legacy)
  kNetwork,    // "network": whole-network training iterations (measure --net)
  kNetLayers,  // "net-layers": the layers of a network measured one by one (--net --layers)
};

enum class RunStatus {
  kRunning,      // "running": being measured (or killed without a word: resume it)
  kInterrupted,  // "interrupted": stopped by a signal; --resume continues it
  kFinished,     // "finished"
  kFailed,       // "failed": stopped by an error
};

// The phases of a training iteration measure --net times; "iteration" is their total.
enum class NetworkPhase { kForward, kLoss, kBackward, kOptimizer, kIteration };

std::string_view ToString(RunKind kind);
std::string_view ToString(RunStatus status);
std::string_view ToString(NetworkPhase phase);

// Parse the words above. Throw StoreError("unknown run kind 'x' (expected random, near, ...)").
RunKind ParseRunKind(std::string_view text);
RunStatus ParseRunStatus(std::string_view text);
NetworkPhase ParseNetworkPhase(std::string_view text);

// Every value, in enum order (forward, loss, backward, optimizer, iteration for the phases).
const std::vector<RunKind>& AllRunKinds();
const std::vector<RunStatus>& AllRunStatuses();
const std::vector<NetworkPhase>& AllNetworkPhases();
// The phases' names in AllNetworkPhases() order ("forward", "loss", ...), as network_samples
// stores them.
const std::vector<std::string>& AllNetworkPhaseNames();

}  // namespace lj
