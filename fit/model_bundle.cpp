#include "fit/model_bundle.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <sstream>

#include "core/errors.h"
#include "core/file_write.h"
#include "core/json_reader.h"

namespace lj {
namespace {

constexpr const char* kFormat = "layerjoule-model-bundle";
constexpr int kFormatVersion = 2;

std::string Prefix(const std::string& context) { return context.empty() ? "" : context + ": "; }

// An optional top-level field of seconds: absent, or a finite number > 0 (else ConfigError
// naming it).
std::optional<double> OptionalPositiveSeconds(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  const nlohmann::json& v = j.at(key);
  const double t = v.is_number() ? v.get<double>() : 0.0;
  if (!(t > 0) || !std::isfinite(t)) {
    throw ConfigError(std::string(key) + " must be a finite number > 0, got " + v.dump());
  }
  return t;
}

std::string FormatValue(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

std::string_view ToString(Quantity q) {
  switch (q) {
    case Quantity::kTimeS:
      return "time_s";
    case Quantity::kEnergyJ:
      return "energy_j";
    case Quantity::kPowerW:
      return "power_w";
  }
  return "?";
}

Quantity ParseQuantity(std::string_view name) {
  if (name == "time_s") return Quantity::kTimeS;
  if (name == "energy_j") return Quantity::kEnergyJ;
  if (name == "power_w") return Quantity::kPowerW;
  throw ConfigError("unknown quantity '" + std::string(name) +
                    "' (expected time_s, energy_j or power_w)");
}

std::string_view ToString(ModelKind kind) {
  switch (kind) {
    case ModelKind::kNnLasso:
      return "nnlasso";
    case ModelKind::kLogLasso:
      return "loglasso";
    case ModelKind::kLasso:
      return "lasso";
    case ModelKind::kGbTree:
      return "gbtree";
    case ModelKind::kMacLinear:
      return "maclinear";
  }
  return "?";
}

ModelKind ParseModelKind(std::string_view name) {
  if (name == "nnlasso") return ModelKind::kNnLasso;
  if (name == "loglasso") return ModelKind::kLogLasso;
  if (name == "lasso") return ModelKind::kLasso;
  if (name == "maclinear") return ModelKind::kMacLinear;
  if (name == "gbtree") return ModelKind::kGbTree;
  throw ConfigError("unknown model kind '" + std::string(name) +
                    "' (expected nnlasso, gbtree, loglasso, lasso or maclinear)");
}

std::string_view ToString(Extrapolation extrapolation) {
  return extrapolation == Extrapolation::kBoundary ? "boundary" : "model";
}

Extrapolation ParseExtrapolation(std::string_view name) {
  if (name == "model") return Extrapolation::kModel;
  if (name == "boundary") return Extrapolation::kBoundary;
  throw ConfigError("unknown extrapolation '" + std::string(name) +
                    "' (expected model or boundary)");
}

const Model* ModelBundle::Find(LayerType layer, Pass pass, Quantity quantity) const {
  for (const Model& m : models) {
    if (m.layer == layer && m.pass == pass && m.quantity == quantity) return &m;
  }
  return nullptr;
}

double Envelope::Proxy(const std::vector<double>& features) const {
  double z = intercept;
  for (const ModelTerm& t : terms) z += t.coefficient * TermValue(t.term, features);
  return z;
}

namespace {

// The model's own value: intercept + terms (exp() for log targets).
double RawValue(const Model& model, const std::vector<double>& features) {
  if (model.trees && model.envelope) {
    return model.envelope->Proxy(features) * std::exp(model.trees->Value(features));
  }
  double z = model.intercept;
  for (const ModelTerm& t : model.terms) {
    z += t.coefficient * (TermValue(t.term, features) - t.center) / t.scale;
  }
  return model.log_target ? std::exp(z) : z;
}

// The model's raw value `value` (RawValue of `features`) clamped by its envelope.
double EnvelopedValue(const Model& model, const std::vector<double>& features, double value) {
  if (!model.envelope) return value;
  const double proxy = model.envelope->Proxy(features);
  if (!(proxy > 0) || !std::isfinite(proxy)) return value;
  return std::clamp(value, model.envelope->min_ratio * proxy, model.envelope->max_ratio * proxy);
}

// An enveloped value times the residual correction's factor at `features`.
double WithCorrection(const Model& model, const std::vector<double>& features, double enveloped) {
  if (!model.residuals) return enveloped;
  return enveloped * std::exp(model.residuals->LogFactor(CorrectionPoint(model.layer, features)));
}

// RawValue, envelope and residual correction of `features`.
double CorrectedValue(const Model& model, const std::vector<double>& features) {
  return WithCorrection(model, features,
                        EnvelopedValue(model, features, RawValue(model, features)));
}

// `features` with every feature that has a training bound clamped into it.
std::vector<double> ClampedToBounds(const Model& model, std::vector<double> features) {
  for (const FeatureBound& b : model.bounds) {
    const int index = FeatureIndex(model.layer, b.name);
    if (index < 0) continue;
    double& v = features[static_cast<size_t>(index)];
    v = std::clamp(v, b.min, b.max);
  }
  return features;
}

// The boundary rule (Extrapolation::kBoundary) at `features`, or nothing where it does not
// apply: inside the bounds, no envelope, or a proxy that is not > 0 at either point.
std::optional<double> BoundaryValue(const Model& model, const std::vector<double>& features) {
  if (model.extrapolation != Extrapolation::kBoundary || !model.envelope) return std::nullopt;
  const std::vector<double> inside = ClampedToBounds(model, features);
  if (inside == features) return std::nullopt;
  const double proxy = model.envelope->Proxy(features);
  const double proxy_inside = model.envelope->Proxy(inside);
  if (!(proxy > 0) || !(proxy_inside > 0) || !std::isfinite(proxy) ||
      !std::isfinite(proxy_inside)) {
    return std::nullopt;
  }
  return CorrectedValue(model, inside) * proxy / proxy_inside;
}

// What Predict returns before the groups rule, and whether anything changed the model's value.
double ValueAt(const Model& model, const std::vector<double>& features, double raw, bool& changed) {
  if (const std::optional<double> boundary = BoundaryValue(model, features)) {
    changed = true;
    return *boundary;
  }
  const double enveloped = EnvelopedValue(model, features, raw);
  changed = enveloped != raw;
  return WithCorrection(model, features, enveloped);
}

}  // namespace

Prediction Predict(const Model& model, const LayerConfig& input_config) {
  if (input_config.type != model.layer) {
    throw ConfigError("cannot predict a " + std::string(ToString(input_config.type)) +
                      " layer with the " + std::string(ToString(model.layer)) + " model");
  }
  const LayerConfig config = ForPass(input_config, model.pass);
  const std::vector<double> features = FeatureValues(config);
  Prediction p;
  p.unclamped = RawValue(model, features);
  bool changed = false;
  p.value = ValueAt(model, features, p.unclamped, changed);
  bool grouped = false;
  if (Describe(config.type).family == LayerFamily::kConv && config.groups > 1) {
    LayerConfig dense = config;
    dense.groups = 1;
    const std::vector<double> dense_features = FeatureValues(dense);
    bool dense_changed = false;
    const double dense_value =
        ValueAt(model, dense_features, RawValue(model, dense_features), dense_changed);
    grouped = dense_value < p.value;
    p.value = std::min(p.value, dense_value);
  }
  p.clamped = grouped || changed;
  for (const FeatureBound& b : model.bounds) {
    const int index = FeatureIndex(model.layer, b.name);
    if (index < 0) continue;
    const double v = features[static_cast<size_t>(index)];
    if (v < b.min)
      p.outside.push_back(b.name + "=" + FormatValue(v) + " < min " + FormatValue(b.min));
    if (v > b.max)
      p.outside.push_back(b.name + "=" + FormatValue(v) + " > max " + FormatValue(b.max));
  }
  p.extrapolated = !p.outside.empty();
  return p;
}

namespace {

nlohmann::json EnvelopeJson(const std::optional<Envelope>& e) {
  if (!e) return nullptr;
  nlohmann::json terms = nlohmann::json::array();
  for (const ModelTerm& t : e->terms)
    terms.push_back({{"name", t.name}, {"coefficient", t.coefficient}});
  return {{"intercept", e->intercept}, {"terms", terms}, {"ratio", {e->min_ratio, e->max_ratio}}};
}

Envelope EnvelopeFromJson(LayerType layer, const nlohmann::json& j) {
  Envelope e;
  e.intercept = j.at("intercept").get<double>();
  for (const auto& t : j.at("terms")) {
    ModelTerm term;
    term.name = t.at("name").get<std::string>();
    term.term = ParseTerm(layer, term.name);
    term.coefficient = t.at("coefficient").get<double>();
    e.terms.push_back(std::move(term));
  }
  const auto& ratio = j.at("ratio");
  if (!ratio.is_array() || ratio.size() != 2)
    throw ConfigError("envelope.ratio must be [min, max]");
  e.min_ratio = ratio[0].get<double>();
  e.max_ratio = ratio[1].get<double>();
  if (!(e.min_ratio >= 0 && e.min_ratio <= e.max_ratio) || !std::isfinite(e.max_ratio)) {
    throw ConfigError("envelope.ratio must be [min, max] with 0 <= min <= max, got [" +
                      FormatValue(e.min_ratio) + ", " + FormatValue(e.max_ratio) + "]");
  }
  return e;
}

}  // namespace

nlohmann::json ToJson(const Model& m) {
  nlohmann::json terms = nlohmann::json::array();
  for (const ModelTerm& t : m.terms) {
    terms.push_back({{"name", t.name},
                     {"coefficient", t.coefficient},
                     {"center", t.center},
                     {"scale", t.scale}});
  }
  nlohmann::json bounds = nlohmann::json::object();
  for (const FeatureBound& b : m.bounds) bounds[b.name] = {b.min, b.max};
  nlohmann::json metrics = {{"train", ToJson(m.train_metrics)}};
  if (m.test_metrics) metrics["test"] = ToJson(*m.test_metrics);
  return {
      {"layer", ToString(m.layer)},
      {"pass", ToString(m.pass)},
      {"quantity", ToString(m.quantity)},
      {"kind", ToString(m.kind)},
      {"degree", m.degree},
      {"term_set", m.term_set},
      {"target_transform", m.log_target ? "log" : "none"},
      {"meter", m.meter},
      {"rapl_domain", m.rapl_domain},
      {"alpha", m.alpha},
      {"intercept", m.intercept},
      {"n_terms_total", m.n_terms_total},
      {"terms", terms},
      {"bounds", bounds},
      {"counts",
       {{"rows", m.n_rows},
        {"dropped", m.n_dropped},
        {"train", m.n_train},
        {"test", m.n_test},
        {"outliers", m.n_outliers}}},
      {"cv", {{"folds", m.cv_folds}, {"seed", m.cv_seed}, {"loss", m.cv_loss}, {"mse", m.cv_mse}}},
      {"metrics", metrics},
      {"calibration", m.calibration},
      {"max_spread", m.max_spread},
      {"envelope", EnvelopeJson(m.envelope)},
      {"residual_correction", m.residuals ? ToJson(*m.residuals) : nlohmann::json(nullptr)},
      {"trees", m.trees ? ToJson(*m.trees) : nlohmann::json(nullptr)},
      {"extrapolation", ToString(m.extrapolation)}};
}

Model ModelFromJson(const nlohmann::json& j, const std::string& context) {
  Model m;
  std::string where = context;
  try {
    m.layer = ParseLayerType(j.at("layer").get<std::string>());
    m.pass = ParsePass(j.at("pass").get<std::string>());
    m.quantity = ParseQuantity(j.at("quantity").get<std::string>());
    where = Prefix(context) + "model " + std::string(ToString(m.layer)) + "/" +
            std::string(ToString(m.pass)) + "/" + std::string(ToString(m.quantity));
    m.kind = ParseModelKind(j.at("kind").get<std::string>());
    m.degree = j.at("degree").get<int>();
    m.term_set = j.at("term_set").get<std::string>();
    const std::string transform = j.at("target_transform").get<std::string>();
    if (transform != "none" && transform != "log") {
      throw ConfigError("target_transform must be 'none' or 'log', got '" + transform + "'");
    }
    m.log_target = transform == "log";
    m.meter = j.at("meter").get<std::string>();
    m.rapl_domain = j.at("rapl_domain").get<std::string>();
    m.alpha = j.at("alpha").get<double>();
    m.intercept = j.at("intercept").get<double>();
    m.n_terms_total = j.at("n_terms_total").get<int>();
    for (const auto& t : j.at("terms")) {
      ModelTerm term;
      term.name = t.at("name").get<std::string>();
      term.term = ParseTerm(m.layer, term.name);
      term.coefficient = t.at("coefficient").get<double>();
      term.center = t.at("center").get<double>();
      term.scale = t.at("scale").get<double>();
      if (!(term.scale > 0) || !std::isfinite(term.coefficient) || !std::isfinite(term.center)) {
        throw ConfigError("term '" + term.name +
                          "' needs a finite coefficient and center and a scale > 0");
      }
      m.terms.push_back(std::move(term));
    }
    for (const auto& [name, range] : j.at("bounds").items()) {
      if (FeatureIndex(m.layer, name) < 0)
        throw ConfigError("bounds: unknown feature '" + name + "'");
      if (!range.is_array() || range.size() != 2) {
        throw ConfigError("bounds." + name + " must be [min, max]");
      }
      m.bounds.push_back({name, range[0].get<double>(), range[1].get<double>()});
    }
    const auto& counts = j.at("counts");
    m.n_rows = counts.at("rows").get<int64_t>();
    m.n_dropped = counts.at("dropped").get<int64_t>();
    m.n_train = counts.at("train").get<int64_t>();
    m.n_test = counts.at("test").get<int64_t>();
    m.n_outliers = counts.at("outliers").get<int64_t>();
    const auto& cv = j.at("cv");
    m.cv_folds = cv.at("folds").get<int>();
    m.cv_seed = cv.at("seed").get<uint64_t>();
    m.cv_loss = cv.at("loss").get<std::string>();
    m.cv_mse = cv.at("mse").get<double>();
    const auto& metrics = j.at("metrics");
    m.train_metrics = MetricsFromJson(metrics.at("train"));
    if (metrics.contains("test")) m.test_metrics = MetricsFromJson(metrics.at("test"));
    if (j.contains("calibration")) m.calibration = j.at("calibration").get<double>();
    if (j.contains("max_spread")) m.max_spread = j.at("max_spread").get<double>();
    if (j.contains("extrapolation")) {
      m.extrapolation = ParseExtrapolation(j.at("extrapolation").get<std::string>());
    }
    if (j.contains("envelope") && !j.at("envelope").is_null()) {
      m.envelope = EnvelopeFromJson(m.layer, j.at("envelope"));
    }
    if (j.contains("residual_correction") && !j.at("residual_correction").is_null()) {
      m.residuals = ResidualCorrectionFromJson(j.at("residual_correction"));
      const size_t dim = CorrectionDimension(m.layer);
      if (!m.residuals->points.empty() && m.residuals->points.front().size() != dim) {
        throw ConfigError("residual_correction: points have " +
                          std::to_string(m.residuals->points.front().size()) + " coordinates, " +
                          std::string(ToString(m.layer)) + " needs " + std::to_string(dim));
      }
    }
    if (j.contains("trees") && !j.at("trees").is_null()) {
      m.trees = BoostedTreesFromJson(j.at("trees"), static_cast<int>(FeatureNames(m.layer).size()));
      if (!m.envelope) throw ConfigError("trees need an envelope (their roofline proxy)");
    }
    if (m.kind == ModelKind::kGbTree && !m.trees) {
      throw ConfigError("a gbtree model needs 'trees'");
    }
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(Prefix(where) + e.what());
  } catch (const ConfigError& e) {
    throw ConfigError(Prefix(where) + e.what());
  }
  return m;
}

nlohmann::json ToJson(const ModelBundle& b) {
  nlohmann::json models = nlohmann::json::array();
  for (const Model& m : b.models) models.push_back(ToJson(m));
  nlohmann::json j = {{"format", kFormat},
                      {"format_version", kFormatVersion},
                      {"tool_version", b.tool_version},
                      {"created_at", b.created_at},
                      {"host",
                       {{"hostname", b.hostname},
                        {"cpu_model", b.cpu_model},
                        {"sockets", b.sockets},
                        {"cores", b.cores},
                        {"threads_used", b.threads_used},
                        {"torch_version", b.torch_version},
                        {"blas", b.blas},
                        {"rapl_domains", b.rapl_domains}}},
                      {"sources", b.sources},
                      {"models", models}};
  if (b.framework_memory) {
    const FrameworkMemory& f = *b.framework_memory;
    j["framework_memory"] = {{"base_bytes", f.base_bytes}, {"runs", f.runs}};
    if (f.conv2d_bytes) j["framework_memory"]["conv2d_bytes"] = *f.conv2d_bytes;
  }
  if (b.first_touch_s_per_page) j["first_touch_s_per_page"] = *b.first_touch_s_per_page;
  if (b.fault_time_removed_s_per_fault) {
    j["fault_time_removed_s_per_fault"] = *b.fault_time_removed_s_per_fault;
  }
  if (!b.malloc_setting.empty()) j["host"]["malloc"] = b.malloc_setting;
  return j;
}

ModelBundle BundleFromJson(const nlohmann::json& j, const std::string& context) {
  ModelBundle b;
  try {
    if (!j.is_object() || !j.contains("format") || j.at("format") != kFormat) {
      throw ConfigError(std::string("not a layerjoule model bundle (\"format\" must be \"") +
                        kFormat + "\")");
    }
    const int version = j.at("format_version").get<int>();
    if (version != kFormatVersion) {
      throw ConfigError("format_version " + std::to_string(version) +
                        " is not supported (expected " + std::to_string(kFormatVersion) + ")");
    }
    b.tool_version = j.at("tool_version").get<std::string>();
    b.created_at = j.at("created_at").get<std::string>();
    const auto& h = j.at("host");
    b.hostname = h.at("hostname").get<std::string>();
    b.cpu_model = h.at("cpu_model").get<std::string>();
    b.sockets = h.at("sockets").get<int>();
    b.cores = h.at("cores").get<int>();
    b.threads_used = h.at("threads_used").get<int>();
    b.torch_version = h.at("torch_version").get<std::string>();
    b.blas = h.at("blas").get<std::string>();
    b.rapl_domains = h.at("rapl_domains").get<std::string>();
    if (h.contains("malloc")) b.malloc_setting = h.at("malloc").get<std::string>();
    b.sources = j.at("sources").get<std::vector<std::string>>();
    if (j.contains("framework_memory")) {
      const auto& f = j.at("framework_memory");
      FrameworkMemory m;
      m.base_bytes = f.at("base_bytes").get<int64_t>();
      m.runs = f.at("runs").get<int64_t>();
      if (f.contains("conv2d_bytes")) m.conv2d_bytes = f.at("conv2d_bytes").get<int64_t>();
      if (m.base_bytes < 0 || m.runs < 1 || m.conv2d_bytes.value_or(0) < 0) {
        throw ConfigError(
            "framework_memory: base_bytes and conv2d_bytes must be >= 0 and runs "
            ">= 1, got " +
            f.dump());
      }
      b.framework_memory = m;
    }
    b.first_touch_s_per_page = OptionalPositiveSeconds(j, "first_touch_s_per_page");
    b.fault_time_removed_s_per_fault = OptionalPositiveSeconds(j, "fault_time_removed_s_per_fault");
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(Prefix(context) + e.what());
  } catch (const ConfigError& e) {
    throw ConfigError(Prefix(context) + e.what());
  }
  if (!j.contains("models") || !j.at("models").is_array()) {
    throw ConfigError(Prefix(context) + "\"models\" must be an array");
  }
  for (size_t i = 0; i < j.at("models").size(); ++i) {
    b.models.push_back(
        ModelFromJson(j.at("models")[i], Prefix(context) + "models[" + std::to_string(i) + "]"));
  }
  return b;
}

namespace {
// `host` as a file stem that stays inside its directory.
std::string HostFileStem(const std::string& host) {
  std::string stem;
  for (const char c : host) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    stem += safe ? c : '_';
  }
  if (stem.empty() || stem[0] == '.') stem = "_" + stem;
  return stem;
}
}  // namespace

std::string DefaultBundlePath(const std::string& host) {
  return "db/models/" + HostFileStem(host) + ".json";
}

std::string DemoBundlePath(const std::string& host) {
  return "db/demo-models/" + HostFileStem(host) + ".json";
}

ModelBundle LoadBundle(const std::string& path) { return BundleFromJson(LoadJsonFile(path), path); }

void SaveBundle(const ModelBundle& bundle, const std::string& path) {
  WriteTextFileAtomically(path, ToJson(bundle).dump(2) + "\n");
}

}  // namespace lj
