#include "fit/drift_correction.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <stdexcept>

#include "fit/metrics.h"

namespace lj {

DriftCorrection::DriftCorrection(const std::vector<ProbeReading>& readings, double window_s,
                                 double max_gap_s)
    : window_s_(window_s), max_gap_s_(max_gap_s) {
  std::map<std::string, std::vector<double>> by_key;
  for (const ProbeReading& r : readings) {
    if (!(r.time_s > 0) || !std::isfinite(r.time_s) || !std::isfinite(r.t_s)) {
      throw std::invalid_argument("speed probe '" + r.key + "': time_s must be finite and > 0");
    }
    by_key[r.key].push_back(r.time_s);
  }
  std::map<std::string, double> reference;
  for (const auto& [key, times] : by_key) reference[key] = Median(times);
  std::map<double, std::pair<double, int>> log_sum;  // t_s -> (sum of log ratios, count)
  for (const ProbeReading& r : readings) {
    auto& [sum, n] = log_sum[r.t_s];
    sum += std::log(r.time_s / reference.at(r.key));
    ++n;
  }
  for (const auto& [t, sum_n] : log_sum) {
    probes_.push_back({t, std::exp(sum_n.first / sum_n.second)});
  }
}

std::optional<double> DriftCorrection::FactorAt(double t_s) const {
  std::vector<double> near;
  const Probe* nearest = nullptr;
  for (const Probe& p : probes_) {
    const double distance = std::abs(p.t_s - t_s);
    if (distance <= window_s_) near.push_back(p.factor);
    if (distance <= max_gap_s_ && (!nearest || distance < std::abs(nearest->t_s - t_s))) {
      nearest = &p;
    }
  }
  if (!near.empty()) return Median(near);
  if (nearest) return nearest->factor;
  return std::nullopt;
}

double ParseUtcTime_s(const std::string& text) {
  std::tm tm{};
  int used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 ||
      used != 19) {
    throw std::invalid_argument("not an ISO-8601 UTC time: '" + text + "'");
  }
  double fraction = 0;
  size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    double scale = 0.1;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, scale /= 10) {
      fraction += (text[at] - '0') * scale;
    }
  }
  if (at < text.size() && text[at] == 'Z') ++at;
  if (at != text.size() || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    throw std::invalid_argument("not an ISO-8601 UTC time: '" + text + "'");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + fraction;
}

}  // namespace lj
