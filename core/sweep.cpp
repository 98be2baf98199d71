#include "core/sweep.h"

#include <algorithm>

#include "core/errors.h"
#include "core/json_reader.h"

namespace lj {
namespace {

constexpr size_t kMaxSweepValues = 10000;
constexpr int64_t kMaxRepeats = 1000;

bool IsSpatial(LayerType type) {
  return type == LayerType::kConv2d || type == LayerType::kMaxPool2d;
}

// The integer parameters a sweep of `type` may vary.
std::vector<std::string> VariableParameters(LayerType type) {
  std::vector<std::string> names;
  for (const std::string& f : FieldNames(type)) {
    if (f != "bias" && f != "input_grad") names.push_back(f);
  }
  if (IsSpatial(type)) names.push_back("image_size");
  return names;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The config for one value, or "" in *error with the reason when it is invalid.
LayerConfig BuildPoint(const SweepSpec& spec, int64_t value, std::string* error) {
  LayerConfig c = spec.defaults;
  if (spec.parameter == "image_size") {
    c.height = value;
    c.width = value;
  } else {
    nlohmann::json j = ToJson(spec.defaults);
    j[spec.parameter] = value;
    c = LayerConfigFromJson(spec.type, j, At(spec.source, "vary"));
  }
  IsValid(c, error);
  return c;
}

LayerConfig CheckedPoint(const SweepSpec& spec, int64_t value, const std::string& where) {
  std::string error;
  LayerConfig c = BuildPoint(spec, value, &error);
  if (!error.empty()) {
    throw ConfigError(where + ": " + spec.parameter + " = " + std::to_string(value) +
                      " gives an invalid " + std::string(ToString(spec.type)) + ": " + error);
  }
  return c;
}

LayerConfig ParseDefaults(LayerType type, const nlohmann::json& j, const std::string& where) {
  RequireObject(j, where);
  nlohmann::json fields = j;
  if (IsSpatial(type) && fields.contains("image_size")) {
    for (const char* key : {"height", "width"}) {
      if (fields.contains(key)) {
        throw ConfigError(where + ": give either image_size or height and width, not both ('" +
                          key + "' = " + Describe(fields[key]) + ")");
      }
    }
    const int64_t side = ReadInt(fields["image_size"], At(where, "image_size"));
    fields.erase("image_size");
    fields["height"] = side;
    fields["width"] = side;
  }
  const LayerConfig config = LayerConfigFromJson(type, fields, where);
  Validate(config, where);
  return config;
}

}  // namespace

SweepSpec ParseSweep(const nlohmann::json& j, const std::string& context) {
  RequireObject(j, context.empty() ? "sweep" : context);
  RejectUnknownKeys(j, {"name", "layer", "defaults", "vary", "repeats"}, context);

  SweepSpec spec;
  spec.source = context;
  const std::string name_where = At(context, "name");
  spec.name = ReadString(RequireKey(j, "name", context), name_where);
  if (spec.name.empty()) throw ConfigError(name_where + " must not be empty");

  const std::string layer_where = At(context, "layer");
  const std::string layer = ReadString(RequireKey(j, "layer", context), layer_where);
  try {
    spec.type = ParseLayerType(layer);
  } catch (const ConfigError& e) {
    throw ConfigError(layer_where + ": " + e.what());
  }

  spec.defaults =
      ParseDefaults(spec.type, RequireKey(j, "defaults", context), At(context, "defaults"));

  if (j.contains("repeats")) {
    const std::string where = At(context, "repeats");
    const int64_t repeats = ReadInt(j["repeats"], where);
    if (repeats < 1 || repeats > kMaxRepeats) {
      throw ConfigError(where + " must be in [1, " + std::to_string(kMaxRepeats) + "], got " +
                        std::to_string(repeats));
    }
    spec.repeats = static_cast<int>(repeats);
  }

  const std::string vary_where = At(context, "vary");
  const nlohmann::json& vary = RequireKey(j, "vary", context);
  RequireObject(vary, vary_where);
  RejectUnknownKeys(vary, {"parameter", "values", "range"}, vary_where);
  const std::string param_where = At(context, "vary.parameter");
  spec.parameter = ReadString(RequireKey(vary, "parameter", vary_where), param_where);
  const std::vector<std::string> variable = VariableParameters(spec.type);
  if (std::find(variable.begin(), variable.end(), spec.parameter) == variable.end()) {
    throw ConfigError(param_where + ": cannot vary '" + spec.parameter + "' of " +
                      std::string(ToString(spec.type)) + " (expected " + JoinNames(variable) + ")");
  }

  const bool has_values = vary.contains("values");
  const bool has_range = vary.contains("range");
  if (has_values == has_range) {
    throw ConfigError(vary_where + ": give exactly one of 'values' or 'range' (got " +
                      (has_values ? "both" : "neither") + ")");
  }
  if (has_values) {
    const std::string where = At(context, "vary.values");
    const nlohmann::json& values = vary["values"];
    if (!values.is_array() || values.empty()) {
      throw ConfigError(where + " must be a non-empty array of integers, got " + Describe(values));
    }
    if (values.size() > kMaxSweepValues) {
      throw ConfigError(where + " has " + std::to_string(values.size()) + " values, at most " +
                        std::to_string(kMaxSweepValues) + " allowed");
    }
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string item_where = where + "[" + std::to_string(i) + "]";
      const int64_t v = ReadInt(values[i], item_where);
      if (std::find(spec.values.begin(), spec.values.end(), v) != spec.values.end()) {
        throw ConfigError(item_where + ": value " + std::to_string(v) + " is listed twice");
      }
      spec.values.push_back(v);
    }
  } else {
    const std::string where = At(context, "vary.range");
    const nlohmann::json& range = vary["range"];
    if (!range.is_array() || range.size() != 3) {
      throw ConfigError(where + " must be [min, max, step], got " + Describe(range));
    }
    const int64_t lo = ReadInt(range[0], where + "[0] (min)");
    const int64_t hi = ReadInt(range[1], where + "[1] (max)");
    const int64_t step = ReadInt(range[2], where + "[2] (step)");
    if (step <= 0) {
      throw ConfigError(where + ": step must be > 0, got " + std::to_string(step));
    }
    if (lo > hi) {
      throw ConfigError(where + ": min " + std::to_string(lo) + " > max " + std::to_string(hi));
    }
    // Count first (in unsigned arithmetic) so that huge ranges cannot overflow or allocate.
    const uint64_t count =
        (static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo)) / static_cast<uint64_t>(step) + 1;
    if (count > kMaxSweepValues) {
      throw ConfigError(where + " gives " + std::to_string(count) + " values, at most " +
                        std::to_string(kMaxSweepValues) + " allowed");
    }
    for (uint64_t i = 0; i < count; ++i) spec.values.push_back(lo + static_cast<int64_t>(i) * step);
  }

  // Every point must be a valid layer: fail now, naming the value, not in the middle of a run.
  const std::string values_where = At(context, has_values ? "vary.values" : "vary.range");
  for (size_t i = 0; i < spec.values.size(); ++i) {
    CheckedPoint(spec, spec.values[i],
                 has_values ? values_where + "[" + std::to_string(i) + "]" : values_where);
  }
  return spec;
}

SweepSpec LoadSweep(const std::string& path) { return ParseSweep(LoadJsonFile(path), path); }

LayerConfig SweepConfig(const SweepSpec& spec, int64_t value) {
  return CheckedPoint(spec, value, At(spec.source, "vary"));
}

std::vector<SweepPoint> ExpandSweep(const SweepSpec& spec) {
  std::vector<LayerConfig> configs;
  configs.reserve(spec.values.size());
  for (int64_t v : spec.values) configs.push_back(SweepConfig(spec, v));
  std::vector<SweepPoint> points;
  points.reserve(spec.values.size() * static_cast<size_t>(std::max(spec.repeats, 0)));
  for (int r = 0; r < spec.repeats; ++r) {
    for (size_t i = 0; i < spec.values.size(); ++i) {
      points.push_back(SweepPoint{configs[i], static_cast<double>(spec.values[i]), r});
    }
  }
  return points;
}

}  // namespace lj
