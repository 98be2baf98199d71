#include "fit/features.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <sstream>

#include "core/errors.h"

namespace lj {
namespace {

// The features of a type: the first num_base names are the base features (polynomial terms
// use only those), the rest are special terms (MACs, tensor sizes).
struct FeatureSet {
  std::vector<std::string> names;
  int num_base;
};

const FeatureSet kConvFeatures = {
    {"batch_size", "in_channels_per_group", "out_channels", "input_size", "kernel_size", "stride",
     "groups", "macs", "input_elements", "output_elements", "weight_elements",
     "mmap_input_elements", "mmap_output_elements", "mmap_weight_elements", "grouped_macs",
     "input_grad", "bias"},
    7};
const FeatureSet kPoolFeatures = {
    {"batch_size", "channels", "input_size", "kernel_size", "stride", "macs", "input_elements",
     "output_elements", "mmap_input_elements", "mmap_output_elements"},
    5};
const FeatureSet kLinearFeatures = {
    {"batch_size", "in_features", "out_features", "macs", "input_elements", "output_elements",
     "weight_elements", "mmap_input_elements", "mmap_output_elements", "mmap_weight_elements",
     "input_grad"},
    3};
const FeatureSet kElementwiseFeatures = {
    {"batch_size", "channels", "input_size", "elements", "mmap_input_elements",
     "mmap_output_elements", "parallel_region"},
    3};
const FeatureSet kDropoutFeatures = {
    {"batch_size", "channels", "input_size", "minority_percent", "elements", "mmap_input_elements",
     "mmap_output_elements", "parallel_region"},
    4};
const FeatureSet kAdaptivePoolFeatures = {
    {"batch_size", "channels", "input_size", "output_size", "macs", "input_elements",
     "output_elements", "mmap_input_elements", "mmap_output_elements"},
    4};
const FeatureSet kLossFeatures = {
    {"batch_size", "num_classes", "elements", "mmap_input_elements", "mmap_output_elements"}, 2};
const FeatureSet kOptimizerFeatures = {{"parameters", "parameter_tensors"}, 2};
// bmm: the three matrix dims and the batch are the base; the MACs (degree 4 in them, beyond
// the polynomial's degree 2) and both operands' and the output's element counts are linear
// terms of their own.
const FeatureSet kBatchedMatmulFeatures = {
    {"batch_size", "rows", "inner_size", "columns", "macs", "input_elements", "output_elements",
     "mmap_input_elements", "mmap_output_elements"},
    4};
// embedding: the four dims are the base; then the traffic, as linear terms: "elements" =
// ForwardMacs = B*S*D (the forward pass reads as many weight elements and writes as many, the
// backward pass scatter-adds as many), "tokens" = B*S (the ids: the backward's every thread
// scans all of them, ATen's embedding_dense_backward_cpu), "weight_elements" = V*D (the
// backward zero-fills the weight gradient), and the first-touch faults of a fresh output
// (forward) and a fresh weight gradient (backward).
const FeatureSet kEmbeddingFeatures = {
    {"batch_size", "sequence_length", "num_embeddings", "embedding_dim", "elements", "tokens",
     "weight_elements", "mmap_output_elements", "mmap_weight_elements"},
    4};

const FeatureSet& FeatureSetOf(LayerType type) {
  switch (Describe(type).features) {
    case FeatureKind::kConv:
      return kConvFeatures;
    case FeatureKind::kPool:
      return kPoolFeatures;
    case FeatureKind::kLinear:
      return kLinearFeatures;
    case FeatureKind::kElementwise:
      return kElementwiseFeatures;
    case FeatureKind::kDropout:
      return kDropoutFeatures;
    case FeatureKind::kAdaptivePool:
      return kAdaptivePoolFeatures;
    case FeatureKind::kLoss:
      return kLossFeatures;
    case FeatureKind::kOptimizer:
      return kOptimizerFeatures;
    case FeatureKind::kBatchedMatmul:
      return kBatchedMatmulFeatures;
    case FeatureKind::kEmbedding:
      return kEmbeddingFeatures;
  }
  throw ConfigError("unknown feature kind of " + std::string(ToString(type)));
}

// glibc's malloc serves requests above its mmap threshold with fresh pages from mmap, which
// fault in on first touch: a cost per element that cached, reused memory does not have (on
// the KVM guest of JOURNAL.md 2026-12-01 about 1 ns per element: a 12.8 M-element ReLU took
// 15.9 ms, the ReLU model without this feature predicted 1.3 ms). The threshold adapts but
// never exceeds 32 MiB on 64-bit Linux (DEFAULT_MMAP_THRESHOLD_MAX), so a float32 tensor of
// 8 Mi elements or more is always fresh memory: its output in the forward pass, the gradients
// of its input and weights in the backward pass.
constexpr double kMmapElements = 8.0 * 1024 * 1024;

// 1 + elements when the tensor is always freshly mapped (see above), else 1 (features stay
// >= 1 for the log terms).
double Mmap(double elements) { return elements >= kMmapElements ? 1 + elements : 1; }

// A grouped convolution (groups > 1, depthwise included) runs other kernels than a dense one,
// at another cost per MAC: LibTorch 1.13's depthwise 5x5 backward took 33x its forward pass
// (18.8 ms against 0.56 ms, 576 channels of 7x7, batch 32) where a dense conv's backward takes
// about 2x (JOURNAL.md 2026-12-05, second session). The polynomial terms of degree <= 3 cannot
// express groups times the MACs (degree 6), so grouped convs get a slope of their own:
// 1 + MACs when groups > 1, else 1 (features stay >= 1 for the log terms). Not in the maclinear
// baseline, whose definition (issue 10) has MACs and tensor sizes only.
double GroupedMacs(int64_t groups, double macs) { return groups > 1 ? 1 + macs : 1; }

// ATen splits an element-wise kernel over the intra-op threads only from at::internal::GRAIN_SIZE
// (32768) elements on; below it the calling thread runs it alone. A parallel region wakes the
// sleeping OpenMP workers (measure runs with OMP_WAIT_POLICY=PASSIVE): a fixed cost per call
// that no per-element term can express. On the KVM guest of JOURNAL.md 2026-12-02 (fourth
// session) ReLU took 2.8 us at 32,643 elements and 54 us at 50,960; add 2.8 us at 29,155 and
// 50.6 us at 33,800. The 0/1 gate parallel_region; like the intercept, its coefficient (that
// fixed cost) is not penalised by the Lasso (IsUnpenalisedTerm).
constexpr double kAtenGrainSize = 32768;
double ParallelRegion(double elements) { return elements > kAtenGrainSize ? 1 : 0; }

// 0/1 features: no logarithm of them, and no MAC-linear baseline term of parallel_region.
bool IsGateFeature(LayerType type, int index) {
  return index >= 0 && (index == InputGradIndex(type) ||
                        index == FeatureIndex(type, "parallel_region") || index == BiasIndex(type));
}

// The side of the square with the area of an h x w rectangle: h when square, else sqrt(h * w).
double SquareSide(int64_t h, int64_t w) {
  return h == w ? static_cast<double>(h)
                : std::sqrt(static_cast<double>(h) * static_cast<double>(w));
}

double PaddedInputSize(const LayerConfig& c) {
  return SquareSide(c.height + 2 * c.padding, c.width + 2 * PaddingWidth(c));
}

// A non-square conv2d kernel (Inception v3's 1x7) as the square kernel of the same area,
// sqrt(k_h * k_w), as PaddedInputSize does for the input; MACs, weights and the output size
// carry the exact shape.
double KernelSide(const LayerConfig& c) { return SquareSide(c.kernel_size, KernelWidth(c)); }

// Enumerates exponent vectors of n base features with total degree exactly `degree`, in
// lexicographic order of the (non-decreasing) feature index sequence.
void Monomials(int n, int degree, int first, std::vector<int>& exps,
               std::vector<std::vector<int>>& out) {
  if (degree == 0) {
    out.push_back(exps);
    return;
  }
  for (int i = first; i < n; ++i) {
    ++exps[i];
    Monomials(n, degree - 1, i, exps, out);
    --exps[i];
  }
}

// The terms a 0/1 gate feature switches on: the gate alone (a fixed cost) and the gate times
// each of `features` (a cost per unit of each). Empty for types without the gate.
std::vector<Term> GatedTerms(LayerType type, int gate,
                             std::initializer_list<const char*> features) {
  if (gate < 0) return {};
  const size_t n = FeatureSetOf(type).names.size();
  Term alone{Term::Kind::kMonomial, std::vector<int>(n, 0)};
  alone.exponents[static_cast<size_t>(gate)] = 1;
  std::vector<Term> terms = {alone};
  for (const char* feature : features) {
    Term t = alone;
    t.exponents[static_cast<size_t>(FeatureIndex(type, feature))] = 1;
    terms.push_back(t);
  }
  return terms;
}

// The cost of computing the input gradient, present only when input_grad = 1 (a gate times
// linear terms): a fixed cost per backward, and costs per MAC (the transposed convolution or
// the grad_input GEMM has the forward's MACs) and per input element (the gradient written, and
// its first-touch faults when freshly mapped). Empty for types without input_grad.
std::vector<Term> InputGradientTerms(LayerType type) {
  return GatedTerms(type, InputGradIndex(type), {"macs", "input_elements", "mmap_input_elements"});
}

// The cost of the bias, present only when bias = 1 (conv2d): a fixed cost per pass, and costs
// per output element (the forward adds it to every output, the backward sums the output's
// gradient into grad_bias) and per MAC (oneDNN runs another kernel with a bias: ResNet-18's
// 3x3 and 1x1 convs took 3-13 % longer with one than without, JOURNAL.md 2026-12-07). Real
// networks with batch norm leave it out, so the random bounds draw both.
std::vector<Term> BiasTerms(LayerType type) {
  return GatedTerms(type, BiasIndex(type), {"macs", "output_elements"});
}

// The special features that are linear terms on their own (all but the input_grad and bias
// gates).
std::vector<int> SpecialLinearFeatures(LayerType type) {
  std::vector<int> out;
  const int n = static_cast<int>(FeatureSetOf(type).names.size());
  for (int i = NumBase(type); i < n; ++i) {
    if (i != InputGradIndex(type) && i != BiasIndex(type)) out.push_back(i);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& FeatureNames(LayerType type) { return FeatureSetOf(type).names; }

bool IsUnpenalisedTerm(LayerType type, const Term& term) {
  const int gate = FeatureIndex(type, "parallel_region");
  if (gate < 0 || term.kind != Term::Kind::kMonomial ||
      static_cast<size_t>(gate) >= term.exponents.size()) {
    return false;
  }
  for (size_t i = 0; i < term.exponents.size(); ++i) {
    if (term.exponents[i] != (static_cast<int>(i) == gate ? 1 : 0)) return false;
  }
  return true;
}

int NumBase(LayerType type) { return FeatureSetOf(type).num_base; }

int InputGradIndex(LayerType type) { return FeatureIndex(type, "input_grad"); }

int BiasIndex(LayerType type) { return FeatureIndex(type, "bias"); }

int FeatureIndex(LayerType type, const std::string& name) {
  const auto& names = FeatureNames(type);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<double> FeatureValues(const LayerConfig& c) {
  const TensorSizes sizes = Sizes(c);
  const double macs = ForwardMacs(c);
  const auto d = [](int64_t v) { return static_cast<double>(v); };
  switch (Describe(c.type).features) {
    case FeatureKind::kConv:
      // Fan-in per group, not in_channels: a depthwise conv (groups = in_channels) then has the
      // features of a dense conv with one input channel, whose MACs it has, instead of those of
      // a dense conv with in_channels inputs (which made a depthwise conv cost up to 16x the
      // dense one when fitted on dense data: issue 10).
      return {d(c.batch_size),
              d(c.in_channels) / d(std::max<int64_t>(c.groups, 1)),
              d(c.out_channels),
              PaddedInputSize(c),
              KernelSide(c),
              d(c.stride),
              d(c.groups),
              macs,
              sizes.input_elements,
              sizes.output_elements,
              sizes.weight_elements,
              Mmap(sizes.input_elements),
              Mmap(sizes.output_elements),
              Mmap(sizes.weight_elements),
              GroupedMacs(c.groups, macs),
              c.input_grad ? 1.0 : 0.0,
              c.bias ? 1.0 : 0.0};
    case FeatureKind::kPool:
      return {d(c.batch_size),
              d(c.in_channels),
              PaddedInputSize(c),
              d(c.kernel_size),
              d(c.stride),
              macs,
              sizes.input_elements,
              sizes.output_elements,
              Mmap(sizes.input_elements),
              Mmap(sizes.output_elements)};
    case FeatureKind::kLinear:
      return {d(c.batch_size),
              d(c.in_features),
              d(c.out_features),
              macs,
              sizes.input_elements,
              sizes.output_elements,
              sizes.weight_elements,
              Mmap(sizes.input_elements),
              Mmap(sizes.output_elements),
              Mmap(sizes.weight_elements),
              c.input_grad ? 1.0 : 0.0};
    case FeatureKind::kElementwise:
      return {d(c.batch_size),
              d(c.in_channels),
              PaddedInputSize(c),
              macs,
              Mmap(sizes.input_elements),
              Mmap(sizes.output_elements),
              ParallelRegion(sizes.output_elements)};
    case FeatureKind::kDropout: {
      const double minority = std::max<double>(1, std::min(c.p_percent, 100 - c.p_percent));
      return {d(c.batch_size),
              d(c.in_channels),
              PaddedInputSize(c),
              minority,
              macs,
              Mmap(sizes.input_elements),
              Mmap(sizes.output_elements),
              ParallelRegion(sizes.output_elements)};
    }
    case FeatureKind::kAdaptivePool:
      return {d(c.batch_size),
              d(c.in_channels),
              PaddedInputSize(c),
              d(c.output_size),
              macs,
              sizes.input_elements,
              sizes.output_elements,
              Mmap(sizes.input_elements),
              Mmap(sizes.output_elements)};
    case FeatureKind::kLoss:
      return {d(c.batch_size), d(c.num_classes), macs, Mmap(sizes.input_elements),
              Mmap(sizes.output_elements)};
    case FeatureKind::kOptimizer:
      return {d(c.parameters), d(c.parameter_tensors)};
    case FeatureKind::kBatchedMatmul:
      return {d(c.batch_size),
              d(c.rows),
              d(c.inner_size),
              d(c.columns),
              macs,
              sizes.input_elements,
              sizes.output_elements,
              Mmap(sizes.input_elements),
              Mmap(sizes.output_elements)};
    case FeatureKind::kEmbedding:
      return {d(c.batch_size),
              d(c.sequence_length),
              d(c.num_embeddings),
              d(c.embedding_dim),
              macs,
              sizes.input_elements,
              sizes.weight_elements,
              Mmap(sizes.output_elements),
              Mmap(sizes.weight_elements)};
  }
  throw ConfigError("unknown feature kind of " + std::string(ToString(c.type)));
}

LayerConfig ForPass(const LayerConfig& config, Pass pass) {
  LayerConfig c = config;
  if (pass == Pass::kForward) c.input_grad = true;
  return c;
}

std::string TermName(LayerType type, const Term& term) {
  const auto& names = FeatureNames(type);
  std::ostringstream out;
  if (term.kind != Term::Kind::kMonomial) {
    for (size_t i = 0; i < term.exponents.size(); ++i) {
      if (term.exponents[i] != 0) {
        out << (term.kind == Term::Kind::kLog ? "log(" : "log2(") << names[i] << ")";
      }
    }
    return out.str();
  }
  bool first = true;
  for (size_t i = 0; i < term.exponents.size(); ++i) {
    if (term.exponents[i] == 0) continue;
    if (!first) out << "*";
    first = false;
    out << names[i];
    if (term.exponents[i] > 1) out << "^" << term.exponents[i];
  }
  return out.str();
}

Term ParseTerm(LayerType type, const std::string& name) {
  const auto& names = FeatureNames(type);
  Term term;
  term.exponents.assign(names.size(), 0);
  const auto feature = [&](const std::string& f) {
    const int index = FeatureIndex(type, f);
    if (index < 0) {
      throw ConfigError("unknown feature '" + f + "' in term '" + name + "' for " +
                        std::string(ToString(type)));
    }
    return index;
  };
  for (const auto& [prefix, kind] : {std::pair<std::string, Term::Kind>{"log(", Term::Kind::kLog},
                                     {"log2(", Term::Kind::kLog2}}) {
    if (name.rfind(prefix, 0) == 0) {
      if (name.size() <= prefix.size() + 1 || name.back() != ')') {
        throw ConfigError("malformed term '" + name + "'");
      }
      term.kind = kind;
      term.exponents[feature(name.substr(prefix.size(), name.size() - prefix.size() - 1))] = 1;
      return term;
    }
  }
  std::istringstream in(name);
  std::string factor;
  int total = 0;
  while (std::getline(in, factor, '*')) {
    int exponent = 1;
    const auto caret = factor.find('^');
    if (caret != std::string::npos) {
      try {
        size_t used = 0;
        exponent = std::stoi(factor.substr(caret + 1), &used);
        if (used != factor.size() - caret - 1) throw std::invalid_argument("trailing");
      } catch (const std::exception&) {
        throw ConfigError("malformed exponent in term '" + name + "'");
      }
      if (exponent < 1) throw ConfigError("exponent must be >= 1 in term '" + name + "'");
      factor = factor.substr(0, caret);
    }
    term.exponents[feature(factor)] += exponent;
    total += exponent;
  }
  if (total == 0) throw ConfigError("empty term '" + name + "'");
  return term;
}

double TermValue(const Term& term, const std::vector<double>& features) {
  double value = 1.0;
  for (size_t i = 0; i < term.exponents.size(); ++i) {
    const int e = term.exponents[i];
    if (e == 0) continue;
    switch (term.kind) {
      case Term::Kind::kLog:
        return std::log(features[i]);
      case Term::Kind::kLog2:
        return std::log2(features[i]);
      case Term::Kind::kMonomial:
        for (int k = 0; k < e; ++k) value *= features[i];
        break;
    }
  }
  return value;
}

std::vector<Term> PolynomialTerms(LayerType type, int degree) {
  if (degree < 1)
    throw ConfigError("polynomial degree must be >= 1, got " + std::to_string(degree));
  const int n_features = static_cast<int>(FeatureNames(type).size());
  const int n_base = NumBase(type);
  std::vector<Term> terms;
  for (int d = 1; d <= degree; ++d) {
    std::vector<std::vector<int>> exps;
    std::vector<int> current(n_features, 0);
    Monomials(n_base, d, 0, current, exps);
    for (auto& e : exps) terms.push_back(Term{Term::Kind::kMonomial, e});
  }
  for (int i : SpecialLinearFeatures(type)) {
    Term t{Term::Kind::kMonomial, std::vector<int>(n_features, 0)};
    t.exponents[static_cast<size_t>(i)] = 1;
    terms.push_back(t);
  }
  for (Term& t : InputGradientTerms(type)) terms.push_back(std::move(t));
  for (Term& t : BiasTerms(type)) terms.push_back(std::move(t));
  return terms;
}

int MaxExponent(LayerType type, int index) {
  const std::string& name = FeatureNames(type).at(static_cast<size_t>(index));
  return (name == "input_size" || name == "kernel_size" || name == "output_size") ? 2 : 1;
}

std::vector<Term> CappedPolynomialTerms(LayerType type, int degree) {
  std::vector<Term> terms;
  for (Term& t : PolynomialTerms(type, degree)) {
    bool keep = true;
    for (int i = 0; i < NumBase(type); ++i)
      keep = keep && t.exponents[static_cast<size_t>(i)] <= MaxExponent(type, i);
    if (keep) terms.push_back(std::move(t));
  }
  return terms;
}

std::vector<Term> MacLinearTerms(LayerType type) {
  const int n = static_cast<int>(FeatureNames(type).size());
  const int n_base = NumBase(type);
  std::vector<Term> terms;
  // The special features (MACs and tensor sizes, not the input_grad gate: the baseline is
  // defined without it); types without any (sgd, adam) use their base features, which are
  // already element counts.
  std::vector<int> features = SpecialLinearFeatures(type);
  for (const char* excluded : {"parallel_region", "grouped_macs"}) {
    features.erase(std::remove(features.begin(), features.end(), FeatureIndex(type, excluded)),
                   features.end());
  }
  if (n_base >= n) {
    features.clear();
    for (int i = 0; i < n; ++i) features.push_back(i);
  }
  for (int i : features) {
    Term t{Term::Kind::kMonomial, std::vector<int>(n, 0)};
    t.exponents[static_cast<size_t>(i)] = 1;
    terms.push_back(t);
  }
  return terms;
}

std::vector<Term> LogTerms(LayerType type) {
  const int n = static_cast<int>(FeatureNames(type).size());
  std::vector<Term> terms;
  for (int i = 0; i < n; ++i) {
    if (IsGateFeature(type, i)) continue;  // 0/1: no logarithm
    Term t{Term::Kind::kLog, std::vector<int>(n, 0)};
    t.exponents[i] = 1;
    terms.push_back(t);
  }
  return terms;
}

std::vector<Term> PowerTerms(LayerType type, bool with_linear) {
  const int n = static_cast<int>(FeatureNames(type).size());
  std::vector<Term> terms;
  for (const auto kind : {Term::Kind::kMonomial, Term::Kind::kLog2}) {
    if (kind == Term::Kind::kMonomial && !with_linear) continue;
    for (int i = 0; i < n; ++i) {
      if (kind == Term::Kind::kLog2 && IsGateFeature(type, i)) continue;  // 0/1: no log
      Term t{kind, std::vector<int>(n, 0)};
      t.exponents[i] = 1;
      terms.push_back(t);
    }
  }
  return terms;
}

int DefaultDegree(LayerType type) {
  const FeatureKind kind = Describe(type).features;
  return kind == FeatureKind::kConv || kind == FeatureKind::kPool ? 3 : 2;
}

Eigen::MatrixXd DesignMatrix(LayerType type, const std::vector<Term>& terms,
                             const std::vector<LayerConfig>& configs) {
  Eigen::MatrixXd x(static_cast<Eigen::Index>(configs.size()),
                    static_cast<Eigen::Index>(terms.size()));
  for (size_t i = 0; i < configs.size(); ++i) {
    if (configs[i].type != type) {
      throw ConfigError("design matrix for " + std::string(ToString(type)) + ": row " +
                        std::to_string(i) + " is a " + std::string(ToString(configs[i].type)));
    }
    const std::vector<double> f = FeatureValues(configs[i]);
    for (size_t j = 0; j < terms.size(); ++j) x(i, j) = TermValue(terms[j], f);
  }
  return x;
}

}  // namespace lj
