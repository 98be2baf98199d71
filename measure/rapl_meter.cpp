#include "measure/rapl_meter.h"

#include <powercap/powercap-rapl.h>
#include <powercap/powercap-sysfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace lj {
namespace {

constexpr const char* kControlType = "intel-rapl";
constexpr size_t kNameSize = 64;

std::string ErrnoText(int err) {
  return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")";
}

bool IsDir(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// powercap names zones "<control type>:<id>[:<id>]" with ids in hex (drivers/powercap).
std::string ZoneDirName(const std::vector<uint32_t>& ids) {
  std::string name = kControlType;
  char buf[16];
  for (uint32_t id : ids) {
    std::snprintf(buf, sizeof(buf), ":%x", id);
    name += buf;
  }
  return name;
}

// Path through the /sys/class/powercap/intel-rapl:N[:M] symlinks, as users see them.
std::string ZonePath(const std::vector<uint32_t>& ids) {
  return std::string(kPowercapRoot) + "/" + ZoneDirName(ids);
}

// Name file of a zone, read directly through libpowercap's sysfs layer (no caching).
bool SysfsZoneName(const uint32_t* ids, uint32_t depth, std::string* name) {
  char buf[kNameSize];
  if (powercap_sysfs_zone_get_name(kControlType, ids, depth, buf, sizeof(buf)) < 0) return false;
  *name = buf;
  return true;
}

std::string NoRaplMessage() {
  std::string msg = std::string("no RAPL energy counters: ") + kRaplControlTypePath +
                    " does not exist (no " + kPowercapRoot + "/intel-rapl:* zones";
  if (!IsDir(kPowercapRoot)) msg += std::string("; ") + kPowercapRoot + " itself is missing";
  msg +=
      "). Cause: this is not an Intel or AMD CPU with RAPL, a virtual machine that does not "
      "expose RAPL, or the RAPL kernel driver (intel_rapl_common) is not loaded. Fix: load it "
      "as root with `modprobe intel_rapl_msr`; AMD CPUs need Linux >= 5.8 (>= 5.11 for some Zen "
      "models); in a VM, measure on bare metal";
  return msg;
}

// First energy_uj of instance `id` (top-level zone or nested zones) that this process cannot
// read, or the instance path when none is found.
std::string UnreadableEnergyFile(uint32_t id) {
  std::vector<std::string> candidates = {ZonePath({id}) + "/energy_uj"};
  uint32_t ids[2] = {id, 0};
  for (; powercap_sysfs_zone_exists(kControlType, ids, 2) == 0; ++ids[1]) {
    candidates.push_back(ZonePath({id, ids[1]}) + "/energy_uj");
  }
  for (const std::string& file : candidates) {
    if (access(file.c_str(), R_OK) != 0 && errno == EACCES) return file;
  }
  return candidates.front();
}

const char* DomainText(powercap_rapl_zone type) {
  switch (type) {
    case POWERCAP_RAPL_ZONE_PACKAGE:
      return "package";
    case POWERCAP_RAPL_ZONE_CORE:
      return "core";
    case POWERCAP_RAPL_ZONE_UNCORE:
      return "uncore";
    case POWERCAP_RAPL_ZONE_DRAM:
      return "dram";
    case POWERCAP_RAPL_ZONE_PSYS:
      return "psys";
  }
  return "?";
}

RaplDomain ToDomain(powercap_rapl_zone type) {
  switch (type) {
    case POWERCAP_RAPL_ZONE_PACKAGE:
      return RaplDomain::kPackage;
    case POWERCAP_RAPL_ZONE_CORE:
      return RaplDomain::kCore;
    case POWERCAP_RAPL_ZONE_UNCORE:
      return RaplDomain::kUncore;
    case POWERCAP_RAPL_ZONE_DRAM:
      return RaplDomain::kDram;
    case POWERCAP_RAPL_ZONE_PSYS:
      return RaplDomain::kPsys;
  }
  return RaplDomain::kPackage;
}

// "package-3" and "package-3-die-1" -> 3; anything else -> fallback.
int SocketFromPackageName(const std::string& name, int fallback) {
  const std::string prefix = "package-";
  if (name.compare(0, prefix.size(), prefix) != 0) return fallback;
  const char* digits = name.c_str() + prefix.size();
  char* end = nullptr;
  errno = 0;
  const long socket = std::strtol(digits, &end, 10);
  if (end == digits || errno != 0 || socket < 0 || socket > 1 << 20) return fallback;
  return static_cast<int>(socket);
}

int DomainRank(RaplDomain domain) {
  switch (domain) {
    case RaplDomain::kPackage:
      return 0;
    case RaplDomain::kDram:
      return 1;
    case RaplDomain::kPsys:
      return 2;
    case RaplDomain::kCore:
      return 3;
    case RaplDomain::kUncore:
      return 4;
  }
  return 5;
}

// Where libpowercap keeps a zone's descriptors: instance index and zone type.
struct Handle {
  size_t instance = 0;  // index into RaplMeter::pkgs_
  powercap_rapl_zone type = POWERCAP_RAPL_ZONE_PACKAGE;
};

struct FoundZone {
  RaplZone zone;
  Handle handle;
};

class RaplMeter final : public EnergyMeter {
 public:
  RaplMeter() = default;
  RaplMeter(const RaplMeter&) = delete;
  RaplMeter& operator=(const RaplMeter&) = delete;
  ~RaplMeter() override {
    for (powercap_rapl_pkg& pkg : pkgs_) powercap_rapl_destroy(&pkg);
  }

  std::string Name() const override { return "rapl"; }
  const std::vector<RaplZone>& Zones() const override { return zones_; }

  EnergyCounters Read() override {
    EnergyCounters counters;
    counters.energy_uj.resize(handles_.size());
    for (size_t i = 0; i < handles_.size(); ++i) {
      const Handle& h = handles_[i];
      // One pread(2) on the energy_uj descriptor libpowercap opened in Open().
      errno = 0;
      if (powercap_rapl_get_energy_uj(&pkgs_[h.instance], h.type, &counters.energy_uj[i]) != 0) {
        const int err = errno;
        throw MeterError("RAPL zone " + zones_[i].name + ": reading " + zones_[i].path +
                         "/energy_uj failed: " + ErrnoText(err));
      }
    }
    return counters;
  }

  void Open() {
    if (!IsDir(kRaplControlTypePath)) throw MeterError(NoRaplMessage());
    uint32_t num_instances = 0;
    while (powercap_sysfs_zone_exists(kControlType, &num_instances, 1) == 0) ++num_instances;
    if (num_instances == 0) {
      throw MeterError(std::string(kRaplControlTypePath) + " exists but has no RAPL zones (no " +
                       kPowercapRoot +
                       "/intel-rapl:0): the RAPL driver found no domain on this CPU. Check "
                       "`dmesg | grep -i rapl`; reload the driver as root with `modprobe -r "
                       "intel_rapl_msr && modprobe intel_rapl_msr`, or measure on a machine "
                       "with RAPL");
    }
    std::vector<FoundZone> found;
    for (uint32_t id = 0; id < num_instances; ++id) {
      powercap_rapl_pkg pkg;
      std::memset(&pkg, 0, sizeof(pkg));
      errno = 0;
      if (powercap_rapl_init(id, &pkg, /*read_only=*/1) != 0) {
        const int err = errno;
        if (err == EACCES || err == EPERM) {
          throw MeterError(UnreadableEnergyFile(id) + " is not readable: " + ErrnoText(err) +
                           ". Since Linux 5.10 energy_uj is readable only by root "
                           "(CVE-2020-8694): run as root, or grant a group read access with a "
                           "udev rule — see README");
        }
        throw MeterError("libpowercap cannot open RAPL instance " + ZonePath({id}) + ": " +
                         ErrnoText(err) +
                         " (its zones must be named package-N, core, uncore, dram or psys and "
                         "their name, energy_uj and max_energy_range_uj files readable)");
      }
      pkgs_.push_back(pkg);  // owned from here on: destroyed by ~RaplMeter
      const size_t instance = pkgs_.size() - 1;
      AddInstanceZones(id, instance, &found);
    }

    if (std::none_of(found.begin(), found.end(),
                     [](const FoundZone& f) { return f.zone.domain == RaplDomain::kPackage; })) {
      std::string names;
      for (const FoundZone& f : found) names += (names.empty() ? "" : ", ") + f.zone.name;
      throw MeterError(std::string("RAPL instances under ") + kRaplControlTypePath +
                       " have no package zone (found: " + (names.empty() ? "none" : names) +
                       "); package energy cannot be measured on this machine");
    }
    std::stable_sort(found.begin(), found.end(), [](const FoundZone& a, const FoundZone& b) {
      const int ra = DomainRank(a.zone.domain), rb = DomainRank(b.zone.domain);
      if (ra != rb) return ra < rb;
      return a.zone.socket < b.zone.socket;
    });
    for (const FoundZone& f : found) {
      zones_.push_back(f.zone);
      handles_.push_back(f.handle);
    }

    const EnergyCounters first = Read();
    for (size_t i = 0; i < zones_.size(); ++i) {
      if (first.energy_uj[i] > zones_[i].max_energy_range_uj) {
        throw MeterError("RAPL zone " + zones_[i].name + " (" + zones_[i].path + "): energy_uj " +
                         std::to_string(first.energy_uj[i]) + " uJ exceeds max_energy_range_uj " +
                         std::to_string(zones_[i].max_energy_range_uj) + " uJ");
      }
    }
  }

 private:
  // Appends the package, dram and psys zones of the opened instance pkgs_[instance].
  void AddInstanceZones(uint32_t id, size_t instance, std::vector<FoundZone>* found) {
    const powercap_rapl_pkg& pkg = pkgs_[instance];
    std::string top_name;
    if (!SysfsZoneName(&id, 1, &top_name)) {
      throw MeterError("cannot read " + ZonePath({id}) + "/name: " + ErrnoText(errno));
    }
    const int package_socket = SocketFromPackageName(top_name, static_cast<int>(id));
    // core and uncore are nested in the package zone and deliberately not read.
    for (powercap_rapl_zone type :
         {POWERCAP_RAPL_ZONE_PACKAGE, POWERCAP_RAPL_ZONE_DRAM, POWERCAP_RAPL_ZONE_PSYS}) {
      if (powercap_rapl_is_zone_supported(&pkg, type) != 1) continue;
      RaplZone zone;
      char name[kNameSize];
      if (powercap_rapl_get_name(&pkg, type, name, sizeof(name)) < 0) {
        throw MeterError("cannot read the name of the " + std::string(DomainText(type)) +
                         " zone of " + ZonePath({id}) + ": " + ErrnoText(errno));
      }
      zone.name = name;
      zone.path = name == top_name ? ZonePath({id}) : NestedZonePath(id, zone.name);
      zone.domain = ToDomain(type);
      zone.socket = type == POWERCAP_RAPL_ZONE_PSYS ? 0 : package_socket;
      if (powercap_rapl_is_zone_file_supported(&pkg, type, POWERCAP_ZONE_FILE_ENERGY_UJ) != 1) {
        throw MeterError("RAPL zone " + zone.name + " (" + zone.path +
                         ") has no energy_uj file; the kernel exposes no energy counter for it");
      }
      errno = 0;
      if (powercap_rapl_get_max_energy_range_uj(&pkg, type, &zone.max_energy_range_uj) != 0) {
        throw MeterError("RAPL zone " + zone.name + ": reading " + zone.path +
                         "/max_energy_range_uj failed: " + ErrnoText(errno));
      }
      if (zone.max_energy_range_uj == 0) {
        throw MeterError("RAPL zone " + zone.name + " (" + zone.path +
                         "): max_energy_range_uj is 0; wraparound cannot be corrected");
      }
      found->push_back({zone, Handle{instance, type}});
    }
  }

  // Path of the nested zone intel-rapl:id:M whose name is `name`.
  static std::string NestedZonePath(uint32_t id, const std::string& name) {
    uint32_t ids[2] = {id, 0};
    for (; powercap_sysfs_zone_exists(kControlType, ids, 2) == 0; ++ids[1]) {
      std::string nested_name;
      if (SysfsZoneName(ids, 2, &nested_name) && nested_name == name) {
        return ZonePath({id, ids[1]});
      }
    }
    return ZonePath({id});
  }

  std::vector<powercap_rapl_pkg> pkgs_;
  std::vector<RaplZone> zones_;  // Zones() order
  std::vector<Handle> handles_;  // parallel to zones_
};

}  // namespace

std::unique_ptr<EnergyMeter> OpenRaplMeter() {
  auto meter = std::make_unique<RaplMeter>();
  meter->Open();
  return meter;
}

void CheckCountersAdvance(EnergyMeter& meter, double wait_s) {
  const EnergyCounters before = meter.Read();
  std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
  const EnergyCounters after = meter.Read();
  const std::vector<RaplZone>& zones = meter.Zones();
  if (before.energy_uj.size() != zones.size() || after.energy_uj.size() != zones.size()) {
    throw MeterError(meter.Name() + " meter: Read() returned " +
                     std::to_string(after.energy_uj.size()) + " values for " +
                     std::to_string(zones.size()) + " zones");
  }
  for (size_t i = 0; i < zones.size(); ++i) {
    // Every zone, not only the packages (issue 11): a stuck dram or psys counter would store
    // 0 J as a measurement.
    if (before.energy_uj[i] == after.energy_uj[i]) {
      std::ostringstream msg;
      msg << "RAPL counter " << zones[i].name << " did not advance in " << wait_s
          << " s (some VMs expose zeros); " << zones[i].path << "/energy_uj stayed at "
          << after.energy_uj[i] << " uJ. Energy cannot be measured here: measure on bare metal";
      throw MeterError(msg.str());
    }
  }
}

}  // namespace lj
