#include "core/json_reader.h"

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/file_read.h"

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

namespace {

constexpr size_t kDescribeMaxChars = 80;
// Nesting below this depth is shown as "[...]" or "{...}".
constexpr int kDescribeMaxDepth = 8;

std::string DumpScalar(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Appends a bounded JSON rendering of `value` to *out: it stops adding once *out holds more
// than kDescribeMaxChars characters and never recurses deeper than kDescribeMaxDepth, so a
// 10^6-deep or 60 MB value costs as little as a small one.
void AppendBounded(const nlohmann::json& value, int depth, std::string* out) {
  if (value.is_structured() && depth >= kDescribeMaxDepth) {
    *out += value.is_object() ? "{...}" : "[...]";
    return;
  }
  if (value.is_object()) {
    *out += '{';
    bool first = true;
    for (const auto& item : value.items()) {
      if (out->size() > kDescribeMaxChars) break;
      if (!first) *out += ',';
      first = false;
      *out += DumpScalar(nlohmann::json(item.key().substr(0, kDescribeMaxChars))) + ':';
      AppendBounded(item.value(), depth + 1, out);
    }
    *out += '}';
  } else if (value.is_array()) {
    *out += '[';
    bool first = true;
    for (const auto& element : value) {
      if (out->size() > kDescribeMaxChars) break;
      if (!first) *out += ',';
      first = false;
      AppendBounded(element, depth + 1, out);
    }
    *out += ']';
  } else if (value.is_string()) {
    *out += DumpScalar(
        nlohmann::json(value.get_ref<const std::string&>().substr(0, kDescribeMaxChars + 1)));
  } else {
    *out += DumpScalar(value);
  }
}

// A nesting depth no real input needs (net.json, the deepest, uses about 10); it keeps
// recursive readers of the parsed value (net.json's nested blocks, error messages) from
// exhausting the stack.
constexpr int kMaxJsonDepth = 64;

}  // namespace

std::string Describe(const nlohmann::json& value) {
  std::string text;
  AppendBounded(value, 0, &text);
  if (text.size() > kDescribeMaxChars) text = text.substr(0, kDescribeMaxChars - 3) + "...";
  return text;
}

nlohmann::json ParseJsonText(const std::string& text, const std::string& context) {
  const nlohmann::json::parser_callback_t limit_depth =
      [&context](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
        if ((event == nlohmann::json::parse_event_t::object_start ||
             event == nlohmann::json::parse_event_t::array_start) &&
            depth >= kMaxJsonDepth) {
          throw ConfigError(context + ": invalid JSON: nested deeper than " +
                            std::to_string(kMaxJsonDepth) + " levels");
        }
        return true;
      };
  try {
    return nlohmann::json::parse(text, limit_depth);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
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
