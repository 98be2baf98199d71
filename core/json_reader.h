#pragma once
// Strict readers for the JSON config files (bounds, sweeps, layer configs): every error is a
// ConfigError that names where (file and key path) and the offending value, e.g.
//   configs/bounds/conv.json: parameters.kernel_size.min must be an integer, got "3"
// `where` arguments are "<context>: <key path>" strings built with At().
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lj {

// Joins a context (file or "net.json: layer 3 (conv2d)") and a key path: "ctx: path",
// "ctx" when path is empty, "path" when ctx is empty.
std::string At(const std::string& context, const std::string& path);
// Joins a key path and a key: "parameters" + "kernel_size" -> "parameters.kernel_size".
std::string Join(const std::string& path, std::string_view key);

// The JSON text of a value for messages, truncated to 80 characters. Bounded work whatever
// the value: deep nesting is shown as "[...]", long arrays and strings are cut.
std::string Describe(const nlohmann::json& value);

// Parses JSON text; `context` (a file path, or "db: run 3") prefixes the error.
// Throws ConfigError "<context>: invalid JSON: <parser message with line and column>", or
// "<context>: invalid JSON: nested deeper than 64 levels" (no real input nests past ~10).
nlohmann::json ParseJsonText(const std::string& text, const std::string& context);
// Reads and parses a JSON file: ParseJsonText(ReadTextFile(path), path), so a FIFO, a device
// or a file over 64 MiB is refused (core/file_read.h).
// Throws ConfigError "<path>: cannot open file (<strerror>)", "<path>: not a regular file
// (FIFO)", "<path>: file too large (...)" or "<path>: invalid JSON: <parser message>".
nlohmann::json LoadJsonFile(const std::string& path);

// Throws ConfigError "<where> must be a JSON object, got <value>" unless j is an object.
void RequireObject(const nlohmann::json& j, const std::string& where);
// Throws ConfigError "<where>: unknown key 'k' (expected a, b, c)" for the first key of the
// object j not in `allowed`. Keys named "_comment" are always allowed (and ignored).
void RejectUnknownKeys(const nlohmann::json& j, const std::vector<std::string>& allowed,
                       const std::string& where);
// Returns j[key]; throws ConfigError "<where>: missing key 'key'" when absent.
const nlohmann::json& RequireKey(const nlohmann::json& j, const std::string& key,
                                 const std::string& where);

// Scalar readers. `where` names the value itself (e.g. "file: parameters.stride.max").
// ReadInt accepts JSON integers and integral floats within int64 (1e3 -> 1000); booleans,
// strings, fractions and out-of-range numbers throw "<where> must be an integer, got <value>".
int64_t ReadInt(const nlohmann::json& value, const std::string& where);
// Any finite JSON number (not a boolean).
double ReadNumber(const nlohmann::json& value, const std::string& where);
bool ReadBool(const nlohmann::json& value, const std::string& where);
std::string ReadString(const nlohmann::json& value, const std::string& where);

}  // namespace lj
