#include "core/json_reader.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/errors.h"

namespace lj {

std::string At(const std::string& context, const std::string& path) {
  if (context.empty()) return path;
  if (path.empty()) return context;
  return context + ": " + path;
}

std::string Join(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}

std::string Describe(const nlohmann::json& value) {
  constexpr size_t kMaxChars = 80;
  std::string text = value.dump();
  if (text.size() > kMaxChars) text = text.substr(0, kMaxChars - 3) + "...";
  return text;
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(path + ": cannot open file (" + std::strerror(errno) + ")");
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json ParseJsonText(const std::string& text, const std::string& context) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(context + ": invalid JSON: " + e.what());
  }
}

nlohmann::json LoadJsonFile(const std::string& path) {
  return ParseJsonText(ReadTextFile(path), path);
}

void RequireObject(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) {
    throw ConfigError(where + " must be a JSON object, got " + Describe(j));
  }
}

void RejectUnknownKeys(const nlohmann::json& j, const std::vector<std::string>& allowed,
                       const std::string& where) {
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    if (key == "_comment") continue;
    bool known = false;
    for (const std::string& a : allowed) known = known || a == key;
    if (known) continue;
    std::string expected;
    for (const std::string& a : allowed) expected += (expected.empty() ? "" : ", ") + a;
    throw ConfigError(At(where, "unknown key '" + key + "' (expected " + expected + ")"));
  }
}

const nlohmann::json& RequireKey(const nlohmann::json& j, const std::string& key,
                                 const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw ConfigError(At(where, "missing key '" + key + "'"));
  return *it;
}

int64_t ReadInt(const nlohmann::json& value, const std::string& where) {
  if (value.is_number_unsigned()) {
    const uint64_t u = value.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(u);
    }
  } else if (value.is_number_integer()) {
    return value.get<int64_t>();
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    // 2^63 is exactly representable; anything below it that is integral fits int64.
    if (std::isfinite(d) && d == std::floor(d) && d >= -9.2233720368547758e18 &&
        d < 9.2233720368547758e18) {
      return static_cast<int64_t>(d);
    }
  }
  throw ConfigError(where + " must be an integer, got " + Describe(value));
}

double ReadNumber(const nlohmann::json& value, const std::string& where) {
  if (value.is_number()) {
    const double d = value.get<double>();
    if (std::isfinite(d)) return d;
  }
  throw ConfigError(where + " must be a number, got " + Describe(value));
}

bool ReadBool(const nlohmann::json& value, const std::string& where) {
  if (!value.is_boolean()) {
    throw ConfigError(where + " must be true or false, got " + Describe(value));
  }
  return value.get<bool>();
}

std::string ReadString(const nlohmann::json& value, const std::string& where) {
  if (!value.is_string()) {
    throw ConfigError(where + " must be a string, got " + Describe(value));
  }
  return value.get<std::string>();
}

}  // namespace lj
