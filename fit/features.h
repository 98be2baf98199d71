#pragma once
// Features and model terms of one layer type, after NeuralPower (Cai et al., ACML 2017, Sec. 3):
// runtime as a polynomial of the layer's parameters plus "special terms" (MACs and the sizes of
// the input, output and weights) as extra linear columns.
//
// Feature vector of a config (FeatureNames lists it, in this order):
//   conv2d:    batch_size, in_channels_per_group (in_channels / groups), out_channels,
//              input_size, kernel_size, stride, groups (input_size and kernel_size are the
//              geometric means of the padded input's and the kernel's two sides: a 1x7
//              kernel is sqrt(7))
//   maxpool2d, avgpool2d: batch_size, channels, input_size, kernel_size, stride
//   linear:    batch_size, in_features, out_features
// followed by the special features of these types
//   macs, input_elements, output_elements[, weight_elements],  (weight_elements: not pools)
//   mmap_input_elements, mmap_output_elements[, mmap_weight_elements][, grouped_macs]
// where mmap_X_elements = 1 + X's elements when X has >= 8 Mi float32 elements (32 MiB, glibc's
// largest mmap threshold: such a tensor, its output or gradient, is always fresh memory whose
// pages fault in on first touch) and 1 otherwise, and grouped_macs (conv2d) = 1 + MACs when
// groups > 1 and 1 otherwise (a grouped or depthwise conv's own cost per MAC; not a maclinear
// term); the element-wise types, dropout,
// adaptive_avgpool2d and cross_entropy have mmap_input_elements and mmap_output_elements after
// their other special features. Terms whose value is constant over the training rows (a
// feature that never left 1 there) are left out of a fit (fit/model_fit.cpp VaryingTerms).
// and for the other types (core/layer_config.h):
//   batchnorm2d, relu, relu6, hardswish, hardsigmoid, sigmoid, add, mul:
//              batch_size, channels, input_size | elements
//   dropout:   batch_size, channels, input_size, minority_percent | elements
//   adaptive_avgpool2d:
//              batch_size, channels, input_size, output_size | macs, input_elements,
//              output_elements
//   cross_entropy: batch_size, num_classes | elements
//   sgd, adam, grad_accumulate, zero_grad: parameters, parameter_tensors   (no special features)
//   bmm:       batch_size, rows, inner_size, columns | macs (= B*rows*inner_size*columns),
//              input_elements (both operands), output_elements, mmap_input_elements,
//              mmap_output_elements
//   embedding: batch_size, sequence_length, num_embeddings, embedding_dim | elements
//              (= ForwardMacs = B*S*D: rows gathered, and scatter-added in the backward pass),
//              tokens (B*S, the ids), weight_elements (V*D, the gradient the backward pass
//              zero-fills), mmap_output_elements, mmap_weight_elements
// where "|" separates base from special features, elements = ForwardMacs = N*C*H*W (the
// logits N*num_classes for cross_entropy), and minority_percent = max(1, min(p_percent,
// 100 - p_percent)): the share of the rarer outcome of dropout's Bernoulli mask, which sets the
// cost of sampling it (branch mispredictions peak at p = 0.5: the mask of 3.2 M elements took
// 12 ms at p = 0.01 and 34 ms at p = 0.5 with torch 1.13 here; p = 0 and 1 are not modelled).
// input_size is the padded input side: height + 2*padding for square inputs, and the geometric
// mean sqrt((height + 2*padding) * (width + 2*padding)) otherwise (same padded area).
// The first NumBase(type) entries are the "base" features; polynomial terms use only those.
// conv2d and linear end with input_grad: 1 when the backward pass computes the input's
// gradient, 0 for a network's first layer (core/layer_config.h). It only gates the linear
// terms of the input gradient's cost (input_grad, input_grad*macs, input_grad*input_elements,
// input_grad*mmap_input_elements), which the polynomial term sets append; no log term uses it.
// conv2d then ends with bias: 1 with a bias, 0 without (networks with batch norm). It only
// gates the linear terms of the bias's cost (bias, bias*macs, bias*output_elements), which the
// polynomial term sets append after the input gradient's; no log or maclinear term uses it.
// Every other feature of a valid config is >= 1, so every term below is >= 0 (and every log
// finite).
//
// A Term is either a monomial of features ("batch_size*in_channels_per_group*kernel_size^2",
// "macs") or the logarithm of one feature ("log(macs)" natural log, "log2(batch_size)"). Its name
// is its definition: ParseTerm(type, TermName(t)) == t, and model bundles store only names.
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "core/layer_config.h"

namespace lj {

// Names of the feature vector, base features first (see above).
const std::vector<std::string>& FeatureNames(LayerType type);
// Number of base features (2 to 7).
int NumBase(LayerType type);
// Index of a feature name for `type`, or -1.
int FeatureIndex(LayerType type, const std::string& name);
// Index of the 0/1 input_grad feature (conv2d, linear), or -1.
int InputGradIndex(LayerType type);
// Index of the 0/1 bias feature (conv2d), or -1.
int BiasIndex(LayerType type);
// The feature vector of a config (sizes as doubles). Does not validate; callers pass valid
// configs (see lj::Validate). The config's type must equal `config.type`.
std::vector<double> FeatureValues(const LayerConfig& config);
// The config as the pass sees it: the forward pass does not depend on input_grad, so a forward
// model fits and predicts every config with input_grad = true.
LayerConfig ForPass(const LayerConfig& config, Pass pass);

struct Term {
  enum class Kind { kMonomial, kLog, kLog2 };
  Kind kind = Kind::kMonomial;
  // kMonomial: exponent of each feature (size = FeatureNames(type).size()), total degree >= 1.
  // kLog/kLog2: exponent 1 at the one feature taken the logarithm of, 0 elsewhere.
  std::vector<int> exponents;
  bool operator==(const Term& other) const {
    return kind == other.kind && exponents == other.exponents;
  }
};

// "batch_size*in_channels_per_group*kernel_size^2", "macs", "log(macs)", "log2(batch_size)".
std::string TermName(LayerType type, const Term& term);
// Inverse of TermName. Throws ConfigError("unknown feature 'x' in term 'y' for conv2d") etc.
Term ParseTerm(LayerType type, const std::string& name);
// Value of a term for a feature vector (FeatureValues).
double TermValue(const Term& term, const std::vector<double>& features);

// Whether the Lasso leaves this term's coefficient unpenalised, as it does the intercept: the
// linear term of the 0/1 gate parallel_region (element-wise types and dropout), whose
// coefficient is the fixed cost of an OpenMP parallel region (see features.cpp).
bool IsUnpenalisedTerm(LayerType type, const Term& term);

// Term sets.
// Polynomial: every monomial of the base features of total degree 1..degree (graded order,
// e.g. batch_size, in_channels_per_group, ..., batch_size^2, batch_size*in_channels_per_group,
// ...), then the special features as linear terms, then (conv2d, linear) the 4 input-gradient
// terms. Count: C(n_base + degree, degree) - 1 + n_special (+ 4) (conv2d degree 3:
// 119 + 8 + 4 = 131; maxpool2d degree 3: 55 + 5 = 60; linear degree 2: 9 + 7 + 4 = 20).
std::vector<Term> PolynomialTerms(LayerType type, int degree);
// The monomials of PolynomialTerms whose exponent of each base feature is at most the exponent
// with which that feature enters MACs and tensor sizes (MaxExponent): 1 for batch_size, channel
// counts, in/out_features, groups, stride, minority_percent, num_classes, parameters and
// parameter_tensors, 2 for input_size, kernel_size and output_size; then the special terms. With
// non-negative coefficients such a model grows no faster than MACs in any single feature, so it
// extrapolates far more sanely than the full polynomial (where e.g. in_channels_per_group^3
// explodes 25^3-fold for a 384-channel layer trained on <= 15 channels). Count: conv2d degree 3:
// 77 + 8 + 4 = 89; maxpool2d degree 3: 35 + 5 = 40; linear degree 2: 6 + 7 + 4 = 17.
std::vector<Term> CappedPolynomialTerms(LayerType type, int degree);
// Largest exponent of base feature `index` in CappedPolynomialTerms.
int MaxExponent(LayerType type, int index);
// The roofline-like terms of the "maclinear" baseline: MACs, input, output and weight elements
// as linear terms (the special features; sgd and adam: parameters and parameter_tensors).
// A non-negative fit on them is time = intercept + a*MACs + b*bytes: cost grows linearly with
// work and traffic, also far outside the training bounds.
std::vector<Term> MacLinearTerms(LayerType type);
// log(x) of every feature: the log-log model ("loglasso"), a product of powers after exp().
std::vector<Term> LogTerms(LayerType type);
// Power model terms. NeuralPower's (with_linear): x and log2(x) of every feature (degree 1).
// Without with_linear only log2(x): power then grows logarithmically outside the training
// bounds instead of linearly (power is bounded by the package's TDP in reality).
std::vector<Term> PowerTerms(LayerType type, bool with_linear = true);
// NeuralPower's default degree: 3 for conv2d and maxpool2d (and avgpool2d), 2 for linear; 2 for
// the other types, whose cost is close to linear in their element or parameter count.
int DefaultDegree(LayerType type);

// Design matrix X: n_samples x n_terms, row i = term values of configs[i] (unscaled).
// Throws ConfigError if a config's type differs from `type`.
Eigen::MatrixXd DesignMatrix(LayerType type, const std::vector<Term>& terms,
                             const std::vector<LayerConfig>& configs);

}  // namespace lj
