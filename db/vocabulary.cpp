#include "db/vocabulary.h"

#include <utility>

#include "core/errors.h"

namespace lj {
namespace {

template <typename E>
using Words = std::vector<std::pair<E, std::string_view>>;

const Words<RunKind>& KindWords() {
  static const Words<RunKind> kWords = {
      {RunKind::kRandom, "random"},   {RunKind::kNear, "near"},
      {RunKind::kSweep, "sweep"},     {RunKind::kImport, "import"},
      {RunKind::kNetwork, "network"}, {RunKind::kNetLayers, "net-layers"},
  };
  return kWords;
}

const Words<RunStatus>& StatusWords() {
  static const Words<RunStatus> kWords = {{RunStatus::kRunning, "running"},
                                          {RunStatus::kInterrupted, "interrupted"},
                                          {RunStatus::kFinished, "finished"},
                                          {RunStatus::kFailed, "failed"}};
  return kWords;
}

const Words<NetworkPhase>& PhaseWords() {
  static const Words<NetworkPhase> kWords = {{NetworkPhase::kForward, "forward"},
                                             {NetworkPhase::kLoss, "loss"},
                                             {NetworkPhase::kBackward, "backward"},
                                             {NetworkPhase::kOptimizer, "optimizer"},
                                             {NetworkPhase::kIteration, "iteration"}};
  return kWords;
}

template <typename E>
std::string_view Word(const Words<E>& words, E value) {
  for (const auto& [v, w] : words) {
    if (v == value) return w;
  }
  return "unknown";
}

template <typename E>
E Parse(const Words<E>& words, std::string_view text, const char* what) {
  std::string expected;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i].second == text) return words[i].first;
    if (i > 0) expected += (i + 1 == words.size()) ? " or " : ", ";
    expected += words[i].second;
  }
  throw StoreError(std::string("unknown ") + what + " '" + std::string(text) + "' (expected " +
                   expected + ")");
}

template <typename E>
std::vector<E> Values(const Words<E>& words) {
  std::vector<E> out;
  for (const auto& entry : words) out.push_back(entry.first);
  return out;
}

}  // namespace

std::string_view ToString(RunKind kind) { return Word(KindWords(), kind); }
std::string_view ToString(RunStatus status) { return Word(StatusWords(), status); }
std::string_view ToString(NetworkPhase phase) { return Word(PhaseWords(), phase); }

RunKind ParseRunKind(std::string_view text) { return Parse(KindWords(), text, "run kind"); }
RunStatus ParseRunStatus(std::string_view text) { return Parse(StatusWords(), text, "run status"); }
NetworkPhase ParseNetworkPhase(std::string_view text) {
  return Parse(PhaseWords(), text, "network phase");
}

const std::vector<RunKind>& AllRunKinds() {
  static const std::vector<RunKind> kAll = Values(KindWords());
  return kAll;
}
const std::vector<RunStatus>& AllRunStatuses() {
  static const std::vector<RunStatus> kAll = Values(StatusWords());
  return kAll;
}
const std::vector<NetworkPhase>& AllNetworkPhases() {
  static const std::vector<NetworkPhase> kAll = Values(PhaseWords());
  return kAll;
}
const std::vector<std::string>& AllNetworkPhaseNames() {
  static const std::vector<std::string> kAll = [] {
    std::vector<std::string> names;
    for (NetworkPhase p : AllNetworkPhases()) names.emplace_back(ToString(p));
    return names;
  }();
  return kAll;
}

}  // namespace lj
